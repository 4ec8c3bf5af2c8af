"""The laptop's own dashboard says "a session is being recorded now" only for the session its live coach is
recording (docs/live.md "Recording", docs/api.md ``recording_session_at``).

romcam killed mid-session (a power cut, a crash) leaves a session with no end time. The database rule
(trends.being_recorded) reads one begun under an hour ago as being recorded; the laptop's server knows better: its
coach records one session, or none. Real parts: a real SQLite database where the "crashed" session is written
through the store's live API (as the recorder writes it), real ``romcam serve`` subprocesses (with the live coach on
the rendered demo clip and real MediaPipe, and without one, as the clinic's server runs), their HTTP API, and the
patient list's words in Debian's chromium.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import DEMO_SPEC
from helpers import chromium, require_browser, romcam_serve
from test_dashboard_browser import checked_page

from romcam.store import Store, live, service

RX = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
      "target_min": 80.0, "target_max": 100.0, "safe_max": 150.0, "reps": 3, "hold_s": 0.0, "sessions_per_week": 5}


def _get(port: int, path: str) -> dict | list:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def _post(port: int, path: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _until(check: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s")


def _crashed_session(db_path: Path) -> tuple[str, datetime]:
    """The local patient with a plan, and a live session left as a killed romcam leaves it: begun 5 minutes ago,
    a set begun 2 minutes ago with nothing measured yet (nobody in view), no end time."""
    store = Store(f"sqlite:///{db_path}")
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            rx = service.create_prescription(db, me, RX)
            rx_id, version = rx.id, rx.current_version
        sid, at = uuid.uuid4(), datetime.now(UTC) - timedelta(minutes=5)
        with store.session() as db:
            live.begin_session(db, session_id=sid, patient_id=store.local_patient_id, started_at=at,
                               source="camera 0", demo=False, model="pose_landmarker_full.task", romcam_version="0.1.0")
            set_id = live.begin_set(db, session_id=sid, position=0, started_at=at + timedelta(minutes=3),
                                    exercise=RX["exercise"], side=RX["side"], mode=RX["mode"], posture=RX["posture"],
                                    prescription_id=rx_id, prescription_version=version, fps=10.0)
            live.put_samples(db, set_id=set_id, t=[i / 10 for i in range(20)], angle=[float("nan")] * 20,
                             frames=20, view_ok_fraction=0.0)
        return str(store.local_patient_id), at
    finally:
        store.close()


def _figures(port: int, pid: str) -> list[tuple]:
    """(recording_session_at, unmeasured_since, last_unmeasured_session_at) as the patient list and the patient
    page read them."""
    (listed,) = [p for p in _get(port, "/api/patients") if p["id"] == pid]
    one = _get(port, f"/api/patients/{pid}")
    return [(_at(p["recording_session_at"]), p["unmeasured_since"], _at(p["last_unmeasured_session_at"]))
            for p in (listed, one)]


def _patient_list_words(port: int, pid: str, *, allow: tuple[str, ...] = ()) -> str:
    """What the patient list says under the patient's last session, in a real browser."""
    server = f"http://127.0.0.1:{port}"
    with chromium() as browser, checked_page(browser, server, allow=allow, timezone_id="UTC") as page:
        page.goto(server + "/")
        page.wait_for_selector("body[data-loaded=true]")
        return page.locator(f"#patients tr[data-patient-id='{pid}']").inner_text()


def _nothing_measured_today(port: int, pid: str) -> int:
    days = _get(port, f"/api/patients/{pid}/adherence?days=7&tz=UTC")["days"]
    return sum(d["nothing_measured"] for d in days)


def test_a_session_left_with_no_end_is_not_being_recorded_on_the_laptop_whose_coach_is_not_recording_it(
        demo_clip: Path, tmp_path: Path) -> None:
    require_browser()
    pid, crashed = _crashed_session(tmp_path / "romcam.db")
    # the clinic's rule (a server with no live coach): begun 5 minutes ago, no end: being recorded
    with romcam_serve(tmp_path, "--no-live", ready="/api/patients", timeout=60) as (port, _):
        assert _figures(port, pid) == [(crashed, 0, None)] * 2
        assert _nothing_measured_today(port, pid) == 0
        # (the list asks /live/status for the coach's link, 503 with no capture worker: patients.js)
        words = _patient_list_words(port, pid, allow=("status of 503",))
        assert "a session is being recorded now, begun" in words and "measured nothing" not in words, words
    # the laptop's romcam serve, its coach idle: it records nothing, so the crashed session measured nothing
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side",
                      DEMO_SPEC.side, timeout=60) as (port, _):
        assert _get(port, "/live/status")["session_id"] is None
        assert _figures(port, pid) == [(None, 1, crashed)] * 2
        assert _nothing_measured_today(port, pid) == 1
        words = _patient_list_words(port, pid)
        assert "measured nothing" in words and "being recorded" not in words, words
        # Start: the session the coach records is being recorded; the crashed one still measured nothing
        assert _post(port, "/live/start")["started"] is True
        sid = _until(lambda: _get(port, "/live/status")["session_id"], 30, "the coach records a session")
        begun = _at(_get(port, f"/api/sessions/{sid}")["started_at"])
        assert begun is not None and begun > crashed
        for recording, unmeasured, last_unmeasured in _figures(port, pid):
            assert recording == begun
            # the crashed session measured nothing, unless the coach's has measured something since (a later one)
            assert (unmeasured, last_unmeasured) in {(1, crashed), (0, None)}
