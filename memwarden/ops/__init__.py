"""Operations: health and alerts, integrity, backup and restore, validation, soak.

Each concept has its own module; the CLI (``memwarden/cli/ops.py``) only parses flags
and prints what these return.  Everything here speaks to the database through
:class:`memwarden.store.Store` and dialect-neutral Core SQL; what only one engine has
sits behind a dialect check: SQLite's PRAGMAs and FTS5 checks (:mod:`.integrity`,
:mod:`.validate`) and file snapshots (:mod:`.backup`), PostgreSQL's ``pg_dump`` and
``pg_restore`` (:mod:`.pgdump`).
"""
