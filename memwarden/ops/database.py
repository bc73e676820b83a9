"""Opening a database for an operation, without creating or migrating it by accident."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from ..errors import StoreUnavailable
from ..settings import Settings
from ..store import Store

__all__ = ["open_existing", "sqlite_file"]


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings name, or None for another dialect."""
    url = make_url(settings.database_url())
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database or "").expanduser()


def open_existing(settings: Settings, *, require_head: bool = True) -> Store:
    """The configured store, which must exist; never migrated here.

    Operations look at a database as it is: opening a mistyped path must not create an
    empty one, and a check must see a database that is behind, not upgrade it.
    """
    path = sqlite_file(settings)
    if path is not None and not path.is_file():
        raise StoreUnavailable(f"no database at {path}")
    store = Store.open(settings, migrate=False)
    if require_head:
        try:
            store.require_head()
        except Exception:
            store.close()
            raise
    return store
