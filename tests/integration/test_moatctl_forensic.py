# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of `moatctl forensic` on real files (issue 12).

Logs are written by the real writer (common/forensic.c) through the unit
test's driver mode, `$MOAT_BIN/common/forensic_test write LOG KEY EVERY N`,
then tampered with here the ways an attacker could: every change must make
`moatctl forensic verify` exit 1 with one line naming the first bad record;
a torn tail exits 3 and says so; exports verify alone with --range.

With EVERY=4 and N=10 a log's lines are: events 1-4, checkpoint 5,
events 6-9, checkpoint 10, events 11-12, checkpoint 13 (at close).
"""
import hashlib
import json
import os
import re
import stat
import subprocess

import pytest

SRC = os.environ.get("MOAT_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("MOAT_BIN", os.path.join(SRC, "build"))
MOATCTL = os.path.join(BIN, "ctl", "moatctl")
WRITER = os.path.join(BIN, "common", "forensic_test")


def run(*args, conf=None):
    argv = [MOATCTL] + (["-c", conf] if conf else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def ok(*args, conf=None):
    r = run(*args, conf=conf)
    assert r.returncode == 0, "moatctl %s: rc %d\n%s%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def bad_at(r, seq, word):
    """rc 1 and one moatctl line naming record seq, with word in it."""
    assert r.returncode == 1, "want rc 1, got %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("moatctl: "), r.stderr
    assert "bad at record %d:" % seq in lines[0], lines[0]
    assert word in lines[0], lines[0]


def write_log(path, key, every=4, n=10, close=True):
    argv = [WRITER, "write", path, key or "-", str(every), str(n)]
    if not close:
        argv.append("--no-close")
    subprocess.run(argv, check=True, timeout=60, capture_output=True)


@pytest.fixture(scope="module", autouse=True)
def binaries():
    assert os.access(MOATCTL, os.X_OK), "moatctl not built at %s" % MOATCTL
    assert os.access(WRITER, os.X_OK), "forensic_test not built at %s" % WRITER


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("a", "b"):
        ok("forensic", "keygen", str(d / ("%s.pem" % name)))
        out[name] = (str(d / ("%s.pem" % name)), str(d / ("%s.pub.pem" % name)))
    return out


@pytest.fixture
def log(tmp_path, keys):
    path = str(tmp_path / "forensic.log")
    write_log(path, keys["a"][0])
    return path


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().splitlines(keepends=True)


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write(b"".join(lines))


def rehash(line, prev):
    """The line with prev as its previous hash and its own hash recomputed
    (what anyone without the key can do); a checkpoint's chain follows."""
    f = line.rstrip(b"\n").split(b"\t")
    f[4] = prev
    if f[2] == b"checkpoint":
        cp = json.loads(f[5])
        cp["chain"] = prev.decode()
        f[5] = json.dumps(cp, separators=(",", ":")).encode()
    head = b"\t".join(f[:6]) + b"\t"
    return head + hashlib.sha256(head).hexdigest().encode() + b"\n"


def rechain(lines, start):
    prev = lines[start - 1].rstrip(b"\n").split(b"\t")[6] if start else b"0" * 64
    for i in range(start, len(lines)):
        lines[i] = rehash(lines[i], prev)
        prev = lines[i].rstrip(b"\n").split(b"\t")[6]
    return lines


def t_edit(ls):
    ls[2] = ls[2].replace(b"192.0.2.3", b"192.0.2.4")
    return ls


def t_delete(ls):
    del ls[2]
    return ls


def t_insert(ls):
    forged = rehash(ls[2].replace(b"192.0.2.3", b"203.0.113.66"),
                    ls[1].rstrip(b"\n").split(b"\t")[6])
    return ls[:2] + [forged] + ls[2:]


def t_swap(ls):
    ls[2], ls[3] = ls[3], ls[2]
    return ls


def t_head(ls):
    return ls[1:]


def t_rechain(ls):
    return rechain(t_edit(ls), 2)


# name, change, extra args, first bad record, a word of the reason
TAMPERS = [
    ("edit a payload byte", t_edit, [], 3, "altered"),
    ("delete a record", t_delete, [], 3, "missing"),
    ("insert a forged record", t_insert, [], 3, "inserted"),
    ("swap two records", t_swap, [], 3, "reordered"),
    ("remove the first record", t_head, [], 1, "missing"),
    ("edit and re-chain to the end", t_rechain, [], 5, "signature"),
    ("truncate at a line (closed log)", lambda ls: ls[:11], ["--closed"], 11, "cut off"),
]


