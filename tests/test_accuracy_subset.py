"""A fast subset of the accuracy benchmark (one motion per plane), kept in `make test` so a change
that makes romcam less accurate fails here, not only in `make bench-accuracy`."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.accuracy import Case, Row, run_case


def _meets_targets(row: Row) -> None:
    """Issue 3's targets for a clip in the required view."""
    assert row.detected_pct >= 98.0
    assert row.mae <= 4.0
    assert row.p95 <= 8.0
    assert row.peak_err_max <= 5.0
    assert (row.reps_found, row.reps_invented) == (row.reps_true, 0)


@pytest.mark.parametrize(
    "case",
    [
        Case("shoulder_flexion", "right", "standing", 0.0),  # sagittal plane, side view
        Case("shoulder_abduction", "left", "seated", 0.0),  # frontal plane, front view
        Case("knee_flexion", "left", "standing", 0.0),  # a limb's own plane, side view
        # across a bone pointing at the camera: 6.0° mean error while the end-on direction was a line fitted
        # through shoulder, elbow and wrist (the seated clip, 1.8° then, misses its 95th percentile now:
        # benchmarks/results/accuracy.md, docs/angles.md)
        Case("shoulder_external_rotation", "left", "standing", 0.0),
    ],
    ids=lambda c: c.label,
)
def test_benchmark_targets_hold(case: Case) -> None:
    row = run_case(case)
    assert row.view_ok_pct >= 80.0
    _meets_targets(row)


@pytest.mark.parametrize(
    "case",
    [
        Case("shoulder_flexion", "left", "standing", 30.0),
        Case("hip_flexion", "left", "standing", 30.0),  # the hips' depth alone let this pass as a side view
    ],
    ids=lambda c: c.label,
)
def test_thirty_degrees_off_view_is_flagged_and_still_close(case: Case) -> None:
    row = run_case(case)
    assert row.view_ok_pct < 50.0
    assert row.mae <= 8.0


def test_a_leg_drawn_through_empty_space_is_not_measured() -> None:
    """Seated with the leg held out straight, the model draws the procedural figure's near shin bent down
    to the floor through empty space, with high visibility, while its own person mask keeps the leg where
    it is (``Pose.support``). Those frames are refused ("I can't see your ankle"), not measured: before
    the mask was read, this clip's mean error was 15.7°, its 95th percentile 46.7°, with a rep invented."""
    row = run_case(Case("knee_extension", "left", "seated", 0.0))
    assert row.detected_pct >= 98.0
    assert row.measured_pct < row.detected_pct - 20.0  # the phantom shins are left unmeasured
    assert row.mae <= 5.0
    assert row.p95 <= 12.0
    assert (row.reps_found, row.reps_invented) == (row.reps_true, 0)
    # the straightened knee is among the frames left unmeasured: each rep says its furthest point was not
    # seen (the angle it gives is a bound), instead of reporting 45° as an extension deficit
    assert row.peaks_seen == [False] * row.reps_true


MAKEHUMAN = Path(__file__).resolve().parents[2] / "shared" / "media" / "makehuman"
needs_makehuman = pytest.mark.skipif(
    not (MAKEHUMAN / "base.obj").is_file(),
    reason=f"MakeHuman CC0 assets absent: {MAKEHUMAN} (the MakeHuman body needs ../shared/media)")


@needs_makehuman
def test_the_thighs_outline_reads_hip_flexion_where_the_hip_landmark_sits_high(monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    """On the MakeHuman body the model puts the hip landmark above the hip joint, and the thigh drawn from
    it reads hip flexion low: on the landmarks alone this clip's mean error was 5.7°, its peaks 8.4° short.
    Measured on the thigh's long axis in the person mask (romcam/limb_axes.py), it meets the targets."""
    monkeypatch.setenv("ROMCAM_MAKEHUMAN", str(MAKEHUMAN))
    row = run_case(Case("hip_flexion", "left", "standing", 0.0, "makehuman"))
    _meets_targets(row)


@needs_makehuman
def test_the_shin_reads_knee_flexion_where_the_knee_landmark_sits_behind(monkeypatch: pytest.MonkeyPatch
                                                                          ) -> None:
    """On the MakeHuman body the model puts the knee landmark at the back of the bent knee, and the shank
    drawn from it reads knee flexion low: with the thigh on its outline and the shank on the landmarks this
    clip's mean error was 3.5°, its worst peak 5.3° short. Measured along the shin, the shank's front edge in
    the person mask (romcam/limb_axes.py), it meets the targets."""
    monkeypatch.setenv("ROMCAM_MAKEHUMAN", str(MAKEHUMAN))
    row = run_case(Case("knee_flexion", "left", "standing", 0.0, "makehuman"))
    _meets_targets(row)


def test_the_foot_is_measured_along_its_sole() -> None:
    """On the procedural figure the model's toe landmark sits above the shoe's sole and the heel → toe line
    follows the foot only part of the way: on the landmarks alone this clip's mean error was 5.0°, its
    95th percentile 9.2°. Measured along the sole's edge in the person mask (romcam/limb_axes.py), it
    meets the targets."""
    row = run_case(Case("ankle_dorsiflexion", "right", "standing", 0.0))
    _meets_targets(row)


@needs_makehuman
def test_the_sole_reads_a_foot_facing_image_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MakeHuman body seated, knee bent, its left foot seen facing the left of the picture, which the
    model follows worse: on the landmarks alone this clip's mean error was 4.4°, its 95th percentile 9.9°
    and its worst peak 9.3° off. Along the sole it meets the targets."""
    monkeypatch.setenv("ROMCAM_MAKEHUMAN", str(MAKEHUMAN))
    row = run_case(Case("ankle_dorsiflexion_knee_bent", "left", "seated", 0.0, "makehuman"))
    _meets_targets(row)
