"""kill -9 of the daemon during a stream of submissions, then restart.

Four edge clients stream 200 messages (each with its own Message-ID) to
A's submission port (STARTTLS, AUTH, several messages per connection,
reconnecting when A is gone). When a random share of them has been
answered, A is killed with SIGKILL and started again at once; the clients
go on. A delivers to B (Direct: sealed, MX, opened, Maildir); B sends no
MDNs here, to keep the count simple. Two variants: A stopped with SIGTERM
(graceful: it must also exit 0), and B (the receiver) killed instead.

Each message ends in one of four client-side outcomes:
  ok        its end of data was answered 250;
  refused   some command of its transaction got a 4xx/5xx reply;
  unsent    the connection broke before its final "." was sent;
  unknown   the final "." may have gone out but no reply came (the 250
            may have been lost in flight: the server may have committed).
What is asserted, by Message-ID in bob's Maildir at B once both queues
are empty:
  ok       -> exactly once;
  refused  -> never;
  unsent   -> never;
  unknown  -> at most once;
  and nothing that was not submitted; and, from the logs, no queue task
  sent or delivered twice by one process.

SMTP alone is at-least-once: when A dies after B answered 250 but before
A recorded the message as sent, A sends it again after the restart; when
B dies after writing a Maildir file but before recording it, B delivers
it again. B closes both windows (it remembers delivered Message-IDs per
recipient, and a retried delivery finds its own Maildir file), so the
check is strict: every message answered 250 is delivered exactly once.
DG_LENIENT_ONCE=1 tolerates duplicates inside the window the logs show
(for diagnosing a regression)."""
import collections
import json
import os
import random
import re
import socket
import ssl
import threading
import time

import harness
from harness import Env, run
from hisputil import (RawSmtp, maildir_messages, message, message_id_of,
                      stop_clean, two_hisps)

TOTAL = 200
CLIENTS = 4


class Stream:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.next = 0
        self.outcome = {}          # Message-ID -> ok|refused|unsent|unknown
        self.ok = 0
        self.errors = []
        self.stop_at = time.time() + 240

    def take(self):
        with self.lock:
            if self.next >= TOTAL:
                return None
            self.next += 1
            return self.next

    def record(self, mid, what):
        with self.lock:
            self.outcome[mid] = what
            if what == "ok":
                self.ok += 1


def connect(a, deadline):
    """A logged-in session on A's submission port, retried while A is
    down (restarting)."""
    last = None
    while time.time() < deadline:
        try:
            r = RawSmtp(a.gw.submission_port, timeout=20)
            if r.greeting[0] != 220:
                r.close()
                raise OSError("greeting %r" % (r.greeting,))
            r.ehlo("edge.test")
            r.starttls()
            r.ehlo("edge.test")
            code, text = r.auth_plain("alice@a.test", a.passwords["alice@a.test"])
            if code != 235:
                r.close()
                raise OSError("AUTH: %d %s" % (code, text))
            return r
        except (OSError, EOFError, AssertionError, ssl.SSLError) as e:
            last = e
            time.sleep(0.05)
    raise AssertionError("could not connect to A: %s" % last)


def client(st, n):
    a = st.a
    r = None
    sent_here = 0
    try:
        while True:
            i = st.take()
            if i is None:
                break
            mid = "<crash-%d-%d@a.test>" % (i, n)
            msg = message("alice@a.test", "bob@b.test", mid=mid,
                          body="Message %d.\r\n" % i)
            if r is None:
                r = connect(a, st.stop_at)
            stage = "before"
            try:
                code, text = r.cmd("MAIL FROM:<alice@a.test>")
                if code != 250:
                    st.record(mid, "refused")
                    r.cmd("RSET")
                    continue
                code, text = r.cmd("RCPT TO:<bob@b.test>")
                if code != 250:
                    st.record(mid, "refused")
                    r.cmd("RSET")
                    continue
                code, text = r.cmd("DATA")
                if code != 354:
                    st.record(mid, "refused")
                    continue
                body = msg.replace(b"\r\n.", b"\r\n..") + b".\r\n"
                stage = "sending"
                r.send(body)
                stage = "sent"
                code, text = r.reply()
                st.record(mid, "ok" if code == 250 else "refused")
                sent_here += 1
                # A new connection now and then.
                if sent_here % 25 == 0:
                    r.cmd("QUIT")
                    r.close()
                    r = None
            except (OSError, EOFError, ssl.SSLError):
                st.record(mid, "unsent" if stage == "before" else "unknown")
                if r is not None:
                    r.close()
                r = None
        if r is not None:
            try:
                r.cmd("QUIT")
            except (OSError, EOFError, ssl.SSLError):
                pass
            r.close()
    except Exception as e:   # reported by the main thread
        st.errors.append("client %d: %r" % (n, e))


