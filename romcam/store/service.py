"""The repository/service layer: what the API and the command line call. Knows nothing of HTTP.

Functions take an open ORM session ``db``; those that write commit once at the end (one
transaction: nothing half-written on error). Results meant for the API are plain dicts shaped as
docs/api.md says.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import selectinload

from ..catalog import default_catalog
from ..safe_limits import set_limits
from ..sample_rate import sample_fps, too_few_frames
from ..session_doc import SessionDoc, clock_note
from .blob import pack_samples, unpack_samples
from .errors import ConflictError, InvalidError, NotFoundError
from .models import (
    Checkin,
    ExerciseSet,
    Patient,
    PlanPause,
    Prescription,
    PrescriptionVersion,
    Rep,
    Session,
    SetSamples,
)

if TYPE_CHECKING:
    from .trends import LiveCoach

PRESCRIPTION_FIELDS = ("exercise", "side", "mode", "posture", "target_min", "target_max", "safe_max", "safe_min",
                       "reps", "hold_s", "sessions_per_week", "max_reps", "max_minutes", "notes")
OPTIONAL_FIELDS = ("safe_min", "max_reps", "max_minutes", "notes")


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- patients -------------------------------------------------------------------------------------

def get_patient(db: DB, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFoundError("patient")
    return patient


def list_patients(db: DB) -> list[Patient]:
    return list(db.scalars(select(Patient).order_by(Patient.is_local.desc(), Patient.name, Patient.created_at)))


def create_patient(db: DB, *, name: str, notes: str = "", clinician_id: uuid.UUID | None = None) -> Patient:
    patient = Patient(name=name, notes=notes, is_local=False, plan_paused=False, clinician_id=clinician_id)
    db.add(patient)
    db.commit()
    return patient


def update_patient(db: DB, patient: Patient, *, now: datetime | None = None, **changes: Any) -> Patient:
    """Set the fields given; ``clinician_id=None`` leaves the patient with no clinician, the others must
    not be None. Pausing the plan opens a :class:`PlanPause` at ``now``, resuming it closes the open one, in the
    same transaction (the paused days ask for no session: romcam.store.trends)."""
    for key in ("name", "notes", "plan_paused", "clinician_id"):
        if key in changes and changes[key] is None and key != "clinician_id":
            raise InvalidError((key,), f"{key} cannot be null: leave it out to keep it as it is")
    if "plan_paused" in changes and bool(changes["plan_paused"]) != bool(patient.plan_paused):
        now = now or now_utc()
        if changes["plan_paused"]:
            db.add(PlanPause(patient_id=patient.id, paused_at=now))
        else:
            for pause in db.scalars(select(PlanPause).where(PlanPause.patient_id == patient.id,
                                                            PlanPause.resumed_at.is_(None))):
                pause.resumed_at = now
    for key in ("name", "notes", "plan_paused", "clinician_id"):
        if key in changes:
            setattr(patient, key, changes[key])
    db.commit()
    return patient


def plan_pauses(db: DB, patient_id: uuid.UUID) -> list[PlanPause]:
    """The times the patient's plan was paused, oldest first (the open one, if any, last)."""
    return list(db.scalars(select(PlanPause).where(PlanPause.patient_id == patient_id)
                           .order_by(PlanPause.paused_at)))


def open_pause_since(db: DB, patient_id: uuid.UUID) -> datetime | None:
    """When the patient's plan was paused, while it is (None: it is not paused). A patient paused with no open pause
    row (it cannot be made so, but a copy could hold one) is paused since its newest pause, or ``created_at``."""
    patient = db.get(Patient, patient_id)
    if patient is None or not patient.plan_paused:
        return None
    pauses = plan_pauses(db, patient_id)
    open_ones = [p.paused_at for p in pauses if p.resumed_at is None]
    since = open_ones[-1] if open_ones else pauses[-1].paused_at if pauses else patient.created_at
    return since if since.tzinfo is not None else since.replace(tzinfo=UTC)


