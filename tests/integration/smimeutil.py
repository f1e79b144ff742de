"""Helpers for the S/MIME integration tests: a throwaway PKI made with the
openssl command, the directgate message command, and small MIME helpers
(Python's email package: an implementation nobody here wrote)."""
import base64
import email
import email.policy
import json
import os
import subprocess

import harness

MSG = (b"From: Alice <alice@a.test>\r\n"
       b"To: Bob <bob@b.test>\r\n"
       b"Subject: interop\r\n"
       b"Date: Sun, 22 Nov 2026 00:00:00 +0000\r\n"
       b"Message-ID: <interop-1@a.test>\r\n"
       b"\r\n"
       b"Hello Bob,\r\nthis is the body line.\r\n")


def run(cmd, input=None, check=True, env=None):
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (
            " ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


def openssl(*args, input=None, check=True):
    return run(["openssl"] + list(args), input=input, check=check)


class Pki:
    """CAs and leaf certificates in a directory, made with `openssl`."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)

    def p(self, name):
        return os.path.join(self.d, name)

    def _newkey(self, kind):
        if kind.startswith("ec:"):
            return ["-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:" + kind[3:]]
        return ["-newkey", kind]

    def ca(self, name, cn, kind="rsa:2048"):
        openssl("req", "-x509", *self._newkey(kind), "-nodes",
                "-keyout", self.p(name + ".key"), "-out", self.p(name + ".pem"),
                "-subj", "/CN=" + cn, "-days", "30", "-sha256",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return name

    def leaf(self, name, ca, san, kind="rsa:2048", days=30, md="sha256"):
        ext = self.p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\n"
                    "subjectAltName=%s\n" % san)
        openssl("req", "-new", *self._newkey(kind), "-nodes",
                "-keyout", self.p(name + ".key"), "-out", self.p(name + ".csr"),
                "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", self.p(name + ".csr"),
                "-CA", self.p(ca + ".pem"), "-CAkey", self.p(ca + ".key"),
                "-CAcreateserial", "-days", str(days), "-" + md,
                "-extfile", ext, "-out", self.p(name + ".pem"))
        return name

    def key(self, name):
        return self.p(name + ".key")

    def cert(self, name):
        return self.p(name + ".pem")

    def p12(self, name, password):
        """A PKCS#12 that gpgsm 2.2 can read (legacy 3DES/SHA-1)."""
        out = self.p(name + ".p12")
        openssl("pkcs12", "-export", "-inkey", self.key(name),
                "-in", self.cert(name), "-out", out,
                "-passout", "pass:" + password,
                "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES",
                "-macalg", "sha1")
        return out


def directgate(*args, input=None, check=False):
    return run([harness.DIRECTGATE] + list(args), input=input, check=check)


def seal(pki, tmp, msg, sender="alice", rcpt="bob", extra=()):
    """Seals msg with directgate (explicit files, no instance)."""
    src = os.path.join(tmp, "msg.eml")
    out = os.path.join(tmp, "sealed.eml")
    with open(src, "wb") as f:
        f.write(msg)
    directgate("message", "seal", "--dir", os.path.join(tmp, "none"),
               "--from", "alice@a.test", "--to", "bob@b.test",
               "--key", pki.key(sender), "--cert", pki.cert(sender),
               "--recip-cert", pki.cert(rcpt), "--out", out, *extra, src,
               check=True)
    with open(out, "rb") as f:
        return f.read()


def open_msg(pki, tmp, data, anchor="ca_a", rcpt="bob", extra=()):
    """Opens data with directgate as bob@b.test; returns (exit, json)."""
    src = os.path.join(tmp, "in.eml")
    with open(src, "wb") as f:
        f.write(data)
    p = directgate("message", "open", "--dir", os.path.join(tmp, "none"),
                   "--to", "bob@b.test", "--key", pki.key(rcpt),
                   "--cert", pki.cert(rcpt), "--anchor", pki.cert(anchor),
                   "--crl", "off", "--json", *extra, src)
    try:
        v = json.loads(p.stdout.decode())
    except ValueError:
        raise AssertionError("message open printed no JSON (exit %d): %s %s"
                             % (p.returncode, p.stdout, p.stderr))
    return p.returncode, v


def expect_open(pki, tmp, data, reason="ok", **kw):
    rc, v = open_msg(pki, tmp, data, **kw)
    if v["reason"] != reason:
        raise AssertionError("got %s (%s), want %s" % (
            v["reason"], v["detail"], reason))
    if (rc == 0) != (reason == "ok"):
        raise AssertionError("exit %d with reason %s" % (rc, reason))
    return v


def mime_body(data):
    """The decoded body of a single-part MIME message (bytes)."""
    m = email.message_from_bytes(data, policy=email.policy.compat32)
    return m.get_payload(decode=True)


def b64_lines(der, width=76):
    s = base64.b64encode(der).decode()
    if width <= 0:
        return s + "\r\n"
    return "".join(s[i:i + width] + "\r\n" for i in range(0, len(s), width))


def pkcs7_mime(der, ctype="application/pkcs7-mime", width=76,
               headers=b"From: alice@a.test\r\nTo: bob@b.test\r\n"):
    return (headers + b"MIME-Version: 1.0\r\n"
            b"Content-Type: " + ctype.encode() +
            b"; smime-type=enveloped-data; name=smime.p7m\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
            b64_lines(der, width).encode())
