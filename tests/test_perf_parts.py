"""The parts the performance work changed (issue 8), checked for correctness (speed is measured by
`make bench`, never here): the looping file source, the decode-ahead thread, the bench's clinic
seeding, the patient list's bulk figures, and `--model` everywhere a model is used."""

from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from db_fixtures import *  # noqa: F403
from sqlalchemy import select

from benchmarks import perfdb
from romcam.catalog import get_motion
from romcam.cli import build_parser, main
from romcam.errors import CorruptVideoError, ModelError
from romcam.measure import MotionMeter
from romcam.pose import PoseEstimator, check_model, default_model_path
from romcam.source import VideoFileSource, prefetched
from romcam.store import service, trends
from romcam.store.models import ExerciseSet, Rep, Session, SetSamples
from romcam.store.seed import seed_demo, synthetic_session
from romcam.subject import SubjectTracker, parse_selector

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


# --- sources ----------------------------------------------------------------------------------------

def _frames(source) -> list:  # type: ignore[no-untyped-def]
    return [(f.index, f.t, f.image.copy()) for f in source]


def test_looping_file_source_plays_on_with_increasing_times(demo_clip: Path) -> None:
    with VideoFileSource(demo_clip) as once:
        single = _frames(once)
    n = len(single)
    with VideoFileSource(demo_clip, loop=True) as src:
        looped = []
        for f in src:
            looped.append((f.index, f.t, f.image.copy()))
            if len(looped) == 2 * n + 5:
                break
        assert src.loops == 2
    assert [i for i, _, _ in looped] == list(range(2 * n + 5))
    times = np.array([t for _, t, _ in looped])
    assert np.all(np.diff(times) > 0)
    # the second pass starts one frame interval after the last frame of the first
    assert times[n] - times[n - 1] == pytest.approx(1.0 / src.fps, abs=1e-6)
    assert times[n + 3] - times[n] == pytest.approx(single[3][1] - single[0][1], abs=1e-6)
    for k in (0, 7, n - 1):  # the same pictures again
        assert np.array_equal(looped[n + k][2], single[k][2])


def test_prefetched_gives_the_same_frames_in_the_same_order(demo_clip: Path) -> None:
    with VideoFileSource(demo_clip) as a:
        direct = _frames(a)
    with VideoFileSource(demo_clip) as b:
        ahead = _frames(prefetched(b, depth=3))
    assert len(ahead) == len(direct) > 30
    for (i1, t1, im1), (i2, t2, im2) in zip(direct, ahead, strict=True):
        assert (i1, t1) == (i2, t2)
        assert np.array_equal(im1, im2)


def test_prefetched_hands_on_the_error_after_the_frames_before_it(demo_clip: Path, tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(demo_clip))
    full = tmp_path / "full.avi"
    writer = None
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (f.shape[1], f.shape[0]))
        writer.write(f)
    writer.release()
    cap.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    def read(frames) -> tuple[list[int], BaseException | None]:  # type: ignore[no-untyped-def]
        seen = []
        try:
            for f in frames:
                seen.append(f.index)
        except CorruptVideoError as exc:
            return seen, exc
        return seen, None

    with VideoFileSource(cut) as a:
        direct, err_a = read(a)
    with VideoFileSource(cut) as b:
        ahead, err_b = read(prefetched(b))
    assert isinstance(err_a, CorruptVideoError) and isinstance(err_b, CorruptVideoError)
    assert ahead == direct and len(direct) > 10


def test_prefetched_stops_its_thread_when_the_reader_stops_early(demo_clip: Path) -> None:
    import threading

    with VideoFileSource(demo_clip) as src:
        frames = prefetched(src, depth=2)
        first = next(frames)
        assert first.index == 0
        frames.close()
    assert not any(t.name == "romcam-decode" and t.is_alive() for t in threading.enumerate())


