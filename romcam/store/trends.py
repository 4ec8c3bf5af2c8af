"""Trends, adherence and alerts, read from the per-set summaries (never from the samples).

Rules (docs/api.md says the same):

- A **trend point** is one session's best angle in one series (exercise, side, mode, posture): the
  best of that session's sets (highest for motions that work the maximum, lowest for the minimum).
  It is *seen* (``best_seen``) only when every set of that session in the series has ``best_seen``:
  otherwise a rep's furthest point may have gone unmeasured (romcam.reps, "peak_seen") and the best
  angle is a bound on the range reached (at least that far), not a measurement. It is *measured on too few
  frames* (``too_few_frames``) when any set of that session in the series was measured on fewer than 4 frames a
  second of the movement (``exercise_sets.sample_fps``, romcam.sample_rate): its reps and peaks are not to be
  trusted. A point may be both.
- **decline**: in a series, the median best angle of the last 3 sessions is worse than the
  baseline (the median of the sessions in the 28 days before the first of those 3, at least 3 of
  them) by more than the motion's ``measurement_noise_deg``. Worse = lower for "max" motions,
  higher for "min" motions (a knee that no longer straightens). Only sessions whose best angle was
  seen count, for the last 3 and for the baseline alike: a knee straightened under a caregiver's
  hands reads short of where it got, and a bound is no evidence of a loss. Sessions measured on too few
  frames are left out the same way (a peak fallen between two frames reads short). The note says how many
  were left out, and why. Demo sessions are left out.
- **other_end**: the same rule at the other end of the range, where each rep starts and returns —
  per session the furthest any of its sets in the series got there (the lowest angle for "max"
  motions, the highest for "min" ones) — against the motion's ``return_noise_deg``: an elbow whose
  straightest reading rises, a knee that no longer bends back as far. A joint that no longer returns
  as far as it did is how a contracture shows (ALS), even while the peaks hold. Sessions measured on too
  few frames are left out (that end is reached as briefly as the peak, and missed the same way).
- **of the plan**: a session counts toward adherence (done / planned) and ``missed_sessions`` when at
  least one of its sets is of the plan: filed under one of the patient's prescriptions (it was of the
  plan when recorded, even if that prescription has ended since), or of the same motion, side, mode and
  posture as a prescription active now (a client that does not file its sets). Other sessions —
  another joint saved with ``romcam analyze --save``, a live session with ``--exercise`` — are work
  outside the plan: the calendar shows them apart, and they never count as done.
- **nothing measured**: a session none of whose sets measured anything — no rep, no best angle, fewer than two
  measured samples (:func:`session_measured`): the patient sat down and stopped, nobody was in view — is not an
  exercise session. It never counts as done (the adherence figures, the calendar's count, ``missed_sessions``,
  the patient list: one rule, :func:`filed_of_the_plan` and :func:`unfiled_of_the_plan`); the calendar shows it
  apart as "started, nothing measured", so the PT sees the patient tried. A session still **being recorded**
  (:func:`being_recorded`: on the laptop, the session its live coach is recording now, :class:`LiveCoach`; on a
  server with no live coach, no end time yet, it or one of its sets began less than :data:`RECORDING_QUIET`, an
  hour, ago, and it began less than :data:`RECORDING_LONGEST`, 12 hours, ago) may yet measure something: the
  patient list and page never count it among the sessions begun after the last measured one that measured nothing
  (:func:`unmeasured_since_count`), and say it apart
  (:func:`recording_started`); the calendar does not show it as "started, nothing measured" until it has ended (or
  shows it as done once it measures something). One with no end and nothing begun in it for longer was cut off (a
  crash) and is read as any other.
- **sittings**: adherence counts sittings, not stored sessions (:func:`sitting_starts`). Sessions of the
  plan that each begin less than :data:`SITTING_GAP` (1 hour) after the previous session of the plan
  began are one sitting, counted once, on the day and in the week it began: ``romcam analyze --save``
  of the knee, the elbow and the shoulder clip one morning is the one sitting a live session with a set per
  exercise stores as one session. A twice- or thrice-daily plan's morning and evening sessions are hours
  apart: two sittings. Sessions outside the plan group the same way among themselves (the calendar's
  "outside the plan" count); the two kinds never join or split each other's sittings.
- **missed_sessions**: no (non-demo) session of the plan for longer than 2 × 7 / sessions_per_week days, taking
  the most frequent active prescription (3 a week → more than 4.7 days). Counted from the newest
  session, or from the plan's start (:func:`plan_start`) when there is none, or from when the plan was last resumed
  when that is later. Muted while the plan is paused.
- **pauses** (``plan_pauses``, :func:`plan_pauses`): the time the PT paused the plan asks for no session. The
  adherence figure leaves it out of the window (:func:`adherence_figure`), the calendar marks a day paused for more
  than half of it (:func:`paused_days`) and its weeks ask only for the days the plan held; sittings done while paused
  still count as done.
  The note says the time elapsed in days and hours (:func:`elapsed_text`), never a count of days that the
  dashboard's calendar days ("7 days ago") would contradict.
- Alerts are recomputed on ingest and whenever they are read; a condition that clears resolves its
  alert, a snoozed alert keeps its snooze (and stays quiet) until ``snoozed_until``. The patient
  list (:func:`patient_summaries`) recomputes the time-dependent ``missed_sessions`` condition of
  every patient at each read, in a fixed number of queries; ``decline`` and ``other_end`` depend
  only on the stored sets, so the list shows them as last computed (on ingest, at the end of a live
  session, and when a patient's page or alerts are read).

Speed (benchmarks/perf.py, 200 patients x 2 years): the queries read only the columns they need
(never the ORM rows with their JSON summaries) and use the indexes of migration 0004p.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, exists, false, func, select, true
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased

from ..catalog import Motion, default_catalog
from ..degrees import whole_degrees
from ..safe_limits import SafeLimits, set_limits
from ..sample_rate import too_few_frames
from .errors import NotFoundError
from .models import Alert, ExerciseSet, Patient, PlanPause, Prescription, PrescriptionVersion, Rep, Session
from .service import judged_target

RECENT_SESSIONS = 3
BASELINE_DAYS = 28
BASELINE_MIN_SESSIONS = 3
MISSED_FACTOR = 2.0
MODE_LABEL = {"active": "active", "active_assisted": "active-assisted", "passive": "passive"}


@dataclass(frozen=True, slots=True)
class Point:
    session_id: uuid.UUID
    at: datetime
    best: float
    min_angle: float | None
    max_angle: float | None
    prescription_id: uuid.UUID | None
    prescription_version: int | None
    demo: bool
    # the session's furthest reach at the other end of the range (where reps start and return: the
    # lowest angle of any of its sets in the series for a motion that works the maximum, the highest
    # for one that works the minimum); None when no set recorded it
    other: float | None = None
    # every set of the session in the series had its furthest point seen: ``best`` is a measurement,
    # not a bound (the decline rule reads only these)
    seen: bool = True
    # a set of the session in the series was measured on too few frames a second (romcam.sample_rate): its
    # reps and peaks are not to be trusted (the decline and other-end rules leave the point out)
    few_frames: bool = False
    # a live set refiled under a safer limit's version the PT set during it (its summary's ``target_version``):
    # the earlier version of its prescription whose target it was coached to; None otherwise
    target_version: int | None = None
    # the repetitions counted in the session's sets in the series (whole and cut off): 0 when none was — the
    # point is then the furthest angle the joint went, held or moved too little for a rep, not a rep's peak
    reps: int = 0


def coached_version(rx_version: int | None, value: object) -> int | None:
    """A set's ``target_version`` as its summary kept it (``value``), when it names a version of its prescription
    before ``rx_version`` (the one it is filed under) — as :func:`romcam.store.service.target_version_of` reads it;
    else None."""
    if rx_version is None or isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < rx_version:
        return None
    return value


def _better(works: str, a: float, b: float) -> bool:
    return a > b if works == "max" else a < b


def _further_back(works: str, a: float | None, b: float | None) -> float | None:
    """Of two other-end readings, the one further toward the other end of the range (None = unknown)."""
    if a is None or b is None:
        return b if a is None else a
    return min(a, b) if works == "max" else max(a, b)


def series_points(db: DB, patient: Patient, *, exercise: str | None = None, side: str | None = None,
                  mode: str | None = None, posture: str | None = None,
                  include_demo: bool = True) -> dict[tuple[str, str, str, str], list[Point]]:
    """Per (exercise, side, mode, posture): one point per session, oldest first."""
    # Speed (a patient's two years are ~2,000 sets): columns, not ORM rows with their JSON summaries;
    # no join with sessions — the patient's few demo sessions are read once, by index, and looked up.
    demo_ids = set(db.scalars(select(Session.id).where(Session.patient_id == patient.id, Session.demo == true())))
    q = (select(ExerciseSet.exercise, ExerciseSet.side, ExerciseSet.mode, ExerciseSet.posture,
                ExerciseSet.session_id, ExerciseSet.session_started_at, ExerciseSet.best_angle,
                ExerciseSet.min_angle, ExerciseSet.max_angle, ExerciseSet.prescription_id,
                ExerciseSet.prescription_version, ExerciseSet.best_seen, ExerciseSet.sample_fps,
                ExerciseSet.summary["target_version"],  # one element of the JSON, not the summary
                ExerciseSet.reps_full, ExerciseSet.reps_partial)
         .where(ExerciseSet.patient_id == patient.id, ExerciseSet.best_angle.is_not(None)))
    for col, value in ((ExerciseSet.exercise, exercise), (ExerciseSet.side, side), (ExerciseSet.mode, mode),
                       (ExerciseSet.posture, posture)):
        if value is not None:
            q = q.where(col == value)
    q = q.order_by(ExerciseSet.session_started_at, ExerciseSet.session_id, ExerciseSet.position)
    best: dict[tuple[tuple[str, str, str, str], uuid.UUID], Point] = {}
    catalog = default_catalog()
    works_of: dict[str, str] = {}
    for (exercise_, side_, mode_, posture_, session_id, at, best_angle, lo, hi, rx_id, rx_version,
         set_seen, set_fps, coached, reps_full, reps_partial) in db.execute(q):
        demo = session_id in demo_ids
        if demo and not include_demo:
            continue
        works = works_of.get(exercise_)
        if works is None:
            works = works_of[exercise_] = catalog.get(exercise_).works
        key = (exercise_, side_, mode_, posture_)
        old = best.get((key, session_id))
        other = _further_back(works, lo if works == "max" else hi, old.other if old is not None else None)
        seen = bool(set_seen) and (old is None or old.seen)
        few = too_few_frames(set_fps) or (old is not None and old.few_frames)
        reps = (reps_full or 0) + (reps_partial or 0) + (old.reps if old is not None else 0)
        if old is None or _better(works, best_angle, old.best):
            best[(key, session_id)] = Point(session_id, at, best_angle, lo, hi, rx_id, rx_version, demo, other,
                                            seen, few,
                                            coached_version(rx_version, coached) if rx_id is not None else None,
                                            reps=reps)
        elif other != old.other or seen != old.seen or few != old.few_frames or reps != old.reps:
            best[(key, session_id)] = dataclasses.replace(old, other=other, seen=seen, few_frames=few, reps=reps)
    out: dict[tuple[str, str, str, str], list[Point]] = defaultdict(list)
    for (key, _), p in best.items():  # dicts keep insertion order: oldest session first
        out[key].append(p)
    return dict(out)


@dataclass(frozen=True, slots=True)
class PastSafe:
    """A trend point's safe limits (those of the set its best angle came from, as its target band is: the
    prescription version's, or the ones given to ``romcam analyze``, :func:`romcam.safe_limits.set_limits`)
    and how many reps of the session's sets in the series went past their set's limits."""

    limits: SafeLimits
    past_max: int = 0
    past_min: int = 0
    short: int = 0  # reps of the session's sets in the series short of their set's target (below_target)
    judged: float | None = None  # the target given to ``romcam analyze`` for the point's set filed under no plan


def _past_safe_points(db: DB, patient: Patient, works: str, *, exercise: str, side: str, mode: str | None,
                      posture: str | None,
                      versions: dict[tuple[uuid.UUID, int], PrescriptionVersion | None],
                      ) -> dict[tuple[str, str, uuid.UUID], PastSafe]:
    """Per (mode, posture, session id): :class:`PastSafe`. Reads the reps' two angles and the summaries of
    the sets filed under no prescription only (three queries); ``versions`` caches the prescription versions."""
    where = [ExerciseSet.patient_id == patient.id, ExerciseSet.exercise == exercise, ExerciseSet.side == side,
             ExerciseSet.best_angle.is_not(None)]
    if mode is not None:
        where.append(ExerciseSet.mode == mode)
    if posture is not None:
        where.append(ExerciseSet.posture == posture)
    sets = db.execute(select(ExerciseSet.id, ExerciseSet.session_id, ExerciseSet.mode, ExerciseSet.posture,
                             ExerciseSet.best_angle, ExerciseSet.prescription_id, ExerciseSet.prescription_version)
                      .where(*where)
                      .order_by(ExerciseSet.session_started_at, ExerciseSet.session_id, ExerciseSet.position)).all()
    summaries = {set_id: summary for set_id, summary in db.execute(
        select(ExerciseSet.id, ExerciseSet.summary).where(*where, ExerciseSet.prescription_id.is_(None)))}
    reps: dict[uuid.UUID, list[tuple[float, float]]] = defaultdict(list)
    short: dict[uuid.UUID, int] = defaultdict(int)
    for set_id, hi, lo, below in db.execute(select(Rep.set_id, Rep.max_angle, Rep.min_angle, Rep.below_target)
                                            .join(ExerciseSet, ExerciseSet.id == Rep.set_id).where(*where)):
        reps[set_id].append((hi, lo))
        short[set_id] += bool(below)
    out: dict[tuple[str, str, uuid.UUID], PastSafe] = {}
    best: dict[tuple[str, str, uuid.UUID], float] = {}
    for set_id, session_id, mode_, posture_, best_angle, rx_id, rx_version in sets:
        v = None
        if rx_id is not None:
            k = (rx_id, rx_version or 0)
            if k not in versions:
                versions[k] = db.get(PrescriptionVersion, k)
            v = versions[k]
        limits = set_limits(v, summaries.get(set_id))
        past = [limits.past(hi, lo) for hi, lo in reps.get(set_id, [])]
        n_max = sum(1 for x in past if x in ("max", "both"))
        n_min = sum(1 for x in past if x in ("min", "both"))
        judged = judged_target(summaries.get(set_id))  # a set filed under no prescription: its --target
        key = (mode_, posture_, session_id)
        old = out.get(key)
        if old is None:
            out[key], best[key] = PastSafe(limits, n_max, n_min, short[set_id], judged), best_angle
            continue
        if _better(works, best_angle, best[key]):  # as series_points picks the point's set: the first best
            best[key] = best_angle
            old = dataclasses.replace(old, limits=limits, judged=judged)
        out[key] = dataclasses.replace(old, past_max=old.past_max + n_max, past_min=old.past_min + n_min,
                                       short=old.short + short[set_id])
    return out


def trends(db: DB, patient: Patient, *, exercise: str, side: str, mode: str | None = None,
           posture: str | None = None) -> dict[str, Any]:
    motion = default_catalog().get(exercise)
    bands: dict[tuple[uuid.UUID, int], PrescriptionVersion | None] = {}
    past_safe = _past_safe_points(db, patient, motion.works, exercise=exercise, side=side, mode=mode,
                                  posture=posture, versions=bands)
    series = []
    # demo-video sessions never enter trends (they stay listed among the sessions, marked demo)
    for (_, _, m, pos), points in sorted(series_points(db, patient, exercise=exercise, side=side, mode=mode,
                                                      posture=posture, include_demo=False).items()):
        out = []
        for p in points:
            v = None
            if p.prescription_id is not None:
                # the band the set was coached to and its reps judged by: its prescription version's, or for a
                # live set refiled under a safer limit's version during it the earlier one (as the session page's)
                for number in (p.target_version, p.prescription_version or 0):
                    if number is None:
                        continue
                    k = (p.prescription_id, number)
                    if k not in bands:
                        bands[k] = db.get(PrescriptionVersion, k)
                    v = bands[k]
                    if v is not None:
                        break
            coached = p.target_version if v is not None and v.version == p.target_version else None
            safe = past_safe.get((m, pos, p.session_id)) or PastSafe(SafeLimits())
            out.append({"session_id": p.session_id, "date": p.at, "best_angle": p.best, "min_angle": p.min_angle,
                        "max_angle": p.max_angle, "other_end": p.other, "best_seen": p.seen,
                        "too_few_frames": p.few_frames, "reps_counted": p.reps,
                        "target_min": v.target_min if v else None,
                        "target_max": v.target_max if v else None, "prescription_id": p.prescription_id,
                        "prescription_version": p.prescription_version, "target_version": coached,
                        "demo": p.demo,
                        "safe_max": safe.limits.safe_max, "safe_min": safe.limits.safe_min,
                        "safe_limits_from": safe.limits.source, "reps_past_safe_max": safe.past_max,
                        "reps_past_safe_min": safe.past_min, "reps_short_of_target": safe.short,
                        "target_judged": safe.judged if v is None else None})
        series.append({"mode": m, "posture": pos, "points": out})
    return {"exercise": motion.id, "exercise_name": motion.display_name, "works": motion.works, "side": side,
            "measurement_noise_deg": motion.measurement_noise_deg, "return_noise_deg": motion.return_noise_deg,
            "normal": {"min": motion.normal.min, "max": motion.normal.max, "source": motion.normal.citation},
            "series": series}


# --- adherence ------------------------------------------------------------------------------------

def prescribed_per_week(db: DB, patient: Patient) -> int | None:
    """The most frequent active prescription's sessions per week (a session covers the whole plan)."""
    rows = db.scalars(
        select(PrescriptionVersion.sessions_per_week)
        .join(Prescription, (PrescriptionVersion.prescription_id == Prescription.id)
              & (PrescriptionVersion.version == Prescription.current_version))
        .where(Prescription.patient_id == patient.id, Prescription.active))
    return max(rows, default=None)


