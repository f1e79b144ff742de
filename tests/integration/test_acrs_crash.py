"""An ACRS import is one transaction: killed half way (SIGKILL from the
test, at a row the test chooses and at a moment it does not), or failing
in the store (an injected I/O error at commit), it leaves the previous
roster exactly as it was, and the database stays sound.
"""
import json
import os
import signal
import sqlite3
import subprocess
import time

from harness import DIRECTGATE, Env, SOURCE_DIR, run

GOOD = os.path.join(SOURCE_DIR, "tests", "data", "acrs", "good.csv")
TODAY = "2026-11-22"
ROWS = 200000


def big_file(path, rows=ROWS):
    """rows relationships, about two per patient, all valid."""
    with open(path, "w") as f:
        f.write("patient_id,patient_id_type,last_name,first_name,dob,sex,zip,"
                "provider_npi,relationship,last_seen\n")
        for i in range(rows):
            p = i // 2
            f.write("B%07d,MR,Last%d,First%d,%04d-%02d-%02d,%s,%05d,%s,%s,"
                    "2026-0%d-01\n" % (p, p % 5000, p % 701, 1930 + p % 90,
                                       1 + p % 12, 1 + p % 28, "MF"[p % 2],
                                       48000 + p % 999,
                                       "1234567893" if i % 2 else "1245319599",
                                       "pcp" if i % 2 else "specialist",
                                       1 + i % 9))


def roster(gw):
    r = gw.cli("acrs", "stats", "--json", "--today", TODAY)
    j = json.loads(r.stdout)
    return j["patients"], j["relationships"]


def sound(gw):
    db = sqlite3.connect(os.path.join(gw.dir, "directgate.db"))
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        idx = db.execute("SELECT count(*) FROM sqlite_master WHERE "
                         "type = 'index' AND tbl_name = 'acrs_patient'").fetchone()[0]
    finally:
        db.close()
    assert ok == "ok", ok
    # The indexes a bulk replace drops are back (the drop rolled back).
    assert idx == 4, idx


def start_import(gw, path, env=None):
    e = dict(os.environ)
    e.pop("DIRECTGATE_DIR", None)
    if env:
        e.update(env)
    return subprocess.Popen([DIRECTGATE, "--dir", gw.dir, "acrs", "import",
                             path, "--submitter", "CLINIC", "--today", TODAY],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=e)


def test_import_killed_half_way_leaves_the_previous_roster():
    with Env("acrs-kill") as env:
        gw = env.instance()
        gw.cli("acrs", "import", GOOD, "--submitter", "CLINIC", "--today", TODAY)
        before = roster(gw)
        assert before == (3, 3), before
        big = env.path("big.csv")
        big_file(big)
        # 1. Stopped by the test seam at row ROWS/2, inside the
        # transaction, then SIGKILL.
        p = env.procs.add(start_import(gw, big, {
            "DIRECTGATE_TEST_ACRS_STALL_AFTER": str(ROWS // 2)}), "import")
        line = p.stderr.readline().decode()
        assert "acrs: stalled" in line, "no stall: %r (exit %s)" % (line, p.poll())
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL
        assert roster(gw) == before, roster(gw)
        sound(gw)
        # 2. SIGKILL at a moment the test does not choose: the roster is
        # the old one or, if the import had finished, the new one; never
        # a mix.
        for delay in (0.3, 1.0, 2.0):
            p = env.procs.add(start_import(gw, big), "import")
            time.sleep(delay)
            finished = p.poll() is not None
            if not finished:
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            now = roster(gw)
            assert now in (before, (ROWS // 2, ROWS)), (delay, now)
            if now != before:
                # Committed: it finished (perhaps just before the kill,
                # while it checkpointed) or was killed after the commit.
                assert finished or p.returncode in (0, -signal.SIGKILL), \
                    p.returncode
                gw.cli("acrs", "import", GOOD, "--submitter", "CLINIC",
                       "--today", TODAY)
            sound(gw)
        # 3. The import run to the end replaces the roster.
        r = gw.cli("acrs", "import", big, "--submitter", "CLINIC", "--today",
                   TODAY, timeout=600)
        assert "imported for CLINIC" in r.stdout, r.stdout
        assert roster(gw) == (ROWS // 2, ROWS)
        sound(gw)


def test_store_fault_at_commit_leaves_the_previous_roster():
    with Env("acrs-fault") as env:
        gw = env.instance()
        gw.cli("acrs", "import", GOOD, "--submitter", "CLINIC", "--today", TODAY)
        big = env.path("big.csv")
        big_file(big, 5000)
        for fault in ("ioerr:1", "full:1", "busy:1"):
            r = gw.cli("acrs", "import", big, "--submitter", "CLINIC",
                       "--today", TODAY, check=False,
                       env={"DIRECTGATE_FAULT_STORE": fault})
            assert r.returncode == 1, (fault, r.stdout, r.stderr)
            assert "injected fault" in r.stderr, (fault, r.stderr)
            assert roster(gw) == (3, 3), (fault, roster(gw))
            sound(gw)
        r = gw.cli("acrs", "import", big, "--submitter", "CLINIC", "--today",
                   TODAY)
        assert roster(gw) == (2500, 5000)


if __name__ == "__main__":
    run([test_import_killed_half_way_leaves_the_previous_roster,
         test_store_fault_at_commit_leaves_the_previous_roster])
