"""Helpers for the notification agent's tests: ACRS and directory files,
ADT messages, a test MLLP receiver that answers AA (python3-hl7 parses
what it gets), and reading notifications out of IMAP messages."""
import datetime
import email
import email.policy
import os
import socket
import threading

import hl7

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"

ACRS_HEADER = ("patient_id,patient_id_type,assigning_authority,last_name,"
               "first_name,dob,sex,address1,city,state,zip,phone,provider_npi,"
               "provider_name,relationship,organization,last_seen,consent\n")


def acrs_row(npi, name, rel, consent="standard", pid="G1"):
    seen = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
    return ("%s,MR,CLINIC,Doe,Jane,1980-01-01,F,12 Main Street,Lansing,MI,"
            "48906,517-555-0101,%s,%s,%s,Clinic,%s,%s\n"
            % (pid, npi, name, rel, seen, consent))


def adt(event, control_id, visit, extra="", proc="P"):
    """An ADT^event for patient G1 at HOSP, visit number visit."""
    pv1 = [""] * 46
    pv1[0], pv1[1], pv1[2] = "PV1", "1", "I"
    pv1[3] = "ICU^12^2^HOSP^^^^^Mercy General"
    pv1[7] = "1234567893^WHO^JOHN^^^DR"
    pv1[19] = visit
    pv1[44] = "20261101110000"
    if event == "A03":
        pv1[36] = "01"
        pv1[45] = "20261103090000"
    segs = [
        "MSH|^~\\&|EHR|HOSP|DG|DG|20261101120000||ADT^%s^ADT_A01|%s|%s|2.5.1"
        % (event, control_id, proc),
        "EVN|%s|20261101120000" % event,
        "PID|1||G1^^^CLINIC^MR||DOE^JANE||19800101|F|||12 MAIN ST^^LANSING^MI^48906",
        "|".join(pv1),
        "PV2|||CP^Chest pain",
    ]
    segs += [s for s in extra.split("\r") if s]
    return "\r".join(segs) + "\r"


def frame(msg):
    return SB + msg.encode() + EB + CR


class MllpReceiver:
    """A test MLLP listener on loopback: every message is parsed with
    python3-hl7, kept, and answered with the MSA-1 code answer() gives
    (AA here; a subclass may answer otherwise, or None for no answer),
    MSA-2 = its MSH-10."""

    def __init__(self, procs=None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        buf = b""
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                buf += d
                while SB in buf and EB in buf:
                    start = buf.index(SB)
                    end = buf.index(EB, start)
                    body = buf[start + 1:end].decode()
                    buf = buf[end + 2:]
                    m = hl7.parse(body)
                    with self.lock:
                        self.messages.append(m)
                        code = self.answer(m)
                    if code is None:
                        continue
                    cid = str(m.segment("MSH")[10])
                    ack = ("MSH|^~\\&|RCV|RCV|DG|DG|20261101||ACK^A01^ACK|K%s|P|2.5.1\r"
                           "MSA|%s|%s\r" % (cid, code, cid))
                    c.sendall(frame(ack))

    def answer(self, m):
        """MSA-1 for message m (called under self.lock), None: no answer."""
        return "AA"

    def got(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        self.stopped = True
        self.sock.close()


def parts(raw):
    """(summary text, [HL7 attachments as text]) of a notification."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    summary, hl7s = "", []
    for p in msg.walk():
        ct = p.get_content_type()
        if ct == "text/plain" and not summary:
            summary = p.get_content()
        elif ct == "text/hl7v2":
            hl7s.append(p.get_payload(decode=True).decode())
    return msg, summary, hl7s


def z_values(m, name):
    """Field 2 of every segment name (ZNP, ZPD) of a parsed message."""
    return [str(s[2]) for s in m if str(s[0]) == name]
