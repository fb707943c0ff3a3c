# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's FTP and SMTP decoys through a real stack (issue 11): curl and
lftp log in to the FTP decoy, list the fake tree over a passive data
connection and are refused downloads and uploads; swaks authenticates to the
SMTP decoy with AUTH LOGIN and AUTH PLAIN and sends a message, answered as
queued; the credentials and commands are decoy.* events, each session a
decoy_sessions row and an asciicast file holding every byte; nmap -sV names
the ports vsftpd 3.0.3 and Postfix smtpd.  Binary garbage, an endless line,
300 pipelined commands and half-open connections leave the daemon up and
inside its limits."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from moatstack import wait_for

FTP_USER, FTP_PASS = "backup", "S3cret-ftp!"
SMTP_USER, SMTP_PASS = "mailer", "Tr0ub4dor-smtp"

# The decoy listens on 127.0.0.1, which the demo seed gives to Alpha
# (alpha.example): the SMTP decoy wears Alpha's identity (decoyd_ident.c).
FQDN = "web01.alpha.example"


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    for tool in ("curl", "lftp", "swaks", "nmap"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (ctl/bootstrap)" % tool)
    return stack


def port(st, pers):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words[pers])


def sessions(st):
    return st.sql("SELECT * FROM decoy_sessions ORDER BY id")


