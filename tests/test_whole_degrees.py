"""One angle, one whole number on every road. The dashboard's pages round with JavaScript's ``Math.round``
(web/static/dashboard/common.js ``fmtAngle``: half up, 92.5° → 93°); the texts made in Python — the change
notes, the FHIR notes, ``romcam analyze``'s summary — must give the same figure for the same stored angle, not
Python's half-to-even (``f"{92.5:.0f}"`` is "92"), or a PT reads 92° in a change note above a chart that says
93° for the same sessions."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.analysis import Analysis
from romcam.catalog import get_motion
from romcam.degrees import whole_degrees, whole_degrees_as_stored
from romcam.measure import Sample
from romcam.report import summary_text
from romcam.reps import Rep
from romcam.store.seed import synthetic_session


def math_round(x: float) -> int:
    """What the dashboard shows: ECMAScript's Math.round, the integer nearest, a tie toward +∞."""
    low = math.floor(x)
    return low + 1 if x - low >= 0.5 else low


@pytest.mark.parametrize("angle", [92.5, 93.5, -1.5, -0.5, -2.5, 0.5, 112.45, 130.45, 47.25, 89.9, -0.4])
def test_whole_degrees_is_the_dashboards_rounding(angle: float) -> None:
    assert whole_degrees(angle) == math_round(angle)


@pytest.mark.parametrize("raw", [92.46, 92.449, -1.46, 139.96])
def test_an_unstored_angle_rounds_as_its_stored_tenth_will_show(raw: float) -> None:
    assert whole_degrees_as_stored(raw) == math_round(round(raw, 1))


def _post(api: TestClient, pid: str, days_ago: float, peak: float) -> None:
    doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=days_ago),
                            [{"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated",
                              "peak": peak, "noise_deg": 0.0}])
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text


def test_the_change_note_and_the_fhir_note_give_the_pages_whole_degrees(api: TestClient) -> None:
    """A knee that reached 92.5° in each of its last 3 sessions, 130° before: the page shows 93° (Math.round),
    so the change note's median and the FHIR note's range say 93 too."""
    pid = api.post("/api/patients", json={"name": "Rounding Example"}).json()["id"]
    peaks = [130.0] * 5 + [92.5] * 3
    for i, peak in enumerate(peaks):
        _post(api, pid, 0.5 + 2.0 * (len(peaks) - 1 - i), peak)
    stored = [s["sets"][0]["best_angle"] for s in api.get(f"/api/patients/{pid}/sessions").json()]
    assert stored[:3] == [92.5] * 3  # newest first: the angle as stored, a tie at the half degree
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert "median of the last 3 sessions 93°" in alert["message"], alert["message"]
    assert "the 4 weeks before (130°," in alert["message"], alert["message"]
    newest = api.get(f"/api/patients/{pid}/export.fhir.json").json()["entry"][-1]["resource"]
    assert newest["valueQuantity"]["value"] == 92.5
    assert newest["note"][1]["text"].startswith(f"range reached {math_round(0.0)} to 93 deg"), newest["note"]


def test_analyzes_summary_gives_the_whole_degree_the_stored_angle_will_show() -> None:
    """A rep whose top is 92.46° is stored as 92.5° (to 0.1°) and shown as 93° on the session page: the summary
    the patient reads says 93° too, not 92°."""
    reps = [Rep(start=0.0, peak=1.0, end=2.0, max_angle=92.46, min_angle=0.3, hold_s=0.0, partial=False,
                below_target=False)]
    values = [0.3, 92.46, 0.4]
    samples = [Sample(i, i / 10.0, v, 0.9, True, 0.0, None) for i, v in enumerate(values)]
    a = Analysis(motion=get_motion("knee_flexion"), side="right", video="constructed.mp4", fps=10.0,
                 frames=len(samples), samples=samples, smoothed=np.array(values), reps=reps, mode="passive")
    doc = a.to_document()
    assert doc["reps"][0]["max_angle"] == 92.5 and doc["max_angle"] == 92.5  # what is stored
    text = summary_text(a)
    [row] = [line for line in text.splitlines() if line.strip().startswith("1 ")]
    assert row.split()[4] == "93°", row
    assert "range reached: 0° to 93°" in text, text
    assert "furthest 93°" in text, text


def test_a_change_notes_loss_is_the_difference_of_the_two_medians_it_shows(api: TestClient) -> None:
    """A knee whose last 3 sessions' median is 85.4° (shown 85°) against 110.6° before (shown 111°) lost 25.2°:
    the note must say 26° below, the difference of the two whole degrees it prints beside it (and the report's
    "85° / 111°" column), not Python's 25 — a PT checks the sum, and "85°, 25° below … (111°)" does not add up."""
    pid = api.post("/api/patients", json={"name": "Loss Example"}).json()["id"]
    peaks = [110.6] * 5 + [85.4] * 3
    for i, peak in enumerate(peaks):
        _post(api, pid, 0.5 + 2.0 * (len(peaks) - 1 - i), peak)
    assert {s["sets"][0]["best_angle"] for s in api.get(f"/api/patients/{pid}/sessions").json()} == {110.6, 85.4}
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert "median of the last 3 sessions 85°, 26° below the 4 weeks before (111°, 5 sessions;" in alert["message"], \
        alert["message"]


def test_an_other_end_notes_loss_is_the_difference_of_the_two_medians_it_shows(api: TestClient) -> None:
    """The same at the other end of the range: an elbow that straightened to 4.6° (shown 5°) and now to 16.4°
    (shown 16°) moved 11.8°; the note says 11° above, as 16 − 5 reads, not 12."""
    pid = api.post("/api/patients", json={"name": "Other End Example"}).json()["id"]
    rests = [4.6] * 5 + [16.4] * 3
    for i, rest in enumerate(rests):
        doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=0.5 + 2.0 * (len(rests) - 1 - i)),
                                [{"exercise": "elbow_flexion", "side": "left", "mode": "active", "posture": "seated",
                                  "peak": 130.0, "rest": rest, "noise_deg": 0.0}])
        assert api.post("/api/sessions", json=doc).status_code == 201
    lows = {s["sets"][0]["min_angle"] for s in api.get(f"/api/patients/{pid}/sessions").json()}
    assert lows == {4.6, 16.4}, lows
    [alert] = [a for a in api.get(f"/api/patients/{pid}/alerts").json() if a["kind"] == "other_end"]
    assert "median of the last 3 sessions 16°, 11° above the 4 weeks before (5°, 5 sessions;" in alert["message"], \
        alert["message"]
