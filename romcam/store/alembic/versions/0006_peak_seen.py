"""Whether a rep's furthest point was seen (``reps.peak_seen``) and a set's best angle with it
(``exercise_sets.best_seen``): False when the limb may have reached its furthest point in frames where
it was not measured, so the stored angle is a bound on the range reached, not a measurement
(romcam.reps, "peak_seen"). Rows stored before read as seen (server default true).

Both columns are added in place: on SQLite, rebuilding ``exercise_sets`` in batch mode would
cascade-delete its reps and samples under PRAGMA foreign_keys=ON (see 0003).

Revision ID: 0006
Revises: 0005s
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005s"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reps", sa.Column("peak_seen", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("exercise_sets", sa.Column("best_seen", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column("exercise_sets", "best_seen")
    op.drop_column("reps", "peak_seen")
