# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of moat-updated's side of moatctl (issue 10 items 2, 4, 7):
packages, cert, mirror, installs, downloads, and schema 5 (migration 005).

The built moatctl runs against a temporary store and a temporary moat.conf
whose updated group points packages_dir and mirror_dir at temporary
directories.  Refused commands must exit 1 with one "moatctl: ..." line and
leave the store (`sqlite3 .dump`) and the directories as they were.
"""
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from test_moatctl import MOATCTL, SRC, dump, refused, rows  # noqa: F401

FIXTURES = os.path.join(SRC, "tests", "fixtures", "clamav-test-cvd")


class Env:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.db = str(tmp_path / "moat.db")
        self.pk = tmp_path / "packages"
        self.mirror = tmp_path / "mirror"
        self.run_dir = tmp_path / "run"
        for d in (self.pk, self.mirror, self.run_dir):
            d.mkdir()
        self.conf = str(tmp_path / "moat.conf")
        with open(self.conf, "w") as f:
            f.write('common = { store = "%s"; run_dir = "%s"; user = ""; };\n'
                    'updated = { packages_dir = "%s"; mirror_dir = "%s"; };\n'
                    % (self.db, self.run_dir, self.pk, self.mirror))

    def run(self, *args, stdin=None):
        return subprocess.run([MOATCTL, "-c", self.conf] + list(args), capture_output=True,
                              text=True, timeout=60, input=stdin)

    def ok(self, *args):
        r = self.run(*args)
        assert r.returncode == 0, "moatctl %s: rc %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
        return r.stdout

    def state(self):
        """What a refused command must not change: the store and both dirs."""
        return (dump(self.db), sorted(os.listdir(self.pk)), sorted(os.listdir(self.mirror)))


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    e.ok("db", "init", "--demo")
    return e


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def table(text):
    """An aligned moatctl table as a list of dicts (values without spaces)."""
    lines = text.splitlines()
    head = lines[0].split()
    return [dict(zip(head, line.split(None, len(head) - 1))) for line in lines[1:]]


# --- packages ----------------------------------------------------------------

def test_packages_add_list_remove(env, tmp_path):
    src = tmp_path / "moat-av.deb"
    src.write_bytes(os.urandom(300 * 1024 + 7))
    out = env.ok("packages", "add", "debian", "moat-av", "1.2.3~rc1", str(src))
    dest = env.pk / "moat-av_1.2.3~rc1_debian.deb"
    assert dest.read_bytes() == src.read_bytes()
    assert os.stat(dest).st_mode & 0o777 == 0o644
    assert os.listdir(env.pk) == [dest.name], "temporary file left behind"
    want = hashlib.sha256(src.read_bytes()).hexdigest()
    assert want in out

    win = tmp_path / "Setup.EXE"
    win.write_bytes(b"MZ" + os.urandom(1000))
    env.ok("packages", "add", "windows", "moat-av", "1.2.3", str(win))

    (row,) = [r for r in table(env.ok("packages", "list")) if r["platform"] == "debian"]
    assert (row["name"], row["version"], row["size"], row["sha256"]) == (
        "moat-av", "1.2.3~rc1", str(300 * 1024 + 7), want)
    listed = json.loads(env.ok("packages", "list", "--json"))
    assert [(p["platform"], p["file"], p["size"]) for p in listed] == [
        ("debian", dest.name, 300 * 1024 + 7), ("windows", "moat-av_1.2.3_windows.exe", 1002)]
    assert listed[1]["sha256"] == sha256_file(win)
    assert isinstance(listed[0]["id"], int) and abs(listed[0]["published"] - time.time()) < 60
    assert rows(env.db, "SELECT path, sha256 FROM av_packages WHERE platform = 'debian'") == [
        (dest.name, want)]

    env.ok("packages", "remove", str(row["id"]))
    assert not dest.exists(), "remove left the file"
    assert rows(env.db, "SELECT count(*) FROM av_packages WHERE platform = 'debian'") == [(0,)]
    refused(env.run("packages", "remove", str(row["id"])), "no package #")
    assert json.loads(env.ok("packages", "list", "--json"))[0]["platform"] == "windows"


BAD_PACKAGES = [
    # id, argv after "packages add", message
    ("platform", ["linux", "moat-av", "1.0", "{deb}"], "not a platform"),
    ("platform-case", ["Debian", "moat-av", "1.0", "{deb}"], "not a platform"),
    ("name-slash", ["debian", "a/b", "1.0", "{deb}"], "not a valid package name"),
    ("name-dotdot", ["debian", "..", "1.0", "{deb}"], "not a valid package name"),
    ("name-inner-dotdot", ["debian", "a..b", "1.0", "{deb}"], "not a valid package name"),
    ("name-traversal", ["debian", "../../etc/x", "1.0", "{deb}"], "not a valid package name"),
    ("name-leading-dot", ["debian", ".hidden", "1.0", "{deb}"], "not a valid package name"),
    ("name-underscore", ["debian", "a_b", "1.0", "{deb}"], "not a valid package name"),
    ("name-empty", ["debian", "", "1.0", "{deb}"], "not a valid package name"),
    ("name-long", ["debian", "a" * 129, "1.0", "{deb}"], "not a valid package name"),
    ("version-slash", ["debian", "moat-av", "1.0/../x", "{deb}"], "not a valid version"),
    ("version-nul-ish", ["debian", "moat-av", "1.0\n", "{deb}"], "not a valid version"),
    ("extension", ["rpm", "moat-av", "1.0", "{deb}"], "rpm packages are .rpm files"),
    ("no-file", ["debian", "moat-av", "1.0", "{dir}/missing.deb"], "No such file"),
    ("directory", ["debian", "moat-av", "1.0", "{dir}/d.deb"], "not a regular file"),
    ("fifo", ["debian", "moat-av", "1.0", "{dir}/f.deb"], "not a regular file"),
    ("duplicate", ["debian", "moat-av", "9.9", "{deb}"], "already published"),
]


@pytest.mark.parametrize("argv,message", [b[1:] for b in BAD_PACKAGES],
                         ids=[b[0] for b in BAD_PACKAGES])
def test_packages_add_refused(env, tmp_path, argv, message):
    deb = tmp_path / "p.deb"
    deb.write_bytes(b"!<arch>\n" + os.urandom(100))
    (tmp_path / "d.deb").mkdir()
    os.mkfifo(tmp_path / "f.deb")      # no writer: opening it must not hang
    env.ok("packages", "add", "debian", "moat-av", "9.9", str(deb))
    before = env.state()
    argv = [a.format(deb=deb, dir=tmp_path) for a in argv]
    refused(env.run("packages", "add", *argv), message)
    assert env.state() == before


def test_packages_add_never_replaces_a_file(env, tmp_path):
    # A file under the name add would use, not known to the store: refused,
    # the file kept as it was, no row, no temporary file left.
    deb = tmp_path / "p.deb"
    deb.write_bytes(os.urandom(100))
    squatter = env.pk / "moat-av_1.0_debian.deb"
    squatter.write_bytes(b"someone else's")
    before = env.state()
    refused(env.run("packages", "add", "debian", "moat-av", "1.0", str(deb)), "already exists")
    assert env.state() == before and squatter.read_bytes() == b"someone else's"


def test_packages_need_the_updated_group(env, tmp_path):
    deb = tmp_path / "p.deb"
    deb.write_bytes(os.urandom(10))
    shutil.rmtree(env.pk)
    refused(env.run("packages", "add", "debian", "moat-av", "1.0", str(deb)),
            "updated.packages_dir")
    r = subprocess.run([MOATCTL, "-c", str(tmp_path / "none.conf"), "packages", "list"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.startswith("moatctl: "), r.stderr


@pytest.mark.parametrize("column,value", [
    ("platform", "'linux'"), ("sha256", "upper('%s')" % ("ab" * 32)),
    ("sha256", "'%s'" % ("g" * 64)), ("sha256", "'%s'" % ("a" * 63)),
    ("size", "-1"), ("path", "'../x.deb'"), ("path", "'.x.deb'"), ("name", "''")])
def test_av_packages_checks(env, column, value):
    good = {"platform": "'debian'", "name": "'n'", "version": "'1'", "path": "'n_1_debian.deb'",
            "sha256": "'%s'" % ("ab" * 32), "size": "0", "published": "0"}
    con = sqlite3.connect(env.db)
    con.execute("INSERT INTO av_packages(%s) VALUES (%s)" % (
        ", ".join(good), ", ".join(good.values())))
    con.commit()
    good[column] = value
    good["version"] = "'2'"
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        con.execute("INSERT INTO av_packages(%s) VALUES (%s)" % (
            ", ".join(good), ", ".join(good.values())))
    con.close()


# --- cert --------------------------------------------------------------------

def make_cert(path, cn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(path) + ".key",
                    "-out", str(path), "-subj", "/CN=" + cn, "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    r = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(path)],
                       check=True, capture_output=True, text=True, timeout=60)
    return r.stdout.strip().split("=", 1)[1].replace(":", "").lower()


def generation(db):
    return int(rows(db, "SELECT value FROM meta WHERE key = 'policy_generation'")[0][0])


def test_cert_add_list_remove(env, tmp_path):
    pem = tmp_path / "client.pem"
    fp = make_cert(pem, "client.alpha.example")
    gen = generation(env.db)
    out = env.ok("cert", "add", "Alpha", str(pem))
    assert fp in out
    assert rows(env.db, "SELECT c.kind, c.secret_hash, s.name FROM subscriber_credentials c "
                "JOIN subscribers s ON s.id = c.subscriber_id WHERE c.kind = 'cert'") == [
        ("cert", fp, "Alpha")]
    assert generation(env.db) > gen
    (row,) = table(env.ok("cert", "list"))
    assert (row["subscriber"], row["sha256"]) == ("Alpha", fp)
    assert table(env.ok("cert", "list", "Beta")) == []

    # One certificate, one subscriber: neither Alpha again nor Beta.
    before = env.state()
    refused(env.run("cert", "add", "Beta", str(pem)), "already registered")
    assert env.state() == before

    env.ok("cert", "remove", row["id"])
    assert rows(env.db, "SELECT count(*) FROM subscriber_credentials WHERE kind = 'cert'") == [(0,)]
    refused(env.run("cert", "remove", row["id"]), "no certificate #")


def test_cert_add_refused(env, tmp_path):
    pem = tmp_path / "a.pem"
    make_cert(pem, "a")
    other = tmp_path / "b.pem"
    make_cert(other, "b")
    der = tmp_path / "a.der"
    subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "DER", "-out", str(der)],
                   check=True, timeout=60)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(os.urandom(2000))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem.read_bytes() + other.read_bytes())
    key_only = tmp_path / "key.pem"
    shutil.copy(str(pem) + ".key", key_only)
    before = env.state()
    refused(env.run("cert", "add", "Alpha", str(junk)), "not a PEM certificate")
    refused(env.run("cert", "add", "Alpha", str(der)), "not a PEM certificate")
    refused(env.run("cert", "add", "Alpha", str(key_only)), "not a PEM certificate")
    refused(env.run("cert", "add", "Alpha", str(chain)), "holds 2 certificates")
    refused(env.run("cert", "add", "Alpha", str(tmp_path / "none.pem")), "No such file")
    os.mkfifo(tmp_path / "fifo.pem")
    refused(env.run("cert", "add", "Alpha", str(tmp_path / "fifo.pem")), "not a certificate file")
    refused(env.run("cert", "add", "Nobody", str(pem)), "no subscriber named 'Nobody'")
    refused(env.run("cert", "remove", "0"), "not a certificate id")
    assert env.state() == before


# --- mirror ------------------------------------------------------------------

def sigtool_info(path):
    r = subprocess.run(["sigtool", "--info", str(path)], check=True, capture_output=True,
                       text=True, timeout=60)
    return dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)


def test_mirror_status(env):
    for src, dst in (("test-3.cvd", "test.cvd"), ("test-3.cvd.sign", "test.cvd.sign"),
                     ("test-4.cdiff", "test-4.cdiff")):
        shutil.copy(os.path.join(FIXTURES, src), env.mirror / dst)
    os.symlink("/etc/passwd", env.mirror / "daily.cvd")
    (env.mirror / "evil\x1b[2J.cvd").write_bytes(b"ClamAV-VDB:\x1b]0;owned\x07" + b" " * 600)
    info = sigtool_info(env.mirror / "test.cvd")

    out = env.ok("mirror", "status")
    assert "\x1b" not in out and "\x07" not in out and "evil?[2J.cvd" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    cvd = lines["test.cvd"]
    # file size version signatures built-date built-time sign
    assert cvd[1] == str(os.path.getsize(env.mirror / "test.cvd"))
    assert cvd[2] == info["Version"] == "3"
    assert cvd[3] == info["Signatures"]
    assert cvd[4] == "2021-06-23" and cvd[-1] == "yes"   # 20:40 -0400 is 00:40 UTC
    cdiff = lines["test-4.cdiff"]
    assert cdiff[2] == "4" and cdiff[-1] == "no"
    assert "test: 4-4 (1 file)" in out
    assert "not a regular file" in " ".join(lines["daily.cvd"])
    assert "last update.published: none" in out

    con = sqlite3.connect(env.db)
    con.execute("INSERT INTO events(ts, daemon, kind, detail_json) VALUES "
                "(1700000000, 'moat-updated', 'update.published', '{\"db\":\"test\",\"version\":4}')")
    con.commit()
    con.close()
    shutil.copy(os.path.join(FIXTURES, "test-6.cdiff"), env.mirror / "test-6.cdiff")
    out = env.ok("mirror", "status")
    assert 'last update.published: 2023-11-14 22:13:20 {"db":"test","version":4}' in out
    assert "test: 4-6 (2 files; 1 missing: 5)" in out


def test_mirror_pull(env, tmp_path):
    pidfile = env.run_dir / "moat-updated.pid"
    refused(env.run("mirror", "pull"), "is moat-updated running?")

    # A stale pidfile naming some other process: refused, nothing signalled.
    other = subprocess.Popen(["sleep", "60"])
    try:
        pidfile.write_text("%d\n" % other.pid)
        refused(env.run("mirror", "pull"), "is not moat-updated")
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()

    # A process named moat-updated that does not handle SIGUSR1 dies of it:
    # proof that the signal was sent, and to that pid.
    fake = tmp_path / "moat-updated"
    shutil.copy(shutil.which("sleep"), fake)
    proc = subprocess.Popen([str(fake), "60"])
    try:
        pidfile.write_text("%d\n" % proc.pid)
        out = env.ok("mirror", "pull")
        assert "pid %d" % proc.pid in out
        assert proc.wait(timeout=10) == -signal.SIGUSR1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_mirror_pull_to_the_pidfile_lock_holder(env):
    # daemon_pidfile keeps a write lock on the pidfile: the process holding
    # it is the daemon whatever its name (here python3).  One that merely
    # names another pid is not believed.
    pidfile = env.run_dir / "moat-updated.pid"
    holder = subprocess.Popen(
        ["/usr/bin/python3", "-c", "import fcntl, os, sys, time\n"
         "f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX)\n"
         "f.write(sys.argv[2] or '%d\\n' % os.getpid()); f.flush()\n"
         "print('locked', flush=True); time.sleep(60)", str(pidfile), ""],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        env.ok("mirror", "pull")
        assert holder.wait(timeout=10) == -signal.SIGUSR1
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()

    bystander = subprocess.Popen(["sleep", "60"])
    holder = subprocess.Popen(
        ["/usr/bin/python3", "-c", "import fcntl, os, sys, time\n"
         "f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX)\n"
         "f.write(sys.argv[2]); f.flush()\n"
         "print('locked', flush=True); time.sleep(60)", str(pidfile), "%d\n" % bystander.pid],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused(env.run("mirror", "pull"), "is not moat-updated")
        time.sleep(0.2)
        assert holder.poll() is None and bystander.poll() is None
    finally:
        for p in (holder, bystander):
            p.kill()
            p.wait()


# --- installs, downloads -----------------------------------------------------

def test_installs_and_downloads(env):
    con = sqlite3.connect(env.db)
    alpha, beta = (rows(env.db, "SELECT id FROM subscribers WHERE name = ?", n)[0][0]
                   for n in ("Alpha", "Beta"))
    day = 1796169600  # 2026-12-02 00:00 UTC
    con.executemany("INSERT INTO client_installs(subscriber_id, client, platform, update_time, "
                    "created) VALUES (?, ?, ?, ?, ?)",
                    [(alpha, "ip:192.0.2.10", "debian", "23:17", day),
                     (beta, "login:bob", "windows", "02:05", day)])
    con.executemany("INSERT INTO downloads(ts, subscriber_id, client, what, bytes, status) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(day - 86400, alpha, "ip:192.0.2.10", "test.cvd", 1000, 200),
                     (day + 10, alpha, "ip:192.0.2.10", "bundle:debian", 5000, 200),
                     (day + 20, alpha, "ip:192.0.2.10", "test.cvd", 0, 304),
                     (day + 30, beta, "login:bob", "test.cvd", 512, 206),
                     (day + 40, None, "ip:203.0.113.9", "bundle:debian", 0, 403)])
    con.commit()
    con.close()
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        c = sqlite3.connect(env.db)
        c.execute("INSERT INTO client_installs(subscriber_id, client, platform, update_time, "
                  "created) VALUES (?, 'ip:192.0.2.10', 'debian', '01:00', 0)", (alpha,))

    inst = table(env.ok("installs"))
    assert [(r["subscriber"], r["client"], r["update_time"]) for r in inst] == [
        ("Alpha", "ip:192.0.2.10", "23:17"), ("Beta", "login:bob", "02:05")]
    assert [r["client"] for r in table(env.ok("installs", "Beta"))] == ["login:bob"]

    every = {r["subscriber"]: r for r in table(env.ok("downloads"))}
    assert set(every) == {"Alpha", "Beta"}       # the refused nobody is not billed
    assert (every["Alpha"]["requests"], every["Alpha"]["served"],
            every["Alpha"]["bytes"]) == ("3", "2", "6000")
    today = table(env.ok("downloads", "Alpha", "--since", "2026-12-02"))
    assert [(r["requests"], r["bytes"]) for r in today] == [("2", "5000")]
    before = table(env.ok("downloads", "--until", "2026-12-01"))
    assert [(r["subscriber"], r["bytes"]) for r in before] == [("Alpha", "1000")]
    csv_out = env.ok("downloads", "--csv", "--since", "2026-12-02", "--until", "2026-12-02")
    assert csv_out.splitlines()[0] == "subscriber,requests,served,bytes,first,last"
    refused(env.run("downloads", "--since", "2026-02-30"), "bad --since date")
    refused(env.run("installs", "Nobody"), "no subscriber named 'Nobody'")


# --- schema 4 -> 5 -----------------------------------------------------------

# av_packages exactly as schema 4 had it (no CHECKs), and what 005 adds.
V4_AV_PACKAGES = """
    CREATE TABLE av_packages (
      id        INTEGER PRIMARY KEY,
      platform  TEXT NOT NULL,
      name      TEXT NOT NULL,
      version   TEXT NOT NULL,
      path      TEXT NOT NULL,
      sha256    TEXT NOT NULL,
      size      INTEGER NOT NULL,
      published INTEGER NOT NULL
    );"""


def downgrade_to_4(db):
    con = sqlite3.connect(db)
    con.executescript("""
        DROP TRIGGER rules_gen_i; DROP TRIGGER rules_gen_u; DROP TRIGGER rules_gen_d;
        DELETE FROM meta WHERE key = 'rule_generation'; DROP TABLE secmgr_state;
        DROP INDEX incidents_by_rule_key; DROP INDEX events_by_ts;
        ALTER TABLE incidents DROP COLUMN acked; ALTER TABLE incidents DROP COLUMN acked_by;
        ALTER TABLE incidents DROP COLUMN acked_at; ALTER TABLE incidents DROP COLUMN event_ids;
        ALTER TABLE incidents DROP COLUMN expires; ALTER TABLE incidents DROP COLUMN responses;
        DROP TABLE switch_counters; ALTER TABLE usage DROP COLUMN net_bytes;
        DROP INDEX client_installs_client; DROP INDEX subscriber_credentials_cert;
        DROP INDEX downloads_by_subscriber; ALTER TABLE downloads DROP COLUMN requests;
        DROP TABLE av_packages;""" + V4_AV_PACKAGES + """
        UPDATE meta SET value = '4' WHERE key = 'schema_version';""")
    con.close()


def schema_shape(db):
    """Columns of every table and the text of every index: what a migrated
    store must share with a fresh one (CREATE TABLE text differs: a rebuilt
    table's name is quoted)."""
    con = sqlite3.connect(db)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        cols = {t: con.execute("SELECT * FROM pragma_table_info(?)", (t,)).fetchall()
                for t in tables}
        idx = con.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type IN "
                          "('index', 'trigger') ORDER BY name").fetchall()
        return cols, idx
    finally:
        con.close()


