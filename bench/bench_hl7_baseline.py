#!/usr/bin/python3
"""Baseline for bench_hl7: python3-hl7 parse-and-validate rate on the same
sample set. Per message: hl7.parse, then the fields our validation reads
(MSH-9, MSH-10, MSH-11, MSH-12, PID-3, PID-5, PID-7 and the segment IDs).
Prints one line: "msgs_per_s=<float> mb_per_s=<float> messages=<n>".
Usage: bench_hl7_baseline.py SECONDS FILE..."""
import sys
import time

import hl7


def messages(path):
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8").replace("\r\n", "\r").replace("\n", "\r")
    lines = [l for l in text.split("\r") if l.strip()]
    out, cur = [], []
    for l in lines:
        if l[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if l[:3] == "MSH" and cur:
            out.append("\r".join(cur) + "\r")
            cur = []
        cur.append(l)
    if cur:
        out.append("\r".join(cur) + "\r")
    return out


def check(m):
    msh = m.segment("MSH")
    t = str(msh(9)(1)(1)) if len(msh) > 9 else ""
    ev = str(msh(9)(1)(2)) if len(msh) > 9 else ""
    ctrl = str(msh(10)) if len(msh) > 10 else ""
    ver = str(msh(12)) if len(msh) > 12 else ""
    names = [str(s[0]) for s in m]
    pid = m.segment("PID")
    ids = str(pid(3)) if len(pid) > 3 else ""
    name = str(pid(5)) if len(pid) > 5 else ""
    dob = str(pid(7)) if len(pid) > 7 else ""
    return t and ev and ctrl and ver and ids and name and dob and "PV1" in names


def main():
    secs = float(sys.argv[1])
    msgs = []
    for p in sys.argv[2:]:
        msgs += messages(p)
    total_bytes = sum(len(m.encode()) for m in msgs)
    n = 0
    nbytes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < secs:
        for m in msgs:
            check(hl7.parse(m))
        n += len(msgs)
        nbytes += total_bytes
    el = time.perf_counter() - start
    print("msgs_per_s=%.1f mb_per_s=%.3f messages=%d" % (n / el, nbytes / el / 1e6, len(msgs)))


if __name__ == "__main__":
    main()
