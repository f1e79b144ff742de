"""Negative cases of the HISP transport, each with its exact reply code,
while another session on the same daemon keeps working.

One setup for every case (three daemons take a few seconds to start):
A (a.test) and B (b.test) trust each other; C (c.test) has a CA of its own
that B does not trust. B runs with short limits ([smtp] timeout_command
2s, timeout_data 3s, max_errors 5, max_message_size 200K). Every case opens a "keeper"
session before the bad one and completes a good transaction on it after
the bad one was answered: refusals must not disturb other sessions. The
last case checks that the good Direct messages submitted by the keepers
on A's submission port arrived in bob's Maildir at B."""
import os
import time

import harness
from harness import Env, run
from hisputil import (Hisp, RawSmtp, maildir_messages, message,
                      message_id_of, raw_transaction, stop_clean, submit,
                      two_hisps)

S = {}
B_MAX_SIZE = 200 * 1024


def setup():
    env = Env("hisp-negative")
    S["env"] = env
    a, b, knot = two_hisps(env, b_boxes=("bob", "carol", "dave"))
    b.gw.configure("[smtp]\ntimeout_command = 2s\ntimeout_data = 3s\n"
                   "max_errors = 5\nmax_message_size = %d\n" % B_MAX_SIZE)
    # C: its own demo CA, trusts B (so it can encrypt to bob), not
    # trusted by B. It finds B through the same Knot.
    c = Hisp(env, "c.test", ("cx",))
    c.trust(b)
    c.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n"
                   % (knot.server(), b.gw.smtp_port))
    for h in (a, b, c):
        h.gw.start()
    S.update(a=a, b=b, c=c, knot=knot, sent=[])


def teardown():
    env = S.get("env")
    if env is not None:
        env.__exit__(None, None, None)


# ---- keepers: a good transaction on another session of the same daemon --

