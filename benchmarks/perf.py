"""`make bench`: the whole path against the pose model's own speed (issue 8), in one table.

1. model — MediaPipe PoseLandmarker alone (VIDEO mode, the options ``romcam analyze`` uses) on a
   60 s rendered 640x480 30 fps clip: frames decoded ahead in batches, only inference timed.
2. analyze — ``romcam.analysis.analyze_video`` (what ``romcam analyze`` runs, in this process:
   decode, pose, subject, angles, filter, reps, the result) on the same clip; fps and ratio to (1).
   (1) and (2) alternate for ``--rounds`` rounds; the ratio is the median of the rounds' ratios.
3. live — the capture worker of ``romcam serve`` (``benchmarks/live.py``'s harness, in process) on
   the clip's first 20 s at 30 fps: camera-like (newest-frame grabber), file (own frame rate) and every-frame;
   sustained fps, frame-to-event latency and its ratio to (1)'s inference time, and whether the
   latency grows (a queue would make it grow).
4. memory — a real ``romcam serve --source CLIP --loop`` subprocess with a WebSocket viewer (the
   coaching page before Start: every frame through the pipeline, events to the client): peak RSS
   (VmHWM) after 1 and after 10 minutes (``--quick``: 1 and 3).
5. dashboard — a clinic of 200 patients x 2 years x 5 sessions a week x 4 motions
   (benchmarks/perfdb.py) on SQLite and, when its binaries are installed, PostgreSQL: the real
   FastAPI app under uvicorn on loopback, timed over HTTP with an httpx client.
6. models — every ``models/*.task`` and each ``--model PATH``: (1) and (2) on the same clip.
7. passive — what a caregiver in frame costs: ``analyze_video`` with two people expected (``romcam
   analyze --mode passive --posture lying``) on a rendered two-person clip (the hip-flexion lying
   scene of benchmarks/two_person.py), with the patient pass (the default) and without it, and the
   same clip analysed as one person's; rounds alternate, the ratios are medians of per-round ratios.

Prints one table and writes ``benchmarks/results/perf.json`` and ``perf.md``. With ``--only`` the
parts not run are kept from the results already there (each part keeps the date it ran). The
rendered clips are cached in the temp folder (``romcam-bench-perf``), never in git.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(tempfile.gettempdir()) / "romcam-bench-perf"
MODELS_DIR = ROOT / "models"


def clip_spec():  # type: ignore[no-untyped-def]
    from romcam.render import RenderSpec

    # 14 reps of 4.3 s: a 61 s clip, 1,831 frames at 30 fps, 640x480
    return RenderSpec(exercise="shoulder_abduction", side="left", view="front", reps=14, rep_s=3.0, hold_s=0.5,
                      rest_s=0.8, fps=30.0, width=640, height=480, seed=8)


def bench_clip() -> Path:
    from romcam.render import render_clip

    CACHE.mkdir(parents=True, exist_ok=True)
    clip = CACHE / "abduction_61s_640x480_30fps.mp4"
    if not clip.exists():
        print(f"rendering the 61 s benchmark clip → {clip} (about a minute)", flush=True)
        tmp = clip.with_name(".rendering.mp4")
        render_clip(clip_spec(), tmp)
        tmp.with_suffix(".truth.json").replace(clip.with_suffix(".truth.json"))
        tmp.replace(clip)
    return clip


def live_clip(clip: Path, seconds: float = 20.0) -> Path:
    """The first ``seconds`` of the benchmark clip (the live modes play in real time: 20 s each)."""
    import cv2

    out = CACHE / f"abduction_{seconds:g}s_640x480_30fps.mp4"
    if not out.exists():
        cap = cv2.VideoCapture(str(clip))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        tmp = out.with_name(".cutting.mp4")
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
        for _ in range(int(seconds * fps)):
            ok, image = cap.read()
            if not ok:
                break
            writer.write(image)
        writer.release()
        cap.release()
        tmp.replace(out)
    return out


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- 1. the model alone -------------------------------------------------------------------------------

def model_alone(clip: Path, model: Path, *, batch: int = 120, max_frames: int | None = None,
                masks: bool = True) -> dict[str, Any]:
    """Inference only: frames decoded and converted to RGB in batches beforehand, then one
    ``detect_for_video`` per frame, timed. With ``masks`` the model also gives each person's
    segmentation mask, as romcam asks it to (romcam/pose.py reads it along the limbs)."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from romcam.pose import _quiet_native_stderr, check_model

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(check_model(model))),
                                           running_mode=vision.RunningMode.VIDEO, num_poses=1,
                                           output_segmentation_masks=masks)
    with _quiet_native_stderr():
        landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    per_frame: list[float] = []
    found = 0
    index = 0
    try:
        while True:
            images = []
            for _ in range(batch if max_frames is None else min(batch, max_frames - index)):
                ok, image = cap.read()
                if not ok:
                    break
                images.append(mp.Image(image_format=mp.ImageFormat.SRGB,
                                       data=np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))))
            if not images:
                break
            for img in images:
                ms = int(round(index * 1000.0 / fps))
                t0 = time.perf_counter()
                if index == 0:
                    with _quiet_native_stderr():
                        result = landmarker.detect_for_video(img, ms)
                else:
                    result = landmarker.detect_for_video(img, ms)
                per_frame.append(time.perf_counter() - t0)
                found += bool(result.pose_landmarks)
                index += 1
    finally:
        cap.release()
        with _quiet_native_stderr():
            landmarker.close()
    total = sum(per_frame)
    ms = np.array(per_frame[5:]) * 1000.0  # after warm-up
    return {"frames": len(per_frame), "frames_with_person": found, "seconds": round(total, 2),
            "fps": round(len(per_frame) / total, 1), "inference_ms_median": round(float(np.median(ms)), 1),
            "inference_ms_p95": round(float(np.percentile(ms, 95)), 1)}


