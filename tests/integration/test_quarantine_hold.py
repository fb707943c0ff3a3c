# SPDX-License-Identifier: GPL-2.0-or-later
"""Black-box tests of moat-quarantined for issue 8 (hole 6), without Postfix:
rescans repeat the milter's scan settings and never auto-release heuristic
or unscannable holds; a submission is one file and one item per subscriber;
a subscriber token releases only its own 'virus' holds, only to the item's
own recipients; digests never show one recipient another's address.
The instance (store, sink, daemon) is test_quarantine.py's."""
import base64
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import tempfile
from urllib.parse import urlencode

from test_quarantine import MARKER, free_port, message, qd, wait_for  # noqa: F401

SETTINGS = {"v": 1, "heuristics": True, "scan_mode": "all", "max_scan_bytes": 26214400,
            "parse": "walk", "max_scansize": 104857600, "max_filesize": 104857600,
            "max_recursion": 25, "max_files": 10000}


def settings(**kw):
    s = dict(SETTINGS)
    s.update(kw)
    return json.dumps(s)


def encrypted_zip_message(n):
    d = tempfile.mkdtemp()
    try:
        with open(os.path.join(d, "doc.txt"), "w") as f:
            f.write("secret content\n" * 20)
        subprocess.run(["zip", "-q", "-j", "-P", "secret", os.path.join(d, "e.zip"),
                        os.path.join(d, "doc.txt")], check=True)
        z = open(os.path.join(d, "e.zip"), "rb").read()
    finally:
        shutil.rmtree(d)
    b64 = base64.encodebytes(z).replace(b"\n", b"\r\n")
    return (b"From: sender@example.net\r\nTo: user@alpha.example\r\n"
            b"Subject: encrypted %d\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
            b"--b1\r\nContent-Type: application/zip; name=\"e.zip\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"e.zip\"\r\n\r\n" % n
            + b64 + b"--b1--\r\n")


def submit(q, data, pairs, want=201):
    st, j = q.json("POST", "/v1/items?" + urlencode(pairs), data)
    assert st == want, (st, j)
    return j


def item(q, i):
    return q.json("GET", "/v1/items/%d" % i, want=200)[1]


def released(q):
    return [n for n in q.sink_files() if q.sink_read(n)[0].startswith(b"X-Moat-Released")]


# ------------------------------------------------------------ rescan

def test_rescan_keeps_heuristic_and_unscannable_holds(qd):
    """Held as Heuristics.Encrypted.Zip, policy with auto_release_fp: a
    rescan finds it again (the milter's heuristics) and releases nothing,
    whether the milter sent its settings or (an older item) did not."""
    q = qd()
    q.sql("UPDATE policies SET auto_release_fp = 1 WHERE name = 'strict'")   # Alpha's
    legacy = q.submit(encrypted_zip_message(1), viruses=("Heuristics.Encrypted.Zip",))
    sent = submit(q, encrypted_zip_message(2), [
        ("subscriber", "1"), ("rcpt", "user@alpha.example"),
        ("virus", "Heuristics.Encrypted.Zip"), ("hold", "unscannable"),
        ("scan", settings())])
    assert item(q, legacy["id"])["hold"] == "unscannable"      # inferred from the name
    got = item(q, sent["id"])
    assert got["hold"] == "unscannable" and got["scan_settings"] == SETTINGS, got
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["rescanned"] == 2 and r["released"] == 0 and r["clean"] == 0, r
    for i in (legacy["id"], sent["id"]):
        it = item(q, i)
        assert it["status"] == "held" and it["fp_candidate"] == 0, it
        assert it["viruses"] == ["Heuristics.Encrypted.Zip"], it
    assert released(q) == []


def test_rescan_never_auto_releases_a_heuristic_hold(qd):
    """Even when nothing is found any more (the milter scanned without
    heuristics here), a heuristic hold is a candidate, not released."""
    q = qd()
    q.sql("UPDATE policies SET auto_release_fp = 1 WHERE name = 'strict'")
    h = submit(q, message(31), [("subscriber", "1"), ("rcpt", "user@alpha.example"),
                                ("virus", "Heuristics.Broken.Executable"),
                                ("scan", settings(heuristics=False))])
    v = submit(q, message(32), [("subscriber", "1"), ("rcpt", "user@alpha.example"),
                                ("virus", "Old.Signature"), ("hold", "virus"),
                                ("scan", settings(heuristics=False))])
    assert item(q, h["id"])["hold"] == "heuristic"
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["clean"] == 2 and r["released"] == 1, r
    it = item(q, h["id"])
    assert it["status"] == "held" and it["fp_candidate"] == 1, it
    assert it["viruses"] == ["Heuristics.Broken.Executable"], it      # the reason stays
    assert item(q, v["id"])["status"] == "released"


