"""Which clinic patient each upload went to (``sync_outbox.sent_to``): a laptop whose device token now
names another clinic patient (passed on to someone else, or a new token) must not ask the clinic about,
or send again as theirs, what was sent for the patient before. Rows sent before this revision are
taken as sent to the clinic patient the link names now (the best this laptop knows).

Added in place (no batch rebuild), as 0006.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_outbox", sa.Column("sent_to", sa.Uuid(), nullable=True))
    op.execute("UPDATE sync_outbox SET sent_to = (SELECT clinic_patient_id FROM link_state WHERE id = 1) "
               "WHERE state = 'sent'")


def downgrade() -> None:
    op.drop_column("sync_outbox", "sent_to")
