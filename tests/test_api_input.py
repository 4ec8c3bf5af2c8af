"""What the API refuses, on SQLite and PostgreSQL alike: a malformed request is a 422 naming the field
and what is wrong, never a 500, and stores nothing. Numbers the PT will act on must be measurements:
angles the joint can reach, set summaries that agree with their reps, times that have happened."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from auth_fixtures import Clinic, clinic  # noqa: F401 (fixture)
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.input_checks import CheckedInput, check_past_time, unstorable
from romcam.server.app import create_app
from romcam.server.settings import Settings
from romcam.store import Store, service
from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": "slowly"}


def _patient(api: TestClient) -> str:
    r = api.post("/api/patients", json={"name": "Ada"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _doc(pid: str, days_ago: float = 1.0, peak: float = 110.0) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": peak}
    return synthetic_session(uuid.UUID(pid), when, [spec])


def _send(api: TestClient, method: str, path: str, body: Any) -> Any:
    """``body`` as JSON text the way Python writes it (NaN and Infinity included)."""
    return api.request(method, path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def _sessions(api: TestClient, pid: str) -> list:
    return api.get(f"/api/patients/{pid}/sessions").json()


# --- numbers that are not numbers ------------------------------------------------------------------

@pytest.mark.parametrize("where", ["sample", "rep", "set", "set_extra"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_session_with_a_non_finite_number_is_422_and_stores_nothing(api: TestClient, where: str,
                                                                      value: float) -> None:
    pid = _patient(api)
    doc = _doc(pid)
    s = doc["sets"][0]
    {"sample": lambda: s["samples"][5].update(angle=value), "rep": lambda: s["reps"][0].update(max_angle=value),
     "set": lambda: s.update(max_angle=value), "set_extra": lambda: s.update(view_error_deg=value)}[where]()
    r = _send(api, "POST", "/api/sessions", doc)
    assert r.status_code == 422, r.text
    assert "NaN" not in r.text and "Infinity" not in r.text, "the answer must be JSON (and not echo the input)"
    assert _sessions(api, pid) == []


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/patients", {"name": float("nan")}),
    ("POST", "/api/patients/{pid}/prescriptions", KNEE | {"target_min": float("nan")}),
    ("POST", "/api/patients/{pid}/prescriptions", KNEE | {"hold_s": float("inf")}),
    ("POST", "/live/subject", {"x": float("nan"), "y": 0.5}),
])  # fmt: skip
def test_nan_anywhere_is_422_not_500(api: TestClient, method: str, path: str, body: dict) -> None:
    pid = _patient(api)
    r = _send(api, method, path.format(pid=pid), body)
    assert r.status_code == 422, r.text
    assert all(set(d) == {"loc", "msg", "type"} for d in r.json()["detail"]), "no input echoed back"


def test_a_refused_request_does_not_echo_its_input(api: TestClient) -> None:
    pid = _patient(api)
    doc = _doc(pid)
    doc["ended_at"] = "2001-01-01T00:00:00+00:00"  # before it started: a whole-document error
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422 and "ended_at is before started_at" in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "ended_at"], r.text
    assert len(r.content) < 1000, "the answer names the error, it does not carry the document back"


# --- text a database cannot hold --------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/api/patients", {"name": "A\x00da"}, "name"),
    ("PATCH", "/api/patients/{pid}", {"notes": "in hospital\x00"}, "notes"),
    ("POST", "/api/patients/{pid}/prescriptions", KNEE | {"notes": "slowly\x00"}, "notes"),
    ("POST", "/api/sessions", "session_source", "sets.0.warnings.0"),
])  # fmt: skip
def test_a_nul_character_is_422_on_every_database(api: TestClient, method: str, path: str, body: Any,
                                                  field: str) -> None:
    """PostgreSQL's text holds no NUL (SQLite's does): the same request must get the same answer on
    both, a 422, before it reaches the database."""
    pid = _patient(api)
    if body == "session_source":
        body = _doc(pid)
        body["sets"][0]["warnings"] = ["view\x00"]
    r = api.request(method, path.format(pid=pid), json=body)
    assert r.status_code == 422, r.text
    assert any(f"{field} holds a NUL character" in d["msg"] for d in r.json()["detail"]), r.text
    assert api.get(f"/api/patients/{pid}").json()["notes"] == ""
    assert _sessions(api, pid) == []


def test_a_checkin_with_a_nul_or_from_the_future_is_422(api: TestClient) -> None:
    pid = _patient(api)
    doc = _doc(pid)
    assert api.post("/api/sessions", json=doc).status_code == 201
    path = f"/api/sessions/{doc['id']}/checkins/{uuid.uuid4()}"
    now = datetime.now(UTC)
    good = {"pain": 2, "tiredness": 3, "cramps": False, "note": "ok", "created_at": now.isoformat()}
    assert api.put(path, json=good | {"note": "o\x00k"}).status_code == 422
    for when in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", (now + timedelta(days=400)).isoformat()):
        r = api.put(path, json=good | {"created_at": when})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "created_at"], r.text
    assert api.put(path, json=good).status_code == 201


def _subclasses(cls: type) -> set[str]:
    """The names of ``cls``'s subclasses, however deep."""
    return {name for sub in cls.__subclasses__() for name in (sub.__name__, *_subclasses(sub))}


