"""Fallback to the next-ranked endpoint, end to end on loopback: the PCP's
rank-1 Direct address does not exist at HISP B (B answers 550 5.1.1, A's
queue gives up), so the notification goes to the PCP's rank-2 address at
B, read over IMAP (Dovecot), carrying the PCP's ZNP; the specialist's
rank-1 MLLP listener answers AE, so its rank-2 listener (answering AA)
gets the HL7 message. `adt trace` shows failed -> fallback -> routed to
rank 2; a restart of A sends nothing twice, nor does a kill -9 of A at
various moments around the fallbacks lose one."""
import json
import os
import subprocess
import time

import hl7

import harness
from harness import Env, run, wait_for
from hisputil import Dovecot, two_hisps
import notifyutil as nu

PCP, SPEC = "1234567893", "1333333338"


class Answering(nu.MllpReceiver):
    """A listener that answers every message with one MSA-1 code."""

    def __init__(self, code):
        self.code = code
        super().__init__()

    def answer(self, m):
        return self.code


def trace(gw, control_id):
    rows = json.loads(gw.cli("adt", "list", "--json").stdout)
    i = [r["id"] for r in rows if r["control_id"] == control_id][0]
    return json.loads(gw.cli("adt", "trace", str(i), "--json").stdout)


def inbox(imap, user, pw):
    return [p for p in (nu.parts(raw) for raw in imap.messages(user, pw)) if p[2]]


def steps(t, npi):
    """The audit steps about one member's fallback, in order."""
    return [d["step"] for d in t["decisions"]
            if d["step"] in ("failed", "fallback", "routed", "exhausted")
            and (d["npi"] in ("", npi))]


