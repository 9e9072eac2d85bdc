"""A federated network: one nats-server per nation, joined over mutual TLS (``warnlink network up/down``).

Each nation's server runs on 127.0.0.1 on its own ports, as if each nation ran its own
cluster, and trusts the federation's operator (accounts and users as JWTs, see
:mod:`warnlink.exchange.pki`). Only the nation's own certificates are pinned on its
client port, so only its own nodes and tools connect to it.

* ``hub``: every other nation's server connects to the hub nation's server as a
  *leafnode*, bound there to its own account, with its server certificate and its
  ``leaf.creds``. All traffic between nations passes through the hub, where each
  account exports to each partner only what is addressed to it.
* ``mesh``: every server connects to every partner's server as a leafnode bound to its
  own account, and through that link takes in only what the partner releases to it;
  traffic goes straight from origin to partner. (Gateways would join the servers into
  one super-cluster, which needs one JetStream meta-group across nations: not what
  separately run national systems want.) Per account the links form a star, so there
  are no loops.
* ``single``: one server for the whole federation, run by the hub nation, which every
  nation's node connects to directly (mutual TLS, every nation's client certificate
  pinned, each nation still its own account). No server-to-server hop: the baseline
  that isolates what TLS costs against a plain server, and a deployment for a
  federation that trusts one operator with its servers.

The servers outlive the command that started them (their own sessions); their process
ids and ports are in ``DIR/network/network.json``, which ``down`` uses to stop them. Each
nation's client URL is written to ``DIR/<NATION>/url``.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from warnlink.exchange.pki import Pki
from warnlink.exchange.server import NatsServerError, _quote, free_ports, nats_server_binary, said_ready, start_retrying

TOPOLOGIES = ("hub", "mesh", "single")


class NetworkError(RuntimeError):
    """A network that cannot be started, found or stopped; the message says which server and where its log is."""


@dataclass(frozen=True)
class Endpoint:
    """How a nation's node (or an outside tool) connects to its own server."""

    nation: str
    url: str
    creds: Path
    ca: Path
    cert: Path
    key: Path

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def endpoint(pki_dir: Path, nation: str) -> Endpoint:
    """The endpoint of ``nation`` on the network running under ``pki_dir``."""
    pki = Pki(pki_dir)
    files = pki.files(nation)
    try:
        url = files.url.read_text().strip()
    except FileNotFoundError:
        raise NetworkError(f"{files.url}: no network is up (run `warnlink network up {pki_dir}`)") from None
    return Endpoint(nation, url, files.user_creds, files.ca_pem, files.client_pem, files.client_key)