def test_every_request_body_of_the_app_is_checked_input(store: Store, db_url: str) -> None:
    """Every route's JSON body with text or numbers in it refuses NUL characters and non-finite numbers
    (CheckedInput), so a model added later cannot let them through to the database."""
    schema = create_app(Settings(db=db_url), store=store).openapi()
    checked = _subclasses(CheckedInput)
    bodies = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            if ref is None:
                continue
            name = ref.rsplit("/", 1)[1]
            props = schema["components"]["schemas"][name].get("properties", {})
            if all(p.get("type") == "boolean" or "const" in p for p in props.values()):
                continue  # nothing but flags: no text or number to check
            bodies.append(name)
            assert name in checked, f"{method.upper()} {path}: its body {name} is not a CheckedInput"
    assert {"PatientCreate", "SessionDoc", "CheckinUpload", "LoginIn", "SubjectIn"} <= set(bodies), bodies


def test_unstorable_finds_the_place() -> None:
    assert unstorable({"a": [1, 2.5, {"b": "ok"}], "c": True}) is None
    assert unstorable({"a": [1, {"b": "o\x00k"}]}) == (("a", 1, "b"), "holds a NUL character (\\u0000)")
    assert unstorable({"x": [0.0, float("nan")]})[0] == ("x", 1)
    assert unstorable({"k\x00": 1})[0] == ("k\x00",)


@pytest.mark.parametrize("when, ok", [
    (datetime(2026, 11, 27, 10, tzinfo=UTC), True),
    (datetime(2026, 11, 28, 9, tzinfo=UTC), True),  # a clock a few hours ahead
    (datetime(2026, 11, 28, 11, tzinfo=UTC), False),  # more than a day ahead
    (datetime(1999, 12, 31, 23, tzinfo=UTC), False),
])  # fmt: skip
def test_a_time_must_have_happened(when: datetime, ok: bool) -> None:
    now = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    if ok:
        assert check_past_time(when, now=now) == when
    else:
        with pytest.raises(ValueError, match="check the computer's"):
            check_past_time(when, now=now)


# --- times ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("started_at", "0001-01-01T00:00:00+14:00"),  # cannot be written as UTC
    ("started_at", "9999-12-31T23:59:59-14:00"),
    ("started_at", "2126-01-01T00:00:00+00:00"),  # a laptop whose clock runs a century ahead
    ("ended_at", "2126-01-01T00:00:00+00:00"),
    ("set_started_at", "2126-01-01T00:00:00+00:00"),
    ("started_at", "1970-01-01T00:00:00+00:00"),  # a clock reset to the epoch
])  # fmt: skip
def test_a_session_dated_outside_time_is_422(api: TestClient, field: str, value: str) -> None:
    pid = _patient(api)
    doc = _doc(pid)
    if field == "set_started_at":
        doc["sets"][0]["started_at"] = value
        loc = ["body", "sets", 0, "started_at"]
    else:
        doc[field] = value
        loc = ["body", field]
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]], r.text
    assert _sessions(api, pid) == []


