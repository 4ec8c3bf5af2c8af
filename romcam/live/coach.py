"""The live coach: the session state machine of docs/live.md. PURE: no I/O, no clock, no threads.

The capture worker feeds it one :class:`FrameInput` per processed frame (the frame's time, the
One Euro-filtered angle, the unsmoothed angle, the live rep count) and calls its commands (start,
pause, resume, stop, next, rest); it answers with a :class:`CoachOutput` (state, zone, cue, hold)
and a list of *actions* for the worker: ``("begin_set", i)``, ``("end_set", i)`` and
``("end_session", status)``, which the worker turns into recorder calls and detector resets.

States (docs/live.md): waiting_for_patient | positioning | exercising | holding | resting | paused |
done | source_lost.

Rules, each a constant below:
- cues are rate-limited (one every ``CUE_INTERVAL_S``); safety cues ("slow down", "stop, come back
  down", "stop, ease it back") skip the queue, and a cue is not repeated while it stays the same situation;
- safety is judged on the UNSMOOTHED angle, at each of the PT's two limits (:class:`Guard`): "stop, come
  back down" once it is above ``safe_max`` for ``SAFETY_CONFIRM_FRAMES`` frames in a row (one wild
  landmark frame is not a stop), "slow down" once the angle comes within the measurement noise of the
  range's high end (the motion's ``high_end_noise_deg``) of ``safe_max``; likewise at the low end, where
  an optional ``safe_min`` guards over-straightening (knee extension): "stop, ease it back" below it,
  "slow down" within the low end's noise (``low_end_noise_deg``) of it;
- "a little higher" ("a little further" for a motion that works the low end) only with a prescription,
  only short of the band in the direction the exercise works (never toward or past its far end), only
  when the patient has stalled at the furthest point of a rep, and never again in a set after the peaks
  fell by more than the measurement noise over 3 reps (then rest is offered);
- without a prescription the coach only measures: no band, no "higher", no reps target, no rest
  offers (the patient may still rest: ``POST /live/rest``);
- the patient leaving the frame for ``LEAVE_PAUSE_S`` pauses the session, coming back for
  ``BACK_RESUME_S`` resumes it; a manual pause waits for resume;
- a set ends when its reps are done, or at the PT's cap on reps or minutes (active time, not
  pauses or rests); rest is offered between exercises (``REST_BETWEEN_S``);
- hands-free start (``auto_start``, off unless asked for): once the patient has been measurable for
  ``READY_S`` before Start, the coach says "all set: starting in 5 seconds" and starts by itself after
  ``AUTO_START_COUNTDOWN_S`` (a patient with weak hands and the laptop out of reach needs no key);
  leaving the view or turning away cancels the countdown, which begins again once back in place;
- the camera view is judged over the last ``VIEW_WINDOW_S``, not frame by frame: wrong in at least
  ``VIEW_WRONG_SHARE`` of those frames, the coach asks to turn (or to move the camera) and stops
  coaching the set; right in all but ``VIEW_RIGHT_SHARE`` of the last ``VIEW_CLEAR_S``, it goes on.
  A view estimate that flips for a few frames (in bed, at the bottom of each rep) is not a wrong view:
  the caregiver is not told to move a camera that is where it should be.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from ..degrees import whole_degrees
from ..setup_guide import Setup, setup_for

CUE_INTERVAL_S = 2.5
SAFETY_CONFIRM_FRAMES = 3
LEAVE_PAUSE_S = 2.0
BACK_RESUME_S = 1.0
REST_BETWEEN_S = 20.0
REST_FATIGUE_S = 15.0
STALL_S = 0.6  # at the top of a rep this long below target_min: "a little higher"
DECLINE_REPS = 3
MISSING_CUE_S = 1.0  # the joint hidden this long (patient in view): "I can't see your wrist"
READY_S = 2.0  # hands-free start: measurable (in view, the view right, the joint seen) this long, then
AUTO_START_COUNTDOWN_S = 5.0  # "all set: starting in 5 seconds", and the session starts by itself
VIEW_WINDOW_S = 2.0  # the camera view is judged over this long...
VIEW_MIN_S = 0.5  # ...once it has been seen this long...
VIEW_WRONG_SHARE = 0.6  # ...wrong in at least this share of its frames: the view is wrong
VIEW_CLEAR_S = 0.7  # a wrong view is right again once, over this long,
VIEW_RIGHT_SHARE = 0.25  # at most this share of the frames read wrong

STATES = ("waiting_for_patient", "positioning", "exercising", "holding", "resting", "paused", "done",
          "source_lost")
ZONES = ("below", "in_target", "above_target", "above_safe_max", "below_safe_min", "unknown")
# the safety cues by name (phrase() gives the words: both slow-downs are "slow down" to a patient)
SLOW_MAX, STOP_MAX = "slow down", "stop, come back down"
SLOW_MIN, STOP_MIN = "slow down near the safe minimum", "stop, ease it back"
SAFETY_CUES = frozenset({SLOW_MAX, STOP_MAX, SLOW_MIN, STOP_MIN})
ACTIVE_WORDS = {SLOW_MIN: "slow down"}  # a cue's words to the patient, where they are not its name
PASSIVE_WORDS = {  # to the caregiver, who moves the limb
    SLOW_MAX: "slow down: nearly at the PT's safe maximum", STOP_MAX: "stop: this is the PT's safe maximum",
    SLOW_MIN: "slow down: nearly at the PT's safe minimum", STOP_MIN: "stop: this is the PT's safe minimum",
    "good, lower slowly": "good, bring it back slowly",
    # the patient came back into the picture after the set paused by itself: the caregiver is not the one away
    "welcome back": "the patient is in view again",
    "paused: I can't see you": "paused: the patient is out of view"}


@dataclass(frozen=True)
class PlanItem:
    """One exercise of today's plan (docs/live.md ``GET /live/plan``). No targets = measure only."""

    exercise: str
    side: str
    exercise_name: str = ""
    mode: str = "active"
    posture: str = "standing"
    target_min: float | None = None
    target_max: float | None = None
    safe_max: float | None = None
    safe_min: float | None = None  # the PT's limit at the low end (over-straightening), or none
    reps: int | None = None
    hold_s: float = 0.0
    max_reps: int | None = None
    max_minutes: float | None = None
    notes: str = ""
    instructions: str = ""
    view: str = "front"
    works: str = "max"
    joint: str = ""
    noise_deg: float = 3.0  # at the end of the range the exercise works (its peaks: fatigue, hysteresis)
    safe_noise_deg: float = 3.0  # at the high end, where safe_max sits (Motion.high_end_noise_deg)
    safe_min_noise_deg: float = 3.0  # at the low end, where safe_min sits (Motion.low_end_noise_deg)
    experimental: bool = False
    prescription_id: str | None = None
    version: int | None = None

    @property
    def prescribed(self) -> bool:
        return self.target_min is not None and self.target_max is not None

    def setup(self) -> Setup | None:
        """The camera setup for this exercise in this posture (None standing)."""
        return setup_for(self.exercise, self.posture, self.side)

    @property
    def reps_cap(self) -> int | None:
        caps = [n for n in (self.reps, self.max_reps) if n]
        return min(caps) if caps else None

    def to_dict(self) -> dict[str, Any]:
        return {"prescription_id": self.prescription_id, "version": self.version, "exercise": self.exercise,
                "exercise_name": self.exercise_name or self.exercise, "experimental": self.experimental,
                "side": self.side, "mode": self.mode, "posture": self.posture, "target_min": self.target_min,
                "target_max": self.target_max, "safe_max": self.safe_max, "safe_min": self.safe_min, "reps": self.reps,
                "hold_s": self.hold_s, "max_reps": self.max_reps, "max_minutes": self.max_minutes,
                "notes": self.notes, "instructions": self.instructions, "view": self.view,
                "setup": setup.to_dict() if (setup := self.setup()) is not None else None}


