"""The live capture thread never dies silently: what stops it is said on the page (a ``source_lost``
event with ``source_error``), and what was recorded is kept.

- the demo video cannot be written (a full disk, a folder that cannot be written): one plain line,
  and the worker keeps trying (the room may be made);
- a bug in the pipeline (here a pose stage that raises): the page says romcam stopped with an
  internal error, the session so far is stored as ``interrupted``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from romcam.live.capture import CaptureWorker, LiveOptions
from romcam.live.plan import measure_only
from romcam.live.recorder import Recorder
from romcam.store.db import Store
from romcam.store.models import Session


class Events:
    """Collects published events; :meth:`wait` for one that matches."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, ev: dict[str, Any]) -> None:
        with self._cond:
            self.seen.append(ev)
            self._cond.notify_all()

    def wait(self, match, seconds: float = 60.0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        with self._cond:
            found = self._cond.wait_for(lambda: next((e for e in self.seen if match(e)), None), seconds)
        assert found, f"no matching event; last: {self.seen[-3:]}"
        return found


def _lost(ev: dict[str, Any]) -> bool:
    return ev.get("type") == "frame" and ev.get("state") == "source_lost"


def test_a_demo_video_that_cannot_be_written_is_one_plain_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    events = Events()
    options = LiveOptions(source=None, demo=True, loop=True, demo_dir=blocker / "demo", retry_max_s=0.5)
    worker = CaptureWorker(options, [measure_only("shoulder_abduction", "left")], recorder=None, publish=events)
    worker.start()
    try:
        ev = events.wait(_lost)
        assert ev["source_error"].startswith(f"cannot write the demo video to {blocker / 'demo'}: ")
        assert "set ROMCAM_DATA to a folder romcam can write to" in ev["source_error"]
        # it keeps trying, and says the same again
        events.wait(lambda e: _lost(e) and e is not ev)
        assert worker.running
        assert worker.status()["source_error"] == ev["source_error"]
    finally:
        worker.stop()
    assert not worker.running


class BrokenPoseStage:
    model_path = "broken.task"

    def process(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")


def test_a_bug_in_the_pipeline_is_said_and_the_session_kept(demo_clip: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    events = Events()
    recorder = Recorder(store, patient_id=store.local_patient_id, source=str(demo_clip), demo=False, model="")
    worker = CaptureWorker(LiveOptions(source=str(demo_clip)), [measure_only("shoulder_abduction", "left")],
                           recorder=recorder, publish=events, estimator_factory=BrokenPoseStage)
    worker.start()
    try:
        worker.command("start")  # the session starts; the file plays; the first frame hits the bug
        ev = events.wait(_lost)
        assert ev["source_error"].startswith("romcam stopped with an internal error (RuntimeError: boom)")
        assert "the session so far is kept" in ev["source_error"]
        worker._thread.join(30)  # type: ignore[union-attr]
        assert not worker.running, "the capture thread stops after a bug"
        with store.session() as db:
            (session,) = db.query(Session).all()
            assert session.status == "interrupted" and session.ended_at is not None
    finally:
        worker.stop()
        store.close()
