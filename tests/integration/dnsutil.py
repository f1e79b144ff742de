"""Real DNS, LDAP and HTTP peers on loopback for discovery tests, and a
small certificate authority built on the openssl command.

- Knot: an authoritative Knot DNS (knotd) serving zones from text.
- Slapd: an OpenLDAP slapd with one mdb database per suffix, loaded with
  slapadd, started in the foreground (-d 0) and stopped by pid.
- HttpDir: a threaded HTTP server serving a directory (IPKIX URLs, AIA
  caIssuers, CRLs).
- Silent: a UDP socket that never answers (a DNS server that times out).
- CA: `openssl req` / `openssl ca` certificates with SAN, validity window,
  CRL distribution point, AIA; revocation and CRLs.

Each helper takes the test's temp directory and a harness.Processes (for
processes) so that everything is stopped by pid in the teardown.
Standard library only.
"""
import base64
import hashlib
import http.server
import os
import socket
import struct
import subprocess
import threading
import time

import harness


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), r.returncode,
                                                   r.stdout, r.stderr))
    return r


def dns_query(port, name, qtype, tcp=False, host="127.0.0.1", timeout=1.0):
    """Sends one query (no EDNS); returns the raw answer or None."""
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    try:
        if tcp:
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(struct.pack(">H", len(q)) + q)
                n = struct.unpack(">H", _recv_all(s, 2))[0]
                return _recv_all(s, n)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(q, (host, port))
            return s.recv(65535)
    except OSError:
        return None


def _recv_all(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("short read")
        b += c
    return b


class Knot:
    """Authoritative Knot DNS on 127.0.0.1:port serving {domain: zone text}.
    Zone text is written after a generated $ORIGIN, $TTL, SOA and NS.
    Domains in broken are configured without a zone file (SERVFAIL)."""

    def __init__(self, tmp, procs, zones, port=None, ttl=300, broken=()):
        harness.require("knotd")
        self.dir = os.path.join(tmp, "knot")
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.port = port or harness.free_port()
        conf = ["server:", "    listen: 127.0.0.1@%d" % self.port,
                "    rundir: %s" % self.dir, "    user: root",
                "database:", "    storage: %s/db" % self.dir,
                "log:", "  - target: %s/knot.log" % self.dir, "    any: info",
                "zone:"]
        for domain, text in zones.items():
            path = os.path.join(self.dir, "%s.zone" % domain)
            with open(path, "w") as f:
                f.write("$ORIGIN %s.\n$TTL %d\n" % (domain, ttl))
                f.write("@ SOA ns hostmaster 1 3600 600 86400 %d\n" % min(ttl, 60))
                f.write("@ NS ns\nns A 127.0.0.1\n")
                f.write(text.strip() + "\n")
            conf += ["  - domain: %s" % domain, "    file: %s" % path,
                     "    zonefile-sync: -1", "    journal-content: none"]
        for domain in broken:  # configured, no file: answers SERVFAIL
            conf += ["  - domain: %s" % domain,
                     "    file: %s/missing-%s.zone" % (self.dir, domain),
                     "    zonefile-sync: -1", "    journal-content: none"]
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        run(["knotc", "-c", self.conf, "conf-check"])
        self.proc = procs.add(subprocess.Popen(
            ["knotd", "-c", self.conf], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "knotd.err"), "w")), "knotd")
        first = next(iter(zones))
        harness.wait_for(lambda: self.proc.poll() is not None or
                         dns_query(self.port, first, 6, timeout=0.3),
                         timeout=20, what="knotd answering")
        if self.proc.poll() is not None:
            raise AssertionError("knotd exited: %s" % self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "knot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def server(self):
        return "127.0.0.1:%d" % self.port


def cert_rr(owner, der=None, url=None, cert_type=None):
    """A zone line: CERT PKIX with DER inline, or a URL record (type 4
    IPKIX by default, 253 for the Java RI style)."""
    if der is not None:
        return "%s CERT PKIX 0 0 %s" % (owner, base64.b64encode(der).decode())
    t = cert_type or 4
    return "%s CERT %d 0 0 %s" % (owner, t, base64.b64encode(url.encode()).decode())


class Slapd:
    """OpenLDAP on 127.0.0.1:port with one mdb database per suffix.
    entries: LDIF text (all suffixes' base entries are added here)."""

    def __init__(self, tmp, procs, name, suffixes, ldif, port=None):
        harness.require("slapd", "slapadd")
        self.dir = os.path.join(tmp, "slapd-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or harness.free_port()
        conf = ["include /etc/ldap/schema/core.schema",
                "include /etc/ldap/schema/cosine.schema",
                "include /etc/ldap/schema/inetorgperson.schema",
                "modulepath /usr/lib/ldap", "moduleload back_mdb",
                "pidfile %s/slapd.pid" % self.dir,
                "argsfile %s/slapd.args" % self.dir]
        blocks = {sfx: "" for sfx in suffixes}
        for i, suffix in enumerate(suffixes):
            d = os.path.join(self.dir, "db%d" % i)
            os.makedirs(d, exist_ok=True)
            conf += ["database mdb", 'suffix "%s"' % suffix,
                     "directory %s" % d, "maxsize 10485760",
                     "access to * by * read"]
            dc = suffix.split(",")[0].split("=")[1]
            blocks[suffix] += ("dn: %s\nobjectClass: dcObject\n"
                               "objectClass: organization\ndc: %s\no: %s\n\n"
                               % (suffix, dc, dc))
        # Each entry goes to the database of the longest suffix of its DN.
        for block in ldif.strip().split("\n\n"):
            block = "\n".join(l for l in block.split("\n")
                              if not l.startswith("#"))
            if not block.strip():
                continue
            dn = block.split("\n")[0][4:].lower()
            owner = max((sfx for sfx in suffixes if dn.endswith(sfx.lower())),
                        key=len, default=None)
            if owner is None:
                raise AssertionError("no suffix holds %s" % dn)
            blocks[owner] += block.strip() + "\n\n"
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        for i, suffix in enumerate(suffixes):
            data = os.path.join(self.dir, "data%d.ldif" % i)
            with open(data, "w") as f:
                f.write(blocks[suffix])
            run(["slapadd", "-f", self.conf, "-b", suffix, "-l", data])
        self.proc = procs.add(subprocess.Popen(
            ["slapd", "-f", self.conf, "-h", "ldap://127.0.0.1:%d/" % self.port,
             "-d", "0"], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "slapd.err"), "w")), "slapd")
        harness.wait_port(self.port)


