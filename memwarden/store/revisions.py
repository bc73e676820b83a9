"""Which migration the code ships, and which one a database is at, read without Alembic.

Read-only commands (``memwarden health``, ``check``, ``validate``) first make sure the
database is at head.  Importing Alembic for that would cost ~0.2 s of their start-up (it
loads every dialect's DDL support, Mako and Pygments), so these two functions read the
migration files' ``revision``/``down_revision`` and the ``alembic_version`` table
directly; tests check both against Alembic's own answers.  Migrating is Alembic's job
(:func:`memwarden.store.migrate.upgrade`).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from ..errors import SchemaError

__all__ = ["VERSIONS", "current_revision", "head_revision", "newer_than_code", "shipped_revisions"]

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_NAMES = ("revision", "down_revision")


def shipped_revisions(versions: Path = VERSIONS) -> tuple[frozenset[str], frozenset[str]]:
    """(every migration this code ships, those that another one revises)."""
    return _shipped() if versions == VERSIONS else _scan(versions)


@cache  # the package's files do not change while it runs (readiness asks each time)
def _shipped() -> tuple[frozenset[str], frozenset[str]]:
    return _scan(VERSIONS)


def _scan(versions: Path) -> tuple[frozenset[str], frozenset[str]]:
    shipped: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        found = _identifiers(path)
        if "revision" not in found:
            continue
        shipped.add(str(found["revision"]))
        down = found.get("down_revision")  # None, one revision, or a merge's tuple
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple):
            revised.update(str(d) for d in down)
    return frozenset(shipped), frozenset(revised)


def newer_than_code(current: str | None) -> SchemaError | None:
    """The error for a database at a migration this code does not ship (a newer
    memwarden wrote it), or None."""
    if current is None or current in shipped_revisions()[0]:
        return None
    return SchemaError(
        f"the database is at migration {current}, which this memwarden does not know "
        f"(its newest is {head_revision()}): a newer memwarden wrote it; upgrade memwarden"
    )


def head_revision(versions: Path = VERSIONS) -> str:
    """The newest migration this code ships: the one that no other migration revises."""
    shipped, revised = shipped_revisions(versions)
    heads = sorted(shipped - revised)
    if len(heads) != 1:
        raise SchemaError(f"the migrations have {len(heads)} heads, not one: {heads}")
    return heads[0]


def _identifiers(path: Path) -> dict[str, object]:
    """The module-level ``revision`` and ``down_revision`` literals of a migration file."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _NAMES:
            found[target.id] = ast.literal_eval(value)
    return found


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None for a blank database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise SchemaError(f"the database is at {len(rows)} migration heads: {sorted(rows)}")
    return str(rows[0]) if rows else None
