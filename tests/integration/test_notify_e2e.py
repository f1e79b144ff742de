"""The notification agent end to end on loopback: a hospital sends ADTs
over MLLP (python3-hl7's mllp_send) to directgate A; the patient's PCP at
HISP B reads Direct notifications over IMAP (Dovecot) whose summary names
the event and whose text/hl7v2 attachment parses with python3-hl7 and
carries the receiver's ZNP/ZPD segments; A records processed and
dispatched MDNs; a specialist who prefers MLLP gets HL7 on a test listener
(answering AA); a member with restricted consent gets nothing for a
behavioral health event; an A03 follows; an A11 retracts; the same A01
sent again produces nothing new."""
import json
import os
import subprocess
import time

import hl7

import harness
from harness import Env, run, wait_for
from hisputil import Dovecot, two_hisps
import notifyutil as nu

PCP, SPEC, BH = "1234567893", "1333333338", "1444444446"


def send(env, name, *msgs):
    path = env.path(name + ".mllp")
    with open(path, "wb") as f:
        for m in msgs:
            f.write(nu.frame(m))
    r = subprocess.run(["mllp_send", "--file", path, "--port",
                        str(env.a.gw.mllp_port), "127.0.0.1"],
                       capture_output=True, timeout=60)
    if r.returncode != 0 or r.stdout.count(b"MSA|AA|") != len(msgs):
        raise AssertionError("mllp_send: %r %r" % (r.stdout, r.stderr))


def adt_id(gw, control_id):
    rows = json.loads(gw.cli("adt", "list", "--json").stdout)
    for r in rows:
        if r["control_id"] == control_id:
            return r["id"]
    raise AssertionError("no stored ADT %s" % control_id)


def trace(gw, control_id):
    return json.loads(gw.cli("adt", "trace", str(adt_id(gw, control_id)),
                             "--json").stdout)


def wait_done(gw, control_id):
    return wait_for(lambda: (lambda t: t if t["state"] == "done" else None)(
        trace(gw, control_id)), 30, interval=0.2,
        what="ADT %s processed" % control_id)


def inbox(imap, user, pw):
    out = []
    for raw in imap.messages(user, pw):
        msg, summary, hl7s = nu.parts(raw)
        if hl7s:
            out.append((msg, summary, hl7s))
    return out


def wait_inbox(imap, user, pw, n):
    return wait_for(lambda: (lambda v: v if len(v) >= n else None)(
        inbox(imap, user, pw)), 40, interval=0.3,
        what="%d notification(s) for %s" % (n, user))


