"""NATS decentralised-auth JWTs: the operator, one account per nation, its users, and creds files.

In this mode nats-server trusts one operator key. The operator signs each nation's
account JWT, which says what the account exports, to whom, what it imports and which
of its users are revoked; each account signs its own users' JWTs, which carry their
publish/subscribe permissions. A ``.creds`` file holds a user JWT and the user's nkey
seed: with it (and a client certificate, over mutual TLS) a client connects as that
nation, and as nothing else.

Written here because no maintained Python library issues NATS JWTs: ``nkeys`` (the
NATS project's own package) does the keys and signatures, and the claims follow the
v2 schema of github.com/nats-io/jwt. Private exports use ``token_req`` with an
activation token per importer, so a stream released to one partner cannot be imported
by another account even if someone else signs one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path

import nkeys

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}

PREFIXES = {"operator": nkeys.PREFIX_BYTE_OPERATOR, "account": nkeys.PREFIX_BYTE_ACCOUNT,
            "user": nkeys.PREFIX_BYTE_USER}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class NKey:
    """An nkey pair of one kind (operator, account, user). ``repr`` never shows the seed."""

    def __init__(self, seed: bytes) -> None:
        self.seed = bytes(seed)
        self._pair = nkeys.from_seed(bytearray(self.seed))
        self.public = self._pair.public_key.decode()

    @classmethod
    def generate(cls, kind: str) -> "NKey":
        return cls(nkeys.encode_seed(os.urandom(32), PREFIXES[kind]))

    def sign(self, data: bytes) -> bytes:
        return self._pair.sign(data)

    def __repr__(self) -> str:
        return f"NKey({self.public})"


def encode(claims_nats: dict, *, subject: str, issuer: NKey, name: str, issued_at: int | None = None,
           expires_at: int | None = None) -> str:
    """A signed v2 JWT: ``nats`` holds the kind-specific claims (with ``type``)."""
    claims = {"iat": int(time.time()) if issued_at is None else issued_at, "iss": issuer.public, "name": name,
              "sub": subject, "nats": {**claims_nats, "version": 2}}
    if expires_at is not None:
        claims["exp"] = expires_at
    body = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    claims["jti"] = base64.b32encode(hashlib.sha512(body).digest()[:32]).decode().rstrip("=")
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    signing_input = f"{head}.{payload}".encode()
    return f"{head}.{payload}.{_b64(issuer.sign(signing_input))}"


def decode_unverified(token: str) -> dict:
    """The claims of a JWT (no signature check: for reading back what this module wrote)."""
    return json.loads(_unb64(token.split(".")[1]))


def verify(token: str, issuer_public: str) -> dict:
    """The claims, after checking the signature against ``issuer_public``; ValueError if it fails."""
    head, payload, sig = token.split(".")
    claims = json.loads(_unb64(payload))
    if claims.get("iss") != issuer_public:
        raise ValueError(f"JWT issued by {claims.get('iss')}, not {issuer_public}")
    import nacl.signing  # nkeys' own dependency

    raw = base64.b32decode(issuer_public + "=" * (-len(issuer_public) % 8))[1:33]
    try:
        nacl.signing.VerifyKey(raw).verify(f"{head}.{payload}".encode(), _unb64(sig))
    except Exception as exc:
        raise ValueError(f"JWT signature does not verify: {exc}") from None
    return claims


def operator_jwt(operator: NKey, name: str, system_account: str) -> str:
    return encode({"type": "operator", "system_account": system_account}, subject=operator.public,
                  issuer=operator, name=name)


UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True,
             "conn": -1, "leaf": -1}
JETSTREAM = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def activation_jwt(exporter: NKey, importer_public: str, subject: str) -> str:
    """The exporter's permission for ``importer_public`` to import the stream ``subject``."""
    return encode({"type": "activation", "subject": subject, "kind": "stream"}, subject=importer_public,
                  issuer=exporter, name=subject)


def account_jwt(operator: NKey, account: NKey, name: str, *, exports: list[dict] | None = None,
                imports: list[dict] | None = None, revocations: dict[str, int] | None = None,
                jetstream: bool = True, max_payload: int = 1 << 20) -> str:
    """Account ``name``, signed by the operator. ``exports``: {subject}; ``imports``: {subject, account, token}."""
    limits = dict(UNLIMITED, payload=max_payload)
    if jetstream:
        limits.update(JETSTREAM)
    nats = {"type": "account", "limits": limits,
            "exports": [{"name": e["subject"], "subject": e["subject"], "type": "stream", "token_req": True}
                        for e in exports or []],
            "imports": [{"name": i["subject"], "subject": i["subject"], "account": i["account"], "type": "stream",
                         "token": i["token"]} for i in imports or []]}
    if revocations:
        nats["revocations"] = dict(revocations)
    return encode(nats, subject=account.public, issuer=operator, name=name)


def user_jwt(account: NKey, user_public: str, name: str, *, publish: list[str], subscribe: list[str],
             expires_at: int | None = None) -> str:
    """A user of ``account`` allowed to publish and subscribe on these subjects only."""
    nats = {"type": "user", "pub": {"allow": list(publish)}, "sub": {"allow": list(subscribe)},
            "subs": -1, "data": -1, "payload": -1}
    return encode(nats, subject=user_public, issuer=account, name=name, expires_at=expires_at)


def creds_text(jwt: str, seed: bytes) -> str:
    """The ``.creds`` file NATS clients read (``nats.connect(user_credentials=...)``, the nats CLI)."""
    return ("-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            "-----BEGIN USER NKEY SEED-----\n" + seed.decode() + "\n------END USER NKEY SEED------\n\n"
            "*************************************************************\n")


def write_secret(path: Path, data: bytes | str) -> None:
    """Create ``path`` with mode 0600 (never readable by others, not even for an instant)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