@dataclass(frozen=True)
class FrameInput:
    """What the coach needs from one processed frame."""

    t: float  # seconds, strictly increasing over the session
    angle: float  # One Euro-filtered, NaN when not measured
    raw: float  # unsmoothed, NaN when not measured
    has_subject: bool  # a person is in view
    view_ok: bool | None = True
    missing: str | None = None  # why no angle ("left_wrist not visible")
    rep: int = 0  # completed reps of the current set (RepDetector.completed)
    rep_state: str = "rest"  # RepDetector.state


@dataclass
class CoachOutput:
    state: str
    zone: str
    rep: int
    hold_s: float
    cue: str | None
    cue_id: int
    view_hint: str | None
    missing: str | None
    plan_index: int
    started: bool
    fatigued: bool
    rest_remaining_s: float | None
    actions: list[tuple[str, Any]] = field(default_factory=list)
    view_ok: bool | None = None  # the view judged over the last VIEW_WINDOW_S (None: not judged yet, or nobody in view)
    auto_paused: bool = False  # paused because nobody is in view: it resumes by itself
    auto_start_in_s: float | None = None  # hands-free start counting down: seconds until the session starts


def view_hint(item: PlanItem) -> str:
    """What to do about a wrong camera view. A seated or lying patient does not turn: the camera
    moves, as the setup file says for the motion and posture (romcam/data/setup.toml)."""
    setup = item.setup()
    if setup is not None:
        return setup.fix
    if item.mode == "passive":  # the coach speaks to the helper, who turns the patient (or moves the camera)
        return (f"turn the patient's {item.side} side to the camera" if item.view == "side"
                else "turn the patient to face the camera")
    return f"turn your {item.side} side to the camera" if item.view == "side" else "face the camera"


def missing_cue(missing: str | None, item: PlanItem) -> str:
    """ "left_wrist not visible" → "I can't see your wrist" ("mouth_right", "left_eye_outer": "mouth", "eye")."""
    part = (missing or "").split(" ")[0]
    for prefix in ("left_", "right_"):
        part = part.removeprefix(prefix)
    for suffix in ("_left", "_right", "_outer", "_inner"):
        part = part.removesuffix(suffix)
    part = part.replace("foot_index", "foot").replace("_", " ") or item.joint or "joint"
    return f"I can't see your {part}"


