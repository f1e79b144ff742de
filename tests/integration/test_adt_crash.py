"""Durability of the MLLP intake: kill -9 during a stream of ADTs, restart,
resend: every ADT answered AA is stored exactly once. With the store's fault
seam armed (DIRECTGATE_FAULT_STORE=ioerr:N) the answer is AR, and a resend
is accepted and stored once."""
import os
import sqlite3
import threading
import time

import adtutil
import harness
from test_adt_mllp import serve

TEMPLATE = ("MSH|^~\\&|CRASHAPP|CRASHFAC|DG|DGF|20250101120000||ADT^A01^ADT_A01|%s|P|2.5.1\r"
            "EVN|A01|20250101120000\r"
            "PID|1||MRN%s^^^CRASHFAC^MR||TESTPATIENT^CRASH||19700101|F\r"
            "PV1|1|I|W1^1^A\r")


def msg(cid):
    return (TEMPLATE % (cid, cid)).encode()


def counts(inst):
    db = sqlite3.connect(os.path.join(inst.dir, "directgate.db"))
    try:
        return dict(db.execute("SELECT control_id, count(*) FROM adt_event"
                               " WHERE facility = 'CRASHFAC' GROUP BY control_id").fetchall())
    finally:
        db.close()


def sender(port, prefix, n, acked, sent, stop):
    try:
        c = adtutil.MllpClient(port, timeout=10)
    except OSError:
        return
    try:
        for i in range(n):
            if stop.is_set():
                return
            cid = "%s-%05d" % (prefix, i)
            sent.append(cid)
            ack = c.request(msg(cid))
            if ack is None:
                return
            code, ctrl, _ = adtutil.ack_fields(ack)
            if code == "AA" and ctrl == cid:
                acked.append(cid)
    except (OSError, AssertionError):
        return
    finally:
        c.close()


def test_kill9_during_stream_loses_and_duplicates_nothing_acknowledged():
    with harness.Env("adt-crash") as env:
        inst = serve(env)
        acked, sent = [], []
        stop = threading.Event()
        threads = [threading.Thread(target=sender, args=(inst.mllp_port, "K%d" % t, 5000,
                                                         acked, sent, stop))
                   for t in range(4)]
        for t in threads:
            t.start()
        harness.wait_for(lambda: len(acked) >= 400, timeout=60, what="400 AAs")
        inst.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        before = list(acked)
        got = counts(inst)
        missing = [c for c in before if got.get(c) != 1]
        if missing:
            raise AssertionError("%d ADTs answered AA are not stored exactly once after "
                                 "kill -9: %r" % (len(missing), missing[:10]))
        # Restart and resend everything that was sent: all AA, each once.
        inst.start()
        harness.wait_port(inst.mllp_port)
        c = adtutil.MllpClient(inst.mllp_port)
        for cid in sent:
            code, ctrl, _ = adtutil.ack_fields(c.request(msg(cid)))
            if (code, ctrl) != ("AA", cid):
                raise AssertionError("resend %s: got %s %s" % (cid, code, ctrl))
        c.close()
        got = counts(inst)
        bad = [cid for cid in sent if got.get(cid) != 1]
        if bad:
            raise AssertionError("after resend, not exactly once: %r" % bad[:10])
        print("  %d acknowledged before kill -9, %d sent, all stored once"
              % (len(before), len(sent)))


def test_sigterm_during_stream_stops_cleanly():
    with harness.Env("adt-term") as env:
        inst = serve(env)
        acked, sent = [], []
        stop = threading.Event()
        threads = [threading.Thread(target=sender, args=(inst.mllp_port, "T%d" % t, 5000,
                                                         acked, sent, stop))
                   for t in range(4)]
        for t in threads:
            t.start()
        harness.wait_for(lambda: len(acked) >= 200, timeout=60, what="200 AAs")
        rc = inst.stop()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        if rc != 0:
            raise AssertionError("serve exited %r after SIGTERM:\n%s" % (rc, inst.log_tail()))
        if "event=mllp_stopped" not in inst.log():
            raise AssertionError("MLLP server did not stop cleanly:\n%s" % inst.log_tail())
        got = counts(inst)
        missing = [c for c in acked if got.get(c) != 1]
        if missing:
            raise AssertionError("answered AA but not stored once: %r" % missing[:10])


def test_store_failure_answers_ar_and_resend_is_stored_once():
    with harness.Env("adt-fault") as env:
        inst = adtutil.adt_instance(env)
        try:
            inst.start(env={"DIRECTGATE_FAULT_STORE": "ioerr:3"})
        except AssertionError as e:
            if "[mllp]" in str(e):
                harness.skip("[mllp] settings not registered yet")
            raise
        try:
            harness.wait_port(inst.mllp_port, timeout=5)
        except TimeoutError:
            harness.skip("directgate serve does not start the MLLP server yet")
        c = adtutil.MllpClient(inst.mllp_port)
        ar = []
        for i in range(10):
            cid = "F-%02d" % i
            code, ctrl, errs = adtutil.ack_fields(c.request(msg(cid)))
            if code == "AR":
                if not any(len(e) > 3 and e[3].startswith("207^") for e in errs):
                    raise AssertionError("AR without ERR 207: %r" % errs)
                ar.append(cid)
            elif code != "AA":
                raise AssertionError("%s: got %s, want AA or AR" % (cid, code))
        if not ar:
            raise AssertionError("no AR while the store fails")
        got = counts(inst)
        if any(cid in got for cid in ar):
            raise AssertionError("a message answered AR was stored")
        for cid in ar:
            code, _, _ = adtutil.ack_fields(c.request(msg(cid)))
            if code != "AA":
                raise AssertionError("resend of %s: got %s, want AA" % (cid, code))
        c.close()
        got = counts(inst)
        if sorted(got) != ["F-%02d" % i for i in range(10)] or set(got.values()) != {1}:
            raise AssertionError("stored: %r" % got)
        print("  %d answered AR, then AA on resend" % len(ar))


if __name__ == "__main__":
    harness.run([test_kill9_during_stream_loses_and_duplicates_nothing_acknowledged,
                 test_sigterm_during_stream_stops_cleanly,
                 test_store_failure_answers_ar_and_resend_is_stored_once])
