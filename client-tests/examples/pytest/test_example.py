"""What a test suite does with the fixture: flip a condition on the
running harness, see a raw client slowed, and wait for an event instead of
sleeping. Run: python3 -m pytest client-tests/examples/pytest"""

import socket
import struct
import time

# An X.224 Connection Request asking for TLS (what xfreerdp sends first).
NEG = struct.pack("<BBHI", 0x01, 0, 8, 0x1)
X224 = bytes([6 + len(NEG), 0xE0, 0, 0, 0, 0, 0]) + NEG
REQUEST = struct.pack(">BBH", 3, 0, 4 + len(X224)) + X224


def confirm_seconds(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    s.sendall(REQUEST)
    got = b""
    while len(got) < 19:
        chunk = s.recv(19 - len(got))
        assert chunk, "the harness closed before its Connection Confirm"
        got += chunk
    s.close()
    return time.monotonic() - t0


def delayed_bytes(rdpfault, mark):
    """The bytes the listener's conditions delayed on the connection that
    closed after `mark` (the harness's own account: 0 when none applied)."""
    e = rdpfault.api.wait_for(lambda e: e["event"] == "close", since=mark, timeout=10)
    return e.get("network", {}).get("downstream", {}).get("delayed_bytes", 0)


def test_latency_flipped_on_a_running_harness(rdpfault):
    # The link's delay is a floor the client measures; its absence is what
    # the harness says it did (a duration's ceiling would measure the machine).
    mark = rdpfault.api.events_next()
    confirm_seconds(rdpfault.port)
    assert delayed_bytes(rdpfault, mark) == 0
    rdpfault.api.add_toxic(rdpfault.listener, "latency", name="slow",
                           attributes={"latency": 300})
    mark = rdpfault.api.events_next()
    assert confirm_seconds(rdpfault.port) >= 0.3
    assert delayed_bytes(rdpfault, mark) >= 19  # the Connection Confirm
    rdpfault.api.remove_toxic(rdpfault.listener, "slow")
    mark = rdpfault.api.events_next()
    confirm_seconds(rdpfault.port)
    assert delayed_bytes(rdpfault, mark) == 0


def test_wait_for_an_event_instead_of_sleeping(rdpfault):
    mark = rdpfault.api.events_next()
    socket.create_connection(("127.0.0.1", rdpfault.port), timeout=10).close()
    e = rdpfault.api.wait_for(lambda e: e["event"] == "close", since=mark, timeout=10)
    assert e["reason"] in ("client-closed", "client-closed-before-request")
