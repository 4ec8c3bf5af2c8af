"""A prescription's safe minimum (``prescription_versions.safe_min``, degrees): the lowest angle the live
coach allows, which guards over-straightening in the motions that work the low end of the range (seated
knee extension), as ``safe_max`` guards the high end. Null is no limit there: the versions stored before
this revision keep the limits they had.

Added in place (no batch rebuild), as 0006: every recorded set refers to the version it followed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("prescription_versions", sa.Column("safe_min", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("prescription_versions", "safe_min")
