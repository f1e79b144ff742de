"""kill -9 of the daemon while the notification agent works through a
stream of ADTs: after a restart every ADT is processed and every
recipient has exactly one notification per (visit, event): nothing lost,
nothing sent twice."""
import email
import email.policy
import glob
import json
import os
import subprocess

import harness
from harness import Env, run, wait_for
from hisputil import mail_user
import notifyutil as nu

PCP = "1234567893"
N = 600


def count_done(gw):
    rows = json.loads(gw.cli("adt", "list", "--json").stdout)
    return sum(1 for r in rows if r["state"] == "done"), len(rows)


def test_kill9_while_notifying_loses_nothing_and_sends_nothing_twice():
    harness.require("mllp_send")
    with Env("notify-crash") as env:
        gw = env.instance("a", config="[mailbox]\nowner = %s\n[queue]\n"
                          "scan_interval = 100ms\nretry_min = 1s\n" % mail_user())
        gw.cli("domain", "add", "a.test")
        gw.cli("cert", "generate", "--domain", "a.test", "--demo")
        gw.cli("anchor", "add", os.path.join(gw.dir, "keys", "demo-ca.pem"),
               "--domain", "a.test", "--direction", "both")
        gw.cli("address", "add", "notify@a.test", "--kind", "notify")
        gw.cli("address", "add", "dr@a.test", "--password-stdin", input="pw\n")
        with open(env.path("acrs.csv"), "w") as f:
            f.write(nu.ACRS_HEADER + nu.acrs_row(PCP, "Dr Smith", "pcp"))
        gw.cli("acrs", "import", env.path("acrs.csv"), "--submitter", "CLINIC")
        d = env.path("dir")
        os.makedirs(d)
        for name, text in {
            "providers.csv": "npi,last_name,first_name,status\n%s,Smith,Jane,active\n" % PCP,
            "endpoints.csv": "owner_npi,kind,address,rank,active\n%s,direct,dr@a.test,1,yes\n" % PCP,
        }.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        gw.cli("directory", "import", os.path.join(d, "providers.csv"),
               os.path.join(d, "endpoints.csv"))
        path = env.path("adts.mllp")
        with open(path, "wb") as f:
            for i in range(N):
                f.write(nu.frame(nu.adt("A01", "K%d" % i, "V%d" % i)))
        gw.start()
        sender = subprocess.Popen(["mllp_send", "--file", path, "--port",
                                   str(gw.mllp_port), "127.0.0.1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Kill it once the agent is under way.
        wait_for(lambda: count_done(gw)[0] >= 50 or None, 60, interval=0.05,
                 what="50 ADTs processed")
        gw.kill9()
        out, _ = sender.communicate(timeout=60)
        acked = out.count(b"MSA|AA|")
        # The sender resends whatever was not acknowledged (same MSH-10:
        # stored once), as an EHR would.
        gw.start()
        r = subprocess.run(["mllp_send", "--file", path, "--port", str(gw.mllp_port),
                            "127.0.0.1"], capture_output=True, timeout=120)
        assert r.stdout.count(b"MSA|AA|") == N, r.stdout[-500:]
        wait_for(lambda: count_done(gw) == (N, N) or None, 120, interval=0.3,
                 what="every ADT processed (%d acknowledged before the kill)" % acked)
        box = os.path.join(gw.dir, "mail", "a.test", "dr")

        def files():
            return glob.glob(os.path.join(box, "new", "*")) + glob.glob(os.path.join(box, "cur", "*"))

        def settled():
            q = gw.cli("queue", "list", check=False).stdout
            return len(files()) >= N and "-- 0 messages" in q or None
        try:
            wait_for(settled, 120, interval=0.5, what="%d notifications delivered" % N)
        except TimeoutError:
            q = gw.cli("queue", "list", check=False).stdout
            raise AssertionError("%d in the mailbox; queue:\n%s\nlog:\n%s"
                                 % (len(files()), q[-3000:], gw.log_tail(30)))
        visits = []
        for p in files():
            with open(p, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            part = [x for x in msg.walk() if x.get_content_type() == "text/hl7v2"]
            assert part, "not a notification: %s" % msg["Subject"]
            text = part[0].get_payload(decode=True).decode()
            visits.append(([l for l in text.replace("\r\n", "\r").split("\r")
                            if l.startswith("PV1")][0].split("|")[19],
                           str(msg["Message-ID"])))
        # The agent's guarantee: one notification (one Message-ID) per
        # visit and recipient.
        mids = {}
        for v, mid in visits:
            mids.setdefault(v, set()).add(mid)
        assert len(mids) == N and all(len(m) == 1 for m in mids.values()), \
            [(v, m) for v, m in mids.items() if len(m) != 1][:5]
        # A copy of the same message delivered twice would be the mailbox
        # delivery's at-least-once window at the kill (hisp), not a second
        # notification.
        if len(visits) != N:
            print("note: %d copies for %d notifications (redelivery after "
                  "kill -9)" % (len(visits), N))
        assert gw.stop() == 0


if __name__ == "__main__":
    run([test_kill9_while_notifying_loses_nothing_and_sends_nothing_twice])