def set_of_the_plan() -> ColumnElement[bool]:
    """An :class:`ExerciseSet` of the plan (the module docstring's rule): filed under a prescription, or
    of the same exercise, side, mode and posture as one of its patient's active prescriptions."""
    rx, v = aliased(Prescription), aliased(PrescriptionVersion)
    return ExerciseSet.prescription_id.is_not(None) | exists().where(
        rx.patient_id == ExerciseSet.patient_id, rx.active, v.prescription_id == rx.id,
        v.version == rx.current_version, v.exercise == ExerciseSet.exercise, v.side == ExerciseSet.side,
        v.mode == ExerciseSet.mode, v.posture == ExerciseSet.posture)


def set_measured(es: Any = ExerciseSet) -> ColumnElement[bool]:
    """An :class:`ExerciseSet` (or an alias of it, ``es``) with something measured: a rep, a best angle, or at
    least two measured samples (``sample_fps``: a live set still recording, no rep yet)."""
    return es.best_angle.is_not(None) | ((es.reps_full + es.reps_partial) > 0) | es.sample_fps.is_not(None)


def session_measured() -> ColumnElement[bool]:
    """A :class:`Session` one of whose sets measured something (:func:`set_measured`; correlated to the enclosing
    query's sessions). A session with nothing measured — the patient sat down and stopped, nobody was in view —
    is not an exercise session: never counted as done (the module docstring's rule)."""
    return exists().where(ExerciseSet.session_id == Session.id, set_measured())


