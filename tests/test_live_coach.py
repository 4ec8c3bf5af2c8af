"""The pure live coach (romcam.live.coach): the session state machine of docs/live.md, frame by frame."""

from __future__ import annotations

import math

import pytest

from romcam.catalog import default_catalog, get_motion
from romcam.live.coach import (
    AUTO_START_COUNTDOWN_S,
    BACK_RESUME_S,
    CUE_INTERVAL_S,
    LEAVE_PAUSE_S,
    READY_S,
    REST_BETWEEN_S,
    VIEW_MIN_S,
    VIEW_WINDOW_S,
    VIEW_WRONG_SHARE,
    Coach,
    FrameInput,
    PlanItem,
    missing_cue,
    view_hint,
)
from romcam.live.plan import measure_only

DT = 1 / 30


def rx(**kw: object) -> PlanItem:
    base = dict(exercise="shoulder_abduction", side="left", exercise_name="Shoulder abduction", target_min=90.0,
                target_max=150.0, safe_max=160.0, reps=3, hold_s=0.0, noise_deg=3.0, view="front", joint="shoulder")
    return PlanItem(**(base | kw))  # type: ignore[arg-type]


class Run:
    """Feeds frames at 30 fps and keeps every output."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self.t = 0.0
        self.outs: list = []
        self.rep = 0

    def frames(self, seconds: float, angle: float | None = 20.0, *, raw: float | None = None, rep_state: str = "rest",
               present: bool = True, view_ok: bool = True, missing: str | None = None) -> list:
        out = []
        for _ in range(max(1, round(seconds / DT))):
            self.t += DT
            a = math.nan if angle is None else angle
            r = a if raw is None else raw
            o = self.coach.update(FrameInput(t=self.t, angle=a, raw=r, has_subject=present, view_ok=view_ok,
                                             missing=missing, rep=self.rep, rep_state=rep_state))
            out.append(o)
        self.outs.extend(out)
        return out

    def rep_cycle(self, peak: float, *, hold: float = 0.8) -> list:
        """One rep: up to ``peak``, stay there, back to rest; the detector counts it on return."""
        out = self.frames(0.5, (20 + peak) / 2, rep_state="moving_out")
        out += self.frames(hold, peak, rep_state="at_peak")
        out += self.frames(0.5, (20 + peak) / 2, rep_state="returning")
        self.rep += 1
        out += self.frames(0.5, 20.0)
        return out

    @property
    def cues(self) -> list[str]:
        return [o.cue for o in self.outs if o.cue]


def actions(outs: list) -> list:
    return [a for o in outs for a in o.actions]


def test_before_start_it_measures_and_guides_positioning() -> None:
    run = Run(Coach([rx()]))
    assert run.frames(0.5, None, present=False)[-1].state == "waiting_for_patient"
    out = run.frames(VIEW_MIN_S + 0.1, 40.0, view_ok=False)
    assert out[-1].state == "positioning" and out[-1].view_hint == "face the camera"
    assert "face the camera" in run.cues
    out = run.frames(0.5, 40.0)
    assert out[-1].state == "positioning" and not out[-1].started and out[-1].zone == "below"


def test_hands_free_start_counts_down_once_the_patient_is_in_place_and_starts_by_itself() -> None:
    """A patient with weak hands and the laptop out of reach: in place (in view, the view right, the joint
    seen) for READY_S, the coach says so and starts the session after a 5-second countdown; turning away
    or leaving stops the countdown, which begins again once back in place."""
    coach = Coach([rx()], auto_start=True)
    run = Run(coach)
    run.frames(1.0, None, present=False)
    out = run.frames(READY_S + 2.0, 40.0, view_ok=False)  # in view, facing the wrong way: no countdown
    assert {o.auto_start_in_s for o in out} == {None} and not coach.started
    out = run.frames(READY_S - 0.2, 40.0)
    assert {o.auto_start_in_s for o in out} == {None}
    out = run.frames(2.0, 40.0)
    counting = [o.auto_start_in_s for o in out if o.auto_start_in_s is not None]
    assert counting and counting[0] == pytest.approx(AUTO_START_COUNTDOWN_S, abs=0.3)
    assert counting == sorted(counting, reverse=True) and not coach.started
    assert "all set: starting in 5 seconds" in run.cues
    out = run.frames(1.0, None, missing="left_wrist not visible")  # the wrist hidden: the countdown stops
    assert out[-1].auto_start_in_s is None and not coach.started
    out = run.frames(READY_S + 1.0, 40.0)  # back in place: it begins again, from the start
    assert out[-1].auto_start_in_s == pytest.approx(AUTO_START_COUNTDOWN_S - 1.0, abs=0.2)
    out = run.frames(AUTO_START_COUNTDOWN_S, 40.0)
    assert coach.started and actions(out) == [("begin_session", None), ("begin_set", 0)]
    assert "starting now" in run.cues and out[-1].auto_start_in_s is None
    assert run.frames(0.5, 40.0)[-1].state == "exercising"


ALL_SET = f"all set: starting in {AUTO_START_COUNTDOWN_S:.0f} seconds"


@pytest.mark.parametrize("cue_before", [False, True], ids=["in-place", "just-after-a-positioning-cue"])
def test_each_hands_free_countdown_is_said_as_it_begins(cue_before: bool) -> None:
    """The patient cannot see the screen from where they exercise: every countdown is spoken when it begins,
    after a cancelled one too (they left the view, or the switch went off and on) and right after a
    positioning cue, so the session never starts with only "starting now"."""
    coach = Coach([rx()], auto_start=True)
    run = Run(coach)
    if cue_before:
        run.frames(0.2, None, missing="left_wrist not visible")  # "I can't see your left wrist", said at once
        assert run.cues
    for then in ("leave", "switch", None):  # the first countdown; after leaving the view; after the switch
        out = run.frames(READY_S + 1.0, 40.0)
        first = next(o for o in out if o.auto_start_in_s is not None)
        assert first.cue == ALL_SET and first.auto_start_in_s == pytest.approx(AUTO_START_COUNTDOWN_S, abs=0.1)
        assert not coach.started
        if then == "leave":
            run.frames(1.0, None, present=False)  # gone for a moment: the countdown stops
        elif then == "switch":
            coach.auto_start = False
            run.frames(0.5, 40.0)
            coach.auto_start = True
    out = run.frames(AUTO_START_COUNTDOWN_S, 40.0)
    assert coach.started and [o.cue for o in out if o.cue] == ["starting now"]


def test_without_hands_free_start_the_session_waits_for_start() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    out = run.frames(READY_S + AUTO_START_COUNTDOWN_S + 2.0, 40.0)
    assert not coach.started and actions(out) == [] and {o.auto_start_in_s for o in out} == {None}
    coach.auto_start = True  # the page's switch, turned on while the patient is already in place
    out = run.frames(READY_S - 0.2, 40.0)  # counted from the switch: no start out of the blue
    assert {o.auto_start_in_s for o in out} == {None} and not coach.started
    out = run.frames(0.5, 40.0)
    assert out[-1].auto_start_in_s is not None and "all set: starting in 5 seconds" in run.cues
    run.frames(AUTO_START_COUNTDOWN_S, 40.0)
    assert coach.started


def test_a_view_that_reads_wrong_for_a_few_frames_is_not_a_wrong_view() -> None:
    """In bed the view estimate flips for a few frames at the bottom of each rep: the caregiver must not be
    told to move a camera that is where it should be, nor the set stop being coached. A view wrong for
    most of a second is wrong; right again, a stray wrong frame does not bring the hint back."""
    item = rx(exercise="knee_flexion", exercise_name="Knee flexion", view="side", posture="lying", mode="passive",
              target_min=90.0, target_max=130.0, safe_max=140.0, hold_s=0.0, joint="knee", reps=10)
    coach = Coach([item])
    run = Run(coach)
    run.frames(1.0, 20.0)
    coach.start()
    for _ in range(3):
        run.rep_cycle(100.0)
        run.frames(0.2, 20.0, view_ok=False)  # the bottom of the rep: 6 frames read off the side view
        run.frames(0.3, 20.0)
    hint = view_hint(item)
    assert hint not in run.cues
    assert {o.view_hint for o in run.outs} == {None}
    judged = [o.view_ok for o in run.outs]
    assert set(judged[:round(VIEW_MIN_S / DT) - 1]) == {None}  # not judged before it has been seen a moment
    assert set(judged[round(VIEW_MIN_S / DT) + 1:]) == {True}
    assert "positioning" not in {o.state for o in run.outs[35:]}
    assert run.outs[-1].rep == 3
    out = run.frames(1.5, 20.0, view_ok=False)  # the camera knocked aside: said within about a second
    assert out[-1].view_hint == hint and out[-1].view_ok is False and out[-1].state == "positioning"
    assert hint in run.cues
    first_wrong = next(i for i, o in enumerate(out) if o.view_hint)
    assert VIEW_MIN_S <= first_wrong * DT <= VIEW_WRONG_SHARE * VIEW_WINDOW_S
    out = run.frames(0.8, 20.0)  # put back
    assert out[-1].view_hint is None and out[-1].view_ok is True and out[-1].state == "exercising"
    out = run.frames(DT, 20.0, view_ok=False) + run.frames(0.3, 20.0)
    assert {o.view_hint for o in out} == {None}


def test_side_view_hint_names_the_side() -> None:
    run = Run(Coach([rx(view="side", side="right")]))
    assert run.frames(VIEW_MIN_S + 0.1, 40.0, view_ok=False)[-1].view_hint == "turn your right side to the camera"


def test_plan_progression_rest_between_exercises_then_done() -> None:
    coach = Coach([rx(reps=2), rx(exercise="elbow_flexion", exercise_name="Elbow flexion", reps=1)])
    run = Run(coach)
    run.frames(0.5)
    assert coach.start() == [("begin_session", None), ("begin_set", 0)]
    assert run.frames(0.3)[-1].state == "exercising"
    run.rep_cycle(120)
    out = run.rep_cycle(120)
    assert ("end_set", 0) in actions(out)
    assert out[-1].state == "resting" and out[-1].rest_remaining_s is not None
    assert "well done — rest a moment" in run.cues
    run.rep = 0  # the worker resets the detector when the next set begins
    out = run.frames(REST_BETWEEN_S + 0.5)
    assert ("begin_set", 1) in actions(out)
    assert coach.item.exercise == "elbow_flexion" and out[-1].plan_index == 1 and out[-1].rep == 0
    out = run.rep_cycle(120)
    assert actions(out)[-2:] == [("end_set", 1), ("end_session", "complete")]
    assert out[-1].state == "done"


def test_next_skips_and_stop_finishes() -> None:
    coach = Coach([rx(), rx(exercise="elbow_flexion")])
    run = Run(coach)
    coach.start()
    run.frames(0.5, 40)
    assert coach.next() == [("end_set", 0), ("begin_set", 1)]
    assert coach.item.exercise == "elbow_flexion"
    assert coach.stop() == [("end_set", 1), ("end_session", "complete")]
    assert coach.state == "done" and coach.stop() == []


def test_cap_on_minutes_ends_the_set() -> None:
    coach = Coach([rx(reps=10, max_minutes=0.05)])  # 3 s of exercise
    run = Run(coach)
    coach.start()
    out = run.frames(2.0, 40)
    assert not actions(out)
    out = run.frames(1.5, 40)
    assert actions(out) == [("end_set", 0), ("end_session", "complete")]


def test_cap_on_reps() -> None:
    coach = Coach([rx(reps=5, max_reps=2)])
    run = Run(coach)
    coach.start()
    run.rep_cycle(120)
    assert ("end_set", 0) in actions(run.rep_cycle(120))


def test_cues_are_rate_limited_and_numbered() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.2, 40)
    # a stall below the band: "a little higher", then the view goes wrong right after: held back
    run.frames(1.0, 60, rep_state="at_peak")
    run.frames(0.5, 60, view_ok=False)
    said = [(o.cue, o.cue_id) for o in run.outs if o.cue]
    assert [c for c, _ in said] == ["a little higher"]
    run.frames(CUE_INTERVAL_S, 60, view_ok=False)
    said = [(o.cue, o.cue_id, i) for i, o in enumerate(run.outs) if o.cue]
    assert [c for c, _, _ in said] == ["a little higher", "face the camera"]
    assert said[1][1] == said[0][1] + 1  # cue_id increases with each new cue
    assert (said[1][2] - said[0][2]) * DT >= CUE_INTERVAL_S - DT
    assert all(o.cue_id == said[-1][1] for o in run.outs[said[-1][2]:])  # the page speaks each cue once


def test_stop_needs_the_unsmoothed_angle_above_safe_max_for_a_few_frames() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    # one or two wild raw frames: no stop
    out = run.frames(2 * DT, 140, raw=175)
    assert all(o.zone != "above_safe_max" for o in out) and "stop, come back down" not in run.cues
    run.frames(0.1, 140, raw=140)
    # the filtered angle lags under safe_max, the raw one is past it: stop after 3 frames, at once
    run.frames(0.2, 150, raw=150)
    out = run.frames(3 * DT, 152, raw=165)
    assert [o.zone for o in out][-1] == "above_safe_max" and out[-1].cue == "stop, come back down"
    assert out[0].zone != "above_safe_max"
    assert run.cues.count("stop, come back down") == 1  # not repeated every frame
    # back down under the limit, then over it again: said again, with no rate limit
    run.frames(0.3, 120, raw=120)
    out = run.frames(4 * DT, 170, raw=170)
    assert run.cues.count("stop, come back down") == 2


def test_slow_down_within_the_measurement_noise_of_safe_max() -> None:
    coach = Coach([rx(noise_deg=9.0, safe_noise_deg=4.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 100)
    run.frames(0.2, 150, raw=155)  # 5° under safe_max: more than the noise
    assert "slow down" not in run.cues
    out = run.frames(DT, 157, raw=157)  # within 4° of 160
    assert out[-1].cue == "slow down"


def test_never_urges_past_target_max() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    run.frames(2.0, 155, rep_state="at_peak")  # above the band, stalled
    run.frames(2.0, 120, rep_state="at_peak")  # in the band, stalled
    assert not any("higher" in c for c in run.cues)
    assert "good, lower slowly" in run.cues


def test_hold_countdown_in_the_band() -> None:
    coach = Coach([rx(hold_s=2.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    out = run.frames(1.0, 120, rep_state="at_peak")
    assert out[-1].state == "holding" and out[-1].hold_s == pytest.approx(1.0, abs=0.1)
    assert "hold" in run.cues
    out = run.frames(1.2, 120, rep_state="at_peak")
    assert out[-1].hold_s >= 2.0 and run.cues[-1] == "good, lower slowly"


def test_declining_peaks_offer_rest_and_stop_asking_for_higher() -> None:
    coach = Coach([rx(reps=10, target_min=130.0, noise_deg=3.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    for peak in (125.0, 121.0):
        run.rep_cycle(peak, hold=1.0)
    assert "a little higher" in run.cues and "rest a moment" not in run.cues
    out = run.rep_cycle(117.0, hold=1.0)  # 125 → 117: 8° over 3 reps, more than the 3° noise
    assert "rest a moment" in [o.cue for o in out]
    resting = [o for o in out if o.state == "resting"]
    assert resting and resting[-1].fatigued
    coach.resume()  # done resting
    n = len(run.cues)
    run.frames(0.3, 40)
    run.rep_cycle(110.0, hold=2.0)
    assert "a little higher" not in run.cues[n:]


def test_steady_peaks_within_noise_do_not_offer_rest() -> None:
    coach = Coach([rx(reps=10, noise_deg=3.0)])
    run = Run(coach)
    coach.start()
    for peak in (125.0, 124.0, 123.0, 122.5):  # falls 2.5°: within the noise
        run.rep_cycle(peak)
    assert "rest a moment" not in run.cues


def test_without_a_prescription_it_only_measures() -> None:
    coach = Coach([PlanItem(exercise="shoulder_abduction", side="left")])
    run = Run(coach)
    coach.start()
    for peak in (60.0, 50.0, 40.0, 30.0):
        run.rep_cycle(peak, hold=1.5)
    assert not any("higher" in c or "rest" in c or "good" in c for c in run.cues)
    assert {o.zone for o in run.outs} == {"unknown"}
    assert run.outs[-1].rep == 4 and run.outs[-1].state == "exercising"  # no reps target: no end


def test_hidden_joint_is_said() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    out = run.frames(1.5, None, missing="left_wrist not visible")
    assert "I can't see your wrist" in run.cues
    assert out[-1].missing == "left_wrist not visible" and out[-1].zone == "unknown"
    assert missing_cue("right_foot_index not visible", rx()) == "I can't see your foot"
    assert missing_cue("mouth_right not visible", rx()) == "I can't see your mouth"
    assert missing_cue("left_eye_outer not visible", rx()) == "I can't see your eye"
    assert missing_cue("face misplaced: the neck would be at 80°", rx()) == "I can't see your face"


def test_leaving_the_frame_pauses_and_coming_back_resumes() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.5, 40)
    out = run.frames(LEAVE_PAUSE_S - 0.3, None, present=False)
    assert out[-1].state != "paused"
    out = run.frames(0.5, None, present=False)
    assert out[-1].state == "paused" and out[-1].auto_paused, "the page says it resumes by itself"
    # said aloud, once: the patient who stepped away (or whom the camera lost) is not looking at the screen
    assert [o.cue for o in out if o.cue] == ["paused: I can't see you"]
    assert [o.cue for o in run.frames(3.0, None, present=False) if o.cue] == []
    out = run.frames(BACK_RESUME_S + 0.2, 40)
    assert out[-1].state == "exercising" and not out[-1].auto_paused
    assert [o.cue for o in out if o.cue] == ["welcome back"]


def test_in_passive_mode_a_pause_out_of_view_is_said_to_the_caregiver() -> None:
    coach = Coach([rx(mode="passive")])
    run = Run(coach)
    coach.start()
    run.frames(0.5, 40)
    out = run.frames(LEAVE_PAUSE_S + 0.2, None, present=False)
    assert [o.cue for o in out if o.cue] == ["paused: the patient is out of view"]


def test_manual_pause_waits_for_resume_and_rest_on_request() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    coach.pause()
    paused = run.frames(3.0, 40)[-1]
    assert paused.state == "paused" and not paused.auto_paused, "a pause pressed waits for Resume"
    coach.resume()
    assert run.frames(0.2, 40)[-1].state == "exercising"
    coach.rest()
    out = run.frames(1.0, 40)
    assert out[-1].state == "resting" and "rest a moment" in run.cues


def test_source_lost_and_back() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    coach.source_lost()
    assert coach.state == "source_lost"
    out = run.frames(0.1, 40)
    assert out[-1].state in ("positioning", "exercising")
    # the page said aloud that the camera stopped; a patient not looking at it hears that it is back
    assert [o.cue for o in out if o.cue] == ["the camera is back"]


def test_a_camera_back_before_start_is_not_announced() -> None:
    coach = Coach([rx()])
    run = Run(coach)
    run.frames(0.3, 40)
    coach.source_lost()
    assert [o.cue for o in run.frames(0.5, 40) if o.cue] == []


@pytest.mark.parametrize("level, expected", [(0, 0.0), (30, 30 / 255), (255, 1.0)])
def test_scene_light_is_the_mean_luma(level: int, expected: float) -> None:
    import numpy as np

    from romcam.live.capture import scene_light

    frame = np.full((480, 640, 3), level, dtype=np.uint8)
    assert scene_light(frame) == pytest.approx(expected, abs=1e-6)


def test_passive_mode_cues_speak_to_the_caregiver_with_numbers() -> None:
    coach = Coach([rx(mode="passive", target_min=110.0, hold_s=5.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 40)
    run.frames(2.0, 95, rep_state="at_peak")  # stalled short of the band
    assert "move slowly to 110°" in run.cues and not any("higher" in c for c in run.cues)
    run.frames(1.0, 120, rep_state="at_peak")  # into the band: "hold" at once
    assert "hold 5 seconds" in run.cues
    run.frames(0.2, 150, raw=150)
    out = run.frames(4 * DT, 165, raw=165)  # past the safe maximum
    assert out[-1].zone == "above_safe_max" and "stop: this is the PT's safe maximum" in run.cues
    run.frames(0.3, 100, raw=100)
    run.frames(3.0, None, missing="left_wrist not visible")  # after the rate limit's 2.5 s
    assert "I can't see the wrist: go by feel" in run.cues


@pytest.mark.parametrize("cue, expected", [
    ("a little higher", "move slowly to 90°"),
    ("hold", "hold"),  # no hold prescribed
    ("good, lower slowly", "good, bring it back slowly"),
    ("slow down", "slow down: nearly at the PT's safe maximum"),
    ("face the camera", "face the camera"),  # positioning is for whoever is in the picture
    ("welcome back", "the patient is in view again"),  # "welcome back" was said to the caregiver
])
def test_phrase_in_passive_mode(cue: str, expected: str) -> None:
    from romcam.live.coach import phrase

    assert phrase(cue, rx(mode="passive")) == expected
    assert phrase(cue, rx(mode="active")) == cue  # the patient moving alone hears the plain cue


@pytest.mark.parametrize("exercise", [m.id for m in default_catalog()])
def test_the_safe_limit_uses_the_noise_of_the_high_end_of_the_range(exercise: str) -> None:
    """safe_max sits at the high end of the range: for knee extension (which works the low end) that is
    the other end of its reps, with its own noise (the catalog's return_noise_deg), not the peaks'."""
    m = get_motion(exercise)
    item = measure_only(exercise, "left")
    assert item.noise_deg == m.measurement_noise_deg
    assert item.safe_noise_deg == (m.measurement_noise_deg if m.works == "max" else m.return_noise_deg)


@pytest.mark.parametrize("exercise", [m.id for m in default_catalog()])
def test_in_passive_mode_the_instructions_tell_the_caregiver_how_to_move_the_limb(exercise: str) -> None:
    """The caregiver moves the patient's limb: "Side to the camera. Bend the knee to bring the heel toward
    you" is the patient's own text, and says where the camera goes, which the posture's setup says."""
    m = get_motion(exercise)
    posture = m.postures[0] if m.postures else None
    active, passive = measure_only(exercise, "left", posture=posture), measure_only(exercise, "left", mode="passive",
                                                                                     posture=posture)
    assert active.instructions == m.instructions
    assert passive.instructions == m.caregiver_instructions != m.instructions
    assert "camera" not in passive.instructions.lower() and "toward you" not in passive.instructions


# --- the safe minimum: the PT's limit at the low end (knee extension's over-straightening) -----------------

def knee_ext(**kw: object) -> PlanItem:
    """Seated knee extension works the low end: 0° is straight, the rep starts bent (about 90°)."""
    base = dict(exercise="knee_extension", side="left", exercise_name="Knee extension (seated)", works="min",
                view="side", posture="seated", joint="knee", target_min=5.0, target_max=40.0, safe_max=100.0,
                safe_min=0.0, reps=10, hold_s=0.0, noise_deg=4.0, safe_noise_deg=6.0, safe_min_noise_deg=4.0)
    return PlanItem(**(base | kw))  # type: ignore[arg-type]


def test_stop_needs_the_unsmoothed_angle_below_safe_min_for_a_few_frames() -> None:
    coach = Coach([knee_ext()])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 80)
    out = run.frames(2 * DT, 15, raw=-20)  # one or two wild raw frames: no stop
    assert all(o.zone != "below_safe_min" for o in out) and "stop, ease it back" not in run.cues
    run.frames(0.2, 20, raw=20)
    # the filtered angle lags above safe_min, the raw one is past it: stop on the third frame, at once
    out = run.frames(3 * DT, 8, raw=-3)
    assert [o.zone for o in out] == ["in_target", "in_target", "below_safe_min"]
    assert out[-1].cue == "stop, ease it back" and out[-1].state == "exercising"
    run.frames(0.5, 2, raw=-2)
    assert run.cues.count("stop, ease it back") == 1  # not repeated every frame
    # back inside the limit by less than the low end's noise (4°): the stop holds, nothing else is said
    out = run.frames(0.3, 3, raw=3)
    assert all(o.cue is None for o in out)
    run.frames(0.3, 30, raw=30)  # well back: over
    run.frames(4 * DT, -6, raw=-6)  # past it again: said again, with no rate limit
    assert run.cues.count("stop, ease it back") == 2


