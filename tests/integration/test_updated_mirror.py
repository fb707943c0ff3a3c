# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-updated's private signature mirror (issue 10, item 5 and "Bad
input"), through a real stack and real clients.

The stack publishes test.cvd (the newest signed test database, version
UPDATED_TEST_VERSION), its .sign and the test-N.cdiff chain.  Debian's stock
freshclam updates from it through PrivateMirror and through DatabaseMirror
(--no-dns: the .cdiff chain patches an older test-N.cvd to the newest), over
HTTP and HTTPS (freshclam trusts the stack's self-signed certificate through
CURL_CA_BUNDLE, which libfreshclam reads; SSL_CERT_FILE it does not), with a
Basic login and without (from a subscriber's network); each run starts in an
empty DatabaseDirectory so no freshclam.dat cool-down carries over.  curl
(-r, -z, -I) and wget (-N) are the other clients.  Bad input: absent files,
traversal (../, %2e%2e, %2f), %00, absolute paths, upper case, dot files and
symlinks planted in the mirror directory all answer 404 (never 403, which
stops freshclam for 24 hours) and never serve a byte from outside; above
mirror_max_inflight downloads the answer is 429 with Retry-After.

Demo addresses: 127.0.0.1 is Alpha's network, 127.0.0.2 nobody's.
freshclam cannot take a source address here (Debian's libcurl has no c-ares
for LocalIPAddress), so its login runs come from 127.0.0.1 too: a Basic
login is decided before the network (updated_access.c), and the downloads
row says whose the download was.
"""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from moatstack import SRC, http_request, wait_for

LOGIN, PASSWORD = "mirror-beta", "mirror-pw-1"
FIXTURES = os.path.join(SRC, "tests", "fixtures", "clamav-test-cvd")


def header(head, name):
    m = re.search(r"(?mi)^%s:\s*(.*?)\r?$" % re.escape(name), head)
    return m.group(1) if m else None


def cvd_version(path):
    """The Version sigtool --info reads from a CVD/CLD (verified), or None."""
    r = subprocess.run(["sigtool", "--info", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    m = re.search(r"(?m)^Version: (\d+)$", r.stdout)
    if r.returncode != 0 or "Verification OK" not in r.stdout or not m:
        return None
    return int(m.group(1))


class Mirror:
    def __init__(self, stack):
        self.st = stack
        self.url = stack.env["UPDATED_URL"]
        self.https = stack.env["UPDATED_HTTPS_URL"]
        self.ca = stack.env["UPDATED_CA"]
        self.dir = stack.env["UPDATED_MIRROR_DIR"]
        self.newest = int(stack.env["UPDATED_TEST_VERSION"])
        with open(os.path.join(self.dir, "test.cvd"), "rb") as f:
            self.cvd = f.read()
        # The header's build time (field 9) is what Last-Modified says.
        self.stime = int(self.cvd[:512].decode("ascii").rstrip(" \0").split(":")[8])
        self.runs = 0

    def with_login(self, base, password=PASSWORD):
        scheme, rest = base.split("://", 1)
        return "%s://%s:%s@%s" % (scheme, LOGIN, password, rest)

    def freshclam(self, tmp_path, mirror, database_mirror=False, start_with=None, env=None,
                  dbdir=None):
        """One freshclam --update-db=test run in a new (or given) database
        directory: (returncode, output, dbdir)."""
        self.runs += 1
        run = tmp_path / ("fc%d" % self.runs)
        run.mkdir()
        if dbdir is None:
            dbdir = run / "db"
            dbdir.mkdir()
        if start_with is not None:
            shutil.copy(os.path.join(FIXTURES, "test-%d.cvd" % start_with), dbdir / "test.cvd")
        conf = run / "freshclam.conf"
        lines = ["DatabaseDirectory %s" % dbdir, "LogVerbose yes", "Foreground yes",
                 "DatabaseOwner %s" % os.environ.get("USER", "root"), "MaxAttempts 1",
                 "ConnectTimeout 10", "ReceiveTimeout 20"]
        if database_mirror:
            lines += ["DatabaseMirror %s" % mirror, "ScriptedUpdates yes"]
        else:
            lines += ["PrivateMirror %s" % mirror]
        conf.write_text("\n".join(lines) + "\n")
        e = dict(os.environ)
        e.pop("CURL_CA_BUNDLE", None)
        e.update(env or {})
        r = subprocess.run(["freshclam", "--config-file=%s" % conf, "--no-dns",
                            "--update-db=test"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120, env=e)
        return r.returncode, r.stdout, dbdir

    def downloads(self, since_id=0):
        return self.st.sql("SELECT d.id, d.what, d.status, d.bytes, s.name FROM downloads d"
                           " LEFT JOIN subscribers s ON s.id = d.subscriber_id"
                           " WHERE d.id > ? ORDER BY d.id", (since_id,))

    def last_download_id(self):
        rows = self.st.sql("SELECT max(id) AS m FROM downloads")
        return rows[0]["m"] or 0

    def log_mark(self):
        return len(self.st.log("moat-updated"))

    def log_since(self, mark):
        return self.st.log("moat-updated")[mark:]


@pytest.fixture(scope="module")
def mir(stack):
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    if not stack.env.get("UPDATED_TEST_VERSION"):
        pytest.skip("the stack published no test database")
    if shutil.which("freshclam") is None or shutil.which("sigtool") is None:
        pytest.skip("freshclam/sigtool not installed")
    stack.login_add(LOGIN, "Beta", PASSWORD)
    return Mirror(stack)


# ------------------------------------------------------------ freshclam

def test_freshclam_private_mirror_http_network(mir, tmp_path):
    """From Alpha's network, no login: the header probe, then the file;
    a second run in the same directory gets 304 and changes nothing."""
    mark = mir.log_mark()
    rc, out, db = mir.freshclam(tmp_path, mir.url)
    assert rc == 0, out
    assert cvd_version(db / "test.cvd") == mir.newest, out
    assert (db / "test.cvd").read_bytes() == mir.cvd
    log = mir.log_since(mark)
    assert re.search(r"GET /test\.cld 404 ", log), log         # .cld first, absent
    assert re.search(r"GET /test\.cvd 206 512 ", log), log     # bytes=0-511 probe
    assert re.search(r"GET /test\.cvd 200 %d " % len(mir.cvd), log), log
    mtime = os.stat(db / "test.cvd").st_mtime
    mark = mir.log_mark()
    rc, out, _ = mir.freshclam(tmp_path, mir.url, dbdir=db)
    assert rc == 0 and "up-to-date" in out, out
    assert re.search(r"GET /test\.cvd 304 0 ", mir.log_since(mark))
    assert os.stat(db / "test.cvd").st_mtime == mtime


def test_freshclam_private_mirror_http_login(mir, tmp_path):
    """With Basic credentials in the mirror URL: the download is Beta's
    (the login decided it, not Alpha's network it came from)."""
    before = mir.last_download_id()
    rc, out, db = mir.freshclam(tmp_path, mir.with_login(mir.url))
    assert rc == 0, out
    assert cvd_version(db / "test.cvd") == mir.newest
    # Rows are written in batches: earlier tests' (Alpha's) may land now too.
    rows = wait_for(lambda: [d for d in mir.downloads(before)
                             if d["what"] == "test.cvd" and d["status"] == 200 and
                             d["name"] == "Beta"] or None,
                    timeout=15, what="a download row of Beta's")
    assert rows[-1]["bytes"] == len(mir.cvd), rows


def test_freshclam_wrong_password_gets_nothing(mir, tmp_path):
    mark = mir.log_mark()
    rc, out, db = mir.freshclam(tmp_path, mir.with_login(mir.url, "not-the-password"))
    assert rc != 0, out
    assert not (db / "test.cvd").exists() and not (db / "test.cld").exists()
    log = mir.log_since(mark)
    assert re.search(r"GET /test\.c[lv]d 401 ", log), log
    assert " 403 " not in log


@pytest.mark.parametrize("login", [False, True], ids=["network", "login"])
def test_freshclam_private_mirror_https(mir, tmp_path, login):
    base = mir.with_login(mir.https) if login else mir.https
    rc, out, db = mir.freshclam(tmp_path, base, env={"CURL_CA_BUNDLE": mir.ca})
    assert rc == 0, out
    assert cvd_version(db / "test.cvd") == mir.newest


def test_freshclam_https_needs_the_certificate_trusted(mir, tmp_path):
    """Without the stack's CA freshclam refuses the self-signed certificate:
    the HTTPS runs above did verify it."""
    rc, out, db = mir.freshclam(tmp_path, mir.https)
    assert rc != 0 and not (db / "test.cvd").exists()
    assert re.search(r"(?i)certificate|SSL", out), out


@pytest.mark.parametrize("scheme,login", [("http", False), ("http", True), ("https", True)],
                         ids=["http-network", "http-login", "https-login"])
def test_freshclam_database_mirror_cdiff_chain(mir, tmp_path, scheme, login):
    """DatabaseMirror: an old test-N.cvd in the client's directory is patched
    with /test-K.cdiff up to the newest (a .cld), not downloaded whole."""
    old = max(1, mir.newest - 3)
    base = mir.url if scheme == "http" else mir.https
    if login:
        base = mir.with_login(base)
    mark = mir.log_mark()
    rc, out, db = mir.freshclam(tmp_path, base, database_mirror=True, start_with=old,
                                env={"CURL_CA_BUNDLE": mir.ca})
    assert rc == 0, out
    assert cvd_version(db / "test.cld") == mir.newest, out
    log = mir.log_since(mark)
    for k in range(old + 1, mir.newest + 1):
        assert re.search(r"GET /test-%d\.cdiff 200 " % k, log), (k, log)
    assert not re.search(r"GET /test\.cvd 200 ", log), "the whole CVD was fetched"


# ------------------------------------------------------------ curl, wget

def test_curl_range(mir):
    s, head, body = http_request(mir.url + "/test.cvd", "-r", "0-511")
    assert s == 206 and body == mir.cvd[:512]
    assert header(head, "Content-Range") == "bytes 0-511/%d" % len(mir.cvd)
    s, head, body = http_request(mir.url + "/test.cvd", "-r", "100-")
    assert s == 206 and body == mir.cvd[100:]
    s, head, body = http_request(mir.url + "/test.cvd", "-r", "-10")
    assert s == 206 and body == mir.cvd[-10:]
    s, head, body = http_request(mir.url + "/test.cvd", "-r", "%d-" % len(mir.cvd))
    assert s == 416 and header(head, "Content-Range") == "bytes */%d" % len(mir.cvd)
    # Several ranges: answered with the whole file (RFC 9110 14.2 MAY).
    s, head, body = http_request(mir.url + "/test.cvd", "-r", "0-1,5-6")
    assert s == 200 and body == mir.cvd
    # A malformed range set: 416 (14.2 SHOULD); another unit: ignored.
    s, _, _ = http_request(mir.url + "/test.cvd", "-H", "Range: bytes=5-2")
    assert s == 416
    s, _, body = http_request(mir.url + "/test.cvd", "-H", "Range: bytes=x-")
    assert s == 416
    s, _, body = http_request(mir.url + "/test.cvd", "-H", "Range: pages=1-2")
    assert s == 200 and body == mir.cvd
    # Over HTTPS (no sendfile) the same bytes.
    s, _, body = http_request(mir.https + "/test.cvd", "--cacert", mir.ca, "-r", "512-1023")
    assert s == 206 and body == mir.cvd[512:1024]


def test_curl_if_modified_since(mir, tmp_path):
    """-z: the CVD header's build time is the Last-Modified that counts."""
    lm = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mir.stime))
    s, head, _ = http_request(mir.url + "/test.cvd")
    assert s == 200 and header(head, "Last-Modified") == lm
    s, head, body = http_request(mir.url + "/test.cvd", "-z", lm)
    assert s == 304 and body == b"" and header(head, "Last-Modified") == lm
    older = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mir.stime - 1))
    s, _, body = http_request(mir.url + "/test.cvd", "-z", older)
    assert s == 200 and body == mir.cvd
    # A local file as the reference (curl sends its mtime).
    ref = tmp_path / "ref"
    ref.write_bytes(b"x")
    os.utime(ref, (mir.stime, mir.stime))
    s, _, _ = http_request(mir.url + "/test.cvd", "-z", str(ref))
    assert s == 304
    # .cdiff: the file's mtime.
    cd = os.path.join(mir.dir, "test-%d.cdiff" % mir.newest)
    mt = int(os.stat(cd).st_mtime)
    s, head, _ = http_request(mir.url + "/test-%d.cdiff" % mir.newest, "-z",
                              time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mt)))
    assert s == 304, head
    # The obsolete forms, and garbage (ignored: the whole file).
    for ims, want in [(time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(mir.stime)), 304),
                      (time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(mir.stime)), 304),
                      ("yesterday", 200), (lm + " x", 200)]:
        s, _, _ = http_request(mir.url + "/test.cvd", "-H", "If-Modified-Since: " + ims)
        assert s == want, ims


