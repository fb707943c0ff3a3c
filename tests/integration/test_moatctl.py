# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of moatctl: the built binary against temporary stores.

Every refused command must exit 1 with one "moatctl: ..." line on stderr and
leave the store's content exactly as it was (`sqlite3 DB .dump` before and
after).  The binary is $MOAT_BIN/ctl/moatctl, the source tree $MOAT_SRC.
"""
import csv
import io
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time

import pytest

SRC = os.environ.get("MOAT_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("MOAT_BIN", os.path.join(SRC, "build"))
MOATCTL = os.path.join(BIN, "ctl", "moatctl")


def run(*args, db=None, timeout=30, conf=None):
    argv = [MOATCTL]
    if conf is not None:
        argv += ["-c", conf]
    if db is not None:
        argv += ["-d", db]
    return subprocess.run(argv + list(args), capture_output=True, text=True,
                          timeout=timeout)


def ok(*args, db=None):
    r = run(*args, db=db)
    assert r.returncode == 0, "moatctl %s: rc %d\n%s%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r.stdout


def dump(db):
    r = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True,
                       timeout=30, check=True)
    return r.stdout


def refused(r, text):
    """rc 1 and exactly one moatctl line on stderr that mentions text."""
    assert r.returncode == 1, "want rc 1, got %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, "want one error line, got %r" % r.stderr
    assert lines[0].startswith("moatctl: "), lines[0]
    assert text in lines[0], "want %r in %r" % (text, lines[0])


@pytest.fixture(scope="session", autouse=True)
def binary():
    assert os.access(MOATCTL, os.X_OK), "moatctl not built at %s" % MOATCTL


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "moat.db")
    ok("db", "init", db=path)
    return path


@pytest.fixture
def demo(tmp_path):
    path = str(tmp_path / "demo.db")
    out = ok("db", "init", "--demo", db=path)
    assert "demo data loaded" in out
    return path


def rows(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# --- db ----------------------------------------------------------------------

def test_db_init_migrate_check(tmp_path):
    path = str(tmp_path / "m.db")
    assert "schema version 7" in ok("db", "init", db=path)
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("7",)]
    assert ok("db", "migrate", db=path).strip() == "already at version 7"
    assert "integrity ok, foreign keys ok" in ok("db", "check", db=path)
    # A second init must refuse, not wipe or duplicate.
    before = dump(path)
    r = run("db", "init", db=path)
    assert r.returncode == 1 and r.stderr.startswith("moatctl: "), r.stderr
    assert dump(path) == before


def test_db_migrate_from_version_1(db):
    # Version 1 is version 7 without the templates table (migration 002),
    # without policies.digest_to (migration 003), without the logins,
    # mixed_recipients and the quarantine's hold and scan settings (004) and
    # without moat-updated's indexes and downloads.requests (005; its CHECKs on av_packages stay:
    # 005 rebuilds that table whatever it holds), without the switch's counters and
    # usage.net_bytes (006), without moat-secmgr's cursor, incident columns and rule
    # generation (007).
    con = sqlite3.connect(db)
    con.executescript("""
        DROP TRIGGER rules_gen_i; DROP TRIGGER rules_gen_u; DROP TRIGGER rules_gen_d;
        DELETE FROM meta WHERE key = 'rule_generation'; DROP TABLE secmgr_state;
        DROP INDEX incidents_by_rule_key; DROP INDEX events_by_ts;
        ALTER TABLE incidents DROP COLUMN acked; ALTER TABLE incidents DROP COLUMN acked_by;
        ALTER TABLE incidents DROP COLUMN acked_at; ALTER TABLE incidents DROP COLUMN event_ids;
        ALTER TABLE incidents DROP COLUMN expires; ALTER TABLE incidents DROP COLUMN responses;
        DROP TABLE switch_counters; ALTER TABLE usage DROP COLUMN net_bytes;
        DROP INDEX av_packages_release; DROP INDEX client_installs_client;
        DROP INDEX subscriber_credentials_cert; DROP INDEX downloads_by_subscriber;
        ALTER TABLE downloads DROP COLUMN requests;
        DROP TRIGGER templates_gen_i; DROP TRIGGER templates_gen_u;
        DROP TRIGGER templates_gen_d; DROP TABLE templates;
        ALTER TABLE policies DROP COLUMN digest_to;
        DROP TRIGGER creds_gen_i; DROP TRIGGER creds_gen_u; DROP TRIGGER creds_gen_d;
        DROP INDEX subscriber_credentials_login;
        ALTER TABLE subscriber_credentials DROP COLUMN login;
        ALTER TABLE policies DROP COLUMN mixed_recipients;
        ALTER TABLE quarantine DROP COLUMN hold;
        ALTER TABLE quarantine DROP COLUMN scan_settings;
        UPDATE meta SET value = '1' WHERE key = 'schema_version';""")
    con.close()
    r = run("db", "check", db=db)
    assert r.returncode == 1 and "schema version 1" in r.stderr, r.stderr
    r = run("subscriber", "list", db=db)
    assert r.returncode == 1 and "moatctl db migrate" in r.stderr, r.stderr
    assert ok("db", "migrate", db=db).strip() == "migrated from 1 to 7"
    assert rows(db, "SELECT count(*) FROM templates")[0][0] == 5
    ok("db", "check", db=db)


def test_db_check_finds_broken_foreign_keys(db):
    # The sqlite3 shell leaves foreign keys off, as an operator's would.
    subprocess.run(["sqlite3", db, "INSERT INTO subscriber_domains VALUES ('orphan.example', 999)"],
                   check=True, timeout=30)
    r = run("db", "check", db=db)
    assert r.returncode == 1 and "foreign keys" in r.stderr, r.stderr


def test_db_check_and_migrate_never_create(tmp_path):
    path = str(tmp_path / "absent.db")
    for cmd in ("check", "migrate"):
        r = run("db", cmd, db=path)
        assert r.returncode == 1 and "db init" in r.stderr, r.stderr
        assert not os.path.exists(path)


def test_store_path_from_config(tmp_path):
    path = str(tmp_path / "conf.db")
    conf = tmp_path / "moat.conf"
    conf.write_text('common = { store = "%s"; };\n' % path)
    r = run("db", "init", "--demo", conf=str(conf))
    assert r.returncode == 0, r.stderr
    assert "Alpha" in run("subscriber", "list", conf=str(conf)).stdout


# --- demo seed ---------------------------------------------------------------

def test_demo_visible(demo):
    out = ok("subscriber", "list", db=demo)
    for name in ("Alpha", "Beta", "Gamma"):
        assert name in out
    assert "suspended" in out
    show = ok("subscriber", "show", "Alpha", db=demo)
    assert "alpha.example" in show and "127.0.0.1/32" in show and "strict" in show
    assert "credentials" in show
    assert "beta.example" in ok("domain", "list", "Beta", db=demo)
    assert "alpha.example" not in ok("domain", "list", "Beta", db=demo)
    assert "127.0.0.3/32" in ok("network", "list", db=demo)
    pol = ok("policy", "list", db=demo)
    assert "strict" in pol and "executables-reject" in pol
    assert "Alpha" in ok("policy", "show", "strict", db=demo)


# --- subscribers, domains, networks -----------------------------------------

def test_subscriber_add_set_remove(demo):
    ok("subscriber", "add", "Delta", "--contact", "ops@delta.example",
       "--policy", "strict", "--suspended", db=demo)
    assert rows(demo, "SELECT s.status, s.contact, p.name FROM subscribers s "
                "JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
                "JOIN policies p ON p.id = sp.policy_id WHERE s.name = 'Delta'") == \
        [("suspended", "ops@delta.example", "strict")]
    ok("subscriber", "set", "Delta", "status", "active", db=demo)
    ok("subscriber", "set", "Delta", "contact", "noc@delta.example", db=demo)
    ok("subscriber", "set", "Delta", "policy", "executables-reject", db=demo)
    ok("subscriber", "set", "Delta", "name", "Delta2", db=demo)
    assert rows(demo, "SELECT s.status, s.contact, p.name FROM subscribers s "
                "JOIN subscriber_policies sp ON sp.subscriber_id = s.id "
                "JOIN policies p ON p.id = sp.policy_id WHERE s.name = 'Delta2'") == \
        [("active", "noc@delta.example", "executables-reject")]
    ok("domain", "add", "delta.example", "Delta2", db=demo)
    ok("subscriber", "remove", "Delta2", db=demo)
    assert rows(demo, "SELECT count(*) FROM subscribers WHERE name LIKE 'Delta%'") == [(0,)]
    # Its domains go with it (ON DELETE CASCADE).
    assert rows(demo, "SELECT count(*) FROM subscriber_domains WHERE domain = 'delta.example'") == [(0,)]


def test_domain_add_list_remove(demo):
    ok("domain", "add", ".Sub.Alpha.EXAMPLE.", "Alpha", db=demo)
    assert (".sub.alpha.example",) in rows(demo, "SELECT domain FROM subscriber_domains")
    assert ".sub.alpha.example" in ok("domain", "list", "Alpha", db=demo)
    ok("domain", "remove", ".sub.alpha.example", db=demo)
    assert (".sub.alpha.example",) not in rows(demo, "SELECT domain FROM subscriber_domains")


def test_network_add_list_remove(demo):
    ok("network", "add", "2001:DB8::/32", "Beta", db=demo)
    ok("network", "add", "192.0.2.9", "Beta", db=demo)
    got = {r[0] for r in rows(demo, "SELECT cidr FROM subscriber_networks")}
    assert {"2001:db8::/32", "192.0.2.9/32"} <= got
    assert "2001:db8::/32" in ok("network", "list", "Beta", db=demo)
    ok("network", "remove", "2001:db8::/32", db=demo)
    ok("network", "remove", "192.0.2.9", db=demo)
    got = {r[0] for r in rows(demo, "SELECT cidr FROM subscriber_networks")}
    assert not ({"2001:db8::/32", "192.0.2.9/32"} & got)


# --- policies ----------------------------------------------------------------

def test_policy_add_set_show_remove(demo):
    ok("policy", "add", "lax", "--scan_mode", "macros", "--max_scan_bytes", "10M",
       "--notify_admin", "Admin@Beta.Example", "--digest", "yes", db=demo)
    assert rows(demo, "SELECT scan_mode, max_scan_bytes, notify_admin, digest "
                "FROM policies WHERE name = 'lax'") == \
        [("macros", 10 * 1024 * 1024, "admin@beta.example", 1)]
    ok("policy", "set", "lax", "on_infected", "quarantine", "retention_days", "7",
       "notify_admin", "none", db=demo)
    assert rows(demo, "SELECT on_infected, retention_days, notify_admin FROM policies "
                "WHERE name = 'lax'") == [("quarantine", 7, None)]
    show = ok("policy", "show", "lax", db=demo)
    assert "quarantine" in show and "macros" in show
    ok("policy", "assign", "Beta", "lax", db=demo)
    ok("policy", "recipient", "<Boss@Alpha.Example>", "lax", db=demo)
    assert rows(demo, "SELECT address FROM recipient_policies") == [("boss@alpha.example",)]
    r = run("policy", "remove", "lax", db=demo)
    refused(r, "in use")
    ok("policy", "recipient", "boss@alpha.example", "--remove", db=demo)
    ok("policy", "assign", "Beta", "executables-reject", db=demo)
    ok("policy", "remove", "lax", db=demo)
    assert rows(demo, "SELECT count(*) FROM policies WHERE name = 'lax'") == [(0,)]
    assert "scan_mode" in ok("policy", "keys", db=demo)


# --- threats -----------------------------------------------------------------

def test_threat_add_list_remove(demo):
    ok("threat", "add", "ip", "203.0.113.9", "--reason", "scanner", "--expires", "7d", db=demo)
    ok("threat", "add", "cidr", "198.51.100.0/24", db=demo)
    ok("threat", "add", "suspect_domain", "Shady.Example", "--expires", "never", db=demo)
    (exp,) = rows(demo, "SELECT expires - created FROM threat_sources WHERE value = '203.0.113.9'")[0]
    assert abs(exp - 7 * 86400) <= 5
    assert rows(demo, "SELECT expires FROM threat_sources WHERE value = 'shady.example'") == [(None,)]
    out = ok("threat", "list", db=demo)
    assert "203.0.113.9" in out and "198.51.100.0/24" in out and "shady.example" in out
    # Expired entries show only with --all.
    con = sqlite3.connect(demo)
    con.execute("UPDATE threat_sources SET expires = 1000 WHERE value = '203.0.113.9'")
    con.commit()
    con.close()
    assert "203.0.113.9" not in ok("threat", "list", db=demo)
    assert "203.0.113.9" in ok("threat", "list", "--all", db=demo)
    (tid,) = rows(demo, "SELECT id FROM threat_sources WHERE value = '203.0.113.9'")[0]
    ok("threat", "remove", str(tid), db=demo)
    ok("threat", "remove", "cidr", "198.51.100.0/24", db=demo)
    left = {r[0] for r in rows(demo, "SELECT value FROM threat_sources")}
    assert "203.0.113.9" not in left and "198.51.100.0/24" not in left
    assert "shady.example" in left


# --- refused commands change nothing ----------------------------------------

BAD = [
    ("bad_cidr", ["network", "add", "10.0.0.300/8", "Alpha"], "not a valid network"),
    ("cidr_host_bits", ["network", "add", "10.0.0.1/8", "Alpha"], "10.0.0.0/8"),
    ("cidr_taken", ["network", "add", "127.0.0.1/32", "Beta"], "already assigned"),
    ("bad_domain", ["domain", "add", "bad..example", "Alpha"], "not a valid domain"),
    ("bad_domain_chars", ["domain", "add", "ex ample.com", "Alpha"], "not a valid domain"),
    ("domain_taken", ["domain", "add", "alpha.example", "Beta"], "already assigned"),
    ("domain_unknown_sub", ["domain", "add", "new.example", "Nobody"], "no subscriber named 'Nobody'"),
    ("remove_absent_domain", ["domain", "remove", "absent.example"], "no domain"),
    ("unknown_policy_key", ["policy", "set", "strict", "colour", "red"], "unknown policy key"),
    ("bad_policy_value", ["policy", "set", "strict", "on_infected", "explode"], "reject, discard"),
    ("bad_second_pair", ["policy", "set", "strict", "scan_mode", "none", "repair", "maybe"], "repair"),
    ("bad_size", ["policy", "set", "strict", "max_scan_bytes", "12Q"], "max_scan_bytes"),
    ("bad_admin", ["policy", "set", "strict", "notify_admin", "nobody"], "notify_admin"),
    ("policy_add_bad", ["policy", "add", "new", "--heuristics", "perhaps"], "heuristics"),
    ("policy_add_dup", ["policy", "add", "strict"], "already exists"),
    ("unknown_policy", ["policy", "set", "nosuch", "repair", "yes"], "no policy named 'nosuch'"),
    ("policy_in_use", ["policy", "remove", "strict"], "in use"),
    ("assign_unknown_sub", ["policy", "assign", "Nobody", "strict"], "no subscriber named 'Nobody'"),
    ("assign_unknown_policy", ["policy", "assign", "Alpha", "nosuch"], "no policy named"),
    ("unknown_subscriber_show", ["subscriber", "show", "Nobody"], "no subscriber named 'Nobody'"),
    ("unknown_subscriber_set", ["subscriber", "set", "Nobody", "status", "active"],
     "no subscriber named 'Nobody'"),
    ("unknown_subscriber_remove", ["subscriber", "remove", "Nobody"], "no subscriber named 'Nobody'"),
    ("sub_bad_status", ["subscriber", "set", "Alpha", "status", "gone"], "active or suspended"),
    ("sub_dup", ["subscriber", "add", "Alpha"], "already exists"),
    ("sub_rename_taken", ["subscriber", "set", "Alpha", "name", "Beta"], "already exists"),
    ("sub_add_unknown_policy", ["subscriber", "add", "Epsilon", "--policy", "nosuch"],
     "no policy named 'nosuch'"),
    ("sub_bad_contact", ["subscriber", "add", "Epsilon", "--contact", "not-an-address"], "contact"),
    ("threat_bad_kind", ["threat", "add", "host", "x.example"], "unknown threat kind"),
    ("threat_bad_ip", ["threat", "add", "ip", "300.1.1.1"], "not a valid address"),
    ("threat_ip_is_net", ["threat", "add", "ip", "192.0.2.0/24"], "use kind cidr"),
    ("threat_bad_expiry", ["threat", "add", "ip", "192.0.2.1", "--expires", "soon"], "bad expiry"),
    ("threat_remove_absent", ["threat", "remove", "9999"], "no threat source"),
    ("usage_unknown_sub", ["usage", "--subscriber", "Nobody"], "no subscriber named 'Nobody'"),
    ("usage_bad_date", ["usage", "--from", "2026-13-01"], "bad --from date"),
]


@pytest.mark.parametrize("argv,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refused_leaves_store_unchanged(demo, argv, message):
    before = dump(demo)
    r = run(*argv, db=demo)
    refused(r, message)
    assert dump(demo) == before


@pytest.mark.parametrize("argv", [
    ["subscriber", "add", "Zeta", "--policy", "strict"],
    ["policy", "add", "new", "--scan_mode", "none"],
    ["policy", "set", "strict", "digest", "no", "scan_mode", "none"],
], ids=["subscriber_then_policy", "policy_then_key", "second_key"])
def test_failure_midway_rolls_back(demo, argv):
    # A trigger refuses the command's last write, after earlier writes of the
    # same command succeeded: they must all be rolled back.
    con = sqlite3.connect(demo)
    con.executescript("""
        CREATE TRIGGER t_refuse_sp BEFORE INSERT ON subscriber_policies
          BEGIN SELECT RAISE(ABORT, 'test refusal'); END;
        CREATE TRIGGER t_refuse_scan BEFORE UPDATE OF scan_mode ON policies
          BEGIN SELECT RAISE(ABORT, 'test refusal'); END;""")
    con.close()
    before = dump(demo)
    refused(run(*argv, db=demo), "test refusal")
    assert dump(demo) == before


def test_usage_errors_exit_2(demo):
    assert run(db=demo).returncode == 2
    assert run("frobnicate", db=demo).returncode == 2
    assert run("subscriber", "add", db=demo).returncode == 2
    assert run("policy", "set", "strict", "repair", db=demo).returncode == 2


# --- locking -----------------------------------------------------------------

def test_locked_store_fails_cleanly(demo):
    before = dump(demo)
    con = sqlite3.connect(demo, isolation_level=None, timeout=1)
    con.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        r = run("subscriber", "add", "Locked", db=demo, timeout=60)
        took = time.monotonic() - t0
    finally:
        con.execute("ROLLBACK")
        con.close()
    refused(r, "database is locked, try again")
    assert took < 30, "gave up only after %.1fs" % took
    assert dump(demo) == before
    # Once the lock is gone the same command works.
    ok("subscriber", "add", "Locked", db=demo)


# --- usage -------------------------------------------------------------------

def test_usage_table_and_csv(demo):
    ok("subscriber", "add", 'Acme, "Inc"', db=demo)
    ids = dict(rows(demo, "SELECT name, id FROM subscribers"))
    con = sqlite3.connect(demo)
    con.executemany("INSERT INTO usage(day, subscriber_id, direction, messages, bytes, "
                    "infected, quarantined, rejected, net_bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("2026-11-01", ids["Alpha"], "in", 10, 20480, 1, 1, 0, 0),
        ("2026-11-01", ids["Alpha"], "out", 3, 300, 0, 0, 0, 0),
        ("2026-11-02", ids["Beta"], "in", 5, 500, 2, 0, 2, 123456),
        ("2026-11-03", ids['Acme, "Inc"'], "in", 7, 700, 0, 0, 0, 0),
    ])
    con.commit()
    con.close()

    table = ok("usage", db=demo).splitlines()
    assert table[0].split() == ["day", "subscriber", "direction", "messages", "bytes",
                                "infected", "quarantined", "rejected", "net_bytes"]
    assert table[1].split() == ["2026-11-01", "Alpha", "in", "10", "20480", "1", "1", "0", "0"]
    assert len(table) == 5
    # Columns are aligned: every line puts "direction" values at one offset.
    col = table[0].index("direction")
    assert all(line[col:col + 2] in ("di", "in", "ou") for line in table[1:])

    raw = subprocess.run([MOATCTL, "-d", demo, "usage", "--csv", "--from", "2026-11-02"],
                         capture_output=True, timeout=30)
    assert raw.returncode == 0, raw.stderr
    text = raw.stdout.decode()
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", ""), \
        "RFC 4180 lines end in CRLF: %r" % text
    got = list(csv.reader(io.StringIO(text, newline="")))
    assert got == [
        ["day", "subscriber", "direction", "messages", "bytes", "infected",
         "quarantined", "rejected", "net_bytes"],
        ["2026-11-02", "Beta", "in", "5", "500", "2", "0", "2", "123456"],
        ["2026-11-03", 'Acme, "Inc"', "in", "7", "700", "0", "0", "0", "0"],
    ]
    assert '"Acme, ""Inc"""' in text

    only = list(csv.reader(io.StringIO(ok("usage", "--csv", "--subscriber", "Alpha",
                                          "--to", "2026-11-01", db=demo), newline="")))
    assert [row[2] for row in only[1:]] == ["in", "out"]


