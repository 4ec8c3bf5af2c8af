"""Synthetic data for tests and demos: session documents built without video, and ``seed_demo``, one
patient with a plan and weeks of sessions in which one motion declines.

Everything made here is synthetic (sources say so); nothing is a real patient's data.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session as DB

from ..catalog import default_catalog
from ..reps import detect_reps
from ..session_doc import session_document, set_from_analysis
from . import service
from .models import Patient, Prescription


def synthetic_analysis(exercise: str, side: str, peak: float, *, reps: int = 3, fps: float = 15.0,
                       rep_s: float = 3.0, rest: float | None = None, noise_deg: float = 0.5,
                       unseen_s: float = 0.0, rng: np.random.Generator | None = None) -> dict[str, Any]:
    """A ``romcam.analysis/1`` document of ``reps`` smooth reps reaching ``peak`` (no video).

    ``unseen_s``: seconds around each rep's peak in which the limb is not measured (a caregiver's
    hands over the joint): those samples have no angle, the rep's angles are the ones seen, and each
    rep's ``peak_seen`` is what romcam's own rep detector (``romcam.reps``) says of the signal."""
    rng = rng or np.random.default_rng(0)
    motion = default_catalog().get(exercise)
    if rest is None:
        rest = max(motion.normal.min, 0.0) if motion.works == "max" else peak + 60.0
    duration = reps * rep_s + 1.0
    t = np.arange(0.0, duration, 1.0 / fps)
    phase = np.clip((t - 0.5) / rep_s, 0, reps)
    angle = rest + (peak - rest) * (1 - np.cos(2 * np.pi * phase)) / 2 + rng.normal(0, noise_deg, t.size)
    peaks = [0.5 + (i + 0.5) * rep_s for i in range(reps)]
    if unseen_s > 0:
        angle[np.any([np.abs(t - p) < unseen_s / 2 for p in peaks], axis=0)] = np.nan
    found = [r for r in detect_reps(t, angle, works=motion.works) if not r.partial]
    if len(found) != reps:
        raise ValueError(f"the rep detector finds {len(found)} reps in this synthetic signal, not {reps}: "
                         "make the reps larger than the noise")
    rep_list = []
    for i, at in enumerate(peaks):
        start, end = 0.5 + i * rep_s, 0.5 + (i + 1) * rep_s
        inside = (t >= start) & (t <= end) & ~np.isnan(angle)
        rep_list.append({"start": round(start, 3), "peak": round(at, 3), "end": round(end, 3),
                         "max_angle": round(float(angle[inside].max()), 1),
                         "min_angle": round(float(angle[inside].min()), 1), "hold_s": 0.3, "partial": False,
                         "below_target": None, "peak_seen": found[i].peak_seen})
    return {
        "schema": "romcam.analysis/1", "exercise": exercise, "exercise_name": motion.display_name,
        "experimental": motion.experimental, "side": side, "video": "synthetic (no video)", "fps": fps,
        "frames": int(t.size), "frames_with_subject": int(t.size), "frames_measured": int(t.size),
        "view_ok_fraction": 1.0, "required_view": motion.view, "method": motion.method, "works": motion.works,
        "target": None,
        "normal_range": {"min": motion.normal.min, "max": motion.normal.max, "source": motion.normal.citation},
        "samples": [_sample(a, b) for a, b in zip(t, angle, strict=True)],
        "reps": rep_list, "best_seen": all(r["peak_seen"] for r in rep_list),
        "max_angle": round(float(np.nanmax(angle)), 1), "min_angle": round(float(np.nanmin(angle)), 1),
        "warnings": [], "error": None, "model": "synthetic", "romcam_version": "0.1.0",
    }  # fmt: skip


def _sample(t: float, angle: float) -> dict[str, Any]:
    if math.isnan(angle):
        return {"t": round(float(t), 3), "angle": None, "angle_raw": None, "confidence": 0.0, "view_ok": True}
    return {"t": round(float(t), 3), "angle": round(float(angle), 1), "angle_raw": round(float(angle), 1),
            "confidence": 0.9, "view_ok": True}


def synthetic_session(patient_id: uuid.UUID, started_at: datetime,
                      sets: list[dict[str, Any]], *, demo: bool = False, status: str = "complete",
                      session_id: uuid.UUID | None = None) -> dict[str, Any]:
    """A ``romcam.session/1`` document; each of ``sets`` is a dict with exercise, side, mode, posture,
    peak and optionally prescription (a Prescription row) and the synthetic_analysis keywords."""
    built = []
    for i, spec in enumerate(sets):
        spec = dict(spec)
        rx: Prescription | None = spec.pop("prescription", None)
        mode, posture = spec.pop("mode"), spec.pop("posture")
        doc = synthetic_analysis(spec.pop("exercise"), spec.pop("side"), spec.pop("peak"), **spec)
        built.append(set_from_analysis(doc, mode=mode, posture=posture,
                                       prescription_id=rx.id if rx else None,
                                       prescription_version=rx.current_version if rx else None,
                                       started_at=started_at + timedelta(minutes=3 * i)))
    return session_document(built, patient_id=patient_id, started_at=started_at,
                            ended_at=started_at + timedelta(minutes=3 * len(sets) + 2), source="synthetic (seed)",
                            status=status, demo=demo, model="synthetic", session_id=session_id)


DEMO_PLAN = [
    # (exercise, side, mode, posture, target_min, target_max, safe_max, baseline best, decline over the last 3)
    ("knee_flexion", "right", "active", "seated", 90, 120, 135, 110.0, 25.0),
    ("shoulder_abduction", "left", "active", "standing", 100, 150, 165, 135.0, 0.0),
    ("shoulder_abduction", "left", "passive", "lying", 110, 160, 170, 150.0, 0.0),
]


def seed_demo(db: DB, patient: Patient | None = None, *, weeks: int = 8, sessions_per_week: int = 3,
              now: datetime | None = None, seed: int = 0, name: str = "Demo patient (synthetic)") -> Patient:
    """One patient (made unless given) with the three prescriptions of :data:`DEMO_PLAN` and ``weeks``
    weeks of sessions, ``sessions_per_week`` a week up to yesterday, each with one set per prescription.

    Right knee flexion (active, seated) loses 25° over the last 3 sessions (beyond its measurement
    noise in the catalog), so a decline alert fires;
    the shoulder series only wobble within their noise. The knee's target is lowered half-way (its
    version 2), so older trend points keep version 1's band. Returns the patient.
    """
    rng = np.random.default_rng(seed)
    now = now or datetime.now(UTC)
    if patient is None:
        patient = service.create_patient(db, name=name, notes="Synthetic data made by romcam.store.seed.seed_demo")
    n = weeks * sessions_per_week
    step = timedelta(days=7 / sessions_per_week)
    first = (now - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0) - step * (n - 1)
    rxs = []  # the plan was made the day before the first session (adherence counts from then)
    for exercise, side, mode, posture, tmin, tmax, safe, *_ in DEMO_PLAN:
        rxs.append(service.create_prescription(db, patient, {
            "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": tmin,
            "target_max": tmax, "safe_max": safe, "reps": 10, "hold_s": 2.0,
            "sessions_per_week": sessions_per_week, "notes": "Go slowly; stop if it hurts."},
            created_at=first - timedelta(days=1)))
    for k in range(n):
        if k == n // 2:  # the PT lowers the knee target half-way: later sets follow version 2
            knee = DEMO_PLAN[0]
            service.update_prescription(db, rxs[0], {
                "exercise": knee[0], "side": knee[1], "mode": knee[2], "posture": knee[3], "target_min": 85,
                "target_max": 115, "safe_max": knee[6], "reps": 10, "hold_s": 2.0,
                "sessions_per_week": sessions_per_week, "notes": "Target eased a little."},
                created_at=first + step * k - timedelta(hours=2))
        sets = []
        for rx, (exercise, side, mode, posture, *_, base, drop) in zip(rxs, DEMO_PLAN, strict=True):
            peak = base + rng.normal(0, 1.5) - (drop if k >= n - 3 else 0.0)
            sets.append({"exercise": exercise, "side": side, "mode": mode, "posture": posture,
                         "peak": round(float(peak), 1), "prescription": rx, "rng": rng})
        when = first + step * k
        when = when.replace(minute=int(rng.integers(0, 50)))
        doc = synthetic_session(patient.id, when, sets,
                                session_id=uuid.uuid5(patient.id, f"seed/{k}/{math.floor(when.timestamp())}"))
        service.ingest_session(db, doc, now=now)
    return patient