def phrase(cue: str, item: PlanItem) -> str:
    """The words for ``cue``. In passive ROM the caregiver moves the limb, so cues are addressed to
    them, with the numbers they need: "move slowly to 110°", "hold 5 seconds", "stop: this is the
    PT's safe maximum", "I can't see the wrist: go by feel". Otherwise the cue as it is."""
    if item.mode != "passive":
        return ACTIVE_WORDS.get(cue, cue)
    if cue in ("a little higher", "a little further") and item.target_min is not None:
        goal = item.target_min if item.works == "max" else item.target_max
        return f"move slowly to {goal:.0f}°" if goal is not None else cue
    if cue == "hold":
        return f"hold {item.hold_s:g} seconds" if item.hold_s else "hold"
    if cue in PASSIVE_WORDS:
        return PASSIVE_WORDS[cue]
    unseen = "I can't see your "
    if cue.startswith(unseen):
        return f"I can't see the {cue.removeprefix(unseen)}: go by feel"
    return cue


class ViewJudge:
    """The camera view over the last VIEW_WINDOW_S rather than frame by frame (the module docstring):
    ``wrong`` once VIEW_WRONG_SHARE of it read wrong, right again once at most VIEW_RIGHT_SHARE of the last
    VIEW_CLEAR_S did; ``known`` once it has been seen for VIEW_MIN_S. Forgotten with :meth:`forget`."""

    def __init__(self) -> None:
        self._views: deque[tuple[float, bool]] = deque()  # (t, the frame's view right)
        self.wrong = False
        self.known = False

    def forget(self) -> None:
        """Nobody in view, or another exercise (another view needed): judged afresh."""
        self._views.clear()
        self.wrong = self.known = False

    def update(self, t: float, view_ok: bool | None) -> None:
        views = self._views
        if view_ok is not None:
            views.append((t, bool(view_ok)))
        while views and views[0][0] < t - VIEW_WINDOW_S:
            views.popleft()
        if not views or t - views[0][0] < VIEW_MIN_S - 1e-9:
            return  # too little seen to change the verdict
        self.known = True
        if self.wrong:
            recent = [ok for at, ok in views if at >= t - VIEW_CLEAR_S]
            self.wrong = sum(not ok for ok in recent) > VIEW_RIGHT_SHARE * len(recent)
            if not self.wrong:  # right again: the wrong frames before are forgotten, not held against it
                while views[0][0] < t - VIEW_CLEAR_S:
                    views.popleft()
        else:
            self.wrong = sum(not ok for _, ok in views) >= VIEW_WRONG_SHARE * len(views)


@dataclass
class Guard:
    """One of the PT's safety limits over a set: ``safe_max`` (``end`` "max": past it is above it) or
    ``safe_min`` ("min": past it is below it). Counts the frames in a row the unsmoothed angle is past the
    limit (a stop needs ``SAFETY_CONFIRM_FRAMES``) and keeps whether its stop or slow-down cue is on."""

    end: str  # "max" | "min"
    past_frames: int = 0
    stop_on: bool = False
    slow_on: bool = False

    @property
    def zone(self) -> str:
        return "above_safe_max" if self.end == "max" else "below_safe_min"

    @property
    def stop_cue(self) -> str:
        return STOP_MAX if self.end == "max" else STOP_MIN

    @property
    def slow_cue(self) -> str:
        return SLOW_MAX if self.end == "max" else SLOW_MIN

    def limit(self, item: PlanItem) -> float | None:
        return item.safe_max if self.end == "max" else item.safe_min

    def noise(self, item: PlanItem) -> float:
        """The measurement noise of the end of the range the limit sits at."""
        return item.safe_noise_deg if self.end == "max" else item.safe_min_noise_deg

    def inside(self, item: PlanItem, raw: float) -> float:
        """How far ``raw`` is inside the limit, in degrees (negative: past it)."""
        limit = self.limit(item)
        assert limit is not None
        return limit - raw if self.end == "max" else raw - limit


