"""Which safe limits judge a stored set (romcam.safe_limits.set_limits), on every road the PT reads: the
session list and page, the trends (the report's and the charts'), the CSV and FHIR. One rule: the prescription
version's the set followed; a set filed under none, the limits it was given with ``romcam analyze --safe-max``
(kept in its summary); otherwise none. Real SQLite and PostgreSQL databases, through the API."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": ""}
SET = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated"}


def _patient(api: TestClient) -> str:
    r = api.post("/api/patients", json={"name": "Ada"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _analyzed(pid: str, days_ago: float, peak: float, *, safe_max: float | None = None,
              safe_min: float | None = None, rx: dict | None = None) -> dict:
    """A session of one set as ``romcam analyze --save`` stores it: the analysis document keeps the limits it
    was given (``safe_max``, ``safe_min``) beside its reps."""
    doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=days_ago), [SET | {"peak": peak}])
    s = doc["sets"][0]
    s["safe_max"], s["safe_min"] = safe_max, safe_min
    if rx is not None:
        s["prescription_id"], s["prescription_version"] = rx["id"], rx["version"]
    return doc


def _post(api: TestClient, doc: dict) -> dict:
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text
    return doc


def _over(doc: dict, limit: float) -> int:
    return sum(1 for r in doc["sets"][0]["reps"] if r["max_angle"] > limit)


def test_a_set_saved_with_analyze_limits_and_no_prescription_is_judged_against_them(api: TestClient) -> None:
    pid = _patient(api)
    given = _post(api, _analyzed(pid, 3, 115.0, safe_max=110.0))
    assert _over(given, 110) == 3  # every rep of this set went past the limit given
    bare = _post(api, _analyzed(pid, 2, 115.0))  # no limit given: nothing to judge by
    # filed under a prescription, its version's limit judges the set, not one given to analyze beside it
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    filed = _post(api, _analyzed(pid, 1, 115.0, safe_max=100.0, rx=rx))

    detail = api.get(f"/api/sessions/{given['id']}").json()["sets"][0]
    assert (detail["safe_max"], detail["safe_min"], detail["safe_limits_from"]) == (110.0, None, "analyze")
    assert [r["past_safe"] for r in detail["reps"]] == ["max"] * 3
    assert (detail["reps_past_safe_max"], detail["reps_past_safe_min"]) == (3, 0)
    bare_detail = api.get(f"/api/sessions/{bare['id']}").json()["sets"][0]
    assert (bare_detail["safe_max"], bare_detail["safe_limits_from"]) == (None, None)
    assert [r["past_safe"] for r in bare_detail["reps"]] == [None] * 3
    filed_detail = api.get(f"/api/sessions/{filed['id']}").json()["sets"][0]
    assert (filed_detail["safe_max"], filed_detail["safe_limits_from"]) == (135, "prescription")
    assert [r["past_safe"] for r in filed_detail["reps"]] == [None] * 3

    listed = {s["id"]: s["sets"][0] for s in api.get(f"/api/patients/{pid}/sessions").json()}
    assert [(listed[d["id"]]["reps_past_safe_max"], listed[d["id"]]["safe_max"], listed[d["id"]]["safe_limits_from"])
            for d in (given, bare, filed)] == [(3, 110.0, "analyze"), (0, None, None), (0, 135, "prescription")]

    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    by_set = [[(r["past_safe"], r["safe_max"], r["safe_limits_from"]) for r in rows if r["session_id"] == d["id"]]
              for d in (given, bare, filed)]
    assert by_set == [[("max", "110.0", "analyze")] * 3, [("", "", "")] * 3, [("", "135.0", "prescription")] * 3]

    notes = [[n["text"] for n in e["resource"]["note"]]
             for e in api.get(f"/api/patients/{pid}/export.fhir.json").json()["entry"]]
    assert ("3 of 3 reps went past the safe maximum of 110 deg given to romcam analyze (not from a prescription)"
            in notes[0]), notes[0]
    assert not any("safe maximum" in text for text in notes[1] + notes[2]), notes


def test_trend_points_carry_their_safe_limits_and_the_reps_past_them(api: TestClient) -> None:
    """What the report and the trend charts read: each session's limits (as its target band: the best set's)
    and its reps past them, counted over every set of the session in the series."""
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | {"safe_max": 125}).json()
    a = _post(api, _analyzed(pid, 4, 130.0, rx=rx))
    b = _post(api, _analyzed(pid, 3, 110.0, rx=rx))
    c = _post(api, _analyzed(pid, 2, 112.0, safe_max=108.0))  # unfiled, with a limit given to analyze
    both = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=1),
                             [SET | {"peak": 128.0}, SET | {"peak": 118.0}])
    for s in both["sets"]:
        s["prescription_id"], s["prescription_version"] = rx["id"], rx["version"]
    _post(api, both)
    t = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()
    [series] = t["series"]
    got = [(p["safe_max"], p["safe_min"], p["safe_limits_from"], p["reps_past_safe_max"], p["reps_past_safe_min"])
           for p in series["points"]]
    past_both = sum(1 for s in both["sets"] for r in s["reps"] if r["max_angle"] > 125)
    assert got == [(125, None, "prescription", _over(a, 125), 0), (125, None, "prescription", 0, 0),
                   (108.0, None, "analyze", _over(c, 108), 0), (125, None, "prescription", past_both, 0)]
    assert (_over(a, 125), _over(c, 108), past_both) == (3, 3, 3)  # the sets went past as built
    assert _over(b, 125) == 0


@pytest.mark.parametrize(("limits", "field"), [
    ({"safe_max": "a lot"}, "safe_max"),  # not an angle
    ({"safe_max": True}, "safe_max"),  # not a number
    ({"safe_min": 500}, "safe_min"),  # beyond any joint
    ({"safe_max": 100, "safe_min": 120}, "safe_min"),  # the minimum above the maximum
])
def test_a_set_with_limits_that_are_no_limits_is_refused(api: TestClient, limits: dict, field: str) -> None:
    pid = _patient(api)
    doc = _analyzed(pid, 1, 115.0)
    doc["sets"][0].update(limits)
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422, r.text
    assert ["body", "sets", 0, field] in [d["loc"] for d in r.json()["detail"]], r.json()
