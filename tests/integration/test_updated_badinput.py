# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-updated under hostile connections (issue 10, "Bad input"), through a
real stack: an oversized request head is refused cleanly, clients that hold
connections open (slowloris) are capped per address and timed out, and
through all of it a subscriber's request is still served at once.

127.0.0.1 is the demo subscriber Alpha's network; 127.0.0.2 nobody's."""
import socket
import subprocess
import time

import pytest


def connect(port, source="127.0.0.2", timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def served_quickly(st, limit=3.0):
    """A subscriber's page comes back with 200 within limit seconds."""
    t0 = time.monotonic()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m",
                        str(limit), st.env["UPDATED_URL"] + "/"],
                       stdout=subprocess.PIPE, text=True, timeout=limit + 10)
    return r.stdout == "200" and time.monotonic() - t0 < limit


def closed_by_server(s, within):
    """True when the server closes s (EOF or reset) within `within` seconds;
    whatever it sends first (an error reply) is read and ignored."""
    s.settimeout(within)
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            if s.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


@pytest.fixture(scope="module")
def ud(stack):
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    # Short enough to watch, long enough for a loaded CI machine.
    stack.reconfigure("updated", "timeout", "=3")
    stack.reconfigure("updated", "per_client", "=8")
    return stack


def test_oversized_head_is_refused_and_others_served(ud):
    s = connect(int(ud.env["UPDATED_PORT"]))
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
    except (ConnectionResetError, BrokenPipeError):
        pass                                    # refused before it was all sent
    reply = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    # libmicrohttpd answers 431 (or closes); never 200, never a crash.
    assert reply == b"" or reply.split(b" ", 2)[1] in (b"431", b"413", b"400"), reply[:200]
    assert served_quickly(ud)


def test_slow_clients_are_capped_per_address_and_timed_out(ud):
    port = int(ud.env["UPDATED_PORT"])
    held = []
    try:
        # Eight connections from one address each send half a request line.
        for _ in range(8):
            c = connect(port)
            c.sendall(b"GET / HT")
            held.append(c)
        # The ninth from that address is refused (per_client = 8).
        extra = connect(port)
        assert closed_by_server(extra, 3), "a ninth connection from one address was kept"
        extra.close()
        # A subscriber is served meanwhile.
        assert served_quickly(ud)
        # The silent ones are closed after the timeout (3 s; allow slack).
        t0 = time.monotonic()
        for c in held:
            assert closed_by_server(c, 10), "a silent connection outlived the timeout"
        assert time.monotonic() - t0 < 10
        # And the address may connect again.
        again = connect(port)
        again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert again.recv(100).startswith(b"HTTP/1.1 200")
        again.close()
    finally:
        for c in held:
            c.close()


def test_garbage_request_lines_get_400_and_the_daemon_lives(ud):
    port = int(ud.env["UPDATED_PORT"])
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        s = connect(port)
        s.sendall(junk)
        try:
            reply = s.recv(200)
        except (ConnectionResetError, socket.timeout):
            reply = b""
        s.close()
        assert reply == b"" or reply.startswith(b"HTTP/1."), (junk, reply)
        assert not reply.startswith(b"HTTP/1.1 200"), (junk, reply)
    assert ud.running("updated")
    assert served_quickly(ud)