def replace_plan_pauses(db: DB, patient: Patient, *, paused: bool,
                        pauses: list[tuple[datetime, datetime | None]]) -> None:
    """Make the patient's pause state the one given (a linked laptop mirrors its clinic's: romcam.sync.plan): the
    flag, and the pauses (paused_at, resumed_at or None) in place of the ones stored. Not committed: the caller's
    transaction holds it with the rest (the plan pulled with it). The same pauses as stored write nothing: the plan
    is pulled every few seconds during a session."""
    patient.plan_paused = paused
    if [(p.paused_at, p.resumed_at) for p in plan_pauses(db, patient.id)] == pauses:
        return
    db.execute(delete(PlanPause).where(PlanPause.patient_id == patient.id))
    for paused_at, resumed_at in pauses:
        db.add(PlanPause(patient_id=patient.id, paused_at=paused_at, resumed_at=resumed_at))
    db.flush()


def delete_patient(db: DB, patient: Patient) -> None:
    """Remove the patient and every row of theirs in one transaction, through the schema's ON DELETE
    CASCADE: prescriptions and their versions, sessions, sets, reps, samples, check-ins, alerts (a
    table added later that refers to a patient must cascade too; tests/test_patient_delete.py scans
    every table). On SQLite, ``secure_delete`` zeroes the freed pages and the WAL is checkpointed and
    truncated, so the file keeps no trace (PostgreSQL keeps dead rows until VACUUM: docs/deploy.md).
    The patient at this laptop (the live coach's) cannot be deleted."""
    if patient.is_local:
        raise ConflictError("the patient at this laptop (the live coach's) cannot be deleted; "
                            "remove the database file to erase everything")
    sqlite = db.get_bind().dialect.name == "sqlite"
    if sqlite:
        db.execute(text("PRAGMA secure_delete=ON"))
    db.execute(delete(Patient).where(Patient.id == patient.id))
    db.commit()
    db.expunge_all()
    if sqlite:
        db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.commit()


def patient_public(db: DB, patient: Patient, *, now: datetime | None = None,
                   coach: LiveCoach | None = None) -> dict[str, Any]:
    """The patient as the list and detail routes show it (alerts refreshed first). ``coach``: the server's live
    coach (:class:`romcam.store.trends.LiveCoach`), which alone says which session is being recorded."""
    from .trends import (
        adherence_ratio,
        last_measured_started,
        last_unmeasured,
        newest_not_recording_started,
        open_alert_count,
        plan_started_at,
        recording_started,
        refresh_alerts,
        unmeasured_since_count,
    )

    now = now or now_utc()
    refresh_alerts(db, patient, now=now)
    # the last session begun (not the demo video), the last that measured something, how many began after it
    # (not one still being recorded) and the newest of those, and when one still being recorded began
    last, last_measured, unmeasured, newest_not_recording, recording = db.execute(
        select(select(func.max(Session.started_at)).where(Session.patient_id == Patient.id, Session.demo.is_(False))
               .correlate(Patient).scalar_subquery(), last_measured_started(), unmeasured_since_count(now, coach),
               newest_not_recording_started(now, coach), recording_started(now, coach))
        .where(Patient.id == patient.id)).one()
    last, last_measured, newest_not_recording, recording = (
        at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
        for at in (last, last_measured, newest_not_recording, recording))
    unmeasured = int(unmeasured or 0)
    return {
        "id": patient.id, "name": patient.name, "notes": patient.notes, "created_at": patient.created_at,
        "is_local": patient.is_local, "clinician_id": patient.clinician_id, "plan_paused": patient.plan_paused,
        "last_session_at": last,
        "last_measured_session_at": last_measured, "unmeasured_since": unmeasured,
        "last_unmeasured_session_at": last_unmeasured(unmeasured, newest_not_recording),
        "recording_session_at": recording,
        "plan_started_at": plan_started_at(db, patient),  # None without an active prescription
        "adherence_7d": adherence_ratio(db, patient, 7, now=now),
        "adherence_30d": adherence_ratio(db, patient, 30, now=now),
        "open_alerts": open_alert_count(db, patient, now=now),
    }  # fmt: skip


