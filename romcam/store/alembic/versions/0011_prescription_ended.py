"""When a prescription was ended (``prescriptions.ended_at``, null while it is active): the plan started when
the patient's current, continuous time under a plan began, read from each prescription's time in the plan
(romcam.store.trends.plan_start). Before this revision, ending a prescription only cleared ``active``, and
ending the oldest one moved the plan's start to the next one's date (a patient 20 days into a plan read
"the plan started today", the weeks done "before the plan").

The prescriptions ended before this revision did not record when: each is dated by the last thing known of
it in the plan — its newest version, or the newest session filed under it (it was still prescribed then),
whichever is later. That is when it was ended at the earliest.

Added in place, as 0006 and 0010: on SQLite, rebuilding ``prescriptions`` in batch mode would cascade-delete
its versions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("prescriptions", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    ended = dict(conn.execute(sa.text("SELECT id, created_at FROM prescriptions WHERE NOT active")).all())
    if not ended:
        return
    # each a single grouped pass (exercise_sets has no index on prescription_id: no lookup per prescription); the
    # values come back as each backend stores them (SQLite: text in one format), so max() compares like with like
    for query in ("SELECT prescription_id, max(created_at) FROM prescription_versions GROUP BY prescription_id",
                  "SELECT prescription_id, max(session_started_at) FROM exercise_sets WHERE prescription_id IS NOT "
                  "NULL GROUP BY prescription_id"):
        for rx_id, latest in conn.execute(sa.text(query)):
            if rx_id in ended and latest is not None and latest > ended[rx_id]:
                ended[rx_id] = latest
    conn.execute(sa.text("UPDATE prescriptions SET ended_at = :at WHERE id = :id"),
                 [{"id": rx_id, "at": at} for rx_id, at in ended.items()])


def downgrade() -> None:
    op.drop_column("prescriptions", "ended_at")
