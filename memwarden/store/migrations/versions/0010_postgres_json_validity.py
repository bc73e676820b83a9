"""PostgreSQL: each stored JSON column has a generated flag saying whether it is JSON.

The export embeds a stored JSON column (``episodes.meta`` and ``trace``,
``risk_log.scores`` and ``details``, ``governance_log.args``) verbatim when it is JSON
and as a string when it is not (a hand edit), so a malformed row never breaks the
document.  PostgreSQL 15 has no validity test but a ``::json`` cast, which re-parsed
~750 KB of traces on every export of a 1,000-episode user (2.6 ms of the server's ~8)
and, on a malformed row, failed the page's statement.  These ``<column>_is_json``
columns are computed once, when a row is written or changed however it is changed, by
``memwarden_is_json()``; the export reads them (``governance/export_postgres.py``).
SQLite's equivalent is migration 0007's index.

The columns are not in ``store/schema.py``: like the ``search_vector`` columns of 0001
they are the dialect's own, computed by the server and never written by memwarden.
Adding them rewrites the three tables once (a stored generated column is filled in).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTION = "memwarden_is_json"
#: table -> its stored JSON columns (``governance/records.py`` names them ``json``)
COLUMNS = {
    "episodes": ("meta", "trace"),
    "risk_log": ("scores", "details"),
    "governance_log": ("args",),
}

# json_in's refusals: bad syntax (22P02), nesting past max_stack_depth (54001).  Anything
# else (out of memory, a cancel) is not about the text, and propagates.  IMMUTABLE, as a
# generated column needs, though nesting near max_stack_depth could answer otherwise
# under another setting: such a value would then be exported as a string.  PARALLEL
# UNSAFE: the EXCEPTION block is a subtransaction, which a parallel query cannot start
# (an operator's "SELECT ... WHERE NOT memwarden_is_json(trace)" may plan one).
_CREATE_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}(value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
BEGIN
    PERFORM value::json;
    RETURN true;
EXCEPTION
    WHEN invalid_text_representation OR statement_too_complex THEN
        RETURN false;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_CREATE_FUNCTION)
        for table, columns in COLUMNS.items():
            added = ", ".join(
                f"ADD COLUMN {c}_is_json boolean GENERATED ALWAYS AS ({FUNCTION}({c})) STORED"
                for c in columns
            )
            op.execute(f"ALTER TABLE {table} {added}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table, columns in COLUMNS.items():
            op.execute(
                f"ALTER TABLE {table} " + ", ".join(f"DROP COLUMN {c}_is_json" for c in columns)
            )
        op.execute(f"DROP FUNCTION {FUNCTION}(text)")
