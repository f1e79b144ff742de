"""The environment bench_smtp measures (run by bench/bench_smtp, not by
hand): a private Postfix delivering everything to discard:, a directgate
instance taking plaintext mail for bench.test on port 25 (durable queue;
its runner refuses the unsealed messages after the commit), and two
HISPs (A and B, Knot for discovery) with a message sealed by A for
bob@b.test, B sending no MDNs.

Prints key=value lines, then "ready"; tears everything down when stdin
closes or reads "stop".  Usage: bench_smtp_env.py DIRECTGATE
($DG_BENCH_WORKERS sets [core] workers of the measured daemons.)"""
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("DG_SOURCE_DIR") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
if len(sys.argv) > 1:
    os.environ["DIRECTGATE"] = os.path.abspath(sys.argv[1])

import harness  # noqa: E402
from hisputil import domain_cert_and_key, message, two_hisps  # noqa: E402
from postfixutil import Postfix  # noqa: E402


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    env = harness.Env("bench-smtp")
    try:
        out = {}
        pf = Postfix(env, transport={"bench.test": "discard:"},
                     extra="smtpd_client_connection_count_limit = 0\n"
                           "default_process_limit = 100\n")
        out["postfix_port"] = pf.port
        workers = os.environ.get("DG_BENCH_WORKERS", "")
        # Like Postfix above (no per-client limit): the idle-connection
        # figure opens 1,000 sessions from one address.
        gw = env.instance("intake", config="[queue]\nscan_interval = 1s\n"
                          "[smtp]\nmax_sessions = 5000\nmax_sessions_per_ip = 0\n" +
                          ("[core]\nworkers = %s\n" % workers if workers else ""))
        gw.cli("domain", "add", "bench.test")
        gw.cli("address", "add", "u@bench.test", "--password-stdin",
               input="pw-u\n")
        gw.start()
        out["intake_port"] = gw.smtp_port
        out["intake_pid"] = gw.proc.pid
        workers = os.environ.get("DG_BENCH_WORKERS", "")
        core = "[core]\nworkers = %s\n" % workers if workers else ""
        # B with the default scan interval (two_hisps sets 100ms).
        a, b, knot = two_hisps(env, b_config="[mdn]\nsend = no\n" + core +
                               "[queue]\nscan_interval = 1s\n")
        b.gw.start()
        b_pem, _ = domain_cert_and_key(b, "b.test")
        src = env.path("direct.eml")
        body = "".join("Line %04d of the discharge summary, 4 KiB in all.%s\r\n"
                       % (i, "." * 10) for i in range(62))
        with open(src, "wb") as f:
            f.write(message("alice@a.test", "bob@b.test", body=body,
                            mid="<bench@a.test>"))
        sealed = env.path("sealed.eml")
        a.gw.cli("message", "seal", "--from", "alice@a.test", "--to",
                 "bob@b.test", "--recip-cert", b_pem, "--out", sealed, src)
        out["direct_port"] = b.gw.smtp_port
        out["direct_pid"] = b.gw.proc.pid
        out["direct_maildir"] = os.path.join(b.gw.dir, "mail", "b.test", "bob",
                                             "new")
        out["direct_message"] = sealed
        out["direct_plain_size"] = os.path.getsize(src)
        for k, v in out.items():
            print("%s=%s" % (k, v))
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        for inst in env.instances:
            if inst.running():
                rc = inst.stop()
                print("%s_exit=%s" % (inst.name, rc), flush=True)
    finally:
        env.__exit__(None, None, None)


if __name__ == "__main__":
    try:
        main()
    except harness.Skip as s:
        print("skip=%s" % s, flush=True)
        sys.exit(77)
