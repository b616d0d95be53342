"""Password hashing for every API: salted PBKDF2-SHA256, `pbkdf2_sha256$rounds$salt$digest`."""
from __future__ import annotations

import hashlib
import hmac
import os

ROUNDS = 20_000
# Fixtures hash the same passwords with the same salts on every reset (about 10 ms each).
_FIXED_SALT_HASHES: dict[tuple[str, bytes], bytes] = {}


def _digest(password: str, salt: bytes, rounds: int) -> bytes:
    # surrogatepass: any text the JSON parser lets through hashes instead of failing.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, rounds)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The stored form of `password`; a random salt unless one is given (fixtures)."""
    if salt is None:
        salt = os.urandom(16)
        digest = _digest(password, salt, ROUNDS)
    else:
        key = (password, salt)
        if key not in _FIXED_SALT_HASHES:
            _FIXED_SALT_HASHES[key] = _digest(password, salt, ROUNDS)
        digest = _FIXED_SALT_HASHES[key]
    return f"pbkdf2_sha256${ROUNDS}${salt.hex()}${digest.hex()}"


def check_password(password, stored) -> bool:
    """Whether `password` is the one `stored` was made from (False for anything malformed)."""
    if not isinstance(password, str) or not isinstance(stored, str):
        return False
    try:
        _, rounds, salt, digest = stored.split("$")
        computed = _digest(password, bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)
