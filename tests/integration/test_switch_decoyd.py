# SPDX-License-Identifier: GPL-2.0-or-later
"""The switch in front of the real moat-decoyd (issue 11), in network
namespaces this test creates and removes:

    att (10.0.1.2 a threat source, 10.0.1.3 clean)
      |  veth
    gw  (forwarding; `moatctl switch apply` loads the table here; moat-decoyd
         runs here on two decoy addresses, 10.0.9.1 and 10.0.9.2, of its
         loopback, so conntrack still knows where a redirected connection
         was meant to go)
      |  veth
    prot (10.0.2.2: the protected host of subscriber Alpha, whose network is
          10.0.2.0/24 and mail domain alpha.example; its real service: 80)

An intruder redirected to a decoy meets a host of the subscriber it aimed at
("hostname -f" answers srv01.alpha.example), and the decoy's events carry the
subscriber, the decoy that took the session and the address it was meant for.
test_switch.py checks the table itself with stand-in servers.

Needs root, iproute2, nftables and a built moat-decoyd; skipped otherwise.
"""
import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

from moatstack import wait_for

SRC = os.environ.get("MOAT_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("MOAT_BIN", os.path.join(SRC, "build"))
MOATCTL = os.path.join(BIN, "ctl", "moatctl")
DECOYD = os.path.join(BIN, "decoyd", "moat-decoyd")
NFT = shutil.which("nft") or "/usr/sbin/nft"

REAL = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.2.2", 80))
s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"real 80\n")
    c.close()
"""

# A telnet client that answers nothing (a bot): the decoy goes on to the
# login prompt; it logs in and types, and prints all the decoy said.
INTRUDER = r"""
import socket, sys, time
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = sys.argv[4:]
s = socket.socket()
s.settimeout(5)
s.bind((src, 0))
s.connect((dst, port))
out = b""
def until(tok, t=5):
    global out
    end = time.time() + t
    while tok not in out and time.time() < end:
        b = s.recv(4096)
        if not b:
            break
        out += b
s.sendall(b"\r\n")
until(b"login: ")
for l in lines:
    s.sendall(l.encode() + b"\r\n")
    time.sleep(0.2)
s.shutdown(socket.SHUT_WR)
until(b"\0never", 3)
sys.stdout.buffer.write(out)
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.access(NFT, os.X_OK) or shutil.which("ip") is None
    or not os.access(DECOYD, os.X_OK),
    reason="needs root, ip, nft and a built moat-decoyd")


def sh(*argv, check=True, timeout=30):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check,
                          timeout=timeout)


