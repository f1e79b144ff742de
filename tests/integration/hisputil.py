"""Two HISPs on loopback for the transport tests: directgate instances
for a.test and b.test, Knot serving their MX and CERT records, each
domain's certificate from its own demo CA, each trusting the other's CA,
and Dovecot reading B's (or A's) Maildirs over IMAP."""
import imaplib
import os
import pwd
import smtplib
import ssl
import subprocess
import time

import harness
from dnsutil import Knot


def mail_user():
    for name in ("mail", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    harness.skip("no unprivileged user for Dovecot")


class Hisp:
    """One directgate instance serving one domain, with mailboxes."""

    def __init__(self, env, domain, mailboxes=(), config=""):
        self.domain = domain
        self.gw = env.instance(domain.split(".")[0],
                               config="[mailbox]\nowner = %s\n[queue]\n"
                                      "scan_interval = 100ms\nretry_min = 1s\n"
                                      "retry_max = 2s\n%s" % (mail_user(), config))
        self.gw.cli("domain", "add", domain)
        self.gw.cli("cert", "generate", "--domain", domain, "--demo")
        self.ca = os.path.join(self.gw.dir, "keys", "demo-ca.pem")
        self.passwords = {}
        for box in mailboxes:
            addr = "%s@%s" % (box, domain)
            self.passwords[addr] = "pw-" + box
            self.gw.cli("address", "add", addr, "--password-stdin",
                        input=self.passwords[addr] + "\n")

    def zone(self):
        r = self.gw.cli("publish", self.domain, "--zone")
        lines = [l for l in r.stdout.splitlines()
                 if l and not l.startswith(";") and not l.startswith("$")]
        return "\n".join(lines + ["@ MX 10 mx", "mx A 127.0.0.1"])

    def trust(self, other, direction="both"):
        self.gw.cli("anchor", "add", other.ca, "--domain", self.domain,
                    "--direction", direction)


def two_hisps(env, a_boxes=("alice",), b_boxes=("bob",), a_config="", b_config=""):
    """A (a.test) and B (b.test), Knot with both zones, anchors both ways.
    Both daemons are configured but not started."""
    harness.require("knotd", "dovecot")
    a = Hisp(env, "a.test", a_boxes)
    b = Hisp(env, "b.test", b_boxes)
    knot = Knot(env.tmp, env.procs, {"a.test": a.zone(), "b.test": b.zone()})
    a.trust(b)
    b.trust(a)
    a.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n%s"
                   % (knot.server(), b.gw.smtp_port, a_config))
    b.gw.configure("[dns]\nservers = %s\n[delivery]\nmx_port = %d\n%s"
                   % (knot.server(), a.gw.smtp_port, b_config))
    return a, b, knot


class Dovecot:
    """Dovecot IMAP over an instance's Maildirs and passwd-file."""

    def __init__(self, env, hisp, name=None):
        name = name or "dovecot-" + hisp.domain.split(".")[0]
        self.dir = env.path(name)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        self.port = harness.free_port()
        user = mail_user()
        mail = os.path.join(hisp.gw.dir, "mail")
        passwd = os.path.join(hisp.gw.dir, "dovecot.passwd")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""base_dir = {d}/run
