# SPDX-License-Identifier: GPL-2.0-or-later
"""moatstack - drive a Moat stack (ctl/moat-stack) from integration tests.

    from moatstack import Stack, EICAR
    st = Stack().up("/tmp/moat-x")          # or the `stack` pytest fixture
    r = st.send("someone@alpha.example", subject="t1", body="hello")
    assert r.rc == 0 and r.queue_id
    [m] = st.wait_sink(lambda m: m.subject == "t1", timeout=30)
    assert b"hello" in m.data and m.rcpt_to == ["someone@alpha.example"]
    st.sql("SELECT kind FROM events WHERE detail_json LIKE ?", ("%" + r.queue_id + "%",))
    st.down()

Everything here waits with a bound and raises StackTimeout (an
AssertionError, so pytest shows it as a failure) carrying log tails.
Paths: the sources are $MOAT_SRC (default: two levels up from this file), the
binaries $MOAT_BIN (set by ctest; default $MOAT_SRC/build).  moat-stack is
told to use $MOAT_BIN as it is (it does not build).
"""
import email
import email.policy
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MOAT_SRC") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MOAT_BIN") or os.path.join(SRC, "build")
MOAT_STACK = os.path.join(SRC, "ctl", "moat-stack")

TESTFILES = "/usr/share/clamav-testfiles"
CLAM_EXE = os.path.join(TESTFILES, "clam.exe")       # detected by sigs/moat-test.hdb
CLAM_ZIP = os.path.join(TESTFILES, "clam.zip")
# The 68-byte EICAR test string, detected as "Eicar-Test-Signature" by sigs/eicar.ndb
EICAR = bytes.fromhex(
    "58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d"
    "5354414e444152442d414e544956495255532d544553542d46494c452124482b482a")

_LOG_NAMES = {
    "postfix": "postfix", "milter": "moat-milter", "moat-milter": "moat-milter",
    "quarantined": "moat-quarantined", "moat-quarantined": "moat-quarantined",
    "sink": "moat-sink", "moat-sink": "moat-sink",
    "dovecot": "dovecot",
    "updated": "moat-updated", "moat-updated": "moat-updated",
    "secmgr": "moat-secmgr", "moat-secmgr": "moat-secmgr",
}
_GROUP_DAEMONS = {
    "milter": ["moat-milter"], "quarantined": ["moat-quarantined"],
    "updated": ["moat-updated"], "secmgr": ["moat-secmgr"],
    "common": ["moat-quarantined", "moat-milter", "moat-updated"],
}


class StackTimeout(AssertionError):
    """A bounded wait ran out."""


class StackError(RuntimeError):
    """moat-stack failed (output in the message)."""


class SendResult(tuple):
    """(rc, transcript, queue_id) from one swaks run; also .ok, .replies."""
    __slots__ = ()

    def __new__(cls, rc, transcript, queue_id):
        return tuple.__new__(cls, (rc, transcript, queue_id))

    rc = property(lambda self: self[0])
    transcript = property(lambda self: self[1])
    queue_id = property(lambda self: self[2])

    @property
    def ok(self):
        """swaks exited 0 and Postfix queued the message."""
        return self.rc == 0 and self.queue_id is not None

    @property
    def replies(self):
        """Server reply lines ("250 2.1.5 Ok", ...) in order."""
        out = []
        for line in self.transcript.splitlines():
            m = re.match(r"^\s*<[~*]*\s+(\d{3}[ -].*)$", line)
            if m:
                out.append(m.group(1))
        return out

    def last_reply(self):
        r = self.replies
        return r[-2] if len(r) >= 2 and r[-1].startswith("221") else (r[-1] if r else "")

    def __repr__(self):
        return "SendResult(rc=%r, queue_id=%r, last=%r)" % (self.rc, self.queue_id, self.last_reply())


