"""The next MX on a session-level temporary failure (as Postfix does):
b.test has two MX records, mx1 (preference 10) and mx2 (20). mx1 is a
tiny Python SMTP listener that refuses the session: 421 at the greeting,
or 451 to MAIL FROM, or nothing listens there; mx2 is HISP B (directgate). A's message to bob is
delivered through mx2 on the first attempt. A 5xx from mx1 still fails
the message (no second MX, the sender gets a DSN)."""
import socket
import threading
import time

import harness
from harness import Env, run, wait_for
from dnsutil import Knot
from hisputil import Hisp, maildir_messages, message, submit

MX1 = "127.0.0.2"
MX2 = "127.0.0.3"


class Refuser:
    """An SMTP listener on MX1:port that refuses every session the way
    mode says: "greet421", "mail451" (EHLO 250, then MAIL 451) or
    "greet554". Counts its sessions; stopped by close()."""

    def __init__(self, port, mode):
        self.mode = mode
        self.sessions = 0
        self.commands = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((MX1, port))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.sessions += 1
            try:
                c.settimeout(10)
                self._session(c)
            except OSError:
                pass
            finally:
                c.close()

    def _session(self, c):
        f = c.makefile("rb")
        if self.mode == "greet421":
            c.sendall(b"421 4.3.2 mx1.b.test busy, try again later\r\n")
            return
        if self.mode == "greet554":
            c.sendall(b"554 5.7.1 mx1.b.test no service here\r\n")
        else:
            c.sendall(b"220 mx1.b.test ESMTP\r\n")
        for line in f:
            cmd = line.decode("ascii", "replace").strip()
            self.commands.append(cmd.split(" ")[0].upper())
            verb = self.commands[-1]
            if verb == "QUIT":
                c.sendall(b"221 2.0.0 bye\r\n")
                return
            if self.mode == "greet554":
                c.sendall(b"503 5.5.1 no service here\r\n")
            elif verb in ("EHLO", "HELO"):
                c.sendall(b"250 mx1.b.test\r\n")
            elif verb == "MAIL":
                c.sendall(b"451 4.3.0 mx1.b.test cannot take mail now\r\n")
            else:
                c.sendall(b"503 5.5.1 bad sequence of commands\r\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def setup(env, mode):
    """A (a.test) and B (b.test, listening on MX2 only), Knot with b.test's
    two MX records, and the refuser on MX1 at B's port."""
    harness.require("knotd")
    a = Hisp(env, "a.test", ("alice",))
    b = Hisp(env, "b.test", ("bob",), config="[mdn]\nsend = no\n")
    port = b.gw.smtp_port
    b.gw.configure("[smtp]\nlisten = %s:%d\n" % (MX2, port))
    bzone = [l for l in b.zone().splitlines() if not l.startswith(("@ MX", "mx A"))]
    bzone += ["@ MX 10 mx1", "mx1 A %s" % MX1, "@ MX 20 mx2", "mx2 A %s" % MX2]
    knot = Knot(env.tmp, env.procs, {"a.test": a.zone(), "b.test": "\n".join(bzone)})
    a.trust(b)
    b.trust(a)
    a.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n" % (knot.server(), port))
    b.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n"
                   % (knot.server(), a.gw.smtp_port))
    refuser = None
    if mode != "closed":  # "closed": nothing listens there
        refuser = Refuser(port, mode)
        env.procs.add(_Closer(refuser), "refuser")
    a.gw.start()
    b.gw.start()
    return a, b, refuser, port


class _Closer:
    """Closes the refuser like a Popen (for Processes)."""

    def __init__(self, r):
        self.r = r
        self.returncode = None

    def poll(self):
        return self.returncode

    def terminate(self):
        self.r.close()
        self.returncode = 0

    def wait(self, timeout=None):
        return 0

    def kill(self):
        self.terminate()


def delivered_through_mx2_on_first_attempt(mode, want_commands, want_reply):
    with Env("nextmx-" + mode) as env:
        a, b, refuser, port = setup(env, mode)
        mid = "<nextmx.%d@a.test>" % time.time_ns()
        t0 = time.time()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        got = wait_for(lambda: maildir_messages(b, "bob@b.test") or None, 30, interval=0.1,
                       what="the message in bob's Maildir at B")
        took = time.time() - t0
        assert len(got) == 1 and ("Message-ID: %s" % mid).encode() in got[0], got
        if refuser is not None:
            assert refuser.sessions == 1, "mx1 sessions: got %d, want 1" % refuser.sessions
            assert refuser.commands == want_commands, \
                "mx1 commands: got %s, want %s" % (refuser.commands, want_commands)
        a.gw.wait_log(r"event=smtp_next_mx relay=mx1\.b\.test\[%s\]:%d reply=\"%s" % (
            MX1.replace(".", r"\."), port, want_reply))
        line = a.gw.wait_log(r"to=<bob@b\.test> relay=\S+ attempts=\d+ status=\w+").group(0)
        want = "to=<bob@b.test> relay=mx2.b.test[%s]:%d attempts=1 status=sent" % (MX2, port)
        assert line == want, "got %s, want %s" % (line, want)
        # The first attempt, not a retry (the queue retries after >= 1s).
        assert "status=deferred" not in a.gw.log(), a.gw.log_tail()
        assert took < 20, "delivery took %.1fs" % took
        assert a.gw.stop() == 0, a.gw.log_tail()
        assert b.gw.stop() == 0, b.gw.log_tail()


def test_421_greeting_from_the_first_mx_delivers_through_the_second():
    delivered_through_mx2_on_first_attempt("greet421", [], "421 4.3.2 mx1.b.test busy")


def test_451_to_mail_from_the_first_mx_delivers_through_the_second():
    delivered_through_mx2_on_first_attempt("mail451", ["EHLO", "MAIL", "QUIT"],
                                           "451 4.3.0 mx1.b.test cannot take mail")


def test_refused_connection_to_the_first_mx_delivers_through_the_second():
    delivered_through_mx2_on_first_attempt("closed", None, "connect to ")


def test_554_greeting_from_the_first_mx_still_fails_the_message():
    with Env("nextmx-greet554") as env:
        a, b, refuser, port = setup(env, "greet554")
        mid = "<nextmx554.%d@a.test>" % time.time_ns()
        submit(a, "alice@a.test", ["bob@b.test"], message("alice@a.test", "bob@b.test", mid=mid))
        line = a.gw.wait_log(r"to=<bob@b\.test> relay=\S+ attempts=\d+ status=\w+", timeout=30).group(0)
        want = "to=<bob@b.test> relay=mx1.b.test[%s]:%d attempts=1 status=failed" % (MX1, port)
        assert line == want, "got %s, want %s" % (line, want)
        assert "event=smtp_next_mx" not in a.gw.log(), a.gw.log_tail()
        # alice hears of it; bob never gets it.
        wait_for(lambda: maildir_messages(a, "alice@a.test") or None, 30, interval=0.2,
                 what="the failure DSN in alice's Maildir")
        time.sleep(0.5)
        assert maildir_messages(b, "bob@b.test") == []
        assert a.gw.stop() == 0, a.gw.log_tail()
        assert b.gw.stop() == 0, b.gw.log_tail()


if __name__ == "__main__":
    run([
        test_421_greeting_from_the_first_mx_delivers_through_the_second,
        test_451_to_mail_from_the_first_mx_delivers_through_the_second,
        test_refused_connection_to_the_first_mx_delivers_through_the_second,
        test_554_greeting_from_the_first_mx_still_fails_the_message,
    ])