class Coach:
    """The session state machine over today's plan (see the module docstring)."""

    def __init__(self, plan: list[PlanItem], *, auto_start: bool = False) -> None:
        if not plan:
            raise ValueError("the coach needs a plan of at least one exercise")
        self.plan = list(plan)
        self.index = 0
        self.started = False
        self._auto_start = auto_start
        self._ready_since: float | None = None  # measurable before Start since (hands-free start)
        self._countdown_said = False  # this countdown's "starting in 5 seconds" was said
        self.state = "waiting_for_patient"
        self.cue: str | None = None
        self.cue_id = 0
        self._last_cue_t = -math.inf
        self._last_cue: str | None = None
        self._t = 0.0
        self._actions: list[tuple[str, Any]] = []
        self._manual_pause = False
        self._auto_paused = False
        self._absent_since: float | None = None
        self._present_since: float | None = None
        self._rest_until: float | None = None
        self._rest_then_next = False
        self._source_lost = False
        self._cue_pending = False
        self._in_update = False
        self._view = ViewJudge()
        self._pending_plan: list[PlanItem] | None = None  # the PT's new plan, waiting for the set's end
        self.plan_note: tuple[int, str] | None = None  # the last "Your PT changed your plan: ..." and its number
        self._arrived = False  # the plan being taken is the first of a patient the coach had none for (take_plan)
        self.plan_note_next_session = False  # ... made after the session was done: for the next session
        self._plan_after_done: list[PlanItem] | None = None  # the PT's plan last told of after the session was done
        self.limits_changed_in_set = False  # a safer limit of the PT's took over during the open set
        self._reset_set()

    # ------------------------------------------------------------------ commands

    @property
    def item(self) -> PlanItem:
        return self.plan[self.index]

    @property
    def set_open(self) -> bool:
        """Whether a set is open now (begun, not ended): its samples and reps are recorded. Read-only: the
        coach opens and closes sets itself."""
        return self._set_open

    @property
    def auto_start(self) -> bool:
        return self._auto_start

    @auto_start.setter
    def auto_start(self, on: bool) -> None:
        """Hands-free start on or off; turned on, the patient's time in place counts from now (the whole
        countdown is said, never a start out of the blue)."""
        if on and not self._auto_start:
            self._ready_since = None
            self._countdown_said = False
        self._auto_start = on

    def start(self) -> list[tuple[str, Any]]:
        if self.started:
            return []
        self.started = True
        self.state = "positioning"
        self._reset_set()
        return [("begin_session", None), ("begin_set", self.index)]

    def pause(self) -> list[tuple[str, Any]]:
        if self.started and self.state not in ("done", "paused"):
            self._manual_pause = True
            self.state = "paused"
        return []

    def resume(self) -> list[tuple[str, Any]]:
        if self.state == "paused":
            self._manual_pause = self._auto_paused = False
            self.state = "positioning"
        elif self.state == "resting":
            return self._end_rest()
        return []

    def rest(self) -> list[tuple[str, Any]]:
        if self.started and self.state not in ("done", "resting"):
            self._enter_rest(REST_FATIGUE_S, then_next=False)
            self._say("rest a moment", force=True)
        return []

    def next(self) -> list[tuple[str, Any]]:
        """Skip to the next exercise (or finish after the last)."""
        if not self.started or self.state == "done":
            return []
        if self.state == "resting" and self._rest_then_next:
            return self._end_rest()
        return self._end_set(rest=False)

    def stop(self) -> list[tuple[str, Any]]:
        if not self.started or self.state == "done":
            return []
        actions: list[tuple[str, Any]] = []
        if self._set_open:
            actions.append(("end_set", self.index))
            self._set_open = False
        self.state = "done"
        self._say("done for today", force=True)
        actions.append(("end_session", "complete"))
        return actions

    def take_plan(self, plan: list[PlanItem], *, arrived: bool = False) -> list[tuple[str, Any]]:
        """The PT changed the plan while the coach runs (docs/live.md "The PT changes the plan"); ``arrived``: it
        is the first plan of a patient the coach had none for (a re-linked laptop the clinic has now answered),
        so ``plan_note`` names it as arrived, not as a change the PT made.

        Between sets (before Start, resting between exercises) it is taken at once: the exercises done or
        passed stay done and are not offered again (matched by ``prescription_id``), the rest of the plan is
        the new one's (added items, ended ones gone, changed targets, reps, hold, mode, posture). During a set
        only a SAFER limit takes over at once (a lower ``safe_max``, a higher ``safe_min``, or one where there
        was none); everything else waits for the set's end. ``plan_note`` says what changed. Returns the
        worker's actions: ``("set_up", i)`` (the item before Start changed: set it up again) and, when
        nothing is left to do, ``("end_session", "complete")``. Before Start the plan must not be empty."""
        if not self.started and not plan:
            raise ValueError("the coach needs a plan of at least one exercise")
        had = self._plan_after_done if self.state == "done" and self._plan_after_done is not None else self.plan
        # a laptop that followed no plan of the PT's (measure only: never linked, or no exercise prescribed yet)
        # gets its first one: it arrived, the PT changed nothing the patient had
        self._arrived = arrived or (not _prescribed(had) and _prescribed(plan))
        if self.state == "done":
            # the session is over: the next one starts with the plan as it is then, and the patient is told now
            # what it will be ("... (next session)"), each change once (against the plan last told of)
            told = self._plan_after_done if self._plan_after_done is not None else self.plan
            self._plan_after_done = list(plan)
            self._note(describe_changes(told, plan), next_session=True)
            return []
        self._pending_plan = list(plan)
        if self.started and self._set_open:
            self._safer_limits_now()
            return []
        return self._take_pending()

    def _safer_limits_now(self) -> None:
        new = self._pending_plan or []
        cur = self.item
        match = next((p for p in new if cur.prescription_id is not None and p.prescription_id == cur.prescription_id),
                     None)
        if match is None:
            return
        safer = safer_limits(cur, match)
        if safer != cur:
            self.plan[self.index] = safer
            self.limits_changed_in_set = True
            self._note(describe_changes([cur], [safer]))

    def _take_pending(self) -> list[tuple[str, Any]]:
        """The pending plan, between sets (``index`` is the exercise to come before Start, else the one just
        finished)."""
        new, self._pending_plan = self._pending_plan, None
        if new is None:
            return []
        old = list(self.plan)
        if not self.started:
            self.plan = new
            first_changed = old[0] != new[0]
            self.index = 0
            self._note(describe_changes(old, new))
            if first_changed:
                self._view.forget()  # another exercise or posture may need another view
                self._ready_since = None  # the hands-free start counts again, for the new exercise
                self._countdown_said = False
                return [("set_up", 0)]
            return []
        passed = old[: self.index + 1]
        done = {p.prescription_id for p in passed}
        self.plan = passed + [p for p in new if p.prescription_id is None or p.prescription_id not in done]
        self._note(describe_changes(old, new))
        if self._rest_then_next and self.index + 1 >= len(self.plan):  # resting (or the camera lost meanwhile)
            self._rest_until = None
            self._rest_then_next = False
            self.state = "done"
            self._say("well done — that's all for today", force=True)
            return [("end_session", "complete")]
        return []

    def _note(self, changes: list[str], *, next_session: bool = False) -> None:
        if not changes:
            return
        number = self.plan_note[0] + 1 if self.plan_note is not None else 1
        new = self._plan_after_done if next_session else (self._pending_plan or self.plan)
        words = plan_arrived_words(new or []) if self._arrived else plan_change_words(changes)
        if next_session:  # the session is done: the change is for the next one
            words = words.removesuffix(".") + " (next session)."
        self.plan_note = (number, words)
        self.plan_note_next_session = next_session

    def source_lost(self, t: float | None = None) -> None:
        self._source_lost = True
        if self.state != "done":
            self.state = "source_lost"

    def source_back(self) -> None:
        self._source_lost = False
        if self.state == "source_lost":
            self.state = "positioning" if self.started else "waiting_for_patient"
            if self.started:  # the page said aloud the camera stopped: a patient not looking hears it is back
                self._say("the camera is back", force=True)

    # ------------------------------------------------------------------ per frame

    def update(self, f: FrameInput) -> CoachOutput:
        self._t = f.t
        if not self._cue_pending:  # a cue said by a command is shown with the next frame
            self.cue = None
        self._cue_pending = False
        self._in_update = True
        self._actions = []
        if self._source_lost:
            self.source_back()
        item = self.item
        # the set's rep count and the current rep's peak
        if self._set_open and f.rep > self._rep:
            self._peaks.append(self._cur_peak)
            self._cur_peak = -math.inf
            self._rep = f.rep
        if self._set_open and math.isfinite(f.angle):
            y = f.angle if item.works == "max" else -f.angle
            self._cur_peak = max(self._cur_peak, y)

        zone = self._zone(f)
        self._track_presence(f)
        self._judge_view(f)

        if self.state == "done":
            pass
        elif not self.started:
            self.state = self._presence_state(f)
            measurable = self.state == "positioning" and not self._positioning_cues(f)
            self._ready_since = (self._ready_since if self._ready_since is not None else f.t) if measurable else None
            if self.auto_start and self._ready_since is not None:
                waited = f.t - self._ready_since
                if waited >= READY_S + AUTO_START_COUNTDOWN_S:
                    self._actions.extend(self.start())
                    self._say("starting now", force=True)
                elif waited >= READY_S and not self._countdown_said:  # each countdown said as it begins
                    self._say(f"all set: starting in {AUTO_START_COUNTDOWN_S:.0f} seconds", force=True)
                    self._countdown_said = True
            if self._ready_since is None:
                self._countdown_said = False
        elif self.state == "paused":
            if self._auto_paused and not self._manual_pause and self._present_since is not None \
                    and f.t - self._present_since >= BACK_RESUME_S:
                self._auto_paused = False
                self.state = "positioning"
                self._say("welcome back", force=True)
        elif self.state == "resting":
            if self._rest_until is not None and f.t >= self._rest_until:
                self._actions.extend(self._end_rest())
        else:
            if self._absent_since is not None and f.t - self._absent_since >= LEAVE_PAUSE_S:
                self._auto_paused = True
                self.state = "paused"
                self._say("paused: I can't see you", force=True)  # the patient may not be looking at the screen
            else:
                self._active(f, zone)
        self._in_update = False
        hold = self._hold_s(f, zone)
        rest_left = (max(0.0, self._rest_until - f.t) if self.state == "resting" and self._rest_until is not None
                     else None)
        counting = not self.started and self.auto_start and self._ready_since is not None \
            and f.t - self._ready_since >= READY_S
        return CoachOutput(
            auto_start_in_s=round(self._ready_since + READY_S + AUTO_START_COUNTDOWN_S - f.t, 1) if counting else None,
            state=self.state, zone=zone, rep=self._rep if self.started else f.rep, hold_s=round(hold, 2),
            cue=self.cue, cue_id=self.cue_id,
            view_hint=view_hint(item) if f.has_subject and self._view.wrong else None,
            view_ok=(not self._view.wrong) if f.has_subject and self._view.known else None,
            missing=f.missing if f.has_subject and not math.isfinite(f.angle) else None,
            plan_index=self.index, started=self.started, fatigued=self._fatigued,
            rest_remaining_s=None if rest_left is None else round(rest_left, 1), actions=list(self._actions),
            auto_paused=self.state == "paused" and self._auto_paused and not self._manual_pause)

    # ------------------------------------------------------------------ internals

    def _reset_set(self) -> None:
        self._rep = 0
        self._peaks: list[float] = []
        self._cur_peak = -math.inf
        self._fatigued = False
        self._rest_offered = False
        self._active_s = 0.0
        self._last_active_t: float | None = None
        self._guards = (Guard("max"), Guard("min"))
        self._hold_start: float | None = None
        self._hold_done = False
        self._at_peak_since: float | None = None
        self._missing_since: float | None = None
        self._set_open = False
        self.limits_changed_in_set = False
        if self.started:
            self._set_open = True

    def _say(self, cue: str, *, force: bool = False) -> None:
        safety = cue in SAFETY_CUES
        if not (force or safety) and self._t - self._last_cue_t < CUE_INTERVAL_S:
            return
        self.cue = phrase(cue, self.item)  # the words; the logic below keeps the cue's name
        self.cue_id += 1
        self._last_cue_t = self._t
        self._last_cue = cue
        if not self._in_update:
            self._cue_pending = True

    def _say_once(self, cue: str) -> None:
        """A cue that is not repeated while the situation stays the same (the last cue said)."""
        if self._last_cue != cue:
            self._say(cue)

    def _zone(self, f: FrameInput) -> str:
        item = self.item
        if not math.isfinite(f.angle) and not math.isfinite(f.raw):
            for g in self._guards:
                g.past_frames = 0
            return "unknown"
        # safety first, on the unsmoothed angle confirmed over a few frames
        for g in self._guards:
            if g.limit(item) is not None and math.isfinite(f.raw) and g.inside(item, f.raw) < 0:
                g.past_frames += 1
            elif math.isfinite(f.raw):
                g.past_frames = 0
        for g in self._guards:
            if g.limit(item) is not None and g.past_frames >= SAFETY_CONFIRM_FRAMES:
                return g.zone
        angle = f.angle if math.isfinite(f.angle) else f.raw
        if not item.prescribed:
            return "unknown"
        if angle < item.target_min:  # type: ignore[operator]
            return "below"
        if angle <= item.target_max:  # type: ignore[operator]
            return "in_target"
        return "above_target"

    def _judge_view(self, f: FrameInput) -> None:
        """The view over the last VIEW_WINDOW_S (:class:`ViewJudge`); forgotten when nobody is in view."""
        if f.has_subject:
            self._view.update(f.t, f.view_ok)
        else:
            self._view.forget()

    def _track_presence(self, f: FrameInput) -> None:
        if f.has_subject:
            self._absent_since = None
            if self._present_since is None:
                self._present_since = f.t
        else:
            self._present_since = None
            if self._absent_since is None:
                self._absent_since = f.t

    def _presence_state(self, f: FrameInput) -> str:
        if not f.has_subject:
            return "waiting_for_patient"
        return "positioning"

    def _positioning_cues(self, f: FrameInput) -> bool:
        """Cues about being seen; True when the patient is not measurable yet."""
        if self._view.wrong:
            self._say_once(view_hint(self.item))
            return True
        if not math.isfinite(f.angle):
            if self._missing_since is None:
                self._missing_since = f.t
            if f.t - self._missing_since >= MISSING_CUE_S or self.state == "positioning":
                self._say_once(missing_cue(f.missing, self.item))
            return True
        self._missing_since = None
        return False

    def _active(self, f: FrameInput, zone: str) -> None:
        item = self.item
        if not f.has_subject:
            return  # a moment out of view: the pause comes after LEAVE_PAUSE_S
        if self._last_active_t is not None:
            self._active_s += max(0.0, f.t - self._last_active_t)
        self._last_active_t = f.t
        # safety before anything else, even with the view wrong or the joint hidden
        if self._guard(f, zone):
            return

        if self._positioning_cues(f):
            if self.state in ("exercising", "holding") and not math.isfinite(f.angle) and not self._view.wrong:
                pass  # keep the state: the joint is hidden for a moment (the cue says so)
            else:
                self.state = "positioning"
            self._missing_since = self._missing_since if not math.isfinite(f.angle) else None
            return
        if self.state == "positioning":
            self.state = "exercising"

        # short of the band / past it, in the direction the exercise works (a knee extension's rest, bent,
        # is above its band: short of it; below target_min is past it, toward the safe minimum)
        short, past = ("below", "above_target") if item.works == "max" else ("above_target", "below")
        # holding in the band
        if item.prescribed and item.hold_s > 0 and zone == "in_target":
            if self._hold_start is None:
                self._hold_start = f.t
                self._hold_done = False
                self._say("hold", force=True)  # entering the band: said even right after another cue
            self.state = "holding"
            if not self._hold_done and f.t - self._hold_start >= item.hold_s:
                self._hold_done = True
                self._say("good, lower slowly", force=True)
        else:
            if self._hold_start is not None and zone != past:
                self._hold_start = None
            self.state = "exercising"
            if item.prescribed and zone in ("in_target", past) and item.hold_s <= 0:
                self._say_once("good, lower slowly")

        # stalled at the furthest point short of the band: "a little higher" (never past its far end)
        if f.rep_state == "at_peak":
            self._at_peak_since = self._at_peak_since if self._at_peak_since is not None else f.t
        else:
            self._at_peak_since = None
        if (item.prescribed and not self._fatigued and zone == short and self._at_peak_since is not None
                and f.t - self._at_peak_since >= STALL_S):
            self._say_once("a little higher" if item.works == "max" else "a little further")
        if f.rep_state == "rest" and self._last_cue in ("a little higher", "a little further", "good, lower slowly",
                                                         "hold"):
            self._last_cue = None  # a new rep may hear them again

        # the peaks fell: offer rest, stop asking for more
        if item.prescribed and not self._rest_offered and self._declining():
            self._fatigued = True
            self._rest_offered = True
            self._enter_rest(REST_FATIGUE_S, then_next=False)
            self._say("rest a moment", force=True)
            return

        # the set is done: reps, or the PT's caps
        cap = item.reps_cap
        minutes_up = item.max_minutes is not None and self._active_s >= 60.0 * item.max_minutes
        if (cap is not None and self._rep >= cap) or minutes_up:
            self._actions.extend(self._end_set(rest=True))

    def _guard(self, f: FrameInput, zone: str) -> bool:
        """The PT's safety limits: "stop" past one (confirmed: ``zone``), held until the unsmoothed angle is
        back inside it by its end's noise; "slow down" within that noise of it. True while a stop holds."""
        item = self.item
        guards = [g for g in self._guards if g.limit(item) is not None]
        for g in guards:
            if zone == g.zone:
                if not g.stop_on:
                    g.stop_on = True
                    self._say(g.stop_cue, force=True)
                self.state = "exercising"
                return True
        for g in guards:
            if g.stop_on and (not math.isfinite(f.raw) or g.inside(item, f.raw) >= g.noise(item)):
                g.stop_on = False
        if any(g.stop_on for g in guards):
            return True
        for g in guards:
            if math.isfinite(f.raw) and g.inside(item, f.raw) <= g.noise(item):
                if not g.slow_on:
                    g.slow_on = True
                    self._say(g.slow_cue, force=True)
            elif g.slow_on and (not math.isfinite(f.raw) or g.inside(item, f.raw) > 2 * g.noise(item)):
                g.slow_on = False
        return False

    def _declining(self) -> bool:
        p = self._peaks[-DECLINE_REPS:]
        if len(p) < DECLINE_REPS or not all(math.isfinite(x) for x in p):
            return False
        tol = 0.5 * self.item.noise_deg
        monotonic = all(b <= a + tol for a, b in zip(p, p[1:], strict=False))
        return monotonic and p[0] - p[-1] > self.item.noise_deg

    def _hold_s(self, f: FrameInput, zone: str) -> float:
        if self._hold_start is not None and self.state == "holding":
            return max(0.0, f.t - self._hold_start)
        return 0.0

    def _enter_rest(self, seconds: float, *, then_next: bool) -> None:
        self.state = "resting"
        self._rest_until = self._t + seconds
        self._rest_then_next = then_next
        self._hold_start = None

    def _end_rest(self) -> list[tuple[str, Any]]:
        self._rest_until = None
        if self._rest_then_next:
            self._rest_then_next = False
            self.index += 1
            self._reset_set()
            self._view.forget()  # the next exercise may need another view
            self.state = "positioning"
            self._say(f"next: {self.item.exercise_name or self.item.exercise}", force=True)
            return [("begin_set", self.index)]
        self.state = "positioning"
        return []

    def _end_set(self, *, rest: bool) -> list[tuple[str, Any]]:
        actions: list[tuple[str, Any]] = []
        if self._set_open:
            actions.append(("end_set", self.index))
            self._set_open = False
        self._take_pending()  # the PT's changes that waited for the set's end
        if self.index + 1 >= len(self.plan):
            self.state = "done"
            self._say("well done — that's all for today", force=True)
            actions.append(("end_session", "complete"))
            return actions
        if rest:
            self._enter_rest(REST_BETWEEN_S, then_next=True)
            self._say("well done — rest a moment", force=True)
            return actions
        self._rest_then_next = True
        actions.extend(self._end_rest())
        return actions


