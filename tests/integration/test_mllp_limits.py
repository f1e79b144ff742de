"""MLLP listener limits through a real `directgate serve`: a client cannot
lock out other hospitals or stall its own queue.

- [mllp] max_connections_per_ip: the N+1th connection from 127.0.0.1 is
  closed at once while the first N keep being served;
- [mllp] frame_timeout: a started frame left incomplete (also one trickled
  a byte at a time) is closed after the frame timeout, well before
  idle_timeout;
- an oversized frame is answered AE (CE in enhanced mode) with an ERR
  saying it is too large, and the next frame on the same connection AA;
- a peer that sends but never reads its ACKs is closed after idle_timeout
  while another client keeps getting AA."""
import os
import socket
import time

import adtutil
import harness

MSG = open(os.path.join(adtutil.GENERATED_HL7, "adt_a08_251.hl7"), "rb").read()


def msg(ctrl):
    return MSG.replace(b"GEN-A08-1", ctrl.encode())


def serve(env, config):
    inst = adtutil.adt_instance(env, config=config)
    inst.start()  # waits for event=ready: the listener is up (no probe
    return inst   # connection here: it would count against the per-IP cap)


def expect_aa(client, ctrl, what):
    ack = client.request(msg(ctrl))
    if ack is None:
        raise AssertionError("%s: connection closed, want AA" % what)
    msa1, msa2, errs = adtutil.ack_fields(ack)
    if msa1 != "AA" or msa2 != ctrl:
        raise AssertionError("%s: got %s for %r, want AA for %r (ERR %r)"
                             % (what, msa1, msa2, ctrl, errs))


def closed_within(client, seconds):
    """Seconds until the server closed client, or None when it did not
    within seconds (nothing is expected to be read)."""
    t0 = time.time()
    client.sock.settimeout(seconds)
    try:
        data = client.sock.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        data = b""
    if data:
        raise AssertionError("got %r, want the connection closed" % data[:200])
    return time.time() - t0


def test_per_ip_limit_refuses_only_the_extra_connection():
    with harness.Env("mllp-lim-ip") as env:
        inst = serve(env, "max_connections_per_ip = 3\n")
        clients = [adtutil.MllpClient(inst.mllp_port, timeout=10) for _ in range(3)]
        for i, c in enumerate(clients):
            expect_aa(c, "IP-%d" % i, "connection %d of 3" % (i + 1))
        extra = adtutil.MllpClient(inst.mllp_port, timeout=10)
        try:
            extra.send(msg("IP-EXTRA"))
        except OSError:
            pass  # closed before the write: also refused
        try:
            ack = extra.read_frame()
        except ConnectionResetError:
            ack = None
        if ack is not None:
            raise AssertionError("4th connection from 127.0.0.1: got %r, want it closed "
                                 "(max_connections_per_ip = 3)" % adtutil.ack_fields(ack)[0])
        extra.close()
        inst.wait_log(r"event=mllp_refused reason=per_ip_limit peer=127\.0\.0\.1\b", timeout=5)
        for i, c in enumerate(clients):
            expect_aa(c, "IP-%d-again" % i, "connection %d after the refusal" % (i + 1))
        clients[0].close()
        # A slot freed: a new connection is served again.
        inst.wait_log(r"event=mllp_close .*reason=eof", timeout=5)
        again = adtutil.MllpClient(inst.mllp_port, timeout=10)
        expect_aa(again, "IP-NEW", "new connection after one closed")
        for c in clients[1:] + [again]:
            c.close()


def test_frame_timeout_closes_a_started_frame_left_incomplete():
    with harness.Env("mllp-lim-frame") as env:
        inst = serve(env, "frame_timeout = 1s\nidle_timeout = 30s\n")
        ok = adtutil.MllpClient(inst.mllp_port, timeout=10)
        expect_aa(ok, "FT-0", "a normal frame")
        # A start block and half a message, then nothing.
        a = adtutil.MllpClient(inst.mllp_port, timeout=10)
        a.send(adtutil.SB + msg("FT-1")[:40], frame=False)
        took = closed_within(a, 8)
        if took is None:
            raise AssertionError("incomplete frame: still open after 8 s, want closed after "
                                 "frame_timeout = 1s (idle_timeout is 30s)")
        a.close()
        inst.wait_log(r"event=mllp_frame_timeout", timeout=5)
        # A frame trickled a byte every 0.3 s never completes in time, even
        # though bytes keep coming (the idle timer must not be what counts).
        b = adtutil.MllpClient(inst.mllp_port, timeout=10)
        framed = adtutil.mllp_frame(msg("FT-2"))
        t0 = time.time()
        closed = False
        for byte in framed:
            try:
                b.send(bytes([byte]), frame=False)
            except OSError:
                closed = True
                break
            if closed_within(b, 0.3) is not None:
                closed = True
                break
            if time.time() - t0 > 8:
                break
        if not closed:
            raise AssertionError("trickled frame: still open after %.1f s, want closed after "
                                 "frame_timeout = 1s" % (time.time() - t0))
        b.close()
        # A normal client is not affected.
        expect_aa(ok, "FT-3", "the other connection after the timeouts")
        ok.close()


