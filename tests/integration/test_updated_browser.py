# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-updated's install and denial pages in headless Chromium (issue 10,
item 3), through a real stack: tests/browser/install_page.js drives Debian's
/usr/bin/chromium with playwright-core (npm ci --prefix tests/browser, done by
ctl/bootstrap).

Who the browser is (sql/seed-demo.sql): 127.0.0.1 is Alpha's network, so the
browser itself is Alpha's user.  Chromium cannot choose its source address,
so the other views go through a TCP relay here that connects to moat-updated
from another loopback address -- a client the server sees as any other:
127.0.0.2 (nobody's: the denial page), 127.0.0.4 (added to suspended Gamma
here: the suspended page).  Through 127.0.0.2, a browser holding Beta's login
follows the denial page's /login link to Beta's install page.

Screenshots, the downloaded bundle and summary.json are kept as test output
in $MOAT_BIN/test-output/browser/<test>/.
"""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from moatstack import BIN, SRC, wait_for

BROWSER_DIR = os.path.join(SRC, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "install_page.js")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OUTPUT = os.path.join(BIN, "test-output", "browser")

BETA_LOGIN, BETA_PW = "dl@beta.example", "beta-browser-1"
OUTSIDER = "127.0.0.2"          # no subscriber's network
GAMMA_NET = "127.0.0.4"         # given to suspended Gamma below
RELAY_LIFETIME = 300            # seconds: a relay never outlives its test


class Relay:
    """A TCP relay on 127.0.0.1:<port> that connects to target from source
    (an address on lo), so the server sees that client address.  Bounded:
    it stops after RELAY_LIFETIME seconds or stop()."""

    def __init__(self, source, target):
        self.source, self.target = source, target
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(32)
        self.ls.settimeout(0.5)
        self.port = self.ls.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.stopping = False
        self.conns = []
        self.deadline = time.monotonic() + RELAY_LIFETIME
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _pump(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while not self.stopping and time.monotonic() < self.deadline:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                u.bind((self.source, 0))
                u.connect(self.target)
            except OSError:
                c.close()
                u.close()
                continue
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.ls.close()
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass


def target_of(url):
    host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def out_dir(name):
    d = os.path.join(OUTPUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run_browser(args, out, timeout=240):
    """Runs install_page.js; returns (rc, summary dict, stderr text)."""
    r = subprocess.run(["node", SCRIPT, "--out", out, "--chromium", CHROMIUM] + args,
                       cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    try:
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        summary = {}
    # Its stderr without the passed checks' lines.
    err = "\n".join(l for l in r.stderr.decode("utf-8", "replace").splitlines()
                    if not l.startswith("ok   "))
    return r.returncode, summary, err


def failed(summary):
    return [c for c in summary.get("results", []) if not c["ok"]]


@pytest.fixture(scope="module")
def ub(stack):
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    missing = [p for p in (CHROMIUM, shutil.which("node") or "node",
                           os.path.join(BROWSER_DIR, "node_modules", "playwright-core"))
               if not os.path.exists(p)]
    assert not missing, ("missing %s: run ctl/bootstrap (chromium, nodejs, "
                         "npm ci --prefix tests/browser)" % ", ".join(missing))
    stack.login_add(BETA_LOGIN, "Beta", BETA_PW)
    stack.moatctl("network", "add", GAMMA_NET + "/32", "Gamma", check=True)
    time.sleep(2.5)         # the policy watcher polls every second
    target = target_of(stack.env["UPDATED_URL"])
    relays = {"outsider": Relay(OUTSIDER, target), "gamma": Relay(GAMMA_NET, target)}
    stack.relays = relays
    yield stack
    for r in relays.values():
        r.stop()


def denied_events(st, src):
    return st.sql("SELECT detail_json FROM events WHERE kind = 'update.denied' AND src_ip = ?",
                  (src,))


def test_install_page_in_chromium(ub):
    out = out_dir("install_page")
    before = len(denied_events(ub, OUTSIDER))
    rc, summary, err = run_browser([
        "--url", ub.env["UPDATED_URL"], "--expect-name", "Alpha", "--expect-lang", "en",
        "--platform", "debian", "--deny-url", ub.relays["outsider"].url,
        "--suspended-url", ub.relays["gamma"].url,
        "--login-user", BETA_LOGIN, "--login-password", BETA_PW, "--login-name", "Beta",
    ], out)
    assert rc == 0 and summary.get("failures") == 0, (
        "install_page.js rc %d, failed checks:\n%s\n(output in %s)\n%s" % (
            rc, json.dumps(failed(summary), indent=1), out, err[-4000:]))
    # What it saw and kept.
    sub = summary["subscriber"]
    assert sub["h1"].endswith("Alpha")
    assert any(p["name"] == "moat-av-demo" and p["version"] == "1.0.0"
               for p in sub["packages"]), sub["packages"]
    dl = sub["download"]
    kept = os.path.join(out, os.path.basename(dl["file"]))
    assert dl["size"] > 0 and os.path.getsize(kept) == dl["size"]
    for png in ("install.png", "install-narrow.png", "denied.png", "suspended.png",
                "login.png", "login-flow.png"):
        p = os.path.join(out, png)
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", p
    # The browser's refusal was recorded like any other.
    wait_for(lambda: len(denied_events(ub, OUTSIDER)) > before, timeout=10,
             what="an update.denied event for the browser's 403")


def test_install_page_in_german(ub, tmp_path):
    """updated.language names a strings file: the same pages, in German."""
    de = os.path.join(ub.dir, "updated", "strings-de.txt")
    shutil.copy(os.path.join(SRC, "updated", "strings", "de.txt"), de)
    os.chmod(de, 0o644)
    ub.reconfigure("updated", "language", de, how="hup")
    try:
        def german():
            with urllib.request.urlopen(ub.env["UPDATED_URL"] + "/", timeout=10) as r:
                body = r.read().decode("utf-8")
            return "Antivirus-Software für Alpha" in body and '<html lang="de">' in body
        wait_for(german, timeout=15, what="the install page in German after HUP")
        out = out_dir("install_page_de")
        rc, summary, err = run_browser([
            "--url", ub.env["UPDATED_URL"], "--expect-name", "Alpha", "--expect-lang", "de",
            "--deny-url", ub.relays["outsider"].url,
        ], out)
        assert rc == 0 and summary.get("failures") == 0, (
            "install_page.js rc %d, failed checks:\n%s\n(output in %s)\n%s" % (
                rc, json.dumps(failed(summary), indent=1), out, err[-4000:]))
        assert summary["subscriber"]["h1"] == "Antivirus-Software für Alpha"
        assert "Dieser Server bedient nur" in summary["denied"]
    finally:
        ub.reconfigure("updated", "language", "en", how="hup")
