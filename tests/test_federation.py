"""The federated network over real nats-servers and real mutual TLS: PKI, topology, and every attack.

One federation (ROK, JPN, USA) per module; a hub network (USA the hub) and a mesh network
are each started once with `warnlink network up`. The attacks are made with the
attacker's own, genuine credentials wherever the attack is by a partner, and are
refused by the servers (authorization, TLS) or by the receiving node (signatures,
sequence, format); each refusal is recorded, and the run around them loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import stat
from pathlib import Path

import msgspec
import pytest
from cryptography import x509
from typer.testing import CliRunner

from warnlink.cli import app
from warnlink.exchange.audit import verify_audit
from warnlink.exchange.envelope import Envelope, seal
from warnlink.exchange.network import Network, endpoint
from warnlink.exchange.pki import Pki
from warnlink.exchange.signing import NodeKey

SHORT = Path(__file__).parent / "scenarios" / "short_srbm.toml"
NATIONS = ["ROK", "JPN", "USA"]
SECRET_FILES = ["nation-ca.key", "server.key", "client.key", "account.nk", "user.creds", "leaf.creds", "signing.key"]


def _cli(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    """A PKI made by `warnlink pki init`, and the hub network (USA) up on it."""
    root = tmp_path_factory.mktemp("federation") / "fed"
    code, out = _cli("pki", "init", root, "--nations", ",".join(NATIONS))
    assert code == 0, out
    code, out = _cli("network", "up", root, "--topology", "hub", "--hub", "USA")
    assert code == 0, out
    yield root, out
    _cli("network", "down", root)


async def _connect(ep_or_nation, root=None, *, cert=None, key=None, creds=None, url=None):
    """A raw nats-py connection as a nation's tool would make it (own files unless told otherwise)."""
    import nats

    ep = endpoint(root, ep_or_nation)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ep.ca))
    if cert is not False:
        ctx.load_cert_chain(str(cert or ep.cert), str(key or ep.key))
    errors = []

    async def on_error(exc):
        errors.append(str(exc))

    nc = await nats.connect(url or ep.url, tls=ctx, user_credentials=str(creds or ep.creds), error_cb=on_error,
                            allow_reconnect=False, connect_timeout=3, max_reconnect_attempts=0)
    # with TLS 1.3 the server checks the client's certificate after the client thinks it is done:
    # only a round trip tells whether the server kept the connection
    await nc.flush(timeout=3)
    if not nc.is_connected:
        raise ConnectionError("the server closed the connection")
    return nc, errors


async def _try_identities(root, identities: dict) -> dict:
    """Label -> "connected" or "refused: why", connecting to JPN's server with each set of files."""
    outcomes = {}
    for label, kwargs in identities.items():
        try:
            nc, _ = await _connect("JPN", root, **kwargs)
            await nc.close()
            outcomes[label] = "connected"
        except Exception as exc:
            outcomes[label] = f"refused: {exc.__class__.__name__}: {exc}"
    return outcomes


