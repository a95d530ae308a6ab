"""qaxdbd's SCRAM-SHA-256 as the bytes on the wire show it, with a client of its own (psql
and libpq do not show an error's SQLSTATE at connection time, and never send what a server
must refuse): the right password gets SASLFinal with the server's signature (checked: the
server knows the verifier) and AuthenticationOk; a wrong password and an unknown user get the
same FATAL 28P01 "password authentication failed", after an exchange that looks the same (an
unknown user's salt is stable across attempts); channel binding "p=" is refused with 08P01.
Run by server_test.sh with Debian's /usr/bin/python3.
Usage: server_scram.py PORT USER PASSWORD"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


class Conn:
    def __init__(self, name):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        body = b"user\0" + name.encode() + b"\0database\0qaxdb\0\0"
        self.s.sendall(struct.pack("!II", 8 + len(body), 196608) + body)

    def read(self):
        """The next message: (type, body), or (None, b"") once the server closed."""
        head = self.exactly(5)
        if head is None:
            return None, b""
        return head[:1], self.exactly(struct.unpack("!I", head[1:])[0] - 4)

    def exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def send(self, kind, body):
        self.s.sendall(kind + struct.pack("!I", 4 + len(body)) + body)

    def auth(self):
        """An Authentication message: (code, data)."""
        kind, body = self.read()
        if kind == b"E":
            return -1, error_fields(body)
        check(kind == b"R", f"expected an Authentication message, got {kind}")
        return struct.unpack("!I", body[:4])[0], body[4:]


def error_fields(body):
    return {f[:1]: f[1:].decode() for f in body.split(b"\0") if f}


def hmac256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def first_steps(name, gs2=b"n,,"):
    """Connects as name and sends client-first; returns (conn, client_first_bare, server_first)
    or (conn, None, the error's fields)."""
    c = Conn(name)
    code, data = c.auth()
    check(code == 10 and data == b"SCRAM-SHA-256\0\0", f"AuthenticationSASL {code} {data!r}")
    bare = b"n=,r=" + base64.b64encode(os.urandom(18))
    first = gs2 + bare
    c.send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
    code, data = c.auth()
    if code == -1:
        return c, None, data
    check(code == 11, f"SASLContinue {code}")
    return c, bare, data


def attributes(message):
    return dict(a.split(b"=", 1) for a in message.split(b","))


def login(name, pw):
    """A whole SCRAM exchange; returns the server's final answer: ("ok", None) or the error's
    fields, and the server-first's salt and iteration count."""
    c, bare, server_first = first_steps(name)
    attrs = attributes(server_first)
    salt, iterations = base64.b64decode(attrs[b"s"]), int(attrs[b"i"])
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, iterations)
    client_key = hmac256(salted, b"Client Key")
    without_proof = b"c=biws,r=" + attrs[b"r"]
    auth_message = bare + b"," + server_first + b"," + without_proof
    signature = hmac256(hashlib.sha256(client_key).digest(), auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    c.send(b"p", without_proof + b",p=" + base64.b64encode(proof))
    code, data = c.auth()
    if code == -1:
        return data, salt, iterations
    expected = hmac256(hmac256(salted, b"Server Key"), auth_message)
    check(code == 12 and data == b"v=" + base64.b64encode(expected), f"SASLFinal {data!r}")
    code, _ = c.auth()
    check(code == 0, f"AuthenticationOk {code}")
    kind = b"R"
    while kind not in (b"Z", None):  # ParameterStatus and BackendKeyData come first
        kind, _ = c.read()
    check(kind == b"Z", "no ReadyForQuery after the login")
    return "ok", salt, iterations


result, salt, iterations = login(user, password)
check(result == "ok", f"the right password: {result}")
wrong, wrong_salt, _ = login(user, password + "x")
check(wrong_salt == salt, "the same salt for the same user")
unknown, unknown_salt, unknown_iterations = login("nobody-" + user, password)
again, again_salt, _ = login("nobody-" + user, password)
for fields, name in ((wrong, user), (unknown, "nobody-" + user), (again, "nobody-" + user)):
    check(fields != "ok" and fields.get(b"S") == "FATAL" and fields.get(b"C") == "28P01"
          and fields.get(b"M") == f'password authentication failed for user "{name}"',
          f"refused: {fields}")
check(unknown_iterations == iterations and len(unknown_salt) == len(salt),
      "an unknown user's exchange looks like a known one's")
check(unknown_salt == again_salt, "an unknown user's salt changes between attempts")

c, bare, fields = first_steps(user, b"p=tls-server-end-point,,")
check(bare is None and fields.get(b"C") == "08P01" and "channel binding" in fields.get(b"M", ""),
      f"p= refused: {fields}")

for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