def last_measured_started() -> Any:
    """When the newest session of the patient (correlated to the enclosing query's :class:`Patient`) that
    measured something began (:func:`session_measured`; the demo video is none of theirs): the dashboard's "last
    session". A scalar subquery; NULL when none did."""
    s, es = aliased(Session), aliased(ExerciseSet)
    return (select(func.max(s.started_at))
            .where(s.patient_id == Patient.id, s.demo == false(),
                   exists().where(es.session_id == s.id, set_measured(es)))
            .correlate(Patient).scalar_subquery())


RECORDING_QUIET = timedelta(hours=1)  # a session with no end, nothing begun in it for this long: cut off
RECORDING_LONGEST = timedelta(hours=12)  # a session with no end begun longer ago than this: cut off, whatever else


@dataclass(frozen=True)
class LiveCoach:
    """The live coach of the server answering (``romcam serve`` on the laptop, with its capture worker): the
    session it is recording now, ``session_id`` (None between sessions). Given one, :func:`being_recorded` is
    that session alone: the server knows what its coach records, and a session with no end left from before
    (romcam killed mid-session) is not being recorded, however recently it began. A server with no live coach
    (the clinic's) passes None and keeps the database's rule."""

    session_id: uuid.UUID | None


def being_recorded(now: datetime, s: Any = Session, coach: LiveCoach | None = None) -> ColumnElement[bool]:
    """A :class:`Session` (or an alias of it, ``s``) still being recorded at ``now``. With the server's live
    ``coach`` (:class:`LiveCoach`): the session it is recording, while it has no end. Without one (the clinic's
    server, sessions synced from laptops): it has no end yet
    (``ended_at``: the live coach sets it when the session ends, complete or interrupted) and it, or one of its
    sets, began less than :data:`RECORDING_QUIET` (1 hour) before ``now`` — the newest time the store keeps of a
    session being written — and it began less than :data:`RECORDING_LONGEST` (12 hours) ago (no exercise session
    lasts that long; the bound keeps the patient list's query on the index of sessions by start). One with no end
    and nothing begun in it for longer was cut off (the laptop crashed or lost power mid-session) and is read as
    any other session (the module docstring's rule)."""
    if coach is not None:
        if coach.session_id is None:
            return false()
        return s.ended_at.is_(None) & (s.id == coach.session_id)
    since = now - RECORDING_QUIET
    es = aliased(ExerciseSet)
    return (s.ended_at.is_(None) & (s.started_at >= now - RECORDING_LONGEST)
            & ((s.started_at >= since) | exists().where(es.session_id == s.id, es.started_at >= since)))


