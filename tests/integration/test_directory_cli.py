"""directgate directory import|show|route|export on a temp instance.

The sample directory (tests/data/directory/*.csv) and an NDH-style FHIR
Bundle go in through the command; show and route answer from the store;
export then import into a second instance round-trips; hostile and broken
XML files are refused with one line on stderr and nothing half-loaded.
"""
import filecmp
import glob
import json
import os

from harness import Env, SOURCE_DIR, run

DATA = os.path.join(SOURCE_DIR, "tests", "data", "directory")
CSVS = [os.path.join(DATA, n + ".csv") for n in
        ("organizations", "providers", "memberships", "endpoints", "preferences")]
SMITH, BROWN, JONES, NGUYEN, ORTIZ = ("1234567893", "1444444446", "1333333338",
                                      "1888888884", "1200000002")


def export(gw, env, name):
    out = env.path(name)
    r = gw.cli("directory", "export", out)
    assert "exported" in r.stdout, r.stdout
    return out


def same_export(a, b):
    for n in ("organizations", "providers", "memberships", "endpoints", "preferences"):
        fa, fb = os.path.join(a, n + ".csv"), os.path.join(b, n + ".csv")
        if not filecmp.cmp(fa, fb, shallow=False):
            return "%s differs:\n%s\n---\n%s" % (n, open(fa).read(), open(fb).read())
    return None


def test_import_csv_then_show_and_route():
    with Env("dir-csv") as env:
        gw = env.instance()
        r = gw.cli("directory", "import", "--json", *CSVS)
        rep = json.loads(r.stdout)
        assert rep["ok"] and rep["committed"], rep
        assert rep["tables"]["providers"]["loaded"] == 7, rep
        assert rep["tables"]["endpoints"]["loaded"] == 7, rep

        r = gw.cli("directory", "show", SMITH)
        assert "provider %s: Smith, Jane A" % SMITH in r.stdout, r.stdout
        assert "endpoint direct dr.smith@b.test rank 1 active" in r.stdout, r.stdout
        assert "route A08 I: declined" in r.stdout, r.stdout

        r = gw.cli("directory", "show", "--json", "inbox@Riverside.B.Test")
        doc = json.loads(r.stdout)
        assert doc["npi"] == "1987654328" and doc["type"] == "organization", doc
        assert len(doc["routes"]) == 15, doc["routes"]

        r = gw.cli("directory", "route", SMITH, "--event", "A01", "--class", "I",
                   "--json")
        route = json.loads(r.stdout)["route"]
        assert route["status"] == "routed", route
        # Own endpoints by rank, then the organization's as the last
        # fallback.
        assert [(t["address"], t["via_organization"])
                for t in route["targets"]] == [
            ("dr.smith@b.test", False), ("jsmith@backup.b.test", False),
            ("inbox@riverside.b.test", True)], route

        r = gw.cli("directory", "route", BROWN, "--event", "A03", "--class", "O",
                   "--json")
        t = json.loads(r.stdout)["route"]["targets"][0]
        assert t["via_organization"] and t["address"] == "inbox@riverside.b.test", t

        r = gw.cli("directory", "route", JONES, "--event", "A01", "--class", "I")
        assert "mllp 127.0.0.1:2576" in r.stdout, r.stdout
        r = gw.cli("directory", "route", JONES, "--event", "A01", "--class", "O",
                   check=False)
        assert r.returncode == 3 and "declined" in r.stdout, (r.returncode, r.stdout)

        r = gw.cli("directory", "route", NGUYEN, "--event", "A01", check=False)
        assert r.returncode == 3, r
        assert "undeliverable (no_endpoint" in r.stdout, r.stdout


def test_import_fhir_bundle_then_route():
    with Env("dir-fhir") as env:
        gw = env.instance()
        r = gw.cli("directory", "import", os.path.join(DATA, "fhir", "bundle_valid.xml"))
        assert "imported:" in r.stdout and "0 problems" in r.stdout, r.stdout
        r = gw.cli("directory", "route", ORTIZ, "--event", "A01", "--class", "E",
                   "--json")
        targets = json.loads(r.stdout)["route"]["targets"]
        assert [(t["kind"], t["address"], t["rank"]) for t in targets] == [
            ("direct", "elena.ortiz@direct.harbor.b.test", 1),
            ("mllp", "127.0.0.1:2577", 2),
            ("direct", "frontdesk@direct.harbor.b.test", 1)], targets
        r = gw.cli("directory", "show", "1999999992")
        assert "member of 1100000003" in r.stdout, r.stdout
        assert "frontdesk@direct.harbor.b.test rank 1 via organization" in r.stdout, r.stdout