# --- prescriptions --------------------------------------------------------------------------------

def get_prescription(db: DB, prescription_id: uuid.UUID) -> Prescription:
    rx = db.get(Prescription, prescription_id)
    if rx is None:
        raise NotFoundError("prescription")
    return rx


def current_version(db: DB, rx: Prescription) -> PrescriptionVersion:
    version = db.get(PrescriptionVersion, (rx.id, rx.current_version))
    assert version is not None, "a prescription always has its current version"
    return version


def _check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in PRESCRIPTION_FIELDS if k not in fields and k not in OPTIONAL_FIELDS]
    if missing:
        raise InvalidError((missing[0],), "field required")
    motion = default_catalog().get(fields["exercise"])
    try:
        motion.posture_or_default(fields["posture"])
    except ValueError as exc:
        raise InvalidError(("posture",), str(exc)) from None
    if not fields["target_min"] < fields["target_max"] <= fields["safe_max"]:
        raise InvalidError(("target_max",), "needs target_min < target_max <= safe_max, got "
                           f"{fields['target_min']}, {fields['target_max']}, {fields['safe_max']}")
    safe_min = fields.get("safe_min")
    if safe_min is not None and not safe_min <= fields["target_min"]:
        raise InvalidError(("safe_min",), f"the safe minimum ({safe_min:g}°) must be at or below the bottom of the "
                           f"target ({fields['target_min']:g}°): lower it, or leave it empty for no limit there")
    for key in ("target_min", "target_max", "safe_max", "safe_min"):
        if fields.get(key) is not None and fields[key] not in motion.possible:
            raise InvalidError((key,), f"{fields[key]}° is beyond what the {motion.joint} can do "
                               f"({motion.possible.min:g} to {motion.possible.max:g}° for {motion.name}); "
                               f"its normal range is {motion.normal.min:g} to {motion.normal.max:g}°")
    return {k: fields.get(k) for k in PRESCRIPTION_FIELDS} | {"notes": fields.get("notes") or ""}


SERIES_FIELDS = ("exercise", "side", "mode", "posture")  # what a prescription asks for: one per patient at a time
MODE_WORDS = {"active": "active", "active_assisted": "active-assisted", "passive": "passive"}


def _refuse_duplicate(db: DB, patient_id: uuid.UUID, values: dict[str, Any], *,
                      other_than: uuid.UUID | None = None) -> None:
    """ConflictError when the patient already has an active prescription of the same exercise, side, mode and
    posture (``other_than``: the one being edited): the coach would ask for it twice and file its sessions under
    either. Holds the patient's row (PostgreSQL) so that two requests at once cannot both add it; SQLite has
    one writer. Duplicates stored before this check stay readable."""
    db.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    q = (select(Prescription.id)
         .join(PrescriptionVersion, (PrescriptionVersion.prescription_id == Prescription.id)
               & (PrescriptionVersion.version == Prescription.current_version))
         .where(Prescription.patient_id == patient_id, Prescription.active,
                *(getattr(PrescriptionVersion, k) == values[k] for k in SERIES_FIELDS)))
    if other_than is not None:
        q = q.where(Prescription.id != other_than)
    if db.scalar(q.limit(1)) is not None:
        what = (f"{default_catalog().get(values['exercise']).name}, {values['side']}, "
                f"{MODE_WORDS.get(values['mode'], values['mode'])}, {values['posture']}")
        raise ConflictError(f"this patient already has an active prescription of {what}: edit it instead")