def test_adt_to_care_team_end_to_end():
    harness.require("mllp_send", "dovecot", "knotd")
    with Env("notify-e2e") as env:
        a, b, _ = two_hisps(env, a_boxes=(), b_boxes=("dr.smith", "dr.brown"),
                            a_config="[mdn]\ncheck_interval = 200ms\n")
        env.a = a
        rcv = nu.MllpReceiver()
        a.gw.cli("address", "add", "notify@a.test", "--kind", "notify")
        acrs = env.path("acrs.csv")
        with open(acrs, "w") as f:
            f.write(nu.ACRS_HEADER + nu.acrs_row(PCP, "Dr Smith", "pcp")
                    + nu.acrs_row(SPEC, "Dr Jones", "specialist")
                    + nu.acrs_row(BH, "Dr Brown", "behavioral_health",
                                  "restricted"))
        a.gw.cli("acrs", "import", acrs, "--submitter", "CLINIC")
        d = env.path("dir")
        os.makedirs(d)
        files = {
            "providers.csv": "npi,last_name,first_name,status\n%s,Smith,Jane,active\n"
                             "%s,Jones,Robert,active\n%s,Brown,Alice,active\n"
                             % (PCP, SPEC, BH),
            "endpoints.csv": "owner_npi,kind,address,rank,active\n"
                             "%s,direct,dr.smith@b.test,1,yes\n"
                             "%s,mllp,127.0.0.1:%d,1,yes\n"
                             "%s,direct,dr.brown@b.test,1,yes\n"
                             % (PCP, SPEC, rcv.port, BH),
            "preferences.csv": "owner_npi,events,classes,format,timing\n"
                               "%s,\"A01,A03\",*,hl7,realtime\n" % SPEC,
        }
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        a.gw.cli("directory", "import", *[os.path.join(d, n) for n in files])
        a.gw.start()
        b.gw.start()
        imap = Dovecot(env, b)
        smith = ("dr.smith@b.test", b.passwords["dr.smith@b.test"])
        brown = ("dr.brown@b.test", b.passwords["dr.brown@b.test"])

        # 1. The admission.
        send(env, "a01", nu.adt("A01", "C1", "V100"))
        t = wait_done(a.gw, "C1")
        got = wait_inbox(imap, *smith, 1)
        msg, summary, hl7s = got[0]
        assert "Admission" in summary and "DOE" in summary, summary
        assert "ADT notification" in str(msg["Subject"]), msg["Subject"]
        m = hl7.parse(hl7s[0].replace("\r\n", "\r"))
        assert str(m.segment("MSH")[9]) == "ADT^A01^ADT_A01", str(m.segment("MSH")[9])
        assert nu.z_values(m, "ZNP") == [PCP], nu.z_values(m, "ZNP")
        assert nu.z_values(m, "ZPD") == ["G1"], nu.z_values(m, "ZPD")
        assert str(m.segment("ZNP")[1]) == "ACRSNPI"
        assert str(m.segment("ZPD")[1]) == "PATIENTID"
        # A records the processed and dispatched MDNs for it.
        mid = [n for n in t["notifications"] if n["recipient"] == "dr.smith@b.test"][0]["message_id"]
        assert mid == str(msg["Message-ID"]), (mid, msg["Message-ID"])

        def status():
            r = a.gw.cli("message", "status", mid, "--json", check=False)
            if r.returncode != 0:
                return None
            s = json.loads(r.stdout)["recipients"][0]
            return s if s["state"] == "dispatched" else None
        s = wait_for(status, 40, interval=0.3, what="dispatched MDN for " + mid)
        assert s["processed"] and s["dispatched"], s
        # The specialist who prefers MLLP got the HL7 message.
        got_m = wait_for(lambda: rcv.got() or None, 30, what="MLLP message")
        assert str(got_m[0].segment("MSH")[9]) == "ADT^A01^ADT_A01"
        assert nu.z_values(got_m[0], "ZNP") == [SPEC], nu.z_values(got_m[0], "ZNP")
        wait_for(lambda: all(n["state"] == "delivered" for n in trace(a.gw, "C1")["notifications"]
                             if n["kind"] == "mllp") or None, 30, what="MLLP delivered")
        # The behavioral health provider got this (non-sensitive) one.
        assert len(wait_inbox(imap, *brown, 1)) == 1

        # 2. A behavioral health admission (another visit): not to the
        # member whose relationship carries restricted consent.
        send(env, "bh", nu.adt("A01", "C2", "V200",
                                "DG1|1||F32.9^Major depressive disorder^I10"))
        t = wait_done(a.gw, "C2")
        wait_inbox(imap, *smith, 2)
        assert any(x["step"] == "suppressed" and x["npi"] == BH
                   and "consent_restricted" in x["detail"] for x in t["decisions"]), t
        assert not [n for n in t["notifications"] if n["recipient"] == "dr.brown@b.test"]
        wait_for(lambda: len(rcv.got()) >= 2 or None, 30, what="MLLP BH copy")

        # 3. The discharge.
        send(env, "a03", nu.adt("A03", "C3", "V100"))
        wait_done(a.gw, "C3")
        got = wait_inbox(imap, *smith, 3)
        assert any("Discharge" in s and "home or self care" in s for _, s, _ in got), \
            [s for _, s, _ in got]
        wait_for(lambda: len(rcv.got()) >= 3 or None, 30, what="MLLP A03")
        wait_inbox(imap, *brown, 2)

        # 4. The admission is cancelled: everyone told of it is told.
        send(env, "a11", nu.adt("A11", "C4", "V100"))
        t = wait_done(a.gw, "C4")
        retr = sorted(n["recipient"] for n in t["notifications"])
        assert retr == sorted(["dr.smith@b.test", "dr.brown@b.test",
                               "127.0.0.1:%d" % rcv.port]), retr
        got = wait_inbox(imap, *smith, 4)
        assert any("CANCELLATION" in s for _, s, _ in got)
        got = wait_inbox(imap, *brown, 3)
        assert any("CANCELLATION" in s for _, s, _ in got)
        wait_for(lambda: len(rcv.got()) >= 4 or None, 30, what="MLLP A11")
        assert str(rcv.got()[3].segment("MSH")[9]).startswith("ADT^A11")

        # 5. The same A01 again (a resend with a new control id): nothing.
        send(env, "again", nu.adt("A01", "C5", "V100"))
        t = wait_done(a.gw, "C5")
        assert t["notifications"] == [], t["notifications"]
        assert sum(1 for x in t["decisions"] if x["step"] == "duplicate") == 3, t
        time.sleep(1.5)
        assert len(inbox(imap, *smith)) == 4
        assert len(inbox(imap, *brown)) == 3
        assert len(rcv.got()) == 4
        # And the very same message (same MSH-10) is stored once.
        send(env, "same", nu.adt("A01", "C1", "V100"))
        time.sleep(1.0)
        assert len(inbox(imap, *smith)) == 4
        # No PHI in A's log.
        log = a.gw.log()
        for phi in ("DOE", "JANE", "19800101", "LANSING", "Chest pain"):
            assert phi not in log, phi
        rcv.close()
        for gw in (a.gw, b.gw):
            rc = gw.stop()
            log = gw.log()
            i = log.find("WARNING: ThreadSanitizer")
            assert rc == 0, (gw.name, rc, log[i:i + 8000] if i >= 0
                             else gw.log_tail(60))


if __name__ == "__main__":
    run([test_adt_to_care_team_end_to_end])
