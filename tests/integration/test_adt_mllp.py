"""MLLP intake through `directgate serve`: python3-hl7's mllp_send reads
AA for the samples; malformed messages get AE with a useful ERR; an
oversized frame closes its connection while others keep being served;
bytes outside frames are ignored; enhanced mode and release 2 commit
ACKs."""
import os
import sqlite3
import subprocess
import time

import adtutil
import harness


def serve(env, config=""):
    inst = adtutil.adt_instance(env, config=config)
    try:
        inst.start()
    except AssertionError as e:
        if "[mllp]" in str(e) and "unknown" in str(e):
            harness.skip("[mllp] settings not registered yet (gateway/instance.c: adt_config_defs)")
        raise
    try:
        harness.wait_port(inst.mllp_port, timeout=5)
    except TimeoutError:
        harness.skip("directgate serve does not start the MLLP server yet "
                     "(gateway: mllp_server_start)")
    return inst


def stored(inst):
    db = sqlite3.connect(os.path.join(inst.dir, "directgate.db"))
    try:
        return db.execute("SELECT facility, control_id, count(*) FROM adt_event"
                          " GROUP BY facility, control_id").fetchall()
    finally:
        db.close()


def test_mllp_send_reads_aa_for_every_sample():
    harness.require("mllp_send")
    with harness.Env("adt-mllp-send") as env:
        inst = serve(env)
        files = [f for f in adtutil.sample_files() if "/malformed/" not in f]
        keys = set()
        for path in files:
            with open(path, "rb") as f:
                raw = f.read()
            msgs = adtutil.normalized_messages(raw)
            framed = env.path(os.path.basename(path) + ".mllp")
            with open(framed, "wb") as f:
                for m in msgs:
                    f.write(adtutil.mllp_frame(m.encode("utf-8")))
            r = subprocess.run(["mllp_send", "--file", framed, "--port",
                                str(inst.mllp_port), "127.0.0.1"],
                               capture_output=True, timeout=60)
            if r.returncode != 0:
                raise AssertionError("mllp_send %s: %s" % (path, r.stderr))
            for m in msgs:
                fields = m.split("\r")[0].split(m[3])
                ctrl = fields[9]
                keys.add((fields[3], ctrl))
                want = ("MSA%sAA%s%s" % (m[3], m[3], ctrl)).encode()
                if want not in r.stdout:
                    raise AssertionError("%s: no %r in mllp_send's output:\n%s"
                                         % (path, want, r.stdout[-2000:]))
        # --loose: a CRLF file with two messages, split by mllp_send itself
        loose = os.path.join(adtutil.GENERATED_HL7, "multi_no_batch.hl7")
        r = subprocess.run(["mllp_send", "--loose", "--file", loose, "--port",
                            str(inst.mllp_port), "127.0.0.1"],
                           capture_output=True, timeout=60)
        if r.stdout.count(b"MSA|AA|GEN-M-") != 2:
            raise AssertionError("mllp_send --loose: %r" % r.stdout)
        rows = stored(inst)
        if any(n != 1 for _, _, n in rows):
            raise AssertionError("stored more than once: %r" % rows)
        if len(rows) < len(keys):
            raise AssertionError("got %d stored, want at least %d" % (len(rows), len(keys)))
        out = inst.cli("adt", "list").stdout
        if "TESTPATIENT" in out or "EVERYMAN" in out:
            raise AssertionError("adt list shows patient data")
        if "TESTPATIENT" in inst.log() or "EVERYMAN" in inst.log():
            raise AssertionError("the log holds patient data")


MALFORMED = [
    ("bad_dob.hl7", "PID^1^7^1^1", "102"),
    ("no_pid3.hl7", "PID^1^3^1^1", "101"),
    ("no_name.hl7", "PID^1^5^1", "101"),
    ("no_pid.hl7", "PID^1", "100"),
    ("no_msh10.hl7", "MSH^1^10", "101"),
    ("bad_version.hl7", "MSH^1^12^1^1", "203"),
    ("unknown_event.hl7", "MSH^1^9^1^2", "201"),
    ("not_adt.hl7", "MSH^1^9^1^1", "200"),
    ("out_of_order.hl7", "PV1^1", "100"),
    ("bad_processing.hl7", "MSH^1^11^1^1", "202"),
    ("no_msh.hl7", "", "100"),
]