def queue_empty(hisp):
    r = hisp.gw.cli("queue", "list", "--json", check=False)
    if r.returncode != 0:
        return False
    try:
        return json.loads(r.stdout) == []
    except ValueError:
        return False


def outcomes_by_process(hisp, started="event=sealed"):
    """{pid: {queue id: [status, ...]}} from the daemon's log lines
    "id=Q to=<...> ... status=S"; also {pid: set of ids with a log line
    starting with started (sealed: on its way out; opened: on its way into
    a Maildir)}."""
    out, sealed = {}, {}
    for line in hisp.gw.log().splitlines():
        m = re.search(r"directgate\[(\d+)\]: .* id=(\S+) (.*)", line)
        if m is None:
            continue
        pid, qid, rest = m.groups()
        if rest.startswith(started):
            sealed.setdefault(pid, set()).add(qid)
        s = re.search(r" status=(\S+)", rest)
        if rest.startswith("to=<") and s:
            out.setdefault(pid, {}).setdefault(qid, []).append(s.group(1))
    return out, sealed


def in_flight_at_kill(h, started="event=sealed", done="sent"):
    """h's queue ids started (sealed: sent to B; opened: written to a
    Maildir) by the first process without a recorded outcome, and done
    again by a later one: these may have been delivered twice."""
    text = h.gw.log()
    pids = re.findall(r"directgate\[(\d+)\]: level=info event=ready", text)
    assert len(pids) >= 2, "%s started %d time(s)" % (h.domain, len(pids))
    out, sealed = outcomes_by_process(h, started)
    first = pids[0]
    later = set()
    for pid in pids[1:]:
        later |= {q for q, v in out.get(pid, {}).items() if done in v}
    return (sealed.get(first, set()) - set(out.get(first, {}))) & later


def no_task_done_twice(hisp, what):
    """Within one process, a queue task is delivered or sent once: a
    second outcome of "sent"/"delivered" for the same id is the runner
    starting a task again that was already done."""
    out, _ = outcomes_by_process(hisp)
    twice = ["%s pid %s: %s %s" % (what, pid, q, v)
             for pid, ids in out.items() for q, v in ids.items()
             if sum(1 for x in v if x in ("sent", "delivered")) > 1]
    assert not twice, "tasks done twice:\n" + "\n".join(twice)


def test_kill_9_during_submissions_loses_and_duplicates_nothing():
    stream_and_stop(graceful=False)


def test_sigterm_during_submissions_loses_nothing_and_exits_0():
    stream_and_stop(graceful=True)


def test_kill_9_of_the_receiver_loses_nothing():
    """B is killed while A delivers to it: A retries while B is down, B
    resumes its own queue after the restart."""
    stream_and_stop(graceful=False, victim="b")


