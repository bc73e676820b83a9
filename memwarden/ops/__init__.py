"""Operations: health and alerts, integrity, backup and restore, validation, soak.

Each concept has its own module; the CLI (``memwarden/cli/ops.py``) only parses flags
and prints what these return.  Everything here speaks to the database through
:class:`memwarden.store.Store` and Core SQL; SQLite-only pieces (PRAGMAs, FTS5, the
backup API) sit behind a dialect check so that PostgreSQL can get its own branch.
"""