def test_a_future_session_cannot_hide_a_missed_sessions_alert(api: TestClient) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    doc = _doc(pid, days_ago=20)
    doc["sets"][0]["prescription_id"], doc["sets"][0]["prescription_version"] = rx["id"], rx["version"]
    assert api.post("/api/sessions", json=doc).status_code == 201
    kinds = [a["kind"] for a in api.get(f"/api/patients/{pid}/alerts").json()]
    assert "missed_sessions" in kinds
    future = _doc(pid)
    future["started_at"] = "2126-01-01T00:00:00+00:00"
    future["ended_at"] = "2126-01-01T00:10:00+00:00"
    assert api.post("/api/sessions", json=future).status_code == 422
    assert "missed_sessions" in [a["kind"] for a in api.get(f"/api/patients/{pid}/alerts").json()]
    assert api.get(f"/api/patients/{pid}").json()["adherence_7d"] == 0


# --- angles the joint cannot reach, summaries that contradict their reps ------------------------------

def _break(doc: dict, how: str) -> None:
    s = doc["sets"][0]
    reps = s["reps"]
    if how == "max_300":
        s["max_angle"] = 300.0
    elif how == "min_minus_200":
        s["min_angle"] = -200.0
    elif how == "rep_beyond":
        reps[0]["max_angle"] = s["max_angle"] = 250.0
    elif how == "sample_beyond":
        s["samples"][3]["angle"] = 250.0
    elif how == "max_below_reps":
        s["max_angle"] = reps[0]["max_angle"] - 50.0
    elif how == "min_above_reps":
        s["min_angle"] = min(r["min_angle"] for r in reps) + 20.0
    elif how == "reps_reversed":
        s["reps"] = reps[::-1]
    elif how == "hold_longer_than_rep":
        reps[0]["hold_s"] = 80_000.0
    elif how == "posture":
        s["posture"] = "standing"
        s["exercise"] = "knee_extension"  # done seated
    elif how == "reps_without_extremes":
        s["max_angle"] = None
    elif how == "reps_overlap":  # rep 2 starts half a second before rep 1 ends
        reps[1]["start"] = reps[0]["end"] - 0.5
    elif how == "rep_zero_length":
        reps[0]["start"] = reps[0]["peak"] = reps[0]["end"] = 2.0
    elif how == "rep_after_samples":  # the recording ends before the last rep does
        s["samples"] = [x for x in s["samples"] if x["t"] <= reps[-1]["end"] - 1.0]
    elif how == "rep_before_samples":
        s["samples"] = [x for x in s["samples"] if x["t"] >= reps[0]["start"] + 0.5]
    elif how == "rep_unmeasured":
        for x in s["samples"]:
            if reps[0]["start"] <= x["t"] <= reps[0]["end"]:
                x["angle"] = None
    elif how == "peak_not_in_samples":  # a rep claiming 150° where its samples never passed ~110°
        reps[0]["max_angle"] = s["max_angle"] = 150.0
    elif how == "below_target_hidden":  # a rep 30° short of the target sent as reaching it
        s["target"] = reps[0]["max_angle"] + 30.0
        reps[0]["below_target"] = False
    elif how == "set_before_session":
        s["started_at"] = (datetime.fromisoformat(doc["started_at"]) - timedelta(hours=3)).isoformat()
    elif how == "set_after_session":
        s["started_at"] = (datetime.fromisoformat(doc["ended_at"]) + timedelta(hours=3)).isoformat()
    else:
        raise AssertionError(how)


