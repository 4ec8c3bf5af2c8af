"""`romcam serve --source damaged.avi`: the live coach says, as `romcam analyze` does, that frames of a video damaged
in its middle were skipped — on the page in large type, in GET /live/status and in the saved session's warnings.

The damaged file is made as tests/test_source_damaged.py makes it (the rendered clip as AVI/MJPG, a tenth of its
bytes in the middle zeroed); a real `romcam serve` subprocess with real MediaPipe, a real chromium page pressing
Start. Without /usr/bin/chromium or the playwright package the test skips, unless CI is set: then it fails.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import cv2
from helpers import hold_live_ws, offline_page, require_browser, romcam_serve
from test_source_damaged import _damage, _stamped_avi


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def test_the_live_page_the_status_and_the_session_say_the_video_was_damaged(demo_clip: Path, tmp_path: Path,
                                                                            problems: list[str]) -> None:
    require_browser()
    damaged = tmp_path / "damaged.avi"
    n = _stamped_avi(demo_clip, damaged)
    _damage(damaged)
    cap = cv2.VideoCapture(str(damaged))
    read = 0
    while cap.read()[0]:
        read += 1
    cap.release()
    lost = n - read
    assert lost >= 5  # really damaged: OpenCV skips frames in the middle
    said = (f"damaged.avi could not be read in full: {lost} of its {n} frames ({lost / 15:.1f} s) are damaged and "
            f"were skipped, so the times after the damage are up to {lost / 15:.1f} s early")
    with romcam_serve(tmp_path, "--source", str(damaged), "--exercise", "shoulder_abduction", "--side", "left",
                      timeout=90) as (port, _):
        server = f"http://127.0.0.1:{port}"
        assert _get(port, "/live/status")["source_warning"] is None  # nothing known before the file is read
        with offline_page(server, problems, timeout_ms=30_000) as page:
            release = hold_live_ws(page)  # every rep of the clip is counted: it plays from Start
            page.goto(server + "/coach", wait_until="domcontentloaded")
            page.wait_for_selector("body[data-ready=true]")
            page.locator("#source-warning").wait_for(state="hidden")
            page.locator("#primary").click()  # Start
            page.wait_for_function("() => document.getElementById('primary').textContent.trim() !== 'Start'")
            release()
            note = page.locator("#source-warning")
            note.wait_for(state="visible", timeout=120_000)  # once the file was read to its end
            assert note.inner_text().startswith(said), note.inner_text()
            size = page.evaluate(
                "() => parseFloat(getComputedStyle(document.getElementById('source-warning')).fontSize)")
            assert size >= 24, size  # large type, read from across the room
        status = _get(port, "/live/status")
        assert status["source_warning"].startswith(said)
        assert status["state"] == "source_lost" and status["last_session_id"]
        session = _get(port, f"/api/sessions/{status['last_session_id']}")
        (stored,) = session["sets"]
        assert stored["warnings"][0].startswith(said), stored["warnings"]  # what the session page shows the PT


def test_every_set_of_the_session_gets_the_warning_the_ones_stored_already_too(demo_clip: Path,
                                                                              tmp_path: Path) -> None:
    """Two sets: the first is stored (finished) before the end of the file tells of the damage; both carry it."""
    from datetime import UTC, datetime, timedelta

    from conftest import DEMO_SPEC

    from romcam.analysis import analyze_video
    from romcam.live.coach import PlanItem
    from romcam.live.recorder import Recorder
    from romcam.measure import Sample
    from romcam.store.db import Store
    from romcam.store.service import get_session, session_detail

    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    measured = analyze_video(demo_clip, DEMO_SPEC.exercise, DEMO_SPEC.side)
    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    try:
        rec = Recorder(store, patient_id=store.local_patient_id, source="damaged.avi", demo=False, model="full")
        sid = rec.begin_session(now=t0)
        item = PlanItem(exercise=DEMO_SPEC.exercise, side=DEMO_SPEC.side, view="front", works="max",
                        joint="shoulder")
        for k in range(2):
            rec.begin_set(item, t=0.0, fps=DEMO_SPEC.fps, now=t0)
            for s in measured.samples:
                rec.add_sample(Sample(s.index, s.t, s.angle, s.confidence, s.view_ok, s.view_error, s.detail))
            if k == 0:
                rec.end_set()
                assert not rec.unsaved  # the first set is stored, without a warning
        rec.warn("damaged.avi could not be read in full")
        rec.end_session("interrupted", now=t0 + timedelta(minutes=1))
        assert not rec.unsaved
        with store.session() as db:
            detail = session_detail(db, get_session(db, sid))
        assert [s["warnings"][0] for s in detail["sets"]] == ["damaged.avi could not be read in full"] * 2
        assert [s["reps_full"] for s in detail["sets"]] == [DEMO_SPEC.reps] * 2  # stored again whole
    finally:
        store.close()


def test_a_looping_damaged_video_s_later_sessions_say_it_too(demo_clip: Path, tmp_path: Path) -> None:
    """`--loop`: the damage is known at the first pass's end; a session begun after that carries the warning."""
    import time

    from websockets.sync.client import connect

    damaged = tmp_path / "damaged.avi"
    _stamped_avi(demo_clip, damaged)
    _damage(damaged)
    with romcam_serve(tmp_path, "--source", str(damaged), "--loop", "--exercise", "shoulder_abduction", "--side",
                      "left", timeout=90) as (port, _), \
            connect(f"ws://127.0.0.1:{port}/live/ws", origin=f"http://127.0.0.1:{port}", open_timeout=10) as ws:
        deadline = time.monotonic() + 120
        warning = None
        while warning is None:  # the WebSocket client woke the file: wait for its first pass to end
            assert time.monotonic() < deadline, "the damage was never said"
            event = json.loads(ws.recv(timeout=30))
            warning = event.get("source_warning") if event.get("type") == "status" else None
        assert warning.startswith("damaged.avi could not be read in full: ")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/live/start", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read())["started"] is True
        while True:  # a few frames of the session
            event = json.loads(ws.recv(timeout=30))
            if event.get("type") == "frame" and event.get("session_id"):
                break
        req = urllib.request.Request(f"http://127.0.0.1:{port}/live/stop", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            sid = json.loads(r.read())["last_session_id"]
        session = _get(port, f"/api/sessions/{sid}")
        assert [s["warnings"][0] for s in session["sets"]] == [warning]
