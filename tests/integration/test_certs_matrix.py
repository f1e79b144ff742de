"""The certificate matrix of issue 3, made with the openssl command and
judged by `directgate cert verify`, with AIA and CRL served by a real HTTP
server on loopback (python3 -m http.server)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from certsutil import Pki, WebServer  # noqa: E402

DOMAIN = "c.example"
ADDR = "dr.smith@c.example"


def verify(inst, cert_file, local, direction, expect=ADDR, extra=()):
    r = inst.cli("cert", "verify", cert_file, "--domain", local, "--direction", direction,
                 "--expect", expect, "--json", *extra, check=False)
    if r.returncode == 2 or not r.stdout.strip():
        raise AssertionError("cert verify %s: exit %d: %s" % (cert_file, r.returncode, r.stderr))
    return r.returncode, json.loads(r.stdout)


def test_certificate_matrix_gives_expected_verdicts():
    harness.require("openssl")
    with harness.Env("certs-matrix") as env:
        inst = env.instance()
        pki = Pki(env.path("pki"))
        web = WebServer(os.path.join(pki.dir, "www"))
        m = pki.matrix(web.url, DOMAIN)
        web.start(env.procs)
        for d in ("a.example", "b.example", "d.example"):
            inst.cli("domain", "add", d)
        # a.example trusts the matrix root both ways; b.example incoming
        # only; d.example trusts the other root outgoing only.
        inst.cli("anchor", "add", m["root"].pem, "--domain", "a.example", "--direction", "both")
        inst.cli("anchor", "add", m["root"].pem, "--domain", "b.example", "--direction", "in")
        inst.cli("anchor", "add", m["other_root"].pem, "--domain", "d.example",
                 "--direction", "out")

        cases = [
            # name, file, local domain, direction, expected address, reason, exit
            ("valid address cert", m["address"].chain_pem, "a.example", "out", ADDR, "ok", 0),
            ("valid domain cert", m["domain"].chain_pem, "a.example", "out", ADDR, "ok", 0),
            ("valid domain cert, domain expected", m["domain"].chain_pem, "a.example", "in",
             DOMAIN, "ok", 0),
            ("expired", m["expired"].chain_pem, "a.example", "out", ADDR, "expired", 1),
            ("not yet valid", m["not_yet_valid"].chain_pem, "a.example", "out", ADDR,
             "not-yet-valid", 1),
            ("wrong SAN", m["wrong_san"].chain_pem, "a.example", "out", ADDR,
             "binding-mismatch", 1),
            ("SAN only in subject email", m["subject_email_only"].chain_pem, "a.example", "out",
             ADDR, "binding-mismatch", 1),
            ("1024-bit key", m["rsa1024"].chain_pem, "a.example", "out", ADDR, "weak-key", 1),
            ("SHA-1 signed", m["sha1"].chain_pem, "a.example", "out", ADDR, "weak-signature", 1),
            ("ECDSA P-256", m["ec256"].chain_pem, "a.example", "in", ADDR, "ok", 0),
            ("ECDSA P-384", m["ec384"].chain_pem, "a.example", "out", ADDR, "ok", 0),
            ("chain via intermediate from AIA", m["aia"].pem, "a.example", "out", ADDR, "ok", 0),
            ("not revoked (CRL fetched)", m["crl_good"].chain_pem, "a.example", "out", ADDR,
             "ok", 0),
            ("revoked in CRL", m["revoked"].chain_pem, "a.example", "out", ADDR, "revoked", 1),
            ("anchor of the wrong direction", m["other"].chain_pem, "d.example", "in", ADDR,
             "untrusted", 1),
            ("anchor of another domain", m["other"].chain_pem, "a.example", "out", ADDR,
             "untrusted", 1),
            ("incoming-only anchor used for sending", m["address"].chain_pem, "b.example",
             "out", ADDR, "untrusted", 1),
            ("incoming-only anchor used for receiving", m["address"].chain_pem, "b.example",
             "in", ADDR, "ok", 0),
        ]
        bad = []
        for name, f, local, direction, expect, reason, code in cases:
            rc, v = verify(inst, f, local, direction, expect)
            if v["reason"] != reason or rc != code:
                bad.append("%s: got %s exit %d (%s), want %s exit %d"
                           % (name, v["reason"], rc, v["message"], reason, code))
        # The AIA intermediate is not in the message: without the server
        # the verdict is untrusted, temporary (exit 3).
        web.stop()
        rc, v = verify(inst, m["aia"].pem, "a.example", "out")
        if v["reason"] != "untrusted" or not v["temporary"] or rc != 3:
            bad.append("AIA server down: got %s temp=%s exit %d, want untrusted temp exit 3"
                       % (v["reason"], v["temporary"], rc))
        # CRL server down: crl-unavailable, temporary by default...
        rc, v = verify(inst, m["crl_good"].chain_pem, "a.example", "out")
        if v["reason"] != "crl-unavailable" or rc != 3:
            bad.append("CRL server down: got %s exit %d, want crl-unavailable exit 3"
                       % (v["reason"], rc))
        # ...and accepted under crl_unavailable = ignore.
        inst.configure("[certs]\ncrl_unavailable = ignore\nhttp_timeout = 2s\n")
        rc, v = verify(inst, m["crl_good"].chain_pem, "a.example", "out")
        if v["reason"] != "ok" or rc != 0:
            bad.append("CRL server down, ignore policy: got %s exit %d, want ok"
                       % (v["reason"], rc))
        if bad:
            raise AssertionError("\n".join(bad))


if __name__ == "__main__":
    harness.run([test_certificate_matrix_gives_expected_verdicts])
