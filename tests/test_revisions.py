"""Revisions read without Alembic agree with Alembic's own answers, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from memwarden.errors import SchemaError
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.migrate import alembic_config
from memwarden.store.revisions import current_revision, head_revision

from .postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgres"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on a database no migration has touched yet."""
    urls = iter([str(tmp_path / "blank.db")]) if request.param == "sqlite" else fresh_database()
    for url in urls:
        store = Store.open(Settings(db=url), migrate=False)
        try:
            yield store
        finally:
            store.close()


def _both(store: Store) -> tuple[str | None, str | None]:
    with store.read() as conn:
        return current_revision(conn), MigrationContext.configure(conn).get_current_revision()


def test_head_revision_matches_alembic() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_current_revision_matches_alembic_blank_then_at_head(blank: Store) -> None:
    assert _both(blank) == (None, None)
    blank.upgrade()
    assert _both(blank) == (head_revision(), head_revision())


def _migration(folder: Path, name: str, header: str) -> None:
    (folder / f"{name}.py").write_text(
        f'"""{name}."""\n\n{header}\n\n\ndef upgrade() -> None:\n    pass\n'
    )


def test_head_revision_follows_branches_and_their_merge(tmp_path: Path) -> None:
    _migration(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _migration(tmp_path, "b", 'revision = "b"\ndown_revision = "a"')
    _migration(tmp_path, "c", 'revision: str = "c"\ndown_revision: str | None = "a"')
    with pytest.raises(SchemaError, match="2 heads, not one: \\['b', 'c'\\]"):
        head_revision(tmp_path)
    _migration(tmp_path, "d", 'revision = "d"\ndown_revision = ("b", "c")')
    assert head_revision(tmp_path) == "d"
