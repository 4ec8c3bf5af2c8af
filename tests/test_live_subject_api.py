"""``POST /live/subject`` on a real app and capture worker: who the patient is, by a person's id (the
page's buttons) or by a point (a tap on the video). The pose stage is a seam object that returns
synthetic people for a real (blank) video file: two people for the first second, then the one on the
left alone for over two seconds, so the one on the right is gone from view when the ids are used."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from romcam.landmarks import PoseFrame
from romcam.live.capture import CaptureWorker, LiveOptions
from romcam.live.plan import measure_only
from romcam.server.app import create_app
from romcam.server.settings import Settings
from tests.test_subject import H, W, shifted, standing

FPS = 30
BOTH_FRAMES = 30  # both people in view for 1 s ...
FRAMES = 100  # ... then the left one alone for 2.3 s: the right one's track is forgotten (after 2 s)
LEFT, RIGHT = shifted(standing(), -300), shifted(standing(60.0), 300)


class TwoThenOne:
    """The pose stage: both people in frames before BOTH_FRAMES, the left one alone after."""

    model_path = "synthetic.task"

    def process(self, image: np.ndarray, t: float, index: int, focus: object = None) -> PoseFrame:
        poses = (RIGHT, LEFT) if index < BOTH_FRAMES else (LEFT,)  # the model's order is not the image's
        return PoseFrame(index=index, t=t, width=W, height=H, poses=poses)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, list[dict[str, Any]]]]:
    clip = tmp_path / "blank.mp4"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (160, 90))
    for _ in range(FRAMES):
        out.write(np.zeros((90, 160, 3), np.uint8))
    out.release()
    events: list[dict[str, Any]] = []
    ended = threading.Event()

    def publish(ev: dict[str, Any]) -> None:
        events.append(ev)
        if ev.get("type") == "frame" and ev.get("state") == "source_lost":
            ended.set()

    plan = [measure_only("shoulder_abduction", "left")]
    worker = CaptureWorker(LiveOptions(source=str(clip), every_frame=True), plan,
                           recorder=None, publish=publish, estimator_factory=TwoThenOne)
    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'romcam.db'}"))
    app.state.live.worker = worker
    with TestClient(app, base_url="http://localhost") as c:  # starts the worker
        worker.wake()
        assert ended.wait(60), "the clip never ended"
        yield c, events


def test_a_person_is_chosen_by_id_and_a_wrong_id_is_a_422_that_says_what_to_do(client) -> None:  # type: ignore[no-untyped-def]
    c, events = client
    two = next(e["subject"] for e in events if e.get("type") == "frame" and len(e["subject"]["persons"]) == 2)
    left, right = two["persons"]  # left to right in the picture, each with their track's id
    assert isinstance(left["id"], int) and isinstance(right["id"], int) and left["id"] != right["id"]
    last = [e["subject"] for e in events if e.get("type") == "frame" and e.get("subject")][-1]
    assert [p["id"] for p in last["persons"]] == [left["id"]]  # the same person keeps their id

    r = c.post("/live/subject", json={"person": left["id"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"selector": f"person {left['id']}", "locked": True, "confirmed": True,
                        "reason": "the person chosen on the page", "people": 1, "expected": 1}
    now = c.get("/live/status").json()["subject"]
    assert now["selector"] == f"person {left['id']}"
    assert [p["id"] for p in now["persons"] if p["measured"]] == [left["id"]]  # at once, not a frame later
    assert {"type": "subject", **r.json()} in events  # the page hears of it at once

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        r = c.post("/live/subject", json=body)
        assert r.status_code == 422, r.text
        (problem,) = r.json()["detail"]
        return problem

    gone = refused({"person": right["id"]})  # in the page's list up to 3 s ago, not in view now
    assert gone["loc"] == ["body", "person"]
    assert gone["msg"] == (f"person {right['id']} is no longer in view: choose again from the buttons, or tap "
                           "the patient on the picture")
    unknown = refused({"person": 99})
    assert unknown["loc"] == ["body", "person"]
    assert unknown["msg"].startswith("person 99 is not anyone romcam has seen")
    assert "tap the patient on the picture" in unknown["msg"]
    assert "not both" in refused({"person": left["id"], "x": 0.5, "y": 0.5})["msg"]
    half = refused({"x": 0.5})  # a tap without its y: on the coordinate missing
    assert half["loc"] == ["body", "y"] and "or both x and y" in half["msg"], half
    assert "or both x and y" in refused({})["msg"]
    refused({"person": -1})
    # a refused choice leaves the last one standing
    assert c.get("/live/status").json()["subject"]["selector"] == f"person {left['id']}"

    # a tap on the video still posts its point, applied from the next frame with someone there
    r = c.post("/live/subject", json={"x": 0.25, "y": 0.5})
    assert r.status_code == 200 and r.json()["selector"] == "0.25,0.5" and r.json()["locked"] is False
