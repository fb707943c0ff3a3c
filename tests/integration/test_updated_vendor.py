# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-updated's vendor pulls (issue 10, item 6) against a local vendor: an
HTTP server in this test on 127.0.0.1 serving ClamAV's signed test databases
(tests/fixtures/clamav-test-cvd) as test.cvd and test-N.cdiff, a package
manifest and a package; it can answer 429 with Retry-After, 304 on
If-Modified-Since / If-None-Match, and serve a corrupted CVD.  The stack's
moat-updated is pointed at it (vendor_mirror, vendor_databases = "test",
vendor_packages; vendor_interval 0) and pulls on SIGUSR1.

The tests run in order and build on each other: the mirror starts at
test-2; the vendor has test-4, then a corrupted test-5, then a good one."""
import email.utils
import hashlib
import http.server
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from moatstack import wait_for

SRC = os.environ.get("MOAT_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FX = os.path.join(SRC, "tests", "fixtures", "clamav-test-cvd")
PKG_NAME = "moat-av-vendor"


def fx(name):
    with open(os.path.join(FX, name), "rb") as f:
        return f.read()


def cvd_stime(data):
    """The build time (last header field) of a CVD."""
    return int(data[:512].rstrip(b" \n\0").split(b":")[8])


class Vendor(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root):
        super().__init__(("127.0.0.1", 0), VendorHandler)
        self.root = root
        self.lock = threading.Lock()
        self.requests = []        # (time, path, headers dict, status)
        self.queued = {}          # path -> [(status, headers)] answered first

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def put(self, name, data, mtime=None):
        p = os.path.join(self.root, name)
        with open(p + ".tmp", "wb") as f:
            f.write(data)
        os.rename(p + ".tmp", p)
        if mtime is not None:
            os.utime(p, (mtime, mtime))

    def queue(self, path, status, headers=None):
        with self.lock:
            self.queued.setdefault(path, []).append((status, headers or {}))

    def seen(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r[1] == path]

    def clear(self):
        with self.lock:
            self.requests.clear()


class VendorHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, headers=None, body=b""):
        with self.server.lock:
            self.server.requests.append((time.time(), self.path, dict(self.headers), status))
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        with self.server.lock:
            q = self.server.queued.get(self.path)
            canned = q.pop(0) if q else None
        if canned:
            return self._reply(canned[0], canned[1], b"busy\n")
        name = self.path.lstrip("/")
        p = os.path.join(self.server.root, name)
        if "/" in name or not name or not os.path.isfile(p):
            return self._reply(404, body=b"not found\n")
        with open(p, "rb") as f:
            data = f.read()
        mtime = int(os.stat(p).st_mtime)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        h = {"Last-Modified": email.utils.formatdate(mtime, usegmt=True), "ETag": etag}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None and inm == etag:
            return self._reply(304, h)
        if inm is None and ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and mtime <= since:
                return self._reply(304, h)
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and "," not in rng:
            a, _, b = rng[6:].partition("-")
            if a.isdigit() and (b.isdigit() or b == ""):
                a, b = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
                if a <= b:
                    h["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(data))
                    return self._reply(206, h, data[a:b + 1])
        return self._reply(200, h, data)


@pytest.fixture(scope="module")
def vu(stack):
    """The stack's moat-updated pointed at a local vendor."""
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    root = tempfile.mkdtemp(prefix="moat-vendor-")
    v = Vendor(root)
    t = threading.Thread(target=v.serve_forever, daemon=True)
    t.start()
    # The vendor: test-4 and every patch.
    cvd4 = fx("test-4.cvd")
    v.put("test.cvd", cvd4, cvd_stime(cvd4))
    v.put("test.cvd.sign", fx("test-4.cvd.sign"))
    for n in range(2, 7):
        v.put("test-%d.cdiff" % n, fx("test-%d.cdiff" % n))
        v.put("test-%d.cdiff.sign" % n, fx("test-%d.cdiff.sign" % n))
    pkg = os.urandom(200000)
    v.put("%s_2.0.0_all.deb" % PKG_NAME, pkg)
    v.pkg_sha = hashlib.sha256(pkg).hexdigest()
    v.put("manifest.json", json.dumps([{
        "platform": "debian", "name": PKG_NAME, "version": "2.0.0",
        "url": "%s_2.0.0_all.deb" % PKG_NAME, "sha256": v.pkg_sha}]).encode(),
        time.time() - 60)
    # The mirror at test-2, no patches past it; staging empty.
    moat = pwd.getpwnam("moat")
    mirror = stack.env["UPDATED_MIRROR_DIR"]
    for f in os.listdir(mirror):
        if f.startswith("test"):
            os.unlink(os.path.join(mirror, f))
    shutil.copy(os.path.join(FX, "test-2.cvd"), os.path.join(mirror, "test.cvd"))
    staging = os.path.join(stack.dir, "updated", "staging")
    for f in os.listdir(staging):
        p = os.path.join(staging, f)
        shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    # moat-updated (user moat) writes the gateway's signature directory and
    # packages_dir (the stack leaves both to root).
    os.chown(stack.env["SIGS_DIR"], moat.pw_uid, moat.pw_gid)
    os.chown(os.path.join(stack.dir, "updated", "packages"), moat.pw_uid, moat.pw_gid)
    stack.reconfigure("updated", "vendor_mirror", v.url, how=None)
    stack.reconfigure("updated", "vendor_databases", "test", how=None)
    stack.reconfigure("updated", "vendor_packages", v.url + "/manifest.json", how=None)
    stack.reconfigure("updated", "vendor_timeout", "=10", how=None)
    stack.reconfigure("updated", "vendor_retries", 2, how="restart")
    v.stack = stack
    yield v
    v.shutdown()
    shutil.rmtree(root, ignore_errors=True)