def test_analysis_with_decode_ahead_measures_what_the_sequential_loop_measures(demo_clip: Path) -> None:
    from romcam.analysis import analyze_video

    result = analyze_video(demo_clip, "shoulder_abduction", "left")
    motion = get_motion("shoulder_abduction")
    meter = MotionMeter(motion, "left", subject=SubjectTracker(parse_selector("auto")))
    with VideoFileSource(demo_clip) as src, PoseEstimator() as est:
        sequential = [meter.update(est.process(f.image, f.t, f.index)) for f in src]
    assert len(result.samples) == len(sequential) > 30
    a = np.array([s.angle for s in result.samples], dtype=float)
    b = np.array([s.angle for s in sequential], dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b)) < 1e-9
    assert [s.t for s in result.samples] == [s.t for s in sequential]


# --- --model ----------------------------------------------------------------------------------------

def _not_a_pose_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "face_landmarker.task"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("face_detector.tflite", b"\0" * 16)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "pose_landmarker_heavy.task", "pose model not found"),  # a path that does not exist
        (lambda d: d, "is a folder"),  # a folder
        (lambda d: (d / "notes.task").write_text("hello") and d / "notes.task", "not a MediaPipe model bundle"),
        (_not_a_pose_bundle, "not a pose landmarker"),  # another MediaPipe bundle
    ],
)
@pytest.mark.parametrize("command", ["analyze", "serve", "demo"])
def test_a_wrong_model_is_a_clear_error_everywhere(tmp_path: Path, capsys, demo_clip: Path, make, message,
                                                   command) -> None:
    model = make(tmp_path)
    argv = {
        "analyze": ["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q"],
        "serve": ["serve", "--source", str(demo_clip), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        "demo": ["demo", "--out-dir", str(tmp_path / "demo"), "--no-save"],
    }[command] + ["--model", str(model)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 9
    assert message in err and "--model" in err and "Traceback" not in err
    assert not (tmp_path / "demo").exists()  # failed before rendering anything


def test_a_user_supplied_bundle_is_used(tmp_path: Path, demo_clip: Path) -> None:
    # an official bundle saved anywhere (here: the bundled one under another name)
    copy = tmp_path / "pose_landmarker_custom.task"
    shutil.copy(default_model_path(), copy)
    assert check_model(copy) == copy
    from romcam.analysis import analyze_video

    result = analyze_video(demo_clip, "shoulder_abduction", "left", model_path=copy)
    assert result.model == copy.name and len(result.reps) == 3
    with pytest.raises(ModelError):
        PoseEstimator(tmp_path / "missing.task")


def test_serve_model_and_loop_options_reach_the_live_coach(demo_clip: Path, tmp_path: Path) -> None:
    from romcam.cli import _live_options

    args = build_parser().parse_args(["serve", "--source", str(demo_clip), "--loop", "--model",
                                      str(default_model_path())])
    options = _live_options(args)
    assert options.loop and options.model_path == str(default_model_path())


def test_the_live_worker_loops_a_file(demo_clip: Path) -> None:
    import threading

    from romcam.live.capture import CaptureWorker, LiveOptions
    from romcam.live.plan import measure_only

    with VideoFileSource(demo_clip) as src:
        n = src.frame_count
    ts: list[float] = []
    enough = threading.Event()

    def publish(ev: dict) -> None:
        if ev.get("type") == "frame" and ev.get("state") != "source_lost":
            ts.append(ev["t"])
            if len(ts) >= n + 20:
                enough.set()

    options = LiveOptions(source=str(demo_clip), exercise="shoulder_abduction", side="left", every_frame=True,
                          loop=True)
    worker = CaptureWorker(options, [measure_only("shoulder_abduction", "left")], recorder=None, publish=publish)
    worker.wake()
    worker.start()
    try:
        assert enough.wait(300), f"only {len(ts)} frames of {n + 20}"
    finally:
        worker.stop()
    assert worker.coach.state != "source_lost"
    assert np.all(np.diff(ts[: n + 20]) > 0)


# --- the bench's clinic seeding, and the patient list ---------------------------------------------

def _snapshot(db, session_ids: list[uuid.UUID]) -> dict:  # type: ignore[no-untyped-def]
    def rows(model, where) -> list[dict]:  # type: ignore[no-untyped-def]
        cols = [c for c in model.__table__.columns if c.name not in ("content_sha256", "received_at")]
        out = [dict(r._mapping) for r in db.execute(select(*cols).where(where))]
        return sorted(out, key=lambda r: str(r.get("id", r.get("set_id"))))

    set_ids = list(db.scalars(select(ExerciseSet.id).where(ExerciseSet.session_id.in_(session_ids))))
    return {"sessions": rows(Session, Session.id.in_(session_ids)),
            "sets": rows(ExerciseSet, ExerciseSet.session_id.in_(session_ids)),
            "reps": rows(Rep, Rep.set_id.in_(set_ids)),
            "samples": rows(SetSamples, SetSamples.set_id.in_(set_ids))}


def test_bulk_seeding_stores_what_ingest_stores(store) -> None:  # type: ignore[no-untyped-def]
    ids, rx = perfdb.make_patients(store, 2)
    specs = list(perfdb.session_specs(ids, years=0.05, per_week=5, now=NOW))
    assert len(specs) >= 2 * 10 and all(len(s.sets) == 4 for s in specs)
    session_ids = [s.id for s in specs]
    with store.session() as db:
        for spec in specs:  # the real path: documents validated as POST /api/sessions validates them
            service.ingest_session(db, perfdb.session_document(spec, rx), now=NOW)
        ingested = _snapshot(db, session_ids)
        for sid in session_ids:
            db.delete(db.get(Session, sid))
        db.commit()
        rows = perfdb.Rows()
        for spec in specs:
            perfdb.session_rows(spec, rx, rows, received_at=NOW)
        perfdb.insert_rows(db, rows)
        db.commit()
        db.expire_all()
        bulk = _snapshot(db, session_ids)
    assert len(ingested["sets"]) == 4 * len(specs) and len(ingested["reps"]) == 3 * 4 * len(specs)
    for table in ingested:
        assert bulk[table] == ingested[table], table


def test_patient_list_figures_match_the_per_patient_ones(store) -> None:  # type: ignore[no-untyped-def]
    with store.session() as db:
        # a declining patient (seed_demo), a clinic patient who stopped 10 days ago (missed sessions),
        # one with a paused plan, one with a plan and no session, one without a plan, one demo-only
        seed_demo(db, now=NOW)
        ids, rx = perfdb.make_patients(store, 2, plan_made=NOW - timedelta(days=9 + 0.1 * 365.25 + 1))
        rows = perfdb.Rows()
        for spec in perfdb.session_specs(ids, years=0.1, per_week=5, now=NOW - timedelta(days=9)):
            perfdb.session_rows(spec, rx, rows, received_at=NOW)
        perfdb.insert_rows(db, rows)
        db.commit()
        for pid in ids:  # bulk rows skip ingest's alert refresh: the list reads decline alerts as stored
            trends.refresh_alerts(db, db.get(perfdb.Patient, pid), now=NOW)
        paused = db.get(perfdb.Patient, ids[1])
        service.update_patient(db, paused, plan_paused=True)
        fresh = service.create_patient(db, name="New, plan only")
        service.create_prescription(db, fresh, {"exercise": "knee_flexion", "side": "left", "mode": "active",
                                                "posture": "seated", "target_min": 90, "target_max": 120,
                                                "safe_max": 130, "reps": 10, "hold_s": 1.0, "sessions_per_week": 3},
                                    created_at=NOW - timedelta(days=1))
        service.create_patient(db, name="No plan")
        demo_only = service.create_patient(db, name="Demo only")
        service.ingest_session(db, synthetic_session(demo_only.id, NOW - timedelta(days=2), [
            {"exercise": "knee_flexion", "side": "left", "mode": "active", "posture": "seated", "peak": 100.0}],
            demo=True), now=NOW)
        patients = service.list_patients(db)
        first = trends.patient_summaries(db, patients, now=NOW)
        expected = [service.patient_public(db, p, now=NOW) for p in patients]  # the full per-patient refresh
        again = trends.patient_summaries(db, patients, now=NOW)
    assert first == expected == again
    by_name = {p["name"]: p for p in expected}
    assert by_name["Demo patient (synthetic)"]["open_alerts"] >= 1  # the knee's decline
    assert by_name["Bench patient 001 (synthetic)"]["open_alerts"] == 2  # the knee's decline; missed sessions
    assert by_name["Bench patient 002 (synthetic)"]["open_alerts"] == 0  # paused plan: muted
    assert by_name["Bench patient 001 (synthetic)"]["adherence_7d"] == 0.0
    assert 0.5 < by_name["Bench patient 001 (synthetic)"]["adherence_30d"] < 1.0
    assert by_name["New, plan only"]["adherence_30d"] == 0.0
    assert by_name["No plan"]["adherence_7d"] is None
    assert by_name["Demo only"]["last_session_at"] is None  # the demo video is no session of theirs


@pytest.mark.parametrize(
    "mode, subject, option, people",
    [
        ("active", "auto", None, 1),  # the patient alone: one person, as `romcam analyze` does
        ("passive", "auto", None, 2),  # a caregiver moves the limb: two
        ("active_assisted", "auto", None, 2),
        ("active", "image-left", None, 2),  # the patient chosen among several
        ("active", "auto", 2, 2),  # LiveOptions.people overrides
    ],
)
def test_the_live_worker_looks_for_a_caregiver_only_when_one_is_expected(mode, subject, option, people) -> None:
    from dataclasses import replace

    from romcam.live.capture import CaptureWorker, LiveOptions
    from romcam.live.plan import measure_only

    plan = [measure_only("elbow_flexion", "left"), replace(measure_only("shoulder_abduction", "left"), mode=mode)]
    worker = CaptureWorker(LiveOptions(source="x.mp4", people=option), plan, recorder=None, subject=subject)
    assert worker.people() == people


def test_a_partial_bench_run_keeps_the_other_parts_saved_results(tmp_path: Path) -> None:
    """`make bench`'s ``--only`` runs some parts; the others keep their saved figures and dates."""
    from benchmarks.perf import keep_saved_parts, render_markdown, table_rows

    saved = tmp_path / "perf.json"
    first = {"date": "2026-01-01T00:00:00+00:00", "memory": {"minutes": [1, 10], "peak_rss_mb_first": 300.0,
                                                            "peak_rss_mb_second": 301.0, "peak_growth_mb": 1.0},
             "passive": {"scene": "old"}}
    assert not keep_saved_parts(dict(first), {"memory"}, saved)  # nothing saved yet
    saved.write_text(json.dumps(first))
    doc = {"date": "2026-02-02T00:00:00+00:00", "quick": False, "minutes": 1.0, "machine": "m",
           "load_at_start": [0, 0, 0], "load_at_end": [0, 0, 0],
           "clip": {"name": "c", "seconds": 61.0, "width": 640, "height": 480, "fps": 30.0},
           "passive": {"scene": "hip flexion lying side", "fps": {"patient pass": 10.0, "no patient pass": 15.0,
                                                                 "one person": 40.0},
                       "cost_of_pass": 1.5, "cost_vs_one_person": 4.0}}
    assert keep_saved_parts(doc, {"passive"}, saved)
    assert doc["memory"] == first["memory"]  # kept
    assert doc["passive"]["scene"] == "hip flexion lying side"  # this run's, not the saved one
    assert doc["part_dates"] == {"passive": doc["date"], "memory": first["date"]}
    rows = table_rows(doc)
    assert [r["part"] for r in rows] == ["4 memory", "7 passive", "7 passive"]
    assert "1.50x; 4.00x" in rows[-1]["value"]
    assert "Parts kept from earlier runs: memory (2026-01-01T00:00:00+00:00)." in render_markdown(doc, "")
