"""What `romcam analyze` keeps when something goes wrong: every output is tried whatever happened to the
others, nothing is written over the recording, bad arguments and databases are found before a long
analysis, and the rendered clips appear whole or not at all."""

from __future__ import annotations

import json
import os
import stat
import threading
import uuid
from pathlib import Path

import pytest
from helpers import video_frames, write_mjpg

from romcam.cli import main
from romcam.render import RenderSpec, render_clip
from romcam.session_doc import set_from_analysis
from romcam.store import Store


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _usage(argv: list[str], capsys) -> str:
    """argparse's refusal: exit 2 and its message."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_one_output_that_cannot_be_written_loses_no_other(tmp_path: Path, capsys, demo_clip: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    db = tmp_path / "romcam.db"
    csv_out = tmp_path / "out.csv"
    argv = ["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--json", str(blocker / "out.json"),
            "--csv", str(csv_out), "--save", "--db", f"sqlite:///{db}"]
    code, out, err = _run(argv, capsys)
    assert code == 1, err
    assert f"cannot write {blocker / 'out.json'}" in err and "Traceback" not in err
    assert out.startswith("Shoulder abduction, left side"), "the summary is printed"
    assert csv_out.read_text().startswith("time_s,"), "the CSV after the failed JSON is still written"
    assert "saved as session" in err, "and the session still saved"
    store = Store(f"sqlite:///{db}")
    try:
        from romcam.store import service

        with store.session() as s:
            assert len(service.list_sessions(s, service.get_patient(s, store.local_patient_id))) == 1
    finally:
        store.close()


@pytest.mark.parametrize("flags, message", [
    (["--csv", "{video}"], "is the video being analysed"),
    (["--json", "{video}"], "is the video being analysed"),
    (["--json", "{dir}/same.out", "--csv", "{dir}/same.out"], "--json and --csv are the same file"),
])  # fmt: skip
def test_no_output_is_written_over_the_recording_or_the_other(tmp_path: Path, capsys, demo_clip: Path,
                                                               flags: list[str], message: str) -> None:
    video = tmp_path / "recording.mp4"
    video.write_bytes(demo_clip.read_bytes())
    before = video.read_bytes()
    argv = ["analyze", str(video), "--exercise", "shoulder_abduction", "-q",
            *(f.format(video=video, dir=tmp_path) for f in flags)]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err, err
    assert video.read_bytes() == before
    assert not (tmp_path / "same.out").exists()


def test_outputs_go_through_links_and_pipes_with_the_usual_permissions(tmp_path: Path, capsys,
                                                                       demo_clip: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    fresh = tmp_path / "fresh.json"
    old_mask = os.umask(0o022)
    try:
        code, _, err = _run(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--json", str(link),
                             "--csv", str(fifo)], capsys)
        assert code == 0, err
        code, _, err = _run(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--json",
                             str(fresh)], capsys)
        assert code == 0, err
    finally:
        os.umask(old_mask)
        reader.join(timeout=30)
    assert link.is_symlink() and json.loads(real.read_text())["exercise"] == "shoulder_abduction"
    assert stat.S_ISFIFO(fifo.stat().st_mode) and received and received[0].startswith("time_s,")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644, "a new file gets the umask's permissions, not 0600"


def test_save_problems_are_found_before_the_analysis(tmp_path: Path, capsys, demo_clip: Path) -> None:
    base = ["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--save"]
    db = f"sqlite:///{tmp_path / 'romcam.db'}"
    code, out, err = _run([*base, "--db", db, "--patient", str(uuid.uuid4())], capsys)
    assert code == 2 and "no such patient in this database" in err and out == "", (out, err)
    code, out, err = _run([*base, "--db", db, "--patient", "xyz"], capsys)
    assert code == 2 and "is not a patient id" in err and out == ""
    for memory in ("sqlite:///:memory:", "sqlite://"):
        code, out, err = _run([*base, "--db", memory], capsys)
        assert code == 2 and "in-memory database is gone when romcam exits" in err and out == ""
    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 100)
    code, out, err = _run([*base, "--db", f"sqlite:///{text}"], capsys)
    assert code == 1 and "the file is not a database" in err and "Traceback" not in err and out == ""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out, err = _run([*base, "--db", f"sqlite:///{blocker}/sub/romcam.db"], capsys)
    assert code == 1 and "a place romcam may write to" in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("argv, message", [
    (["analyze", "x.mp4", "--exercise", "knee_flexion", "--target", "nan"], "is not an angle"),
    (["analyze", "x.mp4", "--exercise", "knee_flexion", "--target", "5000"], "is not an angle"),
    (["serve", "--port", "70000"], "out of range: give 1 to 65535"),
    (["render", "--exercise", "knee_flexion", "--reps", "-1", "--out", "x.mp4"], "out of range"),
    (["render", "--exercise", "knee_flexion", "--fps", "0", "--out", "x.mp4"], "out of range"),
    (["render", "--exercise", "knee_flexion", "--width", "0", "--out", "x.mp4"], "out of range"),
    (["render", "--exercise", "knee_flexion", "--peak", "nan", "--out", "x.mp4"], "is not an angle"),
])  # fmt: skip
def test_numbers_out_of_range_are_refused_before_anything_runs(tmp_path: Path, capsys,
                                                               monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                                               message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert message in _usage(argv, capsys)
    assert list(tmp_path.iterdir()) == []


def test_render_and_demo_refuse_options_that_do_not_fit(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.mp4"
    code, _, err = _run(["render", "--exercise", "knee_flexion", "--posture", "seated", "--reps", "1", "--short", "7",
                         "--out", str(out)], capsys)
    assert code == 2 and err.startswith("romcam: ") and "Traceback" not in err, err
    code, _, err = _run(["render", "--exercise", "knee_flexion", "--view", "up", "--out", str(out)], capsys)
    assert code == 2 and err.startswith("romcam: "), err
    assert not out.exists()
    code, _, err = _run(["demo", "--exercise", "nope", "--no-save", "--out-dir", str(tmp_path)], capsys)
    assert code == 3 and "unknown exercise" in err, err
    assert list(tmp_path.iterdir()) == [], "nothing rendered for an unknown exercise"


def test_a_render_that_fails_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk half-way through a clip: no partial video (a later run would take it for the clip)."""
    import romcam.render.clip as clip_module

    real_frames = clip_module.render_frames

    def frames_then_full(spec):  # type: ignore[no-untyped-def]
        for i, item in enumerate(real_frames(spec)):
            if i == 3:
                raise OSError(28, "No space left on device")
            yield item

    monkeypatch.setattr(clip_module, "render_frames", frames_then_full)
    out = tmp_path / "demo.mp4"
    with pytest.raises(OSError, match="No space left"):
        render_clip(RenderSpec(exercise="elbow_flexion", side="left", reps=1, width=160, height=120), out)
    assert list(tmp_path.iterdir()) == []


