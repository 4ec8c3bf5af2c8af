"""A rest or a pause in the middle of a live set: what the PT reads of that set afterwards.

While the coach is paused or resting the capture worker keeps no samples (romcam/live/capture.py), so the
set's samples jump in time: the arm was at the top of a rep when the patient asked for a rest, and at
their side when they came back. The set's final analysis (the stored reps and curve) must not smooth
across that jump as if it were movement: the smoothing rings there, and a rep's stored peak comes out
higher than the patient ever reached, its low end lower.

Real parts: the samples are real MediaPipe measurements of the rendered demo clip, recorded through the
live recorder into a real SQLite database, and read back as the dashboard reads them.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import DEMO_SPEC

from romcam.analysis import analyze_video
from romcam.live.coach import PlanItem
from romcam.live.recorder import Recorder
from romcam.measure import Sample
from romcam.store.db import Store
from romcam.store.service import get_session, session_detail

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REST_S = 15.0  # the coach's offered rest (REST_FATIGUE_S)


def test_a_rest_in_a_set_leaves_a_gap_not_a_made_up_peak(demo_clip: Path, tmp_path: Path) -> None:
    measured = analyze_video(demo_clip, DEMO_SPEC.exercise, DEMO_SPEC.side)
    assert len(measured.reps) == DEMO_SPEC.reps
    first = measured.reps[0]
    # the patient asks for a rest at the top of the first rep and comes back at rest, after the second
    rest_from = first.peak
    back_at = measured.reps[1].end + 0.3
    kept = [s for s in measured.samples if s.t < rest_from or s.t >= back_at]
    assert len(kept) < len(measured.samples)
    seen = [s.angle for s in kept if math.isfinite(s.angle)]

    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    rec = Recorder(store, patient_id=store.local_patient_id, source="camera 0", demo=False, model="full")
    sid = rec.begin_session(now=T0)
    item = PlanItem(exercise=DEMO_SPEC.exercise, side=DEMO_SPEC.side, view="front", works="max", joint="shoulder")
    rec.begin_set(item, t=0.0, fps=DEMO_SPEC.fps, now=T0)
    for s in kept:  # source time goes on through the rest: the samples after it are REST_S later
        t = s.t if s.t < rest_from else s.t - (back_at - rest_from) + REST_S
        rec.add_sample(Sample(s.index, t, s.angle, s.confidence, s.view_ok, s.view_error, s.detail))
    rec.end_set()
    rec.end_session("complete", now=T0 + timedelta(minutes=1))
    assert not rec.unsaved

    with store.session() as db:
        detail = session_detail(db, get_session(db, uuid.UUID(str(sid))))
    (stored,) = detail["sets"]
    # no rep reaches further, at either end, than the arm was ever measured (within 1°: the smoothing)
    for r in stored["reps"]:
        assert r["max_angle"] <= max(seen) + 1.0, (r, max(seen))
        assert r["min_angle"] >= min(seen) - 1.0, (r, min(seen))
    assert stored["max_angle"] <= max(seen) + 1.0
    assert stored["min_angle"] >= min(seen) - 1.0
    # the curve has a gap over the rest (the chart draws none of it), and none where the patient exercised
    t, angle = stored["samples"]["t"], stored["samples"]["angle"]
    during = [a for x, a in zip(t, angle, strict=True) if rest_from < x < rest_from + REST_S]
    assert during and all(a is None for a in during), during
    assert sum(a is None for a in angle) <= len(during) + sum(not math.isfinite(s.angle) for s in kept)
    store.close()
