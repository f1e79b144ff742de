"""Password checks on the submission port ([smtp] auth_failure_delay and
auth_max_concurrent): a failed AUTH is answered 535 only after the delay
while other sessions are served at once, and AUTHs past the concurrency
cap get "454 4.7.0" (try again) instead of holding the worker pool; a
good password still works afterwards."""
import base64
import time

from harness import Env, run
from hisputil import Hisp, RawSmtp


def session(gw):
    r = RawSmtp(gw.submission_port)
    r.ehlo("auth.test")
    r.starttls()
    r.ehlo("auth.test")
    return r


def test_failed_auth_waits_and_others_are_served_meanwhile():
    with Env("hisp-auth-delay") as env:
        a = Hisp(env, "a.test", mailboxes=("alice",),
                 config="[smtp]\nauth_failure_delay = 1s\n")
        a.gw.start()
        guesser, other = session(a.gw), session(a.gw)
        t0 = time.monotonic()
        guesser.send("AUTH PLAIN %s\r\n" % base64.b64encode(
            b"\0alice@a.test\0Wr0ngPassw0rd").decode())
        # Meanwhile another session is answered at once.
        code, _ = other.cmd("NOOP")
        assert code == 250 and time.monotonic() - t0 < 0.8, \
            "NOOP during a delayed AUTH: got %d after %.2f s" % (code, time.monotonic() - t0)
        code, text = guesser.reply()
        waited = time.monotonic() - t0
        assert (code, text[:5]) == (535, "5.7.8"), "got %d %s, want 535 5.7.8" % (code, text)
        assert waited >= 0.9, "535 after %.2f s, want the 1 s delay" % waited
        # The session goes on normally after it.
        code, text = guesser.auth_plain("alice@a.test", a.passwords["alice@a.test"])
        assert code == 235, "good password after a failure: got %d %s" % (code, text)
        for r in (guesser, other):
            r.cmd("QUIT")
            r.close()
        assert a.gw.stop() == 0, a.gw.log_tail()


def test_auths_past_the_cap_get_454_and_a_good_one_works_after():
    with Env("hisp-auth-cap") as env:
        a = Hisp(env, "a.test", mailboxes=("alice",),
                 config="[smtp]\nauth_max_concurrent = 1\nauth_failure_delay = 0\n")
        a.gw.start()
        sessions = [session(a.gw) for _ in range(6)]
        tok = base64.b64encode(b"\0alice@a.test\0Wr0ngPassw0rd").decode()
        for r in sessions:
            r.send("AUTH PLAIN %s\r\n" % tok)
        codes = [r.reply()[0] for r in sessions]
        assert 454 in codes, "AUTHs past the cap: got %r, want some 454" % codes
        assert 535 in codes, "AUTHs within the cap: got %r, want some 535" % codes
        assert set(codes) <= {454, 535}, "got %r" % codes
        a.gw.wait_log(r"event=auth_refused reason=busy running=1 max=1")
        code, text = sessions[0].auth_plain("alice@a.test", a.passwords["alice@a.test"])
        assert code == 235, "a good password afterwards: got %d %s" % (code, text)
        for r in sessions:
            r.cmd("QUIT")
            r.close()
        assert a.gw.stop() == 0, a.gw.log_tail()


if __name__ == "__main__":
    run([
        test_failed_auth_waits_and_others_are_served_meanwhile,
        test_auths_past_the_cap_get_454_and_a_good_one_works_after,
    ])
