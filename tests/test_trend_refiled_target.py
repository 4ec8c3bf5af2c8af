"""A live set refiled under a safer limit's version during it (docs/live.md "The PT changes the plan"; the set
keeps ``target_version``, the version it was coached to) on the trend chart: its point's band is the one it was
coached to and its reps judged by — as on the session page and in the CSV —, not that of the version it is filed
under. The trends API put version 2's band (80° to 95°) under a point whose reps were coached to version 1's
(100° to 130°), and the tooltip said "plan v2".

Real parts: the sessions are posted through the real API into a real SQLite file and a real PostgreSQL database
(``db_url`` is both), with real prescription versions, and the trends read back from the API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient
from pytest import approx

from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated"}
V1 = {"target_min": 100.0, "target_max": 130.0, "safe_max": 150.0}
V2 = {"target_min": 80.0, "target_max": 95.0, "safe_max": 120.0}  # the PT's edit: lower target, safer maximum


def _post(api: TestClient, pid: str, days_ago: float, sets: list[tuple[float, int, int | None]]) -> str:
    """One session of knee sets ``(peak, filed under version, coached to version or None)`` (peaks within the
    synthetic noise: the test compares them within 1°)."""
    rx = api.get(f"/api/patients/{pid}/prescriptions").json()[0]
    specs = [KNEE | {"peak": peak, "prescription": SimpleNamespace(id=uuid.UUID(rx["id"]), current_version=filed)}
             for peak, filed, _ in sets]
    doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC) - timedelta(days=days_ago), specs)
    for set_doc, (_, _, coached) in zip(doc["sets"], sets, strict=True):
        if coached is not None:
            set_doc["target_version"] = coached
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text
    return doc["id"]


def test_a_refiled_set_s_trend_point_has_the_band_it_was_coached_to(api: TestClient) -> None:
    pid = api.post("/api/patients", json={"name": "Refiled Trend"}).json()["id"]
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | V1 | {"reps": 3, "hold_s": 0,
                                                                           "sessions_per_week": 3})
    assert r.status_code == 201, r.text
    rx = r.json()
    r = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | V2 | {"reps": 3, "hold_s": 0, "sessions_per_week": 3})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text

    before = _post(api, pid, 3.0, [(112.0, 1, None)])  # before the edit: version 1's band
    # the set during which the PT made the edit: filed under v2, coached to v1; it is the session's best set,
    # after a set of the session filed (and coached) under v2 alone
    refiled = _post(api, pid, 2.0, [(90.0, 2, None), (115.0, 2, 1)])
    # after: the best set coached to v2 — the session's other, lower set was the refiled one
    after = _post(api, pid, 1.0, [(85.0, 2, 1), (93.0, 2, None)])

    r = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"})
    assert r.status_code == 200, r.text
    (series,) = r.json()["series"]
    got = [(p["session_id"], p["best_angle"], p["prescription_version"], p.get("target_version"), p["target_min"],
            p["target_max"], p["safe_max"]) for p in series["points"]]
    assert got == [
        (before, approx(112.0, abs=1), 1, None, 100.0, 130.0, 150.0),
        # v1's band, as the session page shows it; the safer limit of v2 (filed under) is its safe maximum
        (refiled, approx(115.0, abs=1), 2, 1, 100.0, 130.0, 120.0),
        (after, approx(93.0, abs=1), 2, None, 80.0, 95.0, 120.0),
    ], got
    # the session page reads the refiled set's band the same way
    detail = api.get(f"/api/sessions/{refiled}").json()["sets"][1]
    assert (detail["target_version"], detail["target_min"], detail["target_max"]) == (1, 100.0, 130.0)
