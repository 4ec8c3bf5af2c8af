"""Which device token each thing the laptop holds belongs to, and the laptop's clock at the clinic
(docs/sync.md).

- ``link_state.started_fp``: the fingerprint of the device token romcam last started with, and
  ``link_state.confirmed_fp``: that of the token whose ``GET /api/device`` answer named the clinic patient
  the row holds. A token the clinic has not answered yet (``confirmed_fp`` another's) is a link not yet
  confirmed: the status names no patient and no consent, and nothing is sent.
- ``sync_outbox.link_fp``: the token a session was recorded under (the one romcam ran with then). A laptop
  re-linked to another patient holds only what was recorded under the link before, however many times it
  restarts before the clinic answers (the process's own start no longer decides it).
- ``sync_outbox.clock_off_s``: how far the laptop's clock was ahead of the clinic's (seconds, negative:
  behind) when the session was first sent, fixed then so that every retry sends the same bytes; 0 when
  within 5 minutes (nothing said). Rows sent, or tried, before this revision get 0: what the clinic may
  already hold was sent without it.
- ``sessions.clock_off_s``: at the clinic, the offset the laptop sent with the session (null: none said).

Rows queued before this revision have no ``link_fp``: the link the laptop had before (see
romcam.sync.plan.apply_plan). Added in place, as 0006: on SQLite, rebuilding ``sessions`` in batch mode
would cascade-delete its sets.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("link_state", sa.Column("started_fp", sa.String(64), nullable=True))
    op.add_column("link_state", sa.Column("confirmed_fp", sa.String(64), nullable=True))
    op.add_column("sync_outbox", sa.Column("link_fp", sa.String(64), nullable=True))
    op.add_column("sync_outbox", sa.Column("clock_off_s", sa.Float(), nullable=True))
    op.execute("UPDATE sync_outbox SET clock_off_s = 0 WHERE state = 'sent' OR attempts > 0")
    op.add_column("sessions", sa.Column("clock_off_s", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("sessions", "clock_off_s")
    op.drop_column("sync_outbox", "clock_off_s")
    op.drop_column("sync_outbox", "link_fp")
    op.drop_column("link_state", "confirmed_fp")
    op.drop_column("link_state", "started_fp")
