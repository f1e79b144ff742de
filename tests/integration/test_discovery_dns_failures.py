"""DNS failures during discovery are told apart: no record (NXDOMAIN,
NODATA: permanent, exit 1, not deliverable) versus a server that does not
answer, refuses or fails (temporary, exit 2, retry later)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsutil  # noqa: E402
import harness  # noqa: E402


def resolve(env, server, address, *extra):
    e = dict(os.environ, DIRECTGATE_DIR=env.path("none"))
    argv = [harness.DIRECTGATE, "resolve", address, "--json", "--no-trust",
            "--server", server, "--timeout", "300ms", "--tries", "1"] + list(extra)
    start = time.time()
    r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60)
    took = time.time() - start
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError("%s: exit %d, no JSON:\n%s%s" % (
            address, r.returncode, r.stdout, r.stderr))
    return r.returncode, out, took


def expect(env, server, address, want_rc, want_outcome, want_trace, *extra):
    rc, out, took = resolve(env, server, address, *extra)
    trace = "\n".join(out["trace"])
    if rc != want_rc or out["outcome"] != want_outcome or want_trace not in trace:
        raise AssertionError("%s via %s: got exit %d %s (%s); want exit %d %s "
                             "with %r in the trace:\n%s" % (
                                 address, server, rc, out["outcome"], out["reason"],
                                 want_rc, want_outcome, want_trace, trace))
    return out, took


def test_discovery_nxdomain_and_nodata_are_permanent():
    with harness.Env("dnsfail-perm") as env:
        harness.require("knotd")
        knot = dnsutil.Knot(env.tmp, env.procs, {"b.test": "www A 127.0.0.1"})
        out, _ = expect(env, knot.server(), "nobody@b.test", 1, "none",
                        "dns nobody.b.test CERT: nxdomain")
        if "dns b.test CERT: nodata" not in out["trace"]:
            raise AssertionError("no NODATA step: %s" % out["trace"])
        if "dns _ldap._tcp.b.test SRV: nxdomain, 0 targets" not in out["trace"]:
            raise AssertionError("no SRV step: %s" % out["trace"])


def test_discovery_silent_server_is_temporary():
    with harness.Env("dnsfail-silent") as env:
        silent = dnsutil.Silent()
        try:
            _, took = expect(env, silent.server(), "a@b.test", 2, "temp",
                             "temporary failure: timeout")
        finally:
            silent.stop()
        if took > 10:
            raise AssertionError("took %.1fs with a 300 ms timeout" % took)


def test_discovery_closed_port_is_temporary():
    with harness.Env("dnsfail-closed") as env:
        port = harness.free_port()
        expect(env, "127.0.0.1:%d" % port, "a@b.test", 2, "temp",
               "temporary failure")


def test_discovery_refused_and_servfail_are_temporary():
    with harness.Env("dnsfail-refused") as env:
        harness.require("knotd")
        knot = dnsutil.Knot(env.tmp, env.procs, {"b.test": "www A 127.0.0.1"},
                            broken=["broken.test"])
        # Knot refuses names outside its zones
        expect(env, knot.server(), "a@elsewhere.test", 2, "temp",
               "temporary failure")
        # a zone that failed to load answers SERVFAIL
        expect(env, knot.server(), "a@broken.test", 2, "temp",
               "temporary failure")


def test_discovery_malformed_address_is_a_usage_failure():
    with harness.Env("dnsfail-addr") as env:
        e = dict(os.environ, DIRECTGATE_DIR=env.path("none"))
        r = subprocess.run([harness.DIRECTGATE, "resolve", "no-at-sign",
                            "--no-trust", "--server", "127.0.0.1:9"],
                           capture_output=True, text=True, env=e, timeout=30)
        if r.returncode == 0 or "not a Direct address" not in r.stderr:
            raise AssertionError("exit %d: %s" % (r.returncode, r.stderr))


if __name__ == "__main__":
    harness.run([test_discovery_nxdomain_and_nodata_are_permanent,
                 test_discovery_silent_server_is_temporary,
                 test_discovery_closed_port_is_temporary,
                 test_discovery_refused_and_servfail_are_temporary,
                 test_discovery_malformed_address_is_a_usage_failure])