def test_migrate_4_to_5_keeps_data(env, tmp_path):
    downgrade_to_4(env.db)
    alpha = rows(env.db, "SELECT id FROM subscribers WHERE name = 'Alpha'")[0][0]
    sha = "ab" * 32
    con = sqlite3.connect(env.db)
    con.executemany("INSERT INTO av_packages(id, platform, name, version, path, sha256, size, "
                    "published) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(1, "debian", "moat-av", "1.0", "moat-av_1.0_debian.deb", sha, 10, 100),
                     (2, "rpm", "moat-av", "1.0", "moat-av_1.0_rpm.rpm", sha, 11, 100),
                     (3, "debian", "moat-av", "1.0", "moat-av_1.0_debian.deb", sha, 12, 200)])
    con.executemany("INSERT INTO client_installs(id, subscriber_id, client, platform, "
                    "update_time, created) VALUES (?, ?, ?, ?, ?, ?)",
                    [(1, alpha, "ip:192.0.2.1", "debian", "23:00", 1),
                     (2, alpha, "ip:192.0.2.1", "debian", "01:00", 2),
                     (3, alpha, "ip:192.0.2.2", "debian", "03:00", 3)])
    con.execute("INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash) "
                "VALUES (?, 'cert', ?)", (alpha, sha))
    con.execute("INSERT INTO downloads(ts, subscriber_id, client, what, bytes, status) "
                "VALUES (5, ?, 'ip:192.0.2.1', 'test.cvd', 99, 200)", (alpha,))
    con.commit()
    con.close()

    r = env.run("subscriber", "list")
    assert r.returncode == 1 and "schema version 4" in r.stderr, r.stderr
    assert env.ok("db", "migrate").strip() == "migrated from 4 to 7"
    # A repeated (platform, name, version) keeps its newest row, a repeated
    # client its first draw; everything else is kept as it was.
    assert rows(env.db, "SELECT id, size, published FROM av_packages ORDER BY id") == [
        (2, 11, 100), (3, 12, 200)]
    assert rows(env.db, "SELECT id, update_time FROM client_installs ORDER BY id") == [
        (1, "23:00"), (3, "03:00")]
    assert rows(env.db, "SELECT secret_hash FROM subscriber_credentials WHERE kind = 'cert'") == [
        (sha,)]
    assert rows(env.db, "SELECT bytes FROM downloads") == [(99,)]
    assert "integrity ok, foreign keys ok" in env.ok("db", "check")

    fresh = str(tmp_path / "fresh.db")
    subprocess.run([MOATCTL, "-d", fresh, "db", "init"], check=True, capture_output=True,
                   timeout=30)
    assert schema_shape(env.db) == schema_shape(fresh)
    # The migrated av_packages enforces what a fresh one does.
    con = sqlite3.connect(env.db)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        con.execute("INSERT INTO av_packages(platform, name, version, path, sha256, size, "
                    "published) VALUES ('linux', 'x', '1', 'x', ?, 1, 1)", (sha,))
    con.close()


