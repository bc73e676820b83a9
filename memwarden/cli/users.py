"""`memwarden users ...`: who may call the HTTP service, and with which keys.

A new key is printed once, alone on the last line of output (``| tail -n 1`` takes it);
only its SHA-256 is stored.  Lists show key ids, never keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from .context import edge, out_console, print_json, state

if TYPE_CHECKING:
    from ..server.keys import ApiKey, KeyRing
    from ..store import Store

__all__ = ["users_app"]

users_app = typer.Typer(help="API users and keys of `memwarden serve`.", no_args_is_help=True)
keys_app = typer.Typer(help="A user's API keys.", no_args_is_help=True)
users_app.add_typer(keys_app, name="keys")

AS_JSON = typer.Option(False, "--json", help="Print JSON.")
LABEL = typer.Option(None, "--label", help="A note to tell keys apart (e.g. laptop).")


def _ring(ctx: typer.Context, *, create: bool = False) -> tuple[Store, KeyRing]:
    """The key ring of the configured database; only ``users add`` may create it."""
    from ..server.keys import KeyRing
    from ..store import Store

    store = Store.open(state(ctx).settings(), create=create)
    return store, KeyRing(store)


def _auth(message: str, *args: object) -> None:
    from ..logs import event

    event("AUTH", message, *args)


def _print_key(intro: str, key: str) -> None:
    out_console.print(escape(intro), highlight=False)
    out_console.print("Store it now: it is not shown again. Your key:", highlight=False)
    print(key, flush=True)


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The user (the memory user the key acts as)."),
    admin: bool = typer.Option(False, "--admin", help="An operator: /v1/ops/*, /metrics."),
    label: str = LABEL,
) -> None:
    """Create a user with a first API key, printed once on the last line.

    Example:

        memwarden users add ana
        memwarden users add ops --admin
    """
    with edge():
        store, ring = _ring(ctx, create=True)
        try:
            user, key = ring.add_user(name, admin=admin, label=label)
        finally:
            store.close()
    key_id = key.split("_")[1]
    _auth("user %s created (admin: %s), key %s issued", user.user_id, user.admin, key_id)
    role = "operator" if user.admin else "user"
    _print_key(f"Created {role} {user.user_id!r} with key {key_id}.", key)


@users_app.command("list")
def list_users(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """List users, their role and how many keys they hold.

    Example:

        memwarden users list --json
    """
    with edge():
        store, ring = _ring(ctx)
        try:
            users = ring.users()
            keys = ring.keys()
        finally:
            store.close()
    if as_json:
        from ..turn import jsonable

        print_json(
            [
                {**jsonable(u), "keys": [_key_dict(k) for k in keys if k.user_id == u.user_id]}
                for u in users
            ]
        )
        return
    if not users:
        out_console.print("No users yet: `memwarden users add NAME`.")
        return
    for u in users:
        active = [k.key_id for k in keys if k.user_id == u.user_id and k.active]
        out_console.print(
            f"{escape(u.user_id)}\t{'admin' if u.admin else 'user'}\tkeys: {', '.join(active) or '-'}"
            f"\t({u.revoked_keys} revoked)",
            highlight=False,
        )


@keys_app.command("add")
def add_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="An existing user."),
    label: str = LABEL,
) -> None:
    """Issue another key for a user, printed once on the last line.

    Example:

        memwarden users keys add ana --label laptop
    """
    with edge():
        store, ring = _ring(ctx)
        try:
            issued, key = ring.issue_key(name, label=label)
        finally:
            store.close()
    _auth("key %s issued for user %s", issued.key_id, issued.user_id)
    _print_key(f"New key {issued.key_id} for {issued.user_id!r}.", key)


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Only this user's keys."),
    as_json: bool = AS_JSON,
) -> None:
    """List keys (ids only, never the keys).

    Example:

        memwarden users keys list ana
    """
    with edge():
        store, ring = _ring(ctx)
        try:
            keys = ring.keys(name)
        finally:
            store.close()
    if as_json:
        print_json([_key_dict(k) for k in keys])
        return
    for k in keys:
        state_text = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        out_console.print(
            f"{k.key_id}\t{escape(k.user_id)}\t{state_text}\t{escape(k.label or '')}",
            highlight=False,
        )


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(None, help="The key id (or the whole key)."),
    user: str = typer.Option(None, "--user", "-u", help="With --all: whose keys."),
    all_keys: bool = typer.Option(False, "--all", help="Revoke every key of --user."),
) -> None:
    """Revoke a key at once: the next request with it answers 401.

    Example:

        memwarden users keys revoke 3f9a0c1b2d4e
        memwarden users keys revoke --all --user ana
    """
    with edge():
        if all_keys == (key_id is not None) or (all_keys and not user):
            from ..errors import InputError

            raise InputError("give a KEY_ID, or --all --user NAME")
        store, ring = _ring(ctx)
        already: list[ApiKey] = []  # revoking is idempotent: said, not logged again
        try:
            if all_keys:
                revoked = ring.revoke_all(user)
            else:
                key, now = ring.revoke(key_id)
                revoked, already = ([key], []) if now else ([], [key])
        finally:
            store.close()
    for k in already:
        out_console.print(
            escape(
                f"Key {k.key_id} of {k.user_id!r} was already revoked ({k.revoked_at:%Y-%m-%d %H:%M})."
            ),
            highlight=False,
        )
    for k in revoked:
        _auth("key %s of user %s revoked", k.key_id, k.user_id)
        out_console.print(escape(f"Revoked key {k.key_id} of {k.user_id!r}."), highlight=False)
    if not revoked and not already:
        out_console.print("No active keys to revoke.")


def _key_dict(k: ApiKey) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "user_id": k.user_id,
        "label": k.label,
        "created_at": k.created_at.isoformat(),
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        "active": k.active,
    }