def test_rescan_applies_the_stored_settings(qd):
    """max_scan_bytes from the stored settings: a message over it is
    unscannable on rescan as it was for the milter, never a candidate."""
    q = qd()
    q.sql("UPDATE policies SET auto_release_fp = 1 WHERE name = 'strict'")
    big = submit(q, message(33, size=4000), [
        ("subscriber", "1"), ("rcpt", "user@alpha.example"), ("virus", "Was.Found"),
        ("scan", settings(max_scan_bytes=1000))])
    marked = submit(q, message(34, marker=True), [
        ("subscriber", "1"), ("rcpt", "user@alpha.example"), ("virus", "Old.Name"),
        ("scan", settings(parse="libclamav"))])
    _, r = q.json("POST", "/v1/rescan", b"", want=200)
    assert r["released"] == 0 and r["changed"] == 2, r
    it = item(q, big["id"])
    assert it["status"] == "held" and it["hold"] == "unscannable", it
    assert it["viruses"][0].startswith("over size limit"), it
    it = item(q, marked["id"])
    assert it["hold"] == "virus" and it["viruses"][0].startswith("Moat.Test.Marker"), it
    assert released(q) == []


def test_bad_scan_settings_and_hold_refused(qd):
    q = qd()
    base = [("subscriber", "1"), ("rcpt", "user@alpha.example")]
    for extra in ([("hold", "nothing")], [("hold", "")], [("scan", "{}")], [("scan", "[1]")],
                  [("scan", settings(max_recursion=0))], [("scan", settings(parse="gmime"))],
                  [("scan", settings(scan_mode="some"))], [("scan", settings(v=2))],
                  [("scan", settings()[:-1] + ',"x":1}')], [("scan", "{" * 10000)],
                  [("scan", settings()), ("scan", settings())]):
        st, j = q.json("POST", "/v1/items?" + urlencode(base + extra), message(35))
        assert st == 400, (extra, st, j)
    assert q.sql("SELECT count(*) FROM quarantine") == [(0,)]


# ------------------------------------------------------------ one item per subscriber

def test_one_file_one_item_per_subscriber(qd):
    q = qd()
    data = message(40)
    j = submit(q, data, [("queue_id", "4SPLIT1"), ("policy", "1"), ("subscriber", "1"),
                         ("rcpt_of", "1:a@alpha.example"), ("rcpt_of", "2:B@Beta.Example"),
                         ("rcpt_of", "0:x@example.net"), ("rcpt_of", "1:c@alpha.example"),
                         ("rcpt_of", "1:A@alpha.example"), ("virus", "Eicar-Test-Signature"),
                         ("scan", settings())])
    items = {it["subscriber"]: it["id"] for it in j["items"]}
    assert sorted(items, key=str) == sorted([1, 2, None], key=str) and j["id"] == items[1]
    rows = q.sql("SELECT subscriber_id, recipients, sha256, path, hold FROM quarantine"
                 " ORDER BY id")
    assert [(s, json.loads(r)) for s, r, *_ in rows] == [
        (1, ["a@alpha.example", "c@alpha.example"]), (2, ["b@beta.example"]),
        (None, ["x@example.net"])]
    assert len({(sha, path) for _, _, sha, path, _ in rows}) == 1
    # the deciding policy is the deciding subscriber's item's only
    assert q.sql("SELECT policy_id FROM quarantine ORDER BY id") == [(1,), (None,), (None,)]
    assert q.content_files() == [hashlib.sha256(data).hexdigest()]
    # release of one item goes to its own recipients only
    _, r = q.json("POST", "/v1/items/%d/release" % items[1], b"", want=200)
    [name] = wait_for(q.sink_files, what="release")
    assert q.sink_read(name)[1]["rcpt_to"] == ["a@alpha.example", "c@alpha.example"]
    # the file stays while another held item uses it
    q.json("DELETE", "/v1/items/%d" % items[2], want=200)
    assert q.content_files() == [hashlib.sha256(data).hexdigest()]
    q.json("DELETE", "/v1/items/%d" % items[None], want=200)
    assert q.content_files() == [hashlib.sha256(data).hexdigest()]   # released item 1 keeps it
    q.json("DELETE", "/v1/items/%d" % items[1], want=200)
    assert q.content_files() == []


def test_rcpt_of_bad_input(qd):
    q = qd()
    for pairs in ([("rcpt_of", "a@alpha.example")], [("rcpt_of", ":a@alpha.example")],
                  [("rcpt_of", "x:a@alpha.example")], [("rcpt_of", "-1:a@alpha.example")],
                  [("rcpt_of", "1:")], [("rcpt_of", "1:a\r\n@alpha.example")],
                  [("rcpt_of", "999:a@alpha.example")],
                  [("rcpt_of", "99999999999999999999999:a@alpha.example")],
                  [("rcpt_of", "1:a@alpha.example"), ("rcpt_of", "2:A@alpha.example")],
                  [("subscriber", "1"), ("rcpt", "a@alpha.example"),
                   ("rcpt_of", "2:a@alpha.example")],
                  [("rcpt_of", "1:u%d@alpha.example" % i) for i in range(1001)]):
        st, j = q.json("POST", "/v1/items?" + urlencode(pairs), message(41))
        assert st == 400, (pairs[:2], st, j)
    assert q.sql("SELECT count(*) FROM quarantine") == [(0,)] and q.content_files() == []


