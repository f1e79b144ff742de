"""The certs commands end to end: domain, cert (import PEM, DER, PKCS#12
including legacy-encrypted, generate, --demo, list, remove), anchor and
bundle (from a file and from a real HTTP server), with certificates from
the openssl command."""
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from certsutil import Pki, WebServer  # noqa: E402


def keyfiles(inst):
    """The key store's key files (named by the SHA-256 of the public key);
    other files of the key directory (TLS, demo CA) are not counted."""
    d = os.path.join(inst.dir, "keys")
    return sorted(f for f in os.listdir(d)
                  if f.endswith(".key") and len(f) == 68
                  and all(c in "0123456789abcdef" for c in f[:64]))


def test_cert_import_list_remove_and_key_files():
    harness.require("openssl")
    with harness.Env("certs-cmd") as env:
        inst = env.instance()
        pki = Pki(env.path("pki"))
        root = pki.root("Cmd Root")
        inter = pki.intermediate(root, "Cmd Intermediate")
        pem_leaf = pki.leaf(inter, "pem", san="email:pem@a.example")
        der_leaf = pki.leaf(inter, "der", san="DNS:a.example")
        p12_leaf = pki.leaf(inter, "p12", san="email:p12@a.example", key_type="ec:P-256")
        legacy_leaf = pki.leaf(inter, "legacy", san="email:legacy@a.example")
        other = pki.leaf(inter, "other", san="email:x@z.example")

        inst.cli("domain", "add", "a.example")
        r = inst.cli("cert", "import", pem_leaf.key, pem_leaf.chain_pem, check=False)
        assert r.returncode == 0, r.stderr
        # DER certificate + DER key as two files.
        der_key = env.path("der.key.der")
        subprocess.run(["openssl", "pkey", "-in", der_leaf.key, "-outform", "DER", "-out",
                        der_key], check=True)
        inst.cli("cert", "import", der_leaf.der, der_key, "--domain", "a.example")
        # PKCS#12, modern and legacy (RC2/3DES: the legacy provider).
        p12 = pki.pkcs12(p12_leaf, env.path("p12.p12"), "s3cret")
        legacy = pki.pkcs12(legacy_leaf, env.path("legacy.p12"), "old-pw", legacy=True)
        pwfile = env.path("pw")
        with open(pwfile, "w") as f:
            f.write("wrong\n")
        r = inst.cli("cert", "import", p12, "--password-file", pwfile, check=False)
        assert r.returncode == 1 and "password" in r.stderr, r.stderr
        with open(pwfile, "w") as f:
            f.write("s3cret\n")
        inst.cli("cert", "import", p12, "--password-file", pwfile)
        inst.cli("cert", "import", legacy, "--password-env", "DG_P12_PW",
                 env={"DG_P12_PW": "old-pw"})
        # Refusals: a domain that is not local, a duplicate.
        r = inst.cli("cert", "import", other.key, other.pem, check=False)
        assert r.returncode == 1 and "not a local domain" in r.stderr, r.stderr
        r = inst.cli("cert", "import", pem_leaf.key, pem_leaf.pem, check=False)
        assert r.returncode == 1 and "already" in r.stderr, r.stderr
        # The intermediate, alone.
        inst.cli("cert", "import", inter.pem, "--intermediate")

        entries = json.loads(inst.cli("cert", "list", "--intermediates", "--json").stdout)
        owners = sorted((e["kind"], e["owner"] or "") for e in entries)
        assert owners == [("address", "legacy@a.example"), ("address", "p12@a.example"),
                          ("address", "pem@a.example"), ("domain", "a.example"),
                          ("intermediate", "")], owners
        assert all(e["has_key"] for e in entries if e["kind"] != "intermediate")
        # Key directory 0700, key files 0600, no key in any output.
        kd = os.path.join(inst.dir, "keys")
        assert stat.S_IMODE(os.stat(kd).st_mode) == 0o700
        files = keyfiles(inst)
        assert len(files) == 4, files
        for f in files:
            assert stat.S_IMODE(os.stat(os.path.join(kd, f)).st_mode) == 0o600, f
        fp = [e for e in entries if e["owner"] == "pem@a.example"][0]["fingerprint"]
        assert fp == pem_leaf.fingerprint(), (fp, pem_leaf.fingerprint())
        inst.cli("cert", "remove", fp[:12])
        assert len(keyfiles(inst)) == 3
        r = inst.cli("cert", "remove", fp[:12], check=False)
        assert r.returncode == 1