def pull(v, timeout=60, how="signal"):
    """Asks moat-updated for a pull (SIGUSR1 from here, or how="moatctl":
    the operator's `moatctl mirror pull`, which sends it); waits for the
    end of that pull; returns the log text it wrote."""
    st = v.stack
    start = len(st.log("updated"))
    if how == "moatctl":
        r = subprocess.run([st.env["MOATCTL"], "-c", st.env["CONF"], "mirror", "pull"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert r.returncode == 0, r.stdout
    else:
        os.kill(st.pid("updated"), signal.SIGUSR1)
    st.wait_log("updated", r"vendor: pull done", timeout=timeout, start=start)
    return st.log("updated")[start:]


def events(st, kind):
    return [json.loads(r["detail_json"]) for r in
            st.sql("SELECT detail_json FROM events WHERE kind = ? ORDER BY id", (kind,))]


def mirror_file(v, name):
    with open(os.path.join(v.stack.env["UPDATED_MIRROR_DIR"], name), "rb") as f:
        return f.read()


def sigtool_ok(path):
    r = subprocess.run(["sigtool", "--info", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return r.returncode == 0 and b"Verification OK" in r.stdout, r.stdout.decode()


def test_pull_publishes_the_newer_cvd_with_its_patches(vu):
    st = vu.stack
    milter_start = len(st.log("milter"))
    log = pull(vu, how="moatctl")
    assert mirror_file(vu, "test.cvd") == fx("test-4.cvd"), log
    ok, out = sigtool_ok(os.path.join(st.env["UPDATED_MIRROR_DIR"], "test.cvd"))
    assert ok, out
    # The history a client at version 2 patches itself forward with.
    for n in (3, 4):
        assert mirror_file(vu, "test-%d.cdiff" % n) == fx("test-%d.cdiff" % n)
        assert mirror_file(vu, "test-%d.cdiff.sign" % n) == fx("test-%d.cdiff.sign" % n)
    assert mirror_file(vu, "test.cvd.sign") == fx("test-4.cvd.sign")
    assert not [f for f in os.listdir(st.env["UPDATED_MIRROR_DIR"]) if f.startswith(".vendor-")]
    # The gateway's own signature directory got it too.
    with open(os.path.join(st.env["SIGS_DIR"], "test.cvd"), "rb") as f:
        assert f.read() == fx("test-4.cvd")
    if st.milter_running:     # and moat-milter picks it up
        st.wait_log("milter", r"signatures reloaded \(signature directory changed",
                    timeout=60, start=milter_start)
    ev = wait_for(lambda: [e for e in events(st, "update.published") if e.get("db") == "test"],
                  timeout=10, what="update.published event")
    assert ev[-1] == {"db": "test", "old": 2, "new": 4, "cdiffs": 2}
    # What the operator sees.
    r = subprocess.run([st.env["MOATCTL"], "-c", st.env["CONF"], "mirror", "status"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, text=True)
    assert r.returncode == 0 and "update.published" in r.stdout, r.stdout


def test_stock_freshclam_patches_with_the_pulled_history(vu, tmp_path):
    """A stock freshclam holding test-2 updates from moat-updated's mirror as
    a DatabaseMirror: it patches itself to 4 with the cdiffs the puller kept
    (served by moat-updated), not by downloading the whole CVD."""
    st = vu.stack
    db = tmp_path / "db"
    db.mkdir()
    shutil.copy(os.path.join(FX, "test-2.cvd"), db / "test.cvd")
    conf = tmp_path / "freshclam.conf"
    conf.write_text("\n".join([
        "DatabaseDirectory %s" % db, "Foreground yes", "LogVerbose yes",
        "DatabaseOwner root", "MaxAttempts 1", "ConnectTimeout 10", "ReceiveTimeout 20",
        "DatabaseMirror %s" % st.env["UPDATED_URL"], "ScriptedUpdates yes"]) + "\n")
    start = len(st.log("updated"))
    r = subprocess.run(["freshclam", "--config-file=%s" % conf, "--no-dns", "--update-db=test"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    with open(db / "test.cld", "rb") as f:
        assert int(f.read(512).split(b":")[2]) == 4, r.stdout
    log = st.log("updated")[start:]
    for k in (3, 4):
        assert "GET /test-%d.cdiff 200" % k in log, log
    assert "GET /test.cvd 200" not in log, "the whole CVD was fetched"


def test_pull_publishes_the_package(vu):
    st = vu.stack
    rows = st.sql("SELECT * FROM av_packages WHERE name = ?", (PKG_NAME,))
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["platform"], r["version"], r["path"], r["sha256"], r["size"]) == \
        ("debian", "2.0.0", "%s_2.0.0_all.deb" % PKG_NAME, vu.pkg_sha, 200000)
    with open(os.path.join(st.dir, "updated", "packages", r["path"]), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == vu.pkg_sha
    ev = [e for e in events(st, "update.published") if e.get("package") == PKG_NAME]
    assert ev and ev[-1]["sha256"] == vu.pkg_sha


def test_second_pull_is_conditional_and_changes_nothing(vu):
    st = vu.stack
    published = len(events(st, "update.published"))
    vu.clear()
    pull(vu)
    man = vu.seen("/manifest.json")
    assert len(man) == 1 and man[0][3] == 304, man
    assert "If-None-Match" in man[0][2] or "If-Modified-Since" in man[0][2]
    # libfreshclam asks for the CVD header with the local copy's build time.
    cvd = vu.seen("/test.cvd")
    assert cvd and all(r[3] == 304 for r in cvd), cvd
    assert "If-Modified-Since" in cvd[0][2]
    assert not vu.seen("/%s_2.0.0_all.deb" % PKG_NAME)
    time.sleep(1.5)          # events are written in batches
    assert len(events(st, "update.published")) == published
    assert len(st.sql("SELECT id FROM av_packages WHERE name = ?", (PKG_NAME,))) == 1
    assert mirror_file(vu, "test.cvd") == fx("test-4.cvd")


def test_corrupt_cvd_is_never_published(vu):
    st = vu.stack
    bad = bytearray(fx("test-5.cvd"))
    bad[len(bad) // 2] ^= 0x55            # inside the signed archive
    vu.put("test.cvd", bytes(bad), cvd_stime(bad))
    failed = len(events(st, "update.vendor_failed"))
    log = pull(vu)
    assert "with failures" in log, log
    ev = wait_for(lambda: events(st, "update.vendor_failed")[failed:], timeout=10,
                  what="update.vendor_failed event")
    assert any(e.get("what") == "signatures" and e.get("about") == "test" for e in ev), ev
    assert mirror_file(vu, "test.cvd") == fx("test-4.cvd")
    with open(os.path.join(st.env["SIGS_DIR"], "test.cvd"), "rb") as f:
        assert f.read() == fx("test-4.cvd")
    staged = os.path.join(st.dir, "updated", "staging", "test.cvd")
    with open(staged, "rb") as f:
        assert f.read() == fx("test-4.cvd")
    assert not [e for e in events(st, "update.published") if e.get("new") == 5]


def test_429_is_retried_after_retry_after(vu):
    st = vu.stack
    # The vendor is repaired, and has a new package version; its manifest
    # is busy once.
    cvd5 = fx("test-5.cvd")
    vu.put("test.cvd", cvd5, cvd_stime(cvd5))
    vu.put("test.cvd.sign", fx("test-5.cvd.sign"))
    pkg = os.urandom(50000)
    sha = hashlib.sha256(pkg).hexdigest()
    vu.put("%s_2.0.1_all.deb" % PKG_NAME, pkg)
    vu.put("manifest.json", json.dumps([{
        "platform": "debian", "name": PKG_NAME, "version": "2.0.1",
        "url": vu.url + "/%s_2.0.1_all.deb" % PKG_NAME, "sha256": sha}]).encode())
    vu.queue("/manifest.json", 429, {"Retry-After": "2"})
    vu.clear()
    pull(vu)
    man = vu.seen("/manifest.json")
    assert [r[3] for r in man] == [429, 200], man
    assert man[1][0] - man[0][0] >= 1.9, "retried after %.2f s" % (man[1][0] - man[0][0])
    rows = st.sql("SELECT sha256, size FROM av_packages WHERE name = ? AND version = '2.0.1'",
                  (PKG_NAME,))
    assert rows == [{"sha256": sha, "size": 50000}]
    # The repaired CVD went through, with the one patch since 4.
    assert mirror_file(vu, "test.cvd") == cvd5
    assert mirror_file(vu, "test-5.cdiff") == fx("test-5.cdiff")
    ev = wait_for(lambda: [e for e in events(st, "update.published") if e.get("new") == 5],
                  timeout=10, what="update.published for 5")
    assert ev[-1] == {"db": "test", "old": 4, "new": 5, "cdiffs": 1}


def test_package_with_a_wrong_sha256_is_refused(vu):
    st = vu.stack
    vu.put("%s_2.0.2_all.deb" % PKG_NAME, b"not what the manifest promised")
    vu.put("manifest.json", json.dumps([{
        "platform": "debian", "name": PKG_NAME, "version": "2.0.2",
        "url": "%s_2.0.2_all.deb" % PKG_NAME, "sha256": "ab" * 32}]).encode())
    failed = len(events(st, "update.vendor_failed"))
    log = pull(vu)
    assert "SHA-256" in log, log
    ev = wait_for(lambda: events(st, "update.vendor_failed")[failed:], timeout=10,
                  what="update.vendor_failed event")
    assert any(e.get("what") == "package" and "SHA-256" in e.get("why", "") for e in ev), ev
    assert not st.sql("SELECT id FROM av_packages WHERE version = '2.0.2'")
    pkgdir = os.path.join(st.dir, "updated", "packages")
    assert not [f for f in os.listdir(pkgdir) if "2.0.2" in f], os.listdir(pkgdir)


def test_signature_cool_down_is_honoured(vu):
    """A 429 on the signatures puts libfreshclam on cool-down (freshclam.dat)
    for Retry-After: the next pull does not ask the vendor, one after it does."""
    st = vu.stack
    cvd6 = fx("test-6.cvd")
    vu.put("test.cvd", cvd6, cvd_stime(cvd6))
    vu.queue("/test.cvd", 429, {"Retry-After": "4"})
    vu.clear()
    t0 = time.time()
    pull(vu)
    assert [r[3] for r in vu.seen("/test.cvd")] == [429]
    vu.clear()
    pull(vu)
    assert not vu.seen("/test.cvd"), "asked the vendor during its cool-down"
    time.sleep(max(0, t0 + 5 - time.time()))
    pull(vu)
    assert vu.seen("/test.cvd")
    assert mirror_file(vu, "test.cvd") == cvd6


def test_interval_from_a_reload(vu):
    """vendor_interval set by HUP re-plans the waiting thread: pulls come by
    themselves every 2 s; set back to 0 they stop."""
    st = vu.stack
    start = len(st.log("updated"))
    st.reconfigure("updated", "vendor_jitter", "=0", how=None)
    st.reconfigure("updated", "vendor_interval", "=2", how="hup")
    st.wait_log("updated", r"configuration reloaded", timeout=15, start=start)
    t = time.time()
    wait_for(lambda: st.log("updated")[start:].count("vendor: pull done") >= 2, timeout=15,
             what="two pulls on the interval")
    assert time.time() - t >= 1.9, "two pulls 2 s apart came in %.1f s" % (time.time() - t)
    mark = len(st.log("updated"))
    st.reconfigure("updated", "vendor_interval", "=0", how="hup")
    st.wait_log("updated", r"configuration reloaded", timeout=15, start=mark)
    time.sleep(1)                       # a pull already under way may end
    mark = len(st.log("updated"))
    time.sleep(4)
    assert "vendor: pulling" not in st.log("updated")[mark:]


def test_stop_during_a_pull_is_prompt(vu):
    """TERM while a pull waits out a long Retry-After: the wait ends at once,
    the thread is joined, the daemon exits cleanly."""
    st = vu.stack
    vu.queue("/manifest.json", 503, {"Retry-After": "9"})
    vu.clear()
    pid = st.pid("updated")
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: [r for r in vu.seen("/manifest.json") if r[3] == 503], timeout=30,
             what="the 503")
    t = time.time()
    os.kill(pid, signal.SIGTERM)

    def gone():
        try:
            os.kill(pid, 0)
            return False
        except OSError:
            return True
    wait_for(gone, timeout=20, what="moat-updated to exit")
    assert time.time() - t < 5, "stopping took %.1f s" % (time.time() - t)
    assert len(vu.seen("/manifest.json")) == 1      # no retry after the stop
    # A pull cut short by the stop is not the vendor's failure.
    assert not [e for e in events(st, "update.vendor_failed") if "stopping" in e.get("why", "")]
    st.restart("updated")
    assert st.running("updated")
