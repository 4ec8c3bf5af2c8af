"""Named values about the server kept in its database (``server_settings``): the fingerprint of the
secret key the audit log's patient pseudonyms are made with, so that a server started with another key
says so instead of silently losing every patient's earlier audit entries. A database from before this
revision takes the key of the first server start after it (the best it can know).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("server_settings",
                    sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("value", sa.String(200), nullable=False))


def downgrade() -> None:
    op.drop_table("server_settings")
