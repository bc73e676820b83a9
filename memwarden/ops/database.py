"""Opening a database for an operation, without creating or migrating it by accident."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import literal, select

from ..errors import ConfigError, InputError
from ..settings import Settings, check_database_url
from ..store import Store
from ..store.schema import metadata

__all__ = ["open_existing", "require_empty", "scratch_database"]


def open_existing(settings: Settings, *, require_head: bool = True) -> Store:
    """The configured store, which must exist; never migrated here.

    Operations look at a database as it is: opening a mistyped path must not create an
    empty one, and a check must see a database that is behind, not upgrade it.
    """
    store = Store.open(settings, migrate=False, create=False)
    if require_head:
        try:
            store.require_head()
        except Exception:
            store.close()
            raise
    return store


def scratch_database(folder: Path, name: str, database: str | None) -> str:
    """Where ``selftest`` and ``soak`` write: ``database`` if given (an empty database,
    e.g. on PostgreSQL), else a new SQLite file ``folder/name``."""
    if database:
        try:
            check_database_url(database)
        except ValueError as e:
            raise ConfigError(f"invalid --scratch-db: {e}") from None
        return database
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def require_empty(store: Store) -> None:
    """Refuse a database holding any memwarden row: a scratch run must not mix with data."""
    with store.read() as conn:
        for table in metadata.sorted_tables:
            if conn.execute(select(literal(1)).select_from(table).limit(1)).first():
                url = store.engine.url.render_as_string(hide_password=True)
                raise InputError(
                    f"{url} is not empty ({table.name} has rows): use an empty database"
                )
