"""Indexes for the dashboard at clinic scale (benchmarks/perf.py: 200 patients x 2 years).

- ``ix_sessions_patient_demo_started`` (patient_id, demo, started_at): the patient list's newest
  non-demo session and its 7- and 30-day session counts, one index seek per patient
  (romcam.store.trends.patient_summaries).

Revision ID: 0004p
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004p"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_patient_demo_started", "sessions", ["patient_id", "demo", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_patient_demo_started", table_name="sessions")
