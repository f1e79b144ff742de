"""MLLP notifications from the agent to a receiver that misbehaves: AE is a
permanent failure (never retried), AR is retried after a backoff, a
message left unanswered times out and is retried on a new connection, and
none of them holds back the messages queued behind it."""
import json
import os
import subprocess
import time

import harness
from harness import Env, run, wait_for
import notifyutil as nu

SPEC = "1333333338"


class Picky(nu.MllpReceiver):
    """AE for visit VBAD; AR the first time for VAR; silence the first
    time for VSLOW; AA otherwise."""

    def __init__(self):
        self.seen = {}
        self.order = []
        super().__init__()

    def answer(self, m):
        visit = str(m.segment("PV1")[19])
        self.order.append(visit)
        n = self.seen[visit] = self.seen.get(visit, 0) + 1
        if visit == "VSLOW" and n == 1:
            return None  # no answer: the sender times out
        if visit == "VBAD":
            return "AE"
        if visit == "VAR" and n == 1:
            return "AR"
        return "AA"


def test_ae_is_final_ar_and_timeout_are_retried_and_nothing_blocks():
    harness.require("mllp_send")
    with Env("notify-mllp") as env:
        rcv = Picky()
        gw = env.instance("a")
        with open(env.path("acrs.csv"), "w") as f:
            f.write(nu.ACRS_HEADER + nu.acrs_row(SPEC, "Dr Jones", "specialist"))
        gw.cli("acrs", "import", env.path("acrs.csv"), "--submitter", "CLINIC")
        d = env.path("dir")
        os.makedirs(d)
        for name, text in {
            "providers.csv": "npi,last_name,first_name,status\n%s,Jones,Robert,active\n" % SPEC,
            "endpoints.csv": "owner_npi,kind,address,rank,active\n%s,mllp,127.0.0.1:%d,1,yes\n"
                             % (SPEC, rcv.port),
            "preferences.csv": "owner_npi,events,classes,format,timing\n%s,*,*,hl7,realtime\n" % SPEC,
        }.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        gw.cli("directory", "import", *[os.path.join(d, n) for n in
                                         ("providers.csv", "endpoints.csv", "preferences.csv")])
        gw.start()
        path = env.path("adts.mllp")
        with open(path, "wb") as f:
            for i, v in enumerate(("VBAD", "VAR", "VSLOW", "VOK")):
                f.write(nu.frame(nu.adt("A01", "M%d" % i, v)))
        r = subprocess.run(["mllp_send", "--file", path, "--port", str(gw.mllp_port),
                            "127.0.0.1"], capture_output=True, timeout=60)
        assert r.stdout.count(b"MSA|AA|") == 4, r.stdout

        def state(cid):
            rows = json.loads(gw.cli("adt", "list", "--json").stdout)
            i = [x["id"] for x in rows if x["control_id"] == cid][0]
            t = json.loads(gw.cli("adt", "trace", str(i), "--json").stdout)
            return t["notifications"][0] if t["notifications"] else None

        # VOK is delivered although VAR and VSLOW ahead of it are not.
        wait_for(lambda: (state("M3") or {}).get("state") == "delivered" or None, 60,
                 interval=0.3, what="VOK delivered")
        assert state("M1")["state"] == "pending" or rcv.seen.get("VAR", 0) >= 2
        # AE: failed, once, never again.
        n = wait_for(lambda: (lambda s: s if s and s["state"] == "failed" else None)(state("M0")),
                     30, what="VBAD failed")
        assert n["attempts"] == 1 and "code=AE" in n["reason"], n
        # AR: delivered on the retry.
        n = wait_for(lambda: (lambda s: s if s and s["state"] == "delivered" else None)(state("M1")),
                     60, interval=0.5, what="VAR delivered on retry")
        assert n["attempts"] == 2, n
        # Silence: timed out, then delivered on a new connection.
        n = wait_for(lambda: (lambda s: s if s and s["state"] == "delivered" else None)(state("M2")),
                     90, interval=0.5, what="VSLOW delivered after a timeout")
        assert n["attempts"] == 2, n
        time.sleep(1.5)
        assert rcv.seen == {"VBAD": 1, "VAR": 2, "VSLOW": 2, "VOK": 1}, rcv.seen
        assert rcv.order.index("VOK") < len(rcv.order) - 1, rcv.order
        rcv.close()
        assert gw.stop() == 0


if __name__ == "__main__":
    run([test_ae_is_final_ar_and_timeout_are_retried_and_nothing_blocks])
