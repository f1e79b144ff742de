"""directgate acrs validate|import|lookup|review|stats and demo generate.

ACRS files with every kind of bad row (tests/data/acrs/*.csv) give exactly
the reports in *.expected.txt and *.expected.json; imports replace, add
(delta) and reject (--strict) as the digest says; lookup answers by
identifier and by demographics with the care team; nothing the commands log
names a patient; the demo data set is reproducible and imports clean.
"""
import csv
import hashlib
import json
import os
import subprocess

from harness import DIRECTGATE, Env, SOURCE_DIR, run

DATA = os.path.join(SOURCE_DIR, "tests", "data", "acrs")
TODAY = "2026-11-22"
FILES = ("bad_rows", "bad_header", "good", "empty")
# Never in a log line: names, birth dates, street of the sample files.
PHI = ("Doe", "DOE", "Jane", "JANE", "1980-01-01", "19800101", "Main Street",
       "Lansing")


def validate(name, *extra):
    return subprocess.run([DIRECTGATE, "acrs", "validate", name + ".csv",
                           "--today", TODAY] + list(extra),
                          cwd=DATA, capture_output=True, text=True,
                          timeout=60)


def test_validate_reports_every_kind_of_bad_row_as_text_and_json():
    for name in FILES:
        want_rc = 0 if name == "good" else 1
        r = validate(name)
        assert r.returncode == want_rc, "%s: exit %d, want %d\n%s" % (
            name, r.returncode, want_rc, r.stderr)
        with open(os.path.join(DATA, name + ".expected.txt")) as f:
            want = f.read()
        assert r.stdout == want, "%s text report:\ngot:\n%s\nwant:\n%s" % (
            name, r.stdout, want)
        r = validate(name, "--json")
        got = json.loads(r.stdout)
        with open(os.path.join(DATA, name + ".expected.json")) as f:
            want = json.load(f)
        assert got == want, "%s JSON report:\ngot %s\nwant %s" % (
            name, json.dumps(got, indent=1), json.dumps(want, indent=1))
    # Every code the digest's rules need is in the sample.
    with open(os.path.join(DATA, "bad_rows.expected.json")) as f:
        codes = {i["code"] for i in json.load(f)["issues"]}
    for code in ("required", "patient_id_type", "date_format", "dob_future",
                 "dob_too_old", "sex", "state", "zip", "phone", "ssn_last4",
                 "npi_format", "npi_checksum", "relationship", "date_future",
                 "end_before_start", "consent", "encoding", "too_long",
                 "duplicate", "patient_conflict", "field_count", "csv_syntax"):
        assert code in codes, "no %s row in bad_rows.csv" % code


def no_phi(text, what):
    for word in PHI:
        assert word not in text, "%s: PHI (%r) in the log:\n%s" % (what, word, text)


def stats(gw):
    return json.loads(gw.cli("acrs", "stats", "--json", "--today", TODAY).stdout)


def test_import_replace_delta_strict_and_lookup():
    with Env("acrs-import") as env:
        gw = env.instance()
        good = os.path.join(DATA, "good.csv")
        bad = os.path.join(DATA, "bad_rows.csv")
        r = gw.cli("acrs", "import", good, "--submitter", "CLINIC", "--json",
                   "--today", TODAY)
        j = json.loads(r.stdout)
        assert j["committed"] and j["good"] == 3 and j["mode"] == "replace", j
        no_phi(r.stderr, "import")
        s = stats(gw)
        assert (s["patients"], s["relationships"], s["active"]) == (3, 3, 3), s
        # --strict: the file has bad rows, nothing changes.
        r = gw.cli("acrs", "import", bad, "--submitter", "CLINIC", "--strict",
                   "--today", TODAY, check=False)
        assert r.returncode == 1, r.stdout
        assert "rejected (--strict)" in r.stdout, r.stdout
        assert "row 5, column patient_id_type: patient_id_type" in r.stdout
        assert stats(gw)["relationships"] == 3
        # Without --strict the good rows replace the roster.
        r = gw.cli("acrs", "import", bad, "--submitter", "CLINIC", "--json",
                   "--today", TODAY)
        j = json.loads(r.stdout)
        assert j["committed"] and j["good"] == 3 and j["bad"] == 26, j
        s = stats(gw)
        assert s["relationships"] == 3 and s["restricted"] == 1, s
        assert s["by_submitter"][0]["bad_rows"] == 26, s
        # Delta: G9 added, G1's pcp row terminated.
        delta = env.path("delta.csv")
        with open(delta, "w") as f:
            f.write("patient_id,patient_id_type,last_name,first_name,dob,sex,"
                    "provider_npi,relationship,last_seen,end_date\n"
                    "G1,MR,Doe,Jane,1980-01-01,F,1234567893,pcp,2026-01-15,"
                    "2026-02-01\n"
                    "G9,MR,Poe,Edgar,1990-01-19,M,1245319599,specialist,"
                    "2026-10-01,\n")
        gw.cli("acrs", "import", delta, "--submitter", "CLINIC", "--mode",
               "delta", "--today", TODAY)
        s = stats(gw)
        assert (s["patients"], s["relationships"], s["active"]) == (4, 4, 3), s
        # Lookup by identifier: the care team, with the submitter's id.
        r = gw.cli("acrs", "lookup", "--id", "G2", "--authority", "clinic",
                   "--json", "--today", TODAY)
        j = json.loads(r.stdout)
        assert j["decision"] == "match", j
        assert [(m["npi"], m["relationship"], m["consent"], m["patient_id"])
                for m in j["team"]] == [
            ("1234567893", "behavioral_health", "restricted", "G2")], j
        no_phi(r.stderr, "lookup")
        # Another submitter's file does not touch CLINIC's.
        gw.cli("acrs", "import", good, "--submitter", "PLAN", "--today", TODAY)
        assert stats(gw)["relationships"] == 7
        # By demographics (a typo, another spelling of the street): both
        # submitters' rows of Jane Doe; the ended pcp row is not active.
        r = gw.cli("acrs", "lookup", "--last", "DOE", "--first", "JNAE",
                   "--dob", "19800101", "--sex", "F", "--zip", "48906",
                   "--address", "12 MAIN ST", "--city", "LANSING", "--json",
                   "--today", TODAY)
        j = json.loads(r.stdout)
        assert j["decision"] == "match", j
        subs = sorted((m["submitter"], m["patient_id"]) for m in j["matches"]
                      if m["decision"] == "match")
        assert subs == [("CLINIC", "G1"), ("PLAN", "G1")], j
        assert sorted(m["submitter"] for m in j["team"]) == ["PLAN"], j
        no_phi(r.stderr, "lookup")
        r = gw.cli("acrs", "lookup", "--last", "Nobody", "--first", "Here",
                   "--dob", "1901-01-01", "--json", "--today", TODAY)
        assert json.loads(r.stdout)["decision"] == "none"
        r = gw.cli("acrs", "review", "list", "--json")
        assert json.loads(r.stdout) == []
        r = gw.cli("acrs", "review", "accept", "99", check=False)
        assert r.returncode == 1 and "no pending review item" in r.stderr


