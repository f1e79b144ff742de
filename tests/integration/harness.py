"""Integration-test harness: temp instances of directgate on loopback.

Each test gets its own temp directory and ports, starts what it needs, and
stops every process it started by pid, also when it fails.  Standard
library only; run with /usr/bin/python3 (which sees Debian's python3-hl7).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("DG_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.environ.get("DG_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DIRECTGATE = os.environ.get("DIRECTGATE") or os.path.join(BUILD_DIR, "directgate")

SKIP = 77


class Skip(Exception):
    """Raised by a test that cannot run here (exit status 77)."""


def skip(reason):
    raise Skip(reason)


def require(*programs):
    """Skips the test unless every program is on PATH (or an absolute path)."""
    for p in programs:
        if shutil.which(p) is None:
            skip("%s is not installed" % p)


_handed_out = set()


def free_port(host="127.0.0.1"):
    """A TCP port the kernel says is free now (also free for UDP, tried),
    never one this process handed out before."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port in _handed_out:
            continue
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def wait_port(port, host="127.0.0.1", timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on %s:%d" % (host, port))


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError("timed out waiting for %s" % what)


class Processes:
    """Tracks background processes and stops them by pid."""

    def __init__(self):
        self.procs = []

    def add(self, proc, name=""):
        self.procs.append((proc, name))
        return proc

    def stop_all(self):
        for proc, _ in reversed(self.procs):
            if proc.poll() is None:
                try:
                    proc.terminate()
                    proc.wait(timeout=10)
                except Exception:
                    proc.kill()
                    proc.wait()
        self.procs = []


class Instance:
    """A directgate instance in DIR: init, configure, serve, stop."""

    def __init__(self, tmp, name="gw", demo=False, config="", host="127.0.0.1"):
        self.dir = os.path.join(tmp, name)
        self.name = name
        self.proc = None
        self.host = host
        self.log_path = os.path.join(self.dir, "serve.log")
        args = ["init", "--dir", self.dir]
        if demo:
            args.append("--demo")
        self.cli(*args)
        # Every listener on a port of its own, so that tests run in
        # parallel: self.smtp_port (25's role), self.submission_port (587's),
        # self.mllp_port.
        self.smtp_port = free_port(host)
        self.submission_port = free_port(host)
        self.mllp_port = free_port(host)
        self.configure("[smtp]\nlisten = %s:%d\nsubmission_listen = %s:%d\n"
                       "[mllp]\nlisten = %s:%d\n"
                       % (host, self.smtp_port, host, self.submission_port,
                          host, self.mllp_port))
        if config:
            self.configure(config)

    def configure(self, text):
        """Appends INI text to the instance's directgate.conf."""
        with open(os.path.join(self.dir, "directgate.conf"), "a") as f:
            f.write("\n" + text.strip() + "\n")

    def cli(self, *args, check=True, input=None, env=None, timeout=120):
        e = dict(os.environ)
        e.pop("DIRECTGATE_DIR", None)
        if env:
            e.update(env)
        argv = [DIRECTGATE] + [a for a in args]
        if "--dir" not in args and args and args[0] != "init":
            argv = [DIRECTGATE, "--dir", self.dir] + list(args)
        r = subprocess.run(argv, input=input, capture_output=True,
                           env=e, timeout=timeout,
                           text=not isinstance(input, bytes))
        if check and r.returncode != 0:
            raise AssertionError("directgate %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self, timeout=30, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen([DIRECTGATE, "serve", "--dir", self.dir],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=e)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "event=ready" in self.log_since_start():
                return self
            if self.proc.poll() is not None:
                raise AssertionError("%s: serve exited %d before ready:\n%s"
                                     % (self.name, self.proc.returncode, self.log_tail()))
            time.sleep(0.05)
        raise AssertionError("%s: no 'ready' within %ss:\n%s" % (self.name, timeout, self.log_tail()))

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_since_start(self):
        return self.log()[getattr(self, "_log_start", 0):]

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, timeout=20):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout,
                        what="log line /%s/ in %s" % (pattern, self.name))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the daemon with sig; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s: did not stop within %ss after signal %d:\n%s"
                                 % (self.name, timeout, sig, self.log_tail()))
        self._log.close()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Env:
    """One test's temp directory and processes; use as a context manager."""

    def __init__(self, name="test"):
        self.tmp = tempfile.mkdtemp(prefix="dg-%s-" % name)
        # Peers running as other users (Dovecot) traverse it.
        os.chmod(self.tmp, 0o711)
        self.procs = Processes()
        self.instances = []

    def instance(self, name="gw", **kw):
        inst = Instance(self.tmp, name, **kw)
        self.instances.append(inst)
        return inst

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        for inst in self.instances:
            if inst.running():
                inst.proc.kill()
                inst.proc.wait()
        self.procs.stop_all()
        if exc_type is None or os.environ.get("DG_KEEP_TMP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept %s" % self.tmp)
        return False


def run(tests):
    """Runs test functions; prints one line each and a closing summary.
    Exit status 0 when all passed, 77 when all were skipped, else 1."""
    passed = failed = skipped = 0
    only = os.environ.get("DG_TEST_ONLY")
    for t in tests:
        if only and only not in t.__name__:
            continue
        start = time.time()
        try:
            t()
        except Skip as s:
            skipped += 1
            print("SKIP %s: %s" % (t.__name__, s))
            continue
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (t.__name__, time.time() - start))
            traceback.print_exc()
            continue
        passed += 1
        print("ok   %s (%.1fs)" % (t.__name__, time.time() - start))
        sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        sys.exit(1)
    if passed == 0 and skipped:
        sys.exit(SKIP)
    sys.exit(0)