class Net:
    def __init__(self):
        tag = "%04d" % (os.getpid() % 10000)
        self.tag = tag
        self.att, self.gw, self.prot = ("mdd%s%s" % (tag, n) for n in ("att", "gw", "prot"))
        # moat-decoyd drops to moat: its directory must be reachable.
        self.dir = tempfile.mkdtemp(prefix="moat-swdecoy-")
        os.chmod(self.dir, 0o755)
        self.db = os.path.join(self.dir, "moat.db")
        self.conf = os.path.join(self.dir, "moat.conf")
        self.rec = os.path.join(self.dir, "decoy")
        self.procs = []

    def ns(self, ns, *argv, **kw):
        return sh("ip", "netns", "exec", ns, *argv, **kw)

    def up(self):
        t = self.tag
        for n in (self.att, self.gw, self.prot):
            sh("ip", "netns", "add", n)
            self.ns(n, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "a" + t, "netns", self.att, "type", "veth", "peer", "name",
           "ga" + t, "netns", self.gw)
        sh("ip", "link", "add", "p" + t, "netns", self.prot, "type", "veth", "peer", "name",
           "gp" + t, "netns", self.gw)
        for ns, dev, addrs, gw in (
                (self.att, "a" + t, ["10.0.1.2/24", "10.0.1.3/24"], "10.0.1.1"),
                (self.prot, "p" + t, ["10.0.2.2/24"], "10.0.2.1"),
                (self.gw, "ga" + t, ["10.0.1.1/24"], None),
                (self.gw, "gp" + t, ["10.0.2.1/24"], None),
                (self.gw, "lo", ["10.0.9.1/32", "10.0.9.2/32"], None)):
            for a in addrs:
                self.ns(ns, "ip", "addr", "add", a, "dev", dev)
            self.ns(ns, "ip", "link", "set", dev, "up")
            if gw:
                self.ns(ns, "ip", "route", "add", "default", "via", gw)
        self.ns(self.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def down(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for n in (self.att, self.gw, self.prot):
            sh("ip", "netns", "del", n, check=False)

    def ctl(self, *args):
        r = self.ns(self.gw, MOATCTL, "-c", self.conf, "-d", self.db, *args, check=False,
                    timeout=60)
        assert r.returncode == 0, "moatctl %s: rc %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
        return r

    def events(self, kind):
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        rows = [dict(r, detail=json.loads(r["detail_json"])) for r in con.execute(
            "SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))]
        con.close()
        return rows

    def intrude(self, src, port, *lines):
        r = subprocess.run(["ip", "netns", "exec", self.att, "python3", "-c", INTRUDER, src,
                            "10.0.2.2", str(port), *lines], capture_output=True, timeout=30)
        return r.stdout

    def connect_line(self, src, port):
        """The first line a connection from src to 10.0.2.2:port reads."""
        code = ("import socket,sys\ns=socket.socket();s.settimeout(5);s.bind((sys.argv[1],0))\n"
                "s.connect(('10.0.2.2',int(sys.argv[2])));print(s.recv(100).decode('latin-1'))")
        return self.ns(self.att, "python3", "-c", code, src, str(port), check=False).stdout


CONF = """
common = { store = "%(db)s"; user = "moat"; };
decoyd = {
  listen = "telnet:10.0.9.1:2323 telnet:10.0.9.2:2323 http:10.0.9.1:8080 http:10.0.9.2:8080";
  record_dir = "%(rec)s";
  hostname = "srv01";
};
switch = {
  table = "moat_d%(tag)s";
  decoys = "10.0.9.1 10.0.9.2";
  nft = "%(nft)s";
};
"""


@pytest.fixture(scope="module")
def net():
    n = Net()
    try:
        n.up()
        with open(n.conf, "w") as f:
            f.write(CONF % {"db": n.db, "rec": n.rec, "tag": n.tag, "nft": NFT})
        assert sh(MOATCTL, "-d", n.db, "db", "init").returncode == 0
        con = sqlite3.connect(n.db)
        con.executescript("""
            INSERT INTO subscribers(id, name) VALUES (1, 'Alpha'), (2, 'Beta');
            INSERT INTO subscriber_domains(domain, subscriber_id)
              VALUES ('alpha.example', 1), ('mail.alpha.example', 1), ('beta.example', 2);
            INSERT INTO subscriber_networks(cidr, subscriber_id)
              VALUES ('10.0.2.0/24', 1), ('10.0.3.0/24', 2);
            INSERT INTO protected_services(subscriber_id, address, port, proto)
              VALUES (1, '10.0.2.2', 80, 'tcp');
            INSERT INTO threat_sources(kind, value, reason) VALUES ('ip', '10.0.1.2', 'test');
            """)
        con.commit()
        con.close()
        moat = pwd.getpwnam("moat")
        for f in (n.db, n.dir):
            os.chown(f, moat.pw_uid, moat.pw_gid)
        real = subprocess.Popen(["ip", "netns", "exec", n.prot, "python3", "-c", REAL],
                                stdout=subprocess.PIPE, text=True)
        n.procs.append(real)
        assert real.stdout.readline().strip() == "ready"
        d = subprocess.Popen(["ip", "netns", "exec", n.gw, DECOYD, "-c", n.conf, "-f"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        n.procs.append(d)
        n.decoyd = d

        def listening():
            out = n.ns(n.gw, "ss", "-Hltn", check=False).stdout
            return "10.0.9.2:8080" in out and "10.0.9.1:2323" in out
        assert wait_for(listening, 15), "moat-decoyd did not listen"
        n.ctl("switch", "apply")
        yield n
    finally:
        n.down()
        shutil.rmtree(n.dir, ignore_errors=True)


def test_redirected_intruder_meets_the_subscribers_host(net):
    out = net.intrude("10.0.1.2", 23, "root", "123456", "hostname -f", "hostname",
                      "cat /etc/hosts", "exit")
    assert b"srv01 login: " in out, out
    assert b"srv01.alpha.example" in out and b"127.0.1.1\tsrv01.alpha.example\tsrv01" in out, out
    assert b"root@srv01:~#" in out, out

    def logged():
        return [e for e in net.events("decoy.login") if e["src_ip"] == "10.0.1.2"]
    assert wait_for(logged, 10), net.events("decoy.login")
    conn = [e for e in net.events("decoy.connect") if e["src_ip"] == "10.0.1.2"]
    assert conn and conn[0]["subscriber_id"] == 1, conn
    d = conn[0]["detail"]
    assert d["dst"] == "10.0.2.2" and d["local"] in ("10.0.9.1", "10.0.9.2") and \
        d["personality"] == "telnet", d
    assert logged()[0]["subscriber_id"] == 1 and logged()[0]["detail"]["user"] == "root"


def test_threat_source_to_the_real_service_lands_on_the_http_decoy(net):
    before = len(net.events("decoy.connect"))
    net.connect_line("10.0.1.2", 80)

    def http():
        return [e for e in net.events("decoy.connect")[before:]
                if e["detail"]["personality"] == "http"]
    assert wait_for(http, 10), net.events("decoy.connect")[before:]
    e = http()[0]
    assert e["src_ip"] == "10.0.1.2" and e["detail"]["dst"] == "10.0.2.2" and \
        e["subscriber_id"] == 1, e


def test_clean_source_reaches_the_real_service(net):
    before = len(net.events("decoy.connect"))
    assert net.connect_line("10.0.1.3", 80).startswith("real 80"), "clean source redirected"
    time.sleep(1)
    assert len(net.events("decoy.connect")) == before


def test_unused_port_from_a_clean_source_is_balanced_over_both_decoys(net):
    before = len(net.events("decoy.connect"))
    for _ in range(6):
        net.connect_line("10.0.1.3", 23)

    def conns():
        return [e for e in net.events("decoy.connect")[before:] if e["src_ip"] == "10.0.1.3"]
    assert wait_for(lambda: len(conns()) == 6, 10), conns()
    assert {e["detail"]["local"] for e in conns()} == {"10.0.9.1", "10.0.9.2"}, conns()
    assert all(e["detail"]["dst"] == "10.0.2.2" for e in conns())


def test_decoyd_still_serves(net):
    assert net.decoyd.poll() is None, net.decoyd.stdout.read()