def test_wget_timestamping(mir, tmp_path):
    """wget -N: the first run keeps the server's Last-Modified (the build
    time) as the file's mtime, the second gets 304 and downloads nothing."""
    mark = mir.log_mark()
    r = subprocess.run(["wget", "-q", "-N", mir.url + "/test.cvd"], cwd=tmp_path, timeout=60)
    assert r.returncode == 0
    f = tmp_path / "test.cvd"
    assert f.read_bytes() == mir.cvd and int(os.stat(f).st_mtime) == mir.stime
    r = subprocess.run(["wget", "-N", mir.url + "/test.cvd"], cwd=tmp_path, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0 and "304" in r.stdout, r.stdout
    log = mir.log_since(mark)
    assert len(re.findall(r"GET /test\.cvd 200 ", log)) == 1, log


def test_head(mir):
    s, head, body = http_request(mir.url + "/test.cvd", "-I")
    assert s == 200 and b"ClamAV-VDB" not in body
    assert header(head, "Content-Length") == str(len(mir.cvd))
    assert header(head, "Content-Type") == "application/octet-stream"
    assert header(head, "Accept-Ranges") == "bytes"
    assert header(head, "Last-Modified") is not None
    s, _, _ = http_request(mir.url + "/test.cld", "-I")
    assert s == 404


def test_sign_and_cdiff_files(mir):
    for name in ["test.cvd.sign", "test-%d.cdiff" % mir.newest,
                 "test-%d.cdiff.sign" % mir.newest]:
        with open(os.path.join(mir.dir, name), "rb") as f:
            want = f.read()
        s, _, body = http_request(mir.url + "/" + name)
        assert s == 200 and body == want, name


# ------------------------------------------------------------ bad input

@pytest.fixture
def planted(mir):
    """A secret next to the mirror directory, and traps planted inside it:
    symlinks pointing out (and in), an upper-case name, a dot file."""
    d = mir.dir
    outside = os.path.join(os.path.dirname(d), "secret.cvd")
    made = [outside]
    with open(outside, "wb") as f:
        f.write(b"SECRET-OUTSIDE-THE-MIRROR")
    links = {"evil.cvd": outside, "passwd.cvd": "/etc/passwd", "up.cvd": "../secret.cvd",
             "alias.cvd": "test.cvd"}
    for name, target in links.items():
        os.symlink(target, os.path.join(d, name))
        made.append(os.path.join(d, name))
    for name in ["TEST.cvd", ".hidden.cvd"]:
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"SECRET-NOT-A-MIRROR-NAME")
        made.append(os.path.join(d, name))
    yield outside
    for p in made:
        os.unlink(p)


