"""Passive ROM end to end: a rendered two-person clip (a seated patient, a caregiver in scrubs who
moves the arm, lets go, walks across behind the chair and comes back) through ``romcam analyze
--mode passive`` and through ``romcam serve``. The patient's angles follow the truth, the reps are
counted, the lock holds across the crossing and the caregiver is never measured.

Real MediaPipe on real pixels; the clip is short (2 reps at 10 fps, 480x360)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import romcam_serve

from benchmarks.two_person import Scene, run_scene
from romcam.cli import main
from romcam.render import render_clip
from romcam.render.clip import Truth, truth_path

SCENE = Scene("test: shoulder abduction seated front, crossing", "shoulder_abduction", "seated", "front",
              caregiver_posture="standing", crossing=True, seed=11, reps=2)
FPS, WIDTH, HEIGHT = 10.0, 480, 360
MAE_BOUND = 8.0  # degrees, frames measured on the patient (the benchmark's target is 6° on 15 fps clips)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("passive") / "two_people.mp4"
    render_clip(SCENE.spec(FPS, WIDTH, HEIGHT), out)
    return out


@pytest.fixture(scope="module")
def truth(clip: Path) -> Truth:
    return Truth.from_json(truth_path(clip).read_text())


def _true_at(truth: Truth, t: float) -> float:
    return float(np.interp(t, truth.times, truth.angles[SCENE.exercise]))


def test_analyze_passive_measures_the_patient(clip: Path, truth: Truth, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.json"
    rc = main(["analyze", str(clip), "--exercise", SCENE.exercise, "--side", SCENE.side, "--mode", "passive",
               "--posture", SCENE.posture, "--json", str(out), "-q"])
    summary = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["mode"] == "passive" and doc["posture"] == "seated"
    assert doc["subject"] == "auto: the person seated" and doc["subject_confirmed"] is True
    assert doc["setup"]["posture"] == "seated" and "in front of the chair" in doc["setup"]["camera"]
    errors = [abs(s["angle"] - _true_at(truth, s["t"])) for s in doc["samples"] if s["angle"] is not None]
    assert len(errors) >= 0.3 * len(doc["samples"]), "the patient must be measured through most of the clip"
    assert float(np.mean(errors)) <= MAE_BOUND, np.mean(errors)
    full = [r for r in doc["reps"] if not r["partial"]]
    assert len(full) == len(truth.reps)
    for rep, true in zip(full, truth.reps, strict=True):
        assert abs(rep["max_angle"] - true["max_angle"]) <= 10.0, (rep, true)
    # after the crossing (the second rep) the angles are still the patient's
    second = truth.reps[1]
    late = [abs(s["angle"] - _true_at(truth, s["t"])) for s in doc["samples"]
            if s["angle"] is not None and second["start"] <= s["t"] <= second["end"]]
    assert late and float(np.mean(late)) <= MAE_BOUND
    assert "for the caregiver: you moved the left shoulder through 2 repetitions" in summary
    # who was measured, in the summary the caregiver reads (not only in the JSON)
    assert "measured: the person seated, chosen by --subject auto; nobody else is measured" in summary, summary


def test_the_lock_holds_across_the_crossing(clip: Path, tmp_path: Path) -> None:
    """The same analyze path, watched frame by frame: who was measured, against both rendered torsos."""
    row = run_scene(SCENE, tmp_path, fps=FPS, width=WIDTH, height=HEIGHT, clip=clip)
    assert row.crossing
    assert row.identity_switches == 0
    assert row.caregiver_measured_frames == 0
    assert row.patient_frames >= 0.9 * row.frames  # the tracker returned the patient nearly throughout
    assert row.mae <= MAE_BOUND
    assert row.reps_found == row.reps_true


def test_serve_passive_follows_the_patient(clip: Path, truth: Truth, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    args = ("--source", str(clip), "--exercise", SCENE.exercise, "--side", SCENE.side, "--mode", "passive",
            "--posture", SCENE.posture, "--every-frame")
    with romcam_serve(tmp_path, *args) as (port, _):
        events: list[dict] = []
        with connect(f"ws://127.0.0.1:{port}/live/ws", origin=f"http://127.0.0.1:{port}", open_timeout=10) as ws:
            import urllib.request

            req = urllib.request.Request(f"http://127.0.0.1:{port}/live/start", method="POST", data=b"")
            with urllib.request.urlopen(req, timeout=10) as r:
                assert json.loads(r.read())["started"] is True
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                ev = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if ev.get("type") == "frame":
                    events.append(ev)
                    if ev.get("state") == "source_lost":
                        break
    frames = [e for e in events if e.get("state") != "source_lost" and e.get("angle") is not None]
    assert frames, "no angle was measured"
    locked = [e["subject"] for e in events if e.get("subject") and e["subject"]["locked"]]
    assert locked and all(s["reason"] == "the person seated" for s in locked)
    assert max(s["people"] for s in locked) == 2
    errors = [abs(e["angle"] - _true_at(truth, e["t"])) for e in frames]
    assert float(np.mean(errors)) <= MAE_BOUND + 2.0, np.mean(errors)  # the live One Euro filter lags a little
    second = truth.reps[1]
    late = [abs(e["angle"] - _true_at(truth, e["t"])) for e in frames if second["start"] <= e["t"] <= second["end"]]
    assert late and float(np.mean(late)) <= MAE_BOUND + 2.0
    assert max(e["rep"] for e in events) == len(truth.reps)
    assert all(e["mode"] == "passive" for e in frames)
    cues = {e["cue"] for e in events if e.get("cue")}
    assert not any("your" in c and "I can't see" not in c for c in cues if "camera" not in c), cues
    assert math.isfinite(max(e["angle"] for e in frames))
