"""Incremental recording of a live session (issue 5, "nothing lost"): short transactions as the
session runs, so a killed server keeps everything up to the last completed rep.

- :func:`begin_session` stores the session at once with status ``interrupted``;
- :func:`begin_set` adds a set row (summary ``{"live": true}`` until it ends);
- both are no-ops for a row already stored, so the recorder can repeat them after a failed write;
- :func:`put_rep` upserts a rep as soon as it is counted (and again when it becomes final);
- :func:`put_samples` rewrites the set's samples blob (the worker calls it about once a second);
- :func:`finish_set` replaces the set's live reps, samples and summary by the offline analysis of
  the whole set (``romcam.analysis.summarize``), so the dashboard and ``romcam analyze`` agree;
- :func:`finish_session` sets ``complete`` (or keeps ``interrupted``), the end time and the content
  hash of the equivalent ``romcam.session/1`` document (a later upload of it is then a no-op).

Row ids are the ones :func:`romcam.store.service.ingest_session` would give (uuid5 of the session and
positions), so a recorded session and the same document ingested are the same rows.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB

from ..sample_rate import sample_fps
from ..session_doc import SessionDoc, SetDoc, session_document
from .blob import pack_samples
from .errors import NotFoundError
from .models import Checkin, ExerciseSet, Rep, Session, SetSamples


def set_id_of(session_id: uuid.UUID, position: int) -> uuid.UUID:
    return uuid.uuid5(session_id, f"set/{position}")


def rep_id_of(set_id: uuid.UUID, position: int) -> uuid.UUID:
    return uuid.uuid5(set_id, f"rep/{position}")


def begin_session(db: DB, *, session_id: uuid.UUID, patient_id: uuid.UUID, started_at: datetime, source: str,
                  demo: bool, model: str, romcam_version: str) -> None:
    """Store the session (status ``interrupted`` until it ends); a no-op when it is stored already (the
    recorder tries again after a failed write)."""
    if db.get(Session, session_id) is not None:
        return
    placeholder = hashlib.sha256(f"live:{session_id}".encode()).hexdigest()
    db.add(Session(id=session_id, patient_id=patient_id, started_at=started_at, ended_at=None, source=source[:200],
                   status="interrupted", demo=demo, model=model[:200], romcam_version=romcam_version,
                   content_sha256=placeholder))
    db.commit()


def begin_set(db: DB, *, session_id: uuid.UUID, position: int, started_at: datetime, exercise: str, side: str,
              mode: str, posture: str, prescription_id: uuid.UUID | None, prescription_version: int | None,
              fps: float) -> uuid.UUID:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFoundError("session")
    set_id = set_id_of(session_id, position)
    if db.get(ExerciseSet, set_id) is not None:  # stored already: a retry after a failed write
        return set_id
    row = ExerciseSet(id=set_id, session_id=session_id, position=position, patient_id=session.patient_id,
                      session_started_at=session.started_at, started_at=started_at, exercise=exercise, side=side,
                      mode=mode, posture=posture, prescription_id=prescription_id,
                      prescription_version=prescription_version, fps=fps, frames=0, view_ok_fraction=0.0,
                      best_angle=None, min_angle=None, max_angle=None, reps_full=0, reps_partial=0,
                      summary={"live": True, "schema": "romcam.analysis/1", "exercise": exercise, "side": side,
                               "warnings": []})
    row.samples = SetSamples(count=0, data=pack_samples([], []))
    db.add(row)
    if prescription_id is not None:
        session.filed = True
    db.commit()
    return set_id


def _refresh_set_stats(db: DB, row: ExerciseSet, works: str) -> None:
    reps = list(db.scalars(select(Rep).where(Rep.set_id == row.id)))
    row.reps_full = sum(1 for r in reps if not r.partial)
    row.reps_partial = sum(1 for r in reps if r.partial)
    row.best_seen = all(r.peak_seen for r in reps)
    if reps:
        row.max_angle = max(r.max_angle for r in reps)
        row.min_angle = min(r.min_angle for r in reps)
        row.best_angle = row.max_angle if works == "max" else row.min_angle


def put_rep(db: DB, *, set_id: uuid.UUID, position: int, rep: dict[str, Any], works: str) -> None:
    """Insert or replace rep ``position`` of the set (``rep``: the fields of ``romcam.reps.Rep``; a rep
    without ``peak_seen`` is taken as seen)."""
    row = db.get(ExerciseSet, set_id)
    if row is None:
        raise NotFoundError("set")
    rid = rep_id_of(set_id, position)
    fields = {k: rep[k] for k in ("start", "peak", "end", "max_angle", "min_angle", "hold_s", "partial",
                                  "below_target")}
    fields["peak_seen"] = bool(rep.get("peak_seen", True))
    existing = db.get(Rep, rid)
    if existing is None:
        db.add(Rep(id=rid, set_id=set_id, position=position, **fields))
    else:
        for k, v in fields.items():
            setattr(existing, k, v)
    db.flush()
    _refresh_set_stats(db, row, works)
    db.commit()


def put_samples(db: DB, *, set_id: uuid.UUID, t: list[float], angle: list[float], frames: int,
                view_ok_fraction: float) -> None:
    row = db.get(ExerciseSet, set_id)
    if row is None:
        raise NotFoundError("set")
    blob = pack_samples(t, angle)
    if row.samples is None:
        row.samples = SetSamples(count=len(t), data=blob)
    else:
        row.samples.count, row.samples.data = len(t), blob
    row.sample_fps = sample_fps(t, angle)
    row.frames = frames
    row.view_ok_fraction = max(0.0, min(1.0, view_ok_fraction))
    db.commit()


def finish_set(db: DB, *, set_id: uuid.UUID, set_doc: dict[str, Any]) -> None:
    """Replace the live rows of the set by the final analysis (a set document of ``romcam.session/1``)."""
    row = db.get(ExerciseSet, set_id)
    if row is None:
        raise NotFoundError("set")
    s = SetDoc.model_validate(set_doc)
    db.execute(delete(Rep).where(Rep.set_id == set_id))
    db.flush()
    db.expire(row, ["reps"])
    for j, r in enumerate(s.reps):
        db.add(Rep(id=rep_id_of(set_id, j), set_id=set_id, position=j, **r.model_dump()))
    row.fps, row.frames, row.view_ok_fraction = s.fps, s.frames, s.view_ok_fraction
    if s.prescription_id is not None and s.prescription_id == row.prescription_id:
        row.prescription_version = s.prescription_version  # a safer limit took over during the set (live.md)
    row.best_angle, row.min_angle, row.max_angle = s.best_angle, s.min_angle, s.max_angle
    row.reps_full = sum(1 for r in s.reps if not r.partial)
    row.reps_partial = sum(1 for r in s.reps if r.partial)
    row.best_seen = s.best_seen
    row.summary = s.summary()
    blob = pack_samples([x.t for x in s.samples], [x.angle for x in s.samples])
    if row.samples is None:
        row.samples = SetSamples(count=len(s.samples), data=blob)
    else:
        row.samples.count, row.samples.data = len(s.samples), blob
    row.sample_fps = sample_fps([x.t for x in s.samples], [x.angle for x in s.samples])
    db.commit()


def finish_session(db: DB, *, session_id: uuid.UUID, status: str, ended_at: datetime,
                   set_docs: list[dict[str, Any]]) -> None:
    """Close the session. ``set_docs``: the final document of every set, in position order."""
    session = db.get(Session, session_id)
    if session is None:
        raise NotFoundError("session")
    session.status = status
    session.ended_at = ended_at
    if len(set_docs) == len(session.sets):
        doc = session_document(set_docs, patient_id=session.patient_id, started_at=session.started_at,
                               ended_at=ended_at, session_id=session.id, source=session.source, status=status,
                               demo=session.demo, model=session.model)
        doc["romcam_version"] = session.romcam_version
        session.content_sha256 = SessionDoc.model_validate(doc).sha256()
    db.flush()
    from .models import Patient
    from .trends import refresh_alerts

    patient = db.get(Patient, session.patient_id)
    if patient is not None:  # the patient list reads decline alerts as stored: bring them up to date now
        refresh_alerts(db, patient, now=ended_at, commit=False)
    db.commit()


def add_checkin(db: DB, *, session_id: uuid.UUID, pain: int, tiredness: int, cramps: bool, note: str,
                at: datetime) -> uuid.UUID:
    if db.get(Session, session_id) is None:
        raise NotFoundError("session")
    row = Checkin(id=uuid.uuid4(), session_id=session_id, pain=pain, tiredness=tiredness, cramps=cramps,
                  note=note, created_at=at)
    db.add(row)
    db.commit()
    return row.id


def checkins(db: DB, session_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.scalars(select(Checkin).where(Checkin.session_id == session_id).order_by(Checkin.created_at))
    return [{"id": r.id, "pain": r.pain, "tiredness": r.tiredness, "cramps": r.cramps, "note": r.note,
             "created_at": r.created_at} for r in rows]


def put_checkin(db: DB, *, checkin_id: uuid.UUID, session_id: uuid.UUID, pain: int, tiredness: int, cramps: bool,
                note: str, at: datetime) -> tuple[dict[str, Any], bool]:
    """Store a check-in under the client's id (a synced upload): ``(check-in, created)``. Re-sending the
    same check-in is a no-op; the same id with other content, or under another session, is a conflict."""
    from .errors import ConflictError

    if db.get(Session, session_id) is None:
        raise NotFoundError("session")
    fields = {"pain": pain, "tiredness": tiredness, "cramps": cramps, "note": note}
    row = db.get(Checkin, checkin_id)
    if row is not None:
        same = row.session_id == session_id and all(getattr(row, k) == v for k, v in fields.items())
        if not same:
            raise ConflictError(f"check-in {checkin_id} is already stored with different content: a new check-in "
                                "needs a new id")
        created = False
    else:
        row = Checkin(id=checkin_id, session_id=session_id, created_at=at, **fields)
        db.add(row)
        try:
            db.commit()
        except IntegrityError:  # the same check-in arrived twice at once: the other request stored it
            db.rollback()
            return put_checkin(db, checkin_id=checkin_id, session_id=session_id, pain=pain, tiredness=tiredness,
                               cramps=cramps, note=note, at=at)
        created = True
    return {"id": row.id, **fields, "created_at": row.created_at}, created
