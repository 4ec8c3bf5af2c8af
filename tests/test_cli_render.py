"""`romcam render` writes a clip and its truth, with the flags the benchmark and the demo use."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import pytest

from romcam.cli import VIDEO_SUFFIXES, build_parser, main


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


@pytest.mark.parametrize("name, said", [
    ("r.txt", ".txt is not a video file extension"),
    ("clip", "it has no video file extension"),
])  # fmt: skip
def test_render_out_without_a_video_extension_names_the_accepted_ones(tmp_path: Path, capsys, name: str,
                                                                     said: str) -> None:
    """`--out r.txt` was blamed on the folder ("OpenCV cannot write a 640 x 480 video to /tmp"), which the
    user may well write to: the name is at fault, and the message says which names work."""
    out = tmp_path / name
    rc = main(["render", "--exercise", "knee_flexion", "--reps", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err == (f"romcam: --out {out}: {said} — end the name with one of .mp4, .m4v, .mov, .avi, .mkv, "
                   f"e.g. --out {out.with_suffix('.mp4')}\n"), err
    assert not list(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_every_accepted_render_extension_is_one_opencv_writes(tmp_path: Path, suffix: str) -> None:
    """The names the message offers are ones render_clip's 'mp4v' writer really opens."""
    writer = cv2.VideoWriter(str(tmp_path / f"x{suffix}"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    try:
        assert writer.isOpened(), suffix
    finally:
        writer.release()


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("romcam",)):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield " ".join(path), action


def test_every_option_of_every_command_is_explained_in_its_help(capsys) -> None:
    """`romcam render --help` left --exercise, --fps, --width, --seed ... bare: every option says what it
    is, and one with a default value names it (what the user gets by leaving it out)."""
    bare = [f"{cmd} {'/'.join(a.option_strings) or a.dest}" for cmd, a in _options(build_parser()) if not a.help]
    assert bare == []
    for cmd, action in _options(build_parser()):
        if action.default not in (None, False) and action.option_strings:
            assert "default" in action.help, f"{cmd} {action.option_strings[0]}: the default is not said"
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = capsys.readouterr().out
    for said in ("frames per second, 1 to 240 (default 30.0)", "frame width, pixels", "random seed",
                 "(.mp4, .m4v, .mov, .avi, .mkv)"):
        assert said in " ".join(text.split()), said


@pytest.mark.parametrize(("exercise", "posture", "azimuth"), [
    ("shoulder_flexion", "lying", 90.0),  # a side-view motion: the camera at the patient's (left) side
    ("knee_flexion", "seated", 90.0),
    ("shoulder_abduction", "standing", 0.0),  # a front-view motion: in front
])  # fmt: skip
def test_render_without_view_films_the_view_the_exercise_is_measured_in(tmp_path: Path, capsys, exercise: str,
                                                                        posture: str, azimuth: float) -> None:
    """`romcam render --exercise shoulder_flexion --posture lying --caregiver` filmed from the front by default:
    analysed, the clip read "view right in 2 %" and its range 40° off, from a command that named no view. With no
    --view the camera now takes the view the exercise is measured in."""
    out = tmp_path / "clip.mp4"
    rc = main(["render", "--exercise", exercise, "--posture", posture, "--reps", "1", "--fps", "4", "--width", "160",
               "--height", "120", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert truth["camera_azimuth"] == pytest.approx(azimuth)
