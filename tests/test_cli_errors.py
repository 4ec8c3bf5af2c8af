"""Bad input gets a one-line message naming the problem and what to do, a distinct exit code,
and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import free_port, video_frames, write_mjpg

from romcam.cli import main
from romcam.errors import CameraError
from romcam.source import CameraSource, open_source


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, fourcc: str = "MJPG") -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "make, exercise, code, message",
    [
        # a path that does not exist
        (lambda d: d / "nope.mp4", "elbow_flexion", 4, "video not found"),
        # a text file with a video's name
        (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "elbow_flexion", 5,
         "cannot read"),
        # a folder
        (lambda d: d, "elbow_flexion", 5, "is a folder"),
        # an exercise the catalog does not have, with a suggestion
        (lambda d: d / "nope.mp4", "shoulder_flex", 3, "did you mean shoulder_flexion"),
    ],
)
def test_bad_input_exit_codes(tmp_path: Path, capsys, make, exercise, code, message) -> None:
    path = make(tmp_path)
    rc, out, err = _run(["analyze", str(path), "--exercise", exercise, "-q"], capsys)
    assert rc == code
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("romcam: ")
    assert message in lines[0]
    assert "Traceback" not in err


def test_no_person_found(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(90, 110, (240, 320, 3), dtype=np.uint8) for _ in range(6)]
    video = tmp_path / "empty_room.avi"
    _write_video(video, frames)
    rc, out, err = _run(["analyze", str(video), "--exercise", "shoulder_abduction", "-q"], capsys)
    assert rc == 7
    assert "no person found in any of the 6 frames" in err


def test_truncated_video_reports_what_came_before_the_break(tmp_path: Path, capsys, demo_clip: Path) -> None:
    # re-encode the rendered clip as MJPG AVI (frames stored one after another), then cut it
    frames = video_frames(demo_clip)
    full = tmp_path / "full.avi"
    write_mjpg(full, frames, 30.0)
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out_json = tmp_path / "cut.json"
    argv = ["analyze", str(cut), "--exercise", "shoulder_abduction", "-q", "--json", str(out_json)]
    rc, out, err = _run(argv, capsys)
    assert rc == 6
    assert "broke after frame" in err and "Traceback" not in err
    doc = json.loads(out_json.read_text())
    assert 0.3 * len(frames) < doc["frames"] < 0.7 * len(frames)
    assert doc["frames_with_subject"] >= 0.9 * doc["frames"]
    assert doc["error"].startswith(str(cut))
    assert "stopped early" in out


def test_serve_on_a_port_in_use_says_so_before_loading_anything(tmp_path: Path, capsys,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("ROMCAM_DATA", str(tmp_path / "data"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = _run(["serve", "--port", str(port), "--no-live", "--db", f"sqlite:///{tmp_path / 'r.db'}"],
                              capsys)
    assert code == 1
    head = (f"romcam: cannot serve on 127.0.0.1:{port}: Address already in use — another romcam serve may be running "
            f"there (open http://127.0.0.1:{port}), or another program uses that port: choose another port: --port ")
    assert err.strip().startswith(head), err
    free = int(err.strip().removeprefix(head).split()[0])
    assert err.strip() == f"{head}{free} (with make run: ROMCAM_PORT={free} make run)"
    assert port < free < port + 50
    with socket.socket() as probe:  # the port it names is one romcam can take
        probe.bind(("127.0.0.1", free))
    assert not (tmp_path / "r.db").exists(), "nothing is opened before the port is known to be free"


def test_make_runs_advice_for_a_port_in_use_serves_on_the_port_it_names(tmp_path: Path) -> None:
    """`make run` passes no options: the port comes from ROMCAM_PORT, as the message and the README say."""
    import socket
    import urllib.request

    from helpers import stop, wait_until_up

    env = os.environ | {"HOME": str(tmp_path), "ROMCAM_DATA": str(tmp_path / "data"),
                        "ROMCAM_DB": f"sqlite:///{tmp_path / 'r.db'}"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = subprocess.run([sys.executable, "-m", "romcam.cli", "serve", "--no-live"], capture_output=True,
                                 text=True, env=env | {"ROMCAM_PORT": str(port)}, timeout=120)
        assert refused.returncode == 1, refused.stderr
        advice = refused.stderr.split("(with make run: ")[1].split(" make run)")[0]
        assert advice.startswith("ROMCAM_PORT="), refused.stderr
        name, value = advice.split("=")
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--no-live"], env=env | {name: value},
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_until_up(f"http://127.0.0.1:{value}/healthz", proc, log)
                with urllib.request.urlopen(f"http://127.0.0.1:{value}/healthz", timeout=5) as answer:
                    assert answer.status == 200
            finally:
                stop(proc)
        assert f"romcam serving on http://127.0.0.1:{value} " in log.read_text()


def test_camera_that_does_not_open() -> None:
    with pytest.raises(CameraError, match="cannot open camera 97"):
        open_source("97")
    # a stream is an address, not a plugged-in camera: no "--source index" advice for it
    with pytest.raises(CameraError) as refused:
        CameraSource("rtsp://127.0.0.1:9/none", read_timeout_s=0.1)
    assert str(refused.value) == ("cannot open stream rtsp://127.0.0.1:9/none — check the address, and that the "
                                  "camera is on and reachable from this computer")


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    romcam = Path(sys.executable).with_name("romcam")
    proc = subprocess.run([str(romcam), "analyze", str(tmp_path / "missing.mp4"), "--exercise", "knee_flexion"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4
    assert proc.stderr.strip().startswith("romcam: video not found")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("broken", ["text", "no header", "cut short"])
def test_a_broken_video_gets_romcams_line_and_not_ffmpegs(tmp_path: Path, demo_clip: Path, broken: str) -> None:
    """FFmpeg writes its own complaints straight to the process's stderr (not through Python, so only a
    real process shows them): a patient must see one line that says what to do, not a screenful of codec
    internals."""
    data = demo_clip.read_bytes()
    path = tmp_path / "clip.mp4"
    path.write_bytes({"text": b"hello", "no header": data[1000:], "cut short": data[: len(data) // 3]}[broken])
    romcam = Path(sys.executable).with_name("romcam")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    proc = subprocess.run([str(romcam), "analyze", str(path), "--exercise", "shoulder_abduction", "--side", "left",
                           "-q"], capture_output=True, text=True, timeout=300, env=env)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode in (5, 6), proc.stderr
    assert len(lines) == 1 and lines[0].startswith("romcam: "), proc.stderr


@pytest.mark.parametrize("argv", [
    ["serve", "--no-live", "--port", "{port}"],  # started, then uvicorn's traceback and exit code 3
    ["user", "create", "--email", "new.pt@clinic.test", "--role", "clinician"],  # "created", then gone
    ["user", "password", "--email", "new.pt@clinic.test"],
    ["user", "deactivate", "--email", "new.pt@clinic.test"],  # "no account has this email": look elsewhere, not here
    ["user", "activate", "--email", "new.pt@clinic.test"],
    ["user", "list"],  # "no accounts": the same
    ["token", "create", "--patient", "00000000-0000-4000-8000-000000000000"],
    ["demo"],  # rendered and analysed a clip for a minute, then "stored" it in memory
])  # fmt: skip
@pytest.mark.parametrize("memory", ["sqlite:///:memory:", "sqlite://", "sqlite:///file:romcam?mode=memory&uri=true"])
def test_a_command_that_stores_refuses_an_in_memory_database(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch,
                                                             argv: list[str], memory: str) -> None:
    """What these commands store would be gone when romcam exits, after they said it was stored (or, for
    serve, a traceback after 'romcam serving on ...' and uvicorn's exit code 3, romcam's 'unknown
    exercise'): refused at once, as `analyze --save` does, in one line that says what to give."""
    import io
    import socket

    monkeypatch.setenv("ROMCAM_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    argv = [a.replace("{port}", str(port)) for a in argv]
    code, out, err = _run([*argv, "--db", memory], capsys)
    assert code == 2, err
    assert err == (f"romcam: {' '.join(argv[:2]) if argv[0] in ('user', 'token') else argv[0]} needs a database "
                   "file: an in-memory database is gone when romcam exits (give --db sqlite:///PATH, or leave --db "
                   "out for the default)\n")
    assert out == ""
    assert not (tmp_path / "data").exists(), "nothing rendered or opened before the refusal"


@pytest.mark.parametrize("argv", [
    ["user", "password", "--email", "pt@clinic.test"],
    ["user", "deactivate", "--email", "pt@clinic.test"],
    ["user", "activate", "--email", "pt@clinic.test"],
    ["user", "list"],
    ["token", "create", "--patient", "00000000-0000-4000-8000-000000000000"],
])  # fmt: skip
def test_a_command_on_the_clinics_accounts_refuses_a_database_that_is_not_there(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    """A mistyped --db (clinc.db for clinic.db) made an empty database there and then said "no account has this
    email" or "no accounts": the admin looked for a missing account, and a stray database was left behind. The
    file must be there; `user create` (the first admin of a new clinic) still makes one."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    missing = tmp_path / "clinc.db"
    code, out, err = _run([*argv, "--db", f"sqlite:///{missing}"], capsys)
    assert code == 2, err
    assert err == (f"romcam: {' '.join(argv[:2])}: there is no database at {missing}: give --db (or ROMCAM_DB) the "
                   "clinic server's database\n")
    assert out == "" and not missing.exists()
    code, _, err = _run(["user", "create", "--email", "pt@clinic.test", "--role", "clinician", "--db",
                         f"sqlite:///{missing}"], capsys)
    assert code == 0 and missing.exists(), err


def test_rekey_with_a_mistyped_database_url_says_so_in_one_line(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """`romcam audit rekey --db clinic.db` (a path, not a URL) printed SQLAlchemy's traceback."""
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", "o" * 40)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", "n" * 40)
    code, out, err = _run(["audit", "rekey", "--db", "clinic.db"], capsys)
    assert code == 1
    assert err == "romcam: cannot read database URL 'clinic.db': use sqlite:///PATH or postgresql://USER@HOST/DB\n"


def test_exercises_refuses_two_formats_at_once(capsys) -> None:
    """`--json --markdown` printed only the markdown: asked for two formats on one output, the user is told
    to choose (argparse's usage error, exit 2) and gets neither half-way."""
    with pytest.raises(SystemExit) as stopped:
        main(["exercises", "--json", "--markdown"])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    assert "argument --markdown: not allowed with argument --json" in err, err
    assert main(["exercises", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"]  # one format alone still works


@pytest.mark.parametrize("live", [[], ["--no-live"]])
def test_serve_a_negative_camera_index_is_a_usage_error(tmp_path: Path, capsys, live: list[str]) -> None:
    """`--source -1` was taken for a file name ("video not found"): it is a camera index out of range,
    refused first (the port is taken, so a server that got further stops there rather than serving)."""
    import socket

    db = tmp_path / "r.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        rc, out, err = _run(["serve", "--source", "-1", *live, "--port", port, "--db", f"sqlite:///{db}"], capsys)
    assert rc == 2
    assert err == ("romcam: --source -1: a camera index must be 0 or more (0 is the first camera); or give a video "
                   "file or a stream URL\n"), err
    assert not db.exists(), "refused before anything is opened"


def test_serve_a_video_file_named_like_a_negative_number_is_still_played(tmp_path: Path, capsys,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal is for a camera index only: a file called "-1" that exists is a video source as before
    (here not a video: it reaches the source, exit 5, not the usage error)."""
    monkeypatch.chdir(tmp_path)
    Path("-1").write_text("not a video")
    rc, out, err = _run(["serve", "--source", "-1", "--port", str(free_port()), "--db",
                         f"sqlite:///{tmp_path / 'r.db'}"], capsys)
    assert rc == 5 and "camera index" not in err, err


def test_link_without_a_token_says_one_is_needed_and_where_it_comes_from(tmp_path: Path, capsys,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing piped in (or Enter at the prompt) was "--token is not a romcam device token": the patient
    had not given one yet, and needs to know where one is made."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    path = tmp_path / "link.toml"
    rc, out, err = _run(["link", "--upload-to", "https://clinic.example", "--config", str(path)], capsys)
    assert rc == 2
    assert err == ("romcam: no device token given: the patient's PT or the clinic's admin makes one on the clinic's "
                   "dashboard (the patient's page, \"Create a device token\") or with `romcam token create --patient "
                   "ID` on the clinic server; then give it with --token, paste it when asked, or pipe it on standard "
                   "input\n"), err
    assert not path.exists()


def test_link_remove_unlinks_this_laptop_and_says_what_becomes_of_its_sessions(tmp_path: Path, capsys) -> None:
    """`romcam link --remove`: the link file goes (a running romcam follows it: tests/test_sync.py), the words say
    the laptop is unlinked from which clinic and that its sessions stay; run again, it says the laptop is not linked;
    a link file romcam cannot remove says so, and that the laptop is still linked."""
    path = tmp_path / "romcam" / "link.toml"
    rc, _, _ = _run(["link", "--upload-to", "https://clinic.example", "--token", "romcam_dt_" + "a" * 40,
                     "--config", str(path), "--no-check"], capsys)
    assert rc == 0 and path.exists()
    rc, out, err = _run(["link", "--remove", "--config", str(path)], capsys)
    assert (rc, out) == (0, "") and not path.exists()
    assert err == (f"unlinked this laptop from clinic.example: removed {path}. The sessions recorded here stay on "
                   "this laptop and nothing more is sent to the clinic; a romcam already running stops sending "
                   "within a few seconds (no restart), unless it was started with --upload-to/--token. To link "
                   "again: `romcam link --upload-to URL`\n"), err
    rc, out, err = _run(["link", "--remove", "--config", str(path)], capsys)
    assert (rc, err) == (0, f"this laptop is not linked: there is no link file at {path}\n"), err

    path.mkdir()  # not a file romcam can remove
    rc, out, err = _run(["link", "--remove", "--config", str(path)], capsys)
    assert rc == 1 and err.startswith(f"romcam: cannot remove the link file {path}: ") and \
        err.endswith("; this laptop is still linked\n"), err
    assert path.is_dir()


@pytest.mark.parametrize("argv, said", [
    (["link", "--remove", "--upload-to", "https://clinic.example"],
     "--remove takes no --upload-to, --token or --no-check: it unlinks this laptop (`romcam link --remove`, with "
     "--config PATH for a link file elsewhere)"),
    (["link", "--token", "romcam_dt_" + "a" * 40],
     "give the clinic's address with --upload-to URL (the PT has it, beside the device token), or unlink this "
     "laptop with --remove"),
])
def test_link_says_which_of_its_two_uses_it_was_given_wrong(argv: list[str], said: str, tmp_path: Path,
                                                           capsys) -> None:
    path = tmp_path / "link.toml"
    rc, out, err = _run([*argv, "--config", str(path)], capsys)
    assert (rc, err) == (2, f"romcam: {said}\n"), err


@pytest.mark.parametrize("flag, what", [("--patient", "whose session to store"),
                                        ("--db", "the database to store the session in")])
def test_patient_or_db_without_save_is_refused_before_the_video(tmp_path: Path, capsys, flag: str,
                                                                 what: str) -> None:
    """`--patient` and `--db` only say where `--save` stores: without `--save` they were ignored, the analysis
    ran and nothing was stored, while the caregiver who named the patient thought it was. Refused at once."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the arguments are refused first")
    value = {"--patient": "00000000-0000-0000-0000-000000000001", "--db": f"sqlite:///{tmp_path / 'r.db'}"}[flag]
    code, out, err = _run(["analyze", str(clip), "--exercise", "elbow_flexion", "--side", "right", flag, value],
                          capsys)
    assert code == 2
    assert out == ""
    assert err == (f"romcam: {flag} goes with --save ({what}), and nothing is stored without it: add --save to "
                   f"store this analysis as a session, or leave {flag} out\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no database made


def test_no_reps_on_the_default_side_says_to_give_side_right(tmp_path: Path, demo_clip: Path, capsys) -> None:
    """`--side` defaults to left: a video of the right arm analysed without it read "repetitions: 0" and a few
    degrees of range, and said nothing more (with --save, a session of no reps for the PT). The demo clip
    mirrored is a patient raising the right arm."""
    cap = cv2.VideoCapture(str(demo_clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.flip(frame, 1))
    cap.release()
    right = tmp_path / "right_arm.avi"
    _write_video(right, frames, fps=fps)
    hint = ("romcam: no repetition found on the left side, the one measured when --side is not given: if the "
            "patient moved the right side, run it again with --side right\n")
    code, out, err = _run(["analyze", str(right), "--exercise", "shoulder_abduction", "-q"], capsys)
    assert code == 0
    assert "Shoulder abduction, left side" in out and "repetitions: 0" in out, out
    assert err == hint
    code, out, err = _run(["analyze", str(right), "--exercise", "shoulder_abduction", "-q", "--side", "right"], capsys)
    assert code == 0
    assert "repetitions: 3" in out, out  # the hint was right: the right side did the demo's 3 reps
    assert err == ""
    code, out, err = _run(["analyze", str(right), "--exercise", "shoulder_abduction", "-q", "--side", "left"], capsys)
    assert "repetitions: 0" in out and err == ""  # the side given: the user chose it, nothing to suggest


@pytest.mark.parametrize("url", ["clinic.example", "https://", "http://clinic example.org"])
def test_link_says_a_malformed_address_before_asking_for_the_token(tmp_path: Path, capsys, url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The token was asked for (and pasted, with weak hands) before the address was looked at, so a mistyped
    address was said only after; with nothing piped in, only "no device token given" was said, and the address
    after the token was found. A space in the address was told to "use https://"."""
    import io

    token = "romcam_dt_" + "a" * 40 + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(token))
    path = tmp_path / "link.toml"
    rc, out, err = _run(["link", "--upload-to", url, "--config", str(path)], capsys)
    assert rc == 2
    assert err == (f"romcam: --upload-to {url!r} is not a clinic URL: give https://HOST (e.g. "
                   "https://clinic.example)\n"), err
    assert sys.stdin.read() == token  # the token was not asked for
    assert not path.exists()
