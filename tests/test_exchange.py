"""Exchange: sealed envelopes, refusals with reasons, the audit chain, and the real nats-server's accounts."""

from __future__ import annotations

import asyncio
import json
import os
import time

import msgspec
import numpy as np
import pytest

from warnlink.exchange.audit import AuditLog, verify_audit
from warnlink.exchange.envelope import Envelope, Rejected, Sealer, Verifier, seal, signed_bytes
from warnlink.exchange.server import PORT_ATTEMPTS, NatsServer, NatsServerError, free_ports
from warnlink.exchange.signing import KeyRing, NodeKey
from warnlink.exchange.transport import MemoryBus, MemoryTransport, NatsTransport, subject_for
from warnlink.messages import TrackReport, pack_covariance

NOW = time.time_ns()


def _track(origin="ROK", n=1):
    return TrackReport(origin=origin, track_id=f"{origin}-T{n}", time_ns=NOW, state_ecef=[-3.0e6, 4.0e6, 3.9e6, 100.0, 2000.0, 500.0],
                       covariance=pack_covariance(np.eye(6) * 100.0), boost_probability=0.1, initiated_ns=NOW, updates=5)


@pytest.fixture()
def keys():
    k = {n: NodeKey.generate(n) for n in ("ROK", "JPN", "USA")}
    ring = KeyRing()
    for n, key in k.items():
        ring.add(n, key.public_bytes())
    return k, ring


def test_sealed_message_opens_with_its_body(keys):
    k, ring = keys
    seq, data = Sealer(k["ROK"]).seal(_track(), NOW)
    opened = Verifier(ring).open("wl.v1.ROK.tracks", data, NOW)
    assert opened.envelope.seq == seq == 1 and opened.body == _track()


def _reason(verifier, subject, data, now=NOW):
    with pytest.raises(Rejected) as info:
        verifier.open(subject, data, now)
    return info.value.reason


def test_a_genuine_partners_track_that_is_no_missiles_is_refused_as_malformed(keys):
    """Signed by its own key, a track whose covariance no filter makes (a variance of 1e300 m^2)
    is refused before it reaches the fusion, whose matrix inverse it made fail (LinAlgError:
    the receiving node down); the reason names the field."""
    k, ring = keys
    raw = msgspec.msgpack.decode(msgspec.msgpack.encode(_track()))
    raw["covariance"] = [1e300 if i in (0, 6, 11) else 0.0 for i in range(21)]
    data = seal(msgspec.msgpack.encode(raw), k["ROK"], 1, NOW)
    with pytest.raises(Rejected, match="position sigma 1e\\+150") as info:
        Verifier(ring).open("wl.v1.ROK.tracks", data, NOW)
    assert info.value.reason == "malformed"


def test_forged_tampered_replayed_and_misplaced_messages_are_refused(keys):
    k, ring = keys
    v = Verifier(ring)
    # JPN's key signing a message that claims to come from ROK.
    forged = msgspec.msgpack.decode(seal(_track(), k["JPN"], 1, NOW), type=Envelope)
    forged.origin = "ROK"
    forged.sig = k["JPN"].sign(signed_bytes(forged))
    assert _reason(v, "wl.v1.ROK.tracks", msgspec.msgpack.encode(forged)) == "bad_signature"
    # One byte of the body changed on the way.
    good = seal(_track(), k["ROK"], 1, NOW)
    env = msgspec.msgpack.decode(good, type=Envelope)
    env.body = env.body[:-1] + bytes([env.body[-1] ^ 1])
    assert _reason(v, "wl.v1.ROK.tracks", msgspec.msgpack.encode(env)) == "bad_signature"
    # The genuine message once, then again.
    v.open("wl.v1.ROK.tracks", good, NOW)
    assert _reason(v, "wl.v1.ROK.tracks", good) == "replay"
    # ROK's genuine message relayed on JPN's subject, or a track on the alert subject.
    assert _reason(Verifier(ring), "wl.v1.JPN.tracks", good) == "wrong_subject"
    assert _reason(Verifier(ring), "wl.v1.ROK.alert", good) == "wrong_subject"
    # Old, future, oversized, garbage, unknown and revoked keys.
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", seal(_track(), k["ROK"], 1, NOW - 10**12)) == "stale"
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", seal(_track(), k["ROK"], 1, NOW + 10**12)) == "future"
    assert _reason(Verifier(ring, max_bytes=100), "wl.v1.ROK.tracks", good) == "oversized"
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", b"\x93garbage") == "malformed"
    stranger = NodeKey.generate("ROK")
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", seal(_track(), stranger, 1, NOW)) == "unknown_key"
    ring.revoke(k["ROK"].key_id)
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", good) == "revoked_key"


def test_body_origin_must_match_the_envelope(keys):
    k, ring = keys
    data = seal(_track(origin="JPN"), k["ROK"], 1, NOW)
    assert _reason(Verifier(ring), "wl.v1.ROK.tracks", data) == "origin_mismatch"