state_dir = {d}/run
instance_name = {n}-{p}
protocols = imap
listen = 127.0.0.1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {p}
  }}
}}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid={u} gid={u} home={mail}/%d/%n
}}
mail_location = maildir:{mail}/%d/%n:INBOX={mail}/%d/%n
log_path = {d}/dovecot.log
first_valid_uid = 1
""".format(d=self.dir, n=name, p=self.port, passwd=passwd, u=user, mail=mail))
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        env.procs.add(_Stopper(self.conf), "dovecot")
        harness.wait_port(self.port)

    def messages(self, user, password):
        """Every message in INBOX, as bytes, in order."""
        m = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            m.login(user, password)
            typ, _ = m.select("INBOX")
            if typ != "OK":  # no Maildir yet: nothing delivered
                return []
            typ, data = m.search(None, "ALL")
            out = []
            for num in data[0].split():
                typ, parts = m.fetch(num, "(RFC822)")
                out.append(parts[0][1])
            return out
        finally:
            try:
                m.logout()
            except Exception:
                pass

    def wait_messages(self, user, password, n=1, timeout=30):
        return harness.wait_for(
            lambda: (lambda v: v if len(v) >= n else None)(self.messages(user, password)),
            timeout, interval=0.2, what="%d message(s) for %s" % (n, user))


class _Stopper:
    """Stops a daemonized Dovecot like a Popen (for Processes)."""

    def __init__(self, conf):
        self.conf = conf
        self.returncode = None

    def poll(self):
        return self.returncode

    def terminate(self):
        subprocess.run(["dovecot", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.returncode = 0

    def wait(self, timeout=None):
        return 0

    def kill(self):
        self.terminate()


def submit(hisp, user, to, msg, tls=True):
    """An edge client: STARTTLS and AUTH on the submission port."""
    s = smtplib.SMTP("127.0.0.1", hisp.gw.submission_port, timeout=30)
    try:
        s.ehlo("edge.test")
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo("edge.test")
        s.login(user, hisp.passwords[user])
        return s.sendmail(user, to, msg)
    finally:
        try:
            s.quit()
        except Exception:
            pass


def message(frm, to, subject="Discharge summary", body="Patient seen.\r\n",
            mid=None, extra=""):
    mid = mid or "<%d.%d@%s>" % (time.time_ns(), os.getpid(), frm.split("@")[1])
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Sun, 22 Nov 2026 "
            "10:00:00 +0000\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n%s"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s"
            % (frm, to, subject, mid, extra, body)).encode()


# ---- raw SMTP and Maildir helpers (for the negative, Postfix and crash
# tests: smtplib hides reply codes and pipelining) ----

import base64 as _base64
import socket as _socket


class RawSmtp:
    """A plain SMTP client over a socket that shows every reply code.
    reply() returns (code, text) with the text of every line joined by
    newlines; it raises EOFError when the server closed."""

    def __init__(self, port, host="127.0.0.1", timeout=15):
        self.sock = _socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed (pending %r)" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        texts = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError("not an SMTP reply: %r" % line)
            texts.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), "\n".join(texts)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.test"):
        code, text = self.cmd("EHLO " + name)
        assert code == 250, "EHLO: got %d %s, want 250" % (code, text)
        return text

    def starttls(self):
        code, text = self.cmd("STARTTLS")
        assert code == 220, "STARTTLS: got %d %s, want 220" % (code, text)
        assert self.buf == b"", "plaintext after STARTTLS: %r" % self.buf
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)

    def auth_plain(self, user, password):
        tok = _base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        return self.cmd("AUTH PLAIN " + tok.decode())

    def data(self, msg):
        """DATA with msg (bytes, CRLF lines): returns the final reply (or
        the reply to DATA when it is not 354)."""
        code, text = self.cmd("DATA")
        if code != 354:
            return code, text
        body = msg.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True once the server closed the connection (reads what is left)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (_socket.timeout, ssl.SSLError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_transaction(raw, mail_from, rcpts, msg):
    """MAIL, RCPT..., DATA on an open RawSmtp session; returns the list of
    (code, text) replies, the last one for the end of data."""
    out = [raw.cmd("MAIL FROM:<%s>" % mail_from)]
    for r in rcpts:
        out.append(raw.cmd("RCPT TO:<%s>" % r))
    out.append(raw.data(msg))
    return out


def maildir_messages(hisp, address):
    """Every message file in address's Maildir (new/ and cur/), as bytes,
    read from the disk (no IMAP; empty when the Maildir does not exist)."""
    local, domain = address.split("@")
    box = os.path.join(hisp.gw.dir, "mail", domain, local)
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(box, sub)
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            continue
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
    return out


def message_id_of(msg):
    """The Message-ID header value of a message (bytes), or None."""
    head = msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    for line in head.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return None


def domain_cert_and_key(hisp, domain):
    """The domain certificate (PEM file) and its private key file."""
    r = hisp.gw.cli("publish", domain, "--zone")
    der = None
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and "CERT" in f and f[0] in ("@", domain + "."):
            der = _base64.b64decode("".join(f[f.index("CERT") + 4:]))
    assert der is not None, "no domain CERT record in:\n" + r.stdout
    pem = os.path.join(hisp.gw.dir, "%s-domain.pem" % domain)
    with open(pem, "wb") as f:
        f.write(b"-----BEGIN CERTIFICATE-----\n" +
                _base64.encodebytes(der) + b"-----END CERTIFICATE-----\n")
    want = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-pubkey"],
                          capture_output=True, check=True).stdout
    keys = os.path.join(hisp.gw.dir, "keys")
    for name in os.listdir(keys):
        if not name.endswith(".key") or name.startswith(("demo-ca", "smtp-tls")):
            continue
        path = os.path.join(keys, name)
        got = subprocess.run(["openssl", "pkey", "-in", path, "-pubout"],
                             capture_output=True).stdout
        if got == want:
            return pem, path
    raise AssertionError("no key in %s matches %s's certificate" % (keys, domain))


def stop_clean(hisp):
    """Stops hisp's daemon with SIGTERM; returns a problem (exit status
    not 0, or an AddressSanitizer/LeakSanitizer/UBSan report in its log)
    as a string, or None."""
    rc = hisp.gw.stop()
    log = hisp.gw.log()
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:"):
        if marker in log:
            i = log.index(marker)
            return "%s: sanitizer report:\n%s" % (hisp.domain, log[max(0, i - 200):i + 4000])
    if rc != 0:
        return "%s exited %s on SIGTERM:\n%s" % (hisp.domain, rc, hisp.gw.log_tail())
    return None
