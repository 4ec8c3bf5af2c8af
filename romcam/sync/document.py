"""The ``romcam.session/1`` document of a stored session, re-addressed to the clinic.

Ids (docs/sync.md): the session keeps its id (UUIDs are global, and the clinic's ingest is
idempotent on it); ``patient_id`` becomes the clinic's id of the token's patient (``GET
/api/device``), since the laptop's own patient has an id of its own; a set keeps its prescription id
and version only when that prescription was pulled from the clinic (a plan the laptop made before it
was linked means nothing there: null). The video path is cut to its file name. The document is built
from the stored rows every time it is sent, deterministically, so a retry sends the same bytes. Each
rep carries ``peak_seen``; the canonical bytes leave it out where it is true (romcam.session_doc), so a
session all of whose peaks were seen is the same document it was before the field existed.
"""

from __future__ import annotations

import math
import uuid
from pathlib import PurePath
from typing import Any

from sqlalchemy.orm import Session as DB

from ..session_doc import SCHEMA, SessionDoc
from ..store.blob import unpack_samples
from ..store.errors import NotFoundError
from ..store.models import Checkin, ExerciseSet, Session


def _iso(value) -> str | None:  # type: ignore[no-untyped-def]
    return value.isoformat() if value is not None else None


def set_document(s: ExerciseSet, managed_rx: set[str]) -> dict[str, Any]:
    summary = {k: v for k, v in (s.summary or {}).items() if k not in ("samples", "reps")}
    if isinstance(summary.get("video"), str):
        summary["video"] = PurePath(summary["video"]).name
    t, angle = unpack_samples(s.samples.data) if s.samples else ([], [])
    keep_rx = s.prescription_id is not None and str(s.prescription_id) in managed_rx
    return summary | {
        "schema": "romcam.analysis/1", "exercise": s.exercise, "side": s.side, "mode": s.mode, "posture": s.posture,
        "prescription_id": str(s.prescription_id) if keep_rx else None,
        "prescription_version": s.prescription_version if keep_rx else None,
        "started_at": _iso(s.started_at), "fps": s.fps, "frames": s.frames, "view_ok_fraction": s.view_ok_fraction,
        "max_angle": s.max_angle, "min_angle": s.min_angle,
        "samples": [{"t": float(a), "angle": None if math.isnan(float(b)) else float(b)}
                    for a, b in zip(t, angle, strict=True)],
        "reps": [{"start": r.start, "peak": r.peak, "end": r.end, "max_angle": r.max_angle, "min_angle": r.min_angle,
                  "hold_s": r.hold_s, "partial": r.partial, "below_target": r.below_target,
                  "peak_seen": r.peak_seen} for r in s.reps],
    }  # fmt: skip


def clinic_document(db: DB, session_id: uuid.UUID, *, clinic_patient_id: uuid.UUID,
                    managed_rx: set[str], clock_off_s: int | None = None) -> SessionDoc:
    """The stored session as the clinic receives it (validated: a broken row fails here, not there);
    ``clock_off_s``: this laptop's clock less the clinic's when the session was first sent (fixed on its
    outbox row), None within 5 minutes."""
    session = db.get(Session, session_id)
    if session is None:
        raise NotFoundError("session")
    doc = {
        "schema": SCHEMA, "id": str(session.id), "patient_id": str(clinic_patient_id),
        "started_at": _iso(session.started_at), "ended_at": _iso(session.ended_at), "source": session.source,
        "status": session.status, "demo": session.demo, "model": session.model,
        "romcam_version": session.romcam_version, "sets": [set_document(s, managed_rx) for s in session.sets],
    }  # fmt: skip
    if clock_off_s is not None:
        doc["clock_off_s"] = clock_off_s
    return SessionDoc.model_validate(doc)


def checkin_document(db: DB, checkin_id: uuid.UUID) -> dict[str, Any]:
    row = db.get(Checkin, checkin_id)
    if row is None:
        raise NotFoundError("check-in")
    return {"pain": row.pain, "tiredness": row.tiredness, "cramps": row.cramps, "note": row.note,
            "created_at": _iso(row.created_at)}
