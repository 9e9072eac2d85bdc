"""Ed25519 keys: one signing key per node, and the ring of public keys a node trusts."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KeyError_(ValueError):
    """A key that cannot be used (unknown, revoked, malformed)."""


def key_id_of(public_bytes: bytes) -> str:
    """Short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_bytes).hexdigest()[:16]


class NodeKey:
    """A node's private signing key. Never printed: ``repr`` shows only the nation and key id."""

    def __init__(self, nation: str, private: Ed25519PrivateKey) -> None:
        self.nation = nation
        self._private = private
        self.key_id = key_id_of(self.public_bytes())

    @classmethod
    def generate(cls, nation: str) -> "NodeKey":
        return cls(nation, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, nation: str, raw: bytes) -> "NodeKey":
        return cls(nation, Ed25519PrivateKey.from_private_bytes(raw))

    def public_bytes(self) -> bytes:
        return self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def save(self, path: Path) -> None:
        """PEM (PKCS#8) file, created with mode 0600."""
        pem = self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, nation: str, path: Path) -> "NodeKey":
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyError_(f"{path}: not a readable private key ({exc.__class__.__name__})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyError_(f"{path}: not an Ed25519 key")
        return cls(nation, key)

    def __repr__(self) -> str:
        return f"NodeKey(nation={self.nation!r}, key_id={self.key_id!r})"


class KeyRing:
    """Public keys trusted per nation, by key id; revoked key ids are refused."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, Ed25519PublicKey, bytes]] = {}  # key id -> (nation, key, raw)
        self.revoked: set[str] = set()

    def add(self, nation: str, public_bytes: bytes) -> str:
        key_id = key_id_of(public_bytes)
        self._keys[key_id] = (nation, Ed25519PublicKey.from_public_bytes(public_bytes), bytes(public_bytes))
        return key_id

    def revoke(self, key_id: str) -> None:
        self.revoked.add(key_id)

    def nation_of(self, key_id: str) -> str | None:
        entry = self._keys.get(key_id)
        return entry[0] if entry else None

    def verify(self, nation: str, key_id: str, data: bytes, signature: bytes) -> None:
        """Raise KeyError_ with a reason (unknown_key, revoked_key, wrong_nation, bad_signature)."""
        if key_id in self.revoked:
            raise KeyError_("revoked_key")
        entry = self._keys.get(key_id)
        if entry is None:
            raise KeyError_("unknown_key")
        if entry[0] != nation:
            raise KeyError_("wrong_nation")
        try:
            entry[1].verify(signature, data)
        except InvalidSignature:
            raise KeyError_("bad_signature") from None

    def save(self, path: Path) -> None:
        doc = {"keys": [{"nation": n, "key_id": k, "public_hex": raw.hex()} for k, (n, _, raw) in sorted(self._keys.items())],
               "revoked": sorted(self.revoked)}
        Path(path).write_text(json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "KeyRing":
        try:
            doc = json.loads(Path(path).read_text())
            ring = cls()
            for entry in doc["keys"]:
                ring.add(entry["nation"], bytes.fromhex(entry["public_hex"]))
            ring.revoked = set(doc.get("revoked", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyError_(f"{path}: not a key ring ({exc})") from None
        return ring
