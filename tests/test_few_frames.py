"""A set measured on too few frames a second is marked for the PT (romcam.sample_rate, docs/live.md "Keeping up").

A camera the live loop cannot keep up with gets fewer frames of the movement measured; below 4 a second the reps
and the peaks are not to be trusted (measured: 1 to 5 reps stored of a 6-rep clip at 2 a second). The coach page
warns the patient as it happens; what is stored says it too: the session API's ``sample_fps`` (from the set's own
stored samples) and ``too_few_frames``. Real SQLite and PostgreSQL databases, through the API."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.catalog import get_motion
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


# --- trends, alerts, the sessions list and the exports (the PT meets the set's numbers there too) ---------------

KNEE_NOISE = get_motion("knee_flexion").measurement_noise_deg
BASELINE = [110.0, 112.0, 109.0, 111.0, 110.0]
DROP = [110 - KNEE_NOISE - 8 + d for d in (1.0, -1.0, 0.0)]  # the last 3: 8° beyond the noise


def _series(api: TestClient, pid: str, peaks: list[float], fps: list[float],
            unseen_s: list[float] | None = None) -> list[dict]:
    """One knee session every 2.3 days, oldest first, the i-th set measured at ``fps[i]`` frames a second."""
    n, docs = len(peaks), []
    for i, (peak, rate) in enumerate(zip(peaks, fps, strict=True)):
        extra = {"unseen_s": unseen_s[i]} if unseen_s and unseen_s[i] else {}
        doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=0.5 + 2.3 * (n - 1 - i)),
                                [SET | {"peak": peak, "fps": rate, "rep_s": 6.0} | extra])
        r = api.post("/api/sessions", json=doc)
        assert r.status_code == 201, r.text
        docs.append(doc)
    return docs


@pytest.mark.parametrize(("last_fps", "alerts"), [
    (15.0, ["decline"]),  # the last 3 sessions' lower best angles were measured on enough frames: a decline
    # the same sessions measured at 2 frames a second: their peaks may fall between two frames, so the lower
    # angles are no evidence of a loss, and raise no alert (the trend points say why)
    (2.0, []),
])
def test_a_decline_leaves_out_sessions_measured_on_too_few_frames(api: TestClient, last_fps: float,
                                                                  alerts: list[str]) -> None:
    pid = api.post("/api/patients", json={"name": "Ada"}).json()["id"]
    _series(api, pid, BASELINE + DROP, [15.0] * 5 + [last_fps] * 3)
    got = api.get(f"/api/patients/{pid}/alerts").json()
    assert [a["kind"] for a in got] == alerts, got
    [series] = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()[
        "series"]
    points = series["points"]
    assert [p["too_few_frames"] for p in points] == [False] * 5 + [last_fps < MIN_COUNT_FPS] * 3
    assert all(p["best_seen"] for p in points)  # a reason of its own, not the unseen one
    # the numbers alone would alert: the left-out sessions are as low as the measured ones
    assert max(p["best_angle"] for p in points[-3:]) < 110 - KNEE_NOISE


def test_the_alert_says_which_sessions_it_left_out_and_why(api: TestClient) -> None:
    """Between the measured sessions, one unseen, one on too few frames and one both: each said, counted once."""
    pid = api.post("/api/patients", json={"name": "Ada"}).json()["id"]
    peaks = BASELINE + [DROP[0], 60.0, DROP[1], 60.0, 60.0, DROP[2]]
    fps = [15.0] * 5 + [15.0, 2.0, 15.0, 15.0, 2.0, 15.0]
    unseen = [0.0] * 5 + [0.0, 0.0, 0.0, 1.2, 2.0, 0.0]
    _series(api, pid, peaks, fps, unseen)
    [series] = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()[
        "series"]
    flags = [(p["best_seen"], p["too_few_frames"]) for p in series["points"][-6:]]
    assert flags == [(True, False), (True, True), (True, False), (False, False), (False, True), (True, False)]
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert alert["kind"] == "decline"
    assert alert["message"].endswith("; 3 sessions left out: 2 whose furthest point was not seen, 2 measured on "
                                     "too few frames a second (1 of them both))"), alert["message"]


def test_the_sessions_list_and_the_exports_say_a_set_was_measured_on_too_few_frames(api: TestClient) -> None:
    pid = api.post("/api/patients", json={"name": "Ada"}).json()["id"]
    sparse, normal = _series(api, pid, [110.0, 111.0], [2.0, 15.0])
    listed = {s["id"]: s["sets"][0] for s in api.get(f"/api/patients/{pid}/sessions").json()}
    assert (listed[sparse["id"]]["sample_fps"], listed[sparse["id"]]["too_few_frames"]) == (2.0, True)
    assert listed[normal["id"]]["too_few_frames"] is False

    rows = {r["session_id"]: r for r in csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text))}
    assert rows[sparse["id"]]["sample_fps"] == "2.0"
    assert rows[sparse["id"]]["sample_note"] == "measured on 2 pictures a second: rep count and peaks uncertain"
    assert rows[normal["id"]]["sample_note"] == ""
    assert float(rows[normal["id"]]["sample_fps"]) == pytest.approx(15.0, abs=0.2)

    notes = {e["resource"]["id"]: [n["text"] for n in e["resource"]["note"]]
             for e in api.get(f"/api/patients/{pid}/export.fhir.json").json()["entry"]}
    assert too_few_frames_note(2.0) in notes[listed[sparse["id"]]["id"]]
    assert not any("pictures a second" in n for n in notes[listed[normal["id"]]["id"]])


def test_0013_fills_in_the_rate_of_sets_stored_before(tmp_path: Path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """A set stored by an older romcam has its samples but no sample_fps: the migration derives it from them, so the
    trends mark it as they mark a new one."""
    from db_fixtures import alembic

    from romcam.store import Store
    from romcam.store.db import make_engine, resolve_url
    from romcam.store.models import ExerciseSet, Patient
    from romcam.store.service import ingest_session
    from romcam.store.trends import series_points

    for url in (f"sqlite:///{tmp_path / 'old.db'}", postgres_server.new_database()):
        store = Store(url)
        with store.session() as db:
            patient = Patient(name="Ada")
            db.add(patient)
            db.commit()
            pid = patient.id
            ingest_session(db, synthetic_session(pid, datetime.now(UTC) - timedelta(days=1),
                                                 [SET | {"peak": 110.0, "fps": 2.0, "rep_s": 6.0},
                                                  SET | {"peak": 111.0, "fps": 15.0}]))
        store.close()
        engine = make_engine(resolve_url(url))
        alembic(engine, "downgrade", "0012")  # as an older romcam left it: no sample_fps
        engine.dispose()
        store = Store(url)  # runs 0013
        try:
            with store.session() as db:
                rates = sorted(s.sample_fps for s in db.query(ExerciseSet).filter_by(patient_id=pid))
                assert rates == [pytest.approx(2.0), pytest.approx(15.0, abs=0.2)]
                [[point]] = series_points(db, db.get(Patient, pid)).values()
                assert point.few_frames
        finally:
            store.close()


@pytest.mark.parametrize(("steps", "rep_s"), [
    ([0.35, 0.65], 3.5),  # uneven: every other step longer than the recorder's 0.5 s break
    ([0.3, 0.75, 0.45, 0.6], 5.0),
])
def test_the_live_recorder_at_two_frames_a_second_splits_the_curve_not_the_reps(tmp_path: Path, steps: list[float],
                                                                                rep_s: float) -> None:
    """About 2 frames a second with uneven timing: the recorder takes each step over 0.5 s for a rest and marks a
    gap in the stored curve (the chart draws dots, not a line). The final analysis still finds every rep performed,
    once — none lost, none split — and the stored set carries its measured rate, flagged."""
    from romcam.live.coach import PlanItem
    from romcam.live.recorder import BREAK_S, Recorder
    from romcam.measure import Sample
    from romcam.store.db import Store
    from romcam.store.models import ExerciseSet
    from romcam.store.service import get_session, session_detail

    reps = 6
    t = [0.0]
    while t[-1] < reps * rep_s + 2.0:
        t.append(round(t[-1] + steps[len(t) % len(steps)], 3))
    times = np.array(t)
    angle = 10 + 110 * (1 - np.cos(2 * np.pi * np.clip((times - 1.0) / rep_s, 0, reps))) / 2
    angle += np.random.default_rng(1).normal(0, 0.5, times.size)
    samples = [Sample(i, float(x), float(a), 0.9, True, 0.0, None)
               for i, (x, a) in enumerate(zip(times, angle, strict=True))]
    assert sum(b - a > BREAK_S for a, b in zip(t, t[1:], strict=False)) >= len(t) // 3  # the break rule is met, often

    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    try:
        rec = Recorder(store, patient_id=store.local_patient_id, source="camera 0", demo=False, model="full")
        at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        sid = rec.begin_session(now=at)
        rec.begin_set(PlanItem(exercise="shoulder_abduction", side="left", view="front", works="max",
                               joint="shoulder"), t=0.0, fps=30.0, now=at)
        for s in samples:
            rec.add_sample(s)
        rec.end_set()
        rec.end_session("complete", now=at + timedelta(minutes=1))
        assert not rec.unsaved
        with store.session() as db:
            [stored] = session_detail(db, get_session(db, uuid.UUID(str(sid))))["sets"]
            [row] = db.query(ExerciseSet).all()
            assert row.sample_fps == pytest.approx(stored["sample_fps"], abs=0.05)  # kept for the trends
    finally:
        store.close()
    assert stored["too_few_frames"] and stored["sample_fps"] < MIN_COUNT_FPS
    assert sum(a is None for a in stored["samples"]["angle"]) > 0  # the drawn curve is split at the long steps
    # every rep performed is found, once, its peak within one step of where the movement turned
    peaks = [r["peak"] for r in stored["reps"] if not r["partial"]]
    assert peaks == pytest.approx([1.0 + (i + 0.5) * rep_s for i in range(reps)], abs=max(steps)), peaks