def test_malformed_messages_get_ae_with_useful_err():
    with harness.Env("adt-mllp-ae") as env:
        inst = serve(env)
        c = adtutil.MllpClient(inst.mllp_port)
        for name, loc, code in MALFORMED:
            with open(os.path.join(adtutil.GENERATED_HL7, "malformed", name), "rb") as f:
                raw = f.read()
            ack = c.request(raw)
            if ack is None:
                raise AssertionError("%s: connection closed, want AE" % name)
            msa1, _, errs = adtutil.ack_fields(ack)
            if msa1 != "AE":
                raise AssertionError("%s: got %s, want AE" % (name, msa1))
            hit = [e for e in errs if len(e) > 8 and e[2] == loc and e[3].startswith(code + "^")
                   and e[4] == "E" and e[8]]
            if not hit:
                raise AssertionError("%s: got ERR %r, want location %s code %s with a message"
                                     % (name, errs, loc, code))
        c.close()
        if stored(inst):
            raise AssertionError("malformed messages were stored")


def test_oversized_frame_closes_only_its_connection():
    with harness.Env("adt-mllp-big") as env:
        inst = serve(env, config="max_frame = 2k")
        a = adtutil.MllpClient(inst.mllp_port)
        msg = open(os.path.join(adtutil.GENERATED_HL7, "adt_a08_251.hl7"), "rb").read()
        if adtutil.ack_fields(a.request(msg))[0] != "AA":
            raise AssertionError("first message not AA")
        b = adtutil.MllpClient(inst.mllp_port)
        b.send(b"\x0b" + b"X" * 3000, frame=False)
        if b.read_frame() is not None:
            raise AssertionError("oversized frame: got a reply, want the connection closed")
        b.close()
        inst.wait_log(r"event=mllp_frame_rejected")
        # The other connection and new ones keep being served.
        msg2 = msg.replace(b"GEN-A08-1", b"GEN-A08-2")
        if adtutil.ack_fields(a.request(msg2))[0] != "AA":
            raise AssertionError("other connection not served after the oversized frame")
        c = adtutil.MllpClient(inst.mllp_port)
        if adtutil.ack_fields(c.request(msg.replace(b"GEN-A08-1", b"GEN-A08-3")))[0] != "AA":
            raise AssertionError("new connection not served")
        a.close()
        c.close()


def test_bytes_outside_frames_are_ignored():
    with harness.Env("adt-mllp-noise") as env:
        inst = serve(env)
        msg = open(os.path.join(adtutil.GENERATED_HL7, "adt_a11_251.hl7"), "rb").read()
        c = adtutil.MllpClient(inst.mllp_port)
        c.send(b"garbage before\r\n" + adtutil.mllp_frame(msg) + b"\r\n", frame=False)
        ack = c.read_frame()
        if ack is None or adtutil.ack_fields(ack)[:2] != ("AA", "GEN-A11-1"):
            raise AssertionError("got %r, want AA for GEN-A11-1" % ack)
        c.close()
        inst.wait_log(r"event=mllp_close .*ignored_bytes=1[68]")


def test_enhanced_mode_and_commit_ack():
    with harness.Env("adt-mllp-enh") as env:
        inst = serve(env, config="commit_ack = yes")
        msg = open(os.path.join(adtutil.GENERATED_HL7, "adt_a01_251.hl7"), "rb").read()
        enh = msg.replace(b"|P|2.5.1", b"|P|2.5.1|||AL|NE", 1)
        c = adtutil.MllpClient(inst.mllp_port)
        c.send(enh)
        if c.read_frame() != b"\x06":
            raise AssertionError("no release 2 commit ACK first")
        msa1, msa2, _ = adtutil.ack_fields(c.read_frame())
        if (msa1, msa2) != ("CA", "GEN-A01-1"):
            raise AssertionError("enhanced mode: got %s %s, want CA" % (msa1, msa2))
        c.close()


if __name__ == "__main__":
    harness.run([test_mllp_send_reads_aa_for_every_sample,
                 test_malformed_messages_get_ae_with_useful_err,
                 test_oversized_frame_closes_only_its_connection,
                 test_bytes_outside_frames_are_ignored,
                 test_enhanced_mode_and_commit_ack])