def _unmeasured_since(now: datetime, coach: LiveCoach | None = None) -> Any:
    """The sessions of the patient (correlated to the enclosing query's :class:`Patient`; not the demo video)
    begun after :func:`last_measured_started` (all of them when none measured anything) and not
    :func:`being_recorded`: each of those measured nothing."""
    last = last_measured_started()
    return (Session.patient_id == Patient.id, Session.demo == false(), last.is_(None) | (Session.started_at > last),
            ~being_recorded(now, coach=coach))


def unmeasured_since_count(now: datetime, coach: LiveCoach | None = None) -> Any:
    """How many sessions of the patient (correlated to the enclosing query's :class:`Patient`; not the demo
    video) began after :func:`last_measured_started` — all of them when none measured anything — and are not
    :func:`being_recorded` at ``now``: each of those measured nothing (one still being recorded may yet measure
    something). A scalar subquery."""
    return (select(func.count()).select_from(Session).where(*_unmeasured_since(now, coach))
            .correlate(Patient).scalar_subquery())


def newest_not_recording_started(now: datetime, coach: LiveCoach | None = None) -> Any:
    """When the newest session of the patient (correlated to the enclosing query's :class:`Patient`; not the demo
    video) that is not :func:`being_recorded` at ``now`` began (NULL when there is none). When
    :func:`unmeasured_since_count` is above 0 this is the newest of the sessions it counts (every session begun
    after the last that measured something measured nothing, or is being recorded): use :func:`last_unmeasured`.
    A scalar subquery walking the index on (patient, demo, start) back from the newest session, not a second scan
    of the patient's sessions for the last that measured something."""
    return (select(Session.started_at).where(Session.patient_id == Patient.id, Session.demo == false(),
                                             ~being_recorded(now, coach=coach))
            .order_by(Session.started_at.desc()).limit(1).correlate(Patient).scalar_subquery())


def last_unmeasured(unmeasured: int, newest_not_recording: datetime | None) -> datetime | None:
    """When the newest of the ``unmeasured`` sessions (:func:`unmeasured_since_count`) began, from
    :func:`newest_not_recording_started`'s value: None when there are none."""
    return newest_not_recording if unmeasured > 0 else None


def recording_started(now: datetime, coach: LiveCoach | None = None) -> Any:
    """When the newest session of the patient (correlated to the enclosing query's :class:`Patient`; not the demo
    video) that is :func:`being_recorded` at ``now`` began; NULL when none is. A scalar subquery."""
    s = aliased(Session)
    return (select(func.max(s.started_at))
            .where(s.patient_id == Patient.id, s.demo == false(), being_recorded(now, s, coach))
            .correlate(Patient).scalar_subquery())


def filed_of_the_plan() -> ColumnElement[bool]:
    """A :class:`Session` that counts as done, filed: one of its sets is filed under a prescription
    (``Session.filed``), and it measured something (:func:`session_measured`)."""
    return Session.filed.is_(True) & session_measured()


def unfiled_of_the_plan() -> ColumnElement[bool]:
    """A :class:`Session` that counts as done with none of its sets filed (``Session.filed`` false): a set of the
    plan all the same — of an active prescription's motion, side, mode and posture (correlated to the enclosing
    query's sessions) — and something measured (:func:`session_measured`). Sessions done are
    :func:`filed_of_the_plan` and these: two queries, each a plain AND the index on (patient, demo, filed,
    started) narrows, rather than an OR that makes PostgreSQL test every session."""
    return (Session.filed.is_(False) & exists().where(ExerciseSet.session_id == Session.id, set_of_the_plan())
            & session_measured())


def session_of_the_plan() -> ColumnElement[bool]:
    """A :class:`Session` with at least one set of the plan, measured or not: filed under a prescription, or of
    an active prescription's motion, side, mode and posture (for one patient's sessions)."""
    return Session.filed | exists().where(ExerciseSet.session_id == Session.id, set_of_the_plan())


SITTING_GAP = timedelta(hours=1)  # sessions that begin closer than this to the one before are one sitting
# How far before a window sessions are read to know whether its first session continues a sitting begun
# before it (a chain of sessions each less than an hour apart lasting longer than this is not looked for).
SITTING_LOOKBACK = timedelta(days=1)


def sitting_starts(starts: Iterable[datetime]) -> list[datetime]:
    """When each sitting began, oldest first, from the start times of one kind of session (of the plan, or
    outside it). A session that begins less than :data:`SITTING_GAP` after the previous one *began* is in
    that one's sitting: three clips saved with ``romcam analyze --save`` ten minutes apart are one sitting,
    a morning and an evening session two.

    The rule reads start times only, never ``ended_at``: the end is optional in a session document, unset
    while a live session records (and for good when its recorder dies), and not bounded, so one wrong end
    would swallow a day's sessions into one sitting; the start is always there, and is what places a
    session on the calendar. A live session longer than an hour followed by another is two sittings."""
    out: list[datetime] = []
    previous: datetime | None = None
    for at in sorted(starts):
        if previous is None or at - previous >= SITTING_GAP:
            out.append(at)
        previous = at
    return out


DONE, OUTSIDE, NOTHING_MEASURED = "done", "outside_plan", "nothing_measured"  # the kinds of sitting
BEFORE_PLAN = "before_plan"  # of the sittings DONE, those begun before the plan's start (the calendar's count)


def _sitting_times(db: DB, patient: Patient, since: datetime, *,
                   now: datetime | None = None, coach: LiveCoach | None = None) -> list[tuple[datetime, str]]:
    """The patient's non-demo sittings (:func:`sitting_starts`) begun at ``since`` or later, oldest first:
    (when the sitting began, its kind): :data:`DONE` (of the plan, something measured: counted as done),
    :data:`OUTSIDE` (something measured, no set of the plan), :data:`NOTHING_MEASURED` (started, nothing
    measured: shown, never counted). Each kind groups apart. Given ``now``, a session :func:`being_recorded`
    then that has measured nothing yet is none of them (it may yet measure something)."""
    q = (select(Session.started_at, session_of_the_plan(), session_measured(),
                being_recorded(now, coach=coach) if now is not None else false())
         .where(Session.patient_id == patient.id, Session.demo.is_(False),
                Session.started_at >= since - SITTING_LOOKBACK))
    starts: dict[str, list[datetime]] = {DONE: [], OUTSIDE: [], NOTHING_MEASURED: []}
    for at, planned, measured, recording in db.execute(q):
        if recording and not measured:
            continue
        kind = NOTHING_MEASURED if not measured else DONE if planned else OUTSIDE
        starts[kind].append(at)  # a typed column: UTC-aware (UTCDateTime)
    return sorted((at, kind) for kind, times in starts.items() for at in sitting_starts(times) if at >= since)


PLAN_GAP_BRIDGED = timedelta(days=1)  # a plan ended and another made within a day (a PT replacing an exercise
# ends it, then adds the new one) is one continuous plan; a longer time without any is a new plan


