"""The frames of the movement measured a second of each set (``exercise_sets.sample_fps``), from its own stored
samples (romcam.sample_rate.sample_fps). Below 4 a second the rep count and the peaks are not to be trusted; the
trend charts, the decline and other-end alerts and the exports mark or leave out such a set. They read this
column: deriving it on read would unpack every sample of every set of a patient's two years for each trend.

Sets stored before this revision are filled in here, from their samples, a batch at a time. Added in place, as
0006: on SQLite, rebuilding ``exercise_sets`` in batch mode would cascade-delete its reps and samples.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    from romcam.sample_rate import sample_fps
    from romcam.store.blob import unpack_samples

    op.add_column("exercise_sets", sa.Column("sample_fps", sa.Float(), nullable=True))
    bind = op.get_bind()
    samples = sa.table("set_samples", sa.column("set_id", sa.Uuid()), sa.column("data", sa.LargeBinary()))
    sets = sa.table("exercise_sets", sa.column("id", sa.Uuid()), sa.column("sample_fps", sa.Float()))
    after = None
    while True:
        q = sa.select(samples.c.set_id, samples.c.data).order_by(samples.c.set_id).limit(BATCH)
        if after is not None:
            q = q.where(samples.c.set_id > after)
        rows = bind.execute(q).all()
        if not rows:
            break
        for set_id, data in rows:
            fps = sample_fps(*unpack_samples(data))  # NaN where not measured: left out
            if fps is not None:
                bind.execute(sa.update(sets).where(sets.c.id == set_id).values(sample_fps=fps))
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_column("exercise_sets", "sample_fps")