# what is wrong, and the field of the set to change (a problem between fields is on one of them, never
# on the whole set)
BREAKS = {"max_300": ("beyond what the knee can do", ["max_angle"]),
          "min_minus_200": ("beyond what the knee can do", ["min_angle"]),
          "rep_beyond": ("beyond what the knee can do", ["max_angle"]),
          "sample_beyond": ("samples[3].angle 250.0°", ["samples", 3, "angle"]),
          "max_below_reps": ("must take in its reps'", ["max_angle"]),
          "min_above_reps": ("must take in its reps'", ["min_angle"]),
          "reps_reversed": ("reps must be in time order", ["reps", 1, "start"]),
          "hold_longer_than_rep": ("holds 80000.0 s", ["reps", 0, "hold_s"]),
          "posture": ("is done seated, not standing", ["posture"]),
          "reps_without_extremes": ("needs its max_angle and min_angle", ["max_angle"]),
          "reps_overlap": ("reps overlap: in the knee_flexion (right) set, reps[1] starts at 3.0 s, before reps[0] "
                           "ends (3.5 s)", ["reps", 1, "start"]),
          "rep_zero_length": ("reps[0] lasts 0 s", ["reps", 0, "end"]),
          "rep_after_samples": ("reps[2] ends at 9.5 s, after the set's last sample (8.467 s)", ["reps", 2, "end"]),
          "rep_before_samples": ("reps[0] starts at 0.5 s, before the set's first sample (1.0 s)",
                                 ["reps", 0, "start"]),
          "rep_unmeasured": ("reps[0] (0.5 to 3.5 s) has no measured sample", ["reps", 0, "start"]),
          "peak_not_in_samples": ("reps[0] max_angle 150.0° is not in its own samples: the highest measured between "
                                  "its start (0.5 s) and end (3.5 s) is 109.6°", ["reps", 0, "max_angle"]),
          "below_target_hidden": ("reps[0] says it reached the target (139.6°), but its max_angle is 109.6°",
                                  ["reps", 0, "below_target"]),
          "set_before_session": ("sets[0] (knee_flexion, right) starts at", ["started_at"]),
          "set_after_session": ("after its session ended", ["started_at"])}


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_set_that_is_not_a_measurement_is_422(api: TestClient, how: str) -> None:
    pid = _patient(api)
    doc = _doc(pid)
    assert len(doc["sets"][0]["reps"]) >= 2
    _break(doc, how)
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422, r.text
    words, field = BREAKS[how]
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "sets", 0, *field]], r.text
    assert words in r.json()["detail"][0]["msg"], r.text
    assert _sessions(api, pid) == []


@pytest.mark.parametrize(("frames", "status"), [(3, 201), (6, 422)])
def test_an_older_laptops_crash_saved_reps_overlapping_by_a_few_frames_are_taken(api: TestClient, frames: int,
                                                                                 status: int) -> None:
    """The live recorder of earlier builds stored a counted rep from when the one before it was counted; that rep's
    final end could come up to 4 frames later, and a crash mid-set kept the overlap. Such a session is taken (it
    would otherwise stay on the laptop, refused, and never reach the PT); a longer overlap is not a measurement."""
    pid = _patient(api)
    doc = _doc(pid)
    s = doc["sets"][0]
    reps = s["reps"]
    reps[1]["start"] = round(reps[0]["end"] - frames / s["fps"], 3)
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == status, r.text
    assert len(_sessions(api, pid)) == (1 if status == 201 else 0)


def test_the_sets_romcam_itself_makes_pass(api: TestClient) -> None:
    """The checks hold for what the analysis writes: a few peaks, both ends of each joint's range."""
    pid = _patient(api)
    for peak in (30.0, 60.0, 140.0, 160.0):
        assert api.post("/api/sessions", json=_doc(pid, peak=peak)).status_code == 201, peak


def test_what_the_analysis_makes_of_rough_signals_passes() -> None:
    """Reps one after the other, within their samples, each reaching its peak in them and its below_target agreeing
    with the target: true of every set romcam's
    own analysis writes (the same ``summarize`` the live coach's final analysis runs), on noisy signals with pose
    glitches, lost frames and a drifting rest, at camera rates from 5 to 30 frames a second."""
    from romcam.analysis import summarize
    from romcam.catalog import default_catalog
    from romcam.measure import Sample
    from romcam.session_doc import SetDoc, set_from_analysis

    rng = np.random.default_rng(7)
    knee = default_catalog().get("knee_flexion")
    checked = 0
    for _ in range(60):
        fps = float(rng.choice([5.0, 10.0, 15.0, 30.0]))
        t = np.sort(np.arange(int(rng.integers(40, 600))) / fps + rng.uniform(0, 0.3 / fps))
        period, peak = rng.uniform(1.5, 6.0), rng.uniform(25.0, 130.0)
        angle = 5.0 + rng.uniform(-4, 4) * t / t[-1] + peak * (1 - np.cos(2 * np.pi * t / period)) / 2
        angle += rng.normal(0, rng.uniform(0.2, 4.0), t.size)
        glitch = rng.random(t.size) < 0.05
        angle[glitch] += rng.normal(0, 40.0, int(glitch.sum()))
        angle[rng.random(t.size) < rng.uniform(0, 0.3)] = np.nan
        angle = np.clip(angle, knee.possible.min, knee.possible.max)
        samples = [Sample(i, float(a), float(b), 0.9, True, 5.0, None)
                   for i, (a, b) in enumerate(zip(t, angle, strict=True))]
        doc = summarize(knee, "right", samples, fps=fps, video="rough.mp4", frames=t.size,
                        target=float(rng.uniform(20.0, 130.0))).to_document()
        checked += len(SetDoc.model_validate(set_from_analysis(doc, mode="active", posture="seated")).reps)
    assert checked > 300


