"""Review regressions for the HISP (hisp/deliver.c, hisp/mdn.c):

- a message whose Message-ID is written folded (on the line after the
  field name, as Exchange writes long ids) still gets its processed MDN,
  carrying the id byte for byte; without it the sender's HISP times out
  and tells its user the message failed although it was delivered;
- a DSN naming several recipients (as a relay writes it) moves each
  recipient's tracking with that recipient's own Action: none is left to
  time out into a second failure notice, none takes another's outcome."""
import json
import time

from harness import Env, run, wait_for
from hisputil import Dovecot, message, submit, two_hisps


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


def two_rcpt_dsn(frm, to, orig, rcpts):
    groups = "".join("\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\n"
                     "Status: %s\r\nDiagnostic-Code: smtp; %s\r\n" % r for r in rcpts)
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Message-ID: <%d.dsn@b.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
            "\tboundary=\"DD\"\r\n\r\n--DD\r\nContent-Type: text/plain\r\n\r\n"
            "Delivery report.\r\n\r\n--DD\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; relay.b.test\r\nX-Original-Message-ID: %s\r\n%s"
            "\r\n--DD--\r\n" % (frm, to, time.time_ns(), orig, groups)).encode()


def tracked(hisp, mid):
    r = hisp.gw.cli("message", "status", mid, "--json", check=False)
    if r.returncode != 0:
        return {}
    return {x["rcpt"]: x["state"] for x in json.loads(r.stdout)["recipients"]}


def test_dsn_naming_two_recipients_moves_each_with_its_own_action():
    with Env("review-dsn2") as env:
        a, b, _ = two_hisps(env, b_boxes=("bob", "carol"),
                            b_config="[mdn]\nsend = no\n")
        a.gw.start()
        b.gw.start()
        mid = "<two.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test", "carol@b.test"],
               message("alice@a.test", "bob@b.test", mid=mid))
        wait_for(lambda: tracked(a, mid) == {"bob@b.test": "sent", "carol@b.test": "sent"},
                 30, interval=0.2, what="both recipients sent")
        # carol failed, bob only delayed: carol's failure is news.
        dsn = two_rcpt_dsn("bob@b.test", "alice@a.test", mid, [
            ("carol@b.test", "failed", "5.1.1", "550 5.1.1 user unknown"),
            ("bob@b.test", "delayed", "4.4.1", "connect timed out")])
        submit(b, "bob@b.test", ["alice@a.test"], dsn)
        wait_for(lambda: tracked(a, mid).get("carol@b.test") == "failed", 30,
                 interval=0.2, what="carol failed at A (got %s)" % tracked(a, mid))
        assert tracked(a, mid)["bob@b.test"] == "sent", tracked(a, mid)
        # Both now failed, in one report: each is moved.
        dsn = two_rcpt_dsn("bob@b.test", "alice@a.test", mid, [
            ("bob@b.test", "failed", "5.2.2", "552 mailbox full"),
            ("carol@b.test", "failed", "5.1.1", "550 user unknown")])
        submit(b, "bob@b.test", ["alice@a.test"], dsn)
        wait_for(lambda: tracked(a, mid) == {"bob@b.test": "failed", "carol@b.test": "failed"},
                 30, interval=0.2, what="both failed at A (got %s)" % tracked(a, mid))
        assert a.gw.stop() == 0, a.gw.log_tail()
        assert b.gw.stop() == 0, b.gw.log_tail()


if __name__ == "__main__":
    run([
        test_folded_message_id_gets_a_processed_mdn_with_the_id_byte_for_byte,
        test_dsn_naming_two_recipients_moves_each_with_its_own_action,
    ])
