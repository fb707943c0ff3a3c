# SPDX-License-Identifier: GPL-2.0-or-later
"""Who may download from moat-updated (issue 10, item 2), through a real
stack and curl: an active subscriber's network, a Basic login (the SMTP AUTH
logins), a registered TLS client certificate; everyone else, and suspended
subscribers, get 403 and the denial page and an update.denied event;
X-Forwarded-For counts only from trusted proxies; bad passwords are
throttled per client without hurting others.

Demo addresses: 127.0.0.1 is Alpha's network, 127.0.0.3 Beta's, 127.0.0.2
nobody's (see sql/seed-demo.sql)."""
import json
import os
import subprocess
import time

import pytest

from moatstack import http_request, wait_for

BETA_LOGIN, BETA_PW = "dl@beta.example", "beta-downloads-1"
GAMMA_LOGIN, GAMMA_PW = "dl@gamma.example", "gamma-downloads-1"


@pytest.fixture(scope="module")
def ua(stack):
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    stack.login_add(BETA_LOGIN, "Beta", BETA_PW)
    stack.login_add(GAMMA_LOGIN, "Gamma", GAMMA_PW)
    stack.moatctl("network", "add", "127.0.0.4/32", "Gamma", check=True)
    time.sleep(2.5)         # the policy watcher polls every second
    return stack


def denied_events(st, src):
    rows = st.sql("SELECT detail_json FROM events WHERE kind = 'update.denied' AND src_ip = ?",
                  (src,))
    return [json.loads(r["detail_json"]) for r in rows]


def test_subscriber_network_gets_the_page(ua):
    s, head, body = http_request(ua.env["UPDATED_URL"] + "/")
    assert s == 200 and b"<" in body
    assert "text/html" in head
    s, head, body = http_request(ua.env["UPDATED_URL"] + "/", "-I")   # HEAD: no body
    assert s == 200 and b"<" not in body


def test_outsider_is_denied_with_page_and_event(ua):
    before = len(denied_events(ua, "127.0.0.2"))
    s, head, body = http_request(ua.env["UPDATED_URL"] + "/", source="127.0.0.2")
    assert s == 403 and "text/html" in head and body
    ev = wait_for(lambda: denied_events(ua, "127.0.0.2")[before:] or None, timeout=10,
                  what="update.denied event")
    assert ev[-1]["reason"] == "not a subscriber"


def test_suspended_network_is_denied(ua):
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/", source="127.0.0.4")
    assert s == 403
    ev = wait_for(lambda: denied_events(ua, "127.0.0.4") or None, timeout=10,
                  what="update.denied event")
    assert ev[-1]["reason"] == "suspended"


def test_basic_login_from_outside(ua):
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/", "-u", "%s:%s" % (BETA_LOGIN, BETA_PW),
                           source="127.0.0.2")
    assert s == 200
    # A login's case does not matter (logins are kept in lower case).
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/", "-u",
                           "%s:%s" % (BETA_LOGIN.upper(), BETA_PW), source="127.0.0.2")
    assert s == 200


def test_wrong_password_is_401_even_inside_a_network(ua):
    s, head, _ = http_request(ua.env["UPDATED_URL"] + "/", "-u", "%s:wrong" % BETA_LOGIN,
                              source="127.0.0.1")
    assert s == 401 and 'WWW-Authenticate: Basic realm="moat-updated"' in head


def test_suspended_login_is_403(ua):
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/", "-u", "%s:%s" % (GAMMA_LOGIN, GAMMA_PW),
                           source="127.0.0.2")
    assert s == 403


def test_login_route_challenges_then_redirects(ua):
    s, head, _ = http_request(ua.env["UPDATED_URL"] + "/login", source="127.0.0.2")
    assert s == 401 and "WWW-Authenticate: Basic" in head
    s, head, _ = http_request(ua.env["UPDATED_URL"] + "/login", "-u",
                              "%s:%s" % (BETA_LOGIN, BETA_PW), source="127.0.0.2")
    assert s == 303 and "Location: /" in head


def test_client_certificate(ua, tmp_path):
    """A certificate registered to Beta opens the page over HTTPS from an
    outside address; an unregistered one, or none, does not."""
    def make(name):
        key, crt = tmp_path / (name + ".key"), tmp_path / (name + ".crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=" + name, "-keyout", str(key), "-out", str(crt)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                             str(crt)], check=True, stdout=subprocess.PIPE, text=True).stdout
        return key, crt, fp.split("=", 1)[1].strip().replace(":", "").lower()
    key, crt, fp = make("beta-client")
    okey, ocrt, _ = make("other-client")
    ua.sql("INSERT INTO subscriber_credentials (subscriber_id, kind, secret_hash)"
           " SELECT id, 'cert', ? FROM subscribers WHERE name = 'Beta'", (fp,))
    url = ua.env["UPDATED_HTTPS_URL"] + "/"
    ca = ["--cacert", ua.env["UPDATED_CA"]]
    s, _, _ = http_request(url, *ca, "--cert", str(crt), "--key", str(key), source="127.0.0.2")
    assert s == 200
    s, _, _ = http_request(url, *ca, "--cert", str(ocrt), "--key", str(okey), source="127.0.0.2")
    assert s == 403
    s, _, _ = http_request(url, *ca, source="127.0.0.2")
    assert s == 403
    # A network client needs no certificate over HTTPS either.
    s, _, _ = http_request(url, *ca, source="127.0.0.1")
    assert s == 200


