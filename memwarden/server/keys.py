"""API users and keys: who may call the HTTP service, as which memory user.

A key looks like ``mwk_3f9a0c1b2d4e_<43 characters>``: a public key id (shown by
``memwarden users list``, safe to log) and 32 random bytes.  Only the SHA-256 of the
whole key is stored; a presented key is found by its id and checked with
:func:`hmac.compare_digest`, so neither the lookup nor the comparison leaks the secret.

    with Store.open(settings) as ...:
        ring = KeyRing(store)
        user, key = ring.add_user("ana", admin=False)   # `key` is shown once, never stored
        ring.authenticate(key)                          # Principal("ana", "3f9a...", False)
        ring.revoke("3f9a0c1b2d4e")

This module imports no web framework: the CLI uses it without starting a server.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..agent import validate_user_id
from ..clock import utcnow
from ..errors import InputError, NotFound
from ..store import Store, translate_errors
from ..store.schema import api_keys, api_users

__all__ = [
    "KEY_PATTERN",
    "ApiKey",
    "ApiUser",
    "KeyRing",
    "Principal",
    "hash_key",
    "key_id_of",
]

PREFIX = "mwk_"
KEY_PATTERN = re.compile(r"^mwk_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
_KEY_ID = re.compile(r"^[0-9a-f]{12}$")
MAX_LABEL = 100
# Compared against when a key id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"memwarden: no such key").hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the memory user, the key used, and the role."""

    user_id: str
    key_id: str
    admin: bool


