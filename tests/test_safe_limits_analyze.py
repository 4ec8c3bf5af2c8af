"""An analysis knows the PT's safe limits (issue 6): each rep that went past the safe maximum or the safe
minimum is flagged in the result document (``past_safe``) and said in the summary, to the caregiver in
passive mode (as the live coach's "stop: this is the PT's safe maximum") and to the patient otherwise, for
exercises that work the high end and the low end. On constructed reps: no video. The command's flags:
tests/test_cli_safe_limits.py."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from romcam import analysis
from romcam.analysis import Analysis
from romcam.catalog import get_motion
from romcam.measure import Sample
from romcam.report import caregiver_lines, summary_text
from romcam.reps import Rep
from romcam.session_doc import SessionDoc, from_analysis


@pytest.mark.parametrize("max_angle, min_angle, safe_max, safe_min, expected", [
    (125.0, 10.0, 120.0, None, "max"),    # above the safe maximum
    (120.0, 10.0, 120.0, None, None),     # at it: not past it
    (110.0, -8.0, 120.0, -5.0, "min"),    # below the safe minimum (a knee over-straightened)
    (125.0, -8.0, 120.0, -5.0, "both"),
    (125.0, -8.0, None, None, None),      # no limits given: nothing to check
    (None, None, 120.0, -5.0, None),      # nothing measured
])  # fmt: skip
def test_past_safe_checks_both_ends(max_angle, min_angle, safe_max, safe_min, expected) -> None:
    assert analysis.past_safe(max_angle, min_angle, safe_max=safe_max, safe_min=safe_min) == expected


def _rep(start: float, low: float, high: float) -> Rep:
    """A rep 2 s long from ``start`` whose extremes are ``low`` and ``high`` (the peak is the worked one)."""
    return Rep(start=start, peak=start + 1.0, end=start + 2.0, max_angle=high, min_angle=low, hold_s=0.0,
               partial=False, below_target=False)


def _analysis(exercise: str, reps: list[Rep], *, mode: str, safe_max: float | None, safe_min: float | None,
              extra: tuple[float, ...] = ()) -> Analysis:
    """An analysis of ``reps`` (constructed, no video): its signal holds every rep's extremes, and ``extra``
    angles measured outside the reps."""
    # each rep measured on samples of its own time (its start and end at its low, its peak at its high: an uploaded
    # rep lies within its samples and reaches its peak in them), ``extra`` after the last rep
    timed = [(t, v) for r in reps for t, v in ((r.start, r.min_angle), (r.peak, r.max_angle), (r.end, r.min_angle))]
    after = max((r.end for r in reps), default=0.0)
    timed += [(after + (k + 1) / 10.0, v) for k, v in enumerate(extra)]
    values = [v for _, v in timed]
    samples = [Sample(i, t, v, 0.9, True, 0.0, None) for i, (t, v) in enumerate(timed)]
    return Analysis(motion=get_motion(exercise), side="left", video="constructed.mp4", fps=10.0,
                    frames=len(samples), samples=samples, smoothed=np.array(values, dtype=float), reps=reps,
                    mode=mode, safe_max=safe_max, safe_min=safe_min)


def test_a_shoulder_raised_past_the_safe_maximum_is_flagged_for_the_caregiver() -> None:
    """works = "max": the rep whose top went above the safe maximum, and only it."""
    reps = [_rep(0, 8, 115), _rep(3, 9, 126), _rep(6, 8, 118)]
    a = _analysis("shoulder_abduction", reps, mode="passive", safe_max=120, safe_min=None)
    doc = a.to_document()
    assert [r["past_safe"] for r in doc["reps"]] == [None, "max", None]
    assert (doc["safe_max"], doc["safe_min"], doc["past_safe"]) == (120, None, "max")
    lines = caregiver_lines(a)
    assert ("  for the caregiver: repetition 2 went past the PT's safe maximum of 120°: stop there next time"
            in lines), lines
    rows = [line for line in summary_text(a).splitlines() if line.strip().startswith(("1 ", "2 ", "3 "))]
    assert ["past the PT's safe maximum" in row for row in rows] == [False, True, False], rows


def test_a_knee_extension_bent_back_past_the_safe_maximum_is_flagged_for_the_patient() -> None:
    """works = "min": a seated knee extension rests bent, so its safe maximum guards where each rep starts
    and ends (rep 1 came back bent to 108°); its optional safe minimum guards over-straightening (rep 3)."""
    reps = [_rep(0, 4, 108), _rep(3, 5, 92), _rep(6, -9, 90)]
    a = _analysis("knee_extension", reps, mode="active", safe_max=100, safe_min=-5)
    doc = a.to_document()
    assert [r["past_safe"] for r in doc["reps"]] == ["max", None, "min"]
    assert doc["past_safe"] == "both"
    text = summary_text(a)
    assert "  safe limits: maximum 100°, minimum -5°" in text, text
    assert ("  for you: repetition 1 went past your safe limit of 100° (the PT's safe maximum): bend it back no "
            "further than that next time") in text, text
    assert ("  for you: repetition 3 went past your safe limit of -5° (the PT's safe minimum): stop there next "
            "time") in text, text
    assert "for the caregiver" not in text


def test_a_knee_bent_past_the_safe_maximum_outside_every_rep_is_said_too() -> None:
    """The patient's safety: a bend past the limit at rest, in no rep, is still said (no rep is flagged)."""
    reps = [_rep(0, 4, 92), _rep(3, 5, 91)]
    a = _analysis("knee_extension", reps, mode="passive", safe_max=100, safe_min=None, extra=(112.0,))
    assert [r["past_safe"] for r in a.to_document()["reps"]] == [None, None]
    assert a.to_document()["past_safe"] == "max"
    assert ("  for the caregiver: the movement went past the PT's safe maximum of 100° outside the counted "
            "repetitions: bend it back no further than that next time") in caregiver_lines(a)


