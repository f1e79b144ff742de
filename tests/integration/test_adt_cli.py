"""`directgate adt send|list|show`: local intake and MLLP sending print
each ACK; list shows ids, events and states without patient data; show
reveals contents only with --phi."""
import json
import os

import adtutil
import harness
from test_adt_mllp import serve

PHI_MARKERS = ("TESTPATIENT", "EVERYMAN", "19700101")


def test_send_into_local_intake_then_list_and_show():
    with harness.Env("adt-cli") as env:
        inst = env.instance("gw")
        good = [os.path.join(adtutil.GENERATED_HL7, f)
                for f in ("adt_a01_251.hl7", "batch.hl7", "adt_a40_251.hl7")]
        r = inst.cli("adt", "send", *good)
        lines = [l for l in r.stdout.splitlines() if not l.startswith("  ")]
        if len(lines) != 5 or not all(l.endswith(": AA") for l in lines):
            raise AssertionError("adt send: %r" % r.stdout)
        r = inst.cli("adt", "send", "--json",
                     os.path.join(adtutil.GENERATED_HL7, "malformed", "bad_dob.hl7"), check=False)
        if r.returncode != 1:
            raise AssertionError("AE must exit 1, got %d" % r.returncode)
        out = json.loads(r.stdout)
        if out[0]["ack"] != "AE" or out[0]["errors"][0]["code"] != 102 or \
                out[0]["errors"][0]["location"] != "PID^1^7^1^1":
            raise AssertionError("adt send --json: %r" % out)
        rows = json.loads(inst.cli("adt", "list", "--json").stdout)
        if sorted(r["event"] for r in rows) != ["A01", "A01", "A03", "A08", "A40"]:
            raise AssertionError("adt list: %r" % rows)
        if any(r["state"] != "received" or r["channel"] != "cli" for r in rows):
            raise AssertionError("adt list states: %r" % rows)
        listing = inst.cli("adt", "list").stdout
        shown = inst.cli("adt", "show", str(rows[0]["id"])).stdout
        for text in (listing, shown, json.dumps(rows)):
            if any(m in text for m in PHI_MARKERS):
                raise AssertionError("patient data shown without --phi: %r" % text)
        phi = inst.cli("adt", "show", str(rows[0]["id"]), "--phi").stdout
        if "TESTPATIENT" not in phi or "\nPID|" not in phi:
            raise AssertionError("adt show --phi: %r" % phi)
        r = inst.cli("adt", "show", "9999", check=False)
        if r.returncode != 1 or "no ADT" not in r.stderr:
            raise AssertionError("show of a missing id: %r" % r.stderr)
        # Windows-1252 content is stored as received, transcoded for reading.
        inst.cli("adt", "send", os.path.join(adtutil.GENERATED_HL7, "charset", "cp1252.hl7"))
        row = json.loads(inst.cli("adt", "list", "--json", "--limit", "1").stdout)[0]
        if row["control_id"] != "GEN-1252-1":
            raise AssertionError("cp1252 message not stored: %r" % row)
        phi = inst.cli("adt", "show", str(row["id"]), "--phi").stdout
        if "REN\u00e9E" not in phi or "\u201cQ\u201d" not in phi:
            raise AssertionError("cp1252 not transcoded for reading: %r" % phi)
        r = inst.cli("adt", "--help")
        if "adt send" not in r.stdout:
            raise AssertionError("adt --help")


def test_send_over_mllp_prints_each_ack():
    with harness.Env("adt-cli-mllp") as env:
        inst = serve(env)
        target = "127.0.0.1:%d" % inst.mllp_port
        r = inst.cli("adt", "send", "--mllp", target,
                     os.path.join(adtutil.GENERATED_HL7, "multi_no_batch.hl7"),
                     os.path.join(adtutil.GENERATED_HL7, "malformed", "no_pid3.hl7"), check=False)
        if r.returncode != 1:
            raise AssertionError("exit %d, want 1 (one AE): %s %s" % (r.returncode, r.stdout, r.stderr))
        if r.stdout.count(": AA") != 2 or ": AE" not in r.stdout or "ERR PID^1^3^1^1 101 E" not in r.stdout:
            raise AssertionError("adt send --mllp: %r" % r.stdout)
        r = inst.cli("adt", "send", "--mllp", "127.0.0.1:1",
                     os.path.join(adtutil.GENERATED_HL7, "adt_a01_251.hl7"), check=False)
        if r.returncode == 0 or "connect" not in r.stderr:
            raise AssertionError("unreachable peer: %r" % r.stderr)


if __name__ == "__main__":
    harness.run([test_send_into_local_intake_then_list_and_show,
                 test_send_over_mllp_prints_each_ack])
