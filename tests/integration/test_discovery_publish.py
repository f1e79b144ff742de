"""Hosting (DCDT H1-H4 in spirit): `directgate publish DOMAIN` prints CERT
records and LDIF for the gateway's own certificates; loaded into Knot and
slapd, they are found by discovery (`directgate resolve` of a second
party): address- and domain-bound over DNS, and over LDAP."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsutil  # noqa: E402
import harness  # noqa: E402


def resolve(env, server, address, ca, *extra):
    e = dict(os.environ, DIRECTGATE_DIR=env.path("none"))
    r = subprocess.run([harness.DIRECTGATE, "resolve", address, "--json",
                        "--server", server, "--anchor", ca.pem, "--from",
                        "sender.test", "--timeout", "1s", "--tries", "1"]
                       + list(extra), capture_output=True, text=True,
                       env=e, timeout=60)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        raise AssertionError("%s: exit %d\n%s%s" % (address, r.returncode,
                                                  r.stdout, r.stderr))


def used(out):
    return sorted((c["source"], c["fingerprint"]) for c in out["candidates"]
                  if c["used"])


def test_published_records_are_discovered():
    with harness.Env("publish") as env:
        harness.require("knotd", "slapd", "openssl")
        ca = dnsutil.CA(env.tmp, "root")
        addr = ca.issue("a", email="a@host.test")
        org = ca.issue("org", dns="host.test")
        gw = env.instance("gw")
        gw.cli("domain", "add", "host.test")
        for cert in (addr, org):
            key = cert.pem[:-4] + ".key"
            gw.cli("cert", "import", cert.pem, key)

        r = gw.cli("publish", "host.test", "--help")
        zone = gw.cli("publish", "host.test", "--zone", "--ttl", "600").stdout
        ldif = gw.cli("publish", "host.test", "--ldif", "--base",
                      "dc=host,dc=test").stdout
        for want in ("a 600 IN CERT PKIX 0 0 ", "@ 600 IN CERT PKIX 0 0 "):
            if want not in zone:
                raise AssertionError("zone lacks %r:\n%s" % (want, zone))
        if "mail: a@host.test" not in ldif or "userCertificate;binary:: " not in ldif:
            raise AssertionError("LDIF:\n%s" % ldif)
        r = gw.cli("publish", "nothere.test", check=False)
        if r.returncode != 1 or "not a local domain" not in r.stderr:
            raise AssertionError("publish of an unknown domain: exit %d %s"
                                 % (r.returncode, r.stderr))

        # DNS: the zone as published
        body = "\n".join(l for l in zone.splitlines() if not l.startswith("$ORIGIN"))
        knot = dnsutil.Knot(env.tmp, env.procs, {"host.test": body})
        rc, out = resolve(env, knot.server(), "a@host.test", ca)
        if rc != 0 or used(out) != [("dns-address", addr.fp)]:
            raise AssertionError("a@host.test over DNS: exit %d\n%s" % (
                rc, json.dumps(out, indent=1)))
        rc, out = resolve(env, knot.server(), "b@host.test", ca)
        if rc != 0 or used(out) != [("dns-domain", org.fp)]:
            raise AssertionError("b@host.test over DNS: exit %d\n%s" % (
                rc, json.dumps(out, indent=1)))

        # LDAP: the LDIF as published, named by SRV in another zone server
        ldap = dnsutil.Slapd(env.tmp, env.procs, "host", ["dc=host,dc=test"], ldif)
        env2 = os.path.join(env.tmp, "z2")
        os.makedirs(env2)
        knot2 = dnsutil.Knot(env2, env.procs, {
            "host.test": "_ldap._tcp SRV 0 0 %d ldap\nldap A 127.0.0.1" % ldap.port})
        rc, out = resolve(env, knot2.server(), "a@host.test", ca)
        if rc != 0 or used(out) != [("ldap-address", addr.fp)]:
            raise AssertionError("a@host.test over LDAP: exit %d\n%s" % (
                rc, json.dumps(out, indent=1)))


if __name__ == "__main__":
    harness.run([test_published_records_are_discovered])
