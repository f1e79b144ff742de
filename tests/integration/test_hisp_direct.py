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


if __name__ == "__main__":
    run([
        test_edge_submission_reaches_the_remote_mailbox_byte_identical,
    ])
