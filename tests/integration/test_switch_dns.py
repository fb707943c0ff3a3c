# SPDX-License-Identifier: GPL-2.0-or-later
"""The switch's threat domains resolved through a real DNS server (issue 11):
dnsmasq answers in a network namespace this test creates (its own loopback,
and `ip netns exec` gives the namespace its own resolv.conf from
/etc/netns/NAME/), and `moatctl switch render` run there lists the answers'
addresses with the answers' TTL bounding the element timeouts; a CNAME is
followed, a name that does not resolve is skipped and said, and an expiry
shorter than the TTL wins.

Needs root, ip and dnsmasq (ctl/bootstrap); skipped otherwise.
"""
import os
import re
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
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or not os.access(DNSMASQ, os.X_OK),
    reason="needs root, ip and dnsmasq")


def run(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture(scope="module")
def dns():
    ns = "mdns%04d" % (os.getpid() % 10000)
    etc = "/etc/netns/" + ns
    tmp = tempfile.mkdtemp(prefix="moat-swdns-")
    db, conf = os.path.join(tmp, "moat.db"), os.path.join(tmp, "moat.conf")
    proc = None
    try:
        run("ip", "netns", "add", ns)
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        os.makedirs(etc, exist_ok=True)
        with open(os.path.join(etc, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        # host-record NAME,ADDR...,TTL: the TTL of the answers.
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, DNSMASQ, "--keep-in-foreground", "--no-resolv",
             "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=53",
             "--user=root", "--pid-file=" + os.path.join(tmp, "dnsmasq.pid"),
             "--log-facility=" + os.path.join(tmp, "dnsmasq.log"), "--log-queries",
             "--host-record=evil.example,198.51.100.7,2001:db8:66::7,120",
             "--host-record=short.example,198.51.100.8,3000",
             "--cname=alias.example,evil.example,120",
             "--host-record=cdn.example,198.51.100.20,600",
             "--host-record=cdn.example,198.51.100.21,600"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(50):
            r = run("ip", "netns", "exec", ns, "ss", "-Hlun", check=False)
            if "127.0.0.1:53" in r.stdout:
                break
            time.sleep(0.1)
        else:
            pytest.fail("dnsmasq did not listen")
        with open(conf, "w") as f:
            f.write('common = { store = "%s"; };\nswitch = { decoys = "10.0.9.1"; };\n' % db)
        run(MOATCTL, "-d", db, "db", "init")
        now = int(time.time())
        con = sqlite3.connect(db)
        con.executemany("INSERT INTO threat_sources(kind, value, expires) VALUES (?, ?, ?)", [
            ("domain", "evil.example", None),
            ("suspect_domain", "alias.example", None),
            ("domain", "short.example", now + 60),
            ("domain", "cdn.example", None),
            ("domain", "nxdomain.example", None)])
        con.commit()
        con.close()
        yield ns, db, conf, tmp
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(etc, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def render(dns):
    ns, db, conf, _ = dns
    r = run("ip", "netns", "exec", ns, MOATCTL, "-c", conf, "-d", db, "switch", "render",
            check=False)
    assert r.returncode == 0, r.stderr
    return r


def timeout_of(text, addr):
    m = re.search(re.escape(addr) + r" timeout (\d+)s", text)
    return int(m.group(1)) if m else None


def test_answers_listed_with_their_ttl_bounding_the_timeout(dns):
    r = render(dns)
    t = timeout_of(r.stdout, "198.51.100.7")
    assert t is not None and 100 <= t <= 120, r.stdout
    t6 = timeout_of(r.stdout, "2001:db8:66::7")
    assert t6 is not None and 100 <= t6 <= 120, r.stdout
    for a in ("198.51.100.20", "198.51.100.21"):
        t = timeout_of(r.stdout, a)
        assert t is not None and 580 <= t <= 600, (a, r.stdout)
    log = open(os.path.join(dns[3], "dnsmasq.log")).read()
    assert "query[A] evil.example" in log and "query[AAAA] evil.example" in log, log


def test_expiry_shorter_than_the_ttl_wins(dns):
    t = timeout_of(render(dns).stdout, "198.51.100.8")
    assert t is not None and 40 <= t <= 60, t


def test_cname_followed_and_unresolvable_name_skipped_and_said(dns):
    r = render(dns)
    log = open(os.path.join(dns[3], "dnsmasq.log")).read()
    assert "query[A] alias.example" in log, log
    assert "nxdomain.example" in r.stderr, r.stderr
    assert "nxdomain" not in r.stdout