def create_prescription(db: DB, patient: Patient, fields: dict[str, Any], *,
                        created_at: datetime | None = None) -> Prescription:
    """Version 1 of a new prescription, made now (``created_at``: a plan's history, for seeding). Refused
    (ConflictError) when an active prescription of the patient's asks for the same exercise, side, mode and
    posture."""
    values = _check_fields(fields)
    _refuse_duplicate(db, patient.id, values)
    at = created_at or now_utc()
    rx = Prescription(id=uuid.uuid4(), patient_id=patient.id, active=True, current_version=1, created_at=at)
    db.add(rx)
    db.add(PrescriptionVersion(prescription_id=rx.id, version=1, created_at=at, **values))
    db.commit()
    return rx


EDIT_ATTEMPTS = 3  # an edit that loses the race for its version number to another this often is refused


def update_prescription(db: DB, rx: Prescription, fields: dict[str, Any], *,
                        created_at: datetime | None = None) -> Prescription:
    """An edit makes a new version; the old ones stay (sets recorded the version they followed). The
    exercise and side stay: another joint is another prescription. Two edits at once (a double click
    on Save) become two versions, one after the other. ``created_at``: as :func:`create_prescription`. An
    ended prescription edited is back in the plan, from the edit on (``resumed_at``); an
    edit that would give the patient two active prescriptions of the same exercise, side, mode and posture is
    refused (ConflictError)."""
    values = _check_fields(fields)
    current = current_version(db, rx)
    for key in ("exercise", "side"):
        if values[key] != getattr(current, key):
            raise InvalidError((key,), f"a prescription's {key} cannot change ({getattr(current, key)} here): end "
                               "this prescription and make a new one")
    _refuse_duplicate(db, rx.patient_id, values, other_than=rx.id)
    for _ in range(EDIT_ATTEMPTS):
        at = created_at or now_utc()
        rx.current_version += 1
        if not rx.active:  # back in the plan from now: the weeks it was ended asked for nothing
            rx.resumed_at = at
        rx.active = True
        rx.ended_at = None
        db.add(PrescriptionVersion(prescription_id=rx.id, version=rx.current_version, created_at=at, **values))
        try:
            db.commit()
            return rx
        except IntegrityError:  # another edit took this version number meanwhile: come after it
            db.rollback()
            db.refresh(rx)
    raise ConflictError("this prescription is being edited elsewhere at the same time: reload it and try again")


def deactivate_prescription(db: DB, rx: Prescription, *, now: datetime | None = None) -> None:
    """End the prescription (its history kept): its time in the plan ends ``now``. Ending an ended one
    keeps the date it ended."""
    if rx.active:
        rx.active = False
        rx.ended_at = now or now_utc()
    db.commit()


def active_prescriptions(db: DB, patient: Patient) -> list[tuple[Prescription, PrescriptionVersion]]:
    rows = db.execute(
        select(Prescription, PrescriptionVersion)
        .join(PrescriptionVersion, (PrescriptionVersion.prescription_id == Prescription.id)
              & (PrescriptionVersion.version == Prescription.current_version))
        .where(Prescription.patient_id == patient.id, Prescription.active)
        .order_by(Prescription.created_at, Prescription.id))
    return [(rx, v) for rx, v in rows]


def prescription_versions(db: DB, rx: Prescription) -> list[PrescriptionVersion]:
    return list(db.scalars(select(PrescriptionVersion).where(PrescriptionVersion.prescription_id == rx.id)
                           .order_by(PrescriptionVersion.version)))


def prescription_public(rx: Prescription, v: PrescriptionVersion) -> dict[str, Any]:
    motion = default_catalog().get(v.exercise)
    return {"id": rx.id, "patient_id": rx.patient_id, "version": v.version, "active": rx.active,
            "created_at": v.created_at, "exercise_name": motion.display_name, "experimental": motion.experimental,
            **{k: getattr(v, k) for k in PRESCRIPTION_FIELDS}}


# --- sessions -------------------------------------------------------------------------------------

