# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's limits, black-box: the daemon alone in the foreground with a
temporary config and store (no stack), small limits so they are reached in
seconds: idle and duration end sessions (and say so in the row), the global
cap (max_sessions) and the per-source cap close connections at accept, HUP
applies a new per-source cap to new connections, TERM ends every session
with a row."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from moatstack import BIN, wait_for

OPENING = b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture
def decoyd(tmp_path):
    daemon = os.path.join(BIN, "decoyd", "moat-decoyd")
    if not os.path.exists(daemon):
        pytest.skip("moat-decoyd is not built")
    db = tmp_path / "moat.db"
    subprocess.run([os.path.join(BIN, "ctl", "moatctl"), "-d", str(db), "db", "init"],
                   check=True, capture_output=True)
    port = free_port()
    conf = tmp_path / "moat.conf"

    def write(per_source):
        conf.write_text(
            'common = { store = "%s"; user = ""; run_dir = "%s"; };\n'
            'decoyd = { listen = "telnet:127.0.0.1:%d"; record_dir = "%s/rec";\n'
            '  idle = 1; duration = 3; max_sessions = 6; per_source = %d; };\n'
            % (db, tmp_path, port, tmp_path, per_source))
    write(4)
    log = open(tmp_path / "decoyd.log", "wb")
    p = subprocess.Popen([daemon, "-c", str(conf), "-f"], stdout=log, stderr=log)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return None
    wait_for(up, timeout=10, what="moat-decoyd listening")
    time.sleep(0.3)

    class D:
        pass
    d = D()
    d.port, d.proc, d.db, d.write, d.dir = port, p, str(db), write, tmp_path
    d.rows = lambda: [dict(r) for r in sqlite3.connect(str(db)).execute(
        "SELECT id, summary, transcript_path FROM decoy_sessions ORDER BY id").fetchall()]
    yield d
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
    log.close()


def summaries(d):
    con = sqlite3.connect(d.db)
    try:
        return [json.loads(r[0]) for r in con.execute(
            "SELECT summary FROM decoy_sessions ORDER BY id")]
    finally:
        con.close()


def opened(d, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", d.port))
    return s


def served(s):
    try:
        return s.recv(12) == OPENING
    except (ConnectionResetError, socket.timeout):
        return False


def test_idle_and_duration_end_sessions(decoyd):
    idle = opened(decoyd)
    assert served(idle)
    busy = opened(decoyd)
    assert served(busy)
    busy.sendall(b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x23\xff\xfb\x27")
    t0 = time.time()
    closed_busy = None
    while time.time() - t0 < 8:
        try:
            busy.sendall(b"x")
        except OSError:
            closed_busy = time.time() - t0
            break
        time.sleep(0.3)
    assert closed_busy is not None and 2.5 < closed_busy < 6, closed_busy
    assert idle.recv(4096) == b""               # long closed
    # (The fixture's probe connection is a "client closed" row.)
    ends = wait_for(lambda: [s["end"] for s in summaries(decoyd)
                             if s["end"] != "client closed"] or None, timeout=10,
                    what="the two sessions' rows")
    assert sorted(ends) == ["duration", "idle"], ends


def test_caps_close_at_accept(decoyd):
    held = [opened(decoyd) for _ in range(5)]
    assert [served(s) for s in held] == [True] * 4 + [False]     # per_source = 4
    other = [opened(decoyd, "127.0.0.2") for _ in range(3)]
    assert [served(s) for s in other] == [True, True, False]     # max_sessions = 6
    for s in held + other:
        s.close()
    assert decoyd.proc.poll() is None
    s = wait_for(lambda: (lambda c: c if served(c) else None)(opened(decoyd)), timeout=5,
                 what="a session once the others left")
    s.close()


def test_hup_applies_new_cap(decoyd):
    decoyd.write(1)
    decoyd.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    a, b = opened(decoyd), opened(decoyd)
    assert served(a) and not served(b)
    a.close()
    b.close()


def test_runs_under_seccomp(decoyd):
    try:
        with open(os.path.join(BIN, "CMakeCache.txt")) as f:
            sanitize = "MOAT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        sanitize = False
    if sanitize:
        pytest.skip("the sanitizer build runs without the filter (LeakSanitizer)")
    with open("/proc/%d/status" % decoyd.proc.pid) as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    assert status["Seccomp"].strip() == "2"            # a filter is loaded
    assert status["NoNewPrivs"].strip() == "1"


def test_term_ends_sessions_with_rows(decoyd):
    held = [opened(decoyd) for _ in range(3)]
    assert all(served(s) for s in held)
    decoyd.proc.send_signal(signal.SIGTERM)
    assert decoyd.proc.wait(timeout=15) == 0
    ends = [s["end"] for s in summaries(decoyd)]
    assert ends.count("daemon stopped") == 3, ends
    for s in held:
        s.close()