def test_keygen(tmp_path, keys):
    priv, pub = keys["a"]
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    assert b"PRIVATE KEY" in open(priv, "rb").read()
    assert b"PUBLIC KEY" in open(pub, "rb").read()
    # Never over an existing key.
    before = open(priv, "rb").read()
    r = run("forensic", "keygen", priv)
    assert r.returncode == 1 and "File exists" in r.stderr, r.stderr
    assert open(priv, "rb").read() == before
    assert run("forensic", "keygen").returncode == 2


def test_verify_ok(log, keys):
    r = ok("forensic", "verify", "--key", keys["a"][1], log)
    assert "ok: 13 records, 3 checkpoints verified, signed up to record 13" in r.stdout
    assert r.stderr == ""
    ok("forensic", "verify", "--closed", "--key", keys["a"][0], "--file", log)
    # No key: the chain only, and a warning that says so.
    r = ok("forensic", "verify", log)
    assert "signatures NOT checked" in r.stdout and "no key" in r.stderr


@pytest.mark.parametrize("name,change,extra,seq,word", TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampered(log, keys, name, change, extra, seq, word):
    lines = read_lines(log)
    assert len(lines) == 13
    write_lines(log, change(lines))
    bad_at(run("forensic", "verify", "--key", keys["a"][1], *extra, log), seq, word)


def test_forged_checkpoint_signature(tmp_path, keys):
    # A whole log signed with key b: checkpoint 5 is the first it fails at.
    path = str(tmp_path / "b.log")
    write_log(path, keys["b"][0])
    bad_at(run("forensic", "verify", "--key", keys["a"][1], path), 5, "signature")
    ok("forensic", "verify", "--key", keys["b"][1], path)


def test_truncate_open_log_warns(log, keys):
    # Cut at a line, not closed: the chain holds; the unsigned tail is named.
    write_lines(log, read_lines(log)[:11])
    r = ok("forensic", "verify", "--key", keys["a"][1], log)
    assert "records 11..11 follow the last checkpoint" in r.stderr, r.stderr


def test_torn_tail(log, keys):
    with open(log, "r+b") as f:
        f.truncate(os.path.getsize(log) - 40)
    r = run("forensic", "verify", "--key", keys["a"][1], log)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "torn tail: line 13 (record 13)" in r.stderr, r.stderr
    assert "not an edit" in r.stderr and "bad at" not in r.stderr
    # The writer resumes: the partial bytes saved aside, then records
    # torn 13, checkpoint 14 (11-12 were unsigned), event 15, checkpoint 16.
    size = os.path.getsize(log)
    partial = open(log, "rb").read()[-(size - sum(map(len, read_lines(log)[:12]))):]
    write_log(log, keys["a"][0], n=1)
    r = ok("forensic", "verify", "--closed", "--key", keys["a"][1], log)
    assert "ok: 16 records" in r.stdout, r.stdout
    torn = read_lines(log)[12].split(b"\t")
    assert torn[0] == b"13" and torn[2] == b"torn", torn
    info = json.loads(torn[5])
    assert info["bytes"] == len(partial) and info["offset"] == size - len(partial), info
    saved = os.path.join(os.path.dirname(log), info["saved"])
    assert open(saved, "rb").read() == partial
    assert hashlib.sha256(partial).hexdigest() == info["sha256"]


def test_crashed_writer_resumes(tmp_path, keys):
    path = str(tmp_path / "crash.log")
    write_log(path, keys["a"][0], n=6, close=False)
    r = ok("forensic", "verify", "--key", keys["a"][1], path)
    assert "records 6..7 follow the last checkpoint" in r.stderr
    bad_at(run("forensic", "verify", "--closed", "--key", keys["a"][1], path), 6, "cut off")
    # Resuming signs the tail first: checkpoint 8, events 9-10, checkpoint 11.
    write_log(path, keys["a"][0], n=2)
    r = ok("forensic", "verify", "--closed", "--key", keys["a"][1], path)
    assert "ok: 11 records, 3 checkpoints verified" in r.stdout, r.stdout
    assert [l.split(b"\t")[2] for l in read_lines(path)][7:] == [
        b"checkpoint", b"event", b"event", b"checkpoint"]


def test_export_and_verify_range(log, keys, tmp_path):
    out = str(tmp_path / "range.exp")
    r = ok("forensic", "export", "--from", "3", "--to", "6", "-o", out,
           "--key", keys["a"][1], log)
    lines = read_lines(out)
    # Header, records 3..9 and checkpoint 10 that proves them.
    assert lines[0].startswith(b"#moat-forensic-export\t1\t3\t6\t")
    assert [int(l.split(b"\t")[0]) for l in lines[1:]] == list(range(3, 11))
    r = ok("forensic", "verify", "--range", "--key", keys["a"][1], out)
    assert "ok: records 3..6 proven by checkpoint 10" in r.stdout
    # The export alone: checked with another key (checkpoint 5 is in it),
    # or edited.
    bad_at(run("forensic", "verify", "--range", "--key", keys["b"][1], out), 5,
           "records 3..5 are not proven")
    write_lines(out, [lines[0], lines[1].replace(b"192.0.2.3", b"192.0.2.9")] + lines[2:])
    bad_at(run("forensic", "verify", "--range", "--key", keys["a"][1], out), 3, "altered")
    # Without its last checkpoint, records 6.. are not proven (5 covers 3-4).
    write_lines(out, lines[:-1])
    bad_at(run("forensic", "verify", "--range", "--key", keys["a"][1], out), 6,
           "without a checkpoint")
    # A range past the end, a bad range: refused, nothing written.
    r = run("forensic", "export", "--from", "3", "--to", "99", "-o", out + ".2", log)
    assert r.returncode == 1 and "ends at record 13" in r.stderr, r.stderr
    assert not os.path.exists(out + ".2")
    assert run("forensic", "export", "--from", "5", "--to", "2", log).returncode == 1
    assert run("forensic", "export", "--from", "3", log).returncode == 2


def test_export_unsigned_range_refused(tmp_path, keys):
    path = str(tmp_path / "open.log")
    write_log(path, keys["a"][0], n=6, close=False)
    r = run("forensic", "export", "--from", "6", "--to", "6", path)
    assert r.returncode == 1 and "not covered by a checkpoint yet" in r.stderr, r.stderr


def test_defaults_from_config(log, keys, tmp_path):
    conf = tmp_path / "moat.conf"
    conf.write_text('secmgr = {\n  forensic_log = "%s";\n  forensic_key = "%s";\n};\n'
                    % (log, keys["a"][0]))
    r = ok("forensic", "verify", conf=str(conf))
    assert "3 checkpoints verified" in r.stdout
    r = run("forensic", "verify", "--key", keys["b"][1], conf=str(conf))
    bad_at(r, 5, "signature")


def test_not_a_log(tmp_path, keys):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x1b[2J hello\n")
    bad_at(run("forensic", "verify", "--key", keys["a"][1], str(junk)), 1, "not a record")
    r = run("forensic", "verify", "--key", str(junk), str(junk))
    assert r.returncode == 1 and "cannot verify" in r.stderr, r.stderr
    r = run("forensic", "verify", "--key", keys["a"][1], str(tmp_path / "absent"))
    assert r.returncode == 1 and "No such file" in r.stderr
    assert re.search(r"forensic verify", run("forensic").stderr)


def test_full_disk(tmp_path, keys):
    """A real ENOSPC: the writer on an 8 KB tmpfs (in a mount namespace of
    its own) fails with the error, and what it leaves verifies: no partial
    record, only an unsigned tail (its closing checkpoint did not fit)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = ('mount -t tmpfs -o size=8k none "$1" || exit 77\n'
              '"$2" write "$1/log" "$3" 4 100; echo "writer=$?"\n'
              'tail -c 1 "$1/log" | od -An -c\n'
              '"$4" forensic verify --key "$3" "$1/log"; echo "verify=$?"\n')
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(mnt), WRITER,
                        keys["a"][0], MOATCTL], capture_output=True, text=True, timeout=60)
    if r.returncode == 77 or "unshare failed" in r.stderr:
        pytest.skip("no mount namespace here: %s" % r.stderr.strip())
    assert "writer=1" in r.stdout, r.stdout + r.stderr
    assert "forensic_append: %s/log: write: No space left on device" % mnt in r.stderr, r.stderr
    assert "\\n" in r.stdout, r.stdout                 # the file ends in a whole line
    assert "verify=0" in r.stdout and ": ok: " in r.stdout, r.stdout + r.stderr
    assert "follow the last checkpoint" in r.stderr, r.stderr
