"""When an ended prescription was put back in the plan (``prescriptions.resumed_at``, null if it never was): its
time in the plan runs from then (romcam.store.trends.plan_periods). Before this revision an ended prescription
edited back into the plan counted from when it was first made, so the weeks it was ended read as weeks of the
plan the patient missed (a calendar of 0 / 3 weeks, an adherence figure that blamed the patient).

The prescriptions put back before this revision did not record when: they keep counting from when they were
made, as before.

Added in place, as 0006, 0010 and 0011: on SQLite, rebuilding ``prescriptions`` in batch mode would
cascade-delete its versions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("prescriptions", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("prescriptions", "resumed_at")
