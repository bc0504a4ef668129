"""API-key secrets: generation and the hash that is stored (shared by the services, the API and tooling)."""

import hashlib
import secrets

KEY_PREFIX = "odk_"


def generate_api_key() -> tuple[str, str, str]:
    """A new secret, its lookup prefix and its hash. Only the hash is stored."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[: len(KEY_PREFIX) + 8], hash_api_key(secret)


def hash_api_key(secret: str) -> str:
    # Keys carry 256 bits of entropy, so a fast hash is enough; no salt or stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()