# --- 2. romcam analyze ----------------------------------------------------------------------------------

def analyze_run(clip: Path, model: Path) -> dict[str, Any]:
    """``analyze_video`` timed whole, and its pose stage (``PoseEstimator.process``: RGB conversion,
    the model, conversion of its result) timed inside the same run: ``pose_share`` is the pose stage's
    share of the whole, a ratio that the machine's changing load cannot skew."""
    from unittest import mock

    from romcam.analysis import analyze_video
    from romcam.pose import PoseEstimator

    pose_seconds = 0.0
    process = PoseEstimator.process

    def timed(self: PoseEstimator, *args: Any, **kwargs: Any) -> Any:
        nonlocal pose_seconds
        t = time.perf_counter()
        try:
            return process(self, *args, **kwargs)
        finally:
            pose_seconds += time.perf_counter() - t

    with mock.patch.object(PoseEstimator, "process", timed):
        t0 = time.perf_counter()
        result = analyze_video(clip, "shoulder_abduction", "left", model_path=model)
        seconds = time.perf_counter() - t0
    return {"frames": result.frames, "seconds": round(seconds, 2), "fps": round(result.frames / seconds, 1),
            "pose_seconds": round(pose_seconds, 2), "pose_share": round(pose_seconds / seconds, 3),
            "reps": len(result.reps), "frames_with_subject": result.frames_with_subject}


def model_and_analyze(clip: Path, model: Path, rounds: int) -> dict[str, Any]:
    runs = []
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}: model alone …", flush=True)
        m = model_alone(clip, model)
        print(f"    {m['fps']} fps; without the segmentation masks …", flush=True)
        bare = model_alone(clip, model, masks=False)
        print(f"    {bare['fps']} fps; romcam analyze …", flush=True)
        a = analyze_run(clip, model)
        print(f"    {a['fps']} fps (ratio {a['fps'] / m['fps']:.3f}); load {load()}", flush=True)
        runs.append({"model": m, "model_no_masks": bare, "analyze": a, "ratio": round(a["fps"] / m["fps"], 3),
                     "mask_ratio": round(m["fps"] / bare["fps"], 3), "load": load()})
    return {"model_path": str(model), "rounds": runs,
            "model_fps": round(statistics.median(r["model"]["fps"] for r in runs), 1),
            "inference_ms_median": round(statistics.median(r["model"]["inference_ms_median"] for r in runs), 1),
            "analyze_fps": round(statistics.median(r["analyze"]["fps"] for r in runs), 1),
            "ratio": round(statistics.median(r["ratio"] for r in runs), 3),
            "pose_share": round(statistics.median(r["analyze"]["pose_share"] for r in runs), 3),
            "model_no_masks_fps": round(statistics.median(r["model_no_masks"]["fps"] for r in runs), 1),
            "mask_ratio": round(statistics.median(r["mask_ratio"] for r in runs), 3)}


# --- 7. passive ------------------------------------------------------------------------------------------

def passive_clip() -> tuple[Path, Any]:
    """The two-person benchmark's hip-flexion lying scene (15 fps, 480x360), rendered once."""
    from benchmarks.two_person import SCENES
    from romcam.render import render_clip

    scene = next(s for s in SCENES if s.name == "hip flexion lying side")
    CACHE.mkdir(parents=True, exist_ok=True)
    clip = CACHE / "passive_hip_flexion_lying_480x360_15fps.mp4"
    if not clip.exists():
        tmp = clip.with_name(".rendering-passive.mp4")
        render_clip(scene.spec(), tmp)
        tmp.with_suffix(".truth.json").replace(clip.with_suffix(".truth.json"))
        tmp.replace(clip)
    return clip, scene