class Keeper:
    """A session opened before a bad case and used after it."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "mx":
            self.raw = RawSmtp(S["b"].gw.smtp_port)
            self.raw.ehlo("keeper.test")
        else:
            a = S["a"]
            self.raw = RawSmtp(a.gw.submission_port)
            self.raw.ehlo("keeper.test")
            self.raw.starttls()
            self.raw.ehlo("keeper.test")
            code, text = self.raw.auth_plain("alice@a.test",
                                             a.passwords["alice@a.test"])
            assert code == 235, "keeper AUTH: got %d %s, want 235" % (code, text)

    def finish(self):
        """A whole transaction, answered 250 at every step."""
        if self.kind == "mx":
            # Plain (unsealed) mail on port 25 is queued (250) and then
            # refused by B's security agent: the session is what counts.
            msg = message("x@a.test", "dave@b.test")
            replies = raw_transaction(self.raw, "x@a.test", ["dave@b.test"], msg)
        else:
            msg = message("alice@a.test", "bob@b.test")
            replies = raw_transaction(self.raw, "alice@a.test", ["bob@b.test"], msg)
            S["sent"].append(message_id_of(msg))
        codes = [c for c, _ in replies]
        assert codes == [250] * len(codes), \
            "keeper session (%s): got %r, want all 250" % (self.kind, replies)
        code, _ = self.raw.cmd("QUIT")
        assert code == 221, "keeper QUIT: got %d, want 221" % code
        self.raw.close()


def expect(got, code, enh=None, what=""):
    c, text = got
    ok = c == code and (enh is None or text.startswith(enh))
    assert ok, "%s: got %d %s, want %d %s" % (what, c, text, code, enh or "")


# ---- cases -------------------------------------------------------------

def test_port_25_refuses_unknown_domain_and_unknown_user():
    k = Keeper("mx")
    r = RawSmtp(S["b"].gw.smtp_port)
    r.ehlo("relay.test")
    expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    expect(r.cmd("RCPT TO:<someone@elsewhere.test>"), 554, "5.7.1",
           "RCPT to a domain not ours")
    expect(r.cmd("RCPT TO:<nobody@b.test>"), 550, "5.1.1",
           "RCPT to an unknown local user")
    # The same session still takes a good recipient.
    expect(r.cmd("RCPT TO:<dave@b.test>"), 250, "2.1.5", "RCPT dave")
    expect(r.cmd("RSET"), 250, "2.0.0", "RSET")
    r.close()
    # A's port 25 is not a relay for b.test either.
    r = RawSmtp(S["a"].gw.smtp_port)
    r.ehlo("relay.test")
    expect(r.cmd("MAIL FROM:<x@elsewhere.test>"), 250, "2.1.0", "MAIL")
    expect(r.cmd("RCPT TO:<bob@b.test>"), 554, "5.7.1",
           "relay through A's port 25")
    r.close()
    k.finish()


def test_untrusted_sender_is_not_delivered_and_not_answered():
    b, c = S["b"], S["c"]
    msg = message("cx@c.test", "carol@b.test")
    submit(c, "cx@c.test", ["carol@b.test"], msg)
    c.gw.wait_log(r"status=sent", timeout=30)
    b.gw.wait_log(r"event=rejected to=<carol@b\.test> reason=untrusted",
                  timeout=30)
    Keeper("mx").finish()
    time.sleep(2)   # a wrong MDN would be queued and sent by now
    got = maildir_messages(b, "carol@b.test")
    assert got == [], "carol got %d message(s) from an untrusted sender" % len(got)
    blog = b.gw.log()
    assert "event=mdn_queued to=<cx@c.test>" not in blog, \
        "B queued an MDN to the untrusted sender:\n" + blog
    assert "event=opened to=<carol@b.test>" not in blog, blog
    clog = c.gw.log()
    assert "port=mx" not in clog, "C was contacted on port 25 (an MDN?):\n" + clog


def test_submission_refuses_relay_without_auth():
    a = S["a"]
    k = Keeper("submission")
    r = RawSmtp(a.gw.submission_port)
    r.ehlo("edge.test")
    # Before STARTTLS: no mail commands at all.
    expect(r.cmd("MAIL FROM:<alice@a.test>"), 530, "5.7.0",
           "MAIL before STARTTLS")
    r.starttls()
    r.ehlo("edge.test")
    expect(r.cmd("MAIL FROM:<alice@a.test>"), 530, "5.7.0",
           "MAIL without AUTH")
    expect(r.cmd("RCPT TO:<bob@b.test>"), 503, "5.5.1",
           "RCPT without MAIL")
    r.close()
    k.finish()


def test_submission_refuses_bad_credentials():
    a = S["a"]
    k = Keeper("submission")
    r = RawSmtp(a.gw.submission_port)
    r.ehlo("edge.test")
    r.starttls()
    r.ehlo("edge.test")
    expect(r.auth_plain("alice@a.test", "Wr0ngPassw0rd"), 535, "5.7.8",
           "AUTH PLAIN with a wrong password")
    expect(r.auth_plain("nobody@a.test", "pw-alice"), 535, "5.7.8",
           "AUTH PLAIN as an unknown user")
    # AUTH LOGIN too.
    expect(r.cmd("AUTH LOGIN"), 334, None, "AUTH LOGIN")
    expect(r.cmd(_b64("alice@a.test")), 334, None, "AUTH LOGIN user")
    expect(r.cmd(_b64("Wr0ngPassw0rd")), 535, "5.7.8", "AUTH LOGIN wrong password")
    expect(r.cmd("MAIL FROM:<alice@a.test>"), 530, "5.7.0",
           "MAIL after failed AUTH")
    # The right password still works on the same session.
    expect(r.auth_plain("alice@a.test", a.passwords["alice@a.test"]), 235,
           "2.7.0", "AUTH PLAIN good")
    r.close()
    assert "event=auth_failed user=<alice@a.test>" in a.gw.log()
    assert "Wr0ngPassw0rd" not in a.gw.log(), "a password in the log"
    k.finish()


def test_submission_refuses_auth_before_starttls():
    a = S["a"]
    k = Keeper("submission")
    r = RawSmtp(a.gw.submission_port)
    text = r.ehlo("edge.test")
    assert "STARTTLS" in text and "AUTH" not in text, \
        "EHLO before TLS offers AUTH:\n" + text
    expect(r.auth_plain("alice@a.test", a.passwords["alice@a.test"]), 538,
           "5.7.11", "AUTH before STARTTLS")
    r.close()
    k.finish()


def test_submission_refuses_sender_not_owned_by_user():
    a = S["a"]
    k = Keeper("submission")
    r = RawSmtp(a.gw.submission_port)
    r.ehlo("edge.test")
    r.starttls()
    r.ehlo("edge.test")
    expect(r.auth_plain("alice@a.test", a.passwords["alice@a.test"]), 235,
           "2.7.0", "AUTH")
    expect(r.cmd("MAIL FROM:<mallory@a.test>"), 553, "5.7.1",
           "MAIL FROM another user")
    expect(r.cmd("MAIL FROM:<>"), 553, "5.7.1", "MAIL FROM:<>")
    expect(r.cmd("MAIL FROM:<ALICE@a.test>"), 250, "2.1.0",
           "MAIL FROM the user (case differs)")
    r.close()
    k.finish()


def test_over_long_command_line_gets_500():
    k = Keeper("mx")
    r = RawSmtp(S["b"].gw.smtp_port)
    r.ehlo("long.test")
    expect(r.cmd("NOOP " + "x" * 600), 500, "5.5.2", "600-byte command")
    expect(r.cmd("NOOP " + "x" * 100000), 500, "5.5.2", "100 kB command")
    expect(r.cmd("NOOP"), 250, "2.0.0", "NOOP after the long lines")
    # A message line over 1000 bytes.
    expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    expect(r.cmd("RCPT TO:<dave@b.test>"), 250, "2.1.5", "RCPT")
    expect(r.data(b"Subject: t\r\n\r\n" + b"y" * 1200 + b"\r\n"), 500,
           "5.5.2", "message line of 1200 bytes")
    r.close()
    k.finish()


def test_oversized_message_gets_552():
    k = Keeper("mx")
    r = RawSmtp(S["b"].gw.smtp_port)
    text = r.ehlo("big.test")
    assert "SIZE %d" % B_MAX_SIZE in text, "EHLO: no SIZE %d in\n%s" % (B_MAX_SIZE, text)
    expect(r.cmd("MAIL FROM:<x@a.test> SIZE=%d" % (B_MAX_SIZE + 1)), 552,
           "5.3.4", "MAIL with SIZE over the limit")
    # Without SIZE: refused at the end of data.
    expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    expect(r.cmd("RCPT TO:<dave@b.test>"), 250, "2.1.5", "RCPT")
    big = message("x@a.test", "dave@b.test", body=("z" * 78 + "\r\n") * 4000)
    assert len(big) > B_MAX_SIZE
    expect(r.data(big), 552, "5.3.4", "%d-byte message" % len(big))
    expect(r.cmd("NOOP"), 250, "2.0.0", "NOOP after 552")
    r.close()
    k.finish()
    assert "size=%d" % len(big) not in S["b"].gw.log(), "the big message was queued"


def test_too_many_recipients_get_452():
    k = Keeper("mx")
    r = RawSmtp(S["b"].gw.smtp_port)
    r.ehlo("many.test")
    expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    # Pipelined: 100 accepted, the 101st and 102nd refused with 452.
    r.send("".join("RCPT TO:<dave@b.test>\r\n" for _ in range(102)))
    got = [r.reply() for _ in range(102)]
    codes = [c for c, _ in got]
    assert codes == [250] * 100 + [452, 452], "RCPT codes: got %r" % codes
    assert got[100][1].startswith("4.5.3"), "got %r, want 4.5.3" % (got[100],)
    expect(r.data(message("x@a.test", "dave@b.test")), 250, "2.0.0",
           "DATA with 100 recipients")
    r.close()
    k.finish()


def test_stalled_client_times_out_with_421():
    b = S["b"]
    r = RawSmtp(b.gw.smtp_port)
    r.ehlo("slow.test")
    start = time.time()
    # While the stalled session waits, another one works (B's timeout is
    # 2 s, so the keeper starts now and finishes well before).
    k = Keeper("mx")
    k.finish()
    r.sock.settimeout(10)
    code, text = r.reply()
    took = time.time() - start
    assert code == 421 and text.startswith("4.4.2"), \
        "stalled session: got %d %s, want 421 4.4.2" % (code, text)
    assert 1.5 <= took <= 6, "timeout after %.1fs, want about 2s" % took
    assert r.closed(), "the session stayed open after 421"
    # Stalled inside DATA too (the data timeout is the default 10m, so only
    # check that the command timeout does not cut a fresh session short).
    r2 = RawSmtp(b.gw.smtp_port)
    r2.ehlo("slow.test")
    time.sleep(1)
    expect(r2.cmd("NOOP"), 250, "2.0.0", "NOOP after 1 s")
    r2.close()


def test_pipelined_garbage_gets_500s_then_421():
    k = Keeper("mx")
    r = RawSmtp(S["b"].gw.smtp_port)
    # max_errors = 5: five 500s, then 421 and close.
    r.send("EHLO junk.test\r\n" + "".join("GARBAGE%d nonsense\r\n" % i
                                          for i in range(12)))
    code, _ = r.reply()
    assert code == 250, "EHLO: got %d" % code
    got = []
    while True:
        try:
            got.append(r.reply())
        except EOFError:
            break
    codes = [c for c, _ in got]
    assert codes == [500] * 5 + [421], "pipelined garbage: got %r" % got
    assert all(t.startswith("5.5.2") for _, t in got[:5]), got
    assert got[5][1].startswith("4.7.0"), got
    r.close()
    k.finish()


def test_stall_inside_data_times_out_and_queues_nothing():
    b = S["b"]
    Keeper("mx").finish()
    queued = b.gw.log().count("event=queued")
    r = RawSmtp(b.gw.smtp_port)
    r.ehlo("slow.test")
    expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    expect(r.cmd("RCPT TO:<dave@b.test>"), 250, "2.1.5", "RCPT")
    expect(r.cmd("DATA"), 354, None, "DATA")
    r.send("Subject: partial\r\n\r\nhalf a line")
    start = time.time()
    r.sock.settimeout(15)
    code, text = r.reply()
    took = time.time() - start
    assert code == 421 and text.startswith("4.4.2"), \
        "stalled in DATA: got %d %s, want 421 4.4.2" % (code, text)
    assert 2.5 <= took <= 8, "data timeout after %.1fs, want about 3s" % took
    assert r.closed(), "the session stayed open after 421"
    time.sleep(0.5)
    assert b.gw.log().count("event=queued") == queued, "the partial message was queued"


def test_starttls_discards_pipelined_plaintext():
    """Commands sent in plaintext after STARTTLS (CVE-2011-0411) are never
    executed inside TLS."""
    for port, auth in ((S["b"].gw.smtp_port, False),
                       (S["a"].gw.submission_port, True)):
        k = Keeper("mx" if not auth else "submission")
        r = RawSmtp(port)
        r.ehlo("inject.test")
        r.send("STARTTLS\r\nMAIL FROM:<x@a.test>\r\nRCPT TO:<bob@b.test>\r\n")
        code, text = r.reply()
        assert code == 220, "STARTTLS: got %d %s" % (code, text)
        r.buf = b""  # the injected commands must not be answered in plaintext
        ctx_wrap(r)
        text = r.ehlo("inject.test")
        assert "PIPELINING" in text, "first reply under TLS is not EHLO's: %r" % text
        expect(r.cmd("NOOP"), 250, "2.0.0", "NOOP under TLS")
        if auth:
            expect(r.cmd("MAIL FROM:<alice@a.test>"), 530, "5.7.0",
                   "MAIL under TLS without AUTH")
        else:
            expect(r.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0",
                   "MAIL under TLS (no transaction left over)")
        r.close()
        k.finish()


def test_garbage_instead_of_a_tls_handshake_closes_only_that_session():
    for port, kind in ((S["b"].gw.smtp_port, "mx"),
                       (S["a"].gw.submission_port, "submission")):
        k = Keeper(kind)
        r = RawSmtp(port)
        r.ehlo("garbage.test")
        expect(r.cmd("STARTTLS"), 220, "2.0.0", "STARTTLS")
        r.send(b"\x16\x03\x01\x00\x10" + b"not a client hello" * 20 + b"\r\n")
        assert r.closed(timeout=10), "the session stayed open after a bad handshake"
        r.close()
        k.finish()


def test_abandoned_sessions_leave_the_daemon_working():
    """Connections dropped while the daemon still works for them: AUTH
    being checked, a message being committed, a message half sent."""
    a, b = S["a"], S["b"]
    import base64 as b64
    good = b64.b64encode(b"\0alice@a.test\0" +
                         a.passwords["alice@a.test"].encode()).decode()
    for _ in range(10):
        r = RawSmtp(a.gw.submission_port)
        r.ehlo("drop.test")
        r.starttls()
        r.ehlo("drop.test")
        r.send("AUTH PLAIN %s\r\n" % good)
        r.close()
    msg = message("x@a.test", "dave@b.test")
    for i in range(10):
        r = RawSmtp(b.gw.smtp_port)
        r.send("EHLO drop.test\r\nMAIL FROM:<x@a.test>\r\n"
               "RCPT TO:<dave@b.test>\r\nDATA\r\n")
        for _ in range(4):
            r.reply()
        r.send(msg + (b".\r\n" if i % 2 == 0 else b"half"))
        r.close()
    time.sleep(1)
    Keeper("submission").finish()
    Keeper("mx").finish()
    assert a.gw.running() and b.gw.running()


def test_sigterm_answers_open_sessions_421_and_exits_0():
    """C stops with sessions open (idle, inside DATA, before STARTTLS on
    the submission port): each gets 421, and the daemon exits 0 (also
    under ASan: no leak, no use after free)."""
    c = S["c"]
    idle = []
    for _ in range(3):
        r = RawSmtp(c.gw.smtp_port)
        r.ehlo("idle.test")
        idle.append(r)
    r = RawSmtp(c.gw.submission_port)
    r.ehlo("idle.test")
    idle.append(r)
    d = RawSmtp(c.gw.smtp_port)
    d.ehlo("data.test")
    expect(d.cmd("MAIL FROM:<x@a.test>"), 250, "2.1.0", "MAIL")
    expect(d.cmd("RCPT TO:<cx@c.test>"), 250, "2.1.5", "RCPT")
    expect(d.cmd("DATA"), 354, None, "DATA")
    d.send("Subject: half\r\n\r\nhalf")
    problem = stop_clean(c)
    assert problem is None, problem
    for r in idle + [d]:
        r.sock.settimeout(5)
        code, text = r.reply()
        assert code == 421, "at shutdown: got %d %s, want 421" % (code, text)
        assert r.closed()
        r.close()


def ctx_wrap(r):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    r.sock = ctx.wrap_socket(r.sock)


def test_good_messages_arrived_meanwhile():
    """The keepers' Direct messages (A's submission port) reached bob."""
    b = S["b"]
    want = set(S["sent"])
    assert want, "no keeper on the submission port ran"

    def have():
        got = [message_id_of(m) for m in maildir_messages(b, "bob@b.test")]
        return got if want <= set(got) else None

    got = harness.wait_for(have, timeout=60, interval=0.2,
                           what="%d message(s) in bob's Maildir" % len(want))
    assert sorted(got) == sorted(want), "bob: got %r, want %r" % (got, want)
    # The plain messages on port 25 were refused by B's agent, not stored.
    assert maildir_messages(b, "dave@b.test") == []


def _b64(s):
    import base64
    return base64.b64encode(s.encode()).decode()


def main():
    try:
        try:
            setup()
        except harness.Skip as s:
            print("SKIP: %s" % s)
            raise SystemExit(harness.SKIP)
        run([
            test_port_25_refuses_unknown_domain_and_unknown_user,
            test_untrusted_sender_is_not_delivered_and_not_answered,
            test_submission_refuses_relay_without_auth,
            test_submission_refuses_bad_credentials,
            test_submission_refuses_auth_before_starttls,
            test_submission_refuses_sender_not_owned_by_user,
            test_over_long_command_line_gets_500,
            test_oversized_message_gets_552,
            test_too_many_recipients_get_452,
            test_stalled_client_times_out_with_421,
            test_pipelined_garbage_gets_500s_then_421,
            test_stall_inside_data_times_out_and_queues_nothing,
            test_starttls_discards_pipelined_plaintext,
            test_garbage_instead_of_a_tls_handshake_closes_only_that_session,
            test_abandoned_sessions_leave_the_daemon_working,
            test_good_messages_arrived_meanwhile,
            test_sigterm_answers_open_sessions_421_and_exits_0,
        ])
    finally:
        problems = [stop_clean(S[h]) for h in ("a", "b", "c")
                    if h in S and S[h].gw.running()]
        problems = [p for p in problems if p]
        teardown()
        if problems:
            print("FAIL shutdown:\n" + "\n".join(problems))
            os._exit(1)


if __name__ == "__main__":
    main()