@pytest.mark.parametrize("exercise, reps, target, safe_max, safe_min, said", [
    # a shoulder short of its target: the limit on the way there is the safe maximum, with its number
    ("shoulder_abduction", [(8, 100), (9, 104)], 110, 120, None, "never past the PT's safe maximum of 120°"),
    # a knee extension short of straight: on the way there the limit is the safe minimum, when there is one
    ("knee_extension", [(12, 90), (14, 91)], 5, 100, -5, "never past the PT's safe minimum of -5°"),
    # ... and with none, not the safe maximum, which guards the bent end
    ("knee_extension", [(12, 90), (14, 91)], 5, 100, None, "never forcing it"),
])  # fmt: skip
def test_a_rep_short_of_the_target_is_told_the_limit_on_the_way_there(exercise, reps, target, safe_max, safe_min,
                                                                     said) -> None:
    works = get_motion(exercise).works
    built = [Rep(start=3.0 * i, peak=3.0 * i + 1, end=3.0 * i + 2, max_angle=hi, min_angle=lo, hold_s=0.0,
                 partial=False, below_target=(hi < target) if works == "max" else (lo > target))
             for i, (lo, hi) in enumerate(reps)]
    a = _analysis(exercise, built, mode="passive", safe_max=safe_max, safe_min=safe_min)
    a.target = target
    [short] = [line for line in caregiver_lines(a) if "stopped short" in line]
    assert short.endswith(f"if it is comfortable, {said}"), short


def test_the_caregivers_lines_number_the_reps_as_the_table_does() -> None:
    """A passive set whose first rep the video cut off (partial): the caregiver's lines name the reps by the
    table's numbers, so "repetition 4 stopped short" is the row that reached 97°, not rep 3 (128°)."""
    def rep(i: int, high: float, *, partial: bool = False, seen: bool = True) -> Rep:
        return Rep(start=3.0 * i, peak=3.0 * i + 1, end=3.0 * i + 2, max_angle=high, min_angle=-10.0, hold_s=0.0,
                   partial=partial, below_target=None if not seen else high < 100, peak_seen=seen)

    reps = [rep(0, 46.0, partial=True), rep(1, 136.0), rep(2, 90.0, seen=False), rep(3, 97.0)]
    a = _analysis("shoulder_flexion", reps, mode="passive", safe_max=160, safe_min=None)
    a.target = 100
    text = summary_text(a)
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()[:1].isdigit()}
    assert "short of target" in rows["4"] and "short of target" not in rows["3"], rows
    assert "furthest point not seen" in rows["3"], rows
    lines = caregiver_lines(a)
    assert any(line.startswith("  for the caregiver: repetition 4 stopped short of 100°") for line in lines), lines
    assert any("out of view at the furthest point of repetition 3," in line for line in lines), lines