class SinkMessage:
    """One message the sink stored: .data (exact bytes), .meta (the json),
    .mail_from, .rcpt_to, .helo, .seq, .path, .msg (email.message.EmailMessage)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        with open(path[:-4] + ".json") as f:
            self.meta = json.load(f)
        self.mail_from = self.meta.get("mail_from")
        self.rcpt_to = self.meta.get("rcpt_to", [])
        self.helo = self.meta.get("helo")
        self.seq = self.meta.get("seq")
        self._msg = None

    @property
    def msg(self):
        if self._msg is None:
            self._msg = email.message_from_bytes(self.data, policy=email.policy.default)
        return self._msg

    def header(self, name, default=None):
        """First value of header name (unfolded str), or default."""
        v = self.msg.get(name)
        return default if v is None else str(v)

    def headers(self, name):
        return [str(v) for v in self.msg.get_all(name, [])]

    @property
    def subject(self):
        return self.header("Subject", "")

    @property
    def text(self):
        return self.data.decode("utf-8", "replace")

    def parts(self):
        """(content_type, filename, payload bytes) of each leaf MIME part."""
        out = []
        for p in self.msg.walk():
            if p.is_multipart():
                continue
            out.append((p.get_content_type(), p.get_filename(), p.get_payload(decode=True) or b""))
        return out

    def __repr__(self):
        return "SinkMessage(seq=%r, from=%r, to=%r, subject=%r, %d bytes)" % (
            self.seq, self.mail_from, self.rcpt_to, self.subject, len(self.data))


def wait_for(fn, timeout=30, interval=0.2, what="condition"):
    """Calls fn() until it returns a true value (returned) or timeout seconds
    pass (StackTimeout)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise StackTimeout("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def _run(args, timeout, env=None, input=None):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout, env=env, input=input)


def http_request(url, *curl_args, source=None, timeout=30):
    """(status, headers text, body bytes) of one curl request to url, sent
    from the loopback address source if given, curl_args before the URL.
    A curl failure (no connection, timeout) fails the test with curl's
    stderr; interim 100 Continue heads are skipped."""
    cmd = ["curl", "-s", "-S", "-m", str(timeout), "-D", "-", "-o", "-"]
    if source:
        cmd += ["--interface", source]
    r = subprocess.run(cmd + list(curl_args) + [url], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout + 10)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


class Stack:
    def __init__(self, src=SRC, bin=BIN):
        self.src = src
        self.bin = os.path.abspath(bin)
        self.dir = None
        self.env = {}

    # ------------------------------------------------------------ life cycle

    def _stack_env(self, extra=None):
        e = dict(os.environ)
        e["MOAT_BUILD_DIR"] = self.bin
        e.pop("MOAT_BIN", None)
        if extra:
            e.update({k: str(v) for k, v in extra.items()})
        return e

    def _moat_stack(self, *args, timeout=180, env=None):
        r = _run([os.path.join(self.src, "ctl", "moat-stack")] + list(args), timeout,
                 env=self._stack_env(env))
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def up(self, dir=None, env=None, timeout=180):
        """Brings a stack up in dir (default: a fresh /tmp/moat-stack-* dir).
        env: extra environment for moat-stack (MOAT_SINK_REJECT, MOAT_SMTP_PORT,
        ...).  Returns self; raises StackError with moat-stack's output."""
        if dir is None:
            dir = tempfile.mkdtemp(prefix="moat-stack-", dir="/tmp")
        os.makedirs(dir, exist_ok=True)
        os.chmod(dir, 0o755)
        self.dir = os.path.realpath(dir)
        self.up_env = env
        rc, out = self._moat_stack("up", self.dir, timeout=timeout, env=env)
        self.up_output = out
        if rc != 0:
            raise StackError("moat-stack up %s failed (rc %d):\n%s" % (self.dir, rc, out))
        self.load_env()
        return self

    def load_env(self):
        """(Re)reads DIR/stack.env into self.env."""
        env = {}
        with open(os.path.join(self.dir, "stack.env")) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                k, v = line.split("=", 1)
                vals = shlex.split(v)
                env[k] = vals[0] if vals else ""
        self.env = env
        return env

    def down(self, check=True, timeout=120):
        """Stops the stack.  With check, raises StackError when moat-stack
        down fails or any process still references DIR.  Returns the
        leftover list ("pid args")."""
        if self.dir is None:
            return []
        rc, out = self._moat_stack("down", self.dir, timeout=timeout)
        self.down_output = out
        left = self.leftovers()
        if check and (rc != 0 or left):
            raise StackError("moat-stack down %s: rc %d, leftovers %r\n%s" % (self.dir, rc, left, out))
        return left

    def leftovers(self):
        """Processes (except ours) whose args or cwd reference DIR."""
        d = self.dir.rstrip("/")
        mine = {os.getpid(), os.getppid()}
        out = []
        ps = _run(["ps", "-eo", "pid=,args="], 30).stdout.decode("utf-8", "replace")
        for line in ps.splitlines():
            pid, _, args = line.strip().partition(" ")
            if not pid.isdigit() or int(pid) in mine:
                continue
            hit = re.search(re.escape(d) + r"(?=$|[/\s\"':;=,@])", args)
            if not hit:
                try:
                    cwd = os.readlink("/proc/%s/cwd" % pid)
                except OSError:
                    cwd = ""
                hit = cwd == d or cwd.startswith(d + "/")
            if hit and not args.startswith("ps -eo"):
                out.append("%s %s" % (pid, args))
        return out

    def status(self):
        """(rc, text) of moat-stack status."""
        return self._moat_stack("status", self.dir, timeout=30)

    def restart(self, daemon, timeout=120):
        """Stops and starts one part: milter, quarantined, sink or postfix."""
        rc, out = self._moat_stack("restart", self.dir, daemon, timeout=timeout,
                                   env=getattr(self, "up_env", None))
        if rc != 0:
            raise StackError("moat-stack restart %s failed:\n%s" % (daemon, out))
        self.load_env()
        return out

    # ------------------------------------------------------------ facts

    def running(self, name):
        """True when the part (milter, quarantined, sink) runs now."""
        pid = self.pid(name)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False

    def pid(self, name):
        name = _LOG_NAMES.get(name, name)
        try:
            with open(os.path.join(self.env["RUN_DIR"], name + ".pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError, KeyError):
            return None

    @property
    def milter_running(self):
        return self.env.get("MILTER") == "running" and self.running("milter")

    @property
    def quarantined_running(self):
        return self.env.get("QUARANTINED") == "running" and self.running("quarantined")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # ------------------------------------------------------------ mail

    def send(self, to, from_="sender@example.net", body=None, attach=None, headers=None,
             server=None, port=None, subject=None, data=None, helo=None, quit_after=None,
             timeout=60, extra=None, auth=None, source=None):
        """Sends one message with swaks (default: through the stack's Postfix
        SMTP_PORT).
          to       address or list of addresses
          body     str/bytes (swaks' default body when None)
          attach   path, bytes, or a list of paths/bytes/(name, bytes[, type])
          headers  dict or list of "Name: value" (replace same-named defaults)
          subject  shorthand for a Subject header
          data     whole message (str/bytes, headers included): replaces
                   body/headers/attach
          port     e.g. int(st.env["REINJECT_PORT"]); server default 127.0.0.1
          quit_after  swaks --quit-after (e.g. "RCPT")
          auth     (login, password): SMTP AUTH PLAIN (the stack's Dovecot)
          source   client address to send from (e.g. "127.0.0.77")
        Returns SendResult(rc, transcript, queue_id)."""
        tmp = tempfile.mkdtemp(prefix="moat-send-")
        try:
            args = ["swaks", "--server", server or "127.0.0.1",
                    "--port", str(port or self.env["SMTP_PORT"]),
                    "--from", from_, "--to", ",".join(to) if isinstance(to, (list, tuple)) else to,
                    "--timeout", str(int(timeout)), "--hide-informational"]
            if helo:
                args += ["--ehlo", helo]
            n = [0]

            def tmpfile(content):
                n[0] += 1
                p = os.path.join(tmp, "f%d" % n[0])
                with open(p, "wb") as f:
                    f.write(content.encode() if isinstance(content, str) else content)
                return p
            if data is not None:
                args += ["--data", "@" + tmpfile(data)]
            else:
                hdrs = []
                if subject is not None:
                    hdrs.append("Subject: " + subject)
                if isinstance(headers, dict):
                    hdrs += ["%s: %s" % kv for kv in headers.items()]
                elif headers:
                    hdrs += list(headers)
                for h in hdrs:
                    args += ["--header", h]
                if body is not None:
                    args += ["--body", "@" + tmpfile(body)]
                if attach is not None:
                    items = attach if isinstance(attach, list) else [attach]
                    for a in items:
                        if isinstance(a, tuple):
                            name, content = a[0], a[1]
                            ctype = a[2] if len(a) > 2 else "application/octet-stream"
                            args += ["--attach-type", ctype, "--attach-name", name,
                                     "--attach", "@" + tmpfile(content)]
                        elif isinstance(a, (bytes, bytearray)):
                            args += ["--attach-type", "application/octet-stream",
                                     "--attach-name", "attachment.bin",
                                     "--attach", "@" + tmpfile(bytes(a))]
                        else:
                            args += ["--attach-type", "application/octet-stream",
                                     "--attach-name", os.path.basename(a), "--attach", "@" + a]
            if auth is not None:
                args += ["--auth", "PLAIN", "--auth-user", auth[0],
                         "--auth-password", auth[1]]
            if source is not None:
                args += ["--local-interface", source]
            if quit_after:
                args += ["--quit-after", quit_after]
            if extra:
                args += list(extra)
            r = _run(args, timeout + 30)
            out = r.stdout.decode("utf-8", "replace")
            qids = re.findall(r"250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)", out)
            return SendResult(r.returncode, out, qids[-1] if qids else None)
        finally:
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
            os.rmdir(tmp)

    def sink_messages(self):
        """Every message in the sink, in arrival order."""
        d = self.env["SINK_DIR"]
        names = sorted((n for n in os.listdir(d) if n.endswith(".eml") and not n.startswith(".")),
                       key=lambda n: int(n.split("-", 1)[0]))
        out = []
        for n in names:
            try:
                out.append(SinkMessage(os.path.join(d, n)))
            except (OSError, ValueError):
                continue
        return out

    def wait_sink(self, predicate=None, count=None, timeout=30):
        """Waits until at least count (default 1) sink messages satisfy
        predicate (callable on SinkMessage; an int is taken as count; None
        matches all) and returns the matching ones.  StackTimeout otherwise,
        with the Postfix log tail."""
        if isinstance(predicate, int) and not isinstance(predicate, bool):
            predicate, count = None, predicate
        count = 1 if count is None else count
        pred = predicate or (lambda m: True)
        got = []

        def check():
            got[:] = [m for m in self.sink_messages() if pred(m)]
            return len(got) >= count
        try:
            wait_for(check, timeout, 0.2, "sink messages")
        except StackTimeout:
            raise StackTimeout("wait_sink: %d of %d message(s) after %ss; sink has %r\n%s"
                               % (len(got), count, timeout, self.sink_messages(),
                                  self.tails())) from None
        return got

    def sink_clear(self):
        """Removes every stored sink message (the sequence keeps counting)."""
        d = self.env["SINK_DIR"]
        for n in os.listdir(d):
            if n.endswith(".eml") or n.endswith(".json"):
                os.unlink(os.path.join(d, n))

    def queue(self):
        """postqueue -p output of the stack's Postfix."""
        return _run(["postqueue", "-c", self.env["POSTFIX_CONFIG_DIR"], "-p"], 30).stdout.decode()

    def wait_queue_empty(self, timeout=30):
        wait_for(lambda: "Mail queue is empty" in self.queue(), timeout, 0.5, "an empty Postfix queue")

    def flush(self):
        """postqueue -f: retry deferred mail now."""
        _run(["postqueue", "-c", self.env["POSTFIX_CONFIG_DIR"], "-f"], 30)

    def postfix_log(self, queue_id):
        """Postfix log lines of one queue ID."""
        return [l for l in self.log("postfix").splitlines() if " %s: " % queue_id in l]

    def wait_postfix_status(self, queue_id, status="sent", timeout=30):
        """Waits for a "QID: to=<..>, ..., status=STATUS" log line; returns it."""
        pat = re.compile(r" %s: to=<.*status=%s" % (re.escape(queue_id), re.escape(status)))

        def find():
            for l in self.postfix_log(queue_id):
                if pat.search(l):
                    return l
            return None
        try:
            return wait_for(find, timeout, 0.3, "%s status=%s" % (queue_id, status))
        except StackTimeout:
            raise StackTimeout("no status=%s for %s after %ss\n%s"
                               % (status, queue_id, timeout, self.tails())) from None

    # ------------------------------------------------------------ store, logs

    def sql(self, query, params=(), timeout=10):
        """Runs one statement on the store; returns a list of dicts (committed)."""
        con = sqlite3.connect(self.env["DB"], timeout=timeout)
        try:
            con.row_factory = sqlite3.Row
            cur = con.execute(query, params)
            rows = [dict(r) for r in cur.fetchall()]
            con.commit()
            return rows
        finally:
            con.close()

    def log_path(self, name):
        return os.path.join(self.env["LOG_DIR"], _LOG_NAMES.get(name, name) + ".log")

    def log(self, name):
        """Text of a log: postfix, milter, quarantined, sink (or a file stem in LOG_DIR)."""
        try:
            with open(self.log_path(name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, name, pattern, timeout=30, start=0):
        """Waits for a regex in log name (from character offset start); returns the match."""
        rx = re.compile(pattern)
        try:
            return wait_for(lambda: rx.search(self.log(name), start), timeout, 0.2,
                            "/%s/ in %s log" % (pattern, name))
        except StackTimeout:
            raise StackTimeout("/%s/ not in %s log after %ss\n%s"
                               % (pattern, name, timeout, self.tails())) from None

    def tails(self, n=25):
        """Last n lines of every log, for failure messages."""
        out = []
        for name in ("postfix", "moat-milter", "moat-quarantined", "moat-sink"):
            lines = self.log(name).splitlines()
            if lines:
                out.append("---- %s (last %d lines) ----" % (name, n))
                out += lines[-n:]
        return "\n".join(out)

    def moatctl(self, *args, timeout=60, check=False):
        """Runs moatctl -d DB ARGS...; returns CompletedProcess (text)."""
        r = subprocess.run([self.env["MOATCTL"], "-d", self.env["DB"]] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           text=True)
        if check and r.returncode != 0:
            raise StackError("moatctl %s: rc %d\n%s%s" % (args, r.returncode, r.stdout, r.stderr))
        return r

    def login_add(self, login, subscriber, password):
        """moatctl login add, the password on stdin; raises on failure."""
        r = _run([self.env["MOATCTL"], "-d", self.env["DB"], "login", "add", login,
                  subscriber, "--password-stdin"], 60, input=(password + "\n").encode())
        if r.returncode != 0:
            raise StackError("moatctl login add %s: %s" % (login, r.stdout.decode()))

    def quarantine_api(self, method, path, body=None, timeout=30):
        """HTTP request to moat-quarantined over its UNIX socket with curl.
        path like "/v1/items".  Returns (status, body bytes); body parsed as
        JSON is available via json.loads."""
        args = ["curl", "-s", "-m", str(timeout), "--unix-socket", self.env["QUARANTINE_SOCKET"],
                "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        inp = None
        if body is not None:
            inp = json.dumps(body).encode() if isinstance(body, (dict, list)) else \
                (body.encode() if isinstance(body, str) else body)
            args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        r = subprocess.run(args + ["http://moat" + path], input=inp, stdout=subprocess.PIPE,
                           timeout=timeout + 10)
        data, _, code = r.stdout.rpartition(b"\n")
        return int(code or 0), data

    # ------------------------------------------------------------ config

    def reconfigure(self, group, key, value, how="restart"):
        """Sets group.key = value in DIR/moat.conf (value: str, bool, int or
        float, written as libconfig; a str starting with '=' is written raw),
        then restarts (how="restart", waits until ready) or HUPs (how="hup",
        returns at once) the daemons reading that group.  how=None: only edit."""
        conf = self.env["CONF"]
        with open(conf) as f:
            text = f.read()
        if isinstance(value, bool):
            lit = "true" if value else "false"
        elif isinstance(value, (int, float)):
            lit = repr(value)
        elif isinstance(value, str) and value.startswith("="):
            lit = value[1:]
        else:
            lit = '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')
        m = re.search(r"(?ms)^%s\s*[=:]\s*\{(.*?)^\};" % re.escape(group), text)
        if m:
            block = m.group(1)
            # [ \t] not \s: \s would swallow the line break after the setting.
            rx = re.compile(r"(?m)^([ \t]*)%s[ \t]*[=:].*?;[ \t]*$" % re.escape(key))
            if rx.search(block):
                block = rx.sub(lambda mm: "%s%s = %s;" % (mm.group(1), key, lit), block, count=1)
            else:
                block = block + "  %s = %s;\n" % (key, lit)
            text = text[:m.start(1)] + block + text[m.end(1):]
        else:
            text += "\n%s = {\n  %s = %s;\n};\n" % (group, key, lit)
        tmp = conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, conf)
        if how is None:
            return
        for d in _GROUP_DAEMONS.get(group, []):
            if not self.running(d):
                continue
            if how == "hup":
                os.kill(self.pid(d), signal.SIGHUP)
            else:
                self.restart(d)


# ------------------------------------------------------------ milter test helpers

# swaks options that send from 127.0.0.2: a client address of no subscriber,
# so the recipient's domain (not the client network) decides who is served.
OUTSIDE = ["--local-interface", "127.0.0.2"]


def encrypted_zip():
    """A zip of one text file, encrypted (Heuristics.Encrypted.Zip)."""
    d = tempfile.mkdtemp()
    try:
        with open(os.path.join(d, "doc.txt"), "w") as f:
            f.write("secret content\n" * 20)
        subprocess.run(["zip", "-q", "-j", "-P", "secret", os.path.join(d, "e.zip"),
                        os.path.join(d, "doc.txt")], check=True)
        return open(os.path.join(d, "e.zip"), "rb").read()
    finally:
        shutil.rmtree(d)


def uniq(tag):
    """A unique Subject tag, to find one test's message among the rest."""
    return "%s-%s" % (tag, uuid.uuid4().hex[:10])


def milter_line(st, qid, timeout=15):
    """moat-milter's per-message log line for a queue ID."""
    return st.wait_log("milter", r"(?m)^.*%s: from=<.*verdict=.*$" % re.escape(qid),
                       timeout=timeout).group(0)


def wait_policy(st, timeout=15):
    """Waits until the milter runs a policy generation at least as new as the
    store's now.  The store's triggers raise meta.policy_generation on every
    policy edit and the milter loads the number and the tables in one read
    transaction, so a logged generation >= the one read here holds every
    edit made before this call.  (A "loaded" line logged after a mark does
    not: it may be an earlier edit's reload finishing late.)"""
    want = int(st.sql("SELECT value FROM meta WHERE key = 'policy_generation'")[0]["value"])
    rx = re.compile(r"policy generation (\d+) loaded")
    try:
        wait_for(lambda: any(int(g) >= want for g in rx.findall(st.log("milter"))),
                 timeout, 0.2, "policy generation %d" % want)
    except StackTimeout:
        raise StackTimeout("policy generation %d not loaded after %ss\n%s"
                           % (want, timeout, st.tails())) from None


def set_policy(st, name, **cols):
    """Updates a policy row (column names are the test's own, never input)
    and waits until the milter runs the new generation."""
    sets = ", ".join("%s = ?" % k for k in cols)
    st.sql("UPDATE policies SET %s WHERE name = ?" % sets, tuple(cols.values()) + (name,))
    wait_policy(st)