def _check_prescriptions(db: DB, doc: SessionDoc) -> None:
    for i, s in enumerate(doc.sets):
        if s.prescription_id is None:
            continue
        rx = db.get(Prescription, s.prescription_id)
        if rx is None or rx.patient_id != doc.patient_id:
            raise InvalidError(("sets", i, "prescription_id"),
                               f"no prescription {s.prescription_id} for this patient: send null or one of "
                               "GET /api/patients/{id}/prescriptions")
        v = db.get(PrescriptionVersion, (rx.id, s.prescription_version))
        if v is None:
            raise InvalidError(("sets", i, "prescription_version"),
                               f"prescription {rx.id} has versions 1 to {rx.current_version}")
        for key in ("exercise", "side", "mode", "posture"):
            if getattr(v, key) != getattr(s, key):
                raise InvalidError(("sets", i, key), f"the set says {getattr(s, key)!r} but prescription "
                                   f"{rx.id} version {v.version} prescribes {getattr(v, key)!r}")


def ingest_session(db: DB, doc: SessionDoc | dict[str, Any], *, now: datetime | None = None) -> tuple[uuid.UUID, bool]:
    """Store a ``romcam.session/1`` document in one transaction. Returns ``(id, created)``: re-sending
    the same document is a no-op (``created`` False); the same id with other content is a conflict."""
    if not isinstance(doc, SessionDoc):
        doc = SessionDoc.model_validate(doc)
    digest = doc.sha256()
    existing = db.get(Session, doc.id)
    if existing is not None:
        if existing.content_sha256 == digest and existing.patient_id == doc.patient_id:
            return doc.id, False
        raise ConflictError(f"session {doc.id} is already stored with different content: a new session "
                            "needs a new id (re-sending the same document is fine)")
    patient = get_patient(db, doc.patient_id)
    _check_prescriptions(db, doc)
    session = Session(id=doc.id, patient_id=patient.id, started_at=doc.started_at, ended_at=doc.ended_at,
                      source=doc.source, status=doc.status, demo=doc.demo, model=doc.model,
                      romcam_version=doc.romcam_version, content_sha256=digest, clock_off_s=doc.clock_off_s,
                      filed=any(s.prescription_id is not None for s in doc.sets))
    for i, s in enumerate(doc.sets):
        set_id = uuid.uuid5(doc.id, f"set/{i}")  # deterministic: laptop and clinic agree
        row = ExerciseSet(
            id=set_id, position=i, patient_id=patient.id, session_started_at=doc.started_at,
            started_at=s.started_at, exercise=s.exercise, side=s.side, mode=s.mode, posture=s.posture,
            prescription_id=s.prescription_id, prescription_version=s.prescription_version, fps=s.fps,
            frames=s.frames, view_ok_fraction=s.view_ok_fraction, best_angle=s.best_angle,
            min_angle=s.min_angle, max_angle=s.max_angle,
            reps_full=sum(1 for r in s.reps if not r.partial), reps_partial=sum(1 for r in s.reps if r.partial),
            best_seen=s.best_seen, summary=s.summary(),
            sample_fps=sample_fps([x.t for x in s.samples], [x.angle for x in s.samples]),
        )  # fmt: skip
        row.reps = [Rep(id=uuid.uuid5(set_id, f"rep/{j}"), position=j, **r.model_dump())
                    for j, r in enumerate(s.reps)]
        row.samples = SetSamples(count=len(s.samples), data=pack_samples([x.t for x in s.samples],
                                                                         [x.angle for x in s.samples]))
        session.sets.append(row)
    db.add(session)
    try:
        db.flush()
        from .trends import refresh_alerts

        refresh_alerts(db, patient, now=now or now_utc(), commit=False)
        db.commit()
    except IntegrityError:
        db.rollback()
        if db.get(Session, doc.id) is not None:  # the same session arrived twice at once
            return ingest_session(db, doc, now=now)
        raise
    except BaseException:
        db.rollback()
        raise
    return doc.id, True


