"""`directgate resolve` inside an instance: resolver settings from
directgate.conf ([dns] servers, [ldap] srv_seed), trust from the store's
anchors of the sending domain; an incoming-only anchor must not allow
sending."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsutil  # noqa: E402
import harness  # noqa: E402


def test_discovery_uses_the_instance_settings_and_outgoing_anchors():
    with harness.Env("disc-inst") as env:
        harness.require("knotd", "openssl")
        ca = dnsutil.CA(env.tmp, "root")
        other = dnsutil.CA(env.tmp, "other")
        a = ca.issue("a", email="a@b.test")
        c = other.issue("c", email="c@b.test")
        knot = dnsutil.Knot(env.tmp, env.procs, {
            "b.test": dnsutil.cert_rr("a", a.der) + "\n" +
            dnsutil.cert_rr("c", c.der)})
        gw = env.instance("gw", config="[dns]\nservers = %s\ntimeout = 500ms\n"
                          "tries = 1\n[ldap]\nenabled = no\n" % knot.server())
        gw.cli("domain", "add", "sender.test")
        gw.cli("anchor", "add", ca.pem, "--domain", "sender.test",
               "--direction", "out")
        gw.cli("anchor", "add", other.pem, "--domain", "sender.test",
               "--direction", "in")

        r = gw.cli("resolve", "a@b.test", "--json", check=False)
        out = json.loads(r.stdout)
        used = [x["fingerprint"] for x in out["candidates"] if x["used"]]
        if r.returncode != 0 or used != [a.fp]:
            raise AssertionError("a@b.test: exit %d, used %s, want 0, [%s]\n%s%s"
                                 % (r.returncode, used, a.fp, r.stdout, r.stderr))
        if "outgoing anchors of sender.test" not in out["validation"]:
            raise AssertionError("validation: %s" % out["validation"])

        # c chains only to an incoming anchor: not a recipient we may send to
        r = gw.cli("resolve", "c@b.test", "--json", check=False)
        out = json.loads(r.stdout)
        if r.returncode != 1 or out["candidates"][0]["verdict"] != "invalid" or \
                "untrusted" not in out["candidates"][0]["reason"]:
            raise AssertionError("c@b.test: exit %d\n%s%s" % (
                r.returncode, r.stdout, r.stderr))
        if "ldap: off" not in out["trace"]:
            raise AssertionError("[ldap] enabled = no ignored: %s" % out["trace"])


if __name__ == "__main__":
    harness.run([test_discovery_uses_the_instance_settings_and_outgoing_anchors])
