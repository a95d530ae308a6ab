"""qaxdbd through psycopg2, as a Python application uses it: the type of every column
(type OIDs and the Python values psycopg2 makes of them), psycopg2's parameters, its implicit
BEGIN, the row counts of INSERT and COPY, and an error's class. Run by server_test.sh with Debian's /usr/bin/python3,
also against a server with a users file and TLS, with the password and sslmode in CONNINFO.
Usage: server_psycopg2.py PORT EXPECTED_TRADES [CONNINFO]"""
import datetime
import decimal
import io
import sys

import psycopg2
import psycopg2.errors

port, expected_trades = int(sys.argv[1]), int(sys.argv[2])
extra = sys.argv[3] if len(sys.argv) > 3 else ""
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


# A keyword given twice takes its last value: the CONNINFO's.
conn = psycopg2.connect(f"host=127.0.0.1 port={port} user=risk dbname=qaxdb {extra}")
check("sslmode=require" not in extra or conn.info.ssl_in_use, "TLS asked for but not in use")
cur = conn.cursor()  # not autocommit: psycopg2 sends BEGIN first

cur.execute(
    "SELECT 1::BIGINT AS a, 2::INTEGER AS b, 3::SMALLINT AS c, 1.25::DECIMAL(10,2) AS d,"
    " 2.5::DOUBLE AS e, 'x' AS f, true AS g,"
    " TIMESTAMPTZ '2026-11-24 01:30:00.123456+00' AS h,"
    " TIMESTAMP_NS '2026-11-24 09:30:00.123456789' AS i, DATE '2026-11-24' AS j")
row = cur.fetchone()
codes = [d.type_code for d in cur.description]
check(codes == [20, 23, 21, 1700, 701, 25, 16, 1184, 1114, 1082], f"type codes {codes}")
check(row[:3] == (1, 2, 3) and all(type(v) is int for v in row[:3]), f"integers {row[:3]}")
check(row[3] == decimal.Decimal("1.25"), f"decimal {row[3]!r}")
check(row[4] == 2.5 and row[5] == "x" and row[6] is True, f"double, text, bool {row[4:7]}")
check(row[7] == datetime.datetime(2026, 11, 24, 1, 30, 0, 123456, tzinfo=datetime.timezone.utc),
      f"timestamptz {row[7]!r}")
check(row[8] == datetime.datetime(2026, 11, 24, 9, 30, 0, 123456), f"timestamp_ns {row[8]!r}")
check(row[9] == datetime.date(2026, 11, 24), f"date {row[9]!r}")

# The trades view: money as exact decimals, and psycopg2's client-side parameters.
cur.execute("SELECT count(*) FROM trades WHERE volume > %s AND instrument_id <> %s", (0, "none"))
check(cur.fetchone()[0] == expected_trades, "count of trades with parameters")
cur.execute("SELECT price, volume, ts FROM trades ORDER BY lsn LIMIT 1")
price, volume, ts = cur.fetchone()
check(isinstance(price, decimal.Decimal) and price > 0, f"price {price!r}")
check(isinstance(volume, int) and isinstance(ts, datetime.datetime), f"{volume!r} {ts!r}")
cur.execute("INSERT INTO instruments (instrument_id, exchange, multiplier) VALUES (%s, %s, %s)",
            ("py2612", "it's", 7))
check(cur.rowcount == 1, f"INSERT rowcount {cur.rowcount}")
cur.execute("SELECT exchange, multiplier FROM instruments WHERE instrument_id = %s", ("py2612",))
check(cur.fetchone() == ("it's", 7), "the inserted row, quote and all")
cur.copy_expert("COPY instruments (instrument_id, exchange) FROM STDIN WITH (FORMAT csv)",
                 io.StringIO("pc01,SHFE\npc02,DCE\n"))
check(cur.rowcount == 2, f"COPY rowcount {cur.rowcount}")
conn.commit()

try:
    cur.execute("SELECT * FROM no_such_table")
    check(False, "an unknown table raised nothing")
except psycopg2.errors.UndefinedTable as e:
    check(e.pgcode == "42P01", f"pgcode {e.pgcode}")
conn.rollback()
cur.execute("SELECT 5")
check(cur.fetchone() == (5,), "a statement after an error")
conn.close()

for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
