"""Helpers for the ADT integration tests: python3-hl7 as the independent
parser, an MLLP client, the sample and generated message sets."""
import glob
import os
import socket
import time

import harness

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
SHARED_HL7 = os.path.join(os.path.dirname(harness.SOURCE_DIR), "shared", "data", "hl7")
GENERATED_HL7 = os.path.join(harness.SOURCE_DIR, "tests", "data", "hl7")
UNPARSEABLE = {"no_msh.hl7", "bad_delims.hl7"}


def hl7_module():
    try:
        import hl7  # noqa: F401
    except ImportError:
        harness.skip("python3-hl7 is not installed (run with /usr/bin/python3)")
    return hl7


def sample_files():
    """Every sample and generated message file, with malformed ones that
    still parse."""
    files = sorted(glob.glob(os.path.join(SHARED_HL7, "*.hl7")))
    if not files:
        harness.skip("no sample messages in %s" % SHARED_HL7)
    files += sorted(glob.glob(os.path.join(GENERATED_HL7, "*.hl7")))
    files += sorted(f for f in glob.glob(os.path.join(GENERATED_HL7, "malformed", "*.hl7"))
                    if os.path.basename(f) not in UNPARSEABLE)
    return files


def normalized_lines(raw):
    """The intake's normalization: BOM stripped, LF/CRLF to CR, blank
    lines dropped."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8")
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    return [l for l in text.split("\r") if l.strip(" \t")]


def normalized_messages(raw):
    """Message texts (CR endings) without FHS/BHS/BTS/FTS lines."""
    msgs = []
    for l in normalized_lines(raw):
        if l[:3] in ("FHS", "BHS", "BTS", "FTS"):
            if msgs and msgs[-1] is not None:
                msgs.append(None)
            continue
        if l[:3] == "MSH" or not msgs or msgs[-1] is None:
            msgs.append("")
        msgs[-1] += l + "\r"
    return [m for m in msgs if m]


def py_parse_messages(raw):
    """python3-hl7's messages of a file, in order."""
    hl7 = hl7_module()
    text = "\r".join(normalized_lines(raw)) + "\r"
    parsed = hl7.parse_hl7(text)
    if isinstance(parsed, hl7.Message):
        return [parsed]
    if isinstance(parsed, hl7.Batch):
        return list(parsed)
    return [m for b in parsed for m in b]


def _norm_field(f):
    if len(f) == 1 and isinstance(f[0], str):
        return [[[f[0]]]]
    reps = []
    for r in f:
        if isinstance(r, str):
            reps.append([[r]])
        elif len(r) == 1 and isinstance(r[0], str):
            reps.append([[r[0]]])
        else:
            reps.append([[c] if isinstance(c, str) else [str(s) for s in c] for c in r])
    return reps


def py_fields(msg):
    """segments[fields[repetitions[components[subcomponents]]]] of a
    python3-hl7 message, raw values."""
    return [[_norm_field(f) for f in seg] for seg in msg]


KNOWN_ESCAPES = ("F", "S", "T", "R", "E", ".br")


def only_known_escapes(value, esc):
    """Whether every escape sequence in value is one both parsers decode
    the same way (python3-hl7 drops unknown ones; we keep them)."""
    parts = value.split(esc)
    if len(parts) % 2 == 0:
        return False  # unterminated
    for seq in parts[1::2]:
        if seq in KNOWN_ESCAPES:
            continue
        if (seq[:1] == "X" and len(seq) > 1 and (len(seq) - 1) % 2 == 0
                and all(c in "0123456789abcdefABCDEF" for c in seq[1:])
                and all(int(seq[i:i + 2], 16) < 0x80 for i in range(1, len(seq), 2))):
            continue
        return False
    return True


def mllp_frame(data):
    return SB + data + EB + CR


class MllpClient:
    """A blocking MLLP client that reads whole frames."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data, frame=True):
        self.sock.sendall(mllp_frame(data) if frame else data)

    def read_frame(self):
        """The next frame's content, or None when the server closed."""
        while True:
            s = self.buf.find(SB)
            if s >= 0:
                e = self.buf.find(EB, s)
                if e >= 0:
                    frame = self.buf[s + 1:e]
                    self.buf = self.buf[e + 1:]
                    if self.buf[:1] == CR:
                        self.buf = self.buf[1:]
                    return frame
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def request(self, data):
        self.send(data)
        return self.read_frame()

    def close(self):
        self.sock.close()


def ack_fields(ack):
    """(MSA-1, MSA-2, [ERR segments as lists of fields]) of an ACK."""
    segs = [s.split("|") for s in ack.decode("utf-8", "replace").split("\r") if s]
    msa = next((s for s in segs if s[0] == "MSA"), None)
    if msa is None:
        raise AssertionError("ACK without MSA: %r" % ack)
    errs = [s for s in segs if s[0] == "ERR"]
    return msa[1], (msa[2] if len(msa) > 2 else ""), errs


def adt_instance(env, name="gw", port=None, config=""):
    """An initialized instance with the MLLP listener on a free port."""
    port = port or harness.free_port()
    inst = env.instance(name, config="[mllp]\nlisten = 127.0.0.1:%d\nidle_timeout = 30s\n%s"
                        % (port, config))
    inst.mllp_port = port
    return inst


def start_serving(inst):
    inst.start()
    harness.wait_port(inst.mllp_port)
    return inst


def wait_rows(inst, want, timeout=10):
    deadline = time.time() + timeout
    rows = []
    while time.time() < deadline:
        import json
        r = inst.cli("adt", "list", "--json")
        rows = json.loads(r.stdout)
        if len(rows) >= want:
            return rows
        time.sleep(0.1)
    return rows
