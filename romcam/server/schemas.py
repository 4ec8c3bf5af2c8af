"""The API's request and response models: separate Create / Update / Public schemas, every field bounded."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..input_checks import CheckedInput, Uuid, field_errors
from ..session_doc import Mode, Posture, Side, Status, check_exercise

Name = Annotated[str, Field(min_length=1, max_length=200)]
Notes = Annotated[str, Field(max_length=5000)]
Angle = Annotated[float, Field(ge=-360, le=360)]


class Strict(CheckedInput):
    model_config = ConfigDict(extra="forbid")


# --- patients
class PatientCreate(Strict):
    name: Name
    notes: Notes = ""
    clinician_id: Uuid | None = Field(None, description="the owning clinician (admin only; a clinician "
                                           "creating a patient owns it)")


class PatientUpdate(Strict):
    """The fields to change (those left out stay as they are; null only for clinician_id, see
    service.update_patient)."""

    name: Name | None = None
    notes: Notes | None = None
    plan_paused: bool | None = None
    clinician_id: Uuid | None = Field(None, description="hand the patient to another clinician, or null to "
                                           "leave them with no clinician (admin only)")


class PatientPublic(BaseModel):
    id: uuid.UUID
    name: str
    notes: str
    created_at: datetime
    is_local: bool
    clinician_id: uuid.UUID | None = None
    plan_paused: bool
    last_session_at: datetime | None = Field(description="when the patient's newest session began (not the demo "
                                             "video), whether or not it measured anything")
    last_measured_session_at: datetime | None = Field(
        None, description="when the newest session that measured something began (a rep, a best angle, or two "
        "measured samples): the dashboard's 'last session'; null when none did")
    unmeasured_since: int = Field(0, description="sessions begun after last_measured_session_at (all of them when "
                                  "it is null), each of which measured nothing; not one still being recorded "
                                  "(recording_session_at)")
    last_unmeasured_session_at: datetime | None = Field(
        None, description="when the newest of the unmeasured_since sessions began; null when there are none")
    recording_session_at: datetime | None = Field(
        None, description="when a session still being recorded began (no end yet, and it or one of its sets began "
        "within the last hour; the newest such); null when none is. It may yet measure something: never counted in "
        "unmeasured_since")
    plan_started_at: datetime | None = Field(description="when the patient's current, continuous time under a "
                                             "plan began (each prescription from when it was made to when it "
                                             "ended, merged); null when nothing is prescribed")
    adherence_7d: float | None = Field(description="sittings of the plan done (sessions begun within an hour of "
                                       "the one before count once) / sessions prescribed over 7 days, 0..1, or "
                                       "over the days since plan_started_at when fewer (at least one day); "
                                       "null when nothing is prescribed")
    adherence_30d: float | None = Field(description="as adherence_7d, over 30 days")
    open_alerts: int


class PatientDetail(PatientPublic):
    """One patient (``GET``/``PATCH /api/patients/{id}``): as in the list, plus who pauses the plan and since when."""

    plan_paused_since: datetime | None = Field(
        None, description="when the plan's current pause began; null when it is not paused")
    plan_managed_by: str | None = Field(
        None, description="on a laptop linked to a clinic, for its own patient: the clinic (host and port) whose PT "
        "manages the plan, its pause and prescriptions (a local change is a 409); null anywhere else")


# --- prescriptions
class PrescriptionIn(Strict):
    """Body of POST (version 1) and PUT (a new version)."""

    exercise: str = Field(min_length=1, max_length=64, description="a catalog id (`romcam exercises`)")
    side: Side
    mode: Mode
    posture: Posture
    target_min: Angle
    target_max: Angle
    safe_max: Angle = Field(description="never coach beyond this angle")
    safe_min: Angle | None = Field(None, description="never coach below this angle (at most target_min): the "
                                   "limit at the low end, for the motions that work it (knee extension's "
                                   "over-straightening); null or left out: none")
    reps: int = Field(ge=1, le=500)
    hold_s: float = Field(0.0, ge=0, le=600)
    sessions_per_week: int = Field(ge=1, le=21)
    max_reps: int | None = Field(None, ge=1, le=5000, description="cap on reps per session")
    max_minutes: int | None = Field(None, ge=1, le=600, description="cap on minutes per session")
    notes: str = Field("", max_length=2000, description="shown to the patient")

    @field_validator("exercise")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_exercise(value)

    @model_validator(mode="after")
    def _band(self) -> PrescriptionIn:
        """safe_min <= target_min < target_max <= safe_max, each problem on the field to change: the
        bottom of the target, and each safety limit (a form shows it there)."""
        problems = []
        if not self.target_min < self.target_max:
            problems.append(("target_min", f"target_min ({self.target_min:g}) must be below target_max "
                             f"({self.target_max:g})", self.target_min))
        if not self.target_max <= self.safe_max:
            problems.append(("safe_max", f"target_max ({self.target_max:g}) must not exceed safe_max "
                             f"({self.safe_max:g}): the safe maximum is the highest angle allowed, at or above the "
                             "top of the target", self.safe_max))
        if self.safe_min is not None and not self.safe_min <= self.target_min:
            problems.append(("safe_min", f"safe_min ({self.safe_min:g}) must not exceed target_min "
                             f"({self.target_min:g}): the safe minimum is the lowest angle allowed, at or below the "
                             "bottom of the target; lower it, or leave it out for no limit there", self.safe_min))
        if problems:
            raise field_errors(problems)
        return self


class PrescriptionPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    version: int
    exercise: str
    exercise_name: str
    experimental: bool
    side: Side
    mode: Mode
    posture: Posture
    target_min: float
    target_max: float
    safe_max: float
    safe_min: float | None = Field(description="the lowest angle the coach allows; null: no limit at the low end")
    reps: int
    hold_s: float
    sessions_per_week: int
    max_reps: int | None
    max_minutes: int | None
    notes: str
    active: bool
    created_at: datetime


# --- sessions
class SessionCreated(BaseModel):
    id: uuid.UUID
    created: bool


class SetBrief(BaseModel):
    id: uuid.UUID
    exercise: str
    side: Side
    mode: Mode
    posture: Posture
    best_angle: float | None
    best_seen: bool = Field(description="false when any rep's furthest point may have gone unseen (the limb out "
                            "of view): best_angle is then a bound on the range reached, not a measurement")
    min_angle: float | None
    max_angle: float | None
    reps_full: int
    reps_partial: int
    sample_fps: float | None = Field(description="frames of the movement measured a second, from the set's stored "
                                     "samples (1 / the median step between measured ones); null: fewer than two "
                                     "measured")
    too_few_frames: bool = Field(description="true when sample_fps is below 4 (romcam.sample_rate.MIN_COUNT_FPS): "
                                 "too few frames to be sure of the rep count and the peaks")
    prescription_id: uuid.UUID | None
    prescription_version: int | None
    safe_max: float | None = Field(None, description="the safe maximum the set's reps are judged against: the one "
                                   "of the prescription version it followed, or, filed under none, the one given to "
                                   "`romcam analyze --safe-max` (safe_limits_from says which); null: none")
    safe_min: float | None = Field(None, description="the safe minimum, from the same place; null: none")
    safe_limits_from: Literal["prescription", "analyze"] | None = Field(
        None, description="where safe_max and safe_min came from: the prescription version the set followed, or "
        "`romcam analyze` (a set filed under no prescription, analysed with --safe-max or --safe-min); null: no limit")
    reps_past_safe_max: int = Field(0, description="reps that went above safe_max (0 without one)")
    reps_past_safe_min: int = Field(0, description="reps that went below safe_min (0 without one)")
    target_min: float | None = Field(None, description="the target range the set was coached to and its reps "
                                     "judged by (its prescription version's, or for a live set refiled under a "
                                     "safer limit's version during it the earlier one: target_version); null: none")
    target_max: float | None = None
    target_judged: float | None = Field(None, description="the angle the reps' below_target was judged against, as "
                                        "`romcam analyze` kept it with the set (its --target, or the near end of the "
                                        "plan's range); null: none kept")
    reps_short_of_target: int = Field(0, description="reps whose worked end fell short of the target (below_target "
                                      "true, as judged when the set was measured: a knee extension's rep not "
                                      "straight enough); 0 without a target")


class SessionBrief(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    status: Status
    demo: bool
    source: str
    model: str
    romcam_version: str
    clock_off_s: float | None = Field(None, description="the laptop's clock less the clinic's when it sent this "
                                      "session (seconds; negative: behind); null: not said (within 5 minutes, or "
                                      "not uploaded by a linked laptop). The session's times are the laptop's")
    clock_note: str | None = Field(None, description="the same in words, as the dashboard shows it: \"this "
                                   "laptop's clock was 26 hours behind the clinic's when it sent this session: its "
                                   "times are the laptop's\"")
    sets: list[SetBrief]


class RepOut(BaseModel):
    start: float
    peak: float
    end: float
    max_angle: float
    min_angle: float
    hold_s: float
    partial: bool
    below_target: bool | None = Field(description="null without a target, or when the peak was not seen and the "
                                      "angle seen falls short of it (not known)")
    peak_seen: bool = Field(description="false when the furthest point may have fallen in frames where the limb "
                            "was not measured: the peak angle is then the furthest point seen, a bound")
    past_safe: Literal["max", "min", "both"] | None = Field(
        None, description="which of the set's safe limits (safe_max, safe_min: its prescription version's, or those "
        "given to `romcam analyze`) the rep went past (max: above safe_max, min: below safe_min, both), judged on "
        "its angles; null: neither, or no limit")


class SamplesOut(BaseModel):
    t: list[float]
    angle: list[float | None] = Field(description="null where the joint was not measured")


class NormalRange(BaseModel):
    min: float
    max: float
    source: str


class SetDetail(SetBrief):
    exercise_name: str
    works: Literal["max", "min"]
    started_at: datetime | None
    fps: float
    frames: int
    view_ok_fraction: float
    target_version: int | None = Field(None, description="a live set refiled under a safer limit's prescription "
                                       "version during it: the earlier version whose target (target_min, "
                                       "target_max) it was coached to and its reps judged by; null otherwise")
    normal: NormalRange
    warnings: list[str]
    reps: list[RepOut]
    samples: SamplesOut


class CheckinOut(BaseModel):
    id: uuid.UUID
    pain: int
    tiredness: int
    cramps: bool
    note: str
    created_at: datetime


class SessionDetail(SessionBrief):
    sets: list[SetDetail]  # type: ignore[assignment]
    checkins: list[CheckinOut] = []  # the patient's check-ins after the session (pain, tiredness, cramps)


# --- trends, adherence, alerts
class TrendPoint(BaseModel):
    session_id: uuid.UUID
    date: datetime
    best_angle: float
    min_angle: float | None
    max_angle: float | None
    other_end: float | None  # the session's furthest reach at the other end of the range (the other_end alert's)
    best_seen: bool = Field(description="false when the furthest point of a set of this session in the series may "
                            "have gone unseen: best_angle is then a bound, and the decline alert leaves it out")
    too_few_frames: bool = Field(False, description="true when a set of this session in the series was measured on "
                                 "fewer than 4 frames a second (romcam.sample_rate): its best angle and rep count are "
                                 "uncertain, and the decline and other-end alerts leave it out")
    reps_counted: int = Field(description="the repetitions (whole and cut off) counted in this session's sets in the "
                              "series: 0 when none was, so best_angle is the furthest the joint went at any moment "
                              "(held still, or moved too little for a rep), not a rep's peak")
    target_min: float | None
    target_max: float | None
    prescription_id: uuid.UUID | None
    prescription_version: int | None
    target_version: int | None = Field(None, description="the set this point's best angle came from is a live set "
                                       "refiled under a safer limit's prescription version during it: the earlier "
                                       "version whose target (target_min, target_max) it was coached to; null "
                                       "otherwise, the band being prescription_version's")
    demo: bool
    safe_max: float | None = Field(None, description="the safe maximum of the set this point's best angle came "
                                   "from (its prescription version's, or, filed under none, the one given to "
                                   "`romcam analyze`; safe_limits_from says which); null: none")
    safe_min: float | None = Field(None, description="its safe minimum, from the same place; null: none")
    safe_limits_from: Literal["prescription", "analyze"] | None = None
    reps_past_safe_max: int = Field(0, description="reps of the session's sets in the series that went above "
                                    "their set's safe maximum")
    reps_past_safe_min: int = Field(0, description="reps that went below their set's safe minimum")
    reps_short_of_target: int = Field(0, description="reps of the session's sets in the series whose worked end "
                                      "fell short of their set's target (below_target true, as judged when measured)")
    target_judged: float | None = Field(None, description="no target band (a set filed under no prescription): "
                                        "the target given to `romcam analyze --target` its reps were judged "
                                        "against; null otherwise")


class TrendSeries(BaseModel):
    mode: Mode
    posture: Posture
    points: list[TrendPoint]


class TrendOut(BaseModel):
    exercise: str
    exercise_name: str
    works: Literal["max", "min"]
    side: Side
    measurement_noise_deg: float  # at the end of the range the exercise works (a session's best angle)
    return_noise_deg: float  # at the other end of a rep (where it starts and returns)
    normal: NormalRange
    series: list[TrendSeries]


class AdherenceDay(BaseModel):
    date: date
    sessions: int = Field(description="non-demo sittings of the plan begun that day: sessions with at least one "
                          "set of a prescribed motion, side, mode and posture, those begun less than an hour "
                          "after the one before counting once: what counts as done")
    before_plan: int = Field(description="of those sittings, the ones begun before plan_started_at — every one on a "
                             "day before the plan's, and on its first day those begun before the PT made it (an "
                             "evaluation that morning): shown, not counted as done, as the adherence figures count "
                             "from plan_started_at")
    outside_plan: int = Field(description="non-demo sittings begun that day of sessions with no set of the plan "
                              "(another joint, a motion the plan does not hold), grouped the same way: shown "
                              "apart, never counted as done")
    nothing_measured: int = Field(description="non-demo sittings begun that day of sessions none of whose sets "
                                  "measured anything (no rep, no best angle, fewer than two measured samples): "
                                  "started, nothing measured — shown apart, never counted as done; not one still "
                                  "being recorded (see PatientPublic.recording_session_at)")
    paused: bool = Field(description="the plan was paused for more than half of the day: it asked for no session "
                         "(sittings done that day still count as done)")


class PlanPauseOut(BaseModel):
    paused_at: datetime
    resumed_at: datetime | None = Field(description="null while the plan is paused")


class AdherenceWeek(BaseModel):
    start: date = Field(description="the week's Monday (it may be before the first day listed)")
    sessions: int = Field(description="sittings of the plan done on the week's days listed")
    outside_plan: int = Field(description="sittings outside the plan on the week's days listed (not counted)")
    plan_days: int = Field(ge=0, le=7, description="the week's days from the plan's start on (7: a full week; "
                           "fewer: the plan started mid-week, or was paused some days; 0: a week before the "
                           "plan, or paused all week)")
    paused_days: int = Field(ge=0, le=7, description="the week's days of the plan on which it was paused (they ask "
                             "for nothing)")
    planned: int | None = Field(description="whole sessions the week asks for: sessions_per_week in a full week, "
                                "in the plan's first, partial week its share to the nearest session and at "
                                "least 1, 0 before the plan; null when nothing is prescribed")


class AdherenceOut(BaseModel):
    prescribed_per_week: int | None
    plan_paused: bool
    plan_started_at: datetime | None = Field(description="when the patient's current, continuous time under a "
                                             "plan began: days before it asked for nothing")
    days: list[AdherenceDay]
    pauses: list[PlanPauseOut] = Field(description="the times the plan was paused that reach into the days listed, "
                                       "oldest first")
    weeks: list[AdherenceWeek] = Field(description="the calendar's weeks, Monday first, oldest first")


class AlertPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: Literal["decline", "other_end", "missed_sessions"]
    exercise: str | None
    side: Side | None
    mode: Mode | None
    posture: Posture | None
    message: str
    created_at: datetime
    status: Literal["open", "snoozed"]
    snoozed_until: datetime | None


class SnoozeIn(Strict):
    days: int = Field(ge=1, le=365)


