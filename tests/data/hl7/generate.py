#!/usr/bin/python3
"""Generates the HL7 test messages in this directory (run from anywhere;
output is committed). Synthetic patients only: no real PHI."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def msh(event, structure, cid, version="2.5.1", seps="|^~\\&", extra=""):
    f = seps[0]
    fields = ["MSH", seps[1:], "SENDAPP", "GENHOSP^1.2.3.4^ISO", "DIRECTGATE",
              "DGFAC", "20250101120000", "", "ADT%s%s%s%s" % (seps[1], event, seps[1], structure),
              cid, "P", version]
    s = fields[0] + f + f.join(fields[1:])
    return s + extra


def write(name, segs, sep="\r", bom=False, trailing=True):
    data = sep.join(segs) + (sep if trailing else "")
    raw = data.encode("utf-8")
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(raw)


EVN = "EVN|%s|20250101120000|||OP123^Operator^Olga|20250101115900|GENHOSP"
PID = ("PID|1||MRN1001^^^GENHOSP^MR~999-00-1234^^^USSSA^SS||TESTPATIENT^ALPHA^Q^JR||"
       "19700101|F|||100 MAIN ST^^ANYTOWN^MI^48100^USA^H||^PRN^PH^^^555^5551234~"
       "^NET^X.400^alpha@direct.example.test|||||ACCT77")
PV1 = ("PV1|1|I|W1^101^A^GENHOSP||||1234567890^DOCTOR^DAN^^^^MD^^^^^^NPI|||MED|||||||"
       "1234567890^DOCTOR^DAN^^^^MD^^^^^^NPI|IN||||||||||||||||||||||||20250101110000")


def structures():
    write("adt_a01_251.hl7", [msh("A01", "ADT_A01", "GEN-A01-1"), EVN % "A01", PID,
                              "PD1|||GENHOSP CLINIC|1112223333^PCP^PAT",
                              "NK1|1|TESTPATIENT^BETA|SPO", PV1, "PV2|||CHEST PAIN",
                              "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F",
                              "AL1|1||PCN^Penicillin", "DG1|1||R07.9^Chest pain^I10||20250101|A",
                              "IN1|1|PLAN1|PAYER1|ACME HEALTH||||||||||||||||||||||||||||||||||MEMBER77"])
    write("adt_a03_251.hl7", [msh("A03", "ADT_A03", "GEN-A03-1"), EVN % "A03", PID,
                              PV1 + "|20250103100000", "DG1|1||I21.9^AMI^I10"])
    write("adt_a08_251.hl7", [msh("A08", "ADT_A01", "GEN-A08-1"), EVN % "A08", PID, PV1])
    write("adt_a11_251.hl7", [msh("A11", "ADT_A09", "GEN-A11-1"), EVN % "A11", PID, PV1])
    write("adt_a40_251.hl7", [msh("A40", "ADT_A39", "GEN-A40-1"), EVN % "A40", PID,
                              "MRG|MRN0999^^^GENHOSP^MR||ACCT66"])
    write("adt_a04_23_crlf.hl7", [msh("A04", "", "GEN-A04-23", version="2.3"), EVN % "A04",
                                  PID, PV1.replace("|I|", "|E|")], sep="\r\n")
    write("adt_a02_24_bom_lf.hl7", [msh("A02", "ADT_A02", "GEN-A02-24", version="2.4"),
                                    EVN % "A02", PID, PV1], sep="\n", bom=True)
    write("adt_a01_28_notrail.hl7", [msh("A01", "ADT_A01", "GEN-A01-28", version="2.8"),
                                     EVN % "A01", PID, PV1], trailing=False)


def special():
    esc_pid = ("PID|1||MRN\\F\\2002^^^GEN\\S\\HOSP^MR||O\\T\\BRIEN^ANN\\R\\MARIE^\\E\\X||"
               "19800202|F|||1 A ST\\.br\\APT 2^^TOWN^MI||\\H\\555\\N\\-0100|||||"
               "ACC\\X41424344\\|\\Zcustom\\|\\X4\\|\\\\")
    write("escapes.hl7", [msh("A01", "ADT_A01", "GEN-ESC-1"), EVN % "A01", esc_pid, PV1,
                          "NTE|1||Line one\\.br\\Line two \\F\\ pipe \\S\\ caret \\T\\ amp"])
    rep_pid = ("PID|1||A1^^^X^MR~A2^^^Y^MR~~A4^^^Z^MR&sub1&sub2^^^^||"
               "ZED^ONE~ZED^TWO^^^^^A~||19900303|M|||1 ST^^C^S~2 ST^^D^T~~||"
               "^PRN^PH^^^555^1111111~^ORN^PH^^^555^2222222~^NET^X.400^z@d.example.test")
    write("repetitions.hl7", [msh("A08", "ADT_A01", "GEN-REP-1"), EVN % "A08", rep_pid, PV1,
                              "ROL|1|AD|PP^Primary^HL70443|1^A~2^B~3^C"])
    # custom delimiters: field #, component $, repetition *, escape !, sub @
    c = "#$*!@"
    cpid = "PID#1##MRN3003$$$GENHOSP$MR*SSN3$$$USSSA$SS##DELIM$CUSTOM$A@B##19750505#M"
    cpv1 = "PV1#1#O#CLINIC$1$A##########################################################"
    write("custom_delims.hl7", [msh("A04", "ADT_A01", "GEN-CUST-1", seps=c).replace("GENHOSP^1.2.3.4^ISO", "GENHOSP$1.2.3.4$ISO"),
                                "EVN#A04#20250101120000", cpid, cpv1,
                                "NTE#1##pipe | caret ^ tilde ~ amp & are data here!F!"])
    write("zsegments.hl7", [msh("A01", "ADT_A01", "GEN-Z-1"), EVN % "A01", "ZXX|local|data^x",
                            PID, "ZPI|1|extra~more", PV1, "ZNP|ACRSNPI|1234567890",
                            "ZCK|CKS|CK-0001", "ZPD|PATIENTID|MEM-22",
                            "ZPR|1|RISK|CAT|0.42|20250101|desc|1.2.3|20260101"])
    batch = ["FHS|^~\\&|SENDAPP|GENHOSP|||20250101120000||file1",
             "BHS|^~\\&|SENDAPP|GENHOSP|||20250101120000||batch1",
             msh("A01", "ADT_A01", "GEN-B-1"), EVN % "A01", PID, PV1,
             msh("A03", "ADT_A03", "GEN-B-2"), EVN % "A03", PID, PV1,
             msh("A08", "ADT_A01", "GEN-B-3"), EVN % "A08", PID, PV1,
             "BTS|3", "FTS|1"]
    write("batch.hl7", batch, sep="\n")
    write("batch_bhs_only.hl7", batch[1:-1], sep="\r")
    write("multi_no_batch.hl7", [msh("A01", "ADT_A01", "GEN-M-1"), EVN % "A01", PID, PV1,
                                 msh("A02", "ADT_A02", "GEN-M-2"), EVN % "A02", PID, PV1],
          sep="\r\n")


def malformed():
    d = "malformed/"
    write(d + "bad_version.hl7", [msh("A01", "ADT_A01", "BAD-VER", version="2.2"), EVN % "A01", PID, PV1])
    write(d + "no_msh10.hl7", [msh("A01", "ADT_A01", ""), EVN % "A01", PID, PV1])
    write(d + "no_pid.hl7", [msh("A01", "ADT_A01", "BAD-NOPID"), EVN % "A01", PV1])
    write(d + "no_pid3.hl7", [msh("A01", "ADT_A01", "BAD-PID3"), EVN % "A01",
                              "PID|1||^^^GENHOSP^MR||TESTPATIENT^ALPHA||19700101|F", PV1])
    write(d + "bad_dob.hl7", [msh("A01", "ADT_A01", "BAD-DOB"), EVN % "A01",
                              "PID|1||MRN1^^^GENHOSP^MR||TESTPATIENT^ALPHA||1970-01-01|F", PV1])
    write(d + "no_name.hl7", [msh("A01", "ADT_A01", "BAD-NAME"), EVN % "A01",
                              "PID|1||MRN1^^^GENHOSP^MR||||19700101|F", PV1])
    write(d + "unknown_event.hl7", [msh("A99", "ADT_A01", "BAD-EVT"), EVN % "A99", PID, PV1])
    write(d + "not_adt.hl7", [msh("A01", "ADT_A01", "BAD-TYPE").replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01"),
                              PID, "OBR|1", "OBX|1|NM|x||1"])
    write(d + "out_of_order.hl7", [msh("A01", "ADT_A01", "BAD-ORDER"), EVN % "A01", PV1, PID])
    write(d + "bad_segment.hl7", [msh("A01", "ADT_A01", "BAD-SEG"), EVN % "A01", PID, "pv1|1|I", PV1])
    write(d + "bad_processing.hl7", [msh("A01", "ADT_A01", "BAD-PROC").replace("|P|2.5.1", "|X|2.5.1"),
                                     EVN % "A01", PID, PV1])
    # not parseable at all
    with open(os.path.join(HERE, d + "no_msh.hl7"), "wb") as f:
        f.write(b"PID|1||MRN1^^^GENHOSP^MR||TESTPATIENT^ALPHA\r")
    with open(os.path.join(HERE, d + "bad_delims.hl7"), "wb") as f:
        f.write(b"MSH|^^\\&|A|B|C|D|20250101||ADT^A01|X1|P|2.5.1\r")


def charset():
    # Windows-1252 bytes (declared 8859/1, as real feeds do): not UTF-8.
    os.makedirs(os.path.join(HERE, "charset"), exist_ok=True)
    segs = [msh("A01", "ADT_A01", "GEN-1252-1", extra="||||||8859/1"), EVN % "A01",
            "PID|1||MRN1252^^^GENHOSP^MR||TESTPATIENT^REN\xe9E^\x93Q\x94||19700101|F", PV1]
    with open(os.path.join(HERE, "charset", "cp1252.hl7"), "wb") as f:
        f.write("\r".join(segs).encode("latin-1") + b"\r")


if __name__ == "__main__":
    charset()
    structures()
    special()
    malformed()
