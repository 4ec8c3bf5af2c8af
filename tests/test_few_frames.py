"""A set measured on too few frames a second is marked for the PT (romcam.sample_rate, docs/live.md "Keeping up").

A camera the live loop cannot keep up with gets fewer frames of the movement measured; below 4 a second the reps
and the peaks are not to be trusted (measured: 1 to 5 reps stored of a 6-rep clip at 2 a second). The coach page
warns the patient as it happens; what is stored says it too: the session API's ``sample_fps`` (from the set's own
stored samples) and ``too_few_frames``. Real SQLite and PostgreSQL databases, through the API."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.cli import main
from romcam.live.capture import pace_kind
from romcam.sample_rate import MIN_COUNT_FPS, sample_fps, too_few_frames, too_few_frames_note
from romcam.store.seed import synthetic_session

SET = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated"}


@pytest.mark.parametrize(("t", "angle", "expected"), [
    ([0.0, 0.5, 1.0, 1.5, 2.0], [10.0, 20.0, 30.0, 20.0, 10.0], 2.0),  # 0.5 s apart: 2 a second
    ([0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 5.3], [10.0] * 7, 10.0),  # a 4.8 s pause between: passed over by the median
    ([0.0, 0.25, 0.5, 0.75, 1.0, 1.25], [10.0, None, math.nan, 12.0, 13.0, 14.0], 4.0),  # unmeasured left out
    ([0.0, 0.5, 1.0], [None, 10.0, math.nan], None),  # one measured sample: nothing to judge
    ([], [], None),
])
def test_frames_measured_a_second_come_from_the_measured_samples_times(t, angle, expected) -> None:
    got = sample_fps(t, angle)
    assert got == (None if expected is None else pytest.approx(expected))


def test_the_live_coach_and_the_stored_sets_share_one_threshold() -> None:
    below, at = MIN_COUNT_FPS - 0.1, MIN_COUNT_FPS
    assert too_few_frames(below) and not too_few_frames(at) and not too_few_frames(None)
    assert pace_kind(1.0, below, file=False) == "too_few_frames"
    assert pace_kind(1.0, at, file=False) is None
    assert too_few_frames_note(2.0) == ("Measured on 2 pictures a second: too few to be sure of the rep count and "
                                        "the peaks (4 or more needed)")
    assert too_few_frames_note(2.5).startswith("Measured on 2.5 pictures a second")


def _posted(api: TestClient, pid: str, fps: float) -> dict:
    doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=1),
                            [SET | {"peak": 110.0, "fps": fps, "rep_s": 6.0}])
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text
    return doc


def test_a_set_stored_from_samples_half_a_second_apart_is_flagged(api: TestClient) -> None:
    pid = api.post("/api/patients", json={"name": "Ada"}).json()["id"]
    sparse = _posted(api, pid, 2.0)
    t = [x["t"] for x in sparse["sets"][0]["samples"]]
    steps = {round(b - a, 3) for a, b in zip(t, t[1:], strict=False)}
    assert steps == {0.5}  # the stored samples are half a second apart
    normal = _posted(api, pid, 15.0)

    flagged = api.get(f"/api/sessions/{sparse['id']}").json()["sets"][0]
    assert (flagged["sample_fps"], flagged["too_few_frames"]) == (2.0, True)
    fine = api.get(f"/api/sessions/{normal['id']}").json()["sets"][0]
    # times kept to the millisecond: 1/15 s is stored as 0.067 s
    assert (fine["sample_fps"], fine["too_few_frames"]) == (pytest.approx(15.0, abs=0.2), False)


def test_analyze_says_a_video_of_too_few_frames_a_second_may_miscount(demo_clip: Path, tmp_path: Path,
                                                                       capsys) -> None:
    """Real ``romcam render`` at 3 frames a second (small, 2 reps), real ``romcam analyze``: its summary and its
    JSON say the count rests on too few frames; the 15 fps demo clip says nothing of the kind."""
    clip = tmp_path / "few.mp4"
    assert main(["render", "--exercise", "shoulder_abduction", "--side", "left", "--view", "front", "--reps", "2",
                 "--fps", "3", "--width", "320", "--height", "240", "--seed", "3", "--out", str(clip)]) == 0
    capsys.readouterr()
    out = tmp_path / "few.json"
    assert main(["analyze", str(clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert (doc["sample_fps"], doc["too_few_frames"]) == (3.0, True)
    assert ("note: Measured on 3 pictures a second: too few to be sure of the rep count and the peaks "
            f"({MIN_COUNT_FPS:g} or more needed).") in text, text

    normal = tmp_path / "normal.json"
    assert main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                 "--json", str(normal)]) == 0
    assert "pictures a second" not in capsys.readouterr().out
    doc = json.loads(normal.read_text())
    assert doc["too_few_frames"] is False and doc["sample_fps"] == pytest.approx(15.0, abs=0.2)
