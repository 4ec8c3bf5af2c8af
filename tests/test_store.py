"""The store on real databases (SQLite and PostgreSQL): migrations, the local patient, samples
blobs, ingest in one transaction, idempotency, prescription versions, the seeded decline."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from db_fixtures import *  # noqa: F403 (db_url, store, postgres_server)
from sqlalchemy import func, inspect, select, text

from romcam.catalog import default_catalog, get_motion, parse_catalog
from romcam.errors import CatalogError
from romcam.session_doc import SessionDoc
from romcam.store import Store, live, resolve_url, service, trends
from romcam.store.blob import pack_samples, unpack_samples
from romcam.store.errors import ConflictError, InvalidError
from romcam.store.models import Alert, ExerciseSet, Rep, Session, SetSamples
from romcam.store.seed import seed_demo, synthetic_session

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def test_blob_round_trip_keeps_gaps_and_is_compact() -> None:
    t = np.arange(0, 60, 1 / 30)
    angle = 60 + 50 * np.sin(t)
    angle[100:130] = np.nan  # the joint was hidden
    blob = pack_samples(t, [None if math.isnan(a) else a for a in angle])
    t2, a2 = unpack_samples(blob)
    assert blob[0] == 1  # the format byte
    assert len(blob) < t.size * 8  # below two float32 per sample: compressed
    assert np.allclose(t2, t, atol=1e-3)
    assert np.array_equal(np.isnan(a2), np.isnan(angle))
    assert np.allclose(a2[~np.isnan(a2)], angle[~np.isnan(angle)], atol=1e-3)


def test_unknown_blob_format_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="upgrade romcam"):
        unpack_samples(b"\x09" + pack_samples([0.0], [1.0])[1:])


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),  # psycopg 3 is the driver romcam ships
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////x/romcam.db", "sqlite:////x/romcam.db"),
])  # fmt: skip
def test_database_urls(given: str, expected: str) -> None:
    assert resolve_url(given) == expected


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("ROMCAM_DB", raising=False)
    monkeypatch.setenv("ROMCAM_DATA", str(tmp_path / "data"))
    s = Store()
    try:
        assert s.url == f"sqlite:///{tmp_path / 'data' / 'romcam.db'}"
        assert (tmp_path / "data" / "romcam.db").exists()
    finally:
        s.close()


def test_migrations_make_every_table_and_the_trend_index(store: Store) -> None:
    insp = inspect(store.engine)
    assert {"patients", "prescriptions", "prescription_versions", "sessions", "exercise_sets", "reps",
            "set_samples", "alerts", "alembic_version"} <= set(insp.get_table_names())
    trend = next(i for i in insp.get_indexes("exercise_sets") if i["name"] == "ix_sets_trend")
    assert trend["column_names"] == ["patient_id", "exercise", "side", "mode", "session_started_at"]


def test_sqlite_runs_wal_with_foreign_keys(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with s.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        s.close()


def test_first_run_makes_one_local_patient(db_url: str) -> None:
    first, second = Store(db_url), Store(db_url)  # opening again migrates nothing and adds no one
    try:
        assert first.local_patient_id == second.local_patient_id
        with first.session() as db:
            patients = service.list_patients(db)
        assert [(p.name, p.is_local) for p in patients] == [("Me", True)]
    finally:
        first.close()
        second.close()


def _counts(store: Store) -> tuple[int, int, int, int]:
    with store.session() as db:
        return tuple(db.scalar(select(func.count()).select_from(m)) for m in (Session, ExerciseSet, Rep, SetSamples))


def test_ingest_stores_everything_and_is_idempotent(store: Store) -> None:
    with store.session() as db:
        patient = service.get_patient(db, store.local_patient_id)
        rx = service.create_prescription(db, patient, KNEE)
        doc = synthetic_session(patient.id, NOW, [
            {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 112.0,
             "prescription": rx},
            {"exercise": "shoulder_abduction", "side": "left", "mode": "passive", "posture": "lying", "peak": 140.0},
        ])
        sid, created = service.ingest_session(db, doc)
        assert created and sid == uuid.UUID(doc["id"])
        assert service.ingest_session(db, doc) == (sid, False)  # the same document again: nothing new
    assert _counts(store) == (1, 2, 6, 2)
    with store.session() as db:
        knee, shoulder = db.get(Session, sid).sets
        assert (knee.prescription_id, knee.prescription_version) == (rx.id, 1)
        assert knee.best_angle == pytest.approx(112, abs=2) and knee.reps_full == 3
        assert shoulder.prescription_id is None
        assert knee.samples.count >= 10 * 10  # ≥ 10 samples a second for 10 s
        assert db.get(Session, sid).started_at == NOW
        changed = dict(doc, status="interrupted")
        with pytest.raises(ConflictError, match="new id"):
            service.ingest_session(db, changed)


def test_a_bad_later_set_leaves_nothing_half_written(store: Store) -> None:
    with store.session() as db:
        patient = service.get_patient(db, store.local_patient_id)
        doc = synthetic_session(patient.id, NOW, [
            {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0},
            {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0},
        ])
        doc["sets"][1]["prescription_id"] = str(uuid.uuid4())  # no such prescription
        doc["sets"][1]["prescription_version"] = 1
        with pytest.raises(InvalidError) as err:
            service.ingest_session(db, doc)
        assert err.value.loc == ("sets", 1, "prescription_id")
    assert _counts(store) == (0, 0, 0, 0)


def test_prescription_edits_make_versions_and_sets_keep_theirs(store: Store) -> None:
    with store.session() as db:
        patient = service.get_patient(db, store.local_patient_id)
        rx = service.create_prescription(db, patient, KNEE)
        spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0,
                "prescription": rx}
        service.ingest_session(db, synthetic_session(patient.id, NOW, [spec]))
        service.update_prescription(db, rx, KNEE | {"target_min": 80, "target_max": 110})
        service.ingest_session(db, synthetic_session(patient.id, NOW + timedelta(days=2), [spec]))
        assert [v.version for v in service.prescription_versions(db, rx)] == [1, 2]
        points = trends.trends(db, patient, exercise="knee_flexion", side="right")["series"][0]["points"]
        assert [(p["prescription_version"], p["target_min"]) for p in points] == [(1, 90), (2, 80)]


def test_the_live_coach_stores_whether_each_rep_s_furthest_point_was_seen(store: Store) -> None:
    """The live recorder's path (romcam.store.live): reps as they are counted, then the final analysis."""
    rep = {"start": 0.5, "peak": 2.0, "end": 3.5, "max_angle": 100.0, "min_angle": 5.0, "hold_s": 0.3,
           "partial": False, "below_target": None}
    with store.session() as db:
        sid = uuid.uuid4()
        live.begin_session(db, session_id=sid, patient_id=store.local_patient_id, started_at=NOW, source="camera 0",
                           demo=False, model="", romcam_version="0.1.0")
        set_id = live.begin_set(db, session_id=sid, position=0, started_at=NOW, exercise="knee_flexion",
                                side="right", mode="active", posture="seated", prescription_id=None,
                                prescription_version=None, fps=15.0)

        def stored() -> tuple[bool, list[bool]]:
            db.expire_all()
            [s] = service.session_detail(db, service.get_session(db, sid))["sets"]
            return s["best_seen"], [r["peak_seen"] for r in s["reps"]]

        live.put_rep(db, set_id=set_id, position=0, works="max", rep=rep)  # a recorder from before: seen
        assert stored() == (True, [True])
        live.put_rep(db, set_id=set_id, position=1, works="max", rep=rep | {"peak_seen": False, "start": 4.0})
        assert stored() == (False, [True, False])
        live.put_rep(db, set_id=set_id, position=1, works="max", rep=rep | {"peak_seen": True, "start": 4.0})
        assert stored() == (True, [True, True])  # the rep became final, its peak seen after all
        final = synthetic_session(store.local_patient_id, NOW, [
            {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0,
             "unseen_s": 0.6}])["sets"][0]
        live.finish_set(db, set_id=set_id, set_doc=final)
        assert stored() == (False, [False, False, False])


