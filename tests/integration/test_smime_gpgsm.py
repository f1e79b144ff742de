"""Interop with gpgsm (GnuPG's S/MIME, built on libksba and libgcrypt,
independent of OpenSSL), both ways: a message sealed by `directgate
message seal` decrypts with `gpgsm --decrypt` and its detached signature
verifies with `gpgsm --verify`; a message signed by `gpgsm --detach-sign`
and encrypted by `gpgsm --encrypt` (BER with indefinite lengths) opens with
`directgate message open`."""
import base64
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from smimeutil import (MSG, Pki, expect_open, mime_body, openssl,  # noqa: E402
                       pkcs7_mime, seal)

PASS = "test-pass"


class Gpgsm:
    def __init__(self, home):
        self.home = home
        os.makedirs(home, mode=0o700, exist_ok=True)
        os.chmod(home, 0o700)
        with open(os.path.join(home, "gpgsm.conf"), "w") as f:
            f.write("disable-crl-checks\ndisable-policy-checks\n"
                    "disable-dirmngr\n")
        with open(os.path.join(home, "gpg-agent.conf"), "w") as f:
            f.write("allow-loopback-pinentry\n")
        self.env = dict(os.environ, GNUPGHOME=home)

    def run(self, *args, input=None, check=True):
        cmd = ["gpgsm", "--batch", "--pinentry-mode", "loopback",
               "--passphrase-fd", "0"] + list(args)
        p = subprocess.run(cmd, input=(input if input is not None else
                                       (PASS + "\n").encode()),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (
                " ".join(cmd), p.returncode,
                p.stderr.decode(errors="replace")))
        return p

    def trust_ca(self, pem):
        fp = openssl("x509", "-in", pem, "-noout", "-fingerprint",
                     "-sha1").stdout.decode().strip().split("=", 1)[1]
        with open(os.path.join(self.home, "trustlist.txt"), "a") as f:
            f.write("%s S\n" % fp)
        self.run("--import", pem)

    def import_p12(self, p12):
        self.run("--import", p12, input=(PASS + "\n" + PASS + "\n" + PASS +
                                         "\n").encode())

    def stop(self):
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


ENV = None
PKI = None
G = None


def setup():
    global ENV, PKI, G
    if G is None:
        harness.require("gpgsm", "gpgconf", "openssl")
        if not os.path.exists(harness.DIRECTGATE):
            harness.skip("no directgate binary at %s" % harness.DIRECTGATE)
        ENV = harness.Env("smime-gpgsm")
        PKI = Pki(ENV.path("pki"))
        PKI.ca("ca_a", "CA a.test")
        PKI.ca("ca_b", "CA b.test")
        PKI.leaf("alice", "ca_a", "email:alice@a.test")
        PKI.leaf("bob", "ca_b", "email:bob@b.test")
        G = Gpgsm(ENV.path("gnupg"))
        G.trust_ca(PKI.cert("ca_a"))
        G.trust_ca(PKI.cert("ca_b"))
        G.import_p12(PKI.p12("alice", PASS))
        G.import_p12(PKI.p12("bob", PASS))
    return PKI, G


def split_signed(entity):
    """The exact signed part and the signature DER of a multipart/signed
    entity (RFC 1847), split by hand."""
    head, _ = entity.split(b"\r\n\r\n", 1)
    m = re.search(rb'boundary="?([^";\r\n]+)"?', head, re.I)
    assert m, head
    delim = b"--" + m.group(1)
    # [header and preamble, CRLF part 1, CRLF part 2, "--" epilogue]
    parts = entity.split(b"\r\n" + delim)
    assert len(parts) == 4 and parts[3].startswith(b"--"), len(parts)
    first = parts[1].split(b"\r\n", 1)[1]
    sigpart = parts[2].split(b"\r\n", 1)[1]
    sig_head, sig_body = sigpart.split(b"\r\n\r\n", 1)
    assert b"pkcs7-signature" in sig_head, sig_head
    return first, base64.b64decode(b"".join(sig_body.split()))


