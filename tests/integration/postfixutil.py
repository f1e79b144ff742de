"""A private Postfix instance on 127.0.0.1 for tests and benchmarks: its
own config_directory, queue_directory and data_directory in the test's
temp directory, smtpd on a free port, a transport map, log to a file.
Started with `postfix -c DIR start`, stopped with `postfix -c DIR stop`
(and by pid if that fails) in the teardown.  Needs root (Postfix's master
runs as root and drops to mail_owner)."""
import os
import pwd
import shutil
import subprocess
import time

import harness


def postfix_available():
    return (shutil.which("postfix") is not None and
            shutil.which("postconf") is not None)


def _daemon_directory():
    r = subprocess.run(["postconf", "-dh", "daemon_directory"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "/usr/lib/postfix/sbin"


class Postfix:
    """A Postfix instance in env.path(name).

    transport: {domain: "smtp:[127.0.0.1]:PORT" or "discard:"}.
    extra: more main.cf lines.  self.port is the smtpd port."""

    def __init__(self, env, name="postfix", transport=None, extra="",
                 port=None):
        harness.require("postfix", "postconf", "postmap")
        if os.geteuid() != 0:
            harness.skip("a private Postfix needs root")
        try:
            pwd.getpwnam("postfix")
        except KeyError:
            harness.skip("no postfix user")
        self.dir = env.path(name)
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "maillog")
        self.port = port or harness.free_port()
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(self.data, "postfix")
        self.transport = os.path.join(self.conf, "transport")
        with open(self.transport, "w") as f:
            for dom, dest in (transport or {}).items():
                f.write("%s %s\n" % (dom, dest))
        uniq = "pf%d%s" % (self.port, name.replace("-", ""))
        main = """compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
daemon_directory = {dd}
mail_owner = postfix
setgid_group = postdrop
myhostname = {n}.postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
local_transport = error:no local delivery
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
transport_maps = hash:{t}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
anvil_rate_time_unit = 60s
smtp_dns_support_level = disabled
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_tls_security_level = none
biff = no
message_size_limit = 52428800
syslog_name = {u}
maillog_file = {log}
maillog_file_prefixes = /tmp, /var, /work, /dev/stdout
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
multi_instance_enable = no
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
{extra}
""".format(q=self.queue, data=self.data, dd=_daemon_directory(),
           n=uniq, t=self.transport, u=uniq, log=self.log_path,
           extra=extra)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        master = """127.0.0.1:{p} inet n - n - 100 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""".format(p=self.port)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)
        self._run("postmap", "hash:" + self.transport)
        self._run("postfix", "-c", self.conf, "set-permissions")
        self._run("postfix", "-c", self.conf, "start")
        self.started = True
        env.procs.add(_Stopper(self), "postfix")
        harness.wait_port(self.port, timeout=30)

    def _run(self, *argv):
        r = subprocess.run(list(argv), capture_output=True, text=True,
                           env=dict(os.environ, MAIL_CONFIG=self.conf))
        if r.returncode != 0:
            raise AssertionError("%s: exit %d\n%s%s\n%s"
                                 % (" ".join(argv), r.returncode, r.stdout,
                                    r.stderr, self.log_tail()))
        return r

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       capture_output=True)
        if pid is not None:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, timeout=30):
        import re
        rx = re.compile(pattern)
        return harness.wait_for(lambda: rx.search(self.log()), timeout,
                                what="Postfix log /%s/" % pattern)

    def flush(self):
        subprocess.run(["postqueue", "-c", self.conf, "-f"],
                       capture_output=True)


class _Stopper:
    """Stops a Postfix like a Popen (for harness.Processes)."""

    def __init__(self, pf):
        self.pf = pf
        self.returncode = None

    def poll(self):
        return None if self.pf.started else 0

    def terminate(self):
        self.pf.stop()
        self.returncode = 0

    def wait(self, timeout=None):
        return 0

    def kill(self):
        self.terminate()