def plan_start(periods: list[tuple[datetime, datetime | None]]) -> datetime | None:
    """When the patient's current, continuous time under a plan began, from their prescriptions' times in the
    plan (each from when it was made to when it ended, or open while it is active): the start of the stretch
    that reaches today once those times are merged (gaps shorter than :data:`PLAN_GAP_BRIDGED` bridged). None
    without an active prescription. Ending the oldest prescription leaves the start where it was; a patient
    with no plan for a month between two plans has the later start."""
    start: datetime | None = None
    reach: datetime | None = None  # the end of the stretch so far (None: open, it reaches today)
    open_ = False
    for begin, end in sorted(periods, key=lambda p: p[0]):
        if start is None or (not open_ and reach is not None and begin - reach >= PLAN_GAP_BRIDGED):
            start, reach, open_ = begin, end, end is None  # the first, or after a gap: a new stretch
        elif end is None:
            open_ = True
        elif not open_ and reach is not None:
            reach = max(reach, end)
    return start if open_ else None


def plan_periods() -> tuple[Any, ...]:
    """The columns of a prescription's time in the plan: (patient, start, end or None while active). It starts
    when it was made, or when it was last put back in the plan after being ended (``resumed_at``: the weeks
    it was ended asked for nothing). An ended prescription that did not record when (none should: migration
    0011 dates them) reads as ended when it started."""
    start = func.coalesce(Prescription.resumed_at, Prescription.created_at)
    end = case((Prescription.active, None), else_=func.coalesce(Prescription.ended_at, start))
    return Prescription.patient_id, start, end


def plan_started_at(db: DB, patient: Patient) -> datetime | None:
    """When the patient's current time under a plan began (:func:`plan_start`): adherence counts from then
    (None without a plan)."""
    rows = db.execute(select(*plan_periods()).where(Prescription.patient_id == patient.id))
    return plan_start([(_aware(begin), _aware(end)) for _, begin, end in rows])  # type: ignore[misc]


def _latest(*times: datetime | None) -> datetime | None:
    """The latest of ``times`` that are not None (None if none is)."""
    known = [t for t in (_aware(t) for t in times) if t is not None]
    return max(known) if known else None


def _times_from_text(text: str) -> list[datetime]:
    """UTC times from ``func.aggregate_strings`` of ``cast(started_at, String)``, comma-separated: SQLite's
    stored naive UTC text ("2026-11-02 09:10:00.000000"), or PostgreSQL's ISO text with its offset
    ("2026-11-02 10:10:00+01", DateStyle ISO, the one psycopg reads)."""
    return [at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            for at in map(datetime.fromisoformat, text.split(","))]


def _aware(at: datetime | None) -> datetime | None:
    """SQLite's func.min/max give the stored naive UTC text back."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


Pause = tuple[datetime, datetime | None]  # a time the plan was paused: (paused_at, resumed_at or None while it lasts)


def plan_pauses(db: DB, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Pause]]:
    """Each patient's pauses of the plan (``plan_pauses``, oldest first), in one query."""
    out: dict[uuid.UUID, list[Pause]] = defaultdict(list)
    for pid, paused, resumed in db.execute(
            select(PlanPause.patient_id, PlanPause.paused_at, PlanPause.resumed_at)
            .where(PlanPause.patient_id.in_(patient_ids)).order_by(PlanPause.paused_at)):
        out[pid].append((paused, resumed))  # typed columns: UTC-aware
    return out


def paused_time(pauses: Iterable[Pause], start: datetime, end: datetime) -> timedelta:
    """How long the plan was paused between ``start`` and ``end`` (a pause still open lasts to ``end``); pauses
    that overlap are counted once."""
    total = timedelta(0)
    reach = start
    for paused, resumed in sorted(pauses, key=lambda p: p[0]):
        lo, hi = max(paused, reach), min(resumed or end, end)
        if hi > lo:
            total += hi - lo
            reach = hi
    return total


def last_resumed(pauses: Iterable[Pause]) -> datetime | None:
    """When the plan was last resumed (None if it never was): the missed-sessions gap counts from then at the
    earliest."""
    return max((resumed for _, resumed in pauses if resumed is not None), default=None)


def adherence_window(days: int, plan_start: datetime | None, *, now: datetime) -> datetime:
    """Where the last ``days`` days' adherence starts counting: ``days`` ago, or when the plan started
    if that is later (days before a plan asked for nothing)."""
    since = now - timedelta(days=days)
    return max(since, plan_start) if plan_start is not None else since


def adherence_figure(done: int, per_week: int | None, days: int, plan_start: datetime | None, *,
                     now: datetime, pauses: Iterable[Pause] = ()) -> float | None:
    """Sittings done (:func:`sitting_starts`) / sessions prescribed, 0..1, over the last ``days`` days or the
    days since the plan started when fewer, less the time the plan was paused in them (``pauses``: sittings done
    while paused still count as done); at least one day: a plan made this morning with a session done reads
    100 %, not more. None when nothing is prescribed, or when the plan was paused all that time (nothing was
    asked)."""
    if not per_week:
        return None
    since = adherence_window(days, plan_start, now=now)
    span = now - since - paused_time(pauses, since, now)
    if span <= timedelta(0):
        return None
    expected = per_week * max(span, timedelta(days=1)) / timedelta(days=7)
    return round(min(1.0, done / expected), 3)


def adherence_ratio(db: DB, patient: Patient, days: int, *, now: datetime) -> float | None:
    """Sittings of the plan done / sessions prescribed over the last ``days`` days (see
    :func:`adherence_figure` and :func:`sitting_starts`; work outside the plan is not counted)."""
    per_week = prescribed_per_week(db, patient)
    if not per_week:
        return None
    start = plan_started_at(db, patient)
    done = sum(kind == DONE for _, kind in _sitting_times(db, patient, since=adherence_window(days, start, now=now)))
    return adherence_figure(done, per_week, days, start, now=now, pauses=plan_pauses(db, [patient.id])[patient.id])


def sessions_asked(per_week: int, plan_days: int) -> int:
    """Whole sessions a calendar week asks for when the plan held ``plan_days`` of its 7 days: ``per_week``
    in a full week; in the plan's first, partial week its share of them, to the nearest whole session and at
    least 1 (a PT reads sessions: "0 / 1", never "0 / 0.9"); 0 in a week before the plan."""
    if plan_days <= 0:
        return 0
    if plan_days >= 7:
        return per_week
    return max(1, math.floor(per_week * plan_days / 7 + 0.5))


