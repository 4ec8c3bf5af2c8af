"""Exports of a patient's record: CSV (one row per rep, one per set without a rep) and a FHIR R4
``Bundle`` of ``Observation``s (one per set).

FHIR coding: ``code`` is SNOMED CT 364564000 "Range of joint movement" plus the romcam motion id
(system :data:`MOTION_SYSTEM`); ``bodySite`` is one SNOMED CT concept, the joint structure refined
by its laterality in a post-coordinated expression (``<joint>:272741003=7771000`` left /
``=24028007`` right). The neck has no laterality, so its side (the direction of the motion) is in
the motion coding's text. ``valueQuantity`` is the set's best angle in UCUM ``deg``, ``method`` says
active, active-assisted or passive. A second ``note`` gives both ends of the set's range and how far
each end can be off (the catalog's ``measurement_noise_deg`` and ``return_noise_deg``).

A set whose furthest point was not seen (``best_seen`` false: the limb was out of view at the end of
a repetition, romcam.reps "peak_seen") keeps its best angle as the value, marked as the bound it is:
``valueQuantity.comparator`` ``>=`` (``<=`` for motions that work the minimum: the joint got at least
that far) and the first ``note`` says so in words. The CSV has a ``peak_seen`` column per rep, and a
``past_safe`` one: which of the set's safe limits the rep went past (``max``, ``min``, ``both``; empty for
neither or no limit), by the rule ``romcam analyze`` flags it with (:func:`romcam.safe_limits.past_safe`),
against the limits :func:`romcam.safe_limits.set_limits` gives: the prescription version's the set followed,
or, for a set filed under none, those it was given with ``romcam analyze --safe-max/--safe-min``; the
``safe_max``, ``safe_min`` and ``safe_limits_from`` (``prescription`` or ``analyze``) columns give them.

A set measured on fewer than 4 frames a second of the movement (romcam.sample_rate: its rep count and peaks are
not to be trusted) says so: the CSV's ``sample_fps`` (every set's, one decimal; empty when not known) and
``sample_note`` ("measured on 2 pictures a second: rep count and peaks uncertain", empty at 4 or more), and a
``note`` of its FHIR Observation ("Measured on 2 pictures a second: too few to be sure of the rep count and the
peaks (4 or more needed)").

A session a linked laptop sent with its clock off from the clinic's says so, as the session page does: the CSV's
``laptop_clock_off_s`` and ``clock_note`` columns, and a ``note`` of each FHIR Observation ("This laptop's clock was
26 hours behind the clinic's when it sent this session: its times are the laptop's."): its ``effectiveDateTime`` is
the laptop's time, not corrected.

``below_target`` is judged against the set's ``target_judged`` (the target ``romcam analyze`` or the live coach kept
with the set: ``--target``, or the near end of the plan's range), which a set filed under no prescription has
without a ``target_min`` or ``target_max``.

Demo sessions (a rendered figure, ``romcam demo``) stay in the CSV, marked in its ``demo`` column,
and are left out of the FHIR Bundle, which has no such mark.

A set in which no rep was counted (the joint moved too little: for a patient losing range, the
session that matters most) is in the CSV all the same, as one row with the rep's columns empty and
the set's own ``max_angle_deg`` and ``min_angle_deg``. Its times are ISO 8601 UTC text, and again in the
reader's zone as a spreadsheet reads a date and time (``session_started_local``, ``set_started_local``,
the zone in ``time_zone``), each with its offset from UTC (``session_utc_offset``, ``set_utc_offset``:
"UTC+01:00"), since a local time alone is ambiguous in the hour repeated when the clocks go back.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import selectinload

from ..catalog import Motion, default_catalog
from ..degrees import whole_degrees
from ..safe_limits import set_limits
from ..sample_rate import too_few_frames, too_few_frames_note, too_few_frames_short
from ..session_doc import clock_note
from .models import ExerciseSet, Patient, PrescriptionVersion, Session
from .service import judged_target, target_version_of, versions_followed

SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
MOTION_SYSTEM = "https://github.com/romcam/romcam/motions"  # romcam's catalog ids
METHOD_SYSTEM = "https://github.com/romcam/romcam/rom-mode"
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
LATERALITY_ATTRIBUTE = "272741003"
# SNOMED CT body structures of the catalog's joints (the shoulder as the glenohumeral joint)
JOINT_STRUCTURE = {
    "shoulder": ("85537004", "Glenohumeral joint structure"),
    "elbow": ("16953009", "Elbow joint structure"),
    "hip": ("24136001", "Hip joint structure"),
    "knee": ("49076000", "Knee joint structure"),
    "ankle": ("70258002", "Ankle joint structure"),
    "neck": ("122494005", "Cervical spine structure"),
}
UNLATERALIZED = {"neck"}
METHOD_DISPLAY = {"active": "Active range of motion", "active_assisted": "Active-assisted range of motion",
                  "passive": "Passive range of motion"}

CSV_COLUMNS = ["session_id", "session_started_at", "session_status", "demo", "set_id", "set_started_at",
               "exercise", "side", "mode", "posture", "prescription_id", "prescription_version", "target_min",
               "target_max", "rep", "start_s", "peak_s", "end_s", "max_angle_deg", "min_angle_deg", "hold_s",
               "partial", "below_target", "peak_seen", "session_started_local", "set_started_local", "time_zone",
               "session_utc_offset", "set_utc_offset", "past_safe", "safe_max", "safe_min", "safe_limits_from",
               "sample_fps", "sample_note", "laptop_clock_off_s", "clock_note", "target_judged", "session_ended_at",
               "session_ended_local", "session_ended_utc_offset", "session_duration_s"]
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"  # what spreadsheets read as a date and time (ISO 8601 with T and offset: text)
NOT_SEEN = "furthest point not seen (the limb was out of view at the end of a repetition)"


def _sets(db: DB, patient: Patient) -> list[tuple[Session, ExerciseSet]]:
    sessions = db.scalars(select(Session).where(Session.patient_id == patient.id)
                          .order_by(Session.started_at, Session.id)
                          .options(selectinload(Session.sets).selectinload(ExerciseSet.reps)))
    return [(s, x) for s in sessions for x in s.sets]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _local(value: datetime | None, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime(LOCAL_FORMAT) if value is not None else ""


def _utc_offset(value: datetime | None, zone: tzinfo) -> str:
    """The offset of ``zone`` from UTC at ``value``, as "UTC+01:00" ("UTC-06:00", "UTC+05:45"): text to a
    spreadsheet (a bare "+01:00" or "-06:00" is read as a formula or a time); "" without a time."""
    if value is None:
        return ""
    offset = value.astimezone(zone).utcoffset()
    minutes = round(offset.total_seconds() / 60) if offset is not None else 0
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours:02d}:{mins:02d}"


def export_csv(db: DB, patient: Patient, *, zone: tzinfo = UTC) -> str:
    """One row per rep, and one per set without a rep. Times twice: ISO 8601 UTC (``*_at``) for programs,
    and in ``zone`` as ``YYYY-MM-DD HH:MM:SS`` (``*_local``, the zone named in ``time_zone``), which
    spreadsheets read as dates, each with its offset from UTC then (``*_utc_offset``); the session's end likewise
    (``session_ended_*``, empty while it has none) and its length (``session_duration_s``). A session a linked
    laptop sent with its clock off from the clinic's says so on each row (``laptop_clock_off_s``, seconds,
    negative: behind; ``clock_note`` in words): its times are the laptop's, not corrected."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    bands: dict[tuple, PrescriptionVersion | None] = {}
    for session, s in _sets(db, patient):
        key = (s.prescription_id, s.prescription_version)
        if s.prescription_id is not None and key not in bands:
            bands[key] = db.get(PrescriptionVersion, key)
        v = bands.get(key)
        tv = target_version_of(db, s, v)  # a set refiled mid-set: the target its reps were coached to
        head = (session.id, session.started_at, session.status, session.demo, s.id, s.started_at, s.exercise,
                s.side, s.mode, s.posture, s.prescription_id, s.prescription_version,
                tv.target_min if tv else None, tv.target_max if tv else None)
        local = (_local(session.started_at, zone), _local(s.started_at, zone), str(zone),
                 _utc_offset(session.started_at, zone), _utc_offset(s.started_at, zone))
        limits = set_limits(v, s.summary)
        safe = (limits.safe_max, limits.safe_min, limits.source, *_sample_cells(s), session.clock_off_s,
                clock_note(session.clock_off_s), judged_target(s.summary), session.ended_at,
                _local(session.ended_at, zone), _utc_offset(session.ended_at, zone),
                session_duration_s(session.started_at, session.ended_at))
        for i, r in enumerate(s.reps, start=1):
            past = limits.past(r.max_angle, r.min_angle)
            w.writerow([_fmt(x) for x in (*head, i, r.start, r.peak, r.end, r.max_angle, r.min_angle, r.hold_s,
                                          r.partial, r.below_target, r.peak_seen, *local, past, *safe)])
        if not s.reps:  # no rep counted (the joint barely moved): the set still happened, with its own range
            w.writerow([_fmt(x) for x in (*head, None, None, None, None, s.max_angle, s.min_angle, None, None,
                                          None, None, *local, None, *safe)])
    return out.getvalue()


