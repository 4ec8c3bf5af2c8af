"""A live set's reps never overlap in time, even in a session a crash stopped before its final analysis.

The capture worker stores each rep the moment it is counted (provisional: from the moment the rep before it was
counted), and rewrites it once the detector settles it (final). A settled rep ends at the first sample back at the
rest after it, often a frame or two after the moment it was counted: the provisional rep after it started before it
ended. A session stopped then (the laptop's power cut) kept those rows, and the clinic refuses a set whose reps
overlap (romcam.session_doc): its upload would be refused and stay on the laptop."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from db_fixtures import *  # noqa: F403  (store, db_url, postgres_server)

from romcam.filters import OneEuroFilter
from romcam.live.coach import PlanItem
from romcam.live.recorder import Recorder
from romcam.measure import Sample
from romcam.reps import RepDetector
from romcam.store import service
from romcam.store.db import Store
from romcam.sync.document import clinic_document

FPS = 15.0
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
ITEM = PlanItem(exercise="shoulder_abduction", side="left", view="front", works="max", joint="shoulder")


def _angles() -> np.ndarray:
    """Reps of 4 s up to ~90° from a rest of 20° that sinks slowly, with 1.5° of measurement noise."""
    t = np.arange(int(12 * FPS)) / FPS
    return 20 - 0.5 * t + 70 * (1 - np.cos(2 * np.pi * t / 4.0)) / 2 + np.random.default_rng(0).normal(0, 1.5, t.size)


def test_a_session_stopped_mid_set_uploads_with_reps_one_after_the_other(store: Store) -> None:
    with store.session() as db:
        patient = service.create_patient(db, name="Ada")
        pid = patient.id
    rec = Recorder(store, patient_id=pid, source="camera 0", demo=False, model="test")
    sid = rec.begin_session(now=T0)
    rec.begin_set(ITEM, t=0.0, fps=FPS, now=T0)
    # the capture worker's way (romcam.live.capture._store_reps): One Euro, the streaming detector, a provisional
    # row when a rep is counted, the final row when it is settled
    filt, det = OneEuroFilter(), RepDetector(works="max", hysteresis=8.0)
    counted = final = 0
    start, hi, lo, peak = 0.0, -math.inf, math.inf, (-math.inf, 0.0)
    counted_at: list[float] = []
    for i, raw in enumerate(_angles().tolist()):
        t = i / FPS
        f = filt(t, raw)
        finals = det.update(t, f)
        hi, lo = max(hi, f), min(lo, f)
        if f > peak[0]:
            peak = (f, t)
        rec.add_sample(Sample(i, t, raw, 0.9, True, 5.0, None))
        while det.completed > counted:
            rec.rep(counted, {"start": start, "peak": peak[1], "end": t, "max_angle": hi, "min_angle": lo,
                              "hold_s": 0.0, "partial": False, "below_target": None})
            counted += 1
            counted_at.append(t)
            start, hi, lo, peak = t, -math.inf, math.inf, (-math.inf, t)
        for r in finals:
            if not r.partial:
                rec.rep(final, r.to_dict())
                final += 1
        if final == 1 and counted == 2:
            break  # the power is cut: rep 1 is settled, rep 2 only counted
    assert (final, counted) == (1, 2)
    rec.retry()
    with store.session() as db:
        doc = clinic_document(db, sid, clinic_patient_id=pid, managed_rx=set())
    reps = doc.sets[0].reps
    assert len(reps) == 2
    assert reps[0].end > counted_at[0]  # rep 1 settled at the lower rest, after the moment it was counted
    assert reps[1].start == reps[0].end  # rep 2 starts where rep 1 ended, not where rep 1 was counted
    assert reps[1].start < reps[1].peak < reps[1].end
    assert reps[1].max_angle > 80.0
