"""A set refiled under a new plan version (docs/live.md "The PT changes the plan"): the PT lowered the safe maximum
and changed the target in the same edit while the set ran. The safer limit took over at once and the set is filed
under the new version, but its reps were coached to the old target: the PT's pages must judge and show them against
that target, not the new version's.

Real parts: the samples are real MediaPipe measurements of the rendered demo clip, recorded through the live
recorder (refiled as CaptureWorker.follow_plan refiles it) into a real SQLite database with real prescription
versions, and read back as the session page and the CSV export read them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import DEMO_SPEC

from romcam.analysis import analyze_video
from romcam.live.coach import safer_limits
from romcam.live.plan import plan_from_store
from romcam.live.recorder import Recorder
from romcam.measure import Sample
from romcam.store import Store, service
from romcam.store.exports import export_csv

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_set_refiled_after_a_target_and_safe_max_edit_is_judged_by_the_target_it_was_coached_to(
        demo_clip: Path, tmp_path: Path) -> None:
    measured = analyze_video(demo_clip, DEMO_SPEC.exercise, DEMO_SPEC.side)
    peaks = [r.max_angle for r in measured.reps]
    assert len(peaks) == DEMO_SPEC.reps
    top, low = round(max(peaks)), round(min(peaks))
    coached = {"target_min": top + 5.0, "target_max": top + 15.0, "safe_max": top + 25.0}  # every rep short of it
    edited = {"target_min": low - 20.0, "target_max": low - 5.0, "safe_max": top + 20.0}  # every rep past it, safer
    base = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
            "reps": 3, "hold_s": 0.0, "sessions_per_week": 5}
    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            rx_id = service.create_prescription(db, me, base | coached).id
        (item,) = plan_from_store(store)
        assert item.version == 1
        rec = Recorder(store, patient_id=store.local_patient_id, source="camera 0", demo=False, model="full")
        sid = rec.begin_session(now=T0)
        rec.begin_set(item, t=0.0, fps=DEMO_SPEC.fps, now=T0)
        half = len(measured.samples) // 3
        for i, s in enumerate(measured.samples):
            if i == half:  # the PT's edit mid-set: the safer limit takes over, the target waits (Coach.take_plan)
                with store.session() as db:
                    service.update_prescription(db, service.get_prescription(db, rx_id), base | edited)
                (new,) = plan_from_store(store)
                item = safer_limits(item, new)
                assert (item.version, item.safe_max, item.target_min) == (2, edited["safe_max"], coached["target_min"])
                rec.refile(item)  # as CaptureWorker.follow_plan does
            rec.add_sample(Sample(s.index, s.t, s.angle, s.confidence, s.view_ok, s.view_error, s.detail))
        rec.end_set()
        rec.end_session("complete", now=T0 + timedelta(minutes=1))
        assert not rec.unsaved

        with store.session() as db:
            detail = service.session_detail(db, service.get_session(db, sid))
            table = export_csv(db, service.get_patient(db, store.local_patient_id))
            listed = service.list_sessions(db, service.get_patient(db, store.local_patient_id))
        (stored,) = detail["sets"]
        # filed under the new version: its safer limit judges the set
        assert (stored["prescription_version"], stored["safe_max"]) == (2, edited["safe_max"])
        # ... but the target is the one the reps were coached to (version 1's), and every rep reads "below target"
        assert (stored["target_min"], stored["target_max"]) == (coached["target_min"], coached["target_max"])
        assert stored["target_version"] == 1
        assert len(stored["reps"]) == DEMO_SPEC.reps
        assert all(r["below_target"] is True for r in stored["reps"]), stored["reps"]
        # the patient page's session list says the same target and how many reps fell short of it
        (brief,) = [x for s in listed if s["id"] == sid for x in s["sets"]]
        assert (brief["target_min"], brief["target_max"], brief["reps_short_of_target"]) == (
            coached["target_min"], coached["target_max"], DEMO_SPEC.reps)
        rows = list(csv.DictReader(io.StringIO(table)))
        assert len(rows) == DEMO_SPEC.reps
        assert {(r["prescription_version"], r["target_min"], r["target_max"], r["below_target"]) for r in rows} == {
            ("2", str(coached["target_min"]), str(coached["target_max"]), "true")}, rows
    finally:
        store.close()


def test_a_set_not_refiled_keeps_its_version_s_target(demo_clip: Path, tmp_path: Path) -> None:
    """No edit during the set: no ``target_version`` is stored, and the version's own band is shown."""
    measured = analyze_video(demo_clip, DEMO_SPEC.exercise, DEMO_SPEC.side)
    store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            service.create_prescription(db, me, {
                "exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
                "reps": 3, "hold_s": 0.0, "sessions_per_week": 5, "target_min": 60.0, "target_max": 100.0,
                "safe_max": 170.0})
        (item,) = plan_from_store(store)
        rec = Recorder(store, patient_id=store.local_patient_id, source="camera 0", demo=False, model="full")
        sid = rec.begin_session(now=T0)
        rec.begin_set(item, t=0.0, fps=DEMO_SPEC.fps, now=T0)
        for s in measured.samples:
            rec.add_sample(Sample(s.index, s.t, s.angle, s.confidence, s.view_ok, s.view_error, s.detail))
        rec.end_set()
        rec.end_session("complete", now=T0 + timedelta(minutes=1))
        with store.session() as db:
            (stored,) = service.session_detail(db, service.get_session(db, sid))["sets"]
        assert (stored["prescription_version"], stored["target_version"]) == (1, None)
        assert (stored["target_min"], stored["target_max"]) == (60.0, 100.0)
    finally:
        store.close()


def test_a_target_version_must_be_an_earlier_version_of_the_set_s_prescription() -> None:
    """What POST /api/sessions (and the clinic's upload) accept as ``target_version``: said on that field."""
    import uuid

    import pytest
    from pydantic import ValidationError

    from romcam.session_doc import SetDoc

    base = {"exercise": "shoulder_abduction", "side": "left", "mode": "active", "posture": "standing", "fps": 15.0,
            "frames": 0, "view_ok_fraction": 0.0, "prescription_id": str(uuid.uuid4()), "prescription_version": 3}
    assert SetDoc.model_validate(base | {"target_version": 2}).summary()["target_version"] == 2
    for bad, says in ((3, "an earlier version"), (4, "an earlier version"), (0, "a whole number from 1"),
                      (True, "a whole number from 1"), ("2", "a whole number from 1")):
        with pytest.raises(ValidationError) as refused:
            SetDoc.model_validate(base | {"target_version": bad})
        assert refused.value.errors()[0]["loc"][-1] == "target_version" and says in str(refused.value), bad
    # a set filed under no prescription (a laptop's upload drops a prescription the clinic does not manage, and
    # keeps the summary): taken, and never read (romcam.store.service.target_version_of)
    SetDoc.model_validate(base | {"prescription_id": None, "prescription_version": None, "target_version": 1})