def test_migrate_4_to_5_refuses_a_certificate_of_two_subscribers(env):
    # Which subscriber a certificate identifies is not the migration's to
    # guess: it stops, the store stays at version 4 with its rows.
    downgrade_to_4(env.db)
    con = sqlite3.connect(env.db)
    con.execute("INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash) "
                "SELECT id, 'cert', ? FROM subscribers WHERE name IN ('Alpha', 'Beta')",
                ("cd" * 32,))
    con.commit()
    con.close()
    before = dump(env.db)
    r = env.run("db", "migrate")
    assert r.returncode == 1 and "005-updated" in r.stderr and "UNIQUE" in r.stderr, r.stderr
    assert dump(env.db) == before


@pytest.mark.parametrize("argv", [
    ["packages"], ["packages", "add", "debian", "x", "1"], ["packages", "list", "--xml"],
    ["mirror"], ["mirror", "push"], ["cert"], ["cert", "add", "Alpha"],
    ["installs", "--bogus"], ["downloads", "--since"], ["downloads", "A", "B"]])
def test_usage_errors_exit_2(env, argv):
    before = env.state()
    r = env.run(*argv)
    assert r.returncode == 2 and r.stderr.startswith("usage: moatctl "), (r.returncode, r.stderr)
    assert env.state() == before


def test_help_lists_the_commands(env):
    r = subprocess.run([MOATCTL], capture_output=True, text=True, timeout=30)
    for cmd in ("packages add", "mirror status | pull", "cert add", "installs", "downloads"):
        assert cmd in r.stderr, cmd