def stream_and_stop(graceful, victim="a"):
    with Env("hisp-crash") as env:
        a, b, knot = two_hisps(env, b_config="[mdn]\nsend = no\n")
        a.gw.start()
        b.gw.start()
        st = Stream(a)
        kill_after = random.randint(TOTAL // 10, TOTAL * 6 // 10)
        threads = [threading.Thread(target=client, args=(st, n), daemon=True)
                   for n in range(CLIENTS)]
        for t in threads:
            t.start()
        v = a if victim == "a" else b
        if victim == "a":
            harness.wait_for(lambda: st.ok >= kill_after or
                             all(not t.is_alive() for t in threads),
                             timeout=180, what="%d messages answered" % kill_after)
        else:
            harness.wait_for(lambda: b.gw.log().count("event=opened") >= kill_after
                             or all(not t.is_alive() for t in threads),
                             timeout=180, what="%d messages opened at B" % kill_after)
        answered_before = st.ok
        if graceful:
            problem = stop_clean(v)
            assert problem is None, problem
        else:
            v.gw.kill9()
        killed_at = time.time()
        v.gw.start()
        restarted_in = time.time() - killed_at
        for t in threads:
            t.join(timeout=300)
        assert not st.errors, "\n".join(st.errors)
        assert all(not t.is_alive() for t in threads), "a client hung"
        counts = collections.Counter(st.outcome.values())
        print("%s %s after %d answered (target %d); restarted in %.1fs; "
              "outcomes %s" % (victim.upper(), "stopped" if graceful else "killed",
                               answered_before, kill_after, restarted_in,
                               dict(counts)))
        assert len(st.outcome) == TOTAL
        assert counts["ok"] >= TOTAL // 2, "too few accepted: %r" % dict(counts)
        ok = {m for m, w in st.outcome.items() if w == "ok"}

        def delivered():
            return collections.Counter(message_id_of(m) for m in
                                       maildir_messages(b, "bob@b.test"))

        harness.wait_for(lambda: ok <= set(delivered()), timeout=240,
                         interval=0.5,
                         what="%d accepted messages at B (have %d)"
                         % (len(ok), len(ok & set(delivered()))))
        harness.wait_for(lambda: queue_empty(a) and queue_empty(b), timeout=120,
                         interval=0.5, what="empty queues at A and B")
        time.sleep(1)
        got = delivered()
        bad = []
        for mid, n in sorted(got.items()):
            w = st.outcome.get(mid)
            if w is None:
                bad.append("%s delivered %d times, never submitted" % (mid, n))
            elif w == "ok" and n != 1:
                bad.append("%s answered 250, delivered %d times" % (mid, n))
            elif w in ("refused", "unsent"):
                bad.append("%s %s, delivered %d times" % (mid, w, n))
            elif w == "unknown" and n > 1:
                bad.append("%s unanswered, delivered %d times" % (mid, n))
        no_task_done_twice(a, "A")
        no_task_done_twice(b, "B")
        if victim == "a":
            window = in_flight_at_kill(a)
        else:
            # B's own window (written to the Maildir, not recorded), and
            # A's transactions cut by the kill after B committed them
            # (deferred at A, sent again later).
            window = in_flight_at_kill(b, "event=opened", "delivered")
            out, _ = outcomes_by_process(a)
            window |= {q for ids in out.values() for q, v in ids.items()
                       if "deferred" in v and "sent" in v}
        dups = [m for m, n in got.items() if n == 2 and
                st.outcome.get(m) in ("ok", "unknown")]
        if dups:
            print("duplicated: %d (%s: %d task(s) may have been done twice "
                  "across the stop): %s"
                  % (len(dups), victim.upper(), len(window),
                     " ".join(sorted(dups))))
        if os.environ.get("DG_LENIENT_ONCE") and len(dups) <= len(window):
            bad = [x for x in bad if not any(x.startswith(m + " ") for m in dups)]
        assert not bad, "\n".join(bad)
        unknown = [m for m, w in st.outcome.items() if w == "unknown"]
        print("unanswered messages delivered: %d of %d"
              % (sum(1 for m in unknown if m in got), len(unknown)))
        problems = [p for p in (stop_clean(a), stop_clean(b)) if p]
        assert not problems, "\n".join(problems)


if __name__ == "__main__":
    run([test_kill_9_during_submissions_loses_and_duplicates_nothing,
         test_sigterm_during_submissions_loses_nothing_and_exits_0,
         test_kill_9_of_the_receiver_loses_nothing])