def get_session(db: DB, session_id: uuid.UUID) -> Session:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFoundError("session")
    return session


def target_version_of(db: DB, s: ExerciseSet, version: PrescriptionVersion | None) -> PrescriptionVersion | None:
    """The prescription version whose target judged the set's reps: ``version`` (the one it is filed under), or
    for a live set refiled under a safer limit's version during it the earlier one it was coached to (its
    summary's ``target_version``: docs/live.md "The PT changes the plan")."""
    coached = (s.summary or {}).get("target_version")
    if (s.prescription_id is None or isinstance(coached, bool) or not isinstance(coached, int)
            or coached == s.prescription_version):
        return version
    return db.get(PrescriptionVersion, (s.prescription_id, coached)) or version


def _set_brief(s: ExerciseSet, version: PrescriptionVersion | None,
               target: PrescriptionVersion | None) -> dict[str, Any]:
    """A set's summary; ``version``: the prescription version it followed, or None; ``target``: the one whose
    target band it was coached to and its reps judged by (:func:`target_version_of`). Its reps past its safe
    limits (:func:`romcam.safe_limits.set_limits`: that version's, or else those it was analysed with) are
    counted, by the rule ``romcam analyze`` flags them with, and so are its reps short of the target (their
    ``below_target``, as judged when the set was measured)."""
    limits = set_limits(version, s.summary)
    past = [limits.past(r.max_angle, r.min_angle) for r in s.reps]
    return {"id": s.id, "exercise": s.exercise, "side": s.side, "mode": s.mode, "posture": s.posture,
            "best_angle": s.best_angle, "best_seen": s.best_seen, "min_angle": s.min_angle, "max_angle": s.max_angle,
            "sample_fps": None if s.sample_fps is None else round(s.sample_fps, 1),
            "too_few_frames": too_few_frames(s.sample_fps),
            "reps_full": s.reps_full, "reps_partial": s.reps_partial,
            "prescription_id": s.prescription_id, "prescription_version": s.prescription_version,
            "safe_max": limits.safe_max, "safe_min": limits.safe_min, "safe_limits_from": limits.source,
            "reps_past_safe_max": sum(1 for p in past if p in ("max", "both")),
            "reps_past_safe_min": sum(1 for p in past if p in ("min", "both")),
            "target_min": target.target_min if target else None, "target_max": target.target_max if target else None,
            "target_judged": judged_target(s.summary),
            "reps_short_of_target": sum(1 for r in s.reps if r.below_target)}


def versions_followed(db: DB, sets: list[ExerciseSet]) -> dict[tuple[uuid.UUID, int], PrescriptionVersion]:
    """The prescription versions ``sets`` followed, by (prescription id, version), in one query."""
    ids = {s.prescription_id for s in sets if s.prescription_id is not None}
    if not ids:
        return {}
    rows = db.scalars(select(PrescriptionVersion).where(PrescriptionVersion.prescription_id.in_(ids)))
    return {(v.prescription_id, v.version): v for v in rows}


def _session_brief(s: Session) -> dict[str, Any]:
    return {"id": s.id, "patient_id": s.patient_id, "started_at": s.started_at, "ended_at": s.ended_at,
            "status": s.status, "demo": s.demo, "source": s.source, "model": s.model,
            "romcam_version": s.romcam_version, "clock_off_s": s.clock_off_s, "clock_note": clock_note(s.clock_off_s)}