def passive_run(clip: Path, scene: Any, model: Path, variant: str) -> dict[str, Any]:
    """``analyze_video`` timed whole: ``variant`` "patient pass" (two people, the default path of
    ``--mode passive``), "no patient pass" (the same without it) or "one person" (``people=1`` and
    no posture: the active path's cost on the same frames; it measures whoever the model finds)."""
    from contextlib import nullcontext
    from unittest import mock

    from romcam.analysis import analyze_video
    from romcam.pose import PoseEstimator
    from romcam.subject import SubjectTracker

    people = 1 if variant == "one person" else 2
    off = (mock.patch.object(SubjectTracker, "focus", lambda self: None) if variant == "no patient pass"
           else nullcontext())
    counts: dict[str, int] = {}
    close = PoseEstimator.close

    def counted(self: PoseEstimator) -> None:  # the pose stage's pass counts, read as it closes
        counts.update(focus_runs=self.focus_runs, focus_used=self.focus_used, second_pass_runs=self.second_pass_runs)
        close(self)

    with off, mock.patch.object(PoseEstimator, "close", counted):
        t0 = time.perf_counter()
        result = analyze_video(clip, scene.exercise, scene.side, model_path=model, subject="auto",
                               posture=scene.posture if people > 1 else None, people=people,
                               mode="passive" if people > 1 else "active")
        seconds = time.perf_counter() - t0
    return {"variant": variant, "frames": result.frames, "seconds": round(seconds, 2),
            "fps": round(result.frames / seconds, 1), "frames_measured": result.measured, **counts}


def passive(model: Path, rounds: int) -> dict[str, Any]:
    clip, scene = passive_clip()
    variants = ("patient pass", "no patient pass", "one person")
    runs = []
    for r in range(rounds):
        got = {}
        for v in variants:
            got[v] = passive_run(clip, scene, model, v)
            print(f"  round {r + 1}/{rounds}: {v}: {got[v]['fps']} fps", flush=True)
        runs.append({"runs": got, "load": load(),
                     "cost_of_pass": round(got["no patient pass"]["fps"] / got["patient pass"]["fps"], 3),
                     "cost_vs_one_person": round(got["one person"]["fps"] / got["patient pass"]["fps"], 3)})
    return {"clip": clip.name, "scene": scene.name, "rounds": runs,
            "fps": {v: round(statistics.median(r["runs"][v]["fps"] for r in runs), 1) for v in variants},
            "cost_of_pass": round(statistics.median(r["cost_of_pass"] for r in runs), 3),
            "cost_vs_one_person": round(statistics.median(r["cost_vs_one_person"] for r in runs), 3),
            "frames_measured": {v: runs[-1]["runs"][v]["frames_measured"] for v in variants}}


# --- 3. live ---------------------------------------------------------------------------------------------

def live(clip: Path, modes: list[str], model: Path) -> list[dict[str, Any]]:
    """Each mode right after a short run of the model alone (300 frames), so that the ratios compare
    figures taken minutes apart at most on a machine whose load changes."""
    from benchmarks.live import run_mode

    rows = []
    for mode in modes:
        print(f"  model alone (300 frames), then live {mode} …", flush=True)
        nearby = model_alone(clip, model, max_frames=300)
        row = run_mode(clip, mode, keep_series=True)
        lat = row.pop("latency_series")
        q = max(1, len(lat) // 4)
        row["latency_ms_first_quarter"] = round(float(np.median(lat[:q])), 1)
        row["latency_ms_last_quarter"] = round(float(np.median(lat[-q:])), 1)
        row["load"] = load()
        row["model_fps_nearby"] = nearby["fps"]
        row["model_inference_ms_nearby"] = nearby["inference_ms_median"]
        print(f"    model {nearby['fps']} fps; live {row['sustained_fps']} fps, latency median "
              f"{row['latency_ms_median']} ms", flush=True)
        rows.append(row)
    return rows


# --- 4. memory -------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def memory(clip: Path, minutes: tuple[float, float], work: Path) -> dict[str, Any]:
    """``romcam serve`` on the looping clip with one WebSocket viewer; RSS sampled every 5 s."""
    import urllib.request

    from websockets.sync.client import connect

    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"HOME": str(work), "ROMCAM_DATA": str(work / "data")}
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--port", str(port), "--db",
                             f"sqlite:///{work / 'serve.db'}", "--source", str(clip), "--loop", "--exercise",
                             "shoulder_abduction", "--side", "left"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    frames = 0
    stop = threading.Event()
    samples: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/live/status", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (work / "serve.log").read_text()[-2000:]
                    raise RuntimeError(f"romcam serve did not start: {tail}") from None
                time.sleep(0.3)

        first = threading.Event()

        def viewer() -> None:
            nonlocal frames
            with connect(f"ws://127.0.0.1:{port}/live/ws", open_timeout=30) as ws:
                while not stop.is_set():
                    try:
                        message = ws.recv(timeout=1.0)
                    except TimeoutError:
                        continue
                    if '"type":"frame"' in message.replace(" ", ""):
                        frames += 1
                        first.set()

        thread = threading.Thread(target=viewer, daemon=True)
        thread.start()
        if not first.wait(120):
            raise RuntimeError("no frame event within 120 s")
        t0 = time.monotonic()
        marks = {}
        for label, at in (("first", minutes[0]), ("second", minutes[1])):
            while time.monotonic() - t0 < at * 60:
                time.sleep(5)
                status = json.loads(urllib.request.urlopen(base + "/live/status", timeout=5).read())
                samples.append({"s": round(time.monotonic() - t0), "rss_kb": _proc_kb(proc.pid, "VmRSS"),
                                "hwm_kb": _proc_kb(proc.pid, "VmHWM"), "frames_processed": status["frames_processed"],
                                "effective_fps": status["effective_fps"], "state": status["state"]})
            marks[label] = dict(samples[-1], minutes=at)
            print(f"  after {at:g} min: peak RSS {marks[label]['hwm_kb'] / 1024:.1f} MB, "
                  f"{marks[label]['frames_processed']} frames", flush=True)
        stop.set()
        thread.join(timeout=5)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    growth = (marks["second"]["hwm_kb"] - marks["first"]["hwm_kb"]) / 1024
    rss_growth = (marks["second"]["rss_kb"] - marks["first"]["rss_kb"]) / 1024
    return {"minutes": list(minutes), "peak_rss_mb_first": round(marks["first"]["hwm_kb"] / 1024, 1),
            "peak_rss_mb_second": round(marks["second"]["hwm_kb"] / 1024, 1), "peak_growth_mb": round(growth, 1),
            "rss_growth_mb": round(rss_growth, 1), "frames_processed": marks["second"]["frames_processed"],
            "frame_events_received": frames, "samples": samples}


