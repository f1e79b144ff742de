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
            m.select("INBOX")
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