def events(st, kind, key):
    return [json.loads(r["detail_json"]) for r in
            st.sql("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))
            if json.loads(r["detail_json"]).get("session") == key]


def new_row(st, before, pred, what):
    """The first decoy_sessions row not in before that pred accepts."""
    return wait_for(lambda: [r for r in sessions(st) if r["id"] not in before and
                             pred(json.loads(r["summary"]))] or None,
                    timeout=15, what=what)[0]


def cast(row):
    """The recording: its header and its events."""
    with open(row["transcript_path"], "rb") as f:
        lines = f.read().splitlines()
    return json.loads(lines[0]), [json.loads(l) for l in lines[1:]]


def stream(evs, kind):
    return b"".join(e[2].encode("utf-8", "surrogateescape") for e in evs if e[1] == kind)


def run(args, timeout=60):
    p = subprocess.run(args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


class Client:
    """A raw line client: replies read whole (multi-line "NNN-" included)."""

    def __init__(self, st, pers, source=None):
        self.s = socket.create_connection(("127.0.0.1", port(st, pers)), timeout=10,
                                          source_address=(source, 0) if source else None)
        self.s.settimeout(10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """Lines up to the one that starts "NNN " (FTP's multi-line
        replies have lines without a code between)."""
        lines = [self.line()]
        while not (lines[-1][:3].isdigit() and lines[-1][3:4] == " "):
            lines.append(self.line())
        return "\n".join(lines)

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.s.close()


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


# ------------------------------------------------------------------ FTP

@pytest.fixture(scope="module")
def ftp_curl(dd):
    """curl lists /etc over EPSV, then a RETR refused, in one session each."""
    before = {r["id"] for r in sessions(dd)}
    url = "ftp://%s:%s@127.0.0.1:%d" % (FTP_USER, FTP_PASS, port(dd, "ftp"))
    listing = run(["curl", "-sS", "--max-time", "20", url + "/%2Fetc/"])
    retr = run(["curl", "-sS", "--max-time", "20", "-o", "/dev/null", url + "/%2Fetc/passwd"])
    rows = wait_for(lambda: [r for r in sessions(dd) if r["id"] not in before and
                             r["personality"] == "ftp"][:2] if len(
        [r for r in sessions(dd) if r["id"] not in before and r["personality"] == "ftp"]) >= 2
        else None, timeout=15, what="two ftp session rows")
    return listing, retr, rows


def test_curl_lists_the_fake_tree(ftp_curl):
    (rc, out), _, _ = ftp_curl
    assert rc == 0, out
    lines = out.splitlines()
    # vsftpd's ls.c format, the shell's tree.
    assert "-rw-r--r--    1 0        0             757 Jan 12  2024 passwd" in lines, out
    assert any(l.startswith("-rw-r-----    1 0        0") and l.endswith(" shadow")
               for l in lines), out


def test_curl_retr_is_refused(ftp_curl):
    _, (rc, out), _ = ftp_curl
    assert rc == 78 and "550" in out, (rc, out)     # RETR response: 550


def test_ftp_rows_events_recording(dd, ftp_curl):
    _, _, rows = ftp_curl
    for row in rows:
        assert row["personality"] == "ftp" and row["port"] == port(dd, "ftp")
        assert row["src_ip"] == "127.0.0.1" and row["ended"] >= row["started"]
        summary = json.loads(row["summary"])
        assert summary["user"] == FTP_USER and summary["logins"] == 1
        assert summary["end"] == "quit", summary
        key = summary["session"]
        [login] = events(dd, "decoy.login", key)
        assert login["user"] == FTP_USER and login["password"] == FTP_PASS
        assert login["personality"] == "ftp"
        cmds = [e["command"] for e in events(dd, "decoy.command", key)]
        assert cmds[:2] == ["USER " + FTP_USER, "PASS " + FTP_PASS], cmds
        assert cmds[-1] == "QUIT" and summary["commands"] == len(cmds)
        head, evs = cast(row)
        assert head["version"] == 2
        out, inp = stream(evs, "o"), stream(evs, "i")
        assert out.startswith(b"220 (vsFTPd 3.0.3)\r\n")
        assert b"PASS " + FTP_PASS.encode() + b"\r\n" in inp
        assert b"221 Goodbye.\r\n" in out
    listing_cmds = [e["command"] for e in events(dd, "decoy.command",
                                                 json.loads(rows[0]["summary"])["session"])]
    assert "LIST" in listing_cmds or "NLST" in listing_cmds, listing_cmds
    _, evs = cast(rows[0])
    out = stream(evs, "o")
    # The listing went out on the data connection and is in the recording,
    # between the 150 and the 226 of the control connection.
    assert out.index(b"150 Here comes") < out.index(b" passwd\r\n") < out.index(b"226 Directory send OK.")
    _, evs = cast(rows[1])
    assert b"550 Failed to open file.\r\n" in stream(evs, "o")


def test_lftp_session(dd):
    before = {r["id"] for r in sessions(dd)}
    rc, out = run(["lftp", "-u", "%s,%s" % (FTP_USER, FTP_PASS), "-p", str(port(dd, "ftp")),
                   "-e", "set net:max-retries 1; set net:timeout 10; ls -la /home/admin; "
                   "cd /root; get /etc/hostname -o /dev/null; put /etc/hostname -o up.txt; "
                   "mkdir x; quote SYST; quote STAT; quote PORT 10,0,0,1,4,1; bye",
                   "127.0.0.1"], timeout=90)
    assert ".bash_history" in out, out
    assert "550 Failed to change directory." in out             # /root: drwx------
    assert "550 Failed to open file." in out                    # get
    assert "550 Permission denied." in out                      # put, mkdir
    assert "215 UNIX Type: L8" in out and "vsFTPd 3.0.3 - secure, fast, stable" in out
    assert "500 Illegal PORT command." in out                   # no active mode
    row = new_row(dd, before, lambda s: s["personality"] == "ftp", "the lftp session's row")
    assert json.loads(row["summary"])["logins"] == 1


def test_ftp_raw_answers_as_vsftpd(dd):
    c = Client(dd, "ftp")
    try:
        assert c.reply() == "220 (vsFTPd 3.0.3)"
        assert c.cmd("SYST") == "530 Please login with USER and PASS."
        assert c.cmd("PASS x") == "503 Login with USER first."
        assert c.cmd("FEAT").startswith("211-Features:\n EPRT\n EPSV\n MDTM\n PASV")
        assert c.cmd("USER root") == "331 Please specify the password."
        assert c.cmd("PASS toor") == "230 Login successful."
        assert c.cmd("PWD") == '257 "/root" is the current directory'
        assert c.cmd("CWD /nonexistent") == "550 Failed to change directory."
        assert c.cmd("CDUP") == "250 Directory successfully changed."
        assert c.cmd("LIST") == "425 Use PORT or PASV first."
        assert c.cmd("EPRT |1|10.0.0.1|1025|") == "500 Illegal EPRT command."
        assert c.cmd("DELE /etc/passwd") == "550 Permission denied."
        assert c.cmd("XYZZY") == "500 Unknown command."
        assert c.cmd("SIZE /etc/os-release").startswith("213 ")
        # A data connection from any other address is closed unserved.
        pasv = c.cmd("PASV")
        assert pasv.startswith("227 Entering Passive Mode (127,0,0,1,"), pasv
        nums = [int(x) for x in pasv.split("(")[1].split(")")[0].split(",")]
        dport = nums[4] * 256 + nums[5]
        other = socket.create_connection(("127.0.0.1", dport), timeout=5,
                                         source_address=("127.0.0.3", 0))
        assert drain(other) == b""
        other.close()
        mine = socket.create_connection(("127.0.0.1", dport), timeout=5)
        assert c.cmd("NLST /etc") == "150 Here comes the directory listing."
        assert b"/etc/passwd\r\n" in drain(mine)
        mine.close()
        assert c.reply() == "226 Directory send OK."
        assert c.cmd("QUIT") == "221 Goodbye."
    finally:
        c.close()


# ------------------------------------------------------------------ SMTP

@pytest.fixture(scope="module")
def smtp_swaks(dd):
    before = {r["id"] for r in sessions(dd)}
    rc, out = run(["swaks", "--server", "127.0.0.1:%d" % port(dd, "smtp"),
                   "--ehlo", "spammer.example", "--from", "boss@victim.example",
                   "--to", "all@victim.example", "--auth", "LOGIN",
                   "--auth-user", SMTP_USER, "--auth-password", SMTP_PASS,
                   "--header", "Subject: invoice 4711", "--body", "pay now, decoy body"])
    row = new_row(dd, before, lambda s: s["personality"] == "smtp" and s["user"] == SMTP_USER,
                  "the swaks session's row")
    return rc, out, row


def test_swaks_auth_login_and_message(smtp_swaks):
    rc, out, _ = smtp_swaks
    assert rc == 0, out
    assert "<-  220 %s ESMTP Postfix (Debian/GNU)" % FQDN in out
    assert "250-AUTH PLAIN LOGIN" in out and "STARTTLS" not in out
    assert "<-  235 2.7.0 Authentication successful" in out
    assert "<-  250 2.0.0 Ok: queued as " in out
    assert "<-  221 2.0.0 Bye" in out


def test_smtp_row_events_recording(dd, smtp_swaks):
    _, _, row = smtp_swaks
    assert row["port"] == port(dd, "smtp") and row["src_ip"] == "127.0.0.1"
    summary = json.loads(row["summary"])
    assert summary["logins"] == 1 and summary["end"] == "quit"
    key = summary["session"]
    [login] = events(dd, "decoy.login", key)
    assert login["user"] == SMTP_USER and login["password"] == SMTP_PASS
    assert login["personality"] == "smtp"
    cmds = [e["command"] for e in events(dd, "decoy.command", key)]
    assert cmds == ["EHLO spammer.example", "AUTH LOGIN", "MAIL FROM:<boss@victim.example>",
                    "RCPT TO:<all@victim.example>", "DATA", "QUIT"], cmds
    head, evs = cast(row)
    assert head["version"] == 2 and head["title"].startswith("smtp ")
    inp, out = stream(evs, "i"), stream(evs, "o")
    assert b"Subject: invoice 4711" in inp and b"pay now, decoy body" in inp
    assert b"\r\n.\r\n" in inp
    assert b"queued as " in out
    # Debian's asciinema plays it (it needs a terminal: script gives one).
    if shutil.which("asciinema") and shutil.which("script"):
        rc, shown = run(["script", "-qec", "asciinema play -s 100 -i 0.05 '%s'" %
                         row["transcript_path"], "/dev/null"])
        assert rc == 0 and "235 2.7.0 Authentication successful" in shown, shown[-2000:]
        assert "Ok: queued as" in shown
    # Nothing was relayed: the stack's sink never saw it.
    assert not [m for m in dd.sink_messages() if "invoice 4711" in (m.subject or "")]


def test_swaks_auth_plain_pipelined(dd):
    before = {r["id"] for r in sessions(dd)}
    rc, out = run(["swaks", "--server", "127.0.0.1:%d" % port(dd, "smtp"), "--pipeline",
                   "--to", "x@victim.example", "--auth", "PLAIN", "--auth-user", "plainuser",
                   "--auth-password", "plain pass"])
    assert rc == 0 and "235 2.7.0 Authentication successful" in out, out
    row = new_row(dd, before, lambda s: s["user"] == "plainuser", "the AUTH PLAIN row")
    [login] = events(dd, "decoy.login", json.loads(row["summary"])["session"])
    assert login["password"] == "plain pass"


def test_smtp_raw_answers_as_postfix(dd):
    c = Client(dd, "smtp")
    try:
        assert c.reply() == "220 %s ESMTP Postfix (Debian/GNU)" % FQDN
        assert c.cmd("EHLO") == "501 Syntax: EHLO hostname"
        assert c.cmd("RCPT TO:<a@b>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("AUTH LOGIN") == "503 5.5.1 Error: send HELO/EHLO first"
        assert c.cmd("HELO x") == "250 " + FQDN
        assert c.cmd("STARTTLS") == "502 5.5.1 Error: command not implemented"
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd("*") == "501 5.7.0 Authentication aborted"
        assert c.cmd("AUTH PLAIN !!!") == "501 5.5.2 Cannot decode response"
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Ok"
        assert c.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
        assert c.cmd("VRFY root\x01") == "252 2.0.0 root?"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("FOO") == "502 5.5.2 Error: command not recognized"
        assert c.cmd("GET / HTTP/1.0") == "221 2.7.0 Error: I can break rules, too. Goodbye."
        assert drain(c.s) == b""
    finally:
        c.close()


# ------------------------------------------------------------------ nmap

def test_nmap_names_vsftpd_and_postfix(dd):
    ports = (port(dd, "ftp"), port(dd, "smtp"))
    rc, out = run(["nmap", "-sV", "-Pn", "-n", "--host-timeout", "90s", "-p",
                   "%d,%d" % ports, "127.0.0.1"], timeout=150)
    lines = {int(l.split("/")[0]): l for l in out.splitlines() if "/tcp" in l and l[0].isdigit()}
    assert " ftp " in lines[ports[0]] and "vsftpd 3.0.3" in lines[ports[0]], out
    assert " smtp " in lines[ports[1]] and "Postfix smtpd" in lines[ports[1]], out
    assert "honeypot" not in out.lower() and "unknown" not in lines[ports[0]] + lines[ports[1]]


# ------------------------------------------------------------------ bad input

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def session_of(dd, before, pers, n=1):
    return wait_for(lambda: [r for r in sessions(dd) if r["id"] not in before and
                             r["personality"] == pers][:n]
                    if len([r for r in sessions(dd) if r["id"] not in before and
                            r["personality"] == pers]) >= n else None,
                    timeout=20, what="%d %s row(s)" % (n, pers))


@pytest.mark.parametrize("pers", ["ftp", "smtp"])
def test_garbage_and_endless_line(dd, pers):
    pid = dd.pid("moat-decoyd")
    before = {r["id"] for r in sessions(dd)}
    # Binary garbage with line ends in it: answered, bounded, recorded.
    s = Client(dd, pers).s
    try:
        # (no QUIT in it: the verb is upper-cased)
        s.sendall((bytes(range(256)) * 40 + os.urandom(20000)).replace(b"Q", b"").replace(
            b"q", b""))
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    got = drain(s)
    s.close()
    # An endless line: cut at max_line, the session closed at max_bytes.
    s = Client(dd, pers).s
    try:
        for _ in range(200):
            s.sendall(b"A" * 8192)
    except (BrokenPipeError, ConnectionResetError):
        pass
    drain(s)
    s.close()
    rows = session_of(dd, before, pers, 2)
    first, second = (json.loads(r["summary"]) for r in rows)
    if pers == "smtp":              # Postfix's hard error limit
        # (the client may miss it: the close with its unread garbage is a reset)
        sent = stream(cast(rows[0])[1], "o")
        assert sent.endswith(b"421 4.7.0 %s Error: too many errors\r\n" % FQDN.encode()), sent[-300:]
        assert sent.count(b"502 5.5.2 Error: command not recognized\r\n") + \
            sent.count(b"500 5.5.2 Error: bad syntax\r\n") == 20
        assert first["end"] == "too many errors", first
    else:
        assert b"530 Please login with USER and PASS.\r\n" in got
        assert first["end"] == "client closed", first
    assert second["end"] == "max_bytes" and second["bytes_in"] == 1024 * 1024, second
    for r in rows:
        assert os.path.getsize(r["transcript_path"]) > 100
    assert dd.pid("moat-decoyd") == pid and rss_kb(pid) < 64 * 1024


def test_300_pipelined_commands(dd):
    before = {r["id"] for r in sessions(dd)}
    c = Client(dd, "ftp")
    assert c.reply().startswith("220 ")
    c.s.sendall(b"USER a\r\nPASS b\r\n" + b"NOOP\r\n" * 300 + b"QUIT\r\n")
    got = drain(c.s).decode()
    c.close()
    assert got.count("200 NOOP ok.\r\n") == 300 and got.endswith("221 Goodbye.\r\n")
    c = Client(dd, "smtp")
    assert c.reply().startswith("220 ")
    c.s.sendall(b"EHLO x\r\n" + b"NOOP\r\n" * 300 + b"QUIT\r\n")
    got = drain(c.s).decode()
    c.close()
    assert got.count("250 2.0.0 Ok\r\n") == 300 and got.endswith("221 2.0.0 Bye\r\n")
    for pers, n in (("ftp", 303), ("smtp", 302)):     # with USER PASS QUIT, EHLO QUIT
        [row] = session_of(dd, before, pers)
        assert json.loads(row["summary"])["commands"] == n


def test_half_open_connections(dd):
    pid = dd.pid("moat-decoyd")
    before = {r["id"] for r in sessions(dd)}
    # A command cut short, then the client's side closed: the session ends
    # without an answer to the partial line, recorded.
    for pers in ("ftp", "smtp"):
        c = Client(dd, pers)
        c.reply()
        c.s.sendall(b"USER half")
        c.s.shutdown(socket.SHUT_WR)
        assert drain(c.s) == b""
        c.close()
    # A passive data channel opened and never used, the client gone.
    c = Client(dd, "ftp")
    c.reply()
    c.cmd("USER a")
    c.cmd("PASS b")
    assert c.cmd("EPSV").startswith("229 ")
    c.s.sendall(b"LIST\r\n")
    assert c.reply() == "150 Here comes the directory listing."
    c.close()
    ftp_half, ftp_pasv = session_of(dd, before, "ftp", 2)
    [smtp_half] = session_of(dd, before, "smtp")
    for r in (ftp_half, ftp_pasv, smtp_half):
        assert json.loads(r["summary"])["end"] == "client closed"
    for r in (ftp_half, smtp_half):
        assert stream(cast(r)[1], "i") == b"USER half"
    assert dd.pid("moat-decoyd") == pid
    c = Client(dd, "ftp")
    assert c.reply() == "220 (vsFTPd 3.0.3)"
    c.close()


def test_data_channel_lifetime_is_bounded(dd):
    """A passive channel nobody connects to closes after 60 s (DD_DATA_MS):
    the transfer waiting on it fails as vsftpd's does, its port is gone, the
    session goes on."""
    c = Client(dd, "ftp")
    try:
        c.reply()
        c.cmd("USER slow")
        c.cmd("PASS slow")
        epsv = c.cmd("EPSV")
        dport = int(epsv.split("|||")[1].split("|")[0])
        assert c.cmd("LIST") == "150 Here comes the directory listing."
        started = time.monotonic()
        c.s.settimeout(75)
        assert c.reply() == "426 Failure writing network stream."
        assert 55 < time.monotonic() - started < 70
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", dport), timeout=5)
        c.s.settimeout(10)
        assert c.cmd("LIST") == "425 Use PORT or PASV first."
        assert c.cmd("QUIT") == "221 Goodbye."
    finally:
        c.close()
