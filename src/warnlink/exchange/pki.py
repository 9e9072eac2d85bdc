"""The federation's keys and certificates: ``warnlink pki init / rotate / revoke``.

Choice: one **federation root** with a **per-nation intermediate CA**, not a CA per
nation. Every server trusts the one root, so adding a nation means signing one more
intermediate rather than handing every server a new CA; each nation then issues its own
server and client certificates with its intermediate (path length 0, so it cannot make
further CAs). The root's key is used only at ``init`` and when a nation joins, and would
live offline. The same shape holds for NATS: the federation's *operator* signs each
nation's *account* (what it exports, to whom, and which of its users are revoked); each
nation's account key signs its own users.

Revocation: nats-server does not read CRLs, so the servers *pin* the certificates in
force (``pinned_certs``, SHA-256 of the public key): a revoked client or server
certificate is unpinned and refused at the handshake (a reload also drops its live
connections). A revoked NATS user is listed in its account JWT; a revoked signing key
in the federation key ring, which every node checks each message against. A CRL per
nation (``crl.pem``) records the revoked serials for outside tools.

Layout of ``DIR`` (secrets 0600, never printed or logged):

  federation/  root.pem, root.key, operator.nk, operator.jwt, system.nk, system.jwt,
               keyring.json (every nation's signing public keys and revoked key ids), state.json
  <NATION>/    ca.pem (the root: the trust anchor), nation-ca.pem, nation-ca.key,
               server.pem (+chain), server.key, client.pem (+chain), client.key,
               account.nk, account.jwt, user.creds (the node), leaf.creds (its server on a hub),
               signing.key, crl.pem; and ``url`` once ``warnlink network up`` runs
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from warnlink.exchange import natsjwt
from warnlink.exchange.natsjwt import NKey, write_secret
from warnlink.exchange.signing import KeyRing, NodeKey
from warnlink.exchange.transport import NATION_RE


class PkiError(RuntimeError):
    """A PKI directory that cannot be created or used; the message names the file or nation."""


FEDERATION = "federation"
ORG = "warnlink federation"


def _name(common: str, nation: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG)]
    if nation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, nation))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attrs)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def spki_sha256(cert: x509.Certificate) -> str:
    """What nats-server's ``pinned_certs`` lists: SHA-256 of the DER SubjectPublicKeyInfo, hex."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _issue(subject: x509.Name, key, issuer_cert: x509.Certificate | None, issuer_key, days: int, *,
           ca: bool, path_len: int | None = None, server: bool = False, client: bool = False) -> x509.Certificate:
    now = _now()
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                        critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                      key_encipherment=False, data_encipherment=False,
                                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                      key_encipherment=False, data_encipherment=False,
                                                      key_agreement=True, key_cert_sign=False, crl_sign=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())[0]
    except (OSError, ValueError) as exc:
        raise PkiError(f"{path}: not a readable certificate ({exc.__class__.__name__})") from None


def _load_key(path: Path):
    try:
        return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise PkiError(f"{path}: not a readable private key ({exc.__class__.__name__})") from None


def _load_nkey(path: Path) -> NKey:
    try:
        return NKey(Path(path).read_bytes().strip())
    except Exception as exc:
        raise PkiError(f"{path}: not a readable nkey seed ({exc.__class__.__name__})") from None


def node_permissions(nation: str, partners: list[str]) -> tuple[list[str], list[str]]:
    """(publish, subscribe) for a nation's node: its own subjects out, what partners release to it in."""
    publish = [f"wl.v1.{nation}.>", "$JS.API.>", "_INBOX.>"]
    subscribe = [f"wl.v1.{p}.*.{nation}" for p in partners] + ["_INBOX.>"]
    return publish, subscribe


@dataclass(frozen=True)
class NationFiles:
    """Where a nation's connection details live under the PKI directory."""

    dir: Path

    def __getattr__(self, name: str) -> Path:  # ca_pem -> ca.pem, user_creds -> user.creds, ...
        files = {"ca_pem": "ca.pem", "nation_ca_pem": "nation-ca.pem", "nation_ca_key": "nation-ca.key",
                 "server_pem": "server.pem", "server_key": "server.key", "client_pem": "client.pem",
                 "client_key": "client.key", "account_nk": "account.nk", "account_jwt": "account.jwt",
                 "user_creds": "user.creds", "leaf_creds": "leaf.creds", "signing_key": "signing.key",
                 "crl_pem": "crl.pem", "url": "url"}
        if name not in files:
            raise AttributeError(name)
        return self.dir / files[name]


