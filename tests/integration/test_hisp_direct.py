"""Two HISPs on loopback: an edge client submits to A over STARTTLS and
AUTH; A signs, discovers B's certificate in DNS (Knot), encrypts, delivers
by MX; B decrypts and verifies, and the message is read from Dovecot over
IMAP exactly as submitted."""
from harness import Env, run
from hisputil import Dovecot, message, submit, two_hisps


def test_edge_submission_reaches_the_remote_mailbox_byte_identical():
    with Env("direct") as env:
        a, b, knot = two_hisps(env)
        a.gw.start()
        b.gw.start()
        imap = Dovecot(env, b)
        msg = message("alice@a.test", "bob@b.test")
        submit(a, "alice@a.test", ["bob@b.test"], msg)
        got = imap.wait_messages("bob@b.test", b.passwords["bob@b.test"])
        assert got[0] == msg, "got:\n%r\nwant:\n%r" % (got[0], msg)
        alog = a.gw.log()
        assert "event=sealed domain=b.test" in alog, alog
        assert "status=sent" in alog, alog
        blog = b.gw.log()
        assert "event=opened to=<bob@b.test>" in blog, blog
        # No PHI in the logs: the subject and body never appear.
        for log in (alog, blog):
            assert "Discharge summary" not in log and "Patient seen" not in log


def test_same_message_id_from_two_senders_is_delivered_twice():
    """The receiver drops a message it delivered before (same Message-ID,
    recipient and sender); another sender reusing the id is not that."""
    with Env("direct-reuse") as env:
        a, b, knot = two_hisps(env, a_boxes=("alice", "carol"))
        a.gw.start()
        b.gw.start()
        imap = Dovecot(env, b)
        mid = "<1001@localhost>"
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        imap.wait_messages("bob@b.test", b.passwords["bob@b.test"], n=1)
        submit(a, "carol@a.test", ["bob@b.test"], message("carol@a.test", "bob@b.test", mid=mid))
        got = imap.wait_messages("bob@b.test", b.passwords["bob@b.test"], n=2)
        assert len(got) == 2, got
        assert "event=duplicate" not in b.gw.log()


if __name__ == "__main__":
    run([
        test_edge_submission_reaches_the_remote_mailbox_byte_identical,
        test_same_message_id_from_two_senders_is_delivered_twice,
    ])