# --- 5. dashboard ----------------------------------------------------------------------------------------

class Postgres:
    """A PostgreSQL server of our own (started as tests/db_fixtures.py starts one) whose data
    directory ``root`` is kept between runs (the seeded clinic is cached there); ``bin`` is None
    without PostgreSQL's binaries."""

    def __init__(self, root: Path) -> None:
        import glob

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
        self.bin = Path(found[-1]).parent if found else None
        self.root = root
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.base = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        assert self.bin is not None
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        if not (self.root / "data" / "PG_VERSION").exists():
            shutil.rmtree(self.root / "data", ignore_errors=True)
            self._run(str(self.bin / "initdb"), "-D", str(self.root / "data"), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "start")

    def sql(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                               isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


def seed_key(patients: int, years: float) -> str:
    """What the cached clinic depends on: its size, the seeding code and the schema's migrations."""
    import hashlib

    from benchmarks.perfdb import SEED_VERSION

    h = hashlib.sha256(str(SEED_VERSION).encode())
    for f in sorted((ROOT / "romcam" / "store" / "alembic" / "versions").glob("*.py")):
        h.update(f.read_bytes())
    return f"{patients}p-{years:g}y-{h.hexdigest()[:10]}"


def _save_seed(path: Path, seeded: Any) -> None:
    path.write_text(json.dumps({"patient_ids": [str(p) for p in seeded.patient_ids],
                                "rx": [[str(p), m, str(r), v] for (p, m), (r, v) in seeded.rx.items()],
                                "sessions": seeded.sessions, "ingested": seeded.ingested,
                                "seconds": seeded.seconds}))


def _load_seed(path: Path) -> Any:
    from benchmarks.perfdb import SeedResult

    d = json.loads(path.read_text())
    return SeedResult([uuid.UUID(p) for p in d["patient_ids"]],
                      {(uuid.UUID(p), m): (uuid.UUID(r), v) for p, m, r, v in d["rx"]},
                      d["sessions"], d["ingested"], d["seconds"])


def sqlite_clinic(patients: int, years: float, work: Path) -> tuple[str, Any]:
    """A copy (in ``work``) of the seeded SQLite clinic, seeded first if it is not cached yet."""
    cached = CACHE / f"clinic-{seed_key(patients, years)}.db"
    meta = cached.with_suffix(".json")
    if not (cached.exists() and meta.exists()):
        tmp = cached.with_name(".seeding.db")
        for leftover in CACHE.glob(".seeding.db*"):
            leftover.unlink()
        store, seeded = dashboard_seed(f"sqlite:///{tmp}", patients=patients, years=years)
        store.close()
        tmp.replace(cached)
        _save_seed(meta, seeded)
    shutil.copy(cached, work / "clinic.db")
    return f"sqlite:///{work / 'clinic.db'}", _load_seed(meta)


def postgres_clinic(patients: int, years: float) -> tuple[Postgres, str, Any]:
    """A started PostgreSQL with a fresh copy (CREATE DATABASE ... TEMPLATE) of the seeded clinic."""
    pg = Postgres(CACHE / f"pg-clinic-{seed_key(patients, years)}")
    pg.start()
    meta = CACHE / f"pg-clinic-{seed_key(patients, years)}.json"
    if not meta.exists():
        pg.sql("DROP DATABASE IF EXISTS romcam_bench")
        pg.sql("CREATE DATABASE romcam_bench")
        store, seeded = dashboard_seed(f"{pg.base}/romcam_bench", patients=patients, years=years)
        store.close()
        _save_seed(meta, seeded)
    pg.sql("DROP DATABASE IF EXISTS romcam_run")
    pg.sql("CREATE DATABASE romcam_run TEMPLATE romcam_bench")
    return pg, f"{pg.base}/romcam_run", _load_seed(meta)


def dashboard_seed(url: str, *, patients: int, years: float) -> tuple[Any, Any]:
    """Open (migrate) the database at ``url`` and seed the clinic; returns (store, seed result)."""
    from benchmarks import perfdb
    from romcam.store import Store

    store = Store(url)
    name = store.engine.dialect.name
    print(f"  {name}: seeding {patients} patients x {years:g} years …", flush=True)
    seeded = perfdb.seed_clinic(store, patients=patients, years=years,
                                progress=lambda n: print(f"    {name}: {n} sessions", flush=True))
    print(f"    {name}: {seeded.sessions} sessions in {seeded.seconds:.0f} s", flush=True)
    if name == "postgresql":
        from sqlalchemy import text

        with store.engine.connect() as conn:  # fresh statistics after the bulk load, as autovacuum would
            conn.execute(text("ANALYZE"))
            conn.commit()
    return store, seeded


def dashboard_time(store: Any, seeded: Any, *, repeat: int, ingest: int) -> dict[str, Any]:
    """Time the endpoints over HTTP (uvicorn on loopback, an httpx client), then ingest new sessions."""
    import random

    import httpx2
    from sqlalchemy import select

    from benchmarks import perfdb
    from romcam.store.models import Session

    now = datetime.now(UTC)
    rng = random.Random(1)
    pids = rng.sample(seeded.patient_ids, min(20, len(seeded.patient_ids)))
    with store.session() as db:
        session_ids = [db.scalar(select(Session.id).where(Session.patient_id == p)
                                 .order_by(Session.started_at.desc()).offset(rng.randrange(0, 500)).limit(1))
                       for p in pids]
    trend_urls = [f"/api/patients/{p}/trends?exercise={m[0]}&side={m[1]}" for p in pids for m in perfdb.MOTIONS]
    # new sessions to ingest through the API: today's, one set per motion
    new = [perfdb.SessionSpec(uuid.uuid4(), p, now - timedelta(minutes=30 + i),
                              tuple(perfdb.SetSpec(m, 100.0 + i % 7) for m in range(len(perfdb.MOTIONS))))
           for i, p in enumerate(rng.choices(seeded.patient_ids, k=ingest))]
    docs = [json.dumps(perfdb.session_document(s, seeded.rx)) for s in new]
    out: dict[str, Any] = {"backend": store.engine.dialect.name, "patients": len(seeded.patient_ids),
                           "sessions": seeded.sessions, "sets": seeded.sessions * len(perfdb.MOTIONS),
                           "seeded_through_ingest": seeded.ingested, "seed_seconds": round(seeded.seconds, 1),
                           "load_before": load()}
    # trust_env=False: romcam.pose points all_proxy at a closed port (MediaPipe's telemetry); httpx would follow it
    with perfdb.ServerThread(store, free_port()) as server, \
            httpx2.Client(base_url=server.base, timeout=120, trust_env=False) as client:
        for url_ in (trend_urls[:3] + ["/api/patients"] + [f"/api/sessions/{s}" for s in session_ids[:3]]):
            client.get(url_)  # warm-up
        print(f"  {out['backend']}: timing …", flush=True)
        out["trend"] = perfdb.time_requests(client, trend_urls, repeat=repeat)
        out["patient_list"] = perfdb.time_requests(client, ["/api/patients"], repeat=max(20, 10 * repeat))
        out["session_data"] = perfdb.time_requests(client, [f"/api/sessions/{s}" for s in session_ids],
                                                   repeat=repeat)
        out["session_page"] = perfdb.time_requests(client, [f"/sessions/{s}" for s in session_ids], repeat=repeat)
        out["patient_count_listed"] = len(client.get("/api/patients").json())
        t0 = time.perf_counter()
        for body in docs:
            r = client.post("/api/sessions", content=body, headers={"content-type": "application/json"})
            if r.status_code != 201:
                raise RuntimeError(f"POST /api/sessions → {r.status_code}: {r.text[:300]}")
        seconds = time.perf_counter() - t0
        out["ingest"] = {"sessions": len(docs), "seconds": round(seconds, 2),
                         "sessions_per_s": round(len(docs) / seconds, 1)}
    out["load_after"] = load()
    return out


# --- the table --------------------------------------------------------------------------------------------

PARTS = ("model", "live", "memory", "dashboard", "models", "passive")
PART_KEYS = {"model": ("model_analyze",), "live": ("live", "live_error"), "memory": ("memory",),
             "dashboard": ("dashboard", "postgresql"), "models": ("models",), "passive": ("passive",)}


def _row(part: str, what: str, value: str, target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"part": part, "what": what, "value": value, "target": target,
            "ok": None if ok is None else bool(ok)}


def table_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    ma = doc.get("model_analyze")
    if ma:
        rows.append(_row("1 model", "pose inference alone, with the segmentation masks romcam reads (fps; median ms "
                         "a frame)", f"{ma['model_fps']} fps; {ma['inference_ms_median']} ms"))
        if "mask_ratio" in ma:
            rows.append(_row("1 model", "the masks' own cost: the model alone without them (fps; ratio with / without)",
                             f"{ma['model_no_masks_fps']} fps; {ma['mask_ratio']:.3f}"))
        rows.append(_row("2 analyze", "romcam analyze, whole pipeline incl. decode (fps; ratio to 1)",
                         f"{ma['analyze_fps']} fps; {ma['ratio']:.3f}", ">= 0.90", ma["ratio"] >= 0.90))
        if "pose_share" in ma:
            rows.append(_row("2 analyze", "the pose stage's share of analyze's own time (same run)",
                             f"{ma['pose_share']:.3f}", ">= 0.90", ma["pose_share"] >= 0.90))
    for r in doc.get("live", []):
        src = r.get("source_fps") or 30.0
        model_fps, inf = r["model_fps_nearby"], r["model_inference_ms_nearby"]
        want = 0.95 * (model_fps if r["mode"] == "every-frame" else min(model_fps, src))
        fps_ok = None if r["sustained_fps"] is None else r["sustained_fps"] >= want
        rows.append(_row("3 live", f"{r['mode']}: sustained fps, dropped frames (model alone just before: "
                         f"{model_fps} fps)", f"{r['sustained_fps']}, {r['dropped_frames']} dropped", f">= {want:.1f}",
                         fps_ok))
        ratio = r["latency_ms_median"] / inf
        own = r["latency_ms_median"] / r["inference_ms_median"]
        rows.append(_row("3 live", f"{r['mode']}: latency median / p95 ms (median / model-alone inference "
                         f"{inf} ms; / the live estimator's own {r['inference_ms_median']} ms)",
                         f"{r['latency_ms_median']} / {r['latency_ms_p95']} ({ratio:.2f}x; {own:.2f}x)",
                         "<= 1.5x" if r["mode"] != "every-frame" else "",
                         None if r["mode"] == "every-frame" else ratio <= 1.5))
        grows = r["latency_ms_last_quarter"] > 1.5 * r["latency_ms_first_quarter"] + 5
        rows.append(_row("3 live", f"{r['mode']}: latency first / last quarter ms (no growing queue)",
                         f"{r['latency_ms_first_quarter']} / {r['latency_ms_last_quarter']}", "no growth",
                         not grows))
    mem = doc.get("memory")
    if mem and "error" in mem:
        rows.append(_row("4 memory", "romcam serve peak RSS", f"failed: {mem['error']}", "< 20 MB growth", False))
    elif mem:
        a, b = mem["minutes"]
        rows.append(_row("4 memory", f"romcam serve peak RSS after {a:g} / {b:g} min (growth)",
                         f"{mem['peak_rss_mb_first']} / {mem['peak_rss_mb_second']} MB ({mem['peak_growth_mb']:+} MB)",
                         "< 20 MB", mem["peak_growth_mb"] < 20))
    for d in doc.get("dashboard", []):
        b = d["backend"]
        sq = b == "sqlite"
        rows.append(_row(f"5 {b}", f"trend endpoint median / p95 ms ({d['trend']['n']} requests)",
                         f"{d['trend']['median_ms']} / {d['trend']['p95_ms']}", "p95 <= 50" if sq else "",
                         d["trend"]["p95_ms"] <= 50 if sq else None))
        rows.append(_row(f"5 {b}", f"patient list ({d['patient_count_listed']} patients) median / p95 ms",
                         f"{d['patient_list']['median_ms']} / {d['patient_list']['p95_ms']}",
                         "p95 <= 100" if sq else "", d["patient_list"]["p95_ms"] <= 100 if sq else None))
        rows.append(_row(f"5 {b}", "session page: data (GET /api/sessions/ID) / HTML shell, median / p95 ms",
                         f"{d['session_data']['median_ms']} / {d['session_data']['p95_ms']}; "
                         f"{d['session_page']['median_ms']} / {d['session_page']['p95_ms']}"))
        rows.append(_row(f"5 {b}", "ingest through POST /api/sessions (sessions/s)",
                         f"{d['ingest']['sessions_per_s']}"))
    for m in doc.get("models", []):
        rows.append(_row("6 models", f"{Path(m['model_path']).name}: model alone / analyze fps (ratio)",
                         f"{m['model_fps']} / {m['analyze_fps']} ({m['ratio']:.3f})", ">= 0.90",
                         m["ratio"] >= 0.90))
    pa = doc.get("passive")
    if pa:
        f = pa["fps"]
        rows.append(_row("7 passive", f"romcam analyze --mode passive, two people ({pa['scene']}): fps with the "
                         "patient pass / without it / the clip as one person's",
                         f"{f['patient pass']} / {f['no patient pass']} / {f['one person']} fps"))
        rows.append(_row("7 passive", "time with the patient pass over time without it; over one person's",
                         f"{pa['cost_of_pass']:.2f}x; {pa['cost_vs_one_person']:.2f}x"))
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    mark = {True: "yes", False: "**no**", None: ""}
    lines = ["| part | measure | value | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {r['part']} | {r['what']} | {r['value']} | {r['target']} | {mark[r['ok']]} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="memory after 1 and 3 minutes (not 10), one round, "
                   "a smaller clinic: for trying, not for the results")
    p.add_argument("--model", action="append", default=[], metavar="PATH",
                   help="also bench this pose model bundle (repeatable), e.g. the official lite or heavy")
    p.add_argument("--only", default=",".join(PARTS),
                   help="comma-separated parts to run (model = parts 1 and 2); the others are kept from the "
                   "saved results")
    p.add_argument("--rounds", type=int, help="alternating model/analyze rounds (default 2; --quick 1)")
    p.add_argument("--patients", type=int, help="clinic size (default 200; --quick 20)")
    p.add_argument("--out", type=Path, help="where the results go (default benchmarks/results/; with --quick the "
                   "temp folder's romcam-bench-perf/, so a trial never replaces the committed results)")
    args = p.parse_args(argv)
    parts = set(args.only.split(","))
    quick = args.quick
    rounds = args.rounds or (1 if quick else 2)
    patients = args.patients or (20 if quick else 200)

    from romcam.pose import DEFAULT_MODEL, check_model

    extra = [check_model(m) for m in args.model]  # a wrong --model fails here, before anything runs
    import romcam.analysis  # noqa: F401  (imports are start-up cost, not the pipeline's)

    clip = bench_clip()
    started = datetime.now(UTC)
    doc: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"), "quick": quick,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}",
        "clip": {"name": clip.name, "seconds": 61.0, "fps": 30.0, "width": 640, "height": 480},
        "load_at_start": load(),
    }
    if "model" in parts:
        print("1-2. the model alone and romcam analyze", flush=True)
        doc["model_analyze"] = model_and_analyze(clip, DEFAULT_MODEL, rounds)
    if "live" in parts:
        print("3. live", flush=True)
        try:
            doc["live"] = live(live_clip(clip), ["camera", "file", "every-frame"], DEFAULT_MODEL)
        except Exception as exc:  # the other parts still run; the failure is in the results
            doc["live_error"] = repr(exc)
            print(f"live part failed: {exc!r}", flush=True)
    # the memory run (10 minutes of mostly waiting) goes on while the clinic databases are seeded; the
    # dashboard is timed after it ends
    mem_thread = None
    if "memory" in parts:
        minutes = (1.0, 3.0) if quick else (1.0, 10.0)
        print(f"4. memory of romcam serve after {minutes[0]:g} and {minutes[1]:g} min (in the background)",
              flush=True)
        mem_dir = tempfile.TemporaryDirectory(prefix="romcam-bench-serve-")
        mem_result: dict[str, Any] = {}

        def run_memory() -> None:
            try:
                mem_result.update(memory(clip, minutes, Path(mem_dir.name)))
            except Exception as exc:  # reported in the results, not lost in a thread
                mem_result["error"] = repr(exc)

        mem_thread = threading.Thread(target=run_memory, name="bench-memory")
        mem_thread.start()
    pg = None
    if "dashboard" in parts:
        from romcam.store import Store

        years, repeat, ingest = 2.0, 3, 50
        db_dir = tempfile.TemporaryDirectory(prefix="romcam-bench-db-")
        print("5. dashboard: the clinic databases (seeded once, then cached in the temp folder)", flush=True)
        url, result = sqlite_clinic(patients, years, Path(db_dir.name))
        seeded = [(Store(url), result)]
        if Postgres(CACHE).bin is None:
            doc["postgresql"] = "not installed: skipped"
        else:
            pg, url, result = postgres_clinic(patients, years)
            seeded.append((Store(url), result))
    if mem_thread is not None:
        mem_thread.join()
        mem_dir.cleanup()
        doc["memory"] = mem_result
        if "error" in mem_result:
            print(f"memory run failed: {mem_result['error']}", flush=True)
    if "dashboard" in parts:
        doc["dashboard"] = []
        try:
            for store, result in seeded:
                doc["dashboard"].append(dashboard_time(store, result, repeat=repeat, ingest=ingest))
                store.close()
        finally:
            if pg is not None:
                pg.stop()
            db_dir.cleanup()
    if "models" in parts:
        found = sorted(MODELS_DIR.glob("*.task"))
        doc["models"] = []
        for model in found + extra:
            if model.resolve() == DEFAULT_MODEL.resolve() and "model_analyze" in doc:
                doc["models"].append(doc["model_analyze"] | {"rounds": len(doc["model_analyze"]["rounds"])})
                continue
            print(f"6. model {model}", flush=True)
            doc["models"].append(model_and_analyze(clip, model, 1))
    if "passive" in parts:
        print("7. passive: two people expected, with and without the patient pass", flush=True)
        doc["passive"] = passive(DEFAULT_MODEL, rounds)
    doc["load_at_end"] = load()
    doc["minutes"] = round((datetime.now(UTC) - started).total_seconds() / 60, 1)
    rows = table_rows(doc)
    doc["table"] = rows
    table = markdown_table(rows)
    args.out = args.out or (CACHE / "results" if quick else RESULTS)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "perf-quick" if quick else "perf"
    if keep_saved_parts(doc, parts, args.out / f"{name}.json"):
        rows = table_rows(doc)
        doc["table"] = rows
        table = markdown_table(rows)
    print()
    print(table)
    (args.out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    (args.out / f"{name}.md").write_text(render_markdown(doc, table))
    print(f"wrote {args.out / (name + '.json')} and {args.out / (name + '.md')}")
    return 0


def keep_saved_parts(doc: dict[str, Any], parts: set[str], saved: Path) -> bool:
    """Fill ``doc`` (this run's results, of ``parts``) with the other parts' results from the ``saved``
    results file, if any, and record in ``doc["part_dates"]`` when each part ran. True if any was kept."""
    doc["part_dates"] = {part: doc["date"] for part in parts}
    if not saved.exists():
        return False
    old = json.loads(saved.read_text())
    kept = False
    for part in set(PARTS) - parts:
        for key in PART_KEYS[part]:
            if key in old:
                doc[key] = old[key]
                doc["part_dates"][part] = old.get("part_dates", {}).get(part, old["date"])
                kept = True
    return kept


def render_markdown(doc: dict[str, Any], table: str) -> str:
    dates = doc.get("part_dates", {})
    older = sorted(f"{part} ({d})" for part, d in dates.items() if d != doc["date"])
    kept = f" Parts kept from earlier runs: {', '.join(older)}." if older else ""
    return (f"# Performance benchmark (`make bench`)\n\n"
            f"Run {doc['date']} ({doc['minutes']} min{', --quick' if doc['quick'] else ''}) on {doc['machine']}; "
            f"load average (1, 5, 15 min) {doc['load_at_start']} at the start and {doc['load_at_end']} at the end "
            "— the 2 cores were shared with other work, so absolute figures are noisy; the targets are "
            f"ratios measured in the same run.{kept}\n\n"
            f"Clip: {doc['clip']['name']} (rendered by romcam.render, {doc['clip']['seconds']:g} s, "
            f"{doc['clip']['width']}x{doc['clip']['height']}, {doc['clip']['fps']:g} fps). Model: "
            "models/pose_landmarker_full.task on the CPU (XNNPACK).\n\n" + table + "\n\n" + NOTES)


NOTES = """How each figure is measured (benchmarks/perf.py):

1. MediaPipe PoseLandmarker alone, VIDEO mode, `num_poses=1` and each person's segmentation mask (as
   `romcam analyze` asks for them): frames decoded and converted to RGB in batches of 120 beforehand;
   only `detect_for_video` is timed. Beside it, in each round, the same without the masks: their cost
   is the model's (MediaPipe warps the mask to the frame), romcam's reading of them about 0.3 ms.
2. `analyze_video` (the function `romcam analyze` calls) in the same process, the whole call timed:
   open, decode (a second thread decodes ahead), pose, subject, angles, filters, reps, the result.
   Parts 1 and 2 alternate (rounds); the ratio is the median of the per-round ratios.
3. The capture worker `romcam serve` runs (benchmarks/live.py's harness, in process, so the
   frame-to-event latency can be read inside), on the clip's first 20 s, each mode right after 300
   frames of the model alone (the ratios' reference, taken close in time). Modes:
   camera-like = real-time delivery through the
   newest-frame grabber; file = the file at its own 30 fps; every-frame = as fast as possible. The
   plan is one active exercise, so the live estimator looks for one person, as part 1 does.
   "No growing queue": the median latency of the last quarter of the frames
   against the first.
4. A real `romcam serve --source CLIP --loop --exercise shoulder_abduction` subprocess with one
   WebSocket client (the coaching page before Start), peak RSS = VmHWM from /proc.
5. The real FastAPI app under uvicorn on 127.0.0.1, an httpx client over HTTP, one request at a
   time. Trend = `GET /api/patients/{id}/trends` (20 patients x 4 motions); patient list =
   `GET /api/patients`; session page = its data `GET /api/sessions/{id}` and its HTML shell
   `GET /sessions/{id}`; ingest = `POST /api/sessions` of new 4-set sessions (documents prepared
   beforehand). The clinic (benchmarks/perfdb.py): the first 20 sessions through `ingest_session`,
   the rest bulk-inserted as the same rows; each set has 3 reps and 100 samples.
7. `analyze_video` on benchmarks/two_person.py's hip-flexion lying scene (15 fps, 480x360, 142
   frames), three ways in each round: two people expected with the patient pass (what `romcam
   analyze --mode passive --posture lying` runs), the same with the pass turned off, and one person
   expected with no posture (an active set's path on the same frames). Two people expected, the
   first pass looks for two and a second pass (the picture turned) runs on every frame where it
   finds fewer; once the lying patient is locked the patient pass runs on every frame too.
"""


if __name__ == "__main__":
    raise SystemExit(main())