def measure_only_item(item: PlanItem) -> PlanItem:
    """The same exercise with no prescription: measure only."""
    return replace(item, target_min=None, target_max=None, safe_max=None, safe_min=None, reps=None, max_reps=None,
                   max_minutes=None, hold_s=0.0, prescription_id=None, version=None)


def safer_limits(current: PlanItem, new: PlanItem) -> PlanItem:
    """``current`` with those of ``new``'s safe limits that are SAFER (a lower safe maximum, a higher safe
    minimum, or one where there was none) and, when one is taken, ``new``'s version (the stored set is filed
    under it: docs/live.md). A looser limit waits for the set's end."""
    high, low = current.safe_max, current.safe_min
    if new.safe_max is not None and (high is None or new.safe_max < high):
        high = new.safe_max
    if new.safe_min is not None and (low is None or new.safe_min > low):
        low = new.safe_min
    if (high, low) == (current.safe_max, current.safe_min):
        return current
    return replace(current, safe_max=high, safe_min=low, version=new.version)


MODE_WORDS = {"active": "now done on your own", "active_assisted": "now done with a helper",
              "passive": "now passive: a helper moves the limb"}
MAX_CHANGES_SAID = 4


def _deg(x: float) -> str:
    return f"{whole_degrees(x)}°"