def test_export_import_round_trip():
    with Env("dir-rt") as env:
        a = env.instance("a")
        b = env.instance("b")
        a.cli("directory", "import", *CSVS)
        a.cli("directory", "import", os.path.join(DATA, "fhir", "bundle_valid.xml"))
        out_a = export(a, env, "export-a")
        files = sorted(glob.glob(os.path.join(out_a, "*.csv")))
        assert len(files) == 5, files
        b.cli("directory", "import", "--strict", *files)
        out_b = export(b, env, "export-b")
        diff = same_export(out_a, out_b)
        assert diff is None, diff
        # Importing the same files again changes nothing.
        b.cli("directory", "import", *files)
        diff = same_export(out_a, export(b, env, "export-b2"))
        assert diff is None, diff


def test_bad_rows_are_reported_and_strict_loads_nothing():
    with Env("dir-bad") as env:
        gw = env.instance()
        gw.cli("directory", "import", *CSVS)
        bad = os.path.join(DATA, "bad", "providers.csv")
        r = gw.cli("directory", "import", "--json", bad)
        rep = json.loads(r.stdout)
        got = sorted((p["row"], p["column"], p["code"]) for p in rep["problems"])
        want = sorted([(2, "npi", "bad_npi"), (3, "npi", "bad_npi"),
                       (4, "npi", "required"), (5, "last_name", "required"),
                       (6, "status", "bad_value"), (8, "taxonomy", "bad_value"),
                       (9, "", "field_count")])
        assert got == want, "got %s, want %s" % (got, want)
        assert rep["committed"] and rep["tables"]["providers"]["loaded"] == 1, rep

        r = gw.cli("directory", "import", os.path.join(DATA, "bad", "endpoints.csv"))
        assert "bad_address" in r.stdout and "unknown_reference" in r.stdout, r.stdout

        before = export(gw, env, "before")
        r = gw.cli("directory", "import", "--strict", "--table", "endpoints",
                   os.path.join(DATA, "bad", "endpoints.csv"), check=False)
        assert r.returncode == 1, r
        assert "nothing was loaded" in r.stderr, r.stderr
        diff = same_export(before, export(gw, env, "after"))
        assert diff is None, diff

        r = gw.cli("directory", "import", "--table", "providers",
                   os.path.join(DATA, "bad", "unknown_column.csv"), check=False)
        assert r.returncode == 1 and "unknown column 'email'" in r.stderr, r.stderr
        r = gw.cli("directory", "import", os.path.join(DATA, "bad", "unknown_column.csv"),
                   check=False)
        assert r.returncode == 2 and "--table" in r.stderr, r.stderr


def test_hostile_xml_is_refused_with_one_line_and_nothing_loaded():
    with Env("dir-xml") as env:
        gw = env.instance()
        gw.cli("directory", "import", *CSVS)
        before = export(gw, env, "before")
        cases = {
            "billion_laughs.xml": "declares entities",
            "xxe_passwd.xml": "external entity",
            "external_dtd.xml": "external DTD",
            "malformed.xml": "not well-formed",
            "deep_nesting.xml": "nested deeper",
            "not_a_bundle.xml": "not a FHIR Bundle",
        }
        for name, why in cases.items():
            path = os.path.join(DATA, "fhir", name)
            # With a good bundle beside it: the whole import is refused.
            r = gw.cli("directory", "import",
                       os.path.join(DATA, "fhir", "bundle_valid.xml"), path,
                       check=False, timeout=30)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 1, (name, r.returncode, r.stdout, r.stderr)
            assert len(lines) == 1, (name, r.stderr)
            assert name in lines[0] and why in lines[0], (name, lines[0])
            assert "nothing was loaded" in lines[0], lines[0]
            assert r.stdout == "", (name, r.stdout)
            assert "root:" not in r.stdout + r.stderr, name
        diff = same_export(before, export(gw, env, "after"))
        assert diff is None, diff
        r = gw.cli("directory", "show", ORTIZ, check=False)
        assert r.returncode == 1 and "not in the directory" in r.stderr, r.stderr


def test_every_directory_command_answers_help():
    with Env("dir-help") as env:
        gw = env.instance()
        for sub in ("import", "show", "export", "route"):
            r = gw.cli("directory", sub, "--help")
            assert r.stdout.startswith("usage: directgate directory " + sub), r.stdout
        r = gw.cli("directory", "frobnicate", check=False)
        assert r.returncode == 2, r


if __name__ == "__main__":
    run([test_import_csv_then_show_and_route,
         test_import_fhir_bundle_then_route,
         test_export_import_round_trip,
         test_bad_rows_are_reported_and_strict_loads_nothing,
         test_hostile_xml_is_refused_with_one_line_and_nothing_loaded,
         test_every_directory_command_answers_help])