@pytest.mark.parametrize("exercise, target, said", [
    ("knee_flexion", 90, "  target: 90° (reps below it are flagged short of the target)"),
    ("knee_extension", 5, "  target: 5° (reps above it are flagged short of the target)"),  # works the low end
])
def test_the_target_line_says_what_it_judges_not_the_plans_whole_range(exercise, target, said) -> None:
    """Filed under a plan of 90° to 120°, analyze judges the reps against 90°: "target: 90°" alone reads as the
    PT's target, so the line says what it flags."""
    a = _analysis(exercise, [_rep(0, 4, 100)], mode="active", safe_max=None, safe_min=None)
    a.target = target
    assert said in summary_text(a).splitlines()


def test_within_the_limits_nothing_is_flagged() -> None:
    reps = [_rep(0, 4, 92), _rep(3, 5, 91)]
    a = _analysis("knee_extension", reps, mode="passive", safe_max=100, safe_min=-5)
    doc = a.to_document()
    assert [r["past_safe"] for r in doc["reps"]] == [None, None] and doc["past_safe"] is None
    assert "went past" not in summary_text(a)


def test_the_flag_is_accepted_in_a_session_but_neither_stored_nor_hashed() -> None:
    """A set is the analyze document: its reps' ``past_safe`` must not make it invalid, nor change the hash
    of a document that does not carry it (re-sending a stored session stays a no-op)."""
    reps = [_rep(0, 8, 115), _rep(3, 9, 126)]
    a = _analysis("shoulder_abduction", reps, mode="active", safe_max=120, safe_min=None)
    with_flag = from_analysis(a.to_document(), patient_id=uuid.uuid4(), session_id=uuid.uuid4())
    without = json.loads(json.dumps(with_flag))
    for r in without["sets"][0]["reps"]:
        del r["past_safe"]
    assert SessionDoc.model_validate(with_flag).sha256() == SessionDoc.model_validate(without).sha256()


def test_the_caregivers_lines_give_the_target_as_the_pt_set_it() -> None:
    """The PT's target of 92.5° (a half degree, as the dashboard stores and shows it): the caregiver read "repetition
    1 stopped short of 92°" of a rep the table shows at 92°, and "move slowly to 92°" — a target the PT never set
    and a rep that seems to have reached it. The caregiver's lines give the target as the summary's "target:" line
    does, 92.5°."""
    def rep(i: int, high: float, *, seen: bool = True) -> Rep:
        return Rep(start=3.0 * i, peak=3.0 * i + 1, end=3.0 * i + 2, max_angle=high, min_angle=10.0, hold_s=0.0,
                   partial=False, below_target=(high < 92.5) if seen else None, peak_seen=seen)

    a = _analysis("shoulder_abduction", [rep(0, 92.3), rep(1, 95.0), rep(2, 80.0, seen=False)], mode="passive",
                  safe_max=150, safe_min=None)
    a.target = 92.5
    text = summary_text(a)
    assert "  target: 92.5° (reps below it are flagged short of the target)" in text.splitlines()
    assert [line for line in caregiver_lines(a) if "92" in line] == [
        "  for the caregiver: repetition 1 stopped short of 92.5° — next time move slowly to 92.5° if it is "
        "comfortable, never past the PT's safe maximum of 150°",
        "  for the caregiver: the shoulder was out of view at the furthest point of repetition 3, so romcam could "
        "not check it reached 92.5° — keep your hands off the joint, on the side away from the camera"]
    a.reps = [rep(0, 93.0), rep(1, 95.0)]
    assert "  for the caregiver: every repetition reached 92.5°" in caregiver_lines(a)


@pytest.mark.parametrize("mode, posture, said", [
    ("passive", "seated",
     "Shoulder abduction, left side, passive (a caregiver moved the limb), seated — constructed.mp4"),
    ("active_assisted", None, "Shoulder abduction, left side, active-assisted — constructed.mp4"),
    ("active", "standing", "Shoulder abduction, left side, active, standing — constructed.mp4"),
])  # fmt: skip
def test_the_summary_says_who_moved_the_limb_and_how_the_patient_was_placed(mode, posture, said) -> None:
    """The summary's first line said "Shoulder abduction, left side — video.mp4" whatever the mode: a PT reading a
    passive set's numbers could not tell a caregiver moved the limb (the session page's title says "passive,
    seated", the CSV and FHIR say the mode). It says the mode, and the posture when given."""
    a = _analysis("shoulder_abduction", [_rep(0, 10, 95)], mode=mode, safe_max=None, safe_min=None)
    a.posture = posture
    assert summary_text(a).splitlines()[0] == said