def sessions_held(db: DB, patient: Patient, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The ids among ``ids`` of sessions stored for ``patient`` (in the order asked)."""
    if not ids:
        return []
    found = set(db.scalars(select(Session.id).where(Session.patient_id == patient.id, Session.id.in_(ids))))
    return [i for i in dict.fromkeys(ids) if i in found]


def checkins_held(db: DB, patient: Patient, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The ids among ``ids`` of check-ins stored for ``patient``'s sessions (in the order asked)."""
    if not ids:
        return []
    found = set(db.scalars(select(Checkin.id).join(Session, Session.id == Checkin.session_id)
                           .where(Session.patient_id == patient.id, Checkin.id.in_(ids))))
    return [i for i in dict.fromkeys(ids) if i in found]


def list_sessions(db: DB, patient: Patient, *, limit: int = 50, after: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """The patient's sessions, newest first (ties by id); ``after``: the last session of the previous page,
    for the page that follows it (InvalidError when it is not one of this patient's sessions)."""
    q = select(Session).where(Session.patient_id == patient.id)
    if after is not None:
        mark = db.get(Session, after)
        if mark is None or mark.patient_id != patient.id:
            raise InvalidError(("query", "after"), "not a session of this patient: give the id of the last session "
                               "of the previous page")
        q = q.where(or_(Session.started_at < mark.started_at,
                        and_(Session.started_at == mark.started_at, Session.id > mark.id)))
    rows = list(db.scalars(q.order_by(Session.started_at.desc(), Session.id).limit(limit)
                           .options(selectinload(Session.sets).selectinload(ExerciseSet.reps))))
    versions = versions_followed(db, [x for s in rows for x in s.sets])  # every version of those prescriptions

    def brief(x: ExerciseSet) -> dict[str, Any]:
        v = versions.get((x.prescription_id, x.prescription_version)) if x.prescription_id else None
        coached = (x.summary or {}).get("target_version")
        tv = (versions.get((x.prescription_id, coached)) if x.prescription_id and isinstance(coached, int)
              and not isinstance(coached, bool) else None) or v  # as target_version_of, from the versions read
        return _set_brief(x, v, tv)

    return [_session_brief(s) | {"sets": [brief(x) for x in s.sets]} for s in rows]


def judged_target(summary: dict[str, Any] | None) -> float | None:
    """The angle a set's reps were judged short of the target against (``below_target``), as ``romcam analyze``
    kept it with the set's summary (its ``--target``, or the near end of the plan's range); None: none kept."""
    value = (summary or {}).get("target")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def session_detail(db: DB, session: Session) -> dict[str, Any]:
    """The session with every set's reps, samples and the target band it followed."""
    sets = []
    for s in session.sets:
        t, angle = unpack_samples(s.samples.data) if s.samples else ([], [])
        v = db.get(PrescriptionVersion, (s.prescription_id, s.prescription_version)) if s.prescription_id else None
        limits = set_limits(v, s.summary)
        tv = target_version_of(db, s, v)  # a set refiled mid-set: the target it was coached to
        motion = default_catalog().get(s.exercise)
        measured_fps = sample_fps(t, angle)  # from the set's own samples: a live set and an analyzed video alike
        sets.append(_set_brief(s, v, tv) | {
            "target_version": tv.version if tv is not None and tv is not v else None,
            "exercise_name": motion.display_name, "works": motion.works, "started_at": s.started_at,
            "fps": s.fps, "frames": s.frames, "view_ok_fraction": s.view_ok_fraction,
            "sample_fps": None if measured_fps is None else round(measured_fps, 1),
            "too_few_frames": too_few_frames(measured_fps),
            "normal": {"min": motion.normal.min, "max": motion.normal.max, "source": motion.normal.citation},
            "warnings": s.summary.get("warnings", []),
            "reps": [{"start": r.start, "peak": r.peak, "end": r.end, "max_angle": r.max_angle,
                      "min_angle": r.min_angle, "hold_s": r.hold_s, "partial": r.partial,
                      "below_target": r.below_target, "peak_seen": r.peak_seen,
                      "past_safe": limits.past(r.max_angle, r.min_angle)} for r in s.reps],
            "samples": {"t": [round(float(x), 3) for x in t],
                        "angle": [None if x != x else round(float(x), 1) for x in angle]},
        })  # fmt: skip
    from .live import checkins

    return _session_brief(session) | {"sets": sets, "checkins": checkins(db, session.id)}