def _item_name(item: PlanItem, items: list[PlanItem]) -> str:
    name = (item.exercise_name or item.exercise.replace("_", " ")).lower()
    sides = {p.side for p in items if p.exercise == item.exercise}
    return f"{name} ({item.side})" if len(sides) > 1 else name


def item_changes(old: PlanItem, new: PlanItem) -> list[str]:
    """What changed in one exercise, in a few words each ("safe maximum now 120°")."""
    out: list[str] = []
    if (old.target_min, old.target_max) != (new.target_min, new.target_max):
        out.append(f"target now {_deg(new.target_min)}–{_deg(new.target_max)}"
                   if new.target_min is not None and new.target_max is not None else "no target now")
    if old.safe_max != new.safe_max:
        out.append(f"safe maximum now {_deg(new.safe_max)}" if new.safe_max is not None else "no safe maximum now")
    if old.safe_min != new.safe_min:
        out.append(f"safe minimum now {_deg(new.safe_min)}" if new.safe_min is not None else "no safe minimum now")
    if old.reps != new.reps:
        out.append(f"{new.reps} repetitions now" if new.reps else "no set number of repetitions now")
    if old.hold_s != new.hold_s:
        out.append(f"hold {new.hold_s:g} seconds now" if new.hold_s else "no hold now")
    if old.max_reps != new.max_reps:
        out.append(f"at most {new.max_reps} repetitions now" if new.max_reps else "no cap on repetitions now")
    if old.max_minutes != new.max_minutes:
        out.append(f"at most {new.max_minutes:g} minutes now" if new.max_minutes else "no time cap now")
    if old.mode != new.mode:
        out.append(MODE_WORDS.get(new.mode, f"now {new.mode}"))
    if old.posture != new.posture:
        out.append(f"now done {new.posture}")
    if old.side != new.side:
        out.append(f"now the {new.side} side")
    if old.notes != new.notes:
        out.append("new notes from your PT" if new.notes else "no notes now")
    return out


