"""A fast subset of the accuracy benchmark (one motion per plane), kept in `make test` so a change
that makes romcam less accurate fails here, not only in `make bench-accuracy`."""

from __future__ import annotations

import pytest

from benchmarks.accuracy import Case, run_case


@pytest.mark.parametrize(
    "case",
    [
        Case("shoulder_flexion", "right", "standing", 0.0),  # sagittal plane, side view
        Case("shoulder_abduction", "left", "seated", 0.0),  # frontal plane, front view
        Case("knee_flexion", "left", "standing", 0.0),  # a limb's own plane, side view
        Case("shoulder_external_rotation", "left", "seated", 0.0),  # across a bone pointing at the camera
    ],
    ids=lambda c: c.label,
)
def test_benchmark_targets_hold(case: Case) -> None:
    row = run_case(case)
    assert row.detected_pct >= 98.0
    assert row.view_ok_pct >= 80.0
    assert row.mae <= 4.0
    assert row.p95 <= 8.0
    assert row.peak_err_max <= 5.0
    assert (row.reps_found, row.reps_invented) == (row.reps_true, 0)


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
