"""Session limits of the SMTP listener ([smtp] max_sessions and
max_sessions_per_ip): a connection past a limit gets "421 4.7.0 too many
connections, try again later" and is closed, the sessions already open
are served on, and once one of them closes a new connection is served.
Clients come from several loopback addresses (127.0.0.x) to tell the
per-address limit from the total."""
import socket

from harness import Env, run, wait_for
from hisputil import Hisp, RawSmtp

MAX = 4
PER_IP = 2


class Client(RawSmtp):
    """RawSmtp from a chosen source address."""

    def __init__(self, port, source, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.buf = b""
        self.greeting = self.reply()

    def data_transaction(self, sender, rcpt, msg):
        """MAIL, RCPT, DATA and msg: the reply to its end."""
        for line in ("MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt):
            code, text = self.cmd(line)
            assert code == 250, "%s: got %d %s" % (line, code, text)
        code, text = self.cmd("DATA")
        assert code == 354, "DATA: got %d %s" % (code, text)
        self.send(msg + ".\r\n")
        return self.reply()


def served(c, what):
    assert c.greeting[0] == 220, "%s: got %d %s, want 220" % (what, c.greeting[0], c.greeting[1])
    c.ehlo("limits.test")


def refused(c, what):
    code, text = c.greeting
    assert (code, text) == (421, "4.7.0 too many connections, try again later"), \
        "%s: got %d %s, want 421 4.7.0 too many connections, try again later" % (what, code, text)
    assert c.closed(), "%s: still open after the 421" % what
    c.close()


def leave(gw, c, quit):
    """Ends session c (QUIT, or drops it) and waits until the daemon has
    seen it go (its disconnect line)."""
    before = gw.log().count("event=disconnect")
    if quit:
        assert c.cmd("QUIT")[0] == 221
    c.close()
    wait_for(lambda: gw.log().count("event=disconnect") > before, 10,
             interval=0.05, what="the daemon sees the session end")


def test_connections_past_the_limits_get_421_and_the_others_are_served():
    with Env("hisp-limits") as env:
        gw = env.instance("gw", config="[smtp]\nmax_sessions = %d\nmax_sessions_per_ip = %d\n"
                          % (MAX, PER_IP))
        gw.start()
        port = gw.smtp_port
        open_ = []
        # Per address: two from 127.0.0.1, the third is refused.
        for i in range(PER_IP):
            c = Client(port, "127.0.0.1")
            served(c, "session %d from 127.0.0.1" % (i + 1))
            open_.append(c)
        refused(Client(port, "127.0.0.1"), "session %d from 127.0.0.1" % (PER_IP + 1))
        gw.wait_log(r"event=session_refused reason=max_sessions_per_ip client=127\.0\.0\.1"
                    r" port=mx sessions=%d max=%d" % (PER_IP, PER_IP))
        # Another address is still served, and so are the open sessions.
        for src in ("127.0.0.2", "127.0.0.3"):
            c = Client(port, src)
            served(c, "a session from " + src)
            open_.append(c)
        for c in open_:
            assert c.cmd("NOOP")[0] == 250, "an open session stopped answering"
        # Total: MAX open now; one more from a new address is refused.
        assert len(open_) == MAX
        refused(Client(port, "127.0.0.4"), "session %d in all" % (MAX + 1))
        gw.wait_log(r"event=session_refused reason=max_sessions client=127\.0\.0\.4"
                    r" port=mx sessions=%d max=%d" % (MAX, MAX))
        for c in open_:
            assert c.cmd("NOOP")[0] == 250, "an open session stopped answering"
        # One from 127.0.0.1 leaves: 127.0.0.1 may connect again (both
        # limits had been reached), then 127.0.0.4 is refused again.
        leave(gw, open_.pop(0), quit=True)
        c = Client(port, "127.0.0.1")
        served(c, "a new session from 127.0.0.1 after one closed")
        open_.append(c)
        refused(Client(port, "127.0.0.4"), "a session past the total again")
        # One from 127.0.0.2 leaves without QUIT: 127.0.0.4 gets its turn.
        second = open_.pop(1)
        assert second.sock.getsockname()[0] == "127.0.0.2"
        leave(gw, second, quit=False)
        c = Client(port, "127.0.0.4")
        served(c, "a new session from 127.0.0.4 after one dropped")
        open_.append(c)
        # A whole transaction still works on every open session.
        for c in open_:
            assert c.cmd("RSET")[0] == 250
            c.cmd("QUIT")
            c.close()
        # Refusals are one line each and no greeting was sent with them.
        log = gw.log()
        assert log.count("event=session_refused") == 3, log
        assert gw.stop() == 0, gw.log_tail()


def test_messages_past_the_memory_budget_get_452_and_go_through_later():
    """[smtp] max_buffered: while one session holds a message of 3 KiB
    in memory (DATA not ended), another's message that would pass the 4 KiB
    budget is refused with 452 4.3.1 at its end; once the first is
    committed, the same message goes through."""
    with Env("hisp-buffered") as env:
        gw = Hisp(env, "b.test", mailboxes=("dave",),
                  config="[smtp]\nmax_buffered = 4k\n").gw
        gw.start()
        port = gw.smtp_port
        body = lambda n, tag: ("From: <x@a.test>\r\nTo: <dave@b.test>\r\n"
                               "Subject: budget\r\nMessage-ID: <%s@a.test>\r\n\r\n" % tag
                               + ("z" * 70 + "\r\n") * (n // 72))
        first = Client(port, "127.0.0.1")
        served(first, "the first session")
        assert first.cmd("MAIL FROM:<x@a.test>")[0] == 250
        assert first.cmd("RCPT TO:<dave@b.test>")[0] == 250
        assert first.cmd("DATA")[0] == 354
        first.send(body(3000, "first"))
        # Let the daemon take those bytes in before the second message.
        second = Client(port, "127.0.0.2")
        served(second, "the second session")
        for _ in range(50):
            assert second.cmd("NOOP")[0] == 250
        code, text = second.data_transaction("x@a.test", "dave@b.test", body(2000, "second"))
        assert (code, text[:5]) == (452, "4.3.1"), \
            "over the budget: got %d %s, want 452 4.3.1" % (code, text)
        gw.wait_log(r"event=message_buffer_full size=\d+ reason=max_buffered")
        first.send(".\r\n")
        code, text = first.reply()
        assert code == 250, "the first message: got %d %s, want 250" % (code, text)
        code, text = second.data_transaction("x@a.test", "dave@b.test", body(2000, "second"))
        assert code == 250, "the second message again: got %d %s, want 250" % (code, text)
        for c in (first, second):
            c.cmd("QUIT")
            c.close()
        assert gw.stop() == 0, gw.log_tail()


def test_default_limits_are_written_by_init():
    with Env("hisp-limits-init") as env:
        gw = env.instance("gw")
        with open(env.path("gw", "directgate.conf")) as f:
            conf = f.read()
        for key, value in (("max_sessions", "1000"), ("max_sessions_per_ip", "50")):
            lines = [l for l in conf.splitlines() if l.lstrip("#; ").startswith(key + " ")]
            assert lines and lines[0].split("=")[1].strip() == value, \
                "%s in the init config: got %r, want %s" % (key, lines, value)


if __name__ == "__main__":
    run([
        test_connections_past_the_limits_get_421_and_the_others_are_served,
        test_messages_past_the_memory_budget_get_452_and_go_through_later,
        test_default_limits_are_written_by_init,
    ])
