"""Review regressions for the HISP (hisp/deliver.c): a message whose
Message-ID is written folded (on the line after the field name, as
Exchange writes long ids) still gets its processed MDN, carrying the id
byte for byte; without it the sender's HISP times out and tells its user
the message failed although it was delivered."""
import time

from harness import Env, run, wait_for
from hisputil import Dovecot, submit, two_hisps


def folded_message(frm, to, mid):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: Discharge summary\r\n"
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID:\r\n %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            "\r\nPatient seen.\r\n" % (frm, to, mid)).encode()


def test_folded_message_id_gets_a_processed_mdn_with_the_id_byte_for_byte():
    with Env("review-folded") as env:
        a, b, _ = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap = Dovecot(env, b)
        mid = "<BN6PR11MB%d.%s@BN6PR11MB0001.namprd11.prod.outlook.a.test>" % (
            time.time_ns(), "X" * 20)
        msg = folded_message("alice@a.test", "bob@b.test", mid)
        submit(a, "alice@a.test", ["bob@b.test"], msg)
        got = imap.wait_messages("bob@b.test", b.passwords["bob@b.test"])
        assert got[0] == msg, "got:\n%r\nwant:\n%r" % (got[0], msg)
        wait_for(lambda: "event=mdn_queued to=<alice@a.test>" in b.gw.log(),
                 20, what="B queues the processed MDN")
        # A reads it back with the original id, byte for byte.
        want = "event=report kind=mdn disposition=processed orig=%s " % mid
        wait_for(lambda: want in a.gw.log(), 30, what="A reads the MDN")
        assert a.gw.stop() == 0, a.gw.log_tail()
        assert b.gw.stop() == 0, b.gw.log_tail()


if __name__ == "__main__":
    run([
        test_folded_message_id_gets_a_processed_mdn_with_the_id_byte_for_byte,
    ])
