"""`romcam render` writes a clip and its truth, with the flags the benchmark and the demo use."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from romcam.cli import main


def test_render_flags_reach_the_truth(tmp_path: Path, capsys) -> None:
    out = tmp_path / "clip.mp4"
    rc = main(["render", "--exercise", "knee_flexion", "--side", "right", "--view", "side", "--posture", "seated",
               "--reps", "2", "--short", "1", "--peak", "80", "--rest-angle", "10", "--rep-seconds", "1.5",
               "--hold", "0.2", "--fps", "8", "--width", "320", "--height", "240", "--camera-tilt", "4",
               "--background", "room", "--noise", "2", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert truth["fps"] == 8 and truth["posture"] == "seated" and truth["side"] == "right"
    assert [r["short"] for r in truth["reps"]] == [False, True]
    assert truth["reps"][0]["max_angle"] == pytest.approx(80.0)
    assert truth["reps"][1]["max_angle"] < 80.0  # the short rep falls short
    assert min(truth["angles"]["knee_flexion"]) == pytest.approx(10.0)
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(truth["times"])
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (320, 240)
    finally:
        cap.release()


def test_render_unknown_exercise_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    rc = main(["render", "--exercise", "knee_flex", "--out", str(tmp_path / "x.mp4")])
    assert rc == 3
    assert "did you mean knee_flexion" in capsys.readouterr().err


def test_render_out_a_folder_says_so_before_rendering(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "kept.mp4").write_bytes(b"a recording")
    rc = main(["render", "--exercise", "knee_flexion", "--side", "left", "--reps", "1", "--out", str(folder)])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err == (f"romcam: cannot write {folder}: it is a folder — give the clip a file name in it, "
                   f"e.g. --out {folder / 'clip.mp4'}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips"]  # nothing written beside it ...
    assert [p.name for p in folder.iterdir()] == ["kept.mp4"]  # ... nor in it
    assert (folder / "kept.mp4").read_bytes() == b"a recording"


@pytest.mark.parametrize(("args", "said"), [
    (["--exercise", "shoulder_abduction", "--peak", "300"], "--peak 300: Shoulder abduction goes from"),
    (["--exercise", "knee_flexion", "--rest-angle", "-90"], "--rest-angle -90: Knee flexion goes from"),
    (["--exercise", "knee_flexion", "--reps", "1", "--short", "7"], "--short 7: give rep numbers from 0 to 0"),
])  # fmt: skip
def test_render_refuses_what_no_body_does_before_rendering(tmp_path: Path, capsys, args: list[str],
                                                           said: str) -> None:
    """`--peak 300` rendered 300° of shoulder abduction, a truth no body has; `--short 7` of one rep said
    "short_reps [7] outside 0..0", an internal name. Both are usage errors, said in the flags' words."""
    rc = main(["render", *args, "--out", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert said in err, err
    assert not list(tmp_path.iterdir())  # refused before anything was written
