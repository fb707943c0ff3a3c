# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8, hole 6 (quarantine), through real Postfix on a stack:

  - an encrypted zip held as Heuristics.Encrypted.Zip under a policy with
    auto_release_fp is not released by a rescan (the rescan repeats the
    milter's scan settings: heuristics on), and the item is an
    'unscannable' hold that a subscriber token may not release while the
    operator may;
  - a subscriber token releases only to the item's own recipients;
  - a message for recipients of two subscribers is one stored file and one
    item per subscriber, each listing only its own recipients;
  - a per-recipient digest names only its own recipient.

The second subscriber (Omega, omega.example) and its quarantine policy are
set up with moatctl, as an operator would.
"""
import hashlib
import json
import os
import socket
import urllib.error
import urllib.request

import pytest

from moatstack import EICAR, OUTSIDE, encrypted_zip, uniq, wait_for, wait_policy

TOKEN = "omega-portal-token-5d1c0e"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _items(st, qid):
    code, data = st.quarantine_api("GET", "/v1/items?limit=1000")
    assert code == 200, data
    return sorted((it for it in json.loads(data)["items"] if it["queue_id"] == qid),
                  key=lambda it: it["id"])


def _held(st, r, n=1):
    assert r.ok, r.transcript
    return wait_for(lambda: (lambda got: got if len(got) >= n else None)(_items(st, r.queue_id)),
                    timeout=60, what="%d held item(s) for %s" % (n, r.queue_id))


@pytest.fixture(scope="module")
def st(stack):
    st = stack
    if not st.milter_running or not st.quarantined_running:
        pytest.fail("moat-milter and moat-quarantined must both run in the stack")
    ctl = lambda *a: st.moatctl(*a, check=True)  # noqa: E731
    ctl("policy", "add", "omega-hold", "--on_infected", "quarantine",
        "--on_unscannable", "quarantine", "--heuristics", "yes", "--auto_release_fp", "yes",
        "--digest", "yes", "--digest_to", "recipients")
    ctl("subscriber", "add", "Omega", "--contact", "postmaster@omega.example",
        "--policy", "omega-hold")
    ctl("domain", "add", "omega.example", "Omega")
    (omega,) = [r["id"] for r in st.sql("SELECT id FROM subscribers WHERE name = 'Omega'")]
    st.sql("INSERT INTO subscriber_credentials(subscriber_id, kind, secret_hash) "
           "VALUES (?, 'token', ?)", (omega, hashlib.sha256(TOKEN.encode()).hexdigest()))
    st.omega = omega
    st.qport = _free_port()
    st.reconfigure("quarantined", "listen_tcp", "127.0.0.1:%d" % st.qport)
    wait_policy(st)
    return st


def _released(st):
    return [m for m in st.sink_messages() if m.header("X-Moat-Released") is not None]


def _tcp(st, method, path, token=TOKEN, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (st.qport, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else b"",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_two_subscribers_one_file_one_item_each(st):
    tag = uniq("q8-split")
    r = st.send(["u1@alpha.example", "u2@alpha.example", "v@omega.example"], subject=tag,
                body="two subscribers\r\n", attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    items = _held(st, r, 2)
    assert len(items) == 2, items
    by_sub = {it["subscriber_id"]: it for it in items}
    assert sorted(by_sub) == sorted([1, st.omega]), items
    assert by_sub[1]["recipients"] == ["u1@alpha.example", "u2@alpha.example"]
    assert by_sub[st.omega]["recipients"] == ["v@omega.example"]
    # one stored file for both
    assert items[0]["sha256"] == items[1]["sha256"]
    sha = items[0]["sha256"]
    spool = os.path.join(st.env["SPOOL_DIR"], "quarantine", sha[:2])
    assert os.listdir(spool).count(sha) == 1
    # Omega's token sees its own item only, and never Alpha's recipients
    code, j = _tcp(st, "GET", "/v1/items?limit=1000")
    assert code == 200
    mine = [it for it in j["items"] if it["queue_id"] == r.queue_id]
    assert [it["id"] for it in mine] == [by_sub[st.omega]["id"]], mine
    assert "alpha.example" not in json.dumps(j["items"])
    assert _tcp(st, "GET", "/v1/items/%d" % by_sub[1]["id"])[0] == 404
    # deleting one item keeps the file the other still holds
    assert _tcp(st, "DELETE", "/v1/items/%d" % by_sub[st.omega]["id"])[0] == 200
    assert os.path.exists(os.path.join(spool, sha))
    code, raw = st.quarantine_api("GET", "/v1/items/%d/raw" % by_sub[1]["id"])
    assert code == 200 and hashlib.sha256(raw).hexdigest() == sha
    # releasing Alpha's item reaches Alpha's recipients only
    st.sink_clear()
    code, data = st.quarantine_api("POST", "/v1/items/%d/release" % by_sub[1]["id"], "")
    assert code == 200, data
    [m] = st.wait_sink(lambda m: m.header("X-Moat-Released") is not None, timeout=60)
    assert sorted(m.rcpt_to) == ["u1@alpha.example", "u2@alpha.example"], m.rcpt_to


def test_encrypted_zip_not_released_by_rescan_nor_by_subscriber(st):
    tag = uniq("q8-enc")
    r = st.send("v@omega.example", subject=tag, body="encrypted\r\n",
                attach=[("e.zip", encrypted_zip(), "application/zip")], extra=OUTSIDE)
    [item] = _held(st, r)
    assert item["viruses"] == ["Heuristics.Encrypted.Zip"], item
    assert item["subscriber_id"] == st.omega, item
    st.sink_clear()
    code, data = st.quarantine_api("POST", "/v1/rescan", "", timeout=120)
    assert code == 200, data
    code, data = st.quarantine_api("GET", "/v1/items/%d" % item["id"])
    after = json.loads(data)
    assert after["status"] == "held" and after["fp_candidate"] == 0, after
    assert after["viruses"] == ["Heuristics.Encrypted.Zip"], after
    assert _released(st) == [], "the rescan released a heuristic hold"
    assert after["hold"] == "unscannable", after
    assert after["scan_settings"]["heuristics"] is True, after
    # a subscriber token may not release it; the operator may
    code, j = _tcp(st, "POST", "/v1/items/%d/release" % item["id"])
    assert code == 403 and "operator" in j["error"], j
    wait_for(lambda: st.sql("SELECT count(*) AS n FROM events WHERE kind ="
                            " 'quarantine.release_denied' AND subscriber_id = ?",
                            (st.omega,))[0]["n"] >= 1, timeout=30, what="release_denied event")
    code, data = st.quarantine_api("POST", "/v1/items/%d/release" % item["id"], "")
    assert code == 200, data
    [m] = st.wait_sink(lambda m: m.header("X-Moat-Released") is not None, timeout=60)
    assert m.rcpt_to == ["v@omega.example"]


def test_token_releases_only_to_own_recipients(st):
    tag = uniq("q8-rel")
    r = st.send(["v@omega.example", "w@omega.example"], subject=tag, body="mine\r\n",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    [item] = _held(st, r)
    assert item.get("hold") in ("virus", None)
    path = "/v1/items/%d/release" % item["id"]
    st.sink_clear()
    for bad in (["attacker@example.net"], ["v@omega.example", "attacker@example.net"],
                ["u1@alpha.example"], ["v@omega.example.evil"], ["x@omega.example"]):
        code, j = _tcp(st, "POST", path, body={"recipients": bad})
        assert code == 403 and "not a recipient" in j["error"], (bad, code, j)
    for bad in (["v@omega.example\r\nRCPT TO:<attacker@example.net>"],
                ["attacker@example.net\u0000v@omega.example"], ["<>"], [""], [7],
                ["a@b.example"] * 1001):
        code, j = _tcp(st, "POST", path, body={"recipients": bad})
        assert code == 400, (bad[:2], code, j)
    assert _released(st) == []
    # the item's own recipient, in another spelling, is the same address
    code, j = _tcp(st, "POST", path, body={"recipients": ["W@Omega.EXAMPLE", "w@omega.example"]})
    assert code == 200, j
    [m] = st.wait_sink(lambda m: m.header("X-Moat-Released") is not None, timeout=60)
    assert m.rcpt_to == ["w@omega.example"], m.rcpt_to


def test_per_recipient_digest_names_only_its_recipient(st):
    tag = uniq("q8-dig")
    r = st.send(["da@omega.example", "db@omega.example"], subject=tag, body="digest\r\n",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    [item] = _held(st, r)
    st.sink_clear()
    code, data = st.quarantine_api("POST", "/v1/digests", "")
    assert code == 200, data
    got = {}
    for to in ("da@omega.example", "db@omega.example"):
        [d] = st.wait_sink(lambda m, to=to: (m.subject or "").startswith("Quarantine digest")
                           and m.rcpt_to == [to], timeout=60)
        got[to] = d.text
    for to, other in (("da@omega.example", "db@omega.example"),
                      ("db@omega.example", "da@omega.example")):
        assert "moatctl quarantine release %d" % item["id"] in got[to]
        assert other not in got[to], "%s's digest shows %s:\n%s" % (to, other, got[to])
