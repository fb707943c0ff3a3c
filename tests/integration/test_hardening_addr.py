# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8, holes 4 and 5, through a real Postfix (ctl/moat-stack).

4. One canonical address form: a recipient override for ceo@delta.example
   applies to every spelling Postfix delivers to that mailbox
   (ceo@delta.example., "ceo"@delta.example, CEO@DELTA.EXAMPLE); RFC 5321
   length limits are a clear 553 at MAIL (5.1.7) and RCPT (5.1.3).
5. Threat sources: every check runs and the most severe listing wins (a HELO
   on a tag-only suspect_domain does not hide a sender domain listed as
   domain); a sender of 1,024 octets or more is refused, not let past the
   domain check; an SMTPUTF8 sender at a U-label domain matches its listed
   A-label.

Delta (.delta.example, policy delta-tag: scan all, tag) is set up with
moatctl, with an override delta-ceo (scan all, reject) for ceo@delta.example.
The client is 127.0.0.2 (nobody's network) throughout.
"""
import smtplib

import pytest

from moatstack import EICAR, OUTSIDE, uniq, wait_for, wait_policy

CLIENT = ("127.0.0.2", 0)


@pytest.fixture(scope="module")
def delta(st):
    """Delta with a tag policy and a reject override for ceo@delta.example,
    plus the listings the threat tests use."""
    def ok(*args):
        st.moatctl(*args, check=True)
    ok("policy", "add", "delta-tag", "--scan_mode", "all", "--on_infected", "tag",
       "--heuristics", "no")
    ok("policy", "add", "delta-ceo", "--scan_mode", "all", "--on_infected", "reject",
       "--heuristics", "no")
    ok("subscriber", "add", "Delta", "--policy", "delta-tag")
    ok("domain", "add", ".delta.example", "Delta")
    ok("policy", "recipient", "ceo@delta.example", "delta-ceo")
    ok("threat", "add", "suspect_domain", "shady.example", "--reason", "tag only")
    ok("threat", "add", "domain", "xn--bse-sna.example", "--reason", "idn listed")
    wait_policy(st)
    return st


def session(st, mail_from, rcpts=(), helo="client.example.net", utf8=False):
    """One SMTP session from 127.0.0.2: EHLO, MAIL, each RCPT, RSET, QUIT.
    Returns (mail_reply, [rcpt_reply, ...]) as (code, text) pairs."""
    s = smtplib.SMTP("127.0.0.1", int(st.env["SMTP_PORT"]), timeout=60,
                     source_address=CLIENT)
    try:
        s.ehlo(helo)
        opts = ["SMTPUTF8"] if utf8 else []
        if utf8:
            assert s.has_extn("smtputf8"), "Postfix does not offer SMTPUTF8"
        code, text = s.mail(mail_from, opts)
        mail = (code, text.decode("utf-8", "replace"))
        out = []
        if code == 250:
            for r in rcpts:
                c, t = s.rcpt(r)
                out.append((c, t.decode("utf-8", "replace")))
        s.rset()
        return mail, out
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            s.close()


# ------------------------------------------------------------ hole 4

@pytest.mark.parametrize("rcpt", ["ceo@delta.example", "ceo@delta.example.",
                                  '"ceo"@delta.example', "CEO@DELTA.EXAMPLE",
                                  '"C\\EO"@Delta.Example.'])
def test_override_applies_to_every_spelling(delta, rcpt):
    st = delta
    r = st.send(rcpt, subject=uniq("ovr"), body="see attachment",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    assert r.queue_id is None, "override (reject) not applied to %s:\n%s" % (rcpt, r.transcript)
    last = r.last_reply()
    assert last.startswith("550") and "Eicar-Test-Signature" in last, r.transcript


def test_subscriber_policy_without_override(delta):
    """The control: another Delta mailbox gets Delta's tag policy."""
    st = delta
    subj = uniq("tagged")
    r = st.send("u@delta.example", subject=subj, body="see attachment",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert "Eicar" in (m.header("X-Moat-Status") or ""), m.data[:800]


def test_moatctl_stores_canonical_forms(delta):
    st = delta
    st.moatctl("policy", "recipient", '<"Boss"@Delta.Example.>', "delta-ceo", check=True)
    assert st.sql("SELECT address FROM recipient_policies WHERE address LIKE '%boss%'") == \
        [{"address": "boss@delta.example"}]
    st.moatctl("threat", "add", "domain", "Gefährlich.Example.", "--reason", "u-label",
               check=True)
    rows = st.sql("SELECT value FROM threat_sources WHERE reason = 'u-label'")
    assert rows == [{"value": "xn--gefhrlich-x2a.example"}], rows
    r = st.moatctl("policy", "recipient", "a" * 65 + "@delta.example", "delta-ceo")
    assert r.returncode != 0 and "64 octets" in r.stderr, r.stderr
    wait_policy(st)
    # The listing an operator typed as a U-label refuses its A-label sender.
    mail, _ = session(st, "x@mx.xn--gefhrlich-x2a.example")
    assert mail[0] == 550 and "threat source" in mail[1], mail


# Local part, domain: at and past the limits (RFC 5321 4.5.3.1), to Delta.
def sub_delta(total):
    """A subdomain of delta.example of total octets (labels of 63)."""
    tail = ".delta.example"
    n = total - len(tail)
    labels, left = [], n
    while left > 0:
        k = min(63, left)
        if left - k == 1:          # never leave a lone dot's worth
            k -= 1
        labels.append("d" * k)
        left -= k + 1
    name = ".".join(labels) + tail
    assert len(name) == total, (len(name), total)
    return name


@pytest.mark.parametrize("name,rcpt,want", [
    ("local 64", "a" * 64 + "@delta.example", 250),
    ("local 65", "a" * 65 + "@delta.example", 553),
    ("local 1,024", "a" * 1024 + "@delta.example", 553),
    ("quoted 64", '"' + "a b" + "c" * 59 + '"@delta.example', 250),
    ("quoted 65", '"' + "a b" + "c" * 60 + '"@delta.example', 553),
    ("path 256", "a" * 64 + "@" + sub_delta(189), 250),
    ("path 257", "a" * 64 + "@" + sub_delta(190), 553),
    ("domain 255, path 259", "a@" + sub_delta(255), 553),
    ("domain 256", "a@" + sub_delta(256), 501),     # Postfix refuses it itself
])
def test_recipient_limits(delta, name, rcpt, want):
    mail, [(code, text)] = session(delta, "sender@example.net", [rcpt])
    assert mail[0] == 250, mail
    assert code == want, "%s: got %d %s" % (name, code, text)
    if want != 250:
        assert text.startswith("5.1.3") and "recipient address" in text, text


# ------------------------------------------------------------ hole 5

def test_suspect_helo_does_not_hide_listed_sender_domain(delta):
    st = delta
    mail, _ = session(st, "x@evil.example", helo="mx.shady.example")
    assert mail[0] == 550 and mail[1].startswith("5.7.1"), mail
    assert "sender domain evil.example" in mail[1], mail
    ev = wait_for(lambda: [e for e in st.sql(
        "SELECT detail_json FROM events WHERE kind = 'mail.threat_source' "
        "AND detail_json LIKE '%shady.example%' AND detail_json LIKE '%evil.example%'")],
        15, what="threat event with both matches")
    d = ev[-1]["detail_json"]
    assert '"action":"reject"' in d.replace(" ", "") and '"nmatches":2' in d.replace(" ", ""), d


@pytest.mark.parametrize("local,domain", [
    (1024, "evil.example"),         # listed: was let past the domain check
    (1100, "example.net"),
    (600, "evil.example"),          # was logged as <>
    (65, "example.net"),
])
def test_long_sender_refused(delta, local, domain):
    mail, _ = session(delta, "a" * local + "@" + domain, ["u@delta.example"])
    assert mail[0] == 553 and mail[1].startswith("5.1.7"), mail
    assert "local part longer than 64 octets" in mail[1], mail


def test_sender_at_limit_accepted(delta):
    mail, [rc] = session(delta, "a" * 64 + "@example.net", ["u@delta.example"])
    assert mail[0] == 250 and rc[0] == 250, (mail, rc)


@pytest.mark.parametrize("sender", ["x@böse.example", "x@BÖSE.example.",
                                    "jösé@mx.böse.example"])
def test_smtputf8_sender_matches_a_label(delta, sender):
    mail, _ = session(delta, sender, ["u@delta.example"], utf8=True)
    assert mail[0] == 550 and "threat source" in mail[1], mail
    assert "xn--bse-sna.example" in mail[1], mail


def test_smtputf8_clean_sender_accepted(delta):
    mail, [rc] = session(delta, "jösé@bücher.example", ["u@delta.example"], utf8=True)
    assert mail[0] == 250 and rc[0] == 250, (mail, rc)


def test_every_match_in_threat_header_when_tagging(delta):
    """With threat_action = tag the message passes, and X-Moat-Threat names
    every listing that matched, not just the first."""
    st = delta
    st.reconfigure("milter", "threat_action", "tag")
    try:
        subj = uniq("alltags")
        r = st.send("u@delta.example", from_="x@mx.evil.example", helo="mx.shady.example",
                    subject=subj, body="x", extra=OUTSIDE)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        v = m.header("X-Moat-Threat") or ""
        assert "HELO mx.shady.example: suspect_domain shady.example" in v, v
        assert "sender domain mx.evil.example: domain evil.example" in v, v
    finally:
        st.reconfigure("milter", "threat_action", "reject")
