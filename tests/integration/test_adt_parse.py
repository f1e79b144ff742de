"""Our HL7 parser against python3-hl7 on every field of every message of
the samples and the generated set; unmodified messages round-trip byte
for byte (after normalization to CR)."""
import json
import os
import subprocess

import adtutil
import harness


def parse_json(path, *extra):
    r = subprocess.run([harness.DIRECTGATE, "adt", "parse", path] + list(extra),
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("adt parse %s: exit %d: %s" % (path, r.returncode, r.stderr))
    return json.loads(r.stdout.decode("utf-8"))


def test_every_field_agrees_with_python_hl7():
    hl7 = adtutil.hl7_module()
    checked = fields = 0
    for path in adtutil.sample_files():
        name = os.path.relpath(path, os.path.dirname(harness.SOURCE_DIR))
        with open(path, "rb") as f:
            raw = f.read()
        ours = parse_json(path)["messages"]
        theirs = adtutil.py_parse_messages(raw)
        if len(ours) != len(theirs):
            raise AssertionError("%s: got %d messages, python3-hl7 %d" % (name, len(ours), len(theirs)))
        for i, (m, pm) in enumerate(zip(ours, theirs)):
            want = adtutil.py_fields(pm)
            got = m["segments"]
            if len(got) != len(want):
                raise AssertionError("%s #%d: got %d segments, want %d" % (name, i + 1, len(got), len(want)))
            for s, (gseg, wseg) in enumerate(zip(got, want)):
                if len(gseg) != len(wseg):
                    raise AssertionError("%s #%d segment %d (%s): got %d fields, want %d"
                                         % (name, i + 1, s + 1, wseg[0], len(gseg), len(wseg)))
                for fno, (gf, wf) in enumerate(zip(gseg, wseg)):
                    if gf != wf:
                        raise AssertionError("%s #%d %s-%d: got %r, want %r"
                                             % (name, i + 1, gseg[0][0][0][0], fno, gf, wf))
                    fields += 1
            checked += 1
    if checked < 20:
        raise AssertionError("only %d messages checked" % checked)
    print("  %d messages, %d fields agree" % (checked, fields))


def test_unescaped_values_agree_where_both_decode():
    hl7 = adtutil.hl7_module()
    compared = 0
    for path in adtutil.sample_files():
        with open(path, "rb") as f:
            raw = f.read()
        raw_ours = parse_json(path)["messages"]
        text_ours = parse_json(path, "--text")["messages"]
        theirs = adtutil.py_parse_messages(raw)
        for m, t, pm in zip(raw_ours, text_ours, theirs):
            esc = pm.esc
            for gseg, tseg in zip(m["segments"], t["segments"]):
                if gseg[0][0][0][0] in ("MSH", "BHS", "FHS"):
                    gseg, tseg = gseg[3:], tseg[3:]  # MSH-1/2 hold the delimiters
                for gf, tf in zip(gseg, tseg):
                    for gr, tr in zip(gf, tf):
                        for gc, tc in zip(gr, tr):
                            for gs, ts in zip(gc, tc):
                                if esc not in gs or not adtutil.only_known_escapes(gs, esc):
                                    continue
                                want = pm.unescape(gs).replace("\r", "\n")
                                if ts != want:
                                    raise AssertionError("%s: unescape %r: got %r, want %r"
                                                         % (path, gs, ts, want))
                                compared += 1
    if compared < 10:
        raise AssertionError("only %d escaped values compared" % compared)
    print("  %d escaped values agree" % compared)


def test_unmodified_messages_round_trip():
    for path in adtutil.sample_files():
        with open(path, "rb") as f:
            raw = f.read()
        r = subprocess.run([harness.DIRECTGATE, "adt", "parse", path, "--write"],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("adt parse --write %s: %s" % (path, r.stderr))
        want = "".join(adtutil.normalized_messages(raw)).encode("utf-8")
        if r.stdout != want:
            raise AssertionError("%s: written bytes differ from the normalized input "
                                 "(%d vs %d bytes)" % (path, len(r.stdout), len(want)))


def test_unparseable_inputs_fail_with_a_reason():
    for name in sorted(adtutil.UNPARSEABLE):
        path = os.path.join(adtutil.GENERATED_HL7, "malformed", name)
        r = subprocess.run([harness.DIRECTGATE, "adt", "parse", path],
                           capture_output=True, timeout=60)
        if r.returncode == 0 or b"directgate" not in r.stderr:
            raise AssertionError("%s: got exit %d, want a failure with a reason: %r"
                                 % (name, r.returncode, r.stderr))


if __name__ == "__main__":
    harness.run([test_every_field_agrees_with_python_hl7,
                 test_unescaped_values_agree_where_both_decode,
                 test_unmodified_messages_round_trip,
                 test_unparseable_inputs_fail_with_a_reason])
