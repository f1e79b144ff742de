"""Certificate matrices made with the openssl command (an independent
implementation of the certificate side), for any integration test.

    from certsutil import Pki, WebServer
    pki = Pki(env.path("pki"))
    root = pki.root("Test Root")
    inter = pki.intermediate(root, "Test Intermediate",
                             crl_url="http://127.0.0.1:%d/inter.crl" % port)
    leaf = pki.leaf(inter, "dr.smith", san="email:dr.smith@b.example")
    pki.revoke(inter, leaf); pki.crl(inter, www_dir + "/inter.crl")

Every CA is a directory used by `openssl ca` (index.txt, serial, crlnumber),
so certificates can carry any dates (expired, not yet valid), any digest
(sha1), revocations and CRLs. A Cert has .pem .der .key .chain_pem (leaf then
intermediates, as a message would carry them) and .name.

The matrix of issue 3 (Pki.matrix) is one call; WebServer serves a directory
over HTTP on loopback (python3 -m http.server) for AIA and CRL URLs.
Standard library only.
"""
import os
import socket
import subprocess
import sys
import time

OPENSSL = os.environ.get("OPENSSL", "openssl")


def _run(*args, input=None):
    r = subprocess.run([OPENSSL] + list(args), input=input, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: exit %d\n%s" % (" ".join(args), r.returncode,
                                                      r.stderr.decode(errors="replace")))
    return r.stdout