def test_slow_down_within_the_noise_of_the_low_end_of_safe_min() -> None:
    """The slow-down comes within the noise of the end the limit sits at (``safe_min_noise_deg``), not the
    high end's (``safe_noise_deg``, 10° here)."""
    coach = Coach([knee_ext(safe_noise_deg=10.0, safe_min_noise_deg=4.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 80)
    run.frames(0.3, 10, raw=7)  # 7° above safe_min: more than the noise
    assert "slow down" not in run.cues
    out = run.frames(DT, 6, raw=3.5)  # within 4° of 0 (the filtered angle lags, in the band)
    assert out[-1].cue == "slow down" and out[-1].zone == "in_target"
    run.frames(0.3, 4, raw=3.5)
    assert run.cues.count("slow down") == 1  # once while it stays there
    run.frames(0.3, 20, raw=20)  # back past twice the noise: a later approach is said again
    run.frames(DT, 2, raw=2)
    assert run.cues.count("slow down") == 2


def test_a_knee_extension_without_safe_min_is_not_stopped_at_the_low_end() -> None:
    coach = Coach([knee_ext(safe_min=None)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 80)
    out = run.frames(0.5, -10, raw=-10)
    assert all(o.zone == "below" for o in out)
    assert not any(c.startswith("stop") or c.startswith("slow down") for c in run.cues), run.cues


def test_both_limits_guard_one_set() -> None:
    """A set with both limits is stopped at either end, each in its own words."""
    coach = Coach([knee_ext(safe_max=100.0, safe_min=0.0)])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 80)
    assert run.frames(4 * DT, 105, raw=105)[-1].zone == "above_safe_max"
    run.frames(0.5, 60, raw=60)
    assert run.frames(4 * DT, -5, raw=-5)[-1].zone == "below_safe_min"
    assert [c for c in run.cues if c.startswith("stop")] == ["stop, come back down", "stop, ease it back"]


def test_passive_safe_min_cues_speak_to_the_caregiver() -> None:
    coach = Coach([knee_ext(mode="passive")])
    run = Run(coach)
    coach.start()
    run.frames(0.3, 80)
    run.frames(DT, 6, raw=3)
    assert run.cues[-1] == "slow down: nearly at the PT's safe minimum"
    out = run.frames(3 * DT, 0, raw=-4)
    assert out[-1].zone == "below_safe_min" and out[-1].cue == "stop: this is the PT's safe minimum"


@pytest.mark.parametrize("cue, active, passive", [
    ("slow down near the safe minimum", "slow down", "slow down: nearly at the PT's safe minimum"),
    ("stop, ease it back", "stop, ease it back", "stop: this is the PT's safe minimum"),
    ("slow down", "slow down", "slow down: nearly at the PT's safe maximum"),
    ("stop, come back down", "stop, come back down", "stop: this is the PT's safe maximum"),
])  # fmt: skip
def test_the_safety_words_name_the_limit(cue: str, active: str, passive: str) -> None:
    from romcam.live.coach import phrase

    assert (phrase(cue, knee_ext()), phrase(cue, knee_ext(mode="passive"))) == (active, passive)


@pytest.mark.parametrize("exercise", [m.id for m in default_catalog()])
def test_the_safe_minimum_uses_the_noise_of_the_low_end_of_the_range(exercise: str) -> None:
    """safe_min sits at the low end of the range: the end a knee extension works (its peaks' noise), the end
    the flexions start and return at for the others (the catalog's return_noise_deg)."""
    m = get_motion(exercise)
    item = measure_only(exercise, "left")
    assert item.safe_min_noise_deg == (m.return_noise_deg if m.works == "max" else m.measurement_noise_deg)
    assert item.safe_min is None  # measure only: no limits


def test_the_frame_event_and_the_plan_carry_safe_min() -> None:
    from romcam.live.events import FRAME_FIELDS, frame_event

    item = knee_ext(safe_min=-2.0)
    coach = Coach([item])
    coach.start()
    out = coach.update(FrameInput(t=0.1, angle=30.0, raw=30.0, has_subject=True))
    ev = frame_event(t=0.1, item=item, angle=30.0, confidence=0.9, view_ok=True, out=out, demo=False,
                     effective_fps=30.0)
    assert "safe_min" in FRAME_FIELDS and set(FRAME_FIELDS) <= set(ev)
    assert (ev["safe_min"], ev["safe_max"], ev["zone"]) == (-2.0, 100.0, "in_target")
    assert item.to_dict()["safe_min"] == -2.0


def test_a_knee_extension_is_coached_toward_its_band_from_above_never_past_it() -> None:
    """Knee extension works the low end: resting bent (above the band) is short of it, not a reached target;
    below target_min is past the band, toward the safe minimum: never "a little further" there."""
    coach = Coach([knee_ext(safe_min=-5.0)])
    run = Run(coach)
    coach.start()
    run.frames(3.0, 80)  # resting, bent
    assert run.cues == []
    run.frames(0.5, 60, rep_state="moving_out")
    run.frames(3.0, 50, rep_state="at_peak")  # stalled short of the band (5°-40°)
    assert run.cues == ["a little further"]
    run.frames(0.5, 60, rep_state="returning")
    run.frames(1.0, 80)
    run.frames(0.5, 40, rep_state="moving_out")
    run.frames(4.0, 2, rep_state="at_peak")  # stalled past target_min, 7° from safe_min
    assert "a little further" not in run.cues[1:] and "good, lower slowly" in run.cues, run.cues
