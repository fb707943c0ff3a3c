# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 4's proof through the full stack (ctl/moat-stack): Postfix ->
moat-milter -> moat-quarantined -> release through Postfix's re-injection
port -> the sink.  Needs moat-milter; skipped (not failed) without it.
"""
import hashlib
import json
import os
import re

import pytest

from moatstack import EICAR, wait_for


def _need_both(st):
    if not st.milter_running or not st.quarantined_running:
        pytest.skip("moat-milter and moat-quarantined must both run in the stack")


def _items(st, **filters):
    q = "&".join("%s=%s" % kv for kv in filters.items())
    code, data = st.quarantine_api("GET", "/v1/items" + ("?" + q if q else ""))
    assert code == 200, data
    return json.loads(data)["items"]


def test_infected_mail_held_released_rescanned_digested_purged(stack):
    st = stack
    _need_both(st)
    body = "Infected test message for the quarantine.\r\n"
    r = st.send("user@alpha.example", subject="quarantine-stack-1", body=body,
                attach=[("eicar.com", EICAR)])
    assert r.ok, r.transcript
    # held: the milter stored it before answering Postfix
    found = wait_for(lambda: [it for it in _items(st) if it["queue_id"] == r.queue_id],
                     timeout=60, what="held item for %s" % r.queue_id)
    item = found[0]
    assert item["status"] == "held" and item["subscriber_id"] == 1
    assert item["recipients"] == ["user@alpha.example"]
    assert any("Eicar" in v for v in item["viruses"]), item
    code, raw = st.quarantine_api("GET", "/v1/items/%d/raw" % item["id"])
    assert code == 200
    assert hashlib.sha256(raw).hexdigest() == item["sha256"] and len(raw) == item["size"]
    # the stored original carries the attachment and the body swaks sent
    assert b"Subject: quarantine-stack-1" in raw and b"Infected test message" in raw
    spool = os.path.join(st.env["SPOOL_DIR"], "quarantine", item["sha256"][:2], item["sha256"])
    with open(spool, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == item["sha256"]

    # release: through Postfix's re-injection port to the sink
    st.sink_clear()
    code, data = st.quarantine_api("POST", "/v1/items/%d/release" % item["id"], "")
    assert code == 200, data
    assert json.loads(data)["reply"].startswith("250")
    [m] = st.wait_sink(lambda m: m.header("X-Moat-Released") is not None, timeout=60)
    released = m.data
    assert released.endswith(raw), "released bytes are not the stored original"
    prefix = released[:-len(raw)]
    hdrs = re.findall(rb"(?m)^([A-Za-z-]+):", prefix)
    assert b"X-Moat-Released" in hdrs and set(hdrs) <= {b"Received", b"X-Moat-Released"}, prefix
    code, data = st.quarantine_api("POST", "/v1/items/%d/release" % item["id"], "")
    assert code == 409

    # a second infected message: rescan after the signature is withdrawn
    r2 = st.send("user@alpha.example", subject="quarantine-stack-2", body=body,
                 attach=[("eicar.com", EICAR)])
    assert r2.ok, r2.transcript
    it2 = wait_for(lambda: [it for it in _items(st) if it["queue_id"] == r2.queue_id],
                   timeout=60, what="second held item")[0]
    sigs = st.env["SIGS_DIR"]
    removed = [f for f in os.listdir(sigs) if "eicar" in f.lower()]
    assert removed, os.listdir(sigs)
    for f in removed:
        os.rename(os.path.join(sigs, f), os.path.join(st.dir, f + ".off"))
    try:
        code, data = st.quarantine_api("POST", "/v1/rescan", "", timeout=120)
        assert code == 200, data
        code, data = st.quarantine_api("GET", "/v1/items/%d" % it2["id"])
        after = json.loads(data)
        assert after["fp_candidate"] == 1 and after["viruses"] == [], after
    finally:
        for f in removed:
            os.rename(os.path.join(st.dir, f + ".off"), os.path.join(sigs, f))

    # digests: Alpha's policy (strict) has digest = 1
    st.sink_clear()
    code, data = st.quarantine_api("POST", "/v1/digests", "")
    assert code == 200 and json.loads(data)["sent"] >= 1, data
    [d] = st.wait_sink(lambda m: (m.subject or "").startswith("Quarantine digest"), timeout=60)
    assert "moatctl quarantine release %d" % it2["id"] in d.text

    # purge honours retention (strict: 30 days)
    st.sql("UPDATE quarantine SET received = received - 31*86400 WHERE id = ?", (it2["id"],))
    code, data = st.quarantine_api("POST", "/v1/purge", "")
    assert code == 200 and json.loads(data)["purged"] >= 1
    assert st.sql("SELECT id FROM quarantine WHERE id = ?", (it2["id"],)) == []
    assert st.sql("SELECT status FROM quarantine WHERE id = ?", (item["id"],)) == \
        [{"status": "released"}]