# Sent with --path-as-is: curl would otherwise resolve the dot segments itself.
BAD_PATHS = [
    "/absent.cvd", "/test.cld", "/test-999.cdiff", "/nothing",
    "/../secret.cvd", "/..%2fsecret.cvd", "/%2e%2e%2fsecret.cvd", "/%2e%2e/secret.cvd",
    "/%2E%2E%2Fsecret.cvd", "/..", "/%2e%2e", "/.%2e/updated/secret.cvd",
    "/test.cvd%00", "/test.cvd%00.sign", "/%00", "/test%00.cvd",
    "//etc/passwd", "/%2fetc%2fpasswd", "/%2Fetc%2Fpasswd.cvd",
    "/evil.cvd", "/passwd.cvd", "/up.cvd", "/alias.cvd",
    "/TEST.cvd", "/Test.cvd", "/test.CVD", "/TEST.CVD", "/.hidden.cvd",
    "/test.cvd.", "/test..cvd", "/test-04.cdiff", "/test-0.cdiff",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_names_are_404(mir, planted, path):
    for base, extra in [(mir.url, []), (mir.https, ["--cacert", mir.ca])]:
        s, _, body = http_request(base + path, "--path-as-is", *extra)
        assert s == 404, (base, path, s)
        assert b"SECRET" not in body and b"root:" not in body


def test_bad_names_with_head_and_range(mir, planted):
    for path in ["/evil.cvd", "/..%2fsecret.cvd", "/TEST.cvd"]:
        s, _, _ = http_request(mir.url + path, "--path-as-is", "-I")
        assert s == 404, path
        s, _, body = http_request(mir.url + path, "--path-as-is", "-r", "0-5")
        assert s == 404 and b"SECRET" not in body, path


def test_outsider_gets_404_never_403(mir):
    """127.0.0.2 is nobody's: the mirror's files answer as absent ones do
    (403 would stop freshclam for a day), with an update.denied event."""
    rows = mir.st.sql("SELECT max(id) AS m FROM events")
    before = rows[0]["m"] or 0
    s, _, body = http_request(mir.url + "/test.cvd", source="127.0.0.2")
    assert s == 404 and body[:10] != mir.cvd[:10]
    s2, _, _ = http_request(mir.url + "/absent.cvd", source="127.0.0.2")
    assert s2 == 404
    s, _, _ = http_request(mir.url + "/test.cvd", "-u", "%s:%s" % (LOGIN, PASSWORD),
                           source="127.0.0.2")
    assert s == 200
    ev = wait_for(lambda: mir.st.sql("SELECT detail_json FROM events WHERE id > ? AND"
                                     " kind = 'update.denied' AND src_ip = '127.0.0.2'",
                                     (before,)) or None, timeout=10, what="update.denied")
    assert "test.cvd" in ev[0]["detail_json"]


# ------------------------------------------------------------ load limit

def slow_get(port, path):
    """A GET that reads nothing, so its reply stays in flight."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    return s


def test_too_many_downloads_get_429_with_retry_after(mir, tmp_path):
    big = os.path.join(mir.dir, "big-1.cdiff")
    with open(big, "wb") as f:
        f.truncate(512 << 20)               # sparse: costs no disk
    mir.st.reconfigure("updated", "mirror_max_inflight", 1)
    mir.st.reconfigure("updated", "retry_after", "42s")
    holder = None
    try:
        holder = slow_get(int(mir.st.env["UPDATED_PORT"]), "/big-1.cdiff")
        s, head = wait_for(lambda: (lambda r: r[:2] if r[0] == 429 else None)(
            http_request(mir.url + "/test.cvd")), timeout=10, what="a 429")
        assert header(head, "Retry-After") == "42", head
        # What sends no file takes no slot: HEAD, 304, 404.
        assert http_request(mir.url + "/test.cvd", "-I")[0] == 200
        lm = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mir.stime))
        assert http_request(mir.url + "/test.cvd", "-z", lm)[0] == 304
        assert http_request(mir.url + "/absent.cvd")[0] == 404
        # freshclam is told to come back later, and stops without a file.
        mark = mir.log_mark()
        rc, out, db = mir.freshclam(tmp_path, mir.url)
        assert rc != 0 and not (db / "test.cvd").exists(), out
        assert re.search(r"GET /test\.cvd 429 ", mir.log_since(mark))
        # ... and keeps the Retry-After (42 s) in freshclam.dat: the next
        # run in that directory waits without asking.
        mark = mir.log_mark()
        rc, out, _ = mir.freshclam(tmp_path, mir.url, dbdir=db)
        assert "cool-down" in out, out
        assert " GET /test." not in mir.log_since(mark)
        # The slot comes back when the slow client goes.
        holder.close()
        holder = None
        s = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
            http_request(mir.url + "/test.cvd")), timeout=10, what="the slot back")
        assert s[2] == mir.cvd
        rc, out, db = mir.freshclam(tmp_path, mir.url)
        assert rc == 0 and cvd_version(db / "test.cvd") == mir.newest, out
    finally:
        if holder is not None:
            holder.close()
        os.unlink(big)
        mir.st.reconfigure("updated", "mirror_max_inflight", 256)
        mir.st.reconfigure("updated", "retry_after", "60s")
