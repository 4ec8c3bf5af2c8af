"""Whether one of a session's sets is filed under a prescription (``sessions.filed``): such a session is of
the plan for adherence whatever the plan holds now, and the patient list counts the plan's sessions of
the last 30 days for every patient at once — testing each session's sets there made the list twice as
slow (benchmarks/results/perf.md). Kept by the store as sets are stored; the rows stored before this
revision are set from their sets. Indexed with the patient, demo and start: the list counts the filed and
the unfiled sessions of the last 30 days apart, each an index range.

Added in place, as 0006: on SQLite, rebuilding ``sessions`` in batch mode would cascade-delete its sets.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("filed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE sessions SET filed = EXISTS (SELECT 1 FROM exercise_sets WHERE exercise_sets.session_id = "
               "sessions.id AND exercise_sets.prescription_id IS NOT NULL)")
    op.create_index("ix_sessions_patient_demo_filed_started", "sessions", ["patient_id", "demo", "filed", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_patient_demo_filed_started", table_name="sessions")
    op.drop_column("sessions", "filed")