def test_pki_files_are_private_chained_and_never_printed(federation):
    root, up_output = federation
    pki = Pki(root)
    for n in NATIONS:
        for name in SECRET_FILES:
            mode = stat.S_IMODE(os.stat(root / n / name).st_mode)
            assert mode == 0o600, f"{n}/{name} is {oct(mode)}"
        chain = x509.load_pem_x509_certificates((root / n / "client.pem").read_bytes())
        anchor = x509.load_pem_x509_certificates((root / n / "ca.pem").read_bytes())[0]
        chain[0].verify_directly_issued_by(chain[1])  # the nation's CA issued it
        chain[1].verify_directly_issued_by(anchor)  # the federation root issued the nation's CA
        assert chain[1].extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert stat.S_IMODE(os.stat(root / "federation" / "root.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(root / "federation" / "operator.nk").st_mode) == 0o600
    code, init_again = _cli("pki", "init", root, "--nations", "ROK,JPN")
    assert code == 2 and "already here" in init_again
    secrets = [(root / n / f).read_text() for n in NATIONS for f in SECRET_FILES]
    seeds = [line.strip() for s in secrets for line in s.splitlines() if line.startswith("S")]
    assert seeds and not any(seed in up_output for seed in seeds)
    for n in NATIONS:  # the network's URLs are where the issue says, for outside tools
        assert (root / n / "url").read_text().startswith("tls://127.0.0.1:")
    assert repr(pki.signing_key("ROK")).startswith("NodeKey(") and "PRIVATE" not in repr(pki.signing_key("ROK"))


def test_bad_pki_and_network_commands_are_clear(tmp_path):
    code, out = _cli("pki", "init", tmp_path / "x", "--nations", "ROK")
    assert code == 2 and "two or more" in out
    code, out = _cli("pki", "init", tmp_path / "x", "--nations", "ROK,jpn")
    assert code == 2 and "'jpn'" in out
    code, out = _cli("network", "up", tmp_path / "nothing")
    assert code == 2 and "no PKI here" in out
    code, out = _cli("run", SHORT, "--out", tmp_path / "r", "--network", tmp_path / "nothing")
    assert code == 2 and "no network is up" in out
    Pki.init(tmp_path / "f", ["ROK", "JPN"])
    code, out = _cli("network", "up", tmp_path / "f", "--topology", "ring")
    assert code == 2 and "'ring'" in out
    code, out = _cli("network", "up", tmp_path / "f", "--hub", "USA")
    assert code == 2 and "'USA'" in out


def test_no_valid_certificate_no_connection(federation, tmp_path):
    """Without a client certificate, with a self-made one, or with another nation's: the handshake fails."""
    root, _ = federation
    # a certificate from a CA outside the federation, made like ours
    rogue = Pki.init(tmp_path / "rogue", ["ROK", "JPN"])

    async def attempts():
        outcomes = await _try_identities(root, {
            "no certificate": {"cert": False},
            "outside CA": {"cert": rogue.files("JPN").client_pem, "key": rogue.files("JPN").client_key},
            "another nation's certificate": {"cert": root / "ROK" / "client.pem", "key": root / "ROK" / "client.key"},
        })
        nc, _ = await _connect("JPN", root)  # and the genuine one does connect
        await nc.close()
        return outcomes

    outcomes = asyncio.run(attempts())
    assert all(v.startswith("refused") for v in outcomes.values()), outcomes


def test_a_nation_cannot_publish_as_another_nor_read_what_is_not_released_to_it(federation):
    root, _ = federation

    async def scene():
        usa, _ = await _connect("USA", root)
        got_usa = []

        async def on_usa(msg):
            got_usa.append(msg.subject)

        await usa.subscribe("wl.v1.ROK.*.USA", cb=on_usa)
        await usa.subscribe("wl.v1.JPN.*.USA", cb=on_usa)
        await usa.flush()
        jpn, jpn_errors = await _connect("JPN", root)
        spied = []

        async def on_spy(msg):
            spied.append(msg.subject)

        await jpn.subscribe("wl.v1.ROK.*.USA", cb=on_spy)  # ROK's release to USA, not to JPN
        await jpn.subscribe("wl.v1.>", cb=on_spy)
        await jpn.publish("wl.v1.ROK.tracks.USA", b"forged as ROK")  # JPN speaking for ROK
        await jpn.flush()
        rok, _ = await _connect("ROK", root)
        await rok.publish("wl.v1.ROK.tracks.USA", b"genuine")
        await rok.flush()
        await asyncio.sleep(0.5)
        for c in (usa, jpn, rok):
            await c.close()
        return got_usa, spied, jpn_errors

    got_usa, spied, jpn_errors = asyncio.run(scene())
    assert got_usa == ["wl.v1.ROK.tracks.USA"], got_usa  # the genuine one only, through the hub
    assert spied == []
    text = " ".join(jpn_errors).lower()  # nats-py lower-cases the server's -ERR
    assert 'permissions violation for publish to "wl.v1.rok.tracks.usa"' in text, jpn_errors
    assert 'permissions violation for subscription to "wl.v1.rok.*.usa"' in text, jpn_errors


def test_an_oversized_message_is_refused_by_the_server(federation):
    """A payload over the federation's 1 MB limit, sent as raw protocol (past the client library's own check)."""
    import nkeys

    root, _ = federation
    ep = endpoint(root, "ROK")
    creds = ep.creds.read_text().split("\n")
    jwt, seed = creds[1], [line for line in creds if line.startswith("SU")][0]
    host, port = ep.url.removeprefix("tls://").split(":")
    ctx = ep.ssl_context()
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        info = json.loads(raw.recv(65536).decode().split(" ", 1)[1])
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            sig = nkeys.from_seed(bytearray(seed.encode())).sign(info["nonce"].encode())
            import base64

            connect = {"jwt": jwt, "sig": base64.urlsafe_b64encode(sig).rstrip(b"=").decode(), "verbose": False,
                       "pedantic": False, "tls_required": True, "protocol": 1}
            tls.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
            assert b"PONG" in _read_until(tls, b"PONG")
            big = 2 * 1024 * 1024
            tls.sendall(f"PUB wl.v1.ROK.tracks.JPN {big}\r\n".encode())  # the server answers the header
            answer = _read_until(tls, b"-ERR")
    assert b"Maximum Payload" in answer, answer


def _read_until(sock, token: bytes) -> bytes:
    data = b""
    while token not in data:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture(scope="module")
def single_server_run(tmp_path_factory):
    """The short scenario over the plain per-run nats-server: the picture to compare with."""
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    out = tmp_path_factory.mktemp("single")
    return run_scenario(load_scenario(SHORT), out, RunOptions(transport="nats")), out


@pytest.mark.slow
@pytest.mark.parametrize("topology", ["hub", "mesh", "single"])
def test_a_run_on_the_network_gives_the_single_server_picture(tmp_path, topology, single_server_run):
    from warnlink.runner import RunOptions, run_scenario
    from warnlink.scenario.loader import load_scenario

    scenario = load_scenario(SHORT)
    single, single_dir = single_server_run
    root = tmp_path / "fed"
    Pki.init(root, NATIONS)
    network = Network(root)
    network.up(topology, None if topology == "mesh" else "USA")
    try:
        on_network = run_scenario(scenario, tmp_path / "network", RunOptions(network=root))
    finally:
        assert set(network.down()) == ({"USA"} if topology == "single" else set(NATIONS))
    assert not any(network.running().values())
    assert not any(Pki(root).files(n).url.exists() for n in NATIONS)
    assert on_network.metrics["run"]["transport"] == "network"
    assert on_network.metrics["messages"]["lost"] == 0 and on_network.metrics["messages"]["rejected"] == 0
    assert on_network.metrics["alerts"] == single.metrics["alerts"]
    for n in NATIONS:
        a = json.loads((tmp_path / "network" / "records" / f"{n}.json").read_text())
        b = json.loads((single_dir / "records" / f"{n}.json").read_text())
        for key in ("tracks", "predictions", "alerts", "renames"):
            assert a[key] == b[key], (n, key)
    for run in (tmp_path / "network", single_dir):
        for audit in run.rglob("*.audit.jsonl"):
            assert verify_audit(audit).ok, audit


@pytest.mark.slow
def test_every_attack_during_a_run_is_refused_recorded_and_nothing_else_is_lost(tmp_path):
    """A run on the hub network while a partner and a compromised hub attack it.

    At t = 150 s: ROK's genuine message to JPN, captured, is replayed; a copy with one
    byte of its body changed is injected as if the hub had altered it in transit (the hub
    carries ROK's traffic in ROK's account, so that is where a relay's forgery appears);
    a message signed with ROK's revoked key (rotated before the run) and a malformed one
    are sent on ROK's subject. JPN, with its own genuine credentials, publishes as ROK and
    subscribes to ROK's release to USA. Then the nodes' counters, archives and audit logs.
    """
    from warnlink.runner import RunOptions, run_scenario_async
    from warnlink.scenario.loader import load_scenario

    scenario = load_scenario(SHORT)
    root = tmp_path / "fed"
    pki = Pki.init(root, NATIONS)
    old_rok_key = pki.signing_key("ROK")
    old_jpn_cert = (root / "JPN" / "client.pem").read_bytes(), (root / "JPN" / "client.key").read_bytes()
    old_jpn_creds = (root / "JPN" / "user.creds").read_bytes()
    network = Network(root)
    network.up("hub", "USA")
    captured: list[tuple[str, bytes]] = []
    results = {}

    async def main():
        rok, _ = await _connect("ROK", root)
        tap, _ = await _connect("JPN", root)  # a copy of what ROK sends JPN, as JPN sees it

        async def on_tap(msg):
            captured.append((msg.subject, msg.data))

        await tap.subscribe("wl.v1.ROK.tracks.JPN", cb=on_tap)
        await tap.flush()

        async def attack(t_s, nodes):
            if t_s != 150:
                return
            subject, data = next((s, d) for s, d in reversed(captured))
            await rok.publish(subject, data)  # replayed
            env = msgspec.msgpack.decode(data, type=Envelope)
            body = bytearray(env.body)
            body[len(body) // 2] ^= 0x01
            env.body = bytes(body)
            await rok.publish(subject, msgspec.msgpack.encode(env))  # altered in transit
            await rok.publish(subject, seal(msgspec.msgpack.decode(data, type=Envelope).body, old_rok_key,
                                            10**9, env.sent_ns))  # revoked key
            await rok.publish(subject, b"\x93not an envelope")  # malformed
            await rok.publish(subject, b"x" * (200 * 1024))  # over the node's 64 kB envelope limit
            await rok.flush()
            jpn, errors = await _connect("JPN", root)
            await jpn.publish("wl.v1.ROK.tracks.USA", b"JPN speaking as ROK")
            await jpn.subscribe("wl.v1.ROK.*.USA")
            await jpn.flush()
            await asyncio.sleep(0.3)
            await jpn.close()
            results["jpn_errors"] = errors

        try:
            return await run_scenario_async(scenario, tmp_path / "run", RunOptions(network=root), on_step=attack)
        finally:
            await rok.close()
            await tap.close()

    # ROK's keys are rotated before the run, JPN's client certificate and user during it would
    # take the network down; rotate JPN's now and check its old identity is locked out.
    code, out = _cli("pki", "rotate", root, "--nation", "ROK")
    assert code == 0 and "running servers reloaded" in out and old_rok_key.key_id in out, out
    code, out = _cli("pki", "rotate", root, "--nation", "JPN")
    assert code == 0, out
    keep = tmp_path / "old-jpn"
    keep.mkdir()
    (keep / "client.pem").write_bytes(old_jpn_cert[0])
    (keep / "client.key").write_bytes(old_jpn_cert[1])
    (keep / "user.creds").write_bytes(old_jpn_creds)

    async def old_identity():
        return await _try_identities(root, {"revoked certificate": {"cert": keep / "client.pem", "key": keep / "client.key"},
                                            "revoked user": {"creds": keep / "user.creds"}})

    try:
        locked_out = asyncio.run(old_identity())
        result = asyncio.run(main())
    finally:
        network.down()
    assert all(v.startswith("refused") for v in locked_out.values()), locked_out
    assert "authorization violation" in locked_out["revoked user"].lower()

    jpn = result.nodes["JPN"].counters.rejected
    for reason in ("replay", "bad_signature", "revoked_key", "malformed", "oversized"):
        assert jpn.get(reason, 0) == 1, (reason, jpn)
    assert sum(sum(node.counters.rejected.values()) for node in result.nodes.values()) == 5
    errors = " ".join(results["jpn_errors"]).lower()
    assert "permissions violation for publish" in errors and "permissions violation for subscription" in errors
    m = result.metrics
    assert m["messages"]["lost"] == 0 and m["messages"]["rejected"] == 5
    assert m["alerts"]["true"] >= 1 and m["alerts"]["false"] == 0 and m["alerts"]["missed"] == 0
    audit = next((tmp_path / "run").rglob("JPN*.audit.jsonl"))
    reasons = [json.loads(line).get("reason") for line in audit.read_text().splitlines()]
    assert sorted(r for r in reasons if r) == ["bad_signature", "malformed", "oversized", "replay", "revoked_key"]
    assert verify_audit(audit).ok
    lines = audit.read_text().splitlines()
    audit.write_text("\n".join(lines[:3] + lines[4:]) + "\n")  # a record deleted: detected
    assert not verify_audit(audit).ok
    shutil.rmtree(keep)


def test_a_network_whose_port_was_taken_comes_up_on_others(tmp_path, monkeypatch, caplog):
    """A port picked free may be taken by another process before a server binds it (here the
    hub's client port): `network up` starts the servers again on other ports."""
    import warnlink.exchange.network as network_module

    root = tmp_path / "fed"
    Pki.init(root, NATIONS)
    network = Network(root)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real, calls = network_module.free_ports, []

        def picked(count):
            calls.append(count)
            ports = real(count)
            return [taken] + ports[1:] if len(calls) == 1 else ports

        monkeypatch.setattr(network_module, "free_ports", picked)
        state = network.up("hub", "USA")
        try:
            assert len(calls) == 2 and "taken before its server could bind it" in caplog.text
            assert all(network.running().values())
            used = {p for s in state["servers"].values() for p in (s["port"], s["monitor_port"], s["link_port"])}
            assert taken not in used and len(used) == 3 * len(NATIONS)
            assert all(Pki(root).files(n).url.read_text().strip().endswith(str(state["servers"][n]["port"]))
                       for n in NATIONS)
        finally:
            network.down()
