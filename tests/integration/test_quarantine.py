# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of moat-quarantined (issue 4), without Postfix.

Each test gets a temp directory with a demo store (`moatctl db init --demo`),
a config, an SMTP sink (ctl/moat-sink) standing in for Postfix's
re-injection port, and the daemon in the foreground on a UNIX socket; the
test talks HTTP to it as moat-milter and moatctl do.  Every wait is bounded.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MOAT_SRC") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MOAT_BIN") or os.path.join(SRC, "build")
QUARANTINED = os.path.join(BIN, "quarantined", "moat-quarantined")
MOATCTL = os.path.join(BIN, "ctl", "moatctl")
SINK = os.path.join(SRC, "ctl", "moat-sink")
MARKER = b"MOAT-QUARANTINE-TEST-MARKER-7f3a"

pytestmark = pytest.mark.skipif(not os.access(QUARANTINED, os.X_OK),
                                reason="moat-quarantined is not built in " + BIN)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=20, interval=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def message(n=0, size=0, marker=False):
    """A CRLF message; size pads the body to about that many bytes."""
    head = ("From: sender@example.net\r\nTo: user@alpha.example\r\n"
            "Subject: quarantine test %d\r\nMessage-ID: <q%d.%f@example.net>\r\n\r\n"
            % (n, n, time.time())).encode()
    body = b"Line one of the body.\r\n.leading dot line\r\n"
    if marker:
        body += MARKER + b"\r\n"
    while len(head) + len(body) < size:
        body += (b"%06d " % n) + b"x" * 70 + b"\r\n"
    return head + body