def test_our_sealed_message_decrypts_and_verifies_with_gpgsm():
    for n, extra in (("o1", []), ("o2", ["--cipher", "aes256-cbc"]),
                     ("o3", ["--key-transport", "oaep"])):
        pki, g = setup()
        d = ENV.path(n)
        os.makedirs(d, exist_ok=True)
        sealed = seal(pki, d, MSG, extra=extra)
        env = os.path.join(d, "env.der")
        with open(env, "wb") as f:
            f.write(mime_body(sealed))
        dec = os.path.join(d, "dec.eml")
        p = g.run("--decrypt", "--output", dec, env, check=False)
        if n == "o3" and p.returncode != 0:
            # gpgsm 2.2 cannot decrypt RSA-OAEP (added in 2.4).
            print("note: gpgsm %s does not take RSA-OAEP: %s" % (
                n, p.stderr.decode(errors="replace").strip()[-120:]))
            continue
        assert p.returncode == 0, p.stderr
        with open(dec, "rb") as f:
            entity = f.read()
        data, sig = split_signed(entity)
        assert data.startswith(b"Content-Type: message/rfc822"), data[:80]
        assert data.endswith(MSG)
        with open(os.path.join(d, "data"), "wb") as f:
            f.write(data)
        with open(os.path.join(d, "sig.p7s"), "wb") as f:
            f.write(sig)
        p = g.run("--verify", os.path.join(d, "sig.p7s"),
                  os.path.join(d, "data"))
        err = p.stderr.decode(errors="replace")
        assert "Good signature" in err, err
        # A changed byte must not verify.
        with open(os.path.join(d, "data"), "wb") as f:
            f.write(data.replace(b"body line", b"b0dy line"))
        p = g.run("--verify", os.path.join(d, "sig.p7s"),
                  os.path.join(d, "data"), check=False)
        err = p.stderr.decode(errors="replace")
        assert p.returncode != 0 and ("BAD signature" in err or
                                      "invalid signature" in err), err


def gpgsm_message(name, content, cipher=None, rcpt="bob@b.test"):
    pki, g = setup()
    d = ENV.path(name)
    os.makedirs(d, exist_ok=True)
    src = os.path.join(d, "part")
    with open(src, "wb") as f:
        f.write(content)
    sig = os.path.join(d, "sig.der")
    g.run("--detach-sign", "--local-user", "alice@a.test", "--output", sig,
          src)
    with open(sig, "rb") as f:
        sig_der = f.read()
    b = "gpgsm-boundary-42"
    signed = (b"MIME-Version: 1.0\r\n"
              b'Content-Type: multipart/signed; protocol='
              b'"application/pkcs7-signature"; micalg=sha-256; boundary="'
              + b.encode() + b'"\r\n\r\n--' + b.encode() + b"\r\n" + content +
              b"\r\n--" + b.encode() + b"\r\n"
              b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n" +
              base64.encodebytes(sig_der).replace(b"\n", b"\r\n") +
              b"\r\n--" + b.encode() + b"--\r\n")
    with open(os.path.join(d, "signed.eml"), "wb") as f:
        f.write(signed)
    env = os.path.join(d, "env.der")
    args = ["--encrypt", "--recipient", rcpt, "--output", env]
    if cipher:
        args += ["--cipher-algo", cipher]
    g.run(*(args + [os.path.join(d, "signed.eml")]))
    with open(env, "rb") as f:
        return pkcs7_mime(f.read()), d


def test_gpgsm_signed_and_encrypted_message_opens_with_ours():
    wrapped = b"Content-Type: message/rfc822\r\n\r\n" + MSG
    for n, c in (("i1", None), ("i2", "AES256")):
        data, d = gpgsm_message(n, wrapped, cipher=c)
        out = os.path.join(d, "out.eml")
        v = expect_open(PKI, d, data, extra=["--out", out])
        assert v["wrapped"] is True and v["from"] == "alice@a.test", v
        with open(out, "rb") as f:
            assert f.read() == MSG


def test_gpgsm_messages_refused_with_named_reasons():
    wrapped = b"Content-Type: message/rfc822\r\n\r\n" + MSG
    data, d = gpgsm_message("n1", wrapped)
    expect_open(PKI, d, data, reason="untrusted", anchor="ca_b")
    data, d = gpgsm_message("n2", wrapped, rcpt="alice@a.test")
    expect_open(PKI, d, data, reason="not-for-us")


def main():
    try:
        harness.run([
            test_our_sealed_message_decrypts_and_verifies_with_gpgsm,
            test_gpgsm_signed_and_encrypted_message_opens_with_ours,
            test_gpgsm_messages_refused_with_named_reasons,
        ])
    finally:
        if G is not None:
            G.stop()
        if ENV is not None:
            ENV.__exit__(None, None, None)


if __name__ == "__main__":
    main()
