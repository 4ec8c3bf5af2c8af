"""When the PT paused a patient's plan and resumed it (``plan_pauses``: patient, paused_at, resumed_at or null while
paused). Before this revision only ``patients.plan_paused`` said the plan was paused *now*: on resuming, the weeks it
was paused read as weeks the patient missed (a missed-sessions alert at once, "no session for 5 weeks", and an
adherence figure and calendar that blamed the patient).

A patient already paused when this revision runs gets an open pause starting now (when it began was not recorded):
the days before it count as before. Rows cascade with their patient.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pauses = op.create_table(
        "plan_pauses",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("patient_id", sa.Uuid(), sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_plan_pauses_patient_id", "plan_pauses", ["patient_id"])
    bind = op.get_bind()
    paused = bind.execute(sa.text("SELECT id FROM patients WHERE plan_paused = :yes"), {"yes": True}).scalars().all()
    if paused:
        now = datetime.now(UTC)
        if bind.dialect.name == "sqlite":  # naive UTC text, as romcam's UTCDateTime stores it there
            now = now.replace(tzinfo=None)
        # SQLite gives the ids back as hex text, PostgreSQL as UUIDs
        op.bulk_insert(pauses, [{"id": uuid.uuid4(), "patient_id": uuid.UUID(str(pid)), "paused_at": now,
                                 "resumed_at": None} for pid in paused])


def downgrade() -> None:
    op.drop_index("ix_plan_pauses_patient_id", table_name="plan_pauses")
    op.drop_table("plan_pauses")