class Quarantined:
    """One temp instance: store, sink, config, daemon."""

    def __init__(self, tmp, extra=None, sink_reject=None, max_upload="1M",
                 reinject_port=None, prefix=None):
        self.dir = tmp
        self.db = os.path.join(tmp, "moat.db")
        self.sock = os.path.join(tmp, "q.sock")
        self.spool = os.path.join(tmp, "spool")
        self.sinkdir = os.path.join(tmp, "sink")
        self.sigs = os.path.join(tmp, "sigs")
        self.conf = os.path.join(tmp, "moat.conf")
        self.log = os.path.join(tmp, "quarantined.log")
        for d in (self.spool, self.sinkdir, self.sigs):
            os.makedirs(d, exist_ok=True)
        self.make_store()
        with open(os.path.join(self.sigs, "marker.ndb"), "w") as f:
            f.write("Moat.Test.Marker:0:*:%s\n" % MARKER.hex())
        self.sink_port = free_port()
        self.sink = None
        self.start_sink(sink_reject or [])
        port = reinject_port or self.sink_port
        lines = [
            'common = { store = "%s"; user = ""; run_dir = "%s"; log_level = "info"; };'
            % (self.db, tmp),
            "quarantined = {",
            '  socket = "%s";' % self.sock,
            '  spool = "%s";' % self.spool,
            '  reinject = "smtp://127.0.0.1:%d";' % port,
            '  signatures = "%s";' % self.sigs,
            '  max_upload = "%s";' % max_upload,
            '  release_from = "quarantine@gateway.example";',
        ]
        keys = " ".join(extra or [])
        lines += ["  %s = 0;" % k for k in ("purge_interval", "digest_interval")
                  if k + " " not in keys]
        lines += ["  %s" % e for e in (extra or [])] + ["};"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.prefix = prefix or []

    def make_store(self):
        if os.access(MOATCTL, os.X_OK):
            subprocess.run([MOATCTL, "-d", self.db, "db", "init", "--demo"], check=True,
                           capture_output=True, timeout=60)
        else:
            con = sqlite3.connect(self.db)
            for f in ("schema.sql", "seed-demo.sql"):
                con.executescript(open(os.path.join(SRC, "sql", f)).read())
            con.commit()
            con.close()

    def start_sink(self, rejects):
        args = [sys.executable, SINK, "-l", "127.0.0.1:%d" % self.sink_port, "-d", self.sinkdir]
        for r in rejects:
            args += ["--reject", r]
        self.sink = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.sink_port), 0.5).close()
                return True
            except OSError:
                return False
        wait_for(up, what="moat-sink")

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.prefix + [QUARANTINED, "-f", "-c", self.conf],
                                     stdout=logf, stderr=logf)
        logf.close()

        def ready():
            assert self.proc.poll() is None, "moat-quarantined exited:\n" + self.logtext()
            try:
                return self.request("GET", "/v1/health", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(ready, what="moat-quarantined health")
        return self

    def stop(self, sig=signal.SIGTERM):
        """TERM must stop the daemon cleanly: exit status 0 (a sanitizer
        build exits non-zero on a leak or error)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                raise AssertionError("moat-quarantined ignored TERM for 15 s")
        assert proc.returncode == 0, "moat-quarantined exited %d:\n%s" % (
            proc.returncode, self.logtext()[-3000:])

    def close(self):
        try:
            self.stop()
        finally:
            if self.sink is not None:
                self.sink.terminate()
                self.sink.wait(10)

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data, r
        finally:
            c.close()

    def json(self, method, path, body=None, want=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        st, data, _ = self.request(method, path, body)
        if want is not None:
            assert st == want, "%s %s: HTTP %d %r" % (method, path, st, data[:300])
        return st, json.loads(data) if data else None

    def submit(self, data, rcpts=("user@alpha.example",), sender="sender@example.net",
               subscriber=1, viruses=("Eicar-Test-Signature",), qid=None, want=201):
        q = [("sender", sender), ("subscriber", str(subscriber))]
        q += [("rcpt", r) for r in rcpts] + [("virus", v) for v in viruses]
        if qid:
            q.append(("queue_id", qid))
        from urllib.parse import urlencode
        st, j = self.json("POST", "/v1/items?" + urlencode(q), data)
        if want is not None:
            assert st == want, (st, j)
        return j

    def raw(self, data, timeout=10):
        """Sends raw bytes, returns the raw reply (up to close or timeout)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        s.sendall(data)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
        s.close()
        return out

    def sql(self, q, params=()):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            cur = con.execute(q, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def sink_files(self):
        return sorted(f for f in os.listdir(self.sinkdir) if f.endswith(".eml"))

    def sink_read(self, name):
        with open(os.path.join(self.sinkdir, name), "rb") as f:
            data = f.read()
        with open(os.path.join(self.sinkdir, name[:-4] + ".json")) as f:
            meta = json.load(f)
        return data, meta

    def tmp_leftovers(self):
        return os.listdir(os.path.join(self.spool, "tmp"))

    def content_files(self):
        out = []
        for d in os.listdir(self.spool):
            if d != "tmp" and os.path.isdir(os.path.join(self.spool, d)):
                out += os.listdir(os.path.join(self.spool, d))
        return sorted(out)

    def moatctl(self, *args, check=True):
        r = subprocess.run([MOATCTL, "-c", self.conf] + list(args), capture_output=True,
                           timeout=120)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r


@pytest.fixture
def qd():
    tmp = tempfile.mkdtemp(prefix="moat-qtest-")
    made = []

    def make(**kw):
        q = Quarantined(tmp if not made else tempfile.mkdtemp(prefix="moat-qtest-"), **kw)
        made.append(q)
        return q.start()
    yield make
    for q in made:
        q.close()
    if os.environ.get("MOAT_KEEP_TEST") != "1":
        for q in made:
            shutil.rmtree(q.dir, ignore_errors=True)


# ------------------------------------------------------------------ tests

def test_submit_list_show_raw_round_trip(qd):
    q = qd()
    data = message(1, size=5000)
    j = q.submit(data, rcpts=("a@alpha.example", "b@alpha.example"), qid="4ABCDEF12")
    assert j["sha256"] == hashlib.sha256(data).hexdigest()
    assert j["size"] == len(data)
    st, item = q.json("GET", "/v1/items/%d" % j["id"], want=200)
    assert item["status"] == "held" and item["queue_id"] == "4ABCDEF12"
    assert item["recipients"] == ["a@alpha.example", "b@alpha.example"]
    assert item["viruses"] == ["Eicar-Test-Signature"] and item["subscriber_id"] == 1
    assert "path" not in item
    st, raw, resp = q.request("GET", "/v1/items/%d/raw" % j["id"])
    assert st == 200 and resp.getheader("Content-Type") == "message/rfc822"
    assert hashlib.sha256(raw).hexdigest() == j["sha256"] and raw == data
    st, lst = q.json("GET", "/v1/items", want=200)
    assert lst["total"] == 1 and lst["items"][0]["id"] == j["id"]
    assert q.tmp_leftovers() == []
    # the stored file is where the content hash says, and nowhere else
    assert q.content_files() == [j["sha256"]]
    assert q.sql("SELECT path FROM quarantine WHERE id=?", (j["id"],))[0][0] == \
        "%s/%s" % (j["sha256"][:2], j["sha256"])
    assert "quarantine.stored" in [k for (k,) in q.sql("SELECT kind FROM events")] or \
        wait_for(lambda: q.sql("SELECT 1 FROM events WHERE kind='quarantine.stored'"),
                 what="stored event")


def test_list_filters_and_paging(qd):
    q = qd()
    ids = []
    for i in range(12):
        ids.append(q.submit(message(i), subscriber=1 if i % 2 == 0 else 2,
                            sender="s%d@example.net" % i, rcpts=("r%d@alpha.example" % i,),
                            viruses=("Virus.A" if i < 6 else "Virus.B",))["id"])
    q.sql("UPDATE quarantine SET received = 1000000000 WHERE id = ?", (ids[0],))
    _, j = q.json("GET", "/v1/items?subscriber=2", want=200)
    assert j["total"] == 6 and all(it["subscriber_id"] == 2 for it in j["items"])
    _, j = q.json("GET", "/v1/items?virus=virus.b", want=200)
    assert j["total"] == 6
    _, j = q.json("GET", "/v1/items?sender=s3@example.net", want=200)
    assert [it["id"] for it in j["items"]] == [ids[3]]
    _, j = q.json("GET", "/v1/items?recipient=r11@alpha", want=200)
    assert [it["id"] for it in j["items"]] == [ids[11]]
    _, j = q.json("GET", "/v1/items?until=2001-09-09", want=200)
    assert [it["id"] for it in j["items"]] == [ids[0]]
    _, j = q.json("GET", "/v1/items?since=%d" % (time.time() - 3600), want=200)
    assert j["total"] == 11
    _, j = q.json("GET", "/v1/items?limit=5&offset=5", want=200)
    assert j["total"] == 12 and [it["id"] for it in j["items"]] == ids[::-1][5:10]
    _, j = q.json("GET", "/v1/items?status=released", want=200)
    assert j["total"] == 0
    for bad in ("limit=0", "limit=1001", "status=gone", "since=yesterday", "offset=-1",
                "subscriber=abc", "nosuch=1"):
        st, _ = q.json("GET", "/v1/items?" + bad)
        assert st == 400, bad
    # SQL text in a filter is data, not SQL
    st, j = q.json("GET", "/v1/items?sender=%27%20OR%201=1%20--", want=200)
    assert j["total"] == 0


def test_identical_content_stored_once_and_delete(qd):
    q = qd()
    data = message(7)
    a = q.submit(data)
    b = q.submit(data, rcpts=("other@alpha.example",))
    assert a["sha256"] == b["sha256"] and a["id"] != b["id"]
    assert q.content_files() == [a["sha256"]]
    q.json("DELETE", "/v1/items/%d" % a["id"], want=200)
    assert q.content_files() == [a["sha256"]], "file removed while another row uses it"
    st, _, _ = q.request("GET", "/v1/items/%d/raw" % b["id"])
    assert st == 200
    st, _ = q.json("DELETE", "/v1/items/%d" % a["id"])
    assert st == 409
    q.json("DELETE", "/v1/items/%d" % b["id"], want=200)
    assert q.content_files() == []
    assert q.sql("SELECT status FROM quarantine ORDER BY id") == [("deleted",), ("deleted",)]
    st, _, _ = q.request("GET", "/v1/items/%d/raw" % b["id"])
    assert st == 410


def test_release_byte_identical_and_twice_refused(qd):
    q = qd()
    data = message(2, size=20000)
    j = q.submit(data, rcpts=("x@alpha.example", "y@alpha.example"))
    st, r = q.json("POST", "/v1/items/%d/release" % j["id"], b"", want=200)
    assert r["reply"].startswith("250")
    [name] = wait_for(q.sink_files, what="released message in the sink")
    got, meta = q.sink_read(name)
    assert meta["rcpt_to"] == ["x@alpha.example", "y@alpha.example"]
    assert meta["mail_from"] == "sender@example.net"
    first, rest = got.split(b"\r\n", 1)
    assert first.startswith(b"X-Moat-Released: %d by operator at " % j["id"])
    assert rest == data, "released bytes differ from the original"
    row = q.sql("SELECT status, released_at IS NOT NULL, release_reply FROM quarantine "
                "WHERE id=?", (j["id"],))[0]
    assert row[0] == "released" and row[1] == 1 and row[2] == r["reply"]
    st, e = q.json("POST", "/v1/items/%d/release" % j["id"], b"")
    assert st == 409 and "released" in e["error"]
    assert len(q.sink_files()) == 1
    wait_for(lambda: q.sql("SELECT 1 FROM events WHERE kind='quarantine.released'"),
             what="released event")


def test_release_to_given_recipients_and_null_sender(qd):
    q = qd()
    data = message(3)
    j = q.submit(data, sender="<>", rcpts=("<User@Alpha.Example>",))
    _, it = q.json("GET", "/v1/items/%d" % j["id"], want=200)
    assert it["sender"] == "" and it["recipients"] == ["user@alpha.example"]
    q.json("POST", "/v1/items/%d/release" % j["id"],
           {"recipients": ["analyst@alpha.example"], "by": "alice"}, want=200)
    [name] = wait_for(q.sink_files, what="released message")
    got, meta = q.sink_read(name)
    assert meta["rcpt_to"] == ["analyst@alpha.example"]
    assert meta["mail_from"] == "quarantine@gateway.example"
    assert got.startswith(b"X-Moat-Released: %d by alice at " % j["id"])
    assert got.split(b"\r\n", 1)[1] == data


def test_release_refused_by_server_changes_nothing(qd):
    q = qd(sink_reject=["bad@alpha.example=550"])
    j = q.submit(message(4), rcpts=("bad@alpha.example",))
    st, e = q.json("POST", "/v1/items/%d/release" % j["id"], b"")
    assert st == 502 and "550" in e["error"]
    assert q.sql("SELECT status, released_at, release_reply FROM quarantine WHERE id=?",
                 (j["id"],)) == [("held", None, None)]
    assert q.sink_files() == []
    # a retry to a good recipient still works: the row was not touched
    q.json("POST", "/v1/items/%d/release" % j["id"],
           {"recipients": ["good@alpha.example"]}, want=200)


def test_release_with_reinject_down_is_502(qd):
    closed = free_port()
    q = qd(reinject_port=closed)
    j = q.submit(message(5))
    st, e = q.json("POST", "/v1/items/%d/release" % j["id"], b"")
    assert st == 502 and e["error"]
    assert q.sql("SELECT status, released_at FROM quarantine WHERE id=?",
                 (j["id"],)) == [("held", None)]
    assert q.request("GET", "/v1/health")[0] == 200


def test_rescan_updates_viruses_and_flags_fp(qd):
    q = qd()
    infected = q.submit(message(6, marker=True), viruses=("Old.Name",))
    clean = q.submit(message(8), viruses=("Was.A.False.Positive",))
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["rescanned"] == 2 and r["clean"] == 1 and r["released"] == 0
    _, it = q.json("GET", "/v1/items/%d" % infected["id"], want=200)
    assert it["fp_candidate"] == 0 and it["viruses"][0].startswith("Moat.Test.Marker")
    _, it = q.json("GET", "/v1/items/%d" % clean["id"], want=200)
    assert it["fp_candidate"] == 1 and it["viruses"] == [] and it["status"] == "held"
    # the signature is withdrawn: the marked item becomes a candidate too
    with open(os.path.join(q.sigs, "marker.ndb"), "w") as f:
        f.write("Moat.Other:0:*:%s\n" % b"nothing-here-matches-0123456789".hex())
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["clean"] == 2
    _, it = q.json("GET", "/v1/items/%d" % infected["id"], want=200)
    assert it["fp_candidate"] == 1 and it["status"] == "held"
    assert q.sink_files() == []


def test_rescan_auto_release_by_policy(qd):
    q = qd()
    q.sql("UPDATE policies SET auto_release_fp = 1 WHERE name = 'strict'")   # Alpha's
    a = q.submit(message(9), subscriber=1)
    b = q.submit(message(10), subscriber=2)      # Beta: executables-reject, no auto release
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["clean"] == 2 and r["released"] == 1
    assert q.sql("SELECT id, status FROM quarantine ORDER BY id") == \
        [(a["id"], "released"), (b["id"], "held")]
    [name] = wait_for(q.sink_files, what="auto-released message")
    got, _ = q.sink_read(name)
    assert got.startswith(b"X-Moat-Released: %d by rescan at " % a["id"])


def test_purge_honours_retention(qd):
    q = qd()
    old = q.submit(message(11), subscriber=1)       # strict: 30 days
    recent = q.submit(message(12), subscriber=1)
    old_beta = q.submit(message(13), subscriber=2)  # executables-reject: set to 0 = forever
    q.sql("UPDATE policies SET retention_days = 0 WHERE name = 'executables-reject'")
    q.sql("UPDATE quarantine SET received = strftime('%s','now') - 31*86400 WHERE id IN (?,?)",
          (old["id"], old_beta["id"]))
    q.sql("UPDATE quarantine SET received = strftime('%s','now') - 29*86400 WHERE id = ?",
          (recent["id"],))
    _, r = q.json("POST", "/v1/purge", b"", want=200)
    assert r["purged"] == 1
    assert [i for (i,) in q.sql("SELECT id FROM quarantine ORDER BY id")] == \
        [recent["id"], old_beta["id"]]
    assert old["sha256"] not in q.content_files()
    assert recent["sha256"] in q.content_files()
    # an item-level policy wins over the subscriber's
    q.sql("INSERT INTO policies(name, retention_days) VALUES ('short', 7)")
    (pid,), = q.sql("SELECT id FROM policies WHERE name='short'")
    q.sql("UPDATE quarantine SET policy_id = ? WHERE id = ?", (pid, recent["id"]))
    _, r = q.json("POST", "/v1/purge", b"", want=200)
    assert r["purged"] == 1
    assert [i for (i,) in q.sql("SELECT id FROM quarantine")] == [old_beta["id"]]


def test_digest_arrives_with_release_commands(qd):
    q = qd()
    a = q.submit(message(14), subscriber=1, viruses=("Win.Test.A",))
    b = q.submit(message(15), subscriber=1, viruses=("Win.Test.B",))
    q.submit(message(16), subscriber=2)          # Beta's policy has digest = 0
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 1
    [name] = wait_for(q.sink_files, what="digest")
    got, meta = q.sink_read(name)
    assert meta["rcpt_to"] == ["postmaster@alpha.example"]
    text = got.decode()
    assert "Subject: Quarantine digest for Alpha" in text
    for it in (a, b):
        assert "moatctl quarantine release %d" % it["id"] in text
    assert "Win.Test.B" in text
    assert q.sql("SELECT digested FROM quarantine WHERE subscriber_id=1") == [(1,), (1,)]
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 0 and len(q.sink_files()) == 1


def test_digest_per_recipient_by_policy(qd):
    q = qd()
    q.sql("UPDATE policies SET digest_to = 'recipients' WHERE name = 'strict'")
    a = q.submit(message(17), rcpts=("ann@alpha.example",), viruses=("Win.Test.A",))
    b = q.submit(message(18), rcpts=("bob@alpha.example", "ann@alpha.example",
                                     "outsider@example.net"), viruses=("Win.Test.B",))
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 2, r            # ann and bob; never the outsider
    names = wait_for(lambda: q.sink_files() if len(q.sink_files()) == 2 else None,
                     what="two digests")
    got = {}
    for name in names:
        text, meta = q.sink_read(name)
        [to] = meta["rcpt_to"]
        got[to] = text.decode()
    assert sorted(got) == ["ann@alpha.example", "bob@alpha.example"], sorted(got)
    for it in (a, b):
        assert "moatctl quarantine release %d" % it["id"] in got["ann@alpha.example"]
    assert "moatctl quarantine release %d" % b["id"] in got["bob@alpha.example"]
    assert "moatctl quarantine release %d" % a["id"] not in got["bob@alpha.example"], \
        "bob was told about an item not addressed to him"
    assert q.sql("SELECT digested FROM quarantine WHERE subscriber_id=1") == [(1,), (1,)]
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 0 and len(q.sink_files()) == 2


def test_bad_input(qd):
    q = qd(max_upload="64K")
    j = q.submit(message(17))
    cases = [
        ("GET", "/v1/nothing", 404), ("GET", "/", 404), ("GET", "/v2/items", 404),
        ("GET", "/v1/items/%d/nothing" % j["id"], 404),
        ("PUT", "/v1/items/%d" % j["id"], 405), ("GET", "/v1/rescan", 405),
        ("DELETE", "/v1/items", 405),
        ("GET", "/v1/items/12abc", 400), ("GET", "/v1/items/-1", 400),
        ("GET", "/v1/items/0", 400), ("GET", "/v1/items/99999999999999999999", 400),
        ("GET", "/v1/items/%2e%2e", 400),
        ("GET", "/v1/items/424242", 404), ("GET", "/v1/items/424242/raw", 404),
        ("POST", "/v1/items/424242/release", 404), ("DELETE", "/v1/items/424242", 404),
    ]
    for method, path, want in cases:
        st, data, resp = q.request(method, path, body=b"" if method != "GET" else None)
        assert st == want, (method, path, st, data)
        assert "error" in json.loads(data), (method, path, data)
        if want == 405:
            assert resp.getheader("Allow"), path
    # paths that try to escape the spool, sent verbatim (no client normalisation)
    for path in (b"/v1/items/../../etc/passwd", b"/v1/items/..%2f..%2fetc%2fpasswd/raw",
                 b"/v1/items/1%00/raw"):
        out = q.raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = int(out.split(b" ", 2)[1])
        assert status in (400, 404), (path, out[:200])
        assert b"root:" not in out
    # bad JSON bodies
    for body in (b"{", b"[1,2]", b'{"recipients": "x@y.example"}',
                 b'{"recipients": ["not an address"]}', b'{"recipients": ["a@b\\r\\nDATA"]}'):
        st, data, _ = q.request("POST", "/v1/items/%d/release" % j["id"], body=body)
        assert st == 400, (body, st, data)
    # bad submission metadata
    for qs in ("rcpt=", "rcpt=a%0d%0a@b.example", "subscriber=x&rcpt=a@b.example",
               "subscriber=999&rcpt=a@b.example", "policy=999&rcpt=a@b.example",
               "sender=bad%20sender&rcpt=a@b.example", "queue_id=a%20b&rcpt=a@b.example",
               "virus=&rcpt=a@b.example", "bogus=1&rcpt=a@b.example", ""):
        st, data, _ = q.request("POST", "/v1/items?" + qs, body=b"Subject: x\r\n\r\nx\r\n")
        assert st == 400, (qs, st, data)
    st, data, _ = q.request("POST", "/v1/items?rcpt=a@b.example", body=b"")
    assert st == 400
    # oversized: declared, and chunked without a length.  A client that
    # sends its body without waiting gets its 413 after the body is drained,
    # never EPIPE (which raced here before); one that waits for 100-continue,
    # or declares more than the server will drain, is answered at once.
    st, data, _ = q.request("POST", "/v1/items?rcpt=a@b.example", body=b"x" * 70000)
    assert st == 413, (st, data)
    for hdrs in (b"POST /v1/items?rcpt=a@b.example HTTP/1.1\r\n",
                 b"POST /v1/items/%d/release HTTP/1.1\r\n" % j["id"]):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(q.sock)
        s.sendall(hdrs + b"Host: x\r\nConnection: close\r\nContent-Length: 70000\r\n\r\n")
        time.sleep(0.3)     # the server has decided by now; it must still read
        s.sendall(b"x" * 70000)
        out = s.makefile("rb").read()
        s.close()
        assert out.startswith(b"HTTP/1.1 413 "), (hdrs, out[:200])
    for hdrs in (b"Content-Length: 70000\r\nExpect: 100-continue\r\n",
                 b"Content-Length: 1000000000\r\n"):
        out = q.raw(b"POST /v1/items?rcpt=a@b.example HTTP/1.1\r\nHost: x\r\n" + hdrs +
                    b"\r\n", timeout=5)
        assert out.startswith(b"HTTP/1.1 413 "), (hdrs, out[:200])
        assert b"100 Continue" not in out, out[:200]

    def chunks():
        for _ in range(20):
            yield b"y" * 8192
    c = UnixHTTPConnection(q.sock)
    c.request("POST", "/v1/items?rcpt=a@b.example", body=chunks(), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    assert r.status == 413
    c.close()
    # truncated upload: the connection closes before Content-Length bytes
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(q.sock)
    s.sendall(b"POST /v1/items?rcpt=a@b.example HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 50000\r\n\r\n" + b"z" * 20000)
    time.sleep(0.3)
    s.close()
    time.sleep(0.5)
    assert q.tmp_leftovers() == [], "temp file left by a truncated upload"
    assert q.sql("SELECT count(*) FROM quarantine") == [(1,)]
    assert len(q.content_files()) == 1
    # and the daemon keeps serving
    assert q.submit(message(18))["id"] > j["id"]


def test_write_error_leaves_nothing(qd):
    # A file size limit makes writes past 40 KB fail (EFBIG), like a full disk.
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit not installed")
    q = qd(prefix=["prlimit", "--fsize=%d" % (40 * 1024)])
    ok = q.submit(message(19, size=1000))
    st, data, _ = q.request("POST", "/v1/items?rcpt=a@b.example",
                            body=message(20, size=60000))
    assert st in (500, 507), (st, data)
    assert "error" in json.loads(data)
    assert q.tmp_leftovers() == []
    assert q.sql("SELECT id FROM quarantine") == [(ok["id"],)]
    assert q.request("GET", "/v1/health")[0] == 200
    assert q.submit(message(21, size=1000))["id"] > ok["id"]


def test_crash_safety_kill9_during_submissions(qd):
    q = qd()
    total, acked, lock = 300, {}, threading.Lock()
    datas = [message(1000 + i, size=2000 + 97 * i) for i in range(total)]
    # two duplicates: content-addressed sharing must survive a crash too
    datas[150] = datas[10]
    next_i = iter(range(total))
    stop = threading.Event()

    def client():
        while not stop.is_set():
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            try:
                st, data, _ = q.request("POST", "/v1/items?rcpt=u@alpha.example&subscriber=1",
                                        body=datas[i], timeout=10)
            except OSError:
                continue               # daemon gone: this one is unacknowledged
            if st == 201:
                j = json.loads(data)
                with lock:
                    acked[i] = j
    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 120, timeout=60, what="120 acknowledged submissions")
    q.proc.kill()                       # SIGKILL mid-stream
    q.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(30)
    assert 120 <= len(acked) < total, len(acked)
    n_acked = len(acked)
    q.proc = None
    q.start()                           # recovery sweeps tmp/ and unindexed files
    assert q.tmp_leftovers() == []
    rows = {i: (sha, size, path) for (i, sha, size, path) in
            q.sql("SELECT id, sha256, size, path FROM quarantine")}
    for i, j in acked.items():
        assert j["id"] in rows, "acknowledged item %d lost" % j["id"]
        sha, size, path = rows[j["id"]]
        assert sha == hashlib.sha256(datas[i]).hexdigest() == j["sha256"]
        with open(os.path.join(q.spool, path), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha, "item %d corrupt" % j["id"]
    # unacknowledged ones are absent or intact; no file without a row
    for i, (sha, size, path) in rows.items():
        with open(os.path.join(q.spool, path), "rb") as f:
            got = f.read()
        assert len(got) == size and hashlib.sha256(got).hexdigest() == sha
    assert set(q.content_files()) == {sha for (sha, _, _) in rows.values()}
    # and it serves again
    _, lst = q.json("GET", "/v1/items?limit=1000", want=200)
    assert lst["total"] == len(rows) >= n_acked


def test_moatctl_quarantine_commands(qd):
    if not os.access(MOATCTL, os.X_OK):
        pytest.skip("moatctl not built")
    q = qd()
    data = message(22)
    j = q.submit(data, qid="QQ1234")
    r = q.moatctl("quarantine", "list")
    assert b"QQ1234" not in r.stdout and str(j["id"]).encode() in r.stdout
    assert b"Eicar-Test-Signature" in r.stdout
    r = q.moatctl("quarantine", "list", "--json", "--subscriber", "1")
    assert json.loads(r.stdout)["total"] == 1
    r = q.moatctl("quarantine", "show", str(j["id"]))
    assert json.loads(r.stdout)["queue_id"] == "QQ1234"
    r = q.moatctl("quarantine", "raw", str(j["id"]))
    assert r.stdout == data
    r = q.moatctl("quarantine", "release", str(j["id"]), "--to", "ops@alpha.example")
    assert b"250" in r.stdout
    _, meta = q.sink_read(wait_for(q.sink_files, what="release")[0])
    assert meta["rcpt_to"] == ["ops@alpha.example"]
    r = q.moatctl("quarantine", "release", str(j["id"]), check=False)
    assert r.returncode == 1 and b"409" in r.stderr
    r = q.moatctl("quarantine", "show", "12abc", check=False)
    assert r.returncode == 2
    r = q.moatctl("quarantine", "delete", str(j["id"]))
    assert q.sql("SELECT status FROM quarantine") == [("deleted",)]
    for cmd in ("rescan", "purge", "digest"):
        r = q.moatctl("quarantine", cmd)
        assert json.loads(r.stdout) is not None
    r = q.moatctl("quarantine", "--endpoint", "unix:" + q.sock, "list", "--json")
    assert json.loads(r.stdout)["total"] == 1


def test_tcp_tokens_scope_subscribers(qd):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="moat-qtok-")
    admin = "admin-token-0123456789"
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write("%s *\n" % hashlib.sha256(admin.encode()).hexdigest())
    q = qd(extra=['listen_tcp = "127.0.0.1:%d";' % port, 'tokens = "%s";' % tokens])
    beta = "beta-portal-token-xyz"
    q.sql("INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash) "
          "VALUES (2, 'token', ?)", (hashlib.sha256(beta.encode()).hexdigest(),))
    a = q.submit(message(23), subscriber=1)
    b = q.submit(message(24), subscriber=2)

    def tcp(method, path, token=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        h = {"Authorization": "Bearer " + token} if token else {}
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        d = r.read()
        c.close()
        return r.status, d
    assert tcp("GET", "/v1/items")[0] == 401
    assert tcp("GET", "/v1/items", "wrong-token")[0] == 401
    st, d = tcp("GET", "/v1/items", admin)
    assert st == 200 and json.loads(d)["total"] == 2
    st, d = tcp("GET", "/v1/items", beta)
    assert st == 200 and [it["id"] for it in json.loads(d)["items"]] == [b["id"]]
    assert tcp("GET", "/v1/items?subscriber=1", beta)[0] == 400
    assert tcp("GET", "/v1/items/%d" % a["id"], beta)[0] == 404
    assert tcp("GET", "/v1/items/%d/raw" % a["id"], beta)[0] == 404
    assert tcp("GET", "/v1/items/%d/raw" % b["id"], beta)[0] == 200
    assert tcp("POST", "/v1/items?rcpt=a@b.example", beta, b"x")[0] == 403
    assert tcp("POST", "/v1/purge", beta, b"")[0] == 403
    assert tcp("POST", "/v1/items/%d/release" % a["id"], beta, b"")[0] == 404
    st, d = tcp("POST", "/v1/items/%d/release" % b["id"], beta, b"")
    assert st == 200
    got, _ = q.sink_read(wait_for(q.sink_files, what="release")[0])
    assert got.startswith(b"X-Moat-Released: %d by subscriber-2 at " % b["id"])
    shutil.rmtree(tmp, ignore_errors=True)


def test_hup_reload_and_term(qd):
    q = qd()
    with open(q.conf) as f:
        text = f.read()
    with open(q.conf, "w") as f:
        f.write(text.replace('max_upload = "1M";', 'max_upload = "2K";'))
    q.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in q.logtext(), what="reload")
    st, _, _ = q.request("POST", "/v1/items?rcpt=a@b.example", body=message(25, size=4000))
    assert st == 413
    # a broken config on HUP keeps the running one
    with open(q.conf, "w") as f:
        f.write("quarantined = { nonsense = 1; };\n")
    q.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in q.logtext(), what="bad reload")
    assert q.request("GET", "/v1/health")[0] == 200
    q.stop()
    assert not os.path.exists(q.sock)


def test_disk_full_is_507_and_leaves_nothing():
    """The spool on a 512 KB tmpfs: an upload that does not fit gets 507,
    its temp file is gone, and the daemon keeps serving."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    tmp = tempfile.mkdtemp(prefix="moat-qfull-")
    q = Quarantined(tmp, max_upload="4M")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", q.spool],
                       capture_output=True)
    if r.returncode != 0:
        q.close()
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip("cannot mount tmpfs: %s" % r.stderr.decode().strip())
    try:
        q.start()
        first = q.submit(message(30, size=200 * 1024))
        st, data, _ = q.request("POST", "/v1/items?rcpt=a@b.example",
                                body=message(31, size=600 * 1024))
        assert st == 507, (st, data)
        assert "error" in json.loads(data)
        assert q.tmp_leftovers() == []
        assert q.sql("SELECT id FROM quarantine") == [(first["id"],)]
        assert q.content_files() == [first["sha256"]]
        second = q.submit(message(32, size=1000))
        st, raw, _ = q.request("GET", "/v1/items/%d/raw" % first["id"])
        assert st == 200 and hashlib.sha256(raw).hexdigest() == first["sha256"]
        assert second["id"] > first["id"]
    finally:
        try:
            q.close()
        finally:
            subprocess.run(["umount", q.spool], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)


def test_periodic_purge_and_digest(qd):
    q = qd(extra=["purge_interval = 1;", "digest_interval = 1;"])
    old = q.submit(message(40), subscriber=1)
    q.sql("UPDATE quarantine SET received = received - 40*86400, digested = 1 WHERE id = ?",
          (old["id"],))
    fresh = q.submit(message(41), subscriber=1)
    wait_for(lambda: q.sql("SELECT 1 FROM quarantine WHERE id = ?", (old["id"],)) == [],
             timeout=15, what="periodic purge")
    [name] = wait_for(q.sink_files, timeout=15, what="periodic digest")
    got, meta = q.sink_read(name)
    assert meta["rcpt_to"] == ["postmaster@alpha.example"]
    assert b"moatctl quarantine release %d" % fresh["id"] in got


def test_tls_listener_with_token(qd):
    if shutil.which("openssl") is None or shutil.which("curl") is None:
        pytest.skip("openssl and curl needed")
    tmp = tempfile.mkdtemp(prefix="moat-qtls-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    token = "tls-admin-token-42"
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write("# operators\n%s *\n" % hashlib.sha256(token.encode()).hexdigest())
    port = free_port()
    q = qd(extra=['listen_tcp = "127.0.0.1:%d";' % port, 'tls_cert = "%s";' % cert,
                  'tls_key = "%s";' % key, 'tokens = "%s";' % tokens])
    j = q.submit(message(50))
    url = "https://127.0.0.1:%d/v1/items/%d" % (port, j["id"])

    def curl(*extra):
        r = subprocess.run(["curl", "-s", "--cacert", cert, "-o", "-", "-w", "\n%{http_code}",
                            *extra, url], capture_output=True, timeout=30)
        body, _, code = r.stdout.rpartition(b"\n")
        return int(code or 0), body
    st, body = curl("-H", "Authorization: Bearer " + token)
    assert st == 200 and json.loads(body)["sha256"] == j["sha256"]
    assert curl()[0] == 401
    # plain HTTP to the TLS port is not served
    assert subprocess.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                           url.replace("https:", "http:")], capture_output=True,
                          timeout=30).stdout in (b"000", b"400")
    shutil.rmtree(tmp, ignore_errors=True)


class SlowSMTP(threading.Thread):
    """An SMTP server that waits `delay` seconds before answering the end of
    DATA (250), so a release stays in progress long enough to race it."""

    def __init__(self, delay):
        super().__init__(daemon=True)
        self.delay = delay
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.srv.settimeout(30)
        self.port = self.srv.getsockname()[1]
        self.in_data = threading.Event()

    def run(self):
        try:
            c, _ = self.srv.accept()
        except OSError:
            return
        f = c.makefile("rb")
        c.sendall(b"220 slow ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                c.sendall(b"250 slow\r\n")
            elif cmd == b"DATA":
                c.sendall(b"354 go\r\n")
                while f.readline() not in (b".\r\n", b""):
                    pass
                self.in_data.set()
                time.sleep(self.delay)
                c.sendall(b"250 2.0.0 Ok: slow\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                break
            else:
                c.sendall(b"250 ok\r\n")
        c.close()
        self.srv.close()


def test_item_being_released_is_locked_against_delete_and_purge(qd):
    smtp = SlowSMTP(delay=3)
    smtp.start()
    q = qd(reinject_port=smtp.port)
    j = q.submit(message(60))
    q.sql("UPDATE quarantine SET received = received - 400*86400 WHERE id = ?", (j["id"],))
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=q.json("POST", "/v1/items/%d/release" % j["id"], b"")))
    t.start()
    assert smtp.in_data.wait(15), "release never reached DATA"
    st, e = q.json("DELETE", "/v1/items/%d" % j["id"])
    assert st == 409 and "released" in e["error"], (st, e)
    _, r = q.json("POST", "/v1/purge", b"", want=200)
    assert r["purged"] == 0
    st, e = q.json("POST", "/v1/items/%d/release" % j["id"], b"")
    assert st == 409
    t.join(30)
    assert result["r"][0] == 200 and result["r"][1]["reply"] == "250 2.0.0 Ok: slow"
    assert q.sql("SELECT status FROM quarantine WHERE id=?", (j["id"],)) == [("released",)]
    assert j["sha256"] in q.content_files()
    # once released, retention applies again
    _, r = q.json("POST", "/v1/purge", b"", want=200)
    assert r["purged"] == 1 and q.content_files() == []