def test_seed_demo_declines_in_one_motion_only(store: Store) -> None:
    with store.session() as db:
        patient = seed_demo(db, weeks=8, now=NOW)
        sessions = service.list_sessions(db, patient, limit=1000)
        assert len(sessions) == 24 and all(len(s["sets"]) == 3 for s in sessions)
        alerts = trends.list_alerts(db, patient, now=NOW)
        assert [(a["kind"], a["exercise"], a["mode"]) for a in alerts] == [("decline", "knee_flexion", "active")]
        assert db.scalar(select(func.count()).select_from(Alert).where(Alert.resolved_at.is_(None))) == 1


def test_session_document_names_the_bad_field() -> None:
    doc = synthetic_session(uuid.uuid4(), NOW, [
        {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}])
    doc["sets"][0]["exercise"] = "knee_flexon"
    with pytest.raises(ValueError, match="did you mean 'knee_flexion'"):
        SessionDoc.model_validate(doc)


def test_every_motion_has_its_own_measurement_noise() -> None:
    noise = {m.id: m.measurement_noise_deg for m in default_catalog()}
    assert all(v > 0 for v in noise.values())
    assert len(set(noise.values())) > 3, "one flat number for every motion"
    assert noise["neck_rotation"] > noise["shoulder_flexion"]  # the experimental motion is the noisiest


def test_each_end_of_a_rep_has_the_noise_the_accuracy_benchmark_measured() -> None:
    """The catalog's noise figures are the saved accuracy benchmark's (benchmarks/results/accuracy.json):
    rerunning the benchmark without updating the catalog fails here."""
    import json

    from benchmarks.accuracy import Row, noise_deg

    rows = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "accuracy.json").read_text())
    for m in default_catalog():
        inview = [r for r in rows if r["exercise"] == m.id and not r["off_view"]]
        peaks = [e for r in inview for e in Row(**r).seen_peak_errors]  # decline alerts leave unseen peaks out
        ends = [e for r in inview for e in r["return_errors"]]
        assert peaks and ends, m.id
        assert m.measurement_noise_deg == noise_deg(peaks), m.id
        assert m.return_noise_deg == noise_deg(ends), m.id
    # an elbow seen from the side reads bent where it is straight: its straight end is far less sure than its peak
    elbow = get_motion("elbow_flexion")
    assert elbow.return_noise_deg >= 2 * elbow.measurement_noise_deg


@pytest.mark.parametrize("key", ["measurement_noise_deg", "return_noise_deg"])
@pytest.mark.parametrize("value", [0, -2, "5", None])
def test_catalog_refuses_a_missing_or_non_positive_noise(key: str, value: object) -> None:
    import tomllib
    from importlib import resources

    data = tomllib.loads(resources.files("romcam").joinpath("data/exercises.toml").read_text(encoding="utf-8"))
    if value is None:
        del data["motion"][0][key]
    else:
        data["motion"][0][key] = value
    with pytest.raises(CatalogError, match=key):
        parse_catalog(data)
