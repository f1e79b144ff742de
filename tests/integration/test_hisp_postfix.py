"""Postfix in the path both ways.

(a) A relays through a private Postfix: A's transport map sends b.test to
    Postfix, Postfix's transport map sends b.test to B's port 25. The
    message arrives in bob's Maildir byte-identical to what alice
    submitted, and B's MDN comes back to A (directly, by MX).
(b) A message sealed with `openssl cms` (signed with A's domain key and
    certificate, encrypted to B's domain certificate) is injected into
    Postfix with smtplib and relayed into B's port 25: B opens it and
    delivers it to bob."""
import os
import smtplib
import subprocess

import harness
from harness import Env, run
from hisputil import (domain_cert_and_key, maildir_messages, message,
                      stop_clean, submit, two_hisps)
from postfixutil import Postfix


def test_a_relays_through_postfix_and_mdn_comes_back():
    with Env("hisp-postfix-a") as env:
        pf_port = harness.free_port()
        a, b, knot = two_hisps(env, a_config="transport = b.test=127.0.0.1:%d\n"
                               % pf_port)
        pf = Postfix(env, port=pf_port, transport={
            "b.test": "smtp:[127.0.0.1]:%d" % b.gw.smtp_port})
        a.gw.start()
        b.gw.start()
        mid = "<pf-a-%d@a.test>" % os.getpid()
        msg = message("alice@a.test", "bob@b.test", mid=mid)
        submit(a, "alice@a.test", ["bob@b.test"], msg)
        got = harness.wait_for(lambda: maildir_messages(b, "bob@b.test"),
                               timeout=60, interval=0.2,
                               what="bob's message (Postfix log:\n%s)" % pf.log_tail())
        assert got == [msg], "got:\n%r\nwant:\n%r" % (got, [msg])
        # It went through Postfix: A handed it to Postfix, Postfix to B.
        a.gw.wait_log(r"to=<bob@b\.test> relay=\S*\b%d\b\S* attempts=1 "
                      r"status=sent" % pf_port)
        pf.wait_log(r"to=<bob@b\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*"
                    r"status=sent" % b.gw.smtp_port)
        blog = b.gw.log()
        assert "event=opened to=<bob@b.test>" in blog, blog
        # B's processed MDN comes back to A and is matched to the message.
        a.gw.wait_log(r"event=report kind=mdn disposition=processed orig=\S+ "
                      r"rcpt=<bob@b\.test> verdict=", timeout=60)
        assert b"Discharge summary" not in open(pf.log_path, "rb").read()
        problems = [p for p in (stop_clean(a), stop_clean(b)) if p]
        assert not problems, "\n".join(problems)


def test_postfix_delivers_openssl_sealed_message_to_b():
    harness.require("openssl")
    with Env("hisp-postfix-b") as env:
        a, b, knot = two_hisps(env)
        pf = Postfix(env, transport={
            "b.test": "smtp:[127.0.0.1]:%d" % b.gw.smtp_port})
        a.gw.start()
        b.gw.start()
        a_pem, a_key = domain_cert_and_key(a, "a.test")
        b_pem, _ = domain_cert_and_key(b, "b.test")
        d = env.path("cms")
        os.makedirs(d)
        mid = "<pf-b-%d@a.test>" % os.getpid()
        src = message("alice@a.test", "bob@b.test", mid=mid,
                      body="Sealed by openssl cms.\r\n")
        p = lambda n: os.path.join(d, n)
        with open(p("src.eml"), "wb") as f:
            f.write(src)
        subprocess.run(["openssl", "cms", "-sign", "-md", "sha256",
                        "-signer", a_pem, "-inkey", a_key,
                        "-in", p("src.eml"), "-out", p("signed.eml")],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "cms", "-encrypt", "-aes128", "-recip", b_pem,
                        "-in", p("signed.eml"), "-out", p("enc.eml"),
                        "-from", "alice@a.test", "-to", "bob@b.test",
                        "-subject", "sealed"], check=True, capture_output=True)
        with open(p("enc.eml"), "rb") as f:
            sealed = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert b"Sealed by openssl" not in sealed
        s = smtplib.SMTP("127.0.0.1", pf.port, timeout=30)
        try:
            refused = s.sendmail("alice@a.test", ["bob@b.test"], sealed)
            assert refused == {}, refused
        finally:
            s.quit()
        got = harness.wait_for(lambda: maildir_messages(b, "bob@b.test"),
                               timeout=60, interval=0.2,
                               what="bob's message (B log:\n%s\nPostfix log:\n%s)"
                               % (b.gw.log_tail(), pf.log_tail()))
        assert len(got) == 1, "bob got %d messages" % len(got)
        # Headers and body as signed. smime/agent.c appends a CRLF to an
        # unwrapped signed entity ("the entity has no final CRLF of its
        # own"), but OpenSSL's part already ends with the content's CRLF:
        # one extra empty line at the end (reported; tolerated here).
        assert got[0] in (src, src + b"\r\n"), \
            "got:\n%r\nwant:\n%r" % (got[0], src)
        pf.wait_log(r"to=<bob@b\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*"
                    r"status=sent" % b.gw.smtp_port)
        blog = b.gw.log()
        assert "event=opened to=<bob@b.test>" in blog, blog
        assert "port=mx" in blog
        problems = [p for p in (stop_clean(a), stop_clean(b)) if p]
        assert not problems, "\n".join(problems)


if __name__ == "__main__":
    run([
        test_a_relays_through_postfix_and_mdn_comes_back,
        test_postfix_delivers_openssl_sealed_message_to_b,
    ])