def calendar_weeks(days: list[dict[str, Any]], per_week: int | None, plan_day: date | None,
                   paused: frozenset[date] = frozenset()) -> list[dict[str, Any]]:
    """The calendar's weeks (Monday first) over ``days`` (oldest first, as :func:`adherence` lists them): the
    sessions of the plan done from the plan's start (all of a week before it; those done on a paused day count)
    and those outside it, the days the plan held (from ``plan_day``, the day it started in the reader's zone,
    less the ``paused`` days; all 7 without a plan), the days of the plan it was paused, and the whole sessions
    asked (:func:`sessions_asked` for the days it held; None without a plan). A week is whole even where the
    period cuts it: the sessions asked are the week's, as adherence counts them from the plan's start."""
    if not days:
        return []
    monday = days[0]["date"] - timedelta(days=days[0]["date"].weekday())
    weeks = []
    while monday <= days[-1]["date"]:
        week = [monday + timedelta(days=i) for i in range(7)]
        of_plan = [d for d in week if plan_day is None or d >= plan_day]
        held = sum(1 for d in of_plan if d not in paused)
        own = [d for d in days if monday <= d["date"] <= week[-1]]
        # done counts from the plan's start, as planned and the adherence figure do (a sitting begun before the PT
        # made the plan, on its first day, is before it); a week wholly before the plan shows what was done
        done = (sum(d["sessions"] - d.get("before_plan", 0) for d in own if plan_day is None or d["date"] >= plan_day)
                if of_plan else sum(d["sessions"] for d in own))
        weeks.append({"start": monday, "sessions": done,
                      "outside_plan": sum(d["outside_plan"] for d in own), "plan_days": held,
                      "paused_days": len(of_plan) - held,
                      "planned": sessions_asked(per_week, held) if per_week else None})
        monday += timedelta(days=7)
    return weeks


