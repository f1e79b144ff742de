"""Delivery notifications between two HISPs: processed and dispatched
MDNs, tracking at the sender, timeouts with exactly one failure DSN,
suppressed duplicates and late reports, restarts."""
import json
import re
import time

from harness import Env, free_port, run, wait_for
from hisputil import Dovecot, maildir_messages, message, submit, two_hisps

FINAL = "Disposition-Notification-Options: X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true\r\n"
SHORT = "[mdn]\nprocessed_timeout = 4s\ndispatched_timeout = 4s\ncheck_interval = 200ms\n"


def status(hisp, mid):
    r = hisp.gw.cli("message", "status", mid, "--json", check=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)["recipients"][0]


def wait_state(hisp, mid, want, timeout=30):
    return wait_for(lambda: (lambda s: s if s and s["state"] == want else None)(status(hisp, mid)),
                    timeout, interval=0.2, what="state %s of %s" % (want, mid))


def reports(msgs):
    """(disposition, has the final-delivery extension) of each MDN."""
    out = []
    for m in msgs:
        t = m.decode(errors="replace")
        if "disposition-notification" not in t:
            continue
        for d in ("processed", "dispatched", "failed"):
            if "MDN-sent-automatically; " + d in t:
                out.append((d, "X-DIRECT-FINAL-DESTINATION-DELIVERY" in t.split("message/disposition-notification")[-1]))
    return sorted(out)


def mdn_text(frm, to, orig, disposition, final=None):
    final = final or frm
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: Message %s\r\nMessage-ID: <%d.late@b.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification;"
            " boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n%s\r\n\r\n--XX\r\n"
            "Content-Type: message/disposition-notification\r\n\r\nReporting-UA: b.test; test\r\n"
            "Final-Recipient: rfc822; %s\r\nOriginal-Message-ID: %s\r\n"
            "Disposition: automatic-action/MDN-sent-automatically; %s\r\n\r\n--XX--\r\n"
            % (frm, to, disposition, time.time_ns(), disposition, final, orig, disposition)).encode()


def test_final_delivery_request_gets_processed_and_dispatched_mdns():
    with Env("mdn-final") as env:
        a, b, _ = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        mid = "<final.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid, extra=FINAL))
        wait_state(a, mid, "dispatched")
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=2)
        assert reports(got) == [("dispatched", True), ("processed", False)], reports(got)
        for m in got:
            assert ("Original-Message-ID: %s\r\n" % mid).encode() in m, m
        s = status(a, mid)
        assert s["processed"] and s["dispatched"], s
        r = a.gw.cli("message", "list", "--state", "dispatched")
        assert mid in r.stdout, r.stdout


def test_without_the_option_only_processed_comes_back():
    with Env("mdn-plain") as env:
        a, b, _ = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        mid = "<plain.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        wait_state(a, mid, "processed")
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=1)
        time.sleep(1.5)
        got = imap_a.messages("alice@a.test", a.passwords["alice@a.test"])
        assert reports(got) == [("processed", False)], reports(got)
        assert "mdn_queued" in b.gw.log()
        assert "disposition=dispatched" not in b.gw.log()


def test_silent_receiver_gives_one_dsn_after_the_timeout_and_late_mdns_are_suppressed():
    with Env("mdn-timeout") as env:
        a, b, _ = two_hisps(env, a_config=SHORT, b_config="[mdn]\nsend = no\n")
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        mid = "<silent.%d@a.test>" % time.time_ns()
        t0 = time.time()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        wait_state(a, mid, "sent")
        # Not before the timeout.
        while time.time() < t0 + 3.0:
            assert imap_a.messages("alice@a.test", a.passwords["alice@a.test"]) == []
            time.sleep(0.3)
        wait_state(a, mid, "timed-out")
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=1)
        assert len(got) == 1 and b"report-type=delivery-status" in got[0], got
        assert ("X-Original-Message-ID: %s" % mid).encode() in got[0]
        assert b"Action: failed" in got[0] and b"Status: 5." in got[0]
        # A late processed MDN (sent by bob's own client) is recorded, not forwarded.
        submit(b, "bob@b.test", ["alice@a.test"], mdn_text("bob@b.test", "alice@a.test", mid, "processed"))
        a.gw.wait_log(r"event=report kind=mdn disposition=processed orig=%s .*verdict=suppress" % mid)
        time.sleep(1.0)
        assert len(imap_a.messages("alice@a.test", a.passwords["alice@a.test"])) == 1
        s = status(a, mid)
        assert s["state"] == "timed-out" and [r["forwarded"] for r in s["reports"]] == [True, False], s


def test_duplicate_mdn_is_suppressed():
    with Env("mdn-dup") as env:
        a, b, _ = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        mid = "<dup.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        wait_state(a, mid, "processed")
        imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=1)
        submit(b, "bob@b.test", ["alice@a.test"], mdn_text("bob@b.test", "alice@a.test", mid, "processed"))
        a.gw.wait_log(r"verdict=suppress")
        time.sleep(1.0)
        assert len(imap_a.messages("alice@a.test", a.passwords["alice@a.test"])) == 1


def test_unknown_recipient_at_the_receiver_gives_the_sender_a_failure():
    with Env("mdn-unknown") as env:
        a, b, _ = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        submit(a, "alice@a.test", ["nobody@b.test"], message("alice@a.test", "nobody@b.test"))
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=1)
        t = got[0].decode(errors="replace")
        assert "report-type=delivery-status" in t or "MDN-sent-automatically; failed" in t, t
        assert "nobody@b.test" in t


