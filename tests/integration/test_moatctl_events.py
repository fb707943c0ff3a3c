# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of `moatctl events tail` (issue 12) on a temporary store.

Rows are inserted with sqlite3 as the daemons (or an operator, or an
attacker's text through them) would write them.  Output lines are
"ID  DATE TIME  DAEMON  KIND  SEVERITY  SUBSCRIBER  SOURCE  DETAIL".
Attacker-written bytes must never reach the terminal raw: control bytes,
C1 controls, bidi overrides and bytes that are not UTF-8 show escaped.
"""
import os
import re
import select
import signal
import sqlite3
import subprocess
import time

import pytest

SRC = os.environ.get("MOAT_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("MOAT_BIN", os.path.join(SRC, "build"))
MOATCTL = os.path.join(BIN, "ctl", "moatctl")


def run(db, *args):
    return subprocess.run([MOATCTL, "-d", db, "events", "tail"] + list(args),
                          capture_output=True, timeout=30)


def ids(db, *args):
    r = run(db, *args)
    assert r.returncode == 0, (r.returncode, r.stderr)
    return [int(l.split()[0]) for l in r.stdout.decode().splitlines()]


def insert(db, rows):
    con = sqlite3.connect(db)
    with con:
        con.executemany("INSERT INTO events(ts, daemon, kind, severity, subscriber_id, "
                        "src_ip, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


@pytest.fixture
def db(tmp_path):
    assert os.access(MOATCTL, os.X_OK), "moatctl not built at %s" % MOATCTL
    path = str(tmp_path / "moat.db")
    subprocess.run([MOATCTL, "-d", path, "db", "init"], check=True, capture_output=True)
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO subscribers(id, name) VALUES (1, 'acme'), (2, 'globex')")
    con.close()
    now = int(time.time())
    # ids 1..12: an hour apart, oldest first (id 12 is now).
    rows = []
    for i in range(12):
        daemon, kind = [("milter", "mail.infected"), ("decoyd", "decoy.login"),
                        ("decoyd", "decoy.connect"), ("updated", "update.denied")][i % 4]
        rows.append((now - (11 - i) * 3600, daemon, kind, i % 4, (i % 3) or None,
                     "192.0.2.%d" % (i % 2) if i != 7 else "2001:db8::7",
                     '{"n":%d}' % (i + 1)))
    insert(path, rows)
    return path


def test_last_rows_and_filters(db):
    assert ids(db) == list(range(3, 13))                  # the last 10
    assert ids(db, "-n", "3") == [10, 11, 12]
    assert ids(db, "-n", "0") == []
    assert ids(db, "--kind", "decoy.login") == [2, 6, 10]
    assert ids(db, "--kind", "decoy.") == [2, 3, 6, 7, 10, 11]
    assert ids(db, "--kind", "decoy.*", "-n", "2") == [10, 11]
    assert ids(db, "--daemon", "updated") == [4, 8, 12]
    assert ids(db, "--source", "192.0.2.1") == [2, 4, 6, 10, 12]
    assert ids(db, "--source", "2001:DB8:0::7") == [8]      # compared canonically
    assert ids(db, "--subscriber", "acme") == [2, 5, 8, 11]
    assert ids(db, "--subscriber", "2") == [3, 6, 9, 12]
    assert ids(db, "--since", "150m") == [10, 11, 12]
    assert ids(db, "--since", "2000-01-01") == list(range(1, 13))   # all since
    assert ids(db, "--kind", "decoy.", "--subscriber", "acme", "--since", "630m") == [2, 11]
    r = run(db, "-n", "1")
    line = r.stdout.decode().rstrip("\n")
    assert re.split(" {2,}", line)[2:] == ["updated", "update.denied", "critical", "globex",
                                    "192.0.2.1", '{"n":12}'], line


@pytest.mark.parametrize("args,msg", [
    (["--subscriber", "nobody"], "no subscriber named 'nobody'"),
    (["--since", "yesterday"], "bad --since"),
    (["--source", "not-an-ip"], "not an IPv4 or IPv6 address"),
    (["-n", "-1"], "bad -n"),
])
def test_refused(db, args, msg):
    r = run(db, *args)
    assert r.returncode == 1 and msg in r.stderr.decode(), r.stderr
    assert run(db, "--bogus").returncode == 2


def test_hostile_text_is_escaped(db):
    evil = (b'{"cmd":"\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\n\x08\x7f'
            b'\xc2\x9b31m\xe2\x80\xaeevil\xff\xfe ok \xc3\xa9"}')
    con = sqlite3.connect(db)
    with con:
        # As text, whatever bytes: sqlite3 keeps them, the column is TEXT.
        con.execute("INSERT INTO events(ts, daemon, kind, src_ip, detail_json) "
                    "VALUES (?, ?, ?, ?, CAST(? AS TEXT))",
                    (int(time.time()), "decoyd\x1b[5m", "decoy.command", "198.51.100.1\x07",
                     evil))
    con.close()
    r = run(db, "-n", "1")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    body = out[:-1]                                        # one line, its newline
    assert out.endswith(b"\n") and b"\n" not in body, out
    assert not any(b < 0x20 or b == 0x7f for b in body), out
    assert b"\xc2\x9b" not in out and b"\xe2\x80\xae" not in out and b"\xff" not in out
    text = out.decode()
    for shown in ("\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x0d\\x0a\\x08\\x7f",
                  "\\u{009b}31m", "\\u{202e}evil", "\\xff\\xfe ok \u00e9",
                  "decoyd\\x1b[5m", "198.51.100.1\\x07"):
        assert shown in text, (shown, text)


def wait_line(proc, timeout):
    """One line from proc's stdout within timeout seconds, or None."""
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if b"\n" in buf:
                return buf
    return buf or None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_follow_sees_new_rows_and_stops_on_signal(db, sig):
    proc = subprocess.Popen([MOATCTL, "-d", db, "events", "tail", "-f", "-n", "1",
                             "--kind", "decoy."], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = wait_line(proc, 5)
        assert first is not None and first.split()[0] == b"11", first
        time.sleep(0.7)
        insert(db, [(int(time.time()), "milter", "mail.infected", 2, None, "192.0.2.9", "{}"),
                    (int(time.time()), "decoyd", "decoy.login", 1, 1, "192.0.2.9",
                     '{"user":"root"}')])
        got = wait_line(proc, 5)
        assert got is not None and got.split()[0] == b"14", got      # 13 is not decoy.
        assert b"decoy.login" in got and b"acme" in got, got
        t0 = time.time()
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0, proc.stderr.read()
        assert time.time() - t0 < 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_follow_exits_when_the_reader_goes(db):
    # `moatctl events tail -f | head -1`: head leaves, tail must follow it.
    t0 = time.time()
    r = subprocess.run("%s -d %s events tail -f -n 3 | head -1" % (MOATCTL, db),
                       shell=True, capture_output=True, timeout=20)
    assert r.returncode == 0 and r.stdout.split()[0] == b"10", r
    assert time.time() - t0 < 5
    # The reader goes while nothing new arrives: poll sees the closed pipe.
    proc = subprocess.Popen([MOATCTL, "-d", db, "events", "tail", "-f", "-n", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        proc.stdout.close()
        assert proc.wait(timeout=5) == 0
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