# ------------------------------------------------------------ token releases

def tcp_instance(qd):
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

    def tcp(method, path, token=beta, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        c.request(method, path, body=body if body is not None else b"",
                  headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        d = r.read()
        c.close()
        return r.status, json.loads(d) if d else None
    return q, tcp, admin, tmp


def test_token_release_only_own_recipients_and_virus_holds(qd):
    q, tcp, admin, tmp = tcp_instance(qd)
    a = q.submit(message(50), subscriber=1, rcpts=("u@alpha.example",))
    b = q.submit(message(51), subscriber=2, rcpts=("v@beta.example", "w@beta.example"))
    h = submit(q, message(52), [("rcpt_of", "2:v@beta.example"), ("hold", "heuristic"),
                                ("virus", "Heuristics.OLE2.ContainsMacros")])
    un = submit(q, message(53), [("rcpt_of", "0:v@beta.example"), ("virus", "Eicar")])
    rel = "/v1/items/%d/release"
    # other subscribers' and unserved items: absent, never forbidden
    assert tcp("POST", rel % a["id"])[0] == 404
    assert tcp("POST", rel % un["id"], body={"recipients": ["v@beta.example"]})[0] == 404
    assert tcp("GET", "/v1/items/%d" % un["id"])[0] == 404
    # addresses that are not the item's own
    for bad in (["attacker@example.net"], ["v@beta.example", "attacker@example.net"],
                ["u@alpha.example"], ["v@beta.example.evil"], ["x@beta.example"],
                ["v@beta.example", "v@BETA.example", "z@beta.example"]):
        st, j = tcp("POST", rel % b["id"], body={"recipients": bad})
        assert st == 403 and "not a recipient" in j["error"], (bad, st, j)
    # malformed: CRLF, NUL, non-strings, empty, too many, encoded controls
    for bad in (["v@beta.example\r\nRCPT TO:<attacker@example.net>"],
                ["v@beta.example\u0000attacker@example.net"], ["v@beta.example\u2028"],
                [""], ["<>"], [7], [None], "v@beta.example", {"a": 1},
                ["a@beta.example"] * 1001):
        st, j = tcp("POST", rel % b["id"], body={"recipients": bad})
        assert st == 400, (str(bad)[:60], st, j)
    assert tcp("POST", rel % b["id"], body=b"{\"recipients\": [\"v@beta.example\"")[0] == 400
    assert released(q) == []
    assert q.sql("SELECT status FROM quarantine WHERE id = ?", (b["id"],)) == [("held",)]
    # a heuristic hold: operators only
    st, j = tcp("POST", rel % h["id"])
    assert st == 403 and "operator" in j["error"], j
    wait_for(lambda: q.sql("SELECT count(*) FROM events WHERE kind ="
                           " 'quarantine.release_denied'")[0][0] >= 7, what="denial events")
    # its own recipient, in another spelling and twice: once, canonical
    st, j = tcp("POST", rel % b["id"], body={"recipients": ["W@Beta.EXAMPLE", "w@beta.example"]})
    assert st == 200, j
    [name] = wait_for(lambda: released(q), what="release")
    assert q.sink_read(name)[1]["rcpt_to"] == ["w@beta.example"]
    # the operator releases the heuristic hold, to any address
    st, j = tcp("POST", rel % h["id"], token=admin, body={"recipients": ["ops@example.net"]})
    assert st == 200, j
    shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------ digests

def test_digests_show_no_other_recipient(qd):
    q = qd()
    q.sql("UPDATE policies SET digest_to = 'recipients' WHERE name = 'strict'")
    # Bcc: ann and bob in one envelope, each learns only of itself
    j = q.submit(message(60), rcpts=("ann@alpha.example", "bob@alpha.example"))
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 2, r
    names = wait_for(lambda: q.sink_files() if len(q.sink_files()) == 2 else None,
                     what="two digests")
    for name in names:
        text, meta = q.sink_read(name)
        [to] = meta["rcpt_to"]
        other = "bob@alpha.example" if to == "ann@alpha.example" else "ann@alpha.example"
        assert "moatctl quarantine release %d" % j["id"] in text.decode()
        assert other.encode() not in text, "%s's digest names %s" % (to, other)


def test_subscriber_digest_lists_only_its_recipients(qd):
    q = qd()
    # an older row holding another subscriber's recipient (filed before
    # items were split by subscriber)
    j = q.submit(message(61), rcpts=("ann@alpha.example", "carol@beta.example",
                                     "ext@example.net"))
    _, r = q.json("POST", "/v1/digests", b"", want=200)
    assert r["sent"] == 1, r
    [name] = wait_for(q.sink_files, what="digest")
    text = q.sink_read(name)[0].decode()
    assert "moatctl quarantine release %d" % j["id"] in text
    assert "ann@alpha.example" in text and "ext@example.net" in text
    assert "carol@beta.example" not in text, text