def _prescribed(plan: list[PlanItem]) -> bool:
    """Whether ``plan`` holds an exercise the PT prescribed (else it is measure only: no plan of theirs)."""
    return any(p.prescription_id is not None for p in plan)


def describe_changes(old: list[PlanItem], new: list[PlanItem]) -> list[str]:
    """What changed from plan ``old`` to plan ``new``, one short line per exercise, matched by prescription
    ("shoulder flexion: safe maximum now 120°", "elbow flexion: new", "knee extension: no longer in your
    plan"). Items without a prescription (the exercise measured when there is no plan) are no part of the PT's
    plan: they are neither new nor gone."""
    before = {p.prescription_id: p for p in old if p.prescription_id is not None}
    after = {p.prescription_id: p for p in new if p.prescription_id is not None}
    both = old + new
    out: list[str] = []
    for k, p in after.items():
        if k not in before:
            out.append(f"{_item_name(p, both)}: new")
        elif changes := item_changes(before[k], p):
            out.append(f"{_item_name(p, both)}: {', '.join(changes)}")
    for k, p in before.items():
        if k not in after:
            out.append(f"{_item_name(p, both)}: no longer in your plan")
    return out


def plan_arrived_words(plan: list[PlanItem]) -> str:
    """The line shown and said when a patient's plan arrives where the coach had none (a re-linked laptop the
    clinic has now answered): "Your PT's plan has arrived: knee extension, shoulder flexion." """
    names = [_item_name(p, plan) for p in plan if p.prescription_id is not None]
    if not names:
        return "Your PT's plan has arrived: no exercises in it yet."
    said = names[:MAX_CHANGES_SAID]
    more = len(names) - len(said)
    return f"Your PT's plan has arrived: {', '.join(said)}{f' and {more} more' if more else ''}."


def plan_change_words(changes: list[str]) -> str:
    """The one line shown and said: "Your PT changed your plan: shoulder flexion: safe maximum now 120°." """
    said = changes[:MAX_CHANGES_SAID]
    more = len(changes) - len(said)
    tail = f"; and {more} more change{'s' if more > 1 else ''}" if more else ""
    return f"Your PT changed your plan: {'; '.join(said)}{tail}."