def _stamp(t):
    """Unix time -> the YYYYMMDDHHMMSSZ form of `openssl ca -startdate`."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


class Cert:
    def __init__(self, base, name, issuer=None, key_type="rsa:2048"):
        self.name = name
        self.pem = base + ".pem"
        self.der = base + ".der"
        self.key = base + ".key"
        self.chain_pem = base + ".chain.pem"
        self.issuer = issuer
        self.key_type = key_type
        self.ca_dir = None  # set for CAs

    def chain(self):
        """This certificate then its issuers up to (excluding) the root."""
        out, c = [self], self.issuer
        while c is not None and c.issuer is not None:
            out.append(c)
            c = c.issuer
        return out

    def read_pem(self):
        with open(self.pem) as f:
            return f.read()

    def fingerprint(self):
        out = _run("x509", "-in", self.pem, "-noout", "-fingerprint", "-sha256")
        return out.decode().split("=", 1)[1].strip().replace(":", "").lower()


def _genkey(path, key_type):
    kind, _, param = key_type.partition(":")
    if kind == "rsa":
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%s" % param,
             "-out", path)
    elif kind == "ec":
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:%s" % param,
             "-out", path)
    else:
        raise ValueError("key type %r" % key_type)
    os.chmod(path, 0o600)


CA_CNF = """[ ca ]
default_ca = CA_default
[ CA_default ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = no
[ policy_any ]
commonName = supplied
emailAddress = optional
organizationName = optional
"""


class Pki:
    """A set of CAs and certificates under one directory."""

    def __init__(self, directory, now=None):
        self.dir = directory
        self.now = int(now if now is not None else time.time())
        os.makedirs(directory, exist_ok=True)
        self._serial = 0x1000

    def _path(self, name):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return os.path.join(self.dir, safe)

    def _make_ca_dir(self, cert):
        d = cert.pem[:-4] + ".ca"
        os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            self._serial += 0x100
            f.write("%X\n" % self._serial)
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("01\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(CA_CNF.format(dir=d))
        cert.ca_dir = d

    def _finish(self, cert):
        _run("x509", "-in", cert.pem, "-outform", "DER", "-out", cert.der)
        with open(cert.chain_pem, "w") as out:
            for c in cert.chain():
                out.write(c.read_pem())

    def root(self, name, key_type="rsa:2048", days=3650, md="sha256"):
        """A self-signed CA (an anchor)."""
        c = Cert(self._path(name), name, None, key_type)
        _genkey(c.key, key_type)
        _run("req", "-x509", "-new", "-key", c.key, "-out", c.pem, "-subj", "/CN=%s" % name,
             "-days", str(days), "-" + md,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash")
        self._make_ca_dir(c)
        self._finish(c)
        return c

    def _issue(self, issuer, c, subj, ext_lines, not_before=None, not_after=None, md="sha256"):
        csr = c.pem[:-4] + ".csr"
        ext = c.pem[:-4] + ".ext"
        _run("req", "-new", "-key", c.key, "-out", csr, "-subj", subj)
        with open(ext, "w") as f:
            f.write("\n".join(ext_lines) + "\n")
        nb = not_before if not_before is not None else self.now - 86400
        na = not_after if not_after is not None else self.now + 365 * 86400
        _run("ca", "-batch", "-config", os.path.join(issuer.ca_dir, "ca.cnf"),
             "-cert", issuer.pem, "-keyfile", issuer.key, "-in", csr, "-out", c.pem,
             "-extfile", ext, "-startdate", _stamp(nb), "-enddate", _stamp(na),
             "-md", md, "-notext")
        self._finish(c)

    def intermediate(self, issuer, name, key_type="rsa:2048", crl_url=None, aia_url=None,
                     pathlen=None):
        c = Cert(self._path(name), name, issuer, key_type)
        _genkey(c.key, key_type)
        bc = "critical,CA:TRUE" + (",pathlen:%d" % pathlen if pathlen is not None else "")
        lines = ["basicConstraints=" + bc, "keyUsage=critical,keyCertSign,cRLSign",
                 "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
        if crl_url:
            lines.append("crlDistributionPoints=URI:%s" % crl_url)
        if aia_url:
            lines.append("authorityInfoAccess=caIssuers;URI:%s" % aia_url)
        self._issue(issuer, c, "/CN=%s" % name, lines,
                    not_after=self.now + 5 * 365 * 86400)
        self._make_ca_dir(c)
        return c

    def leaf(self, issuer, name, san=None, subject_email=None, key_type="rsa:2048",
             md="sha256", not_before=None, not_after=None, key_usage=None,
             crl_url=None, aia_url=None, eku="emailProtection"):
        """An end-entity certificate. san: "email:a@b.example" or
        "DNS:b.example" (comma-separated for several)."""
        c = Cert(self._path(name), name, issuer, key_type)
        _genkey(c.key, key_type)
        if key_usage is None:
            key_usage = ("critical,digitalSignature,keyAgreement" if key_type.startswith("ec")
                         else "critical,digitalSignature,keyEncipherment")
        lines = ["basicConstraints=CA:FALSE", "keyUsage=" + key_usage,
                 "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
        if eku:
            lines.append("extendedKeyUsage=" + eku)
        if san:
            lines.append("subjectAltName=" + san)
        if crl_url:
            lines.append("crlDistributionPoints=URI:%s" % crl_url)
        if aia_url:
            lines.append("authorityInfoAccess=caIssuers;URI:%s" % aia_url)
        subj = "/CN=%s" % name
        if subject_email:
            subj += "/emailAddress=%s" % subject_email
        self._issue(issuer, c, subj, lines, not_before, not_after, md)
        return c

    def revoke(self, issuer, cert):
        _run("ca", "-config", os.path.join(issuer.ca_dir, "ca.cnf"), "-cert", issuer.pem,
             "-keyfile", issuer.key, "-revoke", cert.pem)

    def crl(self, issuer, out_path, der=True, days=7):
        """Writes issuer's CRL (DER by default) to out_path."""
        pem = os.path.join(issuer.ca_dir, "crl.pem")
        _run("ca", "-gencrl", "-config", os.path.join(issuer.ca_dir, "ca.cnf"),
             "-cert", issuer.pem, "-keyfile", issuer.key, "-crldays", str(days), "-out", pem)
        if der:
            _run("crl", "-in", pem, "-outform", "DER", "-out", out_path)
        else:
            with open(pem) as f, open(out_path, "w") as o:
                o.write(f.read())
        return out_path

    def p7b(self, certs, out_path, der=True):
        """A certs-only PKCS#7 bundle (.p7b/.p7c) of the given certificates."""
        args = ["crl2pkcs7", "-nocrl", "-out", out_path, "-outform", "DER" if der else "PEM"]
        for c in certs:
            args += ["-certfile", c.pem]
        _run(*args)
        return out_path

    def pkcs12(self, cert, out_path, password, legacy=False, chain=True):
        """A PKCS#12 of cert's key, cert and (chain) intermediates; legacy
        uses RC2/3DES as OpenSSL 1.x did (needs the legacy provider)."""
        args = ["pkcs12", "-export", "-inkey", cert.key, "-in", cert.pem, "-out", out_path,
                "-passout", "pass:%s" % password]
        if chain and cert.issuer is not None:
            args += ["-certfile", cert.issuer.pem]
        if legacy:
            args.append("-legacy")
        _run(*args)
        return out_path

    def matrix(self, base_url, domain="c.example"):
        """The issue 3 matrix under one root. base_url serves self.www
        (inter.cer for AIA, inter.crl for revocation). Returns a dict of
        name -> Cert, plus 'root', 'inter', 'aia_inter', 'other_root'."""
        self.www = os.path.join(self.dir, "www")
        os.makedirs(self.www, exist_ok=True)
        m = {}
        root = m["root"] = self.root("Matrix Root")
        inter = m["inter"] = self.intermediate(root, "Matrix Intermediate")
        crl_inter = m["crl_inter"] = self.intermediate(root, "Matrix CRL Intermediate")
        aia_inter = m["aia_inter"] = self.intermediate(root, "Matrix AIA Intermediate")
        m["other_root"] = self.root("Other Root")
        addr = "dr.smith@%s" % domain
        m["address"] = self.leaf(inter, "address", san="email:" + addr)
        m["domain"] = self.leaf(inter, "domain", san="DNS:" + domain)
        m["expired"] = self.leaf(inter, "expired", san="email:" + addr,
                                 not_before=self.now - 400 * 86400,
                                 not_after=self.now - 10 * 86400)
        m["not_yet_valid"] = self.leaf(inter, "not_yet_valid", san="email:" + addr,
                                       not_before=self.now + 10 * 86400,
                                       not_after=self.now + 400 * 86400)
        m["wrong_san"] = self.leaf(inter, "wrong_san", san="email:someone.else@" + domain)
        m["subject_email_only"] = self.leaf(inter, "subject_email_only", subject_email=addr)
        m["rsa1024"] = self.leaf(inter, "rsa1024", san="email:" + addr, key_type="rsa:1024")
        m["sha1"] = self.leaf(inter, "sha1", san="email:" + addr, md="sha1")
        m["ec256"] = self.leaf(inter, "ec256", san="email:" + addr, key_type="ec:P-256")
        m["ec384"] = self.leaf(inter, "ec384", san="email:" + addr, key_type="ec:P-384")
        m["aia"] = self.leaf(aia_inter, "aia", san="email:" + addr,
                             aia_url=base_url + "/aia_inter.cer")
        m["crl_good"] = self.leaf(crl_inter, "crl_good", san="email:" + addr,
                                  crl_url=base_url + "/inter.crl")
        m["revoked"] = self.leaf(crl_inter, "revoked", san="email:" + addr,
                                 crl_url=base_url + "/inter.crl")
        m["other"] = self.leaf(self.intermediate(m["other_root"], "Other Intermediate"),
                               "other", san="email:" + addr)
        self.revoke(crl_inter, m["revoked"])
        self.crl(crl_inter, os.path.join(self.www, "inter.crl"))
        with open(aia_inter.der, "rb") as f, \
                open(os.path.join(self.www, "aia_inter.cer"), "wb") as o:
            o.write(f.read())
        return m


class WebServer:
    """python3 -m http.server over a directory, on 127.0.0.1:port."""

    def __init__(self, directory, port=None):
        self.dir = directory
        if port is None:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.proc = None

    def start(self, procs=None):
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "http.server", str(self.port),
                                      "--bind", "127.0.0.1", "--directory", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if procs is not None:
            procs.add(self.proc, "http.server")
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("http.server did not start on port %d" % self.port)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
