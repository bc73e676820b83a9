"""Alembic environment: memwarden passes a connection in ``config.attributes``, already
in the transaction that holds the migration lock (``memwarden/store/migrate.py``).

Alembic sees that transaction as external: it runs every migration in it and neither
begins nor commits one itself; the caller commits all of them at once.
"""

from __future__ import annotations

from alembic import context

from memwarden.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
