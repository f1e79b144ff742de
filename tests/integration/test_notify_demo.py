"""The demo instance (`directgate init --demo`, `make run`): its generated
ACRS and directory point at mailboxes of b.example, so an ADT sent with
`directgate adt send` over MLLP produces a notification in one of them,
readable with the password "demo"; the ADT's trace tells the story."""
import email
import email.policy
import glob
import json
import os

import hl7

from harness import Env, run, wait_for


def test_adt_sent_to_the_demo_lands_in_a_b_example_mailbox():
    with Env("notify-demo") as env:
        gw = env.instance("demo", demo=True)
        hl7_file = os.path.join(gw.dir, "demo", "adt", "messages.hl7")
        assert os.path.exists(hl7_file), os.listdir(gw.dir)
        with open(hl7_file, "rb") as f:
            first = f.read().split(b"\n")[0] + b"\n"  # the first message
        one = env.path("first.hl7")
        with open(one, "wb") as f:
            f.write(first)
        gw.start()
        r = gw.cli("adt", "send", one, "--mllp", "127.0.0.1:%d" % gw.mllp_port)
        assert "CA" in r.stdout or "AA" in r.stdout, r.stdout

        def delivered():
            files = glob.glob(os.path.join(gw.dir, "mail", "b.example", "*", "new", "*"))
            return files or None
        files = wait_for(delivered, 30, interval=0.2, what="a notification in b.example")
        with open(files[0], "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        assert str(msg["From"]) == "<notify@a.example>" or "notify@a.example" in str(msg["From"])
        kinds = [p.get_content_type() for p in msg.walk()]
        assert "text/plain" in kinds and "text/hl7v2" in kinds, kinds
        part = [p for p in msg.walk() if p.get_content_type() == "text/hl7v2"][0]
        m = hl7.parse(part.get_payload(decode=True).decode().replace("\r\n", "\r"))
        assert [s for s in m if str(s[0]) == "ZNP"], "no ZNP"
        t = json.loads(gw.cli("adt", "trace", "1", "--json").stdout)
        assert t["state"] == "done" and t["notifications"], t
        assert gw.stop() == 0


if __name__ == "__main__":
    run([test_adt_sent_to_the_demo_lands_in_a_b_example_mailbox])