def test_oversized_frame_gets_ae_and_the_connection_goes_on():
    with harness.Env("mllp-lim-big") as env:
        inst = serve(env, "max_frame = 2k\n")
        c = adtutil.MllpClient(inst.mllp_port, timeout=10)
        marker = b"SECRETPAYLOAD"
        big = msg("BIG-1") + b"ZZZ|" + marker * 400 + b"\r"
        ack = c.request(big)
        if ack is None:
            raise AssertionError("oversized frame: connection closed, want AE with an ERR")
        msa1, msa2, errs = adtutil.ack_fields(ack)
        if msa1 != "AE" or msa2 != "BIG-1":
            raise AssertionError("oversized frame: got %s for %r, want AE for 'BIG-1'"
                                 % (msa1, msa2))
        if not any(len(e) > 8 and e[3].startswith("102^") and e[4] == "E"
                   and "too large" in e[8] for e in errs):
            raise AssertionError("oversized frame: got ERR %r, want code 102, severity E, "
                                 "'too large'" % errs)
        expect_aa(c, "BIG-2", "the next frame on the same connection")
        # Enhanced mode (MSH-15 valued): CE.
        enh = msg("BIG-3").replace(b"|P|2.5.1", b"|P|2.5.1|||AL|NE", 1)
        ack = c.request(enh + b"ZZZ|" + marker * 400 + b"\r")
        if ack is None or adtutil.ack_fields(ack)[0] != "CE":
            raise AssertionError("oversized enhanced-mode frame: got %r, want CE"
                                 % (ack and adtutil.ack_fields(ack)[0]))
        expect_aa(c, "BIG-4", "the frame after the enhanced-mode one")
        c.close()
        line = inst.wait_log(r"event=mllp_frame_rejected[^\n]*reason=too_large size=(\d+)",
                             timeout=5)
        if int(line.group(1)) != len(big):
            raise AssertionError("log: got size=%s, want %d" % (line.group(1), len(big)))
        if marker.decode() in inst.log():
            raise AssertionError("the log holds the frame's content")


def test_peer_that_never_reads_is_closed_without_hurting_others():
    with harness.Env("mllp-lim-stall") as env:
        inst = serve(env, "idle_timeout = 2s\n")
        other = adtutil.MllpClient(inst.mllp_port, timeout=10)
        expect_aa(other, "ST-0", "the other client before")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", inst.mllp_port))
        s.setblocking(False)
        # Valid frames whose content is invalid (no PID): answered AE at
        # once, nothing stored; the ACKs are never read.
        bad = (b"MSH|^~\\&|SAPP|SFAC|R|RF|2025||ADT^A01^ADT_A01|N%d|P|2.5.1\r"
               b"EVN|A01\rPV1|1|I\r")
        data = b"".join(adtutil.mllp_frame(bad % i) for i in range(120000))
        sent, t0, closed, served, last = 0, time.time(), False, 0, 0.0
        while time.time() - t0 < 20 and sent < len(data):
            try:
                sent += s.send(data[sent:sent + 65536])
                continue
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
            if time.time() - last > 0.5:
                # The server stopped reading this peer: others are served
                # all along (and so stay active under idle_timeout).
                served += 1
                expect_aa(other, "ST-%d" % served, "the other client while a peer does "
                          "not read")
                last = time.time()
            if "event=mllp_write_stalled" in inst.log():
                closed = True
                break
            time.sleep(0.05)
        s.close()
        if sent >= len(data):
            raise AssertionError("sent %d bytes without the server ever pushing back" % sent)
        if not closed:
            raise AssertionError("a peer that never reads: not closed after %.1f s "
                                 "(idle_timeout = 2s)" % (time.time() - t0))
        inst.wait_log(r"event=mllp_write_stalled", timeout=5)
        inst.wait_log(r"event=mllp_close [^\n]*reason=write_stalled", timeout=5)
        expect_aa(other, "ST-LAST", "the other client after the stalled peer was closed")
        other.close()


if __name__ == "__main__":
    harness.run([test_per_ip_limit_refuses_only_the_extra_connection,
                 test_frame_timeout_closes_a_started_frame_left_incomplete,
                 test_oversized_frame_gets_ae_and_the_connection_goes_on,
                 test_peer_that_never_reads_is_closed_without_hurting_others])