@pytest.mark.parametrize("change, loc", [
    ({"safe_max": 360}, ["body", "safe_max"]),  # no safety limit at all
    ({"target_min": -300, "target_max": -200, "safe_max": -100}, ["body", "target_min"]),
    ({"target_max": 170, "safe_max": 175}, ["body", "target_max"]),  # the knee reads at most 165°
])  # fmt: skip
def test_a_prescription_beyond_the_joint_is_422(api: TestClient, change: dict, loc: list) -> None:
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | change)
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]], r.text
    assert "beyond what the knee can do" in r.text and "normal range is 0 to 135°" in r.text
    assert api.get(f"/api/patients/{pid}/prescriptions").json() == []


def test_a_prescription_keeps_its_exercise_and_side(api: TestClient) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    for change, loc in (({"exercise": "elbow_flexion"}, ["body", "exercise"]), ({"side": "left"}, ["body", "side"])):
        r = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | change)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
        assert "end this prescription and make a new one" in r.text
    assert [v["version"] for v in api.get(f"/api/prescriptions/{rx['id']}/versions").json()] == [1]


# --- edits ----------------------------------------------------------------------------------------

def test_two_edits_at_once_become_two_versions(store: Store) -> None:
    """A double click on Save: both edits read version 1; the second to commit comes after the first
    instead of failing on the taken version number."""
    with store.session() as db:
        patient = service.get_patient(db, store.local_patient_id)
        rx_id = service.create_prescription(db, patient, KNEE).id
    with store.session() as first, store.session() as second:
        a = service.get_prescription(first, rx_id)
        b = service.get_prescription(second, rx_id)
        assert a.current_version == b.current_version == 1
        service.update_prescription(first, a, KNEE | {"target_min": 80})
        service.update_prescription(second, b, KNEE | {"target_min": 85})
        assert b.current_version == 3
    with store.session() as db:
        versions = service.prescription_versions(db, service.get_prescription(db, rx_id))
        assert [(v.version, v.target_min) for v in versions] == [(1, 90), (2, 80), (3, 85)]


def test_patch_with_null_is_refused_or_unassigns_the_clinician(clinic: Clinic) -> None:  # noqa: F811
    admin = clinic.client("admin")
    for body in ({"name": None}, {"notes": None}, {"plan_paused": None}):
        r = admin.patch(f"/api/patients/{clinic.own}", json=body)
        assert r.status_code == 422 and "cannot be null" in r.text, r.text
    assert admin.get(f"/api/patients/{clinic.own}").json()["name"] == "Ada Own"
    r = admin.patch(f"/api/patients/{clinic.own}", json={"clinician_id": None})
    assert r.status_code == 200 and r.json()["clinician_id"] is None, r.text
    assert admin.get(f"/api/patients/{clinic.own}").json()["clinician_id"] is None


# --- a body that is not a JSON object at all ------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "body", "msg"), [
    # curl -d sends a form, a script may send text: the JSON is fine, its label is not
    ("text/plain", '{"name": "Ada"}', "send the body as a JSON object with Content-Type: application/json "
                                      "(this request's is text/plain)"),
    ("application/x-www-form-urlencoded", "name=Ada", "send the body as a JSON object with Content-Type: "
                                                      "application/json (this request's is "
                                                      "application/x-www-form-urlencoded)"),
    ("application/json", '["Ada"]', 'the body must be a JSON object ({"field": value, …}), not a list, text or '
                                    "a number"),
    ("application/json", '{"name": "Ada",}', "the body is not valid JSON (at character 15: expecting property name "
                                             "enclosed in double quotes)"),
])
def test_a_body_that_is_not_a_json_object_says_how_to_send_one(api: TestClient, content_type: str, body: str,
                                                                msg: str) -> None:
    before = api.get("/api/patients").json()
    r = api.post("/api/patients", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 422, r.text
    assert [e["msg"] for e in r.json()["detail"]] == [msg]
    assert api.get("/api/patients").json() == before
