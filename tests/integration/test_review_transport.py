"""Review regressions for the SMTP transport (hisp/smtp_listener.c,
hisp/smtp_sender.c): a peer that never reads its replies cannot make the
daemon buffer them without bound, and SIGTERM with an outgoing delivery
stalled at a silent peer stops promptly and cleanly (the recipient is
deferred) instead of waiting out the grace period."""
import socket
import threading
import time

from harness import Env, run
from hisputil import message, submit, two_hisps


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def test_peer_that_never_reads_replies_is_paused_not_buffered():
    with Env("noread") as env:
        gw = env.instance()
        gw.start()
        before = rss_mb(gw.proc.pid)
        s = socket.create_connection(("127.0.0.1", gw.smtp_port))
        s.recv(1000)
        s.sendall(b"EHLO flood.test\r\n")
        chunk = b"NOOP\r\n" * 10000
        sent, blocked = 0, False
        s.settimeout(3)
        try:
            while sent < 48 * 1024 * 1024:
                s.sendall(chunk)
                sent += len(chunk)
        except socket.timeout:
            blocked = True
        grown = rss_mb(gw.proc.pid) - before
        s.close()
        assert blocked, ("the daemon took %d MiB of commands without its "
                         "replies being read (RSS +%d MiB)" % (sent >> 20, grown))
        assert grown < 64, "RSS grew by %d MiB" % grown
        # Other sessions keep working.
        c = socket.create_connection(("127.0.0.1", gw.smtp_port), timeout=10)
        assert c.recv(1000).startswith(b"220"), "no greeting"
        c.close()
        assert gw.stop() == 0, gw.log_tail()


def test_sigterm_with_a_stalled_delivery_stops_promptly_and_defers_it():
    with Env("stall") as env:
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        held = []

        def accept():
            while True:
                try:
                    held.append(silent.accept()[0])
                except OSError:
                    return
        threading.Thread(target=accept, daemon=True).start()
        a, b, knot = two_hisps(
            env, a_config="transport = b.test=127.0.0.1:%d\n[core]\n"
                          "shutdown_grace = 30s\n" % silent.getsockname()[1])
        a.gw.start()
        submit(a, "alice@a.test", ["bob@b.test"],
               message("alice@a.test", "bob@b.test"))
        a.gw.wait_log("event=sealed", timeout=30)
        time.sleep(0.5)
        t0 = time.time()
        rc = a.gw.stop()
        took = time.time() - t0
        silent.close()
        assert rc == 0, (rc, a.gw.log_tail())
        assert took < 10, "stop took %.1fs" % took
        log = a.gw.log()
        assert "event=shutdown_forced" not in log, a.gw.log_tail()
        assert "status=deferred" in log, a.gw.log_tail()


if __name__ == "__main__":
    run([
        test_peer_that_never_reads_replies_is_paused_not_buffered,
        test_sigterm_with_a_stalled_delivery_stops_promptly_and_defers_it,
    ])
