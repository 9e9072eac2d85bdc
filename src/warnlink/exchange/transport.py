"""Transports: how a node's sealed messages reach its partners. One interface, two implementations.

``NatsTransport`` publishes through JetStream on the node's own account (the server
acknowledges and stores every message; ``Nats-Msg-Id`` deduplicates a resend) and
receives its partners' subjects, imported into its account, through core
subscriptions. ``MemoryTransport`` does the same in process, for unit tests and
``--transport memory``: the same subject rules, delivery in publish order.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable

KINDS = ("tracks", "launch", "alert")
DRAIN_S = 2.0  # a closing connection waits this long for its subscriptions' pending messages
CLOSE_S = 5.0  # and this long for the whole drain, before it simply closes
NATION_RE = re.compile(r"^[A-Z]{2,8}$")
Handler = Callable[[str, bytes, int], None]  # (subject, data, received wall ns)


class TransportError(RuntimeError):
    """A transport that cannot connect or publish; the message says where and why."""


def subject_for(nation: str, kind: str, to: str | None = None) -> str:
    """``wl.v1.<NATION>.<kind>.<PARTNER>``: what ``nation`` releases to ``to`` (``wl.v1.<NATION>.<kind>`` without).

    A nation publishes only under its own ``wl.v1.<NATION>.>``; each partner's account
    imports only the subjects that end in its own name, so what is released to one
    partner never reaches another.
    """
    for who in (nation,) + ((to,) if to is not None else ()):
        if not NATION_RE.match(who):
            raise ValueError(f"nation {who!r} is not 2-8 upper-case letters")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return f"wl.v1.{nation}.{kind}" + (f".{to}" if to is not None else "")


class _Counters:
    def __init__(self) -> None:
        self.published = 0
        self.acked = 0
        self.received = 0
        self.errors: list[str] = []


class MemoryBus:
    """The in-process 'server': subscriptions by nation, delivery in publish order."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, list[str], Handler]] = []  # (nation, partner origins, handler)

    def subscribe(self, nation: str, origins: list[str], handler: Handler) -> None:
        self._subscribers.append((nation, list(origins), handler))

    def deliver(self, origin: str, subject: str, data: bytes) -> None:
        to = subject.split(".")[4] if subject.count(".") == 4 else None
        for nation, origins, handler in self._subscribers:
            if nation != origin and origin in origins and nation == to:
                handler(subject, data, time.time_ns())


class MemoryTransport(_Counters):
    def __init__(self, bus: MemoryBus, nation: str) -> None:
        super().__init__()
        self.bus = bus
        self.nation = nation

    async def connect(self) -> None:
        return None

    async def subscribe_partners(self, partners: list[str], handler: Handler) -> None:
        def counted(subject: str, data: bytes, wall_ns: int) -> None:
            self.received += 1
            handler(subject, data, wall_ns)

        self.bus.subscribe(self.nation, partners, counted)

    async def publish(self, kind: str, data: bytes, msg_id: str, to: str) -> bool:
        subject = subject_for(self.nation, kind, to)
        self.published += 1
        self.bus.deliver(self.nation, subject, bytes(data))
        self.acked += 1
        return True

    async def publish_raw(self, subject: str, data: bytes) -> None:
        """Publish on any subject, as a misbehaving client would; refused like the server refuses it."""
        if not subject.startswith(f"wl.v1.{self.nation}."):
            self.errors.append(f"Permissions Violation for Publish to {subject!r}")
            return
        self.bus.deliver(self.nation, subject, bytes(data))

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _quiet_asyncio_tls_notice() -> None:
    """nats-py's protocol returns True from eof_received(), which asyncio notes on every TLS close: harmless."""
    logger = logging.getLogger("asyncio")
    if not any(getattr(f, "warnlink", False) for f in logger.filters):
        def keep(record: logging.LogRecord) -> bool:
            return "eof_received() has no effect when using ssl" not in record.getMessage()
        keep.warnlink = True
        logger.addFilter(keep)


class NatsTransport(_Counters):
    """One nation's connection to a nats-server, as that nation's user."""

    def __init__(self, url: str, nation: str, user: str | None = None, password: str | None = None, *,
                 tls=None, creds: str | None = None) -> None:
        """``user``/``password`` on a per-run server; ``creds`` (a .creds file) and ``tls`` on a federated network."""
        super().__init__()
        self.url = url
        self.nation = nation
        self._user = user
        self._password = password
        self._tls = tls
        self._creds = creds
        self.nc = None
        self.js = None

    async def connect(self) -> None:
        import nats

        if self._tls is not None:
            _quiet_asyncio_tls_notice()

        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        try:
            auth = {"user_credentials": self._creds} if self._creds else {"user": self._user, "password": self._password}
            self.nc = await nats.connect(self.url, **auth, tls=self._tls,
                                         error_cb=on_error, allow_reconnect=True, max_reconnect_attempts=5,
                                         connect_timeout=5, drain_timeout=DRAIN_S, name=f"warnlink-{self.nation}")
        except Exception as exc:  # nats raises several kinds; one clear error names the server
            raise TransportError(f"{self.nation}: cannot connect to {self.url}: {exc}") from exc
        self.js = self.nc.jetstream()
        from nats.js.api import StreamConfig

        stream = StreamConfig(name=f"WL_{self.nation}", subjects=[f"wl.v1.{self.nation}.>"],
                              duplicate_window=120.0)
        try:
            await self.js.add_stream(stream)
        except Exception as exc:
            raise TransportError(f"{self.nation}: cannot create stream WL_{self.nation}: {exc}") from exc

    async def subscribe_partners(self, partners: list[str], handler: Handler) -> None:
        async def on_message(msg) -> None:
            self.received += 1
            handler(msg.subject, msg.data, time.time_ns())

        for partner in partners:
            await self.nc.subscribe(f"wl.v1.{partner}.*.{self.nation}", cb=on_message)
        await self.nc.flush()

    async def publish(self, kind: str, data: bytes, msg_id: str, to: str) -> bool:
        subject = subject_for(self.nation, kind, to)
        self.published += 1
        try:
            ack = await self.js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}, timeout=5.0)
        except Exception as exc:
            self.errors.append(f"publish {subject} {msg_id}: {exc}")
            return False
        if ack.duplicate:
            self.errors.append(f"publish {subject} {msg_id}: duplicate")
        self.acked += 1
        return True

    async def publish_raw(self, subject: str, data: bytes) -> None:
        """Core publish on any subject (the server enforces the permissions; errors land in ``errors``)."""
        await self.nc.publish(subject, data)

    async def flush(self) -> None:
        await self.nc.flush()

    async def close(self) -> None:
        """Drain (deliver what is in flight), but never for longer than ``CLOSE_S``: then close.

        nats-py's own bounds (30 s to drain, then 10 s to flush) would let a stopping node
        outlast a Ctrl-C's patience when its server is slow or gone.
        """
        if self.nc is None or self.nc.is_closed:
            return
        try:
            await asyncio.wait_for(self.nc.drain(), CLOSE_S)
        except Exception as exc:  # a timeout, or a connection that is reconnecting: close it as it is
            self.errors.append(f"drain: {exc!r}")
            if not self.nc.is_closed:
                await self.nc.close()