def test_random_bytes_never_escape_as_anything_but_rejected(keys):
    k, ring = keys
    rng = np.random.default_rng(0)
    good = bytearray(seal(_track(), k["ROK"], 1, NOW))
    v = Verifier(ring)
    for i in range(400):
        if i % 2:
            data = rng.bytes(int(rng.integers(0, 300)))
        else:
            data = bytearray(good)
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            data = bytes(data)
        try:
            v.open("wl.v1.ROK.tracks", data, NOW)
        except Rejected:
            pass


def test_key_files_are_private_and_never_printed(tmp_path, keys):
    k, ring = keys
    path = tmp_path / "rok.key"
    k["ROK"].save(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "PRIVATE" not in repr(k["ROK"]) and k["ROK"].key_id in repr(k["ROK"])
    again = NodeKey.load("ROK", path)
    assert again.key_id == k["ROK"].key_id
    ring.save(tmp_path / "ring.json")
    assert KeyRing.load(tmp_path / "ring.json").nation_of(k["USA"].key_id) == "USA"


def _audit(tmp_path, n=5):
    path = tmp_path / "ROK.audit.jsonl"
    with AuditLog(path, "ROK") as log:
        for i in range(n):
            log.record("sent", subject="wl.v1.ROK.tracks", seq=i + 1)
    return path


def test_audit_chain_verifies_and_names_the_broken_record(tmp_path):
    path = _audit(tmp_path)
    assert verify_audit(path).ok
    lines = path.read_text().splitlines()
    altered = json.loads(lines[2])
    altered["seq"] = 99
    cases = {
        "altered": lines[:2] + [json.dumps(altered, sort_keys=True, separators=(",", ":"))] + lines[3:],
        "deleted": lines[:2] + lines[3:],
        "reordered": lines[:1] + [lines[2], lines[1]] + lines[3:],
        "truncated": lines[:-1],
    }
    expected_at = {"altered": 2, "deleted": 2, "reordered": 1, "truncated": 5}
    for name, content in cases.items():
        path.write_text("\n".join(content) + "\n")
        verdict = verify_audit(path)
        assert not verdict.ok, name
        assert verdict.first_bad == expected_at[name], (name, verdict)


def test_subjects():
    assert subject_for("ROK", "tracks") == "wl.v1.ROK.tracks"
    for nation, kind in (("rok", "tracks"), ("ROK", "plots"), ("R", "tracks")):
        with pytest.raises(ValueError):
            subject_for(nation, kind)


async def _exchange(transports, publisher, raw_subject=None, spy=None):
    """``publisher`` releases 20 messages to each partner, each copy marked with its recipient."""
    got = {n: [] for n in transports}
    for n, t in transports.items():
        await t.connect()
        await t.subscribe_partners([p for p in transports if p != n], lambda s, d, w, n=n: got[n].append((s, d)))
    for t in transports.values():  # every subscription reaches the server before the first publish
        await t.flush()
    spied = []
    if spy is not None:  # another nation's own credentials, subscribing to what was not released to it
        url, user, password, subject = spy
        import nats

        errors = []

        async def on_error(exc):
            errors.append(str(exc))

        async def on_message(msg):
            spied.append(msg.subject)

        raw = await nats.connect(url, user=user, password=password, error_cb=on_error)
        await raw.subscribe(subject, cb=on_message)
        await raw.flush()
    partners = [p for p in transports if p != publisher]
    for i in range(20):
        for to in partners:
            assert await transports[publisher].publish("tracks", f"m{i}-{to}".encode(), f"{publisher}-{i}-{to}", to)
    if raw_subject:
        await transports[publisher].publish_raw(raw_subject, b"forged")
    for t in transports.values():
        await t.flush()
    for _ in range(200):
        if all(len(got[n]) >= 20 for n in partners):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    for t in transports.values():
        await t.close()
    if spy is not None:
        await raw.close()
        return got, spied, errors
    return got


@pytest.mark.parametrize("kind", ["nats", "memory"])
def test_partners_receive_in_order_and_a_publish_as_another_nation_is_refused(tmp_path, kind):
    nations = ["ROK", "JPN", "USA"]
    if kind == "nats":
        with NatsServer(tmp_path, nations) as server:
            transports = {n: NatsTransport(server.url, n, *server.credentials(n)) for n in nations}
            got = asyncio.run(_exchange(transports, "ROK", raw_subject="wl.v1.JPN.tracks.USA"))
    else:
        bus = MemoryBus()
        transports = {n: MemoryTransport(bus, n) for n in nations}
        got = asyncio.run(_exchange(transports, "ROK", raw_subject="wl.v1.JPN.tracks.USA"))
    for n in ("JPN", "USA"):
        assert got[n] == [(f"wl.v1.ROK.tracks.{n}", f"m{i}-{n}".encode()) for i in range(20)]
    assert got["ROK"] == []
    assert any("ermissions" in e for e in transports["ROK"].errors), transports["ROK"].errors


def test_a_partner_cannot_read_what_was_released_to_another(tmp_path):
    """JPN, with its own credentials, subscribes to ROK's release to USA: the server refuses."""
    nations = ["ROK", "JPN", "USA"]
    with NatsServer(tmp_path, nations) as server:
        transports = {n: NatsTransport(server.url, n, *server.credentials(n)) for n in nations}
        got, spied, errors = asyncio.run(_exchange(
            transports, "ROK", spy=(server.url, *server.credentials("JPN"), "wl.v1.ROK.tracks.USA")))
    assert len(got["USA"]) == 20 and spied == []
    assert any("ermissions" in e for e in errors), errors
    with NatsServer(tmp_path / "wide", nations) as server:
        transports = {n: NatsTransport(server.url, n, *server.credentials(n)) for n in nations}
        got, spied, errors = asyncio.run(_exchange(
            transports, "ROK", spy=(server.url, *server.credentials("JPN"), "wl.v1.ROK.>")))
    # A wildcard is refused outright as well: JPN may subscribe only to what is addressed to JPN.
    assert spied == [] and any("ermissions" in e for e in errors)


def test_a_message_addressed_to_another_partner_is_refused(keys):
    k, ring = keys
    data = seal(_track(), k["ROK"], 1, NOW)
    assert Verifier(ring, me="JPN").open("wl.v1.ROK.tracks.JPN", data, NOW).body == _track()
    assert _reason(Verifier(ring, me="JPN"), "wl.v1.ROK.tracks.USA", data) == "wrong_subject"


def test_server_is_stopped_on_error(tmp_path):
    server = NatsServer(tmp_path, ["ROK", "JPN"])
    with pytest.raises(RuntimeError, match="boom"):
        with server:
            proc = server.process
            assert server.running
            raise RuntimeError("boom")
    assert proc.poll() is not None and not server.running


def test_free_ports_are_distinct():
    ports = free_ports(64)
    assert len(set(ports)) == 64 and all(1024 <= p <= 65535 for p in ports)


def _ports_taken_first(monkeypatch, module, taken_port: int, times: int) -> list[int]:
    """Make ``module.free_ports`` give ``taken_port`` first in its first ``times`` calls; returns the calls' counts."""
    real, calls = module.free_ports, []

    def picked(count):
        calls.append(count)
        ports = real(count)
        return [taken_port] + ports[1:] if len(calls) <= times else ports

    monkeypatch.setattr(module, "free_ports", picked)
    return calls


@pytest.fixture()
def squatter():
    """A port another process holds, as one picked free may be by the time a server binds it."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_server_whose_port_was_taken_starts_on_others(tmp_path, monkeypatch, caplog, squatter):
    import warnlink.exchange.server as server_module

    calls = _ports_taken_first(monkeypatch, server_module, squatter, times=1)
    with NatsServer(tmp_path, ["ROK", "JPN"]) as server:
        assert server.running and squatter not in (server.port, server.monitor_port)
        transports = {n: NatsTransport(server.url, n, *server.credentials(n)) for n in ("ROK", "JPN")}
        assert len(asyncio.run(_exchange(transports, "ROK"))["JPN"]) == 20
    assert len(calls) == 2 and "taken before its server could bind it" in caplog.text


def test_a_server_whose_ports_are_always_taken_says_so(tmp_path, monkeypatch, squatter):
    import warnlink.exchange.server as server_module

    calls = _ports_taken_first(monkeypatch, server_module, squatter, times=PORT_ATTEMPTS)
    with pytest.raises(NatsServerError, match="exited with status"):
        NatsServer(tmp_path, ["ROK", "JPN"]).start()
    assert len(calls) == PORT_ATTEMPTS
    assert "address already in use" in (tmp_path / "nats" / "server.log").read_text()


def test_audit_verify_command(tmp_path):
    from typer.testing import CliRunner

    from warnlink.cli import app

    path = _audit(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", str(tmp_path)])
    assert ok.exit_code == 0 and "ok" in ok.output
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    bad = runner.invoke(app, ["audit", "verify", str(path)])
    text = " ".join(bad.output.split())
    assert bad.exit_code == 1 and "TAMPERED" in text and "record 1 carries index 2" in text
    assert runner.invoke(app, ["audit", "verify", str(tmp_path / "nothing")]).exit_code == 2


def test_a_transport_whose_server_hangs_still_closes_within_its_bound(tmp_path):
    """A node stopping (Ctrl-C) while its nats-server does not answer: the drain is given up
    after ``CLOSE_S`` and the connection closed, instead of nats-py's 30 s drain and 10 s flush."""
    import os
    import signal
    import time

    from warnlink.exchange.transport import CLOSE_S

    nations = ["ROK", "JPN"]
    with NatsServer(tmp_path, nations) as server:
        transport = NatsTransport(server.url, "ROK", *server.credentials("ROK"))

        async def hang_then_close() -> float:
            await transport.connect()
            await transport.subscribe_partners(["JPN"], lambda *_: None)
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                start = time.monotonic()
                await transport.close()
                return time.monotonic() - start
            finally:
                os.kill(server.process.pid, signal.SIGCONT)

        took = asyncio.run(hang_then_close())
    assert transport.nc.is_closed
    assert took < CLOSE_S + 3.0, took
    assert any("drain" in e for e in transport.errors), transport.errors
