"""End to end on real pixels: a rendered patient with known angles, real MediaPipe, `romcam analyze`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from romcam.catalog import get_motion
from romcam.cli import main
from romcam.render import truth_path


def test_analyze_finds_every_rep_and_each_peak(demo_clip: Path, tmp_path: Path, capsys) -> None:
    truth = json.loads(truth_path(demo_clip).read_text())
    out_json, out_csv = tmp_path / "a.json", tmp_path / "a.csv"
    rc = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left",
               "--json", str(out_json), "--csv", str(out_csv)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out_json.read_text())

    assert doc["exercise"] == "shoulder_abduction" and doc["side"] == "left"
    assert doc["fps"] == pytest.approx(15.0)
    assert doc["frames"] == len(truth["times"]) == len(doc["samples"])
    assert doc["frames_with_subject"] >= 0.98 * doc["frames"]
    assert doc["view_ok_fraction"] >= 0.9
    # t is the frame's own time in the video
    assert [s["t"] for s in doc["samples"][:3]] == pytest.approx(truth["times"][:3], abs=1e-3)

    true_reps, reps = truth["reps"], doc["reps"]
    assert len(reps) == len(true_reps) == 3
    for rep, true in zip(reps, true_reps, strict=True):
        assert not rep["partial"]
        assert rep["max_angle"] == pytest.approx(true["max_angle"], abs=10.0)
        assert rep["peak"] == pytest.approx(true["peak"], abs=0.5)
        assert true["start"] - 0.5 <= rep["start"] < rep["peak"] < rep["end"] <= true["end"] + 0.5
        assert rep["min_angle"] == pytest.approx(true["min_angle"], abs=10.0)
    assert doc["max_angle"] == pytest.approx(max(r["max_angle"] for r in true_reps), abs=10.0)

    # per-frame angles track the truth
    errors = [abs(s["angle"] - a) for s, a in zip(doc["samples"], truth["angles"]["shoulder_abduction"], strict=True)
              if s["angle"] is not None]
    assert sum(errors) / len(errors) < 8.0

    # the summary and the CSV say the same
    assert "repetitions: 3" in out
    abduction = get_motion("shoulder_abduction")  # works the high end: its peak noise is the high end's
    assert (f"measurement noise: about ±{abduction.measurement_noise_deg:.0f}° at the high end, "
            f"±{abduction.return_noise_deg:.0f}° at the low end") in out
    with out_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["time_s", "angle_deg", "angle_raw_deg", "confidence", "view_ok", "rep", "rep_event"]
    assert len(rows) == doc["frames"]
    markers = [r["rep_event"] for r in rows if r["rep_event"]]
    assert sum("_peak" in m for m in markers) == 3
    assert "analyzing" in err  # the progress bar went to stderr


def test_wrong_view_is_flagged(demo_clip: Path, capsys) -> None:
    # shoulder flexion needs a side view; the clip is a front view
    rc = main(["analyze", str(demo_clip), "--exercise", "shoulder_flexion", "--side", "left", "-q"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert "camera view is not ideal for shoulder flexion" in out
    assert "turn so your left side faces the camera" in out


def test_passive_mode_summary_speaks_to_the_caregiver(demo_clip: Path, tmp_path: Path, capsys) -> None:
    out_json = tmp_path / "p.json"
    rc = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "--mode", "passive",
               "--target", "170", "-q", "--json", str(out_json)])  # above the rendered 140°: every rep short
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["mode"] == "passive"
    assert "for the caregiver: you moved the left shoulder through 3 repetitions" in out
    assert [r["below_target"] for r in doc["reps"]] == [True, True, True]
    assert "repetitions 1, 2, 3 stopped short of 170° — next time move slowly to 170°" in out