def test_cert_generate_csr_and_demo():
    harness.require("openssl")
    with harness.Env("certs-gen") as env:
        inst = env.instance()
        pki = Pki(env.path("pki"))
        root = pki.root("Gen Root")
        inst.cli("domain", "add", "b.example")
        csr = env.path("gen.csr")
        inst.cli("cert", "generate", "--address", "gen@b.example", "--key-type", "p256",
                 "--out", csr)
        out = subprocess.run(["openssl", "req", "-in", csr, "-noout", "-text", "-verify"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "email:gen@b.example" in out.stdout, out.stdout
        listed = json.loads(inst.cli("cert", "list", "--json").stdout)
        assert listed[0]["pending"] is True, listed
        # The CA signs the CSR; importing the certificate alone completes it.
        signed = env.path("gen.pem")
        ext = env.path("gen.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=email:gen@b.example\n"
                    "keyUsage=critical,digitalSignature,keyAgreement\n")
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", root.pem, "-CAkey",
                        root.key, "-CAcreateserial", "-days", "30", "-extfile", ext, "-out",
                        signed], check=True, capture_output=True)
        inst.cli("cert", "import", signed)
        listed = json.loads(inst.cli("cert", "list", "--json").stdout)
        assert listed[0]["pending"] is False and listed[0]["has_key"], listed
        # --demo: a certificate from the instance's demo CA, which then
        # verifies once the demo CA is an anchor.
        inst.cli("cert", "generate", "--demo", "--domain", "b.example")
        ca = os.path.join(inst.dir, "keys", "demo-ca.pem")
        assert os.path.exists(ca)
        inst.cli("anchor", "add", ca, "--domain", "b.example", "--direction", "both")
        listed = json.loads(inst.cli("cert", "list", "--domain", "b.example", "--json").stdout)
        assert len(listed) == 2, listed
        demo_fp = [e["fingerprint"] for e in listed if e["kind"] == "domain"][0]
        assert demo_fp and len(demo_fp) == 64
        r = inst.cli("cert", "generate", "--address", "x@nowhere.example", check=False)
        assert r.returncode == 1 and "not a local domain" in r.stderr, r.stderr
        r = inst.cli("cert", "generate", check=False)
        assert r.returncode == 2


def test_anchor_and_bundle_commands():
    harness.require("openssl")
    with harness.Env("certs-bundle") as env:
        inst = env.instance()
        pki = Pki(env.path("pki"))
        www = env.path("www")
        os.makedirs(www)
        web = WebServer(www)
        r1 = pki.root("Bundle Root One")
        r2 = pki.root("Bundle Root Two", key_type="ec:P-384")
        single = pki.root("Single Anchor")
        inter = pki.intermediate(r2, "Bundle Intermediate")
        leaf = pki.leaf(inter, "partner", san="DNS:partner.example")
        pki.p7b([r1, r2], os.path.join(www, "bundle.p7b"))
        pki.p7b([r1], env.path("local.p7c"), der=False)
        web.start(env.procs)
        inst.cli("domain", "add", "a.example")
        inst.cli("domain", "add", "b.example")

        r = inst.cli("anchor", "add", single.pem, "--domain", "a.example", "--direction",
                     "sideways", check=False)
        assert r.returncode == 2
        inst.cli("anchor", "add", single.pem, "--domain", "a.example", "--direction", "in")
        inst.cli("anchor", "add", single.pem, "--domain", "a.example", "--direction", "both")
        anchors = json.loads(inst.cli("anchor", "list", "--json").stdout)
        assert len(anchors) == 1 and anchors[0]["direction"] == "both", anchors

        # Before the bundle: the partner is untrusted.
        r = inst.cli("cert", "verify", leaf.chain_pem, "--domain", "a.example",
                     "--direction", "out", "--expect", "partner.example", check=False)
        assert r.returncode == 1 and r.stdout.startswith("untrusted"), r.stdout
        inst.cli("bundle", "add", web.url + "/bundle.p7b", "--domain", "a.example",
                 "--direction", "out", "--refresh", "12h")
        inst.cli("bundle", "add", env.path("local.p7c"), "--domain", "b.example",
                 "--direction", "in")
        bundles = json.loads(inst.cli("bundle", "list", "--json").stdout)
        assert [b["anchors"] for b in bundles] == [2, 1], bundles
        assert bundles[0]["domains"] == "a.example:out" and bundles[0]["refresh_s"] == 43200
        r = inst.cli("cert", "verify", leaf.chain_pem, "--domain", "a.example",
                     "--direction", "out", "--expect", "partner.example", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        r = inst.cli("cert", "verify", leaf.chain_pem, "--domain", "a.example",
                     "--direction", "in", "--expect", "partner.example", check=False)
        assert r.returncode == 1, r.stdout
        listed = json.loads(inst.cli("anchor", "list", "--bundles", "--domain", "a.example",
                                     "--json").stdout)
        assert len(listed) == 3, listed

        # Server gone: refresh fails, anchors stay, the error is recorded.
        web.stop()
        r = inst.cli("bundle", "refresh", "--force", check=False)
        assert r.returncode == 1 and "failing" in r.stderr, r.stderr
        bundles = json.loads(inst.cli("bundle", "list", "--json").stdout)
        assert bundles[0]["anchors"] == 2 and bundles[0]["last_error"], bundles
        r = inst.cli("cert", "verify", leaf.chain_pem, "--domain", "a.example",
                     "--direction", "out", "--expect", "partner.example", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        # Refresh of the file bundle by id works.
        inst.cli("bundle", "refresh", str(bundles[1]["id"]))
        inst.cli("bundle", "remove", str(bundles[0]["id"]))
        r = inst.cli("cert", "verify", leaf.chain_pem, "--domain", "a.example",
                     "--direction", "out", "--expect", "partner.example", check=False)
        assert r.returncode == 1, r.stdout

        inst.cli("anchor", "remove", "#%d" % anchors[0]["id"], "--domain", "a.example")
        assert json.loads(inst.cli("anchor", "list", "--json").stdout) == []
        domains = json.loads(inst.cli("domain", "list", "--json").stdout)
        assert [d["name"] for d in domains] == ["a.example", "b.example"], domains
        inst.cli("domain", "remove", "b.example")
        assert json.loads(inst.cli("bundle", "list", "--json").stdout)[0]["domains"] == ""


if __name__ == "__main__":
    harness.run([test_cert_import_list_remove_and_key_files,
                 test_cert_generate_csr_and_demo,
                 test_anchor_and_bundle_commands])