# --- config ------------------------------------------------------------------

def test_config_sample_and_check(tmp_path):
    sample = ok("config", "sample")
    assert "common = {" in sample and "#store = " in sample
    with open(os.path.join(SRC, "etc", "moat.conf.sample")) as f:
        assert f.read() == sample, "etc/moat.conf.sample is stale: build target `sample`"
    good = tmp_path / "good.conf"
    good.write_text('common = { store = "/tmp/x.db"; log_level = "debug"; };\n')
    out = ok("config", "check", "-c", str(good))
    assert 'store = "/tmp/x.db"' in out and 'log_level = "debug"' in out
    bad = tmp_path / "bad.conf"
    bad.write_text('common = { stroe = "/tmp/x.db"; };\n')
    r = run("config", "check", "-c", str(bad))
    refused(r, "stroe")


# --- privileges --------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_acts_as_store_owner():
    nobody = pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="moatctl-owner-")
    try:
        os.chmod(d, 0o755)
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
        path = os.path.join(d, "moat.db")
        ok("db", "init", "--demo", db=path)
        ok("subscriber", "add", "Owned", db=path)
        files = [f for f in os.listdir(d) if f.startswith("moat.db")]
        assert "moat.db" in files
        for f in files:
            st = os.stat(os.path.join(d, f))
            assert st.st_uid == nobody.pw_uid, "%s is owned by uid %d" % (f, st.st_uid)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- odds and ends -----------------------------------------------------------

def test_quiet_prints_only_data(demo):
    r = run("-q", "subscriber", "add", "Quiet", db=demo)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert "Quiet" in run("-q", "subscriber", "list", db=demo).stdout


@pytest.mark.skipif(os.path.exists(os.path.join(SRC, "ctl", "moatctl_quarantine.c")),
                    reason="quarantine commands are built")
def test_quarantine_absent_says_so(demo):
    refused(run("quarantine", "list", db=demo), "quarantine commands are not built")
