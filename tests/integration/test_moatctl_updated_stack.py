# SPDX-License-Identifier: GPL-2.0-or-later
"""moatctl's moat-updated commands on a real stack (issue 10, item 7): the
stack's layout and privileges (moatctl run as root acts as the store's
owner, moat), and the running moat-updated reading what moatctl wrote.

  * the demo package moat-stack publishes with `moatctl packages add` is
    the file in packages_dir, owned by moat, mode 0644, with its SHA-256;
    add and remove of another package work there too;
  * `moatctl mirror status` reads the stack's mirror as sigtool does;
  * a certificate registered with `moatctl cert add` opens moat-updated's
    HTTPS listener to an outside address (the daemon's fingerprint of the
    TLS peer equals moatctl's of the PEM file); `cert remove` closes it.
"""
import hashlib
import json
import os
import pwd
import subprocess

import pytest

from moatstack import http_request


def ctl(st, *args, check=True):
    r = subprocess.run([st.env["MOATCTL"], "-c", st.env["CONF"]] + list(args),
                       capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, "moatctl %s: rc %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def ust(stack):
    if stack.env.get("UPDATED") != "running":
        pytest.skip("moat-updated is not built")
    return stack


def packages_dir(st):
    return os.path.join(st.env["STACK_DIR"], "updated", "packages")


def test_demo_package_published_by_moatctl(ust):
    (pkg,) = [p for p in json.loads(ctl(ust, "packages", "list", "--json").stdout)
              if p["name"] == "moat-av-demo"]
    path = os.path.join(packages_dir(ust), pkg["file"])
    with open(path, "rb") as f:
        data = f.read()
    assert pkg["file"] == "moat-av-demo_1.0.0_debian.deb"
    assert (pkg["size"], pkg["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    sb = os.stat(path)
    assert sb.st_mode & 0o777 == 0o644
    if os.geteuid() == 0:
        # root ran moatctl; the file belongs to the store's owner.
        assert sb.st_uid == pwd.getpwnam("moat").pw_uid == os.stat(ust.env["DB"]).st_uid


def test_packages_add_remove_in_the_stack(ust, tmp_path):
    src = tmp_path / "moat-av.rpm"
    src.write_bytes(b"\xed\xab\xee\xdb" + os.urandom(5000))
    os.chmod(tmp_path, 0o700)       # root's file: moatctl reads it before switching
    ctl(ust, "packages", "add", "rpm", "moat-av", "2.0", str(src))
    (pkg,) = [p for p in json.loads(ctl(ust, "packages", "list", "--json").stdout)
              if p["platform"] == "rpm"]
    dest = os.path.join(packages_dir(ust), "moat-av_2.0_rpm.rpm")
    with open(dest, "rb") as f:
        assert f.read() == src.read_bytes()
    assert pkg["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    ctl(ust, "packages", "remove", str(pkg["id"]))
    assert not os.path.exists(dest)
    assert not [n for n in os.listdir(packages_dir(ust)) if n.startswith(".")]


def test_mirror_status_of_the_stack(ust):
    out = ctl(ust, "mirror", "status").stdout
    cvd = [line.split() for line in out.splitlines() if line.startswith("test.cvd ")][0]
    r = subprocess.run(["sigtool", "--info", os.path.join(ust.env["UPDATED_MIRROR_DIR"],
                                                          "test.cvd")],
                       capture_output=True, text=True, timeout=60, check=True)
    info = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    assert cvd[2] == info["Version"] == ust.env["UPDATED_TEST_VERSION"]
    assert cvd[3] == info["Signatures"] and cvd[-1] == "yes"
    assert "test: 2-%s (" % ust.env["UPDATED_TEST_VERSION"] in out


def test_cert_add_opens_https(ust, tmp_path):
    key, crt = tmp_path / "c.key", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=gamma-less-client", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=60)
    url = ust.env["UPDATED_HTTPS_URL"] + "/"
    args = ["--cacert", ust.env["UPDATED_CA"], "--cert", str(crt), "--key", str(key)]
    # 127.0.0.2 is nobody's address (sql/seed-demo.sql).
    assert http_request(url, *args, source="127.0.0.2")[0] == 403
    out = ctl(ust, "cert", "add", "Alpha", str(crt)).stdout
    cid = out.split("#", 1)[1].split()[0]
    assert http_request(url, *args, source="127.0.0.2")[0] == 200
    ctl(ust, "cert", "remove", cid)
    assert http_request(url, *args, source="127.0.0.2")[0] == 403