def test_a_long_error_is_cut_to_what_a_session_document_holds() -> None:
    one = set_from_analysis({"error": "x" * 5000, "warnings": ["w" * 2000]}, mode="active", posture="standing")
    assert len(one["error"]) == 1000 and len(one["warnings"][0]) == 1000


def test_a_video_too_short_to_follow_anyone_says_so(tmp_path: Path, capsys, demo_clip: Path) -> None:
    one = tmp_path / "one_frame.avi"
    write_mjpg(one, video_frames(demo_clip, 1), 15.0)
    code, _, err = _run(["analyze", str(one), "--exercise", "shoulder_abduction", "-q"], capsys)
    assert code == 7 and "is too short to measure: a person is in 1 of its 1 frames" in err, err


def test_a_video_that_breaks_before_anyone_is_followed_says_it_broke(tmp_path: Path, capsys,
                                                                     demo_clip: Path) -> None:
    full = tmp_path / "full.avi"
    write_mjpg(full, video_frames(demo_clip, 20), 15.0)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 12])
    code, _, err = _run(["analyze", str(cut), "--exercise", "shoulder_abduction", "-q"], capsys)
    assert code == 6 and "broke after frame" in err and "no person" not in err, err


def test_a_posture_the_exercise_is_not_done_in_is_refused_and_the_default_fits(tmp_path: Path, capsys,
                                                                              demo_clip: Path) -> None:
    """Knee extension is done seated: --posture standing is a usage error before anything runs (a stored
    set must name a posture its motion is done in), and without --posture the set is stored seated."""
    code, out, err = _run(["analyze", str(demo_clip), "--exercise", "knee_extension", "--posture", "standing",
                           "-q"], capsys)
    assert code == 2 and "--posture: Knee extension (seated) is done seated, not standing" in err and out == ""
    code, _, err = _run(["serve", "--exercise", "knee_extension", "--posture", "standing", "--source",
                         str(demo_clip)], capsys)
    assert code == 2 and "is done seated, not standing" in err, err
    db = f"sqlite:///{tmp_path / 'romcam.db'}"
    seated = tmp_path / "knee_extension.mp4"
    render_clip(RenderSpec(exercise="knee_extension", side="left", view="side", posture="seated", reps=2,
                           width=480, height=360, fps=15.0), seated)
    code, _, err = _run(["analyze", str(seated), "--exercise", "knee_extension", "-q", "--save", "--db", db],
                        capsys)
    assert code == 0 and "saved as session" in err, err
    store = Store(db)
    try:
        from romcam.store import service

        with store.session() as s:
            (brief,) = service.list_sessions(s, service.get_patient(s, store.local_patient_id))
            assert [x["posture"] for x in brief["sets"]] == ["seated"]
    finally:
        store.close()


def test_a_summary_that_cannot_be_printed_loses_no_file(tmp_path: Path, demo_clip: Path) -> None:
    """Standard output on a full disk (/dev/full): the JSON is still written, and the one-line reason
    is on stderr, not a traceback."""
    import subprocess
    import sys

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this machine")
    out = tmp_path / "out.json"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "romcam.cli", "analyze", str(demo_clip), "--exercise",
                               "shoulder_abduction", "-q", "--json", str(out)], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "romcam: cannot print the summary: No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert json.loads(out.read_text())["exercise"] == "shoulder_abduction"
