"""Sync (issue 7): the laptop's link state (clinic patient id, pulled plan, consent, last upload) and
the outbox of uploads to the clinic.

Revision ID: 0005s
Revises: 0004p
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005s"
down_revision = "0004p"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_url", sa.String(length=500), nullable=False),
        sa.Column("clinic_patient_id", sa.Uuid(), nullable=True),
        sa.Column("clinic_patient_name", sa.String(length=200), nullable=False),
        sa.Column("managed_rx", sa.JSON(), nullable=False),
        sa.Column("plan_pulled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_url", sa.String(length=500), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_upload_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sync_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_object", ["kind", "object_id"], unique=True)
        batch_op.create_index("ix_outbox_state", ["state", "enqueued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_outbox_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sync_outbox")
    op.drop_table("link_state")