@dataclass(frozen=True)
class ApiUser:
    """A user of the service and how many keys they hold."""

    user_id: str
    admin: bool
    created_at: datetime
    active_keys: int
    revoked_keys: int


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never the key, only its public id."""

    key_id: str
    user_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256, hex (fine for 32 random bytes: no salt needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(raw: str) -> str:
    """The key id in a whole key, or a bare key id; :class:`InputError` otherwise."""
    value = raw.strip()
    match = KEY_PATTERN.match(value)
    if match:
        return match["id"]
    value = value.removeprefix(PREFIX).lower()
    if _KEY_ID.match(value):
        return value
    raise InputError("not a key id: give the 12 hex characters shown by `memwarden users list`")


def _new_key() -> tuple[str, str]:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)  # 32 random bytes -> 43 characters
    return key_id, f"{PREFIX}{key_id}_{secret}"


def _label(label: str | None) -> str | None:
    if label is None:
        return None
    clean = "".join(c for c in label.strip() if c.isprintable())
    if len(clean) > MAX_LABEL:
        raise InputError(f"a key label is at most {MAX_LABEL} characters")
    return clean or None


class KeyRing:
    """Users and keys in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- writes --------------------------------------------------------------------------

    def add_user(
        self, user_id: str, *, admin: bool = False, label: str | None = None
    ) -> tuple[ApiUser, str]:
        """Create a user with a first key; returns the key (show it once, never store it)."""
        user_id = validate_user_id(user_id)
        now = utcnow()
        with self.store.write() as conn:
            exists = conn.execute(
                select(api_users.c.user_id).where(api_users.c.user_id == user_id)
            ).first()
            if exists is not None:
                raise InputError(
                    f"user {user_id!r} exists: `memwarden users keys add {user_id}` issues a new key"
                )
            conn.execute(insert(api_users).values(user_id=user_id, admin=admin, created_at=now))
            key = self._issue(conn, user_id, label, now)
        return ApiUser(user_id, admin, now, 1, 0), key

    def issue_key(self, user_id: str, *, label: str | None = None) -> tuple[ApiKey, str]:
        """Another key for an existing user."""
        user_id = validate_user_id(user_id)
        now = utcnow()
        with self.store.write() as conn:
            self._require_user(conn, user_id)
            key = self._issue(conn, user_id, label, now)
        return ApiKey(key_id_of(key), user_id, _label(label), now, None), key

    def revoke(self, raw_key_id: str) -> tuple[ApiKey, bool]:
        """Revoke one key (by id, or the whole key): (the key, whether this call revoked
        it); revoking twice keeps the first time."""
        key_id = key_id_of(raw_key_id)
        now = utcnow()
        with self.store.write() as conn:
            changed = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no key {key_id}")
        return _key(row), changed.rowcount > 0

    def revoke_all(self, user_id: str) -> list[ApiKey]:
        """Revoke every active key of a user; returns the keys revoked now."""
        user_id = validate_user_id(user_id)
        now = utcnow()
        with self.store.write() as conn:
            self._require_user(conn, user_id)
            rows = conn.execute(
                select(api_keys).where(
                    api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None)
                )
            ).all()
            conn.execute(
                update(api_keys)
                .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return [ApiKey(r.key_id, r.user_id, r.label, r.created_at, now) for r in rows]

    # -- reads ---------------------------------------------------------------------------

    def users(self) -> list[ApiUser]:
        """Every user, by name, with key counts."""
        k = api_keys.c
        active = func.count(k.id).filter(k.revoked_at.is_(None))
        revoked = func.count(k.id).filter(k.revoked_at.is_not(None))
        query = (
            select(api_users, active.label("active"), revoked.label("revoked"))
            .select_from(api_users.outerjoin(api_keys, k.user_id == api_users.c.user_id))
            .group_by(api_users.c.user_id)
            .order_by(api_users.c.user_id)
        )
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return [
            ApiUser(r.user_id, bool(r.admin), r.created_at, int(r.active), int(r.revoked))
            for r in rows
        ]

    def keys(self, user_id: str | None = None) -> list[ApiKey]:
        """Keys (of one user, or all), oldest first."""
        query = select(api_keys).order_by(api_keys.c.id)
        if user_id is not None:
            query = query.where(api_keys.c.user_id == validate_user_id(user_id))
        with self.store.read() as conn:
            return [_key(r) for r in conn.execute(query)]

    def authenticate(self, presented: str, *, conn: Connection | None = None) -> Principal | None:
        """The principal of an active key, or None (malformed, unknown, revoked).

        ``conn``: a connection of the caller's to read with (one transaction per call)
        instead of one from the pool.
        """
        match = KEY_PATTERN.match(presented)
        if match is None:
            return None
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.store.read())
            else:
                stack.enter_context(translate_errors())
                stack.enter_context(conn.begin())
            row = conn.execute(
                select(
                    api_keys.c.key_hash,
                    api_keys.c.revoked_at,
                    api_users.c.user_id,
                    api_users.c.admin,
                )
                .join(api_users, api_users.c.user_id == api_keys.c.user_id)
                .where(api_keys.c.key_id == match["id"])
            ).first()
        stored = row.key_hash if row is not None else _DUMMY_HASH
        same = hmac.compare_digest(stored.encode("ascii"), hash_key(presented).encode("ascii"))
        if row is None or not same or row.revoked_at is not None:
            return None
        return Principal(row.user_id, match["id"], bool(row.admin))

    # -- helpers -------------------------------------------------------------------------

    def _issue(self, conn: Connection, user_id: str, label: str | None, now: datetime) -> str:
        key_id, key = _new_key()
        conn.execute(
            insert(api_keys).values(
                key_id=key_id,
                user_id=user_id,
                key_hash=hash_key(key),
                label=_label(label),
                created_at=now,
            )
        )
        return key

    @staticmethod
    def _require_user(conn: Connection, user_id: str) -> None:
        found = conn.execute(
            select(api_users.c.user_id).where(api_users.c.user_id == user_id)
        ).first()
        if found is None:
            raise NotFound(f"no user {user_id!r}: `memwarden users add {user_id}` creates one")


def _key(row: Any) -> ApiKey:
    return ApiKey(row.key_id, row.user_id, row.label, row.created_at, row.revoked_at)