def test_usage_errors_exit_2_with_one_line():
    with Env("acrs-usage") as env:
        gw = env.instance()
        for args in (("acrs",), ("acrs", "import", "x.csv"),
                     ("acrs", "import", "x.csv", "--submitter", "A", "--mode",
                      "merge"),
                     ("acrs", "lookup", "--id", "1"),
                     ("acrs", "frobnicate"), ("demo", "generate")):
            r = gw.cli(*args, check=False)
            assert r.returncode == 2, "%s: exit %d" % (args, r.returncode)
        r = gw.cli("acrs", "import", env.path("missing.csv"), "--submitter",
                   "A", check=False)
        assert r.returncode == 1 and "missing.csv" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        r = gw.cli("acrs", "--help")
        assert "validate" in r.stdout


def digest_tree(root):
    h = hashlib.sha256()
    for d, _, files in sorted(os.walk(root)):
        for n in sorted(files):
            p = os.path.join(d, n)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def test_demo_generate_is_reproducible_and_imports_clean():
    with Env("acrs-demo") as env:
        gw = env.instance()
        args = ("demo", "generate", "--patients", "3000", "--providers", "60",
                "--seed", "11", "--today", TODAY, "--domain", "d.test")
        gw.cli(*args, "--out", env.path("a"))
        gw.cli(*args, "--out", env.path("b"))
        assert digest_tree(env.path("a")) == digest_tree(env.path("b"))
        gw.cli("demo", "generate", "--patients", "3000", "--providers", "60",
               "--seed", "12", "--today", TODAY, "--out", env.path("c"))
        assert digest_tree(env.path("a")) != digest_tree(env.path("c"))
        with open(env.path("a", "acrs", "submitters.csv"), newline="") as f:
            subs = [row[0] for row in csv.reader(f)][1:]
        total = 0
        for sub in subs:
            r = gw.cli("acrs", "import", env.path("a", "acrs", sub + ".csv"),
                       "--submitter", sub, "--json", "--today", TODAY)
            j = json.loads(r.stdout)
            assert j["bad"] == 0 and j["committed"], (sub, j)
            total += j["good"]
        assert stats(gw)["relationships"] == total
        # The ADT stream parses with an independent HL7 parser and every
        # message has a label.
        import hl7
        text = open(env.path("a", "adt", "messages.hl7"), "rb").read().decode()
        msgs = [m for m in text.split("\n") if m.strip()]
        labels = open(env.path("a", "labels.csv")).read().splitlines()[1:]
        assert len(msgs) == len(labels) > 3000, (len(msgs), len(labels))
        events = set()
        for m, lab in zip(msgs, labels):
            p = hl7.parse(m)
            assert str(p.segment("MSH")[10]) == lab.split(",")[0]
            events.add(str(p.segment("EVN")[1]))
        assert events == {"A01", "A03", "A04", "A08", "A11"}, events
        for n in ("organizations", "providers", "memberships", "endpoints",
                  "preferences"):
            assert os.path.getsize(env.path("a", "directory", n + ".csv")) > 0
        assert "@d.test" in open(env.path("a", "directory", "endpoints.csv")).read()
        # The directory tables load into the Health Directory as they are.
        r = gw.cli("directory", "import", *[env.path("a", "directory", n + ".csv")
                   for n in ("organizations", "providers", "memberships",
                             "endpoints", "preferences")])
        assert "0 problems" in r.stdout, r.stdout + r.stderr


if __name__ == "__main__":
    run([test_validate_reports_every_kind_of_bad_row_as_text_and_json,
         test_import_replace_delta_strict_and_lookup,
         test_usage_errors_exit_2_with_one_line,
         test_demo_generate_is_reproducible_and_imports_clean])
