"""Ed25519 signatures over DCI messages, as OpenSPP's DCI server makes them.

The signed content is the SHA-256 digest of the canonical JSON (sorted keys, no spaces) of
``{"header": ..., "message": ...}``; the signing string is
``(created): <unix>\\n(expires): <unix>\\ndigest: <base64 digest>``, and the envelope's ``signature``
field carries ``namespace, kidId, algorithm, created, expires, headers, signature`` in the form the
spec's MsgSignature example shows. A signature is valid for 300 seconds; 60 seconds of clock skew
between the two systems are tolerated.

SRS's own key is generated once into the instance folder (like the secret key) or read from
SRS_DCI_SIGNING_KEY_PATH, and published at /.well-known/jwks.json.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from srs.core import clock

VALIDITY_SECONDS = 300
SKEW_SECONDS = 60
ALGORITHM = "ed25519"

_LOCK = threading.Lock()
_KEYS: dict[str, Ed25519PrivateKey] = {}
_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_path() -> Path:
    """Where SRS keeps its signing key: SRS_DCI_SIGNING_KEY_PATH, or instance/dci_signing_key.pem."""
    configured = current_app.config.get("DCI_SIGNING_KEY_PATH") or os.environ.get("SRS_DCI_SIGNING_KEY_PATH")
    if configured:
        return Path(configured)
    return Path(current_app.config["INSTANCE_PATH"]) / "dci_signing_key.pem"


def signing_key() -> Ed25519PrivateKey:
    """SRS's private key; generated on first use (mode 0600) and kept, so every process signs alike."""
    path = key_path()
    cache_key = str(path)
    key = _KEYS.get(cache_key)
    if key is not None:
        return key
    with _LOCK:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # O_EXCL: two processes starting at once keep one key, the first one written.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise RuntimeError(f"{path} does not hold an Ed25519 private key")
        _KEYS[cache_key] = loaded
        return loaded


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The JWK thumbprint (RFC 7638) of a public key: a kid that changes when the key does."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw_public(key))}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def jwks() -> dict[str, Any]:
    """SRS's public signing keys as a JWK Set."""
    public = signing_key().public_key()
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(raw_public(public)),
                "kid": key_id(public),
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
    }


def digest(header: dict[str, Any], message: Any) -> str:
    """Base64 SHA-256 of the canonical JSON of {header, message}."""
    canonical = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).decode("ascii")


def _signing_string(created: int, expires: int, content_digest: str) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: {content_digest}".encode()


def sign_with(
    key: Ed25519PrivateKey, sender_id: str, header: dict[str, Any], message: Any, now: float | None = None
) -> str:
    """The ``signature`` value for an envelope, made with ``key`` at ``now`` (default: the clock)."""
    created = int(now if now is not None else clock.now().timestamp())
    expires = created + VALIDITY_SECONDS
    signature = key.sign(_signing_string(created, expires, digest(header, message)))
    kid = f"{sender_id}|{key_id(key.public_key())}|{ALGORITHM}"
    return (
        f'namespace="spdci", kidId="{kid}", algorithm="{ALGORITHM}", created="{created}", '
        f'expires="{expires}", headers="(created) (expires) digest", '
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )


def sign(header: dict[str, Any], message: Any) -> str:
    """SRS's signature over a message it sends (a response, a callback, a notification)."""
    return sign_with(signing_key(), header.get("sender_id") or "srs", header, message)


def load_public_key(text: str) -> Ed25519PublicKey:
    """A partner's public key from PEM, a JWK (JSON) or base64 of the 32 raw bytes; ValueError otherwise."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        return key
    if text.startswith("{"):
        try:
            jwk = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError("not JSON") from exc
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError("not an OKP Ed25519 JWK")
        text = str(jwk.get("x") or "")
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


def parse(signature: str) -> dict[str, str]:
    """The parameters of a signature value (a leading ``Signature:`` is allowed)."""
    text = (signature or "").strip()
    if text.lower().startswith("signature:"):
        text = text.split(":", 1)[1]
    return {name: value for name, value in _PARAM.findall(text)}


def verify(
    signature: Any, header: dict[str, Any], message: Any, key: Ed25519PublicKey, now: float | None = None
) -> Verdict:
    """Check a partner's signature: made by ``key`` over this header and message, and not expired."""
    if not isinstance(signature, str) or not signature.strip():
        return Verdict(False, "missing")
    params = parse(signature)
    if params.get("algorithm", ALGORITHM).lower() != ALGORITHM:
        return Verdict(False, "algorithm")
    try:
        created = int(params["created"])
        expires = int(params["expires"])
        raw = base64.b64decode(params["signature"], validate=True)
    except (KeyError, ValueError, binascii.Error):
        return Verdict(False, "malformed")
    current = now if now is not None else clock.now().timestamp()
    if created > current + SKEW_SECONDS:
        return Verdict(False, "created in the future")
    if expires < created or expires - created > VALIDITY_SECONDS:
        return Verdict(False, "validity longer than allowed")
    if current > expires + SKEW_SECONDS:
        return Verdict(False, "expired")
    try:
        key.verify(raw, _signing_string(created, expires, digest(header, message)))
    except InvalidSignature:
        return Verdict(False, "does not match")
    return Verdict(True)
