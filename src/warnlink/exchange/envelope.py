"""Signed envelopes: every message between nations is sealed by its origin and verified on receipt.

An envelope carries the encoded body (a TrackReport, LaunchEvent or AlertNotice), the
origin nation, a per-origin sequence number, the send time and the signing key's id;
the Ed25519 signature covers all of them. A receiver checks, in this order and before
decoding the body: size, envelope format, subject (the origin may speak only on its own
subjects), key and signature, time window, sequence (a replay is refused; a gap is
counted, since a relay may lose messages), then the body itself (format, kind matching
the subject, the body's origin matching the envelope's). Each refusal raises
:class:`Rejected` with one reason from :data:`REASONS`; nothing else escapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from warnlink.exchange.signing import KeyError_, KeyRing, NodeKey
from warnlink.messages import AlertNotice, LaunchEvent, MessageError, TrackReport, decode_wire, encode

VERSION = 1
REASONS = ("oversized", "malformed", "wrong_subject", "unknown_key", "revoked_key", "bad_signature",
           "stale", "future", "replay", "origin_mismatch")
KIND_OF_BODY = {TrackReport: "tracks", LaunchEvent: "launch", AlertNotice: "alert"}
MAX_BYTES = 64 * 1024


class Envelope(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    v: int
    origin: str
    seq: int
    sent_ns: int
    key_id: str
    body: bytes
    sig: bytes = b""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def signed_bytes(env: Envelope) -> bytes:
    """What the signature covers: every field but the signature, in a fixed encoding."""
    return _encoder.encode((env.v, env.origin, env.seq, env.sent_ns, env.key_id, env.body))


def seal(body, key: NodeKey, seq: int, sent_ns: int) -> bytes:
    """Envelope bytes of ``body`` (a wire Struct, or its encoded bytes) signed by ``key``."""
    raw = body if isinstance(body, (bytes, bytearray)) else encode(body)
    env = Envelope(VERSION, key.nation, int(seq), int(sent_ns), key.key_id, bytes(raw))
    env.sig = key.sign(signed_bytes(env))
    return _encoder.encode(env)


class Sealer:
    """Seals a node's messages with its key and its own strictly increasing sequence."""

    def __init__(self, key: NodeKey) -> None:
        self.key = key
        self.seq = 0

    def seal(self, body, sent_ns: int) -> tuple[int, bytes]:
        self.seq += 1
        return self.seq, seal(body, self.key, self.seq, sent_ns)


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Opened:
    envelope: Envelope
    body: TrackReport | LaunchEvent | AlertNotice


@dataclass
class Verifier:
    """Checks envelopes from every origin; keeps each origin's last sequence number."""

    keyring: KeyRing
    me: str | None = None  # the receiving nation: a message addressed to another is refused
    max_age_s: float | None = 300.0  # older than this is stale (None: no window, for replays of archives)
    max_future_s: float = 30.0
    max_bytes: int = MAX_BYTES
    last_seq: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)

    def open(self, subject: str, data: bytes, now_ns: int) -> Opened:
        try:
            return self._open(subject, data, now_ns)
        except Rejected as exc:
            self.rejected[exc.reason] = self.rejected.get(exc.reason, 0) + 1
            raise

    def _open(self, subject: str, data: bytes, now_ns: int) -> Opened:
        if len(data) > self.max_bytes:
            raise Rejected("oversized", f"{len(data)} bytes > {self.max_bytes}")
        try:
            env = _decoder.decode(data)
        except (msgspec.DecodeError, TypeError, ValueError) as exc:
            raise Rejected("malformed", str(exc)[:200]) from None
        parts = subject.split(".")
        if len(parts) not in (4, 5) or parts[:2] != ["wl", "v1"] or parts[2] != env.origin:
            raise Rejected("wrong_subject", f"{env.origin!r} may not speak on {subject!r}")
        if self.me is not None and (len(parts) != 5 or parts[4] != self.me):
            raise Rejected("wrong_subject", f"{subject!r} is not addressed to {self.me}")
        if env.v != VERSION:
            raise Rejected("malformed", f"envelope version {env.v}")
        try:
            self.keyring.verify(env.origin, env.key_id, signed_bytes(env), env.sig)
        except KeyError_ as exc:
            reason = str(exc)
            raise Rejected(reason if reason in REASONS else "bad_signature",
                           f"{env.origin} key {env.key_id}") from None
        if self.max_age_s is not None and now_ns - env.sent_ns > self.max_age_s * 1e9:
            raise Rejected("stale", f"sent {(now_ns - env.sent_ns) / 1e9:.1f} s ago")
        if env.sent_ns - now_ns > self.max_future_s * 1e9:
            raise Rejected("future", f"sent {(env.sent_ns - now_ns) / 1e9:.1f} s in the future")
        last = self.last_seq.get(env.origin, 0)
        if env.seq <= last:
            raise Rejected("replay", f"{env.origin} sequence {env.seq} after {last}")
        try:
            body = decode_wire(env.body)
        except MessageError as exc:
            raise Rejected("malformed", str(exc)[:200]) from None
        if body.origin != env.origin:
            raise Rejected("origin_mismatch", f"body from {body.origin!r} in an envelope from {env.origin!r}")
        if KIND_OF_BODY[type(body)] != parts[3]:
            raise Rejected("wrong_subject", f"a {type(body).__name__} on {subject!r}")
        if env.seq > last + 1:
            self.gaps[env.origin] = self.gaps.get(env.origin, 0) + env.seq - last - 1
        self.last_seq[env.origin] = env.seq
        return Opened(env, body)