def setup(env):
    """A and B, the PCP (rank 1 dr.gone@b.test, unknown at B; rank 2
    dr.smith@b.test) and the specialist (rank 1 answers AE, rank 2 AA)."""
    a, b, _ = two_hisps(env, a_boxes=(), b_boxes=("dr.smith",))
    bad, good = Answering("AE"), Answering("AA")
    a.gw.cli("address", "add", "notify@a.test", "--kind", "notify")
    with open(env.path("acrs.csv"), "w") as f:
        f.write(nu.ACRS_HEADER + nu.acrs_row(PCP, "Dr Smith", "pcp")
                + nu.acrs_row(SPEC, "Dr Jones", "specialist"))
    a.gw.cli("acrs", "import", env.path("acrs.csv"), "--submitter", "CLINIC")
    d = env.path("dir")
    os.makedirs(d)
    files = {
        "providers.csv": "npi,last_name,first_name,status\n"
                         "%s,Smith,Jane,active\n%s,Jones,Robert,active\n" % (PCP, SPEC),
        "endpoints.csv": "owner_npi,kind,address,rank,active\n"
                         "%s,direct,dr.gone@b.test,1,yes\n"
                         "%s,direct,dr.smith@b.test,2,yes\n"
                         "%s,mllp,127.0.0.1:%d,1,yes\n"
                         "%s,mllp,127.0.0.1:%d,2,yes\n"
                         % (PCP, PCP, SPEC, bad.port, SPEC, good.port),
        "preferences.csv": "owner_npi,events,classes,format,timing\n"
                           "%s,*,*,hl7,realtime\n" % SPEC,
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    a.gw.cli("directory", "import", *[os.path.join(d, n) for n in files])
    a.gw.start()
    b.gw.start()
    imap = Dovecot(env, b)
    smith = ("dr.smith@b.test", b.passwords["dr.smith@b.test"])
    return a, b, imap, smith, bad, good


def send(env, a, control_id, visit):
    path = env.path(control_id + ".mllp")
    with open(path, "wb") as f:
        f.write(nu.frame(nu.adt("A01", control_id, visit)))
    r = subprocess.run(["mllp_send", "--file", path, "--port",
                        str(a.gw.mllp_port), "127.0.0.1"],
                       capture_output=True, timeout=60)
    assert r.stdout.count(b"MSA|AA|") == 1, (r.stdout, r.stderr)


def test_failed_endpoints_fall_back_to_rank_two():
    harness.require("mllp_send", "dovecot", "knotd")
    with Env("notify-fallback") as env:
        a, b, imap, smith, bad, good = setup(env)
        send(env, a, "F1", "V100")

        # Direct: rank 1 refused by B, rank 2 reads it.
        got = wait_for(lambda: inbox(imap, *smith) or None, 40, interval=0.3,
                       what="the fallback notification in dr.smith's inbox")
        msg, summary, hl7s = got[0]
        assert "Admission" in summary, "summary lacks the event"
        m = hl7.parse(hl7s[0].replace("\r\n", "\r"))
        assert nu.z_values(m, "ZNP") == [PCP], nu.z_values(m, "ZNP")
        # MLLP: AE from rank 1, rank 2 gets it.
        got_m = wait_for(lambda: good.got() or None, 30, what="MLLP at rank 2")
        assert nu.z_values(got_m[0], "ZNP") == [SPEC], nu.z_values(got_m[0], "ZNP")
        assert len(bad.got()) == 1, len(bad.got())

        def settled():
            t = trace(a.gw, "F1")
            by = {n["recipient"]: n for n in t["notifications"]}
            ok = (by.get("dr.gone@b.test", {}).get("state") == "failed"
                  and by.get("127.0.0.1:%d" % bad.port, {}).get("state") == "failed"
                  and by.get("127.0.0.1:%d" % good.port, {}).get("state") == "delivered"
                  and "dr.smith@b.test" in by)
            return t if ok else None
        t = wait_for(settled, 30, interval=0.3, what="trace settled")
        by = {n["recipient"]: n for n in t["notifications"]}
        assert by["dr.smith@b.test"]["message_id"] == str(msg["Message-ID"])
        assert by["dr.gone@b.test"]["fallback"] == "done", by["dr.gone@b.test"]
        assert by["dr.smith@b.test"]["fallback_of"] == by["dr.gone@b.test"]["id"]
        assert by["127.0.0.1:%d" % good.port]["fallback_of"] == \
            by["127.0.0.1:%d" % bad.port]["id"]
        dec = t["decisions"]
        failed = [x for x in dec if x["step"] == "failed"]
        assert any(x["recipient"] == "dr.gone@b.test" and "queue_failed" in x["detail"]
                   and "5.1.1" in x["detail"] for x in failed), failed
        assert any(x["recipient"] == "127.0.0.1:%d" % bad.port and "code=AE" in x["detail"]
                   for x in failed), failed
        fb = [x for x in dec if x["step"] == "fallback"]
        assert sorted((x["npi"], x["recipient"]) for x in fb) == sorted(
            [(PCP, "dr.smith@b.test"), (SPEC, "127.0.0.1:%d" % good.port)]), fb
        assert all("rank=2" in x["detail"] for x in fb), fb
        routed = [x for x in dec if x["step"] == "routed" and "fallback_of=" in x["detail"]]
        assert len(routed) == 2 and all("rank=2" in x["detail"] for x in routed), routed
        # In order: the failure, the fallback, the routing.
        i = [x["step"] for x in dec]
        first_fail = i.index("failed")
        assert first_fail < i.index("fallback") < max(
            j for j, x in enumerate(dec) if x in routed), i
        text = a.gw.cli("adt", "trace", str(t["id"])).stdout
        if os.environ.get("DG_SHOW"):
            print(text)
        assert "fallback" in text and "fallback_of=#" in text, text

        # A restart sends nothing twice.
        assert a.gw.stop() == 0, a.gw.log_tail(60)
        a.gw.start()
        time.sleep(2.0)
        assert len(inbox(imap, *smith)) == 1
        assert len(good.got()) == 1 and len(bad.got()) == 1, (good.got(), bad.got())
        t = trace(a.gw, "F1")
        assert len(t["notifications"]) == 4, t["notifications"]
        assert sum(1 for x in t["decisions"] if x["step"] == "fallback") == 2
        # No PHI in A's log.
        log = a.gw.log()
        for phi in ("DOE", "JANE", "19800101", "LANSING", "Chest pain"):
            assert phi not in log, phi
        bad.close()
        good.close()
        for gw in (a.gw, b.gw):
            rc = gw.stop()
            assert rc == 0, (gw.name, rc, gw.log_tail(60))


def test_kill9_around_a_fallback_loses_none_and_sends_none_twice():
    harness.require("mllp_send", "dovecot", "knotd")
    with Env("notify-fallback-kill") as env:
        a, b, imap, smith, bad, good = setup(env)
        delays = (0.05, 0.3, 0.7)
        for i, delay in enumerate(delays):
            send(env, a, "K%d" % i, "VK%d" % i)
            time.sleep(delay)
            a.gw.kill9()
            a.gw.start()
        got = wait_for(lambda: (lambda v: v if len(v) >= len(delays) else None)(
            inbox(imap, *smith)), 60, interval=0.3, what="every fallback at rank 2")

        def settled():
            ts = [trace(a.gw, "K%d" % i) for i in range(len(delays))]
            ok = all(sum(1 for n in t["notifications"] if n["state"] == "delivered") == 1
                     and len(t["notifications"]) == 4 for t in ts)
            return ts if ok else None
        ts = wait_for(settled, 60, interval=0.3, what="every MLLP fallback delivered")
        time.sleep(1.5)
        # Once each: B keeps one copy per Message-ID; the MLLP listener
        # may see a resend of one message (MLLP is at least once), never
        # a second fallback with a message of its own.
        assert len(inbox(imap, *smith)) == len(delays), len(inbox(imap, *smith))
        assert len(got) == len(delays)
        cids = [str(m.segment("MSH")[10]) for m in good.got()]
        assert sorted(set(cids)) == ["K%d" % i for i in range(len(delays))], cids
        for t in ts:
            fb = [x for x in t["decisions"] if x["step"] == "fallback"]
            assert len(fb) == 2, fb
            assert sorted(n["recipient"] for n in t["notifications"]) == sorted(
                ["dr.gone@b.test", "dr.smith@b.test", "127.0.0.1:%d" % bad.port,
                 "127.0.0.1:%d" % good.port]), t["notifications"]
        bad.close()
        good.close()
        for gw in (a.gw, b.gw):
            rc = gw.stop()
            assert rc == 0, (gw.name, rc, gw.log_tail(60))


if __name__ == "__main__":
    run([test_failed_endpoints_fall_back_to_rank_two,
         test_kill9_around_a_fallback_loses_none_and_sends_none_twice])