def test_restart_of_the_sender_between_send_and_mdn_ends_right():
    with Env("mdn-restart") as env:
        a, b, _ = two_hisps(env)
        # B cannot reach A at first: its MDNs wait in B's queue.
        b.gw.configure("[delivery]\nmx_port = %d\n" % free_port())
        a.gw.start()
        b.gw.start()
        imap_a = Dovecot(env, a)
        mid = "<restart.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid, extra=FINAL))
        wait_state(a, mid, "sent")
        b.gw.wait_log("event=mdn_queued .*disposition=dispatched")
        # The sender restarts while the MDNs are on their way.
        assert a.gw.stop() == 0
        a.gw.start()
        assert status(a, mid)["state"] == "sent"
        assert b.gw.stop() == 0
        b.gw.configure("[delivery]\nmx_port = %d\n" % a.gw.smtp_port)
        b.gw.start()
        b.gw.cli("queue", "retry", "--all")
        wait_state(a, mid, "dispatched", timeout=60)
        got = imap_a.wait_messages("alice@a.test", a.passwords["alice@a.test"], n=2)
        assert reports(got) == [("dispatched", True), ("processed", False)], reports(got)


def three_hisps(env):
    """A, B (bob and carol; no MDNs of its own: every report is written by
    hand) and C (mallory), each trusting A and trusted by A."""
    import harness
    from dnsutil import Knot
    from hisputil import Hisp
    harness.require("knotd")
    a = Hisp(env, "a.test", ("alice",))
    b = Hisp(env, "b.test", ("bob", "carol"), config="[mdn]\nsend = no\n")
    c = Hisp(env, "c.test", ("mallory",))
    knot = Knot(env.tmp, env.procs, {h.domain: h.zone() for h in (a, b, c)})
    for other in (b, c):
        a.trust(other)
        other.trust(a)
    a.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n" % (knot.server(), b.gw.smtp_port))
    for other in (b, c):
        other.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n"
                           % (knot.server(), a.gw.smtp_port))
    for h in (a, b, c):
        h.gw.start()
    return a, b, c


def dsn_text(frm, to, orig, rcpt):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: Undelivered Mail\r\nMessage-ID: <%d.dsn@c.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
            " boundary=\"DD\"\r\n\r\n--DD\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n\r\n--DD\r\n"
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.c.test\r\n"
            "X-Original-Message-ID: %s\r\n\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n--DD--\r\n"
            % (frm, to, time.time_ns(), orig, rcpt)).encode()


def test_forged_mdn_from_another_trusted_address_is_ignored_and_the_genuine_one_applied():
    with Env("mdn-forged") as env:
        a, b, c = three_hisps(env)
        mid = "<forged.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid, extra=FINAL))
        wait_state(a, mid, "sent")
        # Each forger is trusted by A and signs as itself; none is the recipient:
        # carol at bob's own HISP, mallory at another HISP (an MDN and a DSN).
        forgeries = [
            (b, "carol@b.test", mdn_text("carol@b.test", "alice@a.test", mid, "dispatched", final="bob@b.test"),
             "kind=mdn disposition=dispatched"),
            (c, "mallory@c.test", mdn_text("mallory@c.test", "alice@a.test", mid, "dispatched", final="bob@b.test"),
             "kind=mdn disposition=dispatched"),
            (c, "mallory@c.test", dsn_text("mallory@c.test", "alice@a.test", mid, "bob@b.test"),
             "kind=dsn disposition=failed"),
        ]
        for hisp, frm, text, kind in forgeries:
            submit(hisp, frm, ["alice@a.test"], text)
            a.gw.wait_log(r"event=mdn_rejected reason=sender_not_recipient %s orig=%s rcpt=<bob@b\.test>"
                          r" from=<%s>" % (kind, re.escape(mid), re.escape(frm)))
        time.sleep(1.0)
        s = status(a, mid)
        assert s["state"] == "sent" and not s["dispatched"] and s["reports"] == [], \
            "after the forged reports: got %s, want state sent and no reports" % s
        assert maildir_messages(a, "alice@a.test") == [], "a forged report reached the sender"
        assert "verdict=forward" not in a.gw.log(), a.gw.log_tail()
        # bob's own MDN is applied and reaches alice.
        submit(b, "bob@b.test", ["alice@a.test"], mdn_text("bob@b.test", "alice@a.test", mid, "dispatched"))
        wait_state(a, mid, "dispatched")
        got = harness_wait(lambda: maildir_messages(a, "alice@a.test"), "the genuine MDN in alice's Maildir")
        assert len(got) == 1 and b"MDN-sent-automatically; dispatched" in got[0], got
        for h in (a, b, c):
            assert h.gw.stop() == 0, h.gw.log_tail()


def harness_wait(fn, what, timeout=30):
    return wait_for(lambda: fn() or None, timeout, interval=0.2, what=what)


if __name__ == "__main__":
    run([
        test_final_delivery_request_gets_processed_and_dispatched_mdns,
        test_without_the_option_only_processed_comes_back,
        test_silent_receiver_gives_one_dsn_after_the_timeout_and_late_mdns_are_suppressed,
        test_duplicate_mdn_is_suppressed,
        test_unknown_recipient_at_the_receiver_gives_the_sender_a_failure,
        test_restart_of_the_sender_between_send_and_mdn_ends_right,
        test_forged_mdn_from_another_trusted_address_is_ignored_and_the_genuine_one_applied,
    ])