def adherence(db: DB, patient: Patient, *, days: int, now: datetime, zone: tzinfo = UTC,
              coach: LiveCoach | None = None) -> dict[str, Any]:
    """Sittings of the plan (:func:`sitting_starts`: sessions begun within an hour of one another count
    once, on the day the sitting began) per day over the last ``days`` days (oldest first), for the
    calendar, and beside them the sittings outside the plan (never counted as done): the days of ``zone``,
    where the reader lives them (a session at 8 pm in Denver is that day's, not the next UTC day's); and the
    calendar's weeks with the whole sessions each asks for (:func:`calendar_weeks`). The fields keep their
    names (``sessions``, ``outside_plan``): a sitting is the plan's session done, however it was saved."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    started = plan_started_at(db, patient)
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for t, kind in _sitting_times(db, patient, since=datetime.combine(first, datetime.min.time(), zone), now=now,
                                coach=coach):
        counts[(t.astimezone(zone).date(), kind)] += 1
        if kind == DONE and started is not None and t < started:  # as the figure: from the plan's start
            counts[(t.astimezone(zone).date(), BEFORE_PLAN)] += 1
    dates = [first + timedelta(days=i) for i in range(days)]
    per_week = prescribed_per_week(db, patient)
    pauses = plan_pauses(db, [patient.id])[patient.id]
    monday = first - timedelta(days=first.weekday())
    paused = paused_days([monday + timedelta(days=i) for i in range((today - monday).days + 7 - today.weekday())],
                         pauses, zone)
    listed = [{"date": d, "sessions": counts[(d, DONE)], "before_plan": counts[(d, BEFORE_PLAN)],
               "outside_plan": counts[(d, OUTSIDE)],
               "nothing_measured": counts[(d, NOTHING_MEASURED)], "paused": d in paused} for d in dates]
    return {"prescribed_per_week": per_week, "plan_paused": patient.plan_paused, "plan_started_at": started,
            "days": listed,
            "pauses": [{"paused_at": p, "resumed_at": r} for p, r in pauses
                       if r is None or r >= datetime.combine(first, datetime.min.time(), zone)],
            "weeks": calendar_weeks(listed, per_week, started.astimezone(zone).date() if started else None, paused)}


def paused_days(dates: Iterable[date], pauses: list[Pause], zone: tzinfo) -> frozenset[date]:
    """The days of ``zone`` the plan was paused for more than half of (a pause still open covers the days to
    come): such a day asks for no session, on the calendar as in the adherence figure."""
    out = set()
    for d in dates:
        begin = datetime.combine(d, datetime.min.time(), zone)
        end = datetime.combine(d + timedelta(days=1), datetime.min.time(), zone)
        if pauses and 2 * paused_time(pauses, begin, end) > end - begin:
            out.add(d)
    return frozenset(out)


# --- alerts ---------------------------------------------------------------------------------------

AlertKey = tuple[str, str | None, str | None, str | None, str | None]


def _motion_label(motion: Motion, side: str, mode: str, posture: str) -> str:
    """The series named in an alert's message: "Right knee flexion (active, seated)"; a name that says its posture
    already is not followed by it again ("Right knee extension (seated) (active)")."""
    name = motion.name[0].lower() + motion.name[1:]
    how = MODE_LABEL.get(mode, mode) if f"({posture})" in name else f"{MODE_LABEL.get(mode, mode)}, {posture}"
    return f"{side.capitalize()} {name} ({how})"


def _recent_and_baseline(points: list[tuple[datetime, float]]) -> tuple[float, float, int] | None:
    """(median of the last RECENT_SESSIONS values, median of the baseline, baseline size) for dated values
    oldest first, or None without enough of either (the rule in the module's docstring)."""
    if len(points) < RECENT_SESSIONS + BASELINE_MIN_SESSIONS:
        return None
    recent = points[-RECENT_SESSIONS:]
    since = recent[0][0] - timedelta(days=BASELINE_DAYS)
    baseline = [v for at, v in points[:-RECENT_SESSIONS] if since <= at < recent[0][0]]
    if len(baseline) < BASELINE_MIN_SESSIONS:
        return None
    return statistics.median(v for _, v in recent), statistics.median(baseline), len(baseline)


def _loss_beyond(values: list[tuple[datetime, float]], *, falling: bool,
                 noise: float) -> tuple[float, float, float, int] | None:
    """(recent median, baseline median, loss, baseline size) when the values moved the wrong way — down
    when ``falling`` is the loss, else up — by more than ``noise``; None otherwise."""
    found = _recent_and_baseline(values)
    if found is None:
        return None
    now_med, base_med, n = found
    loss = base_med - now_med if falling else now_med - base_med
    return (now_med, base_med, loss, n) if loss > noise else None


def _left_out_note(points: list[Point], since: datetime, *, seen_matters: bool) -> str:
    """What a rule left out of the points at ``since`` or later, and why: "; 1 session left out: its furthest
    point was not seen", "; 2 sessions left out: measured on too few frames a second", "; 3 sessions left out:
    2 whose furthest point was not seen, 1 measured on too few frames a second (1 of them both)"; "" when none
    was. ``seen_matters``: the rule leaves out the unseen too (the decline rule), not only the sessions measured
    on too few frames (the other-end rule)."""
    out = [p for p in points if p.at >= since and (p.few_frames or (seen_matters and not p.seen))]
    if not out:
        return ""
    n = len(out)
    unseen = sum(1 for p in out if seen_matters and not p.seen)
    few = sum(1 for p in out if p.few_frames)
    head = f"; {n} session{'' if n == 1 else 's'} left out: "
    if few == 0:
        return head + ("its furthest point was not seen" if n == 1 else "their furthest point was not seen")
    if unseen == 0:
        return head + "measured on too few frames a second"
    if n == 1:
        return head + "its furthest point was not seen, and it was measured on too few frames a second"
    both = unseen + few - n
    return (head + f"{unseen} whose furthest point was not seen, {few} measured on too few frames a second"
            + (f" ({both} of them both)" if both else ""))


def shown_loss(now_med: float, base_med: float) -> int:
    """The change a note states between its two medians: the difference of the whole degrees it prints for them
    (:func:`whole_degrees`), so "85°, 26° below the 4 weeks before (111°)" adds up as the PT checks it — the
    unrounded loss (25.2°) would read 25° beside them. Whether the note fires is judged on the unrounded loss."""
    return abs(whole_degrees(base_med) - whole_degrees(now_med))


def decline_message(motion: Motion, side: str, mode: str, posture: str, points: list[Point]) -> str | None:
    """The alert text when the series has declined beyond the motion's noise, else None. Only the
    sessions whose best angle was seen and measured on enough frames a second count (a bound is not a
    measurement, and a peak between two frames reads short); the text says how many others in the weeks
    compared were left out, and why."""
    noise = motion.measurement_noise_deg
    counted = [p for p in points if p.seen and not p.few_frames]
    found = _loss_beyond([(p.at, p.best) for p in counted], falling=motion.works == "max", noise=noise)
    if found is None:
        return None
    now_med, base_med, _, n = found
    where = "below" if motion.works == "max" else "above"
    since = counted[-RECENT_SESSIONS].at - timedelta(days=BASELINE_DAYS)
    left_out = _left_out_note(points, since, seen_matters=True)
    return (f"{_motion_label(motion, side, mode, posture)}: median of the last {RECENT_SESSIONS} sessions "
            f"{whole_degrees(now_med)}°, {shown_loss(now_med, base_med)}° {where} the 4 weeks before "
            f"({whole_degrees(base_med)}°, {n} sessions; measurement noise ±{noise:g}°{left_out})")


def other_end_message(motion: Motion, side: str, mode: str, posture: str, points: list[Point]) -> str | None:
    """The alert text when the other end of the range (where reps start and return: an elbow's or a
    knee's straightening) has moved toward the middle of the range beyond that end's noise
    (``return_noise_deg``), else None. A joint that no longer returns as far is how a contracture
    shows. Sessions measured on too few frames a second are left out (the text says how many)."""
    noise = motion.return_noise_deg
    counted = [p for p in points if p.other is not None and not p.few_frames]
    found = _loss_beyond([(p.at, p.other) for p in counted], falling=motion.works == "min", noise=noise)
    if found is None:
        return None
    now_med, base_med, _, n = found
    end, where = ("low", "above") if motion.works == "max" else ("high", "below")
    since = counted[-RECENT_SESSIONS].at - timedelta(days=BASELINE_DAYS)
    left_out = _left_out_note([p for p in points if p.other is not None], since, seen_matters=False)
    return (f"{_motion_label(motion, side, mode, posture)}: the {end} end of the range (where each rep starts "
            f"and returns), median of the last {RECENT_SESSIONS} sessions {whole_degrees(now_med)}°, "
            f"{shown_loss(now_med, base_med)}° {where} the 4 weeks before ({whole_degrees(base_med)}°, {n} sessions; "
            f"measurement noise ±{noise:g}°{left_out})")


def missed_message(db: DB, patient: Patient, *, now: datetime) -> str | None:
    if patient.plan_paused:
        return None
    per_week = prescribed_per_week(db, patient)
    if not per_week:
        return None
    real = (Session.patient_id == patient.id, Session.demo.is_(False))
    last = _latest(db.scalar(select(func.max(Session.started_at)).where(*real, filed_of_the_plan())),
                   db.scalar(select(Session.started_at).where(*real, unfiled_of_the_plan())
                             .order_by(Session.started_at.desc()).limit(1)))
    return _missed_text(per_week, last, None if last is not None else plan_started_at(db, patient), now=now,
                        resumed=last_resumed(plan_pauses(db, [patient.id])[patient.id]))


def _missed_text(per_week: int, last: datetime | None, plan_from: datetime | None, *, now: datetime,
                 resumed: datetime | None = None) -> str | None:
    """The missed-sessions note from the newest non-demo session of the plan (or the plan's start), or from when
    the plan was last resumed if that is later (the paused days asked for nothing)."""
    last = _aware(last)  # func.max on SQLite gives the stored naive UTC text back
    if last is not None:
        what = "since the last one"
    elif plan_from is not None:
        last, what = plan_from, "since the plan started (none yet)"
    else:
        return None
    if resumed is not None and resumed > last:
        last, what = resumed, "since the plan was resumed"
    allowed = timedelta(days=MISSED_FACTOR * 7 / per_week)
    gap = now - last
    if gap <= allowed:
        return None
    return (f"No session of the plan for {elapsed_text(gap)} {what}; the plan asks for "
            f"{per_week} a week (this note appears after {allowed.total_seconds() / 86400:.1f} days without one).")


def elapsed_text(gap: timedelta) -> str:
    """A time elapsed in whole days and hours, rounded down: "6 days and 10 hours", "1 day", "17 hours".

    Not a count of days: the dashboard says when the last session was in the reader's calendar days ("7 days
    ago" for last Monday evening, read on Monday morning), which the server cannot know (its alerts have no
    reader's zone), and "6 days" beside "7 days ago" reads as a contradiction; "6 days and 10 hours" beside it
    does not."""
    days, hours = divmod(max(0, int(gap.total_seconds() // 3600)), 24)
    said = [f"{days} day{'' if days == 1 else 's'}"] if days else []
    if hours or not days:
        said.append(f"{hours} hour{'' if hours == 1 else 's'}")
    return " and ".join(said)


def alert_conditions(db: DB, patient: Patient, *, now: datetime) -> dict[AlertKey, str]:
    catalog = default_catalog()
    out: dict[AlertKey, str] = {}
    for (exercise, side, mode, posture), points in series_points(db, patient, include_demo=False).items():
        motion = catalog.get(exercise)
        message = decline_message(motion, side, mode, posture, points)
        if message:
            out[("decline", exercise, side, mode, posture)] = message
        message = other_end_message(motion, side, mode, posture, points)
        if message:
            out[("other_end", exercise, side, mode, posture)] = message
    missed = missed_message(db, patient, now=now)
    if missed:
        out[("missed_sessions", None, None, None, None)] = missed
    return out


def refresh_alerts(db: DB, patient: Patient, *, now: datetime, commit: bool = True) -> None:
    """Bring the stored alerts in line with the current conditions."""
    conditions = alert_conditions(db, patient, now=now)
    stored = db.scalars(select(Alert).where(Alert.patient_id == patient.id, Alert.resolved_at.is_(None)))
    seen: set[AlertKey] = set()
    for alert in stored:
        key = (alert.kind, alert.exercise, alert.side, alert.mode, alert.posture)
        if key in conditions and key not in seen:
            seen.add(key)
            if alert.message != conditions[key]:
                alert.message = conditions[key]
        else:
            alert.resolved_at = now
    for key, message in conditions.items():
        if key not in seen:
            kind, exercise, side, mode, posture = key
            db.add(Alert(patient_id=patient.id, kind=kind, exercise=exercise, side=side, mode=mode, posture=posture,
                         message=message, created_at=now))
    if commit:
        db.commit()
    else:
        db.flush()


def alert_public(alert: Alert, *, now: datetime) -> dict[str, Any]:
    snoozed = alert.snoozed_until is not None and alert.snoozed_until > now
    return {"id": alert.id, "patient_id": alert.patient_id, "kind": alert.kind, "exercise": alert.exercise,
            "side": alert.side, "mode": alert.mode, "posture": alert.posture, "message": alert.message,
            "created_at": alert.created_at, "status": "snoozed" if snoozed else "open",
            "snoozed_until": alert.snoozed_until if snoozed else None}


def list_alerts(db: DB, patient: Patient, *, now: datetime) -> list[dict[str, Any]]:
    refresh_alerts(db, patient, now=now)
    rows = db.scalars(select(Alert).where(Alert.patient_id == patient.id, Alert.resolved_at.is_(None))
                      .order_by(Alert.created_at.desc(), Alert.id))
    return [alert_public(a, now=now) for a in rows]


def open_alert_count(db: DB, patient: Patient, *, now: datetime) -> int:
    """Open (not snoozed, not resolved) alerts as stored: call :func:`refresh_alerts` first."""
    rows = db.scalars(select(Alert).where(Alert.patient_id == patient.id, Alert.resolved_at.is_(None)))
    return sum(1 for a in rows if alert_public(a, now=now)["status"] == "open")


def get_alert(db: DB, alert_id: uuid.UUID) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None or alert.resolved_at is not None:
        raise NotFoundError("alert")
    return alert


def snooze_alert(db: DB, alert: Alert, *, days: int, now: datetime) -> dict[str, Any]:
    alert.snoozed_until = now + timedelta(days=days)
    db.commit()
    return alert_public(alert, now=now)


# --- the patient list -----------------------------------------------------------------------------

def patient_summaries(db: DB, patients: list[Patient], *, now: datetime,
                      coach: LiveCoach | None = None) -> list[dict[str, Any]]:
    """The patient list's figures (as :func:`romcam.store.service.patient_public`) for many patients in a
    fixed number of queries, whatever their count and history: last session, adherence over 7 and 30
    days (sittings of the plan, as :func:`adherence_ratio`), and open alerts after refreshing every
    patient's ``missed_sessions`` alert (decline alerts are read as stored, see the module docstring)."""
    if not patients:
        return []
    ids = [p.id for p in patients]
    since30 = now - timedelta(days=30)
    real = (Session.patient_id == Patient.id) & (Session.demo == false())

    def per_patient(expr: Any, *where: Any) -> Any:
        return select(expr).where(*where).correlate(Patient).scalar_subquery()

    rows = db.execute(select(
        Patient.id,
        per_patient(func.max(Session.started_at), real),  # the last session begun: the demo video is none
        last_measured_started(),  # the last session that measured something (the "last session" the PT reads)
        unmeasured_since_count(now, coach),  # the sessions begun after it, each of which measured nothing
        newest_not_recording_started(now, coach),  # the newest of those when there are any (last_unmeasured)
        recording_started(now, coach),  # a session still being recorded (being_recorded: the coach's, or the rule)
        # the newest session of the plan: the newest filed one, or the newest unfiled one of the plan (the index
        # on patient, demo, filed, start: walked back from the newest unfiled, and there are few)
        per_patient(func.max(Session.started_at), real, filed_of_the_plan()),
        select(Session.started_at).where(real, unfiled_of_the_plan()).order_by(Session.started_at.desc())
        .limit(1).correlate(Patient).scalar_subquery(),
        per_patient(func.max(PrescriptionVersion.sessions_per_week),
                    PrescriptionVersion.prescription_id == Prescription.id,
                    PrescriptionVersion.version == Prescription.current_version,
                    Prescription.patient_id == Patient.id, Prescription.active),
    ).where(Patient.id.in_(ids))).all()
    # when each patient's current time under a plan began (plan_start): one query, a row per prescription of
    # the listed patients (a few each), merged here
    periods: dict[uuid.UUID, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for pid, begin, end in db.execute(select(*plan_periods()).where(Prescription.patient_id.in_(ids))):
        periods[pid].append((_aware(begin), _aware(end)))  # type: ignore[arg-type]
    lasts = {row[0]: (_aware(row[1]), _aware(row[2]), int(row[3] or 0),
                      last_unmeasured(int(row[3] or 0), _aware(row[4])), _aware(row[5])) for row in rows}
    figures = {row[0]: (row[1], _latest(row[6], row[7]), row[8], plan_start(periods[row[0]])) for row in rows}
    pauses = plan_pauses(db, ids)
    # sittings of the plan over 7 and 30 days (sitting_starts), from the start times of the listed patients'
    # sessions of the plan in the 30 days (and the day before, for a sitting begun before them): the filed and
    # the unfiled read apart (see unfiled_of_the_plan), grouped here; a plan begun within the 30 days counts
    # from its start (adherence_window), as the patient's page does. Speed: one row per patient with its start
    # times as text (a row per session, each typed by SQLAlchemy, made the list half as slow again).
    starts: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for test in (filed_of_the_plan(), unfiled_of_the_plan()):
        for pid, text in db.execute(
                select(Session.patient_id, func.aggregate_strings(cast(Session.started_at, String), ","))
                .where(Session.patient_id.in_(ids), Session.demo == false(),
                       Session.started_at >= since30 - SITTING_LOOKBACK, test)
                .group_by(Session.patient_id)):
            starts[pid] += _times_from_text(text)
    counts: dict[uuid.UUID, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for pid, times in starts.items():
        sittings = sitting_starts(times)
        plan_from = figures[pid][-1]
        from7, from30 = (adherence_window(d, plan_from, now=now) for d in (7, 30))
        counts[pid] = (sum(t >= from7 for t in sittings), sum(t >= from30 for t in sittings))
    alerts: dict[uuid.UUID, list[Alert]] = defaultdict(list)
    for alert in db.scalars(select(Alert).where(Alert.patient_id.in_(ids), Alert.resolved_at.is_(None))):
        alerts[alert.patient_id].append(alert)
    changed = False
    out = []
    for p in patients:
        _, last_planned, per_week, plan_from = figures[p.id]
        last_any, last_measured, unmeasured, newest_unmeasured, recording = lasts[p.id]
        n7, n30 = counts[p.id]
        message = None if p.plan_paused or not per_week else _missed_text(per_week, last_planned, plan_from, now=now,
                                                                         resumed=last_resumed(pauses[p.id]))
        open_missed = [a for a in alerts[p.id] if a.kind == "missed_sessions"]
        for extra in open_missed[1:] if message else open_missed:  # cleared (or a duplicate): resolve it
            extra.resolved_at = now
            alerts[p.id].remove(extra)
            changed = True
        if message:
            if open_missed:
                if open_missed[0].message != message:
                    open_missed[0].message = message
                    changed = True
            else:
                alert = Alert(patient_id=p.id, kind="missed_sessions", message=message, created_at=now)
                db.add(alert)
                alerts[p.id].append(alert)
                changed = True
        out.append({
            "id": p.id, "name": p.name, "notes": p.notes, "created_at": p.created_at, "is_local": p.is_local,
            "clinician_id": p.clinician_id, "plan_paused": p.plan_paused, "last_session_at": last_any,
            "last_measured_session_at": last_measured, "unmeasured_since": unmeasured,
            "last_unmeasured_session_at": newest_unmeasured, "recording_session_at": recording,
            "plan_started_at": plan_from,  # None without an active prescription, as per_week
            "adherence_7d": adherence_figure(n7, per_week, 7, plan_from, now=now, pauses=pauses[p.id]),
            "adherence_30d": adherence_figure(n30, per_week, 30, plan_from, now=now, pauses=pauses[p.id]),
            "open_alerts": sum(1 for a in alerts[p.id] if alert_public(a, now=now)["status"] == "open"),
        })  # fmt: skip
    if changed:
        db.commit()
    return out
