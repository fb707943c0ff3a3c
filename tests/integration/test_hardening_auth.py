# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8, hole 3: outbound service only for a client that proved whose it
is, through a real Postfix with the stack's Dovecot doing SMTP AUTH.

A sender domain proves nothing: from an outside client (127.0.0.77, in no
subscriber's networks; Postfix listens on 127.0.0.1) MAIL FROM at a
subscriber's domain must not make other domains "served".  Outbound service
is bought by the client address (a subscriber's networks: Alpha 127.0.0.1,
Beta 127.0.0.3 in the demo seed) or by SMTP AUTH as one of the subscriber's
logins (`moatctl login`, yescrypt in subscriber_credentials, verified by
Dovecot's SQL passdb).  Postfix's mynetworks covers all of 127/8, so Postfix
itself would relay for every client here: the milter's decision is what is
tested.
"""
import glob
import itertools
import os
import re
import subprocess

import pytest

from moatstack import EICAR, uniq, wait_for, wait_policy

FAR = "127.0.0.77"                       # an outside client
BETA_NET = "127.0.0.3"                   # Beta's network (sql/seed-demo.sql)
BETA_LOGIN, BETA_PW = "relay@beta.example", "beta relay pass 1"
# Beta's policy scans executables only: a text message is left unscanned.
BETA_STATUS = "unscanned (no executable content)"
GAMMA_LOGIN, GAMMA_PW = "relay@gamma.example", "gamma relay pass 1"


_bad = itertools.count(10)


def bad_source():
    """A fresh outside address for an AUTH meant to fail.  Dovecot delays
    the next AUTH from an address after failures (2, 4, 8, 15 s), and
    Postfix gives the Dovecot reply 10 s before it answers 454: so every
    expected failure comes from an address of its own, and FAR never
    fails."""
    return "127.0.1.%d" % next(_bad)


@pytest.fixture(scope="module")
def sa(st):
    """The stack with a login for Beta and one for Gamma (suspended), known
    to the milter's policy snapshot."""
    if st.env.get("DOVECOT") != "running" or not st.running("dovecot"):
        pytest.fail("dovecot is not running in the stack:\n" + st.tails())
    st.login_add(BETA_LOGIN, "Beta", BETA_PW)
    st.login_add(GAMMA_LOGIN, "Gamma", GAMMA_PW)
    wait_policy(st)
    return st


def milter_lines(st, needle):
    return [x for x in st.log("milter").splitlines() if needle in x]


def said(r, code):
    """The server answered code (swaks marks errors "<**", others "<-")."""
    return re.search(r"(?m)^\s*<\S*\s+%s[ -]" % code, r.transcript) is not None


def refused_5xx(r, what):
    return any(x.startswith("550 5.7.1") and what in x for x in r.replies)


# ------------------------------------------------------------ (a) forged sender domain

def test_forged_sender_domain_buys_no_relay(sa):
    """MAIL FROM at Alpha's domain from outside: an unserved recipient is
    refused, exactly as with an outside sender."""
    subj = uniq("forged-relay")
    r = sa.send("someone@example.org", from_="ceo@alpha.example", subject=subj, body="hi",
                source=FAR)
    assert r.queue_id is None, r.transcript
    assert refused_5xx(r, "relay not permitted"), r.replies
    assert not milter_lines(sa, "outbound for subscriber=Alpha"), "served as Alpha's outbound"


def test_forged_sender_domain_eicar_not_alphas_outbound(sa):
    """EICAR from a forged Alpha sender to an unserved address and a Beta
    one: the unserved recipient is refused at RCPT, and Beta's own policy
    (executables, reject) decides for Beta, not Alpha's strict repair."""
    subj = uniq("forged-eicar")
    r = sa.send(["victim@example.org", "u7@beta.example"], from_="ceo@alpha.example",
                subject=subj, body="see attachment", attach=[("eicar.com", EICAR)], source=FAR)
    assert refused_5xx(r, "relay not permitted"), r.replies
    assert r.queue_id is None and r.last_reply().startswith("550"), r.transcript
    assert "Eicar" in r.last_reply(), r.last_reply()
    assert not milter_lines(sa, "outbound for subscriber=Alpha")
    assert not [m for m in sa.sink_messages() if subj in m.subject]
    assert not sa.sql("SELECT 1 FROM quarantine WHERE sender = 'ceo@alpha.example'")


# ------------------------------------------------------------ (b) network

def test_subscriber_network_served_outbound(sa):
    subj = uniq("net-out")
    r = sa.send("someone@example.org", from_="u@beta.example", subject=subj, body="hi",
                source=BETA_NET)
    assert r.ok, r.transcript
    [m] = sa.wait_sink(lambda m: subj in m.subject)
    assert m.header("X-Moat-Status").startswith(BETA_STATUS), m.header("X-Moat-Status")
    assert milter_lines(sa, "client=%s login=- outbound for subscriber=Beta via=network" % BETA_NET)
    # Beta's policy decides: executables, reject.
    r = sa.send("someone@example.org", from_="u@beta.example", subject=uniq("net-eicar"),
                body="x", attach=[("eicar.com", EICAR)], source=BETA_NET)
    assert r.queue_id is None and r.last_reply().startswith("550"), r.transcript


# ------------------------------------------------------------ (c) login

def test_login_served_outbound_by_its_policy(sa):
    subj = uniq("login-out")
    r = sa.send("someone@example.org", from_="u@beta.example", subject=subj, body="hi",
                source=FAR, auth=(BETA_LOGIN, BETA_PW))
    assert said(r, "235"), r.transcript
    assert r.ok, r.transcript
    [m] = sa.wait_sink(lambda m: subj in m.subject)
    assert m.header("X-Moat-Status").startswith(BETA_STATUS), m.header("X-Moat-Status")
    assert milter_lines(sa, "client=%s login=%s outbound for subscriber=Beta via=login"
                        % (FAR, BETA_LOGIN))
    r = sa.send("someone@example.org", from_="u@beta.example", subject=uniq("login-eicar"),
                body="x", attach=[("eicar.com", EICAR)], source=FAR, auth=(BETA_LOGIN, BETA_PW))
    assert r.queue_id is None and r.last_reply().startswith("550"), r.transcript
    assert "Eicar" in r.last_reply()


def test_login_upper_case_is_the_same_login(sa):
    subj = uniq("login-case")
    r = sa.send("someone@example.org", from_="u@beta.example", subject=subj, body="hi",
                source=FAR, auth=(BETA_LOGIN.upper(), BETA_PW))
    assert r.ok, r.transcript
    sa.wait_sink(lambda m: subj in m.subject)


def test_login_wins_over_sender_domain(sa):
    """AUTH as Beta's login with MAIL FROM at Alpha's domain: Beta, the
    authenticated subscriber, is served (Beta's reject, not Alpha's
    repair)."""
    r = sa.send("someone@example.org", from_="ceo@alpha.example", subject=uniq("login-alpha"),
                body="x", attach=[("eicar.com", EICAR)], source=FAR, auth=(BETA_LOGIN, BETA_PW))
    assert r.queue_id is None and r.last_reply().startswith("550"), r.transcript
    assert milter_lines(sa, "from=<ceo@alpha.example> to=<someone@example.org> client=%s "
                        "login=%s outbound for subscriber=Beta via=login" % (FAR, BETA_LOGIN))


# ------------------------------------------------------------ (d) wrong password

def test_wrong_password_refused(sa):
    r = sa.send("someone@example.org", from_="u@beta.example", subject=uniq("badpw"), body="x",
                source=bad_source(), auth=(BETA_LOGIN, "not the password"))
    assert said(r, "535"), r.replies
    assert r.queue_id is None
    r = sa.send("someone@example.org", from_="u@beta.example", subject=uniq("nologin"), body="x",
                source=bad_source(), auth=("nobody@beta.example", BETA_PW))
    assert said(r, "535"), r.replies


# ------------------------------------------------------------ (e) suspended

def test_suspended_subscribers_login_refused(sa):
    r = sa.send("someone@example.org", from_="u@gamma.example", subject=uniq("gamma"), body="x",
                source=bad_source(), auth=(GAMMA_LOGIN, GAMMA_PW))
    assert said(r, "535"), r.replies
    assert r.queue_id is None


def test_suspending_a_subscriber_refuses_its_login(sa):
    sa.moatctl("subscriber", "add", "Epsilon", "--policy", "executables-reject", check=True)
    sa.login_add("out@epsilon.example", "Epsilon", "epsilon pass 1")
    wait_policy(sa)
    try:
        subj = uniq("eps")
        r = sa.send("someone@example.org", from_="u@epsilon.example", subject=subj, body="x",
                    source=FAR, auth=("out@epsilon.example", "epsilon pass 1"))
        assert r.ok, r.transcript
        assert milter_lines(sa, "outbound for subscriber=Epsilon via=login")
        sa.moatctl("subscriber", "set", "Epsilon", "status", "suspended", check=True)
        wait_policy(sa)
        r = sa.send("someone@example.org", from_="u@epsilon.example", subject=uniq("eps2"),
                    body="x", source=bad_source(), auth=("out@epsilon.example", "epsilon pass 1"))
        assert said(r, "535"), r.replies
        assert r.queue_id is None
    finally:
        sa.moatctl("subscriber", "remove", "Epsilon")
        wait_policy(sa)


# ------------------------------------------------------------ (f) moatctl login

def moatctl_in(st, args, stdin):
    return subprocess.run([st.env["MOATCTL"], "-d", st.env["DB"]] + args, input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_moatctl_login_life_cycle(sa):
    login, pw1, pw2 = "Ops@Alpha.Example", "first secret 1", "second secret 2"
    r = moatctl_in(sa, ["login", "add", login, "Alpha", "--password-stdin"], pw1 + "\n")
    assert r.returncode == 0, r.stderr
    [row] = sa.sql("SELECT login, kind, secret_hash FROM subscriber_credentials "
                   "WHERE login = 'ops@alpha.example'")
    assert row["kind"] == "password" and row["secret_hash"].startswith("$y$"), row
    assert pw1 not in row["secret_hash"]
    # Twice the same secret: two salts, two hashes.
    r = moatctl_in(sa, ["login", "add", "ops2@alpha.example", "Alpha", "--password-stdin"],
                   pw1 + "\n")
    assert r.returncode == 0, r.stderr
    [h2] = sa.sql("SELECT secret_hash FROM subscriber_credentials WHERE login = 'ops2@alpha.example'")
    assert h2["secret_hash"] != row["secret_hash"]

    out = moatctl_in(sa, ["login", "list", "Alpha"], "")
    assert out.returncode == 0 and "ops@alpha.example" in out.stdout, out
    assert "$y$" not in out.stdout and "beta" not in out.stdout
    assert moatctl_in(sa, ["login", "add", login, "Beta", "--password-stdin"],
                      pw1 + "\n").returncode == 1                     # exists
    assert moatctl_in(sa, ["login", "add", "x@alpha.example", "Alpha", pw1],
                      "").returncode == 2                             # never in argv
    assert moatctl_in(sa, ["login", "add", "x@alpha.example", "Alpha", "--password-stdin"],
                      "short\n").returncode == 1
    assert not sa.sql("SELECT 1 FROM subscriber_credentials WHERE login = 'x@alpha.example'")

    wait_policy(sa)
    ok = sa.send("someone@example.org", from_="u@alpha.example", subject=uniq("ops1"), body="x",
                 source=FAR, auth=(login, pw1))
    assert ok.ok, ok.transcript
    assert milter_lines(sa, "login=ops@alpha.example outbound for subscriber=Alpha via=login")

    pwfile = os.path.join(sa.dir, "pw2.txt")
    with open(pwfile, "w") as f:
        f.write(pw2 + "\n")
    os.chmod(pwfile, 0o600)                  # root's file: read before the drop to moat
    r = moatctl_in(sa, ["login", "passwd", login, "--password-file", pwfile], "")
    assert r.returncode == 0, r.stderr
    os.unlink(pwfile)
    [row2] = sa.sql("SELECT secret_hash FROM subscriber_credentials WHERE login = 'ops@alpha.example'")
    assert row2["secret_hash"].startswith("$y$") and row2["secret_hash"] != row["secret_hash"]
    old = sa.send("someone@example.org", from_="u@alpha.example", subject=uniq("ops2"), body="x",
                  source=bad_source(), auth=(login, pw1))
    assert said(old, "535"), old.replies
    new = sa.send("someone@example.org", from_="u@alpha.example", subject=uniq("ops3"), body="x",
                  source=FAR, auth=(login, pw2))
    assert new.ok, new.transcript

    assert moatctl_in(sa, ["login", "remove", login], "").returncode == 0
    assert moatctl_in(sa, ["login", "remove", login], "").returncode == 1
    assert moatctl_in(sa, ["login", "remove", "ops2@alpha.example"], "").returncode == 0
    gone = sa.send("someone@example.org", from_="u@alpha.example", subject=uniq("ops4"), body="x",
                   source=bad_source(), auth=(login, pw2))
    assert said(gone, "535"), gone.replies

    # No secret in any log of the stack.
    for path in glob.glob(os.path.join(sa.dir, "log", "*")):
        with open(path, "rb") as f:
            data = f.read()
        for secret in (pw1, pw2, BETA_PW, GAMMA_PW):
            assert secret.encode() not in data, "%s holds a password" % path


def test_status_and_restart_know_dovecot(sa):
    rc, out = sa.status()
    assert rc == 0 and "dovecot" in out and "running" in out.split("dovecot", 1)[1].split("\n")[0], out
    pid = sa.pid("dovecot")
    sa.restart("dovecot")
    assert sa.pid("dovecot") != pid and sa.running("dovecot")
    r = wait_for(lambda: (lambda x: x if x.ok else None)(
        sa.send("someone@example.org", from_="u@beta.example", subject=uniq("after-restart"),
                body="x", source=FAR, auth=(BETA_LOGIN, BETA_PW))), 30, 1, "AUTH after restart")
    assert r.ok