def ldif_entry(dn, mail, ders):
    """An inetOrgPerson with mail and userCertificate;binary values."""
    cn = dn.split(",")[0].split("=")[1]
    s = "dn: %s\nobjectClass: inetOrgPerson\ncn: %s\nsn: %s\nmail: %s\n" % (
        dn, cn, cn, mail)
    for der in ders:
        s += "userCertificate;binary:: %s\n" % base64.b64encode(der).decode()
    return s + "\n"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


class HttpDir:
    """HTTP on 127.0.0.1:port serving directory root (a thread)."""

    def __init__(self, root):
        os.makedirs(root, exist_ok=True)
        self.root = root
        handler = lambda *a, **kw: _QuietHandler(*a, directory=root, **kw)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def put(self, name, data):
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(data)
        return self.url(name)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Silent:
    """A UDP and TCP port that accepts but never answers: a DNS server that
    times out."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]

    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.udp.close()


class CA:
    """A certificate authority in tmp/name using `openssl ca`."""

    def __init__(self, tmp, name, parent=None, aia_url=None, crl_url=None):
        self.dir = os.path.join(tmp, "ca-" + name)
        self.name = name
        os.makedirs(os.path.join(self.dir, "new"), exist_ok=True)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("%016x\n" % (int(time.time() * 1000) & 0xffffffffffff))
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("01\n")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write("""[ ca ]
default_ca = ca_default
[ ca_default ]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
""" % self.dir)
        self.key = os.path.join(self.dir, "ca.key")
        self.pem = os.path.join(self.dir, "ca.pem")
        if parent is None:
            run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", self.key, "-out", self.pem, "-days", "3650",
                 "-subj", "/CN=%s Test CA" % name, "-config", self.cnf,
                 "-extensions", "v3_ca", "-sha256"])
        else:
            ext = "basicConstraints = critical, CA:TRUE\n" \
                  "keyUsage = critical, keyCertSign, cRLSign\n" \
                  "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
            parent._issue("/CN=%s Intermediate" % name, ext, self.key, self.pem,
                          days=3650)
        self.der = pem_to_der(self.pem)

    def _issue(self, subj, ext, key, out, days=365, start=None, end=None):
        csr = out + ".csr"
        extfile = out + ".ext"
        with open(extfile, "w") as f:
            f.write("[ leaf ]\n" + ext)
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", csr, "-subj", subj])
        argv = ["openssl", "ca", "-batch", "-config", self.cnf, "-in", csr,
                "-out", out, "-extfile", extfile, "-extensions", "leaf",
                "-notext"]
        if start:
            argv += ["-startdate", start, "-enddate", end]
        else:
            argv += ["-days", str(days)]
        run(argv)

    def issue(self, name, email=None, dns=None, expired=False, future=False,
              crl_url=None, aia_url=None, days=365):
        """A leaf with SAN email and/or DNS; returns a Cert."""
        san = []
        if email:
            san.append("email:" + email)
        if dns:
            san.append("DNS:" + dns)
        ext = ("basicConstraints = CA:FALSE\n"
               "keyUsage = critical, digitalSignature, keyEncipherment\n"
               "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")
        if san:
            ext += "subjectAltName = %s\n" % ", ".join(san)
        if crl_url:
            ext += "crlDistributionPoints = URI:%s\n" % crl_url
        if aia_url:
            ext += "authorityInfoAccess = caIssuers;URI:%s\n" % aia_url
        base = os.path.join(self.dir, name)
        start = end = None
        if expired:
            start, end = "20200101000000Z", "20210101000000Z"
        elif future:
            start, end = "20400101000000Z", "20410101000000Z"
        self._issue("/CN=%s" % name, ext, base + ".key", base + ".pem",
                    days=days, start=start, end=end)
        return Cert(base + ".pem")

    def revoke(self, cert):
        run(["openssl", "ca", "-config", self.cnf, "-revoke", cert.pem])

    def crl_der(self):
        pem = os.path.join(self.dir, "ca.crl.pem")
        run(["openssl", "ca", "-config", self.cnf, "-gencrl", "-out", pem])
        return _crl_der(pem)


def _crl_der(pem):
    r = subprocess.run(["openssl", "crl", "-in", pem, "-outform", "DER"],
                       capture_output=True)
    if r.returncode != 0:
        raise AssertionError("openssl crl: %s" % r.stderr)
    return r.stdout


def pem_to_der(pem):
    r = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"],
                       capture_output=True)
    if r.returncode != 0:
        raise AssertionError("openssl x509: %s" % r.stderr)
    return r.stdout


class Cert:
    def __init__(self, pem):
        self.pem = pem
        self.der = pem_to_der(pem)
        self.fp = hashlib.sha256(self.der).hexdigest()