class Network:
    """The servers of a federation. ``up()`` and ``down()``; ``reload()`` after ``pki rotate``."""

    def __init__(self, pki_dir: Path) -> None:
        self.pki = Pki(pki_dir)
        self.dir = self.pki.root / "network"

    @property
    def state_path(self) -> Path:
        return self.dir / "network.json"

    def state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None

    def running(self) -> dict[str, bool]:
        state = self.state() or {"servers": {}}
        return {n: _alive(s["pid"], s["config"]) for n, s in state["servers"].items()}

    def up(self, topology: str = "hub", hub: str | None = None, *, timeout_s: float = 20.0) -> dict:
        if topology not in TOPOLOGIES:
            raise NetworkError(f"topology {topology!r} is not one of {', '.join(TOPOLOGIES)}")
        nations = self.pki.nations
        hub = hub or (nations[-1] if topology in ("hub", "single") else None)
        if topology in ("hub", "single") and hub not in nations:
            raise NetworkError(f"hub {hub!r} is not a nation of the federation ({', '.join(nations)})")
        if any(self.running().values()):
            raise NetworkError(f"a network is already up under {self.pki.root} (run `warnlink network down` first)")
        servers = [hub] if topology == "single" else nations
        logs = [self.dir / n / "server.log" for n in servers]
        return start_retrying(lambda offsets: self._up_once(topology, hub, servers, timeout_s, dict(zip(servers, offsets))),
                              logs, "network up")

    def _up_once(self, topology: str, hub: str | None, servers: list[str], timeout_s: float,
                 log_offsets: dict[str, int]) -> dict:
        """Start the servers on fresh ports; ``log_offsets``: where each server's log of this start begins."""
        binary = nats_server_binary()
        self.dir.mkdir(parents=True, exist_ok=True)
        picked = iter(free_ports(3 * len(servers)))
        ports = {n: {"client": next(picked), "monitor": next(picked), "link": next(picked)} for n in servers}
        state = {"topology": topology, "hub": hub, "servers": {}}
        procs: dict[str, subprocess.Popen] = {}
        try:
            for n in servers:
                config = self.dir / n / "server.conf"
                config.parent.mkdir(parents=True, exist_ok=True)
                state["servers"][n] = {"config": str(config), "port": ports[n]["client"],
                                       "monitor_port": ports[n]["monitor"], "link_port": ports[n]["link"], "pid": 0}
                self._write_config(n, state, ports)
            order = ([hub]  # the hub first, so the leafnodes find it at once
                      + [n for n in servers if n != hub]) if hub else servers
            for n in order:
                log_file = open(self.dir / n / "server.log", "ab")
                proc = subprocess.Popen([binary, "-c", state["servers"][n]["config"]], stdout=log_file,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
                log_file.close()
                procs[n] = proc
                state["servers"][n]["pid"] = proc.pid
                self.state_path.write_text(json.dumps(state, indent=1) + "\n")
            for n in order:
                self._wait_healthy(n, state, procs[n], timeout_s, log_offsets[n])
            self._wait_linked(state, timeout_s)
        except BaseException:
            for proc in procs.values():  # our own children: no need to find them by pid
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.down()
            raise
        for n in self.pki.nations:
            server = hub if topology == "single" else n
            self.pki.files(n).url.write_text(f"tls://127.0.0.1:{ports[server]['client']}\n")
        return state

    def _write_config(self, nation: str, state: dict, ports: dict) -> None:
        pki, files = self.pki, self.pki.files(nation)
        s = state["servers"][nation]
        pinned = pki.nations if state["topology"] == "single" else [nation]  # whose nodes may connect here
        client_pins = [pki.state()["pins"][f"{n}/client"] for n in pinned]

        def tls(pins: list[str] | None, verify: bool = True) -> str:
            lines = [f"cert_file: {_quote(str(files.server_pem))}", f"key_file: {_quote(str(files.server_key))}",
                     f"ca_file: {_quote(str(files.ca_pem))}", "timeout: 3"]
            if verify:
                lines.append("verify: true")
            if pins:
                lines.append("pinned_certs: [" + ", ".join(_quote(p) for p in pins) + "]")
            return "{ " + "\n    ".join(lines) + " }"

        preload = "\n".join(f"  {pub}: {_quote(jwt)}" for pub, jwt in pki.account_jwts().items())
        text = [f"server_name: {nation}", f"listen: 127.0.0.1:{s['port']}", f"http: 127.0.0.1:{s['monitor_port']}",
                "max_payload: 1MB", f"operator: {_quote(str(pki.operator_jwt_path()))}",
                f"system_account: {pki.system_account()}", "resolver: MEMORY",
                "resolver_preload: {\n" + preload + "\n}",
                f"jetstream: {{store_dir: {_quote(str(self.dir / nation / 'jetstream'))}, domain: {nation.lower()}}}",
                f"tls: {tls(client_pins)}"]
        hub = state["hub"]
        if state["topology"] == "single":
            leaf = []
        elif state["topology"] == "mesh" or nation == hub:  # accepts its partners' servers
            # a leafnode listener cannot reload pinned_certs, so its links are revoked through
            # their NATS user (leaf.creds, listed in the account JWT), which reloads
            leaf = [f"  listen: 127.0.0.1:{s['link_port']}", f"  tls: {tls(None)}"]
        else:
            leaf = []
        partners = [hub] if state["topology"] == "hub" and nation != hub else (
            [p for p in pki.nations if p != nation] if state["topology"] == "mesh" else [])
        remotes = []
        for p in partners:
            remote = [f"url: \"tls://127.0.0.1:{ports[p]['link']}\"", f"credentials: {_quote(str(files.leaf_creds))}",
                      f"account: {pki.account_public(nation)}", f"tls: {tls(None, verify=False)}"]
            if state["topology"] == "mesh":  # this link only brings in what the partner releases to us
                remote.append('deny_exports: ["wl.v1.>"]')
            remotes.append("{\n    " + "\n    ".join(remote) + "\n  }")
        if remotes:
            leaf.append("  remotes: [" + ", ".join(remotes) + "]")
        if leaf:
            text.append("leafnodes: {\n" + "\n".join(leaf) + "\n}")
        fd = os.open(s["config"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(text) + "\n")

    def _monitor(self, nation: str, state: dict, path: str) -> dict:
        port = state["servers"][nation]["monitor_port"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=1.0) as resp:
            return json.loads(resp.read())

    def _wait_healthy(self, nation: str, state: dict, proc: subprocess.Popen, timeout_s: float,
                      log_offset: int = 0) -> None:
        """Until the server's monitor answers and its log (from ``log_offset``) says it is ready."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise NetworkError(f"nats-server of {nation} exited with status {proc.returncode}; "
                                   f"see {self.dir / nation / 'server.log'}")
            try:
                self._monitor(nation, state, "healthz?js-enabled-only=true")
                if said_ready(self.dir / nation / "server.log", log_offset):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise NetworkError(f"nats-server of {nation} not ready after {timeout_s} s; see {self.dir / nation / 'server.log'}")

    def _wait_linked(self, state: dict, timeout_s: float) -> None:
        """Until every leafnode link is connected."""
        nations = list(state["servers"])
        if state["topology"] == "single":
            return
        deadline = time.monotonic() + timeout_s
        missing = ""
        while time.monotonic() < deadline:
            try:
                want = {n: (len(nations) - 1 if n == state["hub"] else 1) if state["topology"] == "hub"
                        else 2 * (len(nations) - 1) for n in nations}
                short = []
                for n in nations:
                    got = len(self._monitor(n, state, "leafz").get("leafs") or [])
                    if got < want[n]:
                        short.append(f"{n} {got}/{want[n]}")
                missing = f"leafnode links missing at {', '.join(short)}"
                if not short:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise NetworkError(f"network not linked after {timeout_s} s: {missing}; see the logs under {self.dir}")

    def reload(self, timeout_s: float = 20.0) -> None:
        """Rewrite every server's configuration from the PKI (pins, accounts, revocations) and reload it.

        Returns once every leafnode link is up again: a rotation revokes a link's old user,
        the link comes back with the new one, and a run started in between lost messages.
        """
        state = self.state()
        if state is None or not any(self.running().values()):
            raise NetworkError(f"no network is up under {self.pki.root}")
        ports = {n: {"client": s["port"], "monitor": s["monitor_port"], "link": s["link_port"]}
                 for n, s in state["servers"].items()}
        for n in state["servers"]:
            self._write_config(n, state, ports)
        for n, s in state["servers"].items():
            if _alive(s["pid"], s["config"]):
                os.kill(s["pid"], signal.SIGHUP)
        time.sleep(0.3)
        self._wait_linked(state, timeout_s)

    def down(self, timeout_s: float = 5.0) -> list[str]:
        """Stop every server this directory started; returns the nations whose server was running."""
        state = self.state()
        if state is None:
            return []
        stopped = []
        for n, s in state["servers"].items():
            if s.get("pid") and _alive(s["pid"], s["config"]):
                os.kill(s["pid"], signal.SIGTERM)
                stopped.append(n)
        deadline = time.monotonic() + timeout_s
        for n, s in state["servers"].items():
            while s.get("pid") and _alive(s["pid"], s["config"]) and time.monotonic() < deadline:
                time.sleep(0.05)
            if s.get("pid") and _alive(s["pid"], s["config"]):
                os.kill(s["pid"], signal.SIGKILL)
        for n in self.pki.nations:
            self.pki.files(n).url.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        return stopped


def _alive(pid: int, config: str) -> bool:
    """Whether ``pid`` is still the nats-server started with ``config`` (not a reused pid)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie: exited, not yet reaped
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return config.encode() in cmdline


__all__ = ["Network", "NetworkError", "Endpoint", "endpoint", "TOPOLOGIES", "NatsServerError"]