class Pki:
    """A federation's PKI directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.fed = self.root / FEDERATION

    # --- reading -------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.fed / "state.json"

    def state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            raise PkiError(f"{self.root}: no PKI here (run `warnlink pki init {self.root} --nations ...`)") from None
        except ValueError as exc:
            raise PkiError(f"{self.state_path}: not valid JSON ({exc})") from None

    def _save_state(self, state: dict) -> None:
        self.state_path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")

    @property
    def nations(self) -> list[str]:
        return list(self.state()["nations"])

    def files(self, nation: str) -> NationFiles:
        if nation not in self.nations:
            raise PkiError(f"nation {nation!r} is not in the federation at {self.root} ({', '.join(self.nations)})")
        return NationFiles(self.root / nation)

    def keyring(self) -> KeyRing:
        return KeyRing.load(self.fed / "keyring.json")

    def signing_key(self, nation: str) -> NodeKey:
        return NodeKey.load(nation, self.files(nation).signing_key)

    def account_public(self, nation: str) -> str:
        return self.state()["accounts"][nation]

    def operator_jwt_path(self) -> Path:
        return self.fed / "operator.jwt"

    def system_account(self) -> str:
        return self.state()["system_account"]

    def account_jwts(self) -> dict[str, str]:
        """Account public key -> JWT for every account (nations and the system account)."""
        out = {self.system_account(): (self.fed / "system.jwt").read_text().strip()}
        for n in self.nations:
            out[self.account_public(n)] = self.files(n).account_jwt.read_text().strip()
        return out

    def pins(self) -> list[str]:
        """SHA-256 of every certificate in force (servers and clients of every nation)."""
        return sorted(self.state()["pins"].values())

    # --- writing -------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, nations: list[str], *, days: int = 365, force: bool = False) -> "Pki":
        nations = [n.strip() for n in nations if n.strip()]
        if len(nations) < 2 or len(set(nations)) != len(nations):
            raise PkiError(f"--nations needs two or more distinct nations, got {nations}")
        for n in nations:
            if not NATION_RE.match(n):
                raise PkiError(f"nation {n!r} is not 2-8 upper-case letters")
        pki = cls(root)
        if pki.state_path.exists() and not force:
            raise PkiError(f"{pki.root}: a PKI is already here (rotate it, or remove the directory)")
        pki.fed.mkdir(parents=True, exist_ok=True)
        os.chmod(pki.root, 0o700)
        root_key = _new_key()
        root_cert = _issue(_name("warnlink federation root"), root_key, None, root_key, days * 5, ca=True, path_len=1)
        write_secret(pki.fed / "root.key", _key_pem(root_key))
        (pki.fed / "root.pem").write_bytes(_cert_pem(root_cert))
        operator, system = NKey.generate("operator"), NKey.generate("account")
        write_secret(pki.fed / "operator.nk", operator.seed)
        write_secret(pki.fed / "system.nk", system.seed)
        (pki.fed / "operator.jwt").write_text(natsjwt.operator_jwt(operator, ORG, system.public) + "\n")
        (pki.fed / "system.jwt").write_text(
            natsjwt.account_jwt(operator, system, "SYS", jetstream=False) + "\n")
        accounts = {}
        for n in nations:
            account = NKey.generate("account")
            accounts[n] = account.public
            write_secret(pki.root / n / "account.nk", account.seed)
        state = {"nations": nations, "days": days, "accounts": accounts, "system_account": system.public,
                 "pins": {}, "serials": {}, "revoked_serials": {n: [] for n in nations},
                 "users": {}, "revoked_users": {n: {} for n in nations}}
        pki._save_state(state)
        ring = KeyRing()
        ring.save(pki.fed / "keyring.json")
        for n in nations:
            pki._issue_nation_ca(n, root_cert, root_key)
            pki._issue_server(n)
            pki._issue_client(n)
            pki._issue_users(n)
            pki._issue_signing_key(n)
        pki._sign_accounts()
        return pki

    def _issue_nation_ca(self, nation: str, root_cert, root_key) -> None:
        files = NationFiles(self.root / nation)
        files.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(files.dir, 0o700)
        key = _new_key()
        cert = _issue(_name(f"{nation} CA", nation), key, root_cert, root_key, self.state()["days"] * 2,
                      ca=True, path_len=0)
        write_secret(files.nation_ca_key, _key_pem(key))
        files.nation_ca_pem.write_bytes(_cert_pem(cert))
        files.ca_pem.write_bytes(_cert_pem(root_cert))
        self._write_crl(nation)

    def _leaf(self, nation: str, role: str, *, server: bool, client: bool) -> None:
        files = NationFiles(self.root / nation)
        ca_cert, ca_key = _load_cert(files.nation_ca_pem), _load_key(files.nation_ca_key)
        key = _new_key()
        cert = _issue(_name(f"{nation} {role}", nation), key, ca_cert, ca_key, self.state()["days"],
                      ca=False, server=server, client=client)
        write_secret(getattr(files, f"{role}_key"), _key_pem(key))
        getattr(files, f"{role}_pem").write_bytes(_cert_pem(cert, ca_cert))
        state = self.state()
        label = f"{nation}/{role}"
        if label in state["serials"]:  # the certificate it replaces is revoked
            state["revoked_serials"][nation].append(state["serials"][label])
        state["serials"][label] = format(cert.serial_number, "x")
        state["pins"][label] = spki_sha256(cert)
        self._save_state(state)

    def _issue_server(self, nation: str) -> None:
        # a server certificate also authenticates the server as a client of the hub (leafnode, gateway)
        self._leaf(nation, "server", server=True, client=True)

    def _issue_client(self, nation: str) -> None:
        self._leaf(nation, "client", server=False, client=True)

    def _issue_users(self, nation: str) -> None:
        """The node's user (user.creds) and the nation's server's user on a hub (leaf.creds)."""
        files = NationFiles(self.root / nation)
        account = _load_nkey(files.account_nk)
        state = self.state()
        partners = [p for p in state["nations"] if p != nation]
        publish, subscribe = node_permissions(nation, partners)
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        for role, path, pub, sub in (("node", files.user_creds, publish, subscribe),
                                     ("leaf", files.leaf_creds, publish + ["$LDS.>"], subscribe + ["$LDS.>"])):
            user = NKey.generate("user")
            label = f"{nation}/{role}"
            old = state["users"].get(label)
            if old:
                state["revoked_users"][nation][old] = now
            state["users"][label] = user.public
            jwt = natsjwt.user_jwt(account, user.public, f"{nation} {role}", publish=pub, subscribe=sub)
            write_secret(path, natsjwt.creds_text(jwt, user.seed))
        self._save_state(state)

    def _issue_signing_key(self, nation: str) -> None:
        files = NationFiles(self.root / nation)
        ring = self.keyring()
        if files.signing_key.exists():
            ring.revoke(NodeKey.load(nation, files.signing_key).key_id)
        key = NodeKey.generate(nation)
        key.save(files.signing_key)
        ring.add(nation, key.public_bytes())
        ring.save(self.fed / "keyring.json")

    def _sign_accounts(self) -> None:
        """Every nation's account JWT: private exports to each partner, imports with activations, revocations."""
        state = self.state()
        operator = _load_nkey(self.fed / "operator.nk")
        accounts = {n: _load_nkey(self.root / n / "account.nk") for n in state["nations"]}
        for n in state["nations"]:
            partners = [p for p in state["nations"] if p != n]
            exports = [{"subject": f"wl.v1.{n}.*.{p}"} for p in partners]
            imports = [{"subject": f"wl.v1.{p}.*.{n}", "account": accounts[p].public,
                        "token": natsjwt.activation_jwt(accounts[p], accounts[n].public, f"wl.v1.{p}.*.{n}")}
                       for p in partners]
            jwt = natsjwt.account_jwt(operator, accounts[n], n, exports=exports, imports=imports,
                                      revocations=state["revoked_users"][n])
            NationFiles(self.root / n).account_jwt.write_text(jwt + "\n")

    def _write_crl(self, nation: str) -> None:
        files = NationFiles(self.root / nation)
        ca_cert, ca_key = _load_cert(files.nation_ca_pem), _load_key(files.nation_ca_key)
        now = _now()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
                   .last_update(now).next_update(now + dt.timedelta(days=7)))
        for serial in self.state()["revoked_serials"].get(nation, []):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(now).build())
        files.crl_pem.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))

    def rotate(self, nation: str) -> dict:
        """New client and server certificates, NATS users and signing key for ``nation``; the old ones revoked.

        Returns what was revoked (serials, user public keys, signing key id) — public identifiers only.
        """
        files = self.files(nation)
        before = self.state()
        old_key = NodeKey.load(nation, files.signing_key).key_id
        self._issue_server(nation)
        self._issue_client(nation)
        self._issue_users(nation)
        self._issue_signing_key(nation)
        self._sign_accounts()
        self._write_crl(nation)
        after = self.state()
        return {"nation": nation,
                "revoked_certificates": sorted(set(after["revoked_serials"][nation]) - set(before["revoked_serials"][nation])),
                "revoked_users": sorted(set(after["revoked_users"][nation]) - set(before["revoked_users"][nation])),
                "revoked_signing_key": old_key}

    def revoke_signing_key(self, key_id: str) -> None:
        ring = self.keyring()
        if ring.nation_of(key_id) is None:
            raise PkiError(f"no signing key {key_id!r} in {self.fed / 'keyring.json'}")
        ring.revoke(key_id)
        ring.save(self.fed / "keyring.json")
