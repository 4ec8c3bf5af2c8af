"""Alembic environment: runs on the connection romcam.store.db.migrate hands over (no alembic.ini).

To write a new revision during development::

    .venv/bin/python -m romcam.store.revision "what changed"
"""

from __future__ import annotations

from alembic import context

from romcam.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through romcam.store.db.migrate (it passes the connection)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
