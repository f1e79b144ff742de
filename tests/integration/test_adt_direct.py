"""ADTs received by Direct: a hospital's Direct message with an HL7
attachment to B's intake address is stored like an MLLP submission, and
the ACK comes back to the hospital as a Direct message."""
import base64
import json
import os

from harness import Env, SOURCE_DIR, run, wait_for
from hisputil import Dovecot, submit, two_hisps

SAMPLES = os.path.join(os.path.dirname(SOURCE_DIR), "shared", "data", "hl7")


def hl7_message(frm, to, hl7, ctype="text/hl7v2", mid="<adt.1@a.test>"):
    """HL7 segments are longer than an SMTP line may be: base64, as real
    senders do."""
    body = base64.encodebytes(hl7.encode()).decode().replace("\n", "\r\n")
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: ADT\r\nMessage-ID: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nADT attached.\r\n"
            "--b1\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=a01.hl7\r\n"
            "\r\n%s--b1--\r\n" % (frm, to, mid, ctype, body)).encode()


def adts(hisp):
    r = hisp.gw.cli("adt", "list", "--json")
    return json.loads(r.stdout)


def test_hl7_attachment_is_stored_and_acknowledged_by_direct():
    with Env("adt-direct") as env:
        a, b, _ = two_hisps(env)
        b.gw.cli("address", "add", "adt@b.test", "--kind", "intake")
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        with open(os.path.join(SAMPLES, "ADT-A01-01.hl7"), "rb") as f:
            hl7 = f.read().decode("utf-8-sig").replace("\r\n", "\n").replace("\n", "\r")
        submit(a, "alice@a.test", ["adt@b.test"], hl7_message("alice@a.test", "adt@b.test", hl7))
        rows = wait_for(lambda: adts(b), timeout=30, what="the ADT stored at B")
        assert len(rows) == 1 and rows[0]["channel"] == "direct", rows
        assert rows[0]["sender"] == "alice@a.test", rows
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=2)
        acks = [m for m in got if b"text/hl7v2" in m and b"MSA|" in m]
        assert len(acks) == 1, got
        assert b"MSA|AA|" in acks[0] or b"MSA|CA|" in acks[0], acks[0]
        # The same message again: acknowledged, stored once.
        submit(a, "alice@a.test", ["adt@b.test"], hl7_message("alice@a.test", "adt@b.test", hl7,
                                                              mid="<adt.2@a.test>"))
        imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=4)
        assert len(adts(b)) == 1
        assert "PID" not in b.gw.log()


def test_message_without_hl7_is_refused_with_a_failed_mdn():
    with Env("adt-direct-none") as env:
        a, b, _ = two_hisps(env)
        b.gw.cli("address", "add", "adt@b.test", "--kind", "intake")
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        submit(a, "alice@a.test", ["adt@b.test"],
               hl7_message("alice@a.test", "adt@b.test", "just words", ctype="text/plain"))
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=2)
        text = b"".join(got)
        assert b"MDN-sent-automatically; failed" in text, got
        assert adts(b) == []


if __name__ == "__main__":
    run([
        test_hl7_attachment_is_stored_and_acknowledged_by_direct,
        test_message_without_hl7_is_refused_with_a_failed_mdn,
    ])
