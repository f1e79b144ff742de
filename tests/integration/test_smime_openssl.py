"""Interop with OpenSSL's cms command (an S/MIME implementation nobody here
wrote), both ways: messages sealed by `directgate message seal` open with
`openssl cms -decrypt` then `openssl cms -verify -CAfile anchor`, and
messages made by `openssl cms -sign | openssl cms -encrypt` (AES-128/256
CBC and GCM, RSA PKCS#1 v1.5 and OAEP, SHA-256/384/512, RSA and ECDSA
signers, x-pkcs7-mime, base64 on one line) open with
`directgate message open`, each refusal with its named reason."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from smimeutil import (MSG, Pki, expect_open, mime_body, openssl,  # noqa: E402
                       pkcs7_mime, seal)

ENV = None
PKI = None


def pki():
    global ENV, PKI
    if PKI is None:
        harness.require("openssl")
        if not os.path.exists(harness.DIRECTGATE):
            harness.skip("no directgate binary at %s" % harness.DIRECTGATE)
        ENV = harness.Env("smime-openssl")
        PKI = Pki(ENV.path("pki"))
        PKI.ca("ca_a", "CA a.test")
        PKI.ca("ca_b", "CA b.test")
        PKI.leaf("alice", "ca_a", "email:alice@a.test")
        PKI.leaf("alice_p256", "ca_a", "email:alice@a.test", kind="ec:P-256")
        PKI.leaf("alice_p384", "ca_a", "email:alice@a.test", kind="ec:P-384")
        PKI.leaf("alice_3072", "ca_a", "email:alice@a.test", kind="rsa:3072")
        PKI.leaf("orgcert", "ca_a", "DNS:a.test")
        PKI.leaf("mallory", "ca_a", "email:mallory@a.test")
        PKI.leaf("bob", "ca_b", "email:bob@b.test")
    return PKI


def tmpdir(name):
    d = ENV.path(name)
    os.makedirs(d, exist_ok=True)
    return d


# ---- ours -> OpenSSL ----

def our_message_opens_with_openssl(extra, name):
    p = pki()
    d = tmpdir(name)
    sealed = seal(p, d, MSG, extra=extra)
    sp = os.path.join(d, "sealed.eml")
    dec = os.path.join(d, "dec.eml")
    inner = os.path.join(d, "inner.eml")
    openssl("cms", "-decrypt", "-in", sp, "-recip", p.cert("bob"),
            "-inkey", p.key("bob"), "-out", dec)
    with open(dec, "rb") as f:
        signed = f.read()
    assert b"multipart/signed" in signed, signed[:200]
    assert b"micalg=\"sha-256\"" in signed or b"micalg=sha-256" in signed
    openssl("cms", "-verify", "-in", dec, "-CAfile", p.cert("ca_a"),
            "-out", inner)
    with open(inner, "rb") as f:
        body = f.read()
    assert b"message/rfc822" in body, body[:200]
    assert b"this is the body line." in body
    assert b"Message-ID: <interop-1@a.test>" in body
    # The outer header keeps routing fields only.
    outer = sealed.split(b"\r\n\r\n", 1)[0]
    assert b"From: " in outer and b"Message-ID: " in outer
    return sealed


def test_our_sealed_message_opens_with_openssl_cms_aes128_pkcs1():
    our_message_opens_with_openssl([], "o1")


def test_our_sealed_message_opens_with_openssl_cms_aes256_cbc():
    our_message_opens_with_openssl(["--cipher", "aes256-cbc"], "o2")


def test_our_sealed_message_opens_with_openssl_cms_aes128_gcm():
    our_message_opens_with_openssl(["--cipher", "aes128-gcm"], "o3")


def test_our_sealed_message_opens_with_openssl_cms_oaep_sha256():
    our_message_opens_with_openssl(["--key-transport", "oaep"], "o4")


def test_our_sealed_message_opens_with_openssl_cms_ecdsa_signer():
    p = pki()
    d = tmpdir("o5")
    seal(p, d, MSG, sender="alice_p256")
    dec = os.path.join(d, "dec.eml")
    openssl("cms", "-decrypt", "-in", os.path.join(d, "sealed.eml"),
            "-recip", p.cert("bob"), "-inkey", p.key("bob"), "-out", dec)
    openssl("cms", "-verify", "-in", dec, "-CAfile", p.cert("ca_a"),
            "-out", os.path.join(d, "inner.eml"))


# ---- OpenSSL -> ours ----

def openssl_message(name, signer="alice", md="sha256", enc=("-aes128",),
                    content=MSG, tamper=False, rcpt="bob"):
    p = pki()
    d = tmpdir(name)
    src = os.path.join(d, "src.eml")
    signed = os.path.join(d, "signed.eml")
    enc_out = os.path.join(d, "enc.eml")
    with open(src, "wb") as f:
        f.write(content)
    openssl("cms", "-sign", "-md", md, "-signer", p.cert(signer),
            "-inkey", p.key(signer), "-in", src, "-out", signed)
    if tamper:
        with open(signed, "rb") as f:
            s = f.read()
        assert b"this is the body line." in s
        with open(signed, "wb") as f:
            f.write(s.replace(b"this is the body line.",
                              b"this is the b0dy line."))
    # -keyopt applies to the -recip before it.
    openssl("cms", "-encrypt", enc[0], "-recip", p.cert(rcpt), *enc[1:],
            "-in", signed, "-out", enc_out, "-from", "alice@a.test",
            "-to", "bob@b.test", "-subject", "interop")
    with open(enc_out, "rb") as f:
        return f.read(), d


def test_openssl_sha256_aes128_opens_with_ours():
    data, d = openssl_message("i1")
    v = expect_open(pki(), d, data)
    assert v["from"] == "alice@a.test" and v["binding"] == "address", v
    assert v["digest"] == "sha256", v


def test_openssl_sha384_aes256_opens_with_ours():
    data, d = openssl_message("i2", md="sha384", enc=("-aes256",))
    assert expect_open(pki(), d, data)["digest"] == "sha384"


def test_openssl_sha512_oaep_sha1_opens_with_ours():
    data, d = openssl_message("i3", md="sha512", enc=(
        "-aes128", "-keyopt", "rsa_padding_mode:oaep"))
    assert expect_open(pki(), d, data)["digest"] == "sha512"


def test_openssl_oaep_sha256_opens_with_ours():
    data, d = openssl_message("i4", enc=(
        "-aes256", "-keyopt", "rsa_padding_mode:oaep",
        "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"))
    expect_open(pki(), d, data)


def test_openssl_aes_gcm_opens_with_ours():
    for n, c in (("i5", "-aes-128-gcm"), ("i6", "-aes-256-gcm")):
        data, d = openssl_message(n, enc=(c,))
        expect_open(pki(), d, data)


def test_openssl_ecdsa_and_rsa3072_signers_open_with_ours():
    for n, s in (("i7", "alice_p256"), ("i8", "alice_p384"),
                 ("i9", "alice_3072")):
        data, d = openssl_message(n, signer=s)
        expect_open(pki(), d, data)


def test_openssl_domain_certificate_signer_opens_with_ours():
    data, d = openssl_message("i10", signer="orgcert")
    assert expect_open(pki(), d, data)["binding"] == "domain"


def test_openssl_wrapped_message_opens_unwrapped_by_ours():
    wrapped = b"Content-Type: message/rfc822\r\n\r\n" + MSG
    data, d = openssl_message("i11", content=wrapped)
    v = expect_open(pki(), d, data, extra=["--out", os.path.join(
        ENV.path("i11"), "out.eml")])
    assert v["wrapped"] is True, v
    with open(os.path.join(ENV.path("i11"), "out.eml"), "rb") as f:
        assert f.read() == MSG


def test_x_pkcs7_mime_and_one_line_base64_open_with_ours():
    data, d = openssl_message("i12")
    der = mime_body(data)
    one_line = pkcs7_mime(der, ctype="application/x-pkcs7-mime", width=0)
    expect_open(pki(), d, one_line)


def test_openssl_messages_refused_with_named_reasons():
    p = pki()
    data, d = openssl_message("n1")
    expect_open(p, d, data, reason="untrusted", anchor="ca_b")
    expect_open(p, d, data, reason="envelope-tampered",
                extra=["--mail-from", "mallory@a.test"])
    expect_open(p, d, data, reason="envelope-tampered",
                extra=["--mail-from", "alice@a.test",
                       "--rcpt-to", "carol@b.test"])
    expect_open(p, d, data, extra=["--mail-from", "alice@a.test",
                                   "--rcpt-to", "bob@b.test"])
    data, d = openssl_message("n2", tamper=True)
    expect_open(p, d, data, reason="bad-signature")
    data, d = openssl_message("n3", md="sha1")
    expect_open(p, d, data, reason="weak-algorithm")
    expect_open(p, d, data, extra=["--accept-sha1"])
    data, d = openssl_message("n4", rcpt="alice")
    expect_open(p, d, data, reason="not-for-us")
    data, d = openssl_message("n5", signer="mallory")
    expect_open(p, d, data, reason="binding-mismatch")
    expect_open(p, d, MSG, reason="not-encrypted")


def test_instance_key_store_seals_and_opens():
    """Without --key/--anchor the command uses the instance: key store,
    trust store and [smime] settings (a demo instance: two domains with
    domain-bound certificates from one demo CA)."""
    import json
    from smimeutil import directgate
    pki()
    d = ENV.path("inst")
    p = directgate("--dir", d, "init", "--demo")
    if p.returncode != 0:
        harness.skip("directgate init --demo failed: %s" %
                     p.stderr.decode(errors="replace").strip())
    msg = (b"From: dr.a@a.example\r\nTo: dr.b@b.example\r\n"
           b"Message-ID: <inst-1@a.example>\r\n\r\nhello\r\n")
    src, sealed, out = (os.path.join(d, n) for n in ("m.eml", "s.eml",
                                                    "o.eml"))
    with open(src, "wb") as f:
        f.write(msg)
    p = directgate("--dir", d, "message", "seal", "--from", "dr.a@a.example",
                   "--to", "dr.b@b.example", src, "--out", sealed, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.decode())["status"] == "sealed"
    p = directgate("--dir", d, "message", "open", "--to", "dr.b@b.example",
                   sealed, "--out", out, "--json", "--mail-from",
                   "dr.a@a.example", "--rcpt-to", "dr.b@b.example")
    v = json.loads(p.stdout.decode())
    assert p.returncode == 0 and v["reason"] == "ok", v
    assert v["binding"] == "domain", v
    with open(out, "rb") as f:
        assert f.read() == msg
    # Not for dr.a: a.example's key is not among the recipients.
    p = directgate("--dir", d, "message", "open", "--to", "dr.a@a.example",
                   sealed, "--json")
    assert p.returncode == 1, p.returncode
    assert json.loads(p.stdout.decode())["reason"] == "not-for-us"
    # A sender without a key in the store: a one-line reason, exit 1.
    p = directgate("--dir", d, "message", "seal", "--from", "x@c.example",
                   "--to", "dr.b@b.example", src)
    assert p.returncode == 1 and b"no valid signing key" in p.stderr, p.stderr


def main():
    try:
        harness.run([
            test_our_sealed_message_opens_with_openssl_cms_aes128_pkcs1,
            test_our_sealed_message_opens_with_openssl_cms_aes256_cbc,
            test_our_sealed_message_opens_with_openssl_cms_aes128_gcm,
            test_our_sealed_message_opens_with_openssl_cms_oaep_sha256,
            test_our_sealed_message_opens_with_openssl_cms_ecdsa_signer,
            test_openssl_sha256_aes128_opens_with_ours,
            test_openssl_sha384_aes256_opens_with_ours,
            test_openssl_sha512_oaep_sha1_opens_with_ours,
            test_openssl_oaep_sha256_opens_with_ours,
            test_openssl_aes_gcm_opens_with_ours,
            test_openssl_ecdsa_and_rsa3072_signers_open_with_ours,
            test_openssl_domain_certificate_signer_opens_with_ours,
            test_openssl_wrapped_message_opens_unwrapped_by_ours,
            test_x_pkcs7_mime_and_one_line_base64_open_with_ours,
            test_openssl_messages_refused_with_named_reasons,
            test_instance_key_store_seals_and_opens,
        ])
    finally:
        if ENV is not None:
            ENV.__exit__(None, None, None)


if __name__ == "__main__":
    main()
