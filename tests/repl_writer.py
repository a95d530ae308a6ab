"""Writes rows to a qaxdb cluster as a client of the venue does, for the replication tests:
one INSERT per row into instruments (a unique instrument_id each) at durability `replicated`,
sent to whichever node takes writes (a refused or failed write is retried elsewhere on a new
connection). Each acknowledged write is recorded as "id port epoch lsn" in ACKED (the epoch
and LSN the server reported with it), and their number in ACKED.count. Stops when the file
STOP exists, or after SECONDS.

usage: repl_writer.py ACKED STOP SECONDS RUN HOST:PORT...
(RUN prefixes the ids, so that the ids of several runs differ)
Runs under Debian's /usr/bin/python3 (python3-psycopg2)."""
import os
import sys
import time

import psycopg2

acked_path, stop_path, seconds, run = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
nodes = [a.rsplit(":", 1) for a in sys.argv[5:]]


def connect(host, port):
    c = psycopg2.connect(host=host, port=int(port), user=os.environ.get("PGUSER", "qaxdb"),
                         password=os.environ.get("PGPASSWORD"), dbname="qaxdb",
                         connect_timeout=1, tcp_user_timeout=2000, keepalives=1,
                         keepalives_idle=1, keepalives_interval=1, keepalives_count=2)
    c.autocommit = True
    c.cursor().execute("SET qaxdb.durability = replicated")
    return c


def main():
    deadline = time.time() + seconds
    out = open(acked_path, "w")
    conn, port, turn, i, count = None, None, 0, 0, 0
    while time.time() < deadline and not os.path.exists(stop_path):
        if conn is None:
            host, port = nodes[turn % len(nodes)]
            turn += 1
            try:
                conn = connect(host, port)
            except psycopg2.Error:
                time.sleep(0.02)
                continue
        i += 1
        row_id = "%s-%d" % (run, i)
        try:
            conn.cursor().execute(
                "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) "
                "VALUES (%s, 'TEST', 1, 1, TIMESTAMP '2026-11-30 00:00:00')", (row_id,))
        except psycopg2.Error:
            try:
                conn.close()
            except psycopg2.Error:
                pass
            conn = None
            continue
        info = conn.info
        out.write("%s %s %s %s\n" % (row_id, port, info.parameter_status("qaxdb.epoch"),
                                     info.parameter_status("qaxdb.write_lsn")))
        out.flush()
        count += 1
        with open(acked_path + ".count.tmp", "w") as f:
            f.write(str(count))
        os.replace(acked_path + ".count.tmp", acked_path + ".count")
    out.close()


main()