def test_forwarded_for_only_from_trusted_proxies(ua):
    url = ua.env["UPDATED_URL"] + "/"
    # Not a proxy we trust: the header is ignored either way.
    s, _, _ = http_request(url, "-H", "X-Forwarded-For: 127.0.0.1", source="127.0.0.2")
    assert s == 403
    s, _, _ = http_request(url, "-H", "X-Forwarded-For: 127.0.0.2", source="127.0.0.1")
    assert s == 200
    ua.reconfigure("updated", "trusted_proxies", "127.0.0.2, 127.0.0.5")
    try:
        cases = [
            ("127.0.0.1", 200),                      # the client behind the proxy
            ("127.0.0.9, 127.0.0.1", 200),           # right-most untrusted hop counts
            ("127.0.0.1, 127.0.0.9", 403),           # a forged left part does not
            ("127.0.0.1, 127.0.0.5", 200),           # through two trusted proxies
            ("not-an-address", 403),                 # garbage: the proxy is the client
            ("127.0.0.1:80", 403),                   # another spelling is not an address
            ("", 403),
        ]
        for xff, want in cases:
            s, _, _ = http_request(url, "-H", "X-Forwarded-For: " + xff, source="127.0.0.2")
            assert s == want, (xff, s)
    finally:
        ua.reconfigure("updated", "trusted_proxies", "")    # no proxy is trusted


def test_bad_passwords_are_throttled_per_client(ua):
    """Ten wrong passwords from one client: the eleventh attempt, even a
    right one, is refused without a password check (429) for a minute;
    another client is not affected."""
    url = ua.env["UPDATED_URL"] + "/"
    for _ in range(10):
        s, _, _ = http_request(url, "-u", "%s:guess" % BETA_LOGIN, source="127.0.0.6")
        assert s == 401
    s, _, _ = http_request(url, "-u", "%s:%s" % (BETA_LOGIN, BETA_PW), source="127.0.0.6")
    assert s == 429
    s, _, _ = http_request(url, "-u", "%s:%s" % (BETA_LOGIN, BETA_PW), source="127.0.0.7")
    assert s == 200
    ev = wait_for(lambda: [e for e in denied_events(ua, "127.0.0.6")
                           if e["reason"] == "throttled"] or None, timeout=10,
                  what="throttled event")
    assert ev


def test_health_needs_nothing_and_unknown_paths_404(ua):
    s, _, body = http_request(ua.env["UPDATED_URL"] + "/health", source="127.0.0.2")
    assert s == 200 and body == b"ok\n"
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/no/such/thing", source="127.0.0.1")
    assert s == 404
    s, _, _ = http_request(ua.env["UPDATED_URL"] + "/", "-X", "POST", source="127.0.0.1")
    assert s == 405


def test_downloads_are_billed_and_coalesced(ua):
    """Thirty fetches of one file by one client, in one curl (keep-alive):
    all thirty requests and their bytes are billed to the subscriber, in a
    few rows (identical downloads within a flush share a row)."""
    url = ua.env["UPDATED_URL"] + "/test.cvd"
    size = os.path.getsize(os.path.join(ua.env["UPDATED_MIRROR_DIR"], "test.cvd"))
    q = ("SELECT count(*) AS n, coalesce(sum(requests), 0) AS r, coalesce(sum(bytes), 0) AS b"
         " FROM downloads WHERE what = 'test.cvd' AND client = '127.0.0.3'")
    before = ua.sql(q)[0]
    r = subprocess.run(["curl", "-s", "-f", "--interface", "127.0.0.3", "-o", "/dev/null"]
                       + [url] * 30 + ["-m", "60"], timeout=90)
    assert r.returncode == 0
    after = wait_for(lambda: (lambda a: a if a["r"] - before["r"] >= 30 else None)(ua.sql(q)[0]),
                     timeout=15, what="30 billed downloads")
    assert after["r"] - before["r"] == 30
    assert after["b"] - before["b"] == 30 * size
    assert after["n"] - before["n"] <= 10, after
    sub = ua.sql("SELECT DISTINCT s.name FROM downloads d JOIN subscribers s"
                 " ON s.id = d.subscriber_id WHERE d.client = '127.0.0.3'")
    assert [x["name"] for x in sub] == ["Beta"]