def session_duration_s(started_at: datetime, ended_at: datetime | None) -> int | None:
    """How long a session lasted, in whole seconds (from its start to its end, as stored); None when it has no
    end (a live session still recording, or one the laptop stopped before it could say when)."""
    if ended_at is None:
        return None
    return round((ended_at - started_at).total_seconds())


def _sample_cells(s: ExerciseSet) -> tuple[float | None, str | None]:
    """The set's frames measured a second (one decimal) and, below 4, what that means for its numbers."""
    if s.sample_fps is None:
        return None, None
    return round(s.sample_fps, 1), too_few_frames_short(s.sample_fps) if too_few_frames(s.sample_fps) else None


def body_site(joint: str, side: str) -> dict[str, Any]:
    code, display = JOINT_STRUCTURE[joint]
    if joint in UNLATERALIZED:
        return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display}
    lat, lat_name = LATERALITY[side]
    text = f"{lat_name} {display[0].lower()}{display[1:]}"
    return {"coding": [{"system": SNOMED, "code": f"{code}:{LATERALITY_ATTRIBUTE}={lat}", "display": text}],
            "text": text}


def observation(patient: Patient, session: Session, s: ExerciseSet) -> dict[str, Any]:
    motion = default_catalog().get(s.exercise)
    side_text = f", toward the {s.side}" if motion.joint in UNLATERALIZED else f", {s.side}"
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(s.id),
        "status": "final" if session.status == "complete" else "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "exam", "display": "Exam"}]}],
        "code": {"coding": [{"system": SNOMED, "code": "364564000", "display": "Range of joint movement"},
                            {"system": MOTION_SYSTEM, "code": motion.id, "display": motion.display_name}],
                 "text": f"{motion.display_name}{side_text} ({s.posture})"},
        "subject": {"reference": f"Patient/{patient.id}", "display": patient.name},
        "effectiveDateTime": (s.started_at or session.started_at).isoformat(),
        "bodySite": body_site(motion.joint, s.side),
        "method": {"coding": [{"system": METHOD_SYSTEM, "code": s.mode, "display": METHOD_DISPLAY[s.mode]}],
                   "text": METHOD_DISPLAY[s.mode]},
        "valueQuantity": {"value": s.best_angle, "unit": "deg", "system": UCUM, "code": "deg"},
        "note": [{"text": f"{_best_note(motion, s)}; {s.reps_full} full and {s.reps_partial} partial reps; "
                          "measured by romcam from video"},
                 {"text": _range_note(motion, s)}],
    }
    if not s.best_seen:  # a bound: the joint got at least this far
        obs["valueQuantity"]["comparator"] = ">=" if motion.works == "max" else "<="
    if s.best_angle is None:
        del obs["valueQuantity"]
        obs["dataAbsentReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                               "code": "not-performed", "display": "Not Performed"}]}
    if s.sample_fps is not None and too_few_frames(s.sample_fps):  # its count and peaks are not to be trusted
        obs["note"].append({"text": too_few_frames_note(s.sample_fps)})
    if motion.experimental:
        obs["note"].append({"text": f"experimental motion: {motion.experimental_reason}"})
    clock = clock_note(session.clock_off_s)
    if clock:  # effectiveDateTime is the laptop's, not corrected: said as the session page and the CSV say it
        obs["note"].append({"text": f"{clock[0].upper()}{clock[1:]}."})
    return obs


def _best_note(motion: Motion, s: ExerciseSet) -> str:
    """What the value is: the best angle reached, or, its furthest point not seen, a bound."""
    extreme = "maximum" if motion.works == "max" else "minimum"
    if s.best_seen or s.best_angle is None:
        return f"best angle of the set ({extreme} reached)"
    beyond = "or more" if motion.works == "max" else "or less"
    return (f"{NOT_SEEN}: the best angle of the set is at least as far as {whole_degrees(s.best_angle)} deg "
            f"({whole_degrees(s.best_angle)} deg {beyond}), a bound on the {extreme} reached, not a measurement of it")


def _range_note(motion: Motion, s: ExerciseSet) -> str:
    """Both ends of the set's range, with how far each end can be off (the catalog's noise)."""
    reached = ("" if s.min_angle is None or s.max_angle is None
               else f"range reached {whole_degrees(s.min_angle)} to {whole_degrees(s.max_angle)} deg; ")
    return (f"{reached}measurement noise about ±{motion.high_end_noise_deg:g} deg at the high end of the range, "
            f"±{motion.low_end_noise_deg:g} deg at the low end")


def _past_safe_note(s: ExerciseSet, v: PrescriptionVersion | None) -> str | None:
    """"2 of 3 reps went past the PT's safe maximum of 130 deg" (the set's limits,
    :func:`romcam.safe_limits.set_limits`: those of the prescription version it followed, or else "the safe
    maximum of 130 deg given to romcam analyze"; by the rule the session page and the CSV flag each rep with),
    or None."""
    limits = set_limits(v, s.summary)
    said = []
    for end, limit, name in (("max", limits.safe_max, "maximum"), ("min", limits.safe_min, "minimum")):
        past = [r for r in s.reps if limits.past(r.max_angle, r.min_angle) in (end, "both")]
        if past and limit is not None:
            whose = (f"the PT's safe {name} of {limit:g} deg" if limits.source == "prescription"
                     else f"the safe {name} of {limit:g} deg given to romcam analyze (not from a prescription)")
            said.append(f"{len(past)} of {len(s.reps)} reps went past {whose}")
    return "; ".join(said) or None


def export_fhir(db: DB, patient: Patient) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection) with one Observation per stored set, demo sessions left out
    (they measure a rendered figure, not the patient: as an Observation of the patient they would enter
    a health record as real measurements); without any set, no ``entry`` at all (FHIR's JSON has no
    empty arrays: a validator refuses ``"entry": []``)."""
    entries = []
    rows = [(session, s) for session, s in _sets(db, patient) if not session.demo]
    versions = versions_followed(db, [s for _, s in rows])  # one query, not one per set
    for session, s in rows:
        obs = observation(patient, session, s)
        v = versions.get((s.prescription_id, s.prescription_version)) if s.prescription_id else None
        note = _past_safe_note(s, v)
        if note:
            obs["note"].append({"text": note})
        entries.append({"fullUrl": f"urn:uuid:{s.id}", "resource": obs})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        bundle["entry"] = entries
    return bundle
