"""The parts of sync on their own: the backoff schedule, the link file (mode 0600, https), the
document re-addressed to the clinic, the outbox's enqueue rules and the pulled plan — on a real
SQLite database."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from romcam.errors import UsageError
from romcam.store import Store, live, service
from romcam.store.errors import ConflictError
from romcam.store.models import LinkState, OutboxItem
from romcam.store.models import Session as SessionRow
from romcam.store.seed import synthetic_session
from romcam.sync import outbox
from romcam.sync.config import LinkConfig, read_config, resolve_link, write_config
from romcam.sync.document import clinic_document
from romcam.sync.plan import apply_plan, link_state
from romcam.sync.worker import backoff_delay

TOKEN = "romcam_dt_" + "x" * 40
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.mark.parametrize(("failures", "jitter", "expected"), [
    (0, 1.0, 0.0),      # no failure: no wait
    (1, 1.0, 2.0),      # the base
    (2, 1.0, 4.0),      # doubling
    (5, 1.0, 32.0),
    (10, 1.0, 600.0),   # capped
    (1000, 1.0, 600.0),  # no overflow however long the clinic is away
    (3, 0.0, 4.0),      # jitter: half of 8 at the low end
    (3, 0.5, 6.0),      # ... three quarters in the middle
])  # fmt: skip
def test_backoff_is_exponential_capped_and_jittered(failures: int, jitter: float, expected: float) -> None:
    assert backoff_delay(failures, base=2.0, cap=600.0, rng=lambda: jitter) == pytest.approx(expected)


def test_the_link_file_is_secret_and_the_url_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    path = tmp_path / "conf" / "link.toml"
    write_config(path, LinkConfig("https://clinic.example", TOKEN))
    assert os.stat(path).st_mode & 0o777 == 0o600
    link = read_config(path)
    assert (link.url, link.token, link.clinic) == ("https://clinic.example", TOKEN, "clinic.example")
    assert TOKEN not in repr(link)
    os.chmod(path, 0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        read_config(path)
    with pytest.raises(UsageError, match="use https"):
        resolve_link("http://clinic.example", TOKEN, None)
    with pytest.raises(UsageError, match="go together"):
        resolve_link("https://clinic.example", None, None)
    with pytest.raises(UsageError, match="not a romcam device token"):
        resolve_link("https://clinic.example", "hunter2", None)
    assert resolve_link("http://127.0.0.1:8001/", TOKEN, None).url == "http://127.0.0.1:8001"  # loopback may
    assert resolve_link(None, None, None) is None  # no file at the default path: not linked


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    yield s
    s.close()


def _device(rx_id: uuid.UUID, version: int = 1, **changes: object) -> dict:
    return {"patient_id": str(CLINIC_PATIENT), "patient_name": "Ada Clinic",
            "plan": [{"id": str(rx_id), "version": version, "created_at": T0.isoformat(), **KNEE, **changes}]}


CLINIC_PATIENT = uuid.UUID("00000000-0000-4000-8000-00000000c11c")


def test_the_pulled_plan_replaces_the_local_one_and_keeps_old_versions(store: Store) -> None:
    me = store.local_patient_id
    with store.session() as db:
        mine = service.create_prescription(db, service.get_patient(db, me), KNEE | {"target_max": 100})
        rx = uuid.uuid4()
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0 + timedelta(days=3))
        plan = service.active_prescriptions(db, service.get_patient(db, me))
        assert [(p.id, v.version, v.target_max) for p, v in plan] == [(rx, 1, 120)]
        assert plan[0][0].created_at == T0  # dated as the clinic's version, not the pull: adherence counts from it
        assert service.get_prescription(db, mine.id).active is False  # the laptop's own plan is set aside
        state = apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx, 2, target_max=130),
                           now=T0)
        plan = service.active_prescriptions(db, service.get_patient(db, me))
        assert [(p.id, v.version, v.target_max) for p, v in plan] == [(rx, 2, 130)]
        assert [v.target_max for v in service.prescription_versions(db, plan[0][0])] == [120, 130]
        assert (state.clinic_patient_id, state.managed_rx) == (CLINIC_PATIENT, [str(rx)])
    # the live coach's plan is the clinic's (its targets, and the ids a recorded set will carry)
    from romcam.live.plan import todays_plan

    coach = todays_plan(store)
    assert [(i.exercise, i.target_min, i.target_max, i.prescription_id, i.version) for i in coach] == [
        ("knee_flexion", 90, 130, str(rx), 2)]


def test_a_prescription_the_clinic_puts_back_in_the_plan_counts_from_then(store: Store) -> None:
    """The clinic ended the knee (left out of a pull) and put it back 20 days later: on the laptop its time in
    the plan runs from that pull, not from when it was first made (the weeks between asked for nothing)."""
    from romcam.store.trends import plan_started_at

    me = store.local_patient_id
    with store.session() as db:
        rx = uuid.uuid4()
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0)
        empty = {"patient_id": str(CLINIC_PATIENT), "patient_name": "Ada Clinic", "plan": []}
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=empty, now=T0 + timedelta(days=5))
        assert plan_started_at(db, service.get_patient(db, me)) is None
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx, 2),
                   now=T0 + timedelta(days=25))
        assert plan_started_at(db, service.get_patient(db, me)) == T0 + timedelta(days=25)


def test_the_clinics_pause_replaces_the_laptops_and_an_older_clinic_leaves_it_alone(store: Store) -> None:
    """A laptop paused on its own dashboard before it was linked: an older clinic's answer (no ``plan_paused``, no
    ``pauses``) leaves that as it is; a clinic that sends them makes the laptop's pause state its own, in the pull's
    transaction — paused with the clinic's times, then resumed; pauses it cannot read leave the laptop's whole."""
    from romcam.store.models import PlanPause
    from romcam.store.trends import adherence

    def pauses(db) -> list[tuple[datetime, datetime | None]]:  # type: ignore[no-untyped-def]
        return [(p.paused_at, p.resumed_at) for p in db.scalars(select(PlanPause).order_by(PlanPause.paused_at))]

    me = store.local_patient_id
    rx = uuid.uuid4()
    with store.session() as db:
        service.update_patient(db, service.get_patient(db, me), plan_paused=True, now=T0 - timedelta(days=2))
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0)  # an older clinic
        assert service.get_patient(db, me).plan_paused is True
        assert pauses(db) == [(T0 - timedelta(days=2), None)]

        clinics = [(T0 + timedelta(days=1, hours=1), T0 + timedelta(days=4, hours=1)), (T0 + timedelta(days=6), None)]
        device = _device(rx) | {"plan_paused": True, "pauses": [
            {"paused_at": a.isoformat(), "resumed_at": b and b.isoformat()} for a, b in clinics]}
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0 + timedelta(days=7))
    with store.session() as db:  # committed with the plan
        assert service.get_patient(db, me).plan_paused is True
        assert pauses(db) == clinics
        cal = adherence(db, service.get_patient(db, me), days=8, now=T0 + timedelta(days=7, hours=12), zone=UTC)
        # 20 Nov (the plan's first day) to 27 Nov: paused from 10:00 on the 21st to 10:00 on the 24th, from 09:00
        # on the 26th on
        assert [(d["date"].day, d["paused"]) for d in cal["days"]] == [
            (20, False), (21, True), (22, True), (23, True), (24, False), (25, False), (26, True), (27, True)]

        bad = _device(rx) | {"plan_paused": False, "pauses": [{"paused_at": "2026-11-21T09:00:00"}]}  # no offset
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=bad, now=T0 + timedelta(days=8))
        assert service.get_patient(db, me).plan_paused is True
        assert pauses(db) == clinics

        resumed = [clinics[0], (clinics[1][0], T0 + timedelta(days=9))]
        device = _device(rx) | {"plan_paused": False, "pauses": [
            {"paused_at": a.isoformat(), "resumed_at": b.isoformat()} for a, b in resumed]}
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0 + timedelta(days=9))
    with store.session() as db:
        assert service.get_patient(db, me).plan_paused is False
        assert pauses(db) == resumed


def test_a_pull_that_brings_the_same_pauses_rewrites_none(store: Store) -> None:
    """The plan is pulled every few seconds during a session: the clinic's pauses, unchanged, stay the rows they
    were (they were deleted and written again on every pull)."""
    from romcam.store.models import PlanPause

    me = store.local_patient_id
    device = _device(uuid.uuid4()) | {"plan_paused": True, "pauses": [
        {"paused_at": (T0 - timedelta(days=3)).isoformat(), "resumed_at": (T0 - timedelta(days=1)).isoformat()},
        {"paused_at": T0.isoformat(), "resumed_at": None}]}
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0)
        first = [(p.id, p.paused_at, p.resumed_at) for p in service.plan_pauses(db, me)]
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0 + timedelta(seconds=5))
        assert [(p.id, p.paused_at, p.resumed_at) for p in service.plan_pauses(db, me)] == first
        assert len(first) == 2 and db.query(PlanPause).count() == 2


def test_the_document_is_readdressed_to_the_clinic(store: Store) -> None:
    me = store.local_patient_id
    with store.session() as db:
        patient = service.get_patient(db, me)
        mine = service.create_prescription(db, patient, KNEE)
        rx = uuid.uuid4()
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0)
        clinic_rx = service.get_prescription(db, rx)
        spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
        doc = synthetic_session(me, T0, [spec | {"prescription": service.get_prescription(db, mine.id)},
                                         spec | {"prescription": clinic_rx}])
        doc["sets"][0]["video"] = "/home/ada/Videos/knee.mp4"
        sid, _ = service.ingest_session(db, doc)
        out = clinic_document(db, sid, clinic_patient_id=CLINIC_PATIENT, managed_rx={str(rx)})
        again = clinic_document(db, sid, clinic_patient_id=CLINIC_PATIENT, managed_rx={str(rx)})
    assert out.id == sid and out.patient_id == CLINIC_PATIENT
    assert [(s.prescription_id, s.prescription_version) for s in out.sets] == [(None, None), (rx, 1)]
    assert out.sets[0].model_extra["video"] == "knee.mp4"  # the file name only, not the laptop's folders
    assert out.canonical_json() == again.canonical_json()  # a retry sends the same bytes
    sent, kept = out.sets[1], doc["sets"][1]
    assert len(sent.samples) == len(kept["samples"]) and [r.max_angle for r in sent.reps] == [
        r["max_angle"] for r in kept["reps"]]
    assert max(abs(a.angle - b["angle"]) for a, b in zip(sent.samples, kept["samples"], strict=True)) < 1e-4


def test_the_document_carries_whether_each_peak_was_seen(store: Store) -> None:
    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    with store.session() as db:
        doc = synthetic_session(me, T0, [spec, spec | {"unseen_s": 0.6}])
        sid, _ = service.ingest_session(db, doc)
        out = clinic_document(db, sid, clinic_patient_id=CLINIC_PATIENT, managed_rx=set())
    assert [[r.peak_seen for r in s.reps] for s in out.sets] == [[True] * 3, [False] * 3]
    assert [s.best_seen for s in out.sets] == [True, False]
    sent = json.loads(out.canonical_json())  # the bytes uploaded: false is said, true left to the default
    assert [[r.get("peak_seen") for r in s["reps"]] for s in sent["sets"]] == [[None] * 3, [False] * 3]


def test_the_outbox_queues_finished_sessions_once_and_orphans_after_a_crash(store: Store) -> None:
    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    with store.session() as db:
        done, _ = service.ingest_session(db, synthetic_session(me, T0, [spec]))
        demo, _ = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=1), [spec], demo=True))
        running = uuid.uuid4()  # a live session being recorded: no end yet
        live.begin_session(db, session_id=running, patient_id=me, started_at=T0 + timedelta(hours=2), source="cam",
                           demo=False, model="", romcam_version="x")
        cid = live.add_checkin(db, session_id=done, pain=1, tiredness=2, cramps=False, note="", at=T0)
        # the running session started after this process did (whatever the clocks say: it was not
        # unfinished when the process started)
        assert outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0 + timedelta(hours=9)) == 2
        assert outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0) == 0  # idempotent
        queued = {(i.kind, i.object_id) for i in db.query(OutboxItem)}
        assert queued == {("session", done), ("checkin", cid)}  # never the demo, not yet the running one
        # the check-in waits for its session to be sent
        assert [(i.kind, i.object_id) for i in outbox.due(db)] == [("session", done)]
        # after a crash the next process finds the running session unfinished when it starts
        assert outbox.unfinished_sessions(db) == {running}
        assert outbox.enqueue_pending(db, patient_id=me, orphans=outbox.unfinished_sessions(db), now=T0) == 1
        assert outbox.counts(db) == {"pending": 2, "sent": 0, "rejected": 0, "held": 0}
        assert demo not in {i.object_id for i in db.query(OutboxItem)}
        # the crashed session goes as it stands: interrupted, no end, the rep counted before the crash
        set_id = live.begin_set(db, session_id=running, position=0, started_at=T0 + timedelta(hours=2),
                                exercise="knee_flexion", side="right", mode="active", posture="seated",
                                prescription_id=None, prescription_version=None, fps=30.0)
        live.put_samples(db, set_id=set_id, t=[0.0, 0.5, 1.0], angle=[10.0, 60.0, 95.0], frames=3,
                         view_ok_fraction=1.0)
        live.put_rep(db, set_id=set_id, position=0, works="max", rep={
            "start": 0.0, "peak": 1.0, "end": 1.0, "max_angle": 95.0, "min_angle": 10.0, "hold_s": 0.0,
            "partial": True, "below_target": None})
        doc = clinic_document(db, running, clinic_patient_id=CLINIC_PATIENT, managed_rx=set())
    assert (doc.status, doc.ended_at, len(doc.sets)) == ("interrupted", None, 1)
    assert [s.angle for s in doc.sets[0].samples] == [10.0, 60.0, 95.0]
    assert [(r.max_angle, r.partial) for r in doc.sets[0].reps] == [(95.0, True)]


def test_romcam_link_writes_a_private_file_and_serve_refuses_a_readable_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from romcam.cli import main

    path = tmp_path / "link.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert main(["link", "--upload-to", "https://clinic.example/", "--config", str(path), "--no-check"]) == 0
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_config(path) == LinkConfig("https://clinic.example", TOKEN)
    assert TOKEN not in capsys.readouterr().err
    os.chmod(path, 0o640)
    from helpers import free_port  # not 8000: a romcam serve running on this machine holds it

    assert main(["serve", "--no-live", "--config", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                 "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"chmod 600 {path}" in err and TOKEN not in err


def test_what_the_clinic_refused_is_offered_again_when_romcam_next_starts(store: Store) -> None:
    """An older clinic server refuses a rep whose furthest point was not seen (its rep model forbids the
    field); once the clinic is updated, the laptop's next start sends the session again."""
    import time

    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    spec = {"exercise": "knee_extension", "side": "left", "mode": "passive", "posture": "seated", "peak": 5.0,
            "unseen_s": 0.6}
    with store.session() as db:
        sid, _ = service.ingest_session(db, synthetic_session(me, T0, [spec]))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        item = db.query(OutboxItem).filter_by(object_id=sid).one()
        item.state, item.last_error = "rejected", "the clinic refused it (HTTP 422: peak_seen: extra inputs)"
        db.commit()
        assert outbox.counts(db) == {"pending": 0, "sent": 0, "rejected": 1, "held": 0}
    # the next start, while the clinic is out of reach: the session waits in the queue again
    link = LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "t" * 40)  # nothing listens there
    worker = SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.session() as db:
                if outbox.counts(db)["pending"] == 1:
                    break
            time.sleep(0.05)
    finally:
        worker.stop()
    with store.session() as db:
        assert outbox.counts(db) == {"pending": 1, "sent": 0, "rejected": 0, "held": 0}
        assert [i.object_id for i in outbox.due(db)] == [sid]
        assert outbox.offer_refused_again(db) == 0  # nothing else was refused


def test_a_session_offered_again_is_not_called_failing_before_the_clinic_answers_it(store: Store) -> None:
    """A session the clinic refused (422) is offered again when romcam starts — here with the clinic out of reach,
    so it is not tried. It kept its refusal on its row, and the status counted it among the "failing" (the panel:
    "1 session could not be sent yet (the last try: … refused it …)") until a retry answered, which never came
    while the clinic was down. Until the clinic answers the new try it is only waiting; the status says the clinic
    cannot be reached, in plain words."""
    import time

    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)  # nothing listens there
    with store.session() as db:
        sid, _ = service.ingest_session(db, synthetic_session(me, T0, [spec]))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0, link_fp=link.fingerprint)
        item = db.query(OutboxItem).filter_by(object_id=sid).one()
        item.state, item.attempts, item.last_attempt_at = "rejected", 1, T0
        item.last_error = "127.0.0.1:9 refused it (HTTP 422: reps.0.peak_seen: extra inputs are not permitted)"
        db.commit()
    worker = SyncWorker(store, link, SyncSettings(poll_s=0.05, timeout_s=1))
    assert (worker.status().rejected, worker.status().failing) == (1, 0)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (worker.status().waiting == 1 and worker.status().unreachable):
            time.sleep(0.05)
    finally:
        worker.stop()
    status = worker.status()
    assert (status.waiting, status.rejected, status.failing, status.failing_error) == (1, 0, 0, ""), status
    assert status.unreachable == "cannot reach 127.0.0.1:9: its server is not answering (it may be down or restarting)"
    with store.session() as db:
        assert [i.object_id for i in outbox.due(db)] == [sid]


def test_what_the_clinic_refused_is_offered_again_every_audit_interval_not_only_at_start(store: Store) -> None:
    """A session dated days ahead by a laptop clock set wrong is refused (a start in the future) until that
    day has come; romcam may run for weeks without a restart, so the refused are offered again every
    ``audit_every_s``, not only when the worker starts."""
    import time

    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    with store.session() as db:
        sid, _ = service.ingest_session(db, synthetic_session(me, T0, [spec]))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)

    def refuse() -> None:
        with store.session() as db:
            item = db.query(OutboxItem).filter_by(object_id=sid).one()
            item.state, item.last_error = "rejected", "the clinic refused it (HTTP 422: started_at: in the future)"
            db.commit()

    def state() -> str:
        with store.session() as db:
            return db.query(OutboxItem).filter_by(object_id=sid).one().state

    link = LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "t" * 40)  # nothing listens there: it stays queued
    worker = SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1, audit_every_s=3600.0))
    refuse()
    worker.step()  # the start
    assert state() == "pending"
    refuse()
    worker.step()
    assert state() == "rejected"  # not offered again on every round
    assert worker._offer_at - time.monotonic() > 3000  # next in an hour (the interval), not at the next start
    worker._offer_at = time.monotonic() - 1  # the hour has passed
    worker.step()
    assert state() == "pending"  # offered again


def test_a_document_this_laptop_cannot_prepare_is_explained_in_plain_words() -> None:
    """The patient reads the reason on the coach page: the document's first problem, not pydantic's dump."""
    from pydantic import ValidationError

    from romcam.session_doc import SessionDoc
    from romcam.sync.worker import _plain

    doc = synthetic_session(uuid.uuid4(), T0, [{"exercise": "elbow_flexion", "side": "left", "mode": "active",
                                                "posture": "seated", "peak": 120.0}])
    doc["sets"][0]["max_angle"] = 500.0
    with pytest.raises(ValidationError) as err:
        SessionDoc.model_validate(doc)
    text = _plain(err.value)
    assert text.startswith("sets.0.max_angle:") or text.startswith("sets.0:"), text
    assert "pydantic" not in text and "input_value" not in text and "\n" not in text, text
    assert _plain(ValueError("plain")) == "plain"


def test_a_token_for_another_clinic_patient_ends_the_consent_and_holds_what_was_recorded(store: Store) -> None:
    """The laptop passes to someone else (the clinic gives it Bob's token): Alice's consent does not
    cover Bob, and nothing Alice recorded that was not sent yet goes into Bob's record."""
    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    bob = uuid.UUID("00000000-0000-4000-8000-0000000000b0")
    with store.session() as db:
        rx = uuid.uuid4()
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0)
        state = db.get(LinkState, 1)
        state.consent_at, state.consent_url = T0, "https://c"
        sent, _ = service.ingest_session(db, synthetic_session(me, T0, [spec]))
        queued, _ = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=1), [spec]))
        unqueued, _ = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=2), [spec]))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        db.query(OutboxItem).filter_by(object_id=sent).one().state = "sent"
        db.query(OutboxItem).filter_by(object_id=unqueued).delete()
        db.commit()
        device = _device(rx) | {"patient_id": str(bob), "patient_name": "Bob Other"}
        state = apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0 + timedelta(days=1))
        db.commit()
        assert state.consent_at is None and state.clinic_patient_id == bob
        assert "1 session" not in state.last_error and "2 sessions recorded for Ada Clinic" in state.last_error
        rows = {i.object_id: i.state for i in db.query(OutboxItem).filter_by(kind="session")}
        assert rows == {sent: "sent", queued: "held", unqueued: "held"}
        assert "not sent to Bob Other" in db.query(OutboxItem).filter_by(object_id=queued).one().last_error
        assert outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0) == 0
        assert [i.object_id for i in outbox.due(db) if i.kind == "session"] == []
        assert outbox.counts(db) == {"pending": 0, "sent": 1, "rejected": 0, "held": 2}
        assert outbox.offer_refused_again(db) == 0, "held is not refused: it is never offered again"
        # the same patient's plan pulled again changes nothing
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=device, now=T0 + timedelta(days=2))
        assert outbox.counts(db)["held"] == 2


def _mark_all_sent(db) -> None:  # type: ignore[no-untyped-def]
    """Every queued item as the clinic took it, for CLINIC_PATIENT."""
    for item in db.query(OutboxItem):
        item.state, item.sent_at, item.sent_sha256 = "sent", T0, "0" * 64 if item.kind == "session" else None
        item.sent_to = CLINIC_PATIENT


def test_sessions_the_clinic_no_longer_holds_are_queued_again_with_their_checkins(store: Store, monkeypatch) -> None:
    """After a clinic's restore from a backup: what it no longer holds goes back in the queue; a clinic too
    old to say is not asked again until the next start; one out of reach is asked again next round."""
    import math

    from romcam.sync import worker as worker_module
    from romcam.sync.client import ClinicError
    from romcam.sync.config import SyncSettings

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)
    with store.session() as db:
        ids = [service.ingest_session(db, synthetic_session(me, T0 + timedelta(days=i), [spec]))[0] for i in range(3)]
        cid = live.add_checkin(db, session_id=ids[2], pain=1, tiredness=2, cramps=False, note="", at=T0)
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        _mark_all_sent(db)
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=_device(uuid.uuid4()), now=T0,
                   link_fp=link.fingerprint)
    worker = worker_module.SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))
    asked: list[list[str]] = []

    def clinic_holds_only_the_first(patient_id: str, batch: list[str]) -> set[str]:
        assert patient_id == str(CLINIC_PATIENT)
        asked.append(batch)
        return {str(ids[0])}

    monkeypatch.setattr(worker.client, "sessions_held", clinic_holds_only_the_first)
    assert worker.audit_sent() is None and asked == []  # no consent: the clinic is not even asked
    worker.set_consent(True)
    monkeypatch.setattr(worker_module, "AUDIT_BATCH", 2)
    assert worker.audit_sent() == 2
    assert asked == [[str(ids[0]), str(ids[1])], [str(ids[2])]]  # in batches
    with store.session() as db:
        assert outbox.counts(db) == {"pending": 2, "sent": 1, "rejected": 0, "held": 0}
        assert {i.object_id for i in outbox.due(db)} == {ids[1], ids[2]}  # the check-in waits for its session
        checkin = db.query(OutboxItem).filter_by(object_id=cid).one()
        assert (checkin.state, checkin.sent_at) == ("pending", None)
    assert worker.audit_sent() == 0  # asked again: nothing more is marked sent, nothing more to send

    def fails(kind: str, status: int | None):  # type: ignore[no-untyped-def]
        def held(patient_id: str, batch: list[str]) -> set[str]:
            raise ClinicError(kind, f"{kind} ({status})", status)
        return held

    monkeypatch.setattr(worker.client, "sessions_held", fails("offline", None))
    assert worker.audit_sent() is None and worker._audit_at == 0.0  # asked again at the next round
    monkeypatch.setattr(worker.client, "sessions_held", fails("rejected", 405))  # a clinic without the route
    assert worker.audit_sent() is None and worker._audit_at == math.inf


def test_what_was_sent_for_the_patient_a_token_named_before_is_never_sent_again_for_the_next(store: Store,
                                                                                              monkeypatch) -> None:
    """A laptop passed on to another patient (a new token, another clinic patient): the new patient's
    clinic holds none of the first patient's sessions, and must not be sent them as the new patient's
    when the laptop asks what it holds. Only what was sent for the patient the link names now is asked
    about."""
    from romcam.sync import worker as worker_module
    from romcam.sync.config import SyncSettings

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)
    bob = uuid.uuid4()
    with store.session() as db:
        first = service.ingest_session(db, synthetic_session(me, T0, [spec]))[0]
        live.add_checkin(db, session_id=first, pain=1, tiredness=2, cramps=False, note="", at=T0)
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        for item in db.query(OutboxItem):
            item.state, item.sent_at, item.sent_to = "sent", T0, CLINIC_PATIENT
        # answered late, after Ada's session went: still queued when the token changed hands
        late = live.add_checkin(db, session_id=first, pain=3, tiredness=4, cramps=False, note="", at=T0)
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=_device(uuid.uuid4()), now=T0,
                   link_fp="ada's token")
        device = _device(uuid.uuid4()) | {"patient_id": str(bob), "patient_name": "Bob Other"}
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=device, now=T0 + timedelta(days=1),
                   link_fp=link.fingerprint)
        db.commit()
        later = service.ingest_session(db, synthetic_session(me, T0 + timedelta(days=2), [spec]))[0]
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        row = db.query(OutboxItem).filter_by(object_id=later).one()
        row.state, row.sent_at, row.sent_to = "sent", T0, bob
        db.commit()
    worker = worker_module.SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))
    worker.set_consent(True)
    asked: list[tuple[str, list[str]]] = []

    def holds_nothing(patient_id: str, batch: list[str]) -> set[str]:
        asked.append((patient_id, batch))
        return set()

    monkeypatch.setattr(worker.client, "sessions_held", holds_nothing)
    monkeypatch.setattr(worker.client, "checkins_held", holds_nothing)
    assert worker.audit_sent() == 1  # Bob's own session, lost by his clinic: sent again
    assert asked == [(str(bob), [str(later)])]  # never asked about Ada's
    with store.session() as db:
        assert db.query(OutboxItem).filter_by(object_id=first).one().state == "sent"
        # Ada's late check-in is not sent to Bob's clinic (it would refuse it, every six hours)
        assert [i.object_id for i in outbox.due(db, bob)] == [later]
        assert late in {i.object_id for i in outbox.due(db, CLINIC_PATIENT)}


def test_a_checkin_the_clinic_lost_while_keeping_its_session_is_queued_again(store: Store, monkeypatch) -> None:
    """A clinic restored from a backup made after a session arrived and before its check-in did: the laptop
    asks which of the check-ins it sent are held (only those of sessions the clinic holds) and sends the
    lost one again. A clinic too old to say still has its sessions audited."""
    import math

    from romcam.sync import worker as worker_module
    from romcam.sync.client import ClinicError
    from romcam.sync.config import SyncSettings

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)
    with store.session() as db:
        ids = [service.ingest_session(db, synthetic_session(me, T0 + timedelta(days=i), [spec]))[0] for i in range(2)]
        kept, lost = (live.add_checkin(db, session_id=sid, pain=1, tiredness=2, cramps=False, note="",
                                       at=T0 + timedelta(days=i)) for i, sid in enumerate(ids))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        _mark_all_sent(db)
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=_device(uuid.uuid4()), now=T0,
                   link_fp=link.fingerprint)
    worker = worker_module.SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))
    worker.set_consent(True)
    asked: list[list[str]] = []

    def checkins_held(patient_id: str, batch: list[str]) -> set[str]:
        assert patient_id == str(CLINIC_PATIENT)
        asked.append(batch)
        return {str(kept)}

    monkeypatch.setattr(worker.client, "sessions_held", lambda patient_id, batch: set(batch))  # both sessions kept
    monkeypatch.setattr(worker.client, "checkins_held", checkins_held)
    assert worker.audit_sent() == 1
    assert asked == [[str(kept), str(lost)]]
    with store.session() as db:
        assert outbox.counts(db) == {"pending": 0, "sent": 2, "rejected": 0, "held": 0}
        assert [(i.kind, i.object_id) for i in outbox.due(db)] == [("checkin", lost)]  # its session is sent
    asked.clear()
    assert worker.audit_sent() == 0 and asked == [[str(kept)]]  # the pending one is not asked about

    def too_old(patient_id: str, batch: list[str]) -> set[str]:
        raise ClinicError("rejected", "refused it (HTTP 404)", 404)

    monkeypatch.setattr(worker.client, "checkins_held", too_old)
    assert worker.audit_sent() == 0 and worker._audit_checkins is False and worker._audit_at != math.inf
    monkeypatch.setattr(worker.client, "checkins_held", checkins_held)
    asked.clear()
    monkeypatch.setattr(worker.client, "sessions_held", lambda patient_id, batch: set())  # sessions still audited
    assert worker.audit_sent() == 2 and asked == []


@pytest.mark.parametrize("header, expected", [
    ("Fri, 27 Nov 2026 12:00:00 GMT", 0.0),
    ("Tue, 24 Nov 2026 12:00:00 GMT", 3 * 86400.0),  # the clinic 3 days earlier: this clock is ahead
    ("Fri, 27 Nov 2026 12:10:30 GMT", -630.0),
    (None, None), ("", None), ("yesterday", None), ("Fri, 27 Nov 2026 12:00:00", None),  # no zone: unknown
])  # fmt: skip
def test_the_clock_offset_is_read_from_the_clinics_date_header(header, expected) -> None:
    from romcam.sync.client import clock_offset_s

    assert clock_offset_s(header, now=datetime(2026, 11, 27, 12, tzinfo=UTC)) == expected


def test_an_https_link_to_a_server_without_https_says_so_in_plain_words() -> None:
    """``--upload-to https://...`` aimed at a server that speaks plain HTTP (a clinic tried out on this
    machine without its proxy): the status says the clinic did not answer with HTTPS, not OpenSSL's
    ``WRONG_VERSION_NUMBER``, and the link keeps retrying."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from romcam.sync.client import ClinicClient, ClinicError

    class Plain(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ClinicClient(LinkConfig(f"https://127.0.0.1:{server.server_port}", "romcam_dt_" + "x" * 43),
                              timeout=10)
        with pytest.raises(ClinicError) as caught:
            client.device()
    finally:
        server.shutdown()
        server.server_close()
    message = caught.value.message
    assert caught.value.kind == "offline"
    assert message.startswith(f"cannot reach 127.0.0.1:{server.server_port} over HTTPS"), message
    assert "not with HTTPS" in message and "http://" in message, message
    assert "_ssl.c" not in message and "romcam_dt_" not in message, message


@pytest.mark.parametrize(("new_patient", "held"), [
    (uuid.UUID("00000000-0000-4000-8000-0000000000b0"), 2),  # another clinic's patient: Ada's sessions are not Bob's
    (CLINIC_PATIENT, 0),  # the same clinic patient at the clinic's new address: they go on as before
])  # fmt: skip
def test_a_link_to_another_clinic_address_holds_what_was_recorded_for_another_patient(
        store: Store, new_patient: uuid.UUID, held: int) -> None:
    """The laptop is re-linked (`romcam link`) to another clinic URL with a token for another patient:
    Ada's unsent sessions must not go into that patient's record once they consent — while a clinic
    that only moved to a new address, naming the same patient, gets them as before."""
    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    with store.session() as db:
        rx = uuid.uuid4()
        apply_plan(db, local_patient_id=me, clinic_url="https://c", device=_device(rx), now=T0)
        state = db.get(LinkState, 1)
        state.consent_at, state.consent_url = T0, "https://c"
        for hours in (1, 2):
            service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=hours), [spec]))
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0)
        db.commit()
    with store.session() as db:  # the worker for the new address reads its link row (status, errors) first
        link_state(db, "https://other-clinic.example")
        db.commit()
    with store.session() as db:
        device = _device(uuid.uuid4()) | {"patient_id": str(new_patient), "patient_name": "Bob Other"}
        state = apply_plan(db, local_patient_id=me, clinic_url="https://other-clinic.example", device=device,
                           now=T0 + timedelta(days=1))
        db.commit()
        assert state.clinic_patient_id == new_patient
        assert outbox.counts(db)["held"] == held
        assert outbox.counts(db)["pending"] == 2 - held
        if held:
            assert "2 sessions recorded for" in state.last_error and "Bob Other" in state.last_error


def test_a_clinic_out_of_reach_is_said_in_plain_words_and_the_sessions_are_kept(store: Store) -> None:
    """The clinic's server is down (a real refused connection): the coach page's line must not read
    "could not get your plan: ... ([Errno 111] Connection refused)" but say the server is not answering
    and that the sessions wait on the laptop."""
    import socket

    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = SyncWorker(store, LinkConfig(f"http://127.0.0.1:{port}", TOKEN), SyncSettings(timeout_s=2))
    assert worker.pull_plan() is False
    error = worker.status().last_error
    assert error.startswith(f"cannot reach 127.0.0.1:{port}: its server is not answering"), error
    assert "Errno" not in error and "could not get your plan" not in error, error
    assert "Your sessions are kept on this laptop and sent once it answers" in error, error


def test_the_clock_offset_sent_with_a_session_is_fixed_at_its_first_try(store: Store, monkeypatch) -> None:
    """A laptop 26 hours behind the clinic sends that offset with the session. A retry after a failed upload
    must send the same bytes (the clinic's ingest is idempotent on them), even though the offset measured
    since has moved (the clock set right meanwhile); the clinic stores it, and says it in words."""
    from romcam.session_doc import SessionDoc, clock_note
    from romcam.sync import worker as worker_module
    from romcam.sync.client import ClinicError, Reply
    from romcam.sync.config import SyncSettings

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)
    with store.session() as db:
        sid = service.ingest_session(db, synthetic_session(me, T0, [spec]))[0]
    worker = worker_module.SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))  # queues it
    with store.session() as db:  # the clinic's first answer
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=_device(uuid.uuid4()), now=T0,
                   link_fp=link.fingerprint)
    worker.set_consent(True)
    sent: list[str] = []

    def upload(body: str) -> Reply:
        sent.append(body)
        if len(sent) == 1:
            raise ClinicError("offline", "cannot reach 127.0.0.1:9: it did not answer in time")
        return Reply(201, {"id": str(sid), "created": True})

    monkeypatch.setattr(worker.client, "upload_session", upload)
    worker.client.clock_offset_s = -26 * 3600 - 0.4
    assert worker.upload_due() == 0 and len(sent) == 1
    worker.client.clock_offset_s = 2.0  # set right since: the retry still says what the first try said
    worker._retry_at = 0.0
    assert worker.upload_due() == 1
    assert len(sent) == 2 and sent[0] == sent[1]
    assert json.loads(sent[0])["clock_off_s"] == -93600
    doc = SessionDoc.model_validate_json(sent[0])
    with store.session() as db:  # the clinic's side: stored with the session, said in words
        clinic_copy = synthetic_session(uuid.uuid4(), T0, [spec])
        patient = service.create_patient(db, name="Ada Clinic")
        clinic_copy.update(id=str(uuid.uuid4()), patient_id=str(patient.id), clock_off_s=doc.clock_off_s)
        stored, _ = service.ingest_session(db, clinic_copy)
        assert db.get(SessionRow, stored).clock_off_s == -93600
        (brief,) = service.list_sessions(db, patient)
        assert brief["clock_note"] == ("this laptop's clock was 26 hours behind the clinic's when it sent this "
                                       "session: its times are the laptop's")
    assert clock_note(3 * 86400) == ("this laptop's clock was 3 days ahead of the clinic's when it sent this "
                                     "session: its times are the laptop's")
    assert clock_note(0) is None and clock_note(None) is None
    # a session sent with the clock right: the document an older romcam sent (no field, the same hash)
    without = json.loads(sent[0])
    del without["clock_off_s"]
    assert "clock_off_s" not in SessionDoc.model_validate(without).canonical_json()


def test_which_token_a_session_was_recorded_under_survives_restarts(store: Store) -> None:
    """Ada's token, then Bob's (romcam started three times, the clinic never answering Bob's: offline, or the
    token mistyped), then Ada's again: every session keeps the token it was recorded under, and goes only to
    the patient that token names. What Bob recorded under his unanswered token is not Ada's: it is kept on the
    laptop, never sent under her token, and the status says how many; once Bob's token is linked again and the
    clinic answers it, Bob's sessions are his (and Ada's unsent one is held from him), and Ada's token answered
    once more gives hers back. Before this, Ada's answer took Bob's three sessions for hers."""
    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    ada, bob = LinkConfig("http://127.0.0.1:9", TOKEN), LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "b" * 40)
    bob_at_clinic = {"patient_id": str(BOB), "patient_name": "Bob Other", "plan": []}
    settings = SyncSettings(poll_s=60, timeout_s=1)

    def record(worker: SyncWorker, hours: int) -> uuid.UUID:
        with store.session() as db:
            sid = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=hours), [spec]))[0]
            outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0, link_fp=worker.fp)  # its step
        return sid

    def fps() -> dict[uuid.UUID, str | None]:
        with store.session() as db:
            return {r.object_id: r.link_fp for r in db.query(OutboxItem).filter_by(kind="session")}

    def answer(link: LinkConfig, device: dict) -> None:  # the clinic answers GET /api/device for this token
        with store.session() as db:
            apply_plan(db, local_patient_id=me, clinic_url=link.url, device=device, now=T0, link_fp=link.fingerprint)

    def due(worker: SyncWorker, patient: uuid.UUID) -> set[uuid.UUID]:
        with store.session() as db:
            return {r.object_id for r in outbox.due(db, patient, link_fp=worker.fp) if r.kind == "session"}

    first = SyncWorker(store, ada, settings)
    answer(ada, _device(uuid.uuid4()))
    assert first.status().confirmed and first.status().patient_name == "Ada Clinic"
    first.set_consent(True)
    adas = record(first, 1)
    bobs = []
    for n in range(3):  # three starts with Bob's token, the clinic out of reach
        worker = SyncWorker(store, bob, settings)
        status = worker.status()
        assert (status.confirmed, status.patient_name, status.consent_at) == (False, "", None)
        assert (status.waiting, status.unanswered) == (1 + n, 0)  # Bob's own wait for his token's answer
        with pytest.raises(Exception, match="has not answered"):
            worker.set_consent(True)
        bobs.append(record(worker, 2 + n))
    assert fps() == {adas: ada.fingerprint} | dict.fromkeys(bobs, bob.fingerprint)

    back = SyncWorker(store, ada, settings)  # Ada's token again: the one the clinic answered last, for Ada
    status = back.status()
    assert (status.confirmed, status.patient_name, status.consent_at) == (True, "Ada Clinic", None)  # asked again
    assert (status.waiting, status.unanswered, status.held) == (1, 3, 0)
    assert back.upload_due() == 0  # nothing goes before she consents (no request is even made: port 9 is closed)
    answer(ada, _device(uuid.uuid4()))
    assert due(back, CLINIC_PATIENT) == {adas}, "Bob's sessions must never be sent to Ada's chart"
    assert fps() == {adas: ada.fingerprint} | dict.fromkeys(bobs, bob.fingerprint)
    status = back.status()
    assert (status.waiting, status.unanswered, status.held) == (1, 3, 0)
    assert status.public()["unanswered"] == 3
    back.set_consent(True)
    with store.session() as db:  # Ada's consent does not count them as hers
        assert outbox.recorded_since(db, T0, link_fp=back.fp, answered_fp=ada.fingerprint) == 1

    again = SyncWorker(store, bob, settings)  # Bob's token linked again, and this time the clinic answers it
    answer(bob, bob_at_clinic)
    status = again.status()
    assert (status.confirmed, status.patient_name, status.consent_at) == (True, "Bob Other", None)
    assert due(again, BOB) == set(bobs)
    assert (status.waiting, status.unanswered, status.held) == (3, 0, 1)  # Ada's unsent one is not his
    with store.session() as db:
        assert db.query(OutboxItem).filter_by(object_id=adas).one().state == "held"

    last = SyncWorker(store, ada, settings)  # and Ada's once more: hers goes back in her queue, Bob's are held
    answer(ada, _device(uuid.uuid4()))
    assert due(last, CLINIC_PATIENT) == {adas}
    status = last.status()
    assert (status.waiting, status.unanswered, status.held) == (1, 0, 3)


def test_sessions_of_a_first_link_the_clinic_never_answered_are_not_the_next_tokens(store: Store) -> None:
    """The laptop's first link was never answered (a mistyped token); the next token is answered, for Bob: what
    was recorded under the first is not taken for his (it was, as "the laptop's first clinic patient"), while
    what was recorded before any link is."""
    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    mistyped, bob = (LinkConfig("http://127.0.0.1:9", "romcam_dt_" + c * 40) for c in "mb")
    settings = SyncSettings(poll_s=60, timeout_s=1)
    with store.session() as db:
        unlinked = service.ingest_session(db, synthetic_session(me, T0, [spec]))[0]
    first = SyncWorker(store, mistyped, settings)  # queues the one from before any link, under no token
    with store.session() as db:
        typo = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=1), [spec]))[0]
        outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0, link_fp=first.fp)
    worker = SyncWorker(store, bob, settings)
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=bob.url, now=T0, link_fp=bob.fingerprint,
                   device={"patient_id": str(BOB), "patient_name": "Bob Other", "plan": []})
        assert {r.object_id for r in outbox.due(db, BOB, link_fp=worker.fp)} == {unlinked}
    status = worker.status()
    assert (status.waiting, status.unanswered, status.held) == (1, 1, 0)
    with store.session() as db:
        assert db.query(OutboxItem).filter_by(object_id=typo).one().link_fp == mistyped.fingerprint


BOB = uuid.UUID("00000000-0000-4000-8000-0000000000b0")


def test_a_session_saved_by_analyze_after_romcam_link_is_the_new_links(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_clip: Path, capsys) -> None:
    """Ada's laptop ran linked to her (`romcam link`, `romcam serve`, the clinic answered); it is linked to Bob
    (`romcam link` with his token) and, before romcam serve starts again, Bob's exercise video is saved with
    `romcam analyze --save`. That session is Bob's: it was queued when romcam next started, under the token it
    ran with before — Ada's — and so held from Bob (and sent to Ada's chart, were her token linked again)."""
    from romcam.cli import main
    from romcam.sync.config import SyncSettings
    from romcam.sync.worker import SyncWorker

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    me, url, db_url = store.local_patient_id, "http://127.0.0.1:9", f"sqlite:///{tmp_path / 'laptop.db'}"
    bob_token = "romcam_dt_" + "b" * 40
    settings = SyncSettings(poll_s=60, timeout_s=1)
    assert main(["link", "--upload-to", url, "--token", TOKEN, "--no-check"]) == 0
    ada = resolve_link(None, None, None)
    SyncWorker(store, ada, settings)  # romcam serve, linked to Ada
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=url, device=_device(uuid.uuid4()), now=T0,
                   link_fp=ada.fingerprint)
    assert main(["link", "--upload-to", url, "--token", bob_token, "--no-check"]) == 0
    assert main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q", "--save",
                 "--db", db_url]) == 0
    err = capsys.readouterr().err
    assert "saved as session" in err and "queued for 127.0.0.1:9, the clinic this laptop is linked to" in err, err
    with store.session() as db:
        (bobs,) = db.scalars(select(SessionRow.id).where(SessionRow.patient_id == me))
    bob = resolve_link(None, None, None)
    assert bob.fingerprint != ada.fingerprint
    worker = SyncWorker(store, bob, settings)  # the next romcam serve, linked to Bob
    with store.session() as db:
        assert db.query(OutboxItem).filter_by(object_id=bobs).one().link_fp == bob.fingerprint
        apply_plan(db, local_patient_id=me, clinic_url=url, now=T0, link_fp=bob.fingerprint,
                   device={"patient_id": str(BOB), "patient_name": "Bob Other", "plan": []})
        assert {r.object_id for r in outbox.due(db, BOB, link_fp=worker.fp)} == {bobs}
    assert (worker.status().waiting, worker.status().held) == (1, 0)


def test_a_session_that_keeps_failing_does_not_hold_back_the_ones_behind_it(store: Store, monkeypatch) -> None:
    """The oldest session cannot be sent (say too big to go within the timeout on a slow line: "did not answer
    in time" every try, or one the clinic's server fails on, 500). Oldest first, it was tried alone each round
    and every session behind it waited for good. Now the next one is tried once after it: they go, it stays
    queued and is tried again each round — while a clinic out of reach is still given up on after two
    failures in a row, and the link backs off once per round."""
    from romcam.sync import worker as worker_module
    from romcam.sync.client import ClinicError, Reply
    from romcam.sync.config import SyncSettings

    me = store.local_patient_id
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
    link = LinkConfig("http://127.0.0.1:9", TOKEN)

    def record(hours: int) -> uuid.UUID:
        with store.session() as db:
            sid = service.ingest_session(db, synthetic_session(me, T0 + timedelta(hours=hours), [spec]))[0]
            outbox.enqueue_pending(db, patient_id=me, orphans=frozenset(), now=T0 + timedelta(hours=hours),
                                   link_fp=link.fingerprint)
        return sid

    big, *rest = (record(h) for h in range(3))
    worker = worker_module.SyncWorker(store, link, SyncSettings(poll_s=60, timeout_s=1))
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=link.url, device=_device(uuid.uuid4()), now=T0,
                   link_fp=link.fingerprint)
    worker.set_consent(True)
    tried: list[str] = []
    clinic_down = False

    def upload(body: str) -> Reply:
        sid = json.loads(body)["id"]
        tried.append(sid)
        if clinic_down:
            raise ClinicError("offline", "cannot reach 127.0.0.1:9: its server is not answering")
        if sid == str(big):
            raise ClinicError("offline", "cannot reach 127.0.0.1:9: it did not answer in time")
        return Reply(201, {"id": sid, "created": True})

    monkeypatch.setattr(worker.client, "upload_session", upload)
    assert worker.upload_due() == 2
    assert tried == [str(big), *map(str, rest)]
    with store.session() as db:
        rows = {r.object_id: (r.state, r.attempts) for r in db.query(OutboxItem).filter_by(kind="session")}
        assert rows == {big: ("pending", 1)} | dict.fromkeys(rest, ("sent", 1))
        assert "did not answer in time" in db.query(OutboxItem).filter_by(object_id=big).one().last_error
    assert worker._failures == 1  # it still backs the link off
    # the uploads behind it cleared the link's error: the status says this one could not be sent yet, and why
    status = worker.status()
    assert (status.last_error, status.waiting, status.failing) == ("", 1, 1), status
    assert status.failing_error == "cannot reach 127.0.0.1:9: it did not answer in time", status
    assert status.unreachable == "", "the clinic took the ones behind it: it can be reached"
    later = record(5)
    worker._retry_at = 0.0
    tried.clear()
    assert worker.upload_due() == 1 and tried == [str(big), str(later)]
    assert worker._failures == 2
    clinic_down, worker._retry_at = True, 0.0
    record(6), record(7)
    tried.clear()
    assert worker.upload_due() == 0
    assert len(tried) == 2, "a clinic out of reach: two tries in a row failed, the round ends"
    assert worker._failures == 3 and worker.status().waiting == 3
    # the two tried this round failed (the last one out of reach); the third was not tried: not said as failing
    status = worker.status()
    assert (status.failing, status.failing_error) == (2, "cannot reach 127.0.0.1:9: its server is not answering")
    assert status.unreachable == "cannot reach 127.0.0.1:9: its server is not answering", "said once, as the clinic's"


@pytest.mark.parametrize(("off_s", "size"), [(-29, "29 seconds behind"), (1, "1 second ahead of"),
                                            (75, "1 minute ahead of"), (-89, "1 minute behind"),
                                            (90, "2 minutes ahead of"), (7199, "120 minutes ahead of"),
                                            (-7200, "2 hours behind"), (2 * 86400, "2 days ahead of")])
def test_the_clock_note_says_a_small_offset_in_words_that_read_right(off_s: float, size: str) -> None:
    from romcam.session_doc import clock_note
    assert clock_note(off_s) == f"this laptop's clock was {size} the clinic's when it sent this session: its times " \
        "are the laptop's"


def test_the_coach_follows_the_stored_plan_only_for_the_token_the_clinic_answered(store: Store) -> None:
    """The plan stored for Ada's token is not followed under a token the clinic has not answered (measure only,
    and the page is told why); back under Ada's token it is, at once; a laptop's own plan before any link is too."""
    from romcam.live.plan import plan_waiting, todays_plan

    me = store.local_patient_id
    ada = LinkConfig("https://clinic.example", "romcam_dt_" + "a" * 30)
    bob = LinkConfig("https://clinic.example", "romcam_dt_" + "b" * 30)
    with store.session() as db:  # the laptop's own plan, before the clinic ever answered: followed
        service.create_prescription(db, service.get_patient(db, me), KNEE | {"target_max": 100})
    assert [i.target_max for i in todays_plan(store, link=bob)] == [100]
    assert plan_waiting(store, bob) is None
    rx = uuid.uuid4()
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=ada.url, device=_device(rx), now=T0, link_fp=ada.fingerprint)
    assert [(i.prescription_id, i.target_max) for i in todays_plan(store, link=ada)] == [(str(rx), 120)]
    assert plan_waiting(store, ada) is None
    waiting = todays_plan(store, link=bob)  # re-linked: Ada's plan is not Bob's
    assert [(i.exercise, i.prescription_id, i.target_min, i.target_max) for i in waiting] == [
        ("shoulder_abduction", None, None, None)]
    assert plan_waiting(store, bob) == (
        "This laptop was linked again, and clinic.example has not answered it yet, so romcam does not know this "
        "patient's plan: it does not use the plan of the patient linked before. romcam measures and shows the range "
        "reached; the therapist's plan shows here once the clinic answers.")
    assert [i.prescription_id for i in todays_plan(store, link=ada)] == [str(rx)]  # back to Ada's token
    assert [i.prescription_id for i in todays_plan(store)] == [str(rx)]  # not linked: the stored plan


def test_a_relinked_coach_does_not_say_the_patient_linked_befores_pause(store: Store) -> None:
    """Ada's plan was paused at the clinic; the laptop is re-linked with Bob's token, which the clinic has not
    answered yet: the coaching page says nothing of Ada's pause (it is not Bob's), as it follows none of her plan;
    under Ada's token, or not linked, it says the plan is paused."""
    from romcam.live.plan import day_words, plan_paused

    me = store.local_patient_id
    ada = LinkConfig("https://clinic.example", "romcam_dt_" + "a" * 30)
    bob = LinkConfig("https://clinic.example", "romcam_dt_" + "b" * 30)
    device = _device(uuid.uuid4()) | {"plan_paused": True, "pauses": [{"paused_at": "2026-03-03T10:00:00+00:00",
                                                                       "resumed_at": None}]}
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=ada.url, device=device, now=T0, link_fp=ada.fingerprint)
    day = datetime(2026, 3, 3, 10, tzinfo=UTC).astimezone()
    said_day = day_words(day.date(), datetime.now(UTC).astimezone().date())
    said = (f"Your therapist paused your exercise plan on {said_day} (for example for a hospital stay): "
            "nothing is asked of you until they resume it. You can still do a session if you want; it is saved as "
            "usual.")
    assert plan_paused(store, ada) == said
    assert plan_paused(store) == said
    assert plan_paused(store, bob) is None


def test_a_status_read_while_the_key_is_refused_never_says_refused_without_why(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync thread writes the error, then sets ``token_refused``; a status read (the panel's poll, another
    thread) that read the stored error first and the flag after — the pull failing in between — said the key was
    refused with no reason (a panel with "ask for a new key" and nothing else; tests/test_sync.py saw it under
    load). The flag is read before the stored error: a status says both, or neither yet."""
    from romcam.sync import worker as worker_module
    from romcam.sync.client import ClinicError

    link = LinkConfig("https://clinic.example", TOKEN)
    worker = worker_module.SyncWorker(store, link)

    def refused(timeout: float | None = None) -> dict:
        raise ClinicError("auth", "clinic.example does not accept this laptop's key: this device token was "
                          "revoked on 29 Nov 2026: ask your PT for a new one", 401)

    worker.client.device = refused  # type: ignore[method-assign]
    counts = worker_module.outbox.counts

    def counts_while_the_pull_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not worker.token_refused:
            worker.pull_plan()  # the sync thread, between the status's reads
        return counts(*args, **kwargs)

    monkeypatch.setattr(worker_module.outbox, "counts", counts_while_the_pull_fails)
    first = worker.status()
    assert (first.token_refused, first.last_error) == (False, "")  # read before the pull: neither yet
    then = worker.status()
    assert then.token_refused and "revoked on 29 Nov 2026" in then.last_error


def test_a_relinked_coach_says_how_the_clinic_answered_the_new_token(store: Store) -> None:
    """While the plan is withheld, the words follow the clinic's last answer to the new token: refused (sessions
    kept, ask the therapist for a new key, `romcam link`), out of reach (romcam keeps trying), or none yet. The
    sync worker remembers how its last pull failed and tells the coach only when that changes; a pull the clinic
    answers clears it."""
    from romcam.live.plan import plan_waiting
    from romcam.sync.client import ClinicError
    from romcam.sync.worker import SyncWorker

    me = store.local_patient_id
    ada = LinkConfig("https://clinic.example", "romcam_dt_" + "a" * 30)
    bob = LinkConfig("https://clinic.example", "romcam_dt_" + "b" * 30)
    rx = uuid.uuid4()
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url=ada.url, device=_device(rx), now=T0, link_fp=ada.fingerprint)
    assert plan_waiting(store, bob, "refused") == (
        "This laptop was linked again, but clinic.example did not accept this laptop's key (it may have been mistyped, "
        "or cancelled at the clinic), so romcam does not know this patient's plan: it does not use the plan of the "
        "patient linked before. The sessions recorded here are kept on this laptop: nothing is lost. To fix it, ask "
        "the therapist for a new key, then start romcam again with it after `--token`, in place of the old one (or "
        "ask whoever started romcam for you). Until then romcam measures and shows the range reached.")
    assert "then enter it on this laptop with `romcam link` (or ask whoever helps you with the computer): romcam " \
        "takes it within a few seconds. Until then" in plan_waiting(store, bob, "refused", follows_file=True)
    assert plan_waiting(store, bob, "unreachable") == (
        "This laptop was linked again, and clinic.example cannot be reached now, so romcam does not know this "
        "patient's plan: it does not use the plan of the patient linked before. romcam keeps trying, and the sessions "
        "recorded here are kept on this laptop. romcam measures and shows the range reached; the therapist's plan "
        "shows here once the clinic answers.")
    assert plan_waiting(store, bob).startswith("This laptop was linked again, and clinic.example has not answered")
    assert plan_waiting(store, ada, "refused") is None  # Ada's own token: her plan is followed, nothing to say

    worker = SyncWorker(store, bob)
    told: list[str | None] = []
    worker.on_clinic_answer = lambda: told.append(worker.clinic_answer)
    answers: list[object] = [ClinicError("offline", "cannot reach clinic.example: it did not answer in time"),
                             ClinicError("offline", "cannot reach clinic.example: it did not answer in time"),
                             ClinicError("auth", "clinic.example does not accept this laptop's key", 401),
                             ClinicError("auth", "clinic.example does not accept this laptop's key", 401),
                             {"patient_id": str(uuid.uuid4()), "patient_name": "Bob", "plan": []}]

    def device(timeout: float | None = None) -> dict:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    worker.client.device = device  # type: ignore[method-assign]
    assert worker.clinic_answer is None
    assert worker.pull_plan() is False and worker.clinic_answer == "unreachable"
    assert worker.pull_plan() is False and told == ["unreachable"]  # the same answer again: nothing new to say
    with pytest.raises(ConflictError, match="has not answered since this laptop was linked"):
        worker.set_consent(True)  # the consent panel's answer: whose results they would be is not known yet
    assert worker.pull_plan() is False and worker.clinic_answer == "refused" and worker.token_refused
    with pytest.raises(ConflictError) as refused:
        worker.set_consent(True)  # it was answered: refused, so the panel says so and what to do
    assert str(refused.value).startswith("clinic.example did not accept this laptop's key, so romcam does not know "
                                         "whose results it would share: consent is asked once it accepts one. Ask "
                                         "your PT for a new key. Once you have it, start romcam again with it "
                                         "after `--token`"), str(refused.value)  # a worker of a --token start
    worker.follows_link_file = True  # one of a plain `romcam serve`, which follows its link file
    with pytest.raises(ConflictError) as refused:
        worker.set_consent(True)
    assert str(refused.value).endswith("Ask your PT for a new key. Once you have it, enter it on this laptop with "
                                       "`romcam link` (or ask whoever helps you with the computer): romcam takes it "
                                       "within a few seconds. Your sessions stay on this laptop until then.")
    assert worker.pull_plan() is False and told == ["unreachable", "refused"]
    assert worker.pull_plan() is True and worker.clinic_answer is None
    assert plan_waiting(store, bob, worker.clinic_answer) is None  # answered: Bob's plan (empty) is his own


def test_a_running_server_follows_its_link_file_and_keeps_the_link_through_a_broken_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """romcam.sync.follow: a link written, changed (another key) or removed while romcam runs is handed on; the
    same link written again is no change; a half-written file or one others may read keeps the link in use, said
    once in the log, and is read again at the next look; a link the app could not start is tried again."""
    from romcam.sync.follow import LinkFollower

    path = tmp_path / "romcam" / "link.toml"
    ada = LinkConfig("https://clinic.example", TOKEN)
    bob = LinkConfig("https://clinic.example", "romcam_dt_" + "b" * 40)
    seen: list[LinkConfig | None] = []
    follower = LinkFollower(path, None, seen.append, every_s=0.1)
    assert follower.check() is False and seen == []  # no file: not linked, as it was
    write_config(path, ada)
    assert follower.check() is True and seen == [ada] and follower.current == ada
    assert follower.check() is False  # unchanged: not read again
    write_config(path, ada)  # `romcam link` run again with the same key
    assert follower.check() is False and seen == [ada]

    path.write_text('upload_to = "https://clinic.example"\ntoken = "romcam_dt_')  # half-written by an editor
    with caplog.at_level("WARNING", logger="romcam.sync"):
        assert follower.check() is False and follower.check() is False
    said = [r.getMessage() for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(said) == 1 and "is not valid TOML" in said[0] and "still linked to https://clinic.example" in said[0]
    assert TOKEN not in caplog.text
    write_config(path, bob)
    os.chmod(path, 0o644)
    assert follower.check() is False and follower.current == ada  # others may read it: refused, as at a start
    assert "chmod 600" in caplog.text
    os.chmod(path, 0o600)
    assert follower.check() is True and seen == [ada, bob]

    def refuse(link: LinkConfig | None) -> None:
        raise RuntimeError("the database is busy")

    follower.on_change = refuse
    path.unlink()
    with pytest.raises(RuntimeError):
        follower.check()
    assert follower.current == bob  # not taken: the next look tries again
    follower.on_change = seen.append
    assert follower.check() is True and seen == [ada, bob, None] and follower.current is None


def test_a_link_that_cannot_be_started_is_tried_at_every_look_and_said_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The follower's own looks (its thread): a new link whose start fails (the database busy) is tried again at
    every look, and the log says so once with the traceback, not every 2 s; it says again when it fails another way,
    and the link is taken once it can start."""
    from romcam.sync.follow import LinkFollower

    path = tmp_path / "romcam" / "link.toml"
    ada = LinkConfig("https://clinic.example", TOKEN)
    bob = LinkConfig("https://clinic.example", "romcam_dt_" + "b" * 40)
    tries: list[LinkConfig | None] = []
    errors = ["the database is busy"] * 5 + ["the disk is full"] * 3

    def start(link: LinkConfig | None) -> None:
        tries.append(link)
        if errors:
            raise RuntimeError(errors.pop(0))

    follower = LinkFollower(path, ada, start, every_s=0.1)
    write_config(path, ada)
    follower.look()
    assert tries == []  # the link in use: nothing to start
    write_config(path, bob)
    with caplog.at_level("DEBUG", logger="romcam.sync"):
        for _ in range(10):
            follower.look()
    assert tries == [bob] * 9 and follower.current == bob  # 8 failed, the 9th started; the 10th: no change
    said = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in said] == [
        "sync: could not switch to the changed link file (RuntimeError: the database is busy): still linked to "
        "https://clinic.example; trying again every 0.1 s",
        "sync: could not switch to the changed link file (RuntimeError: the disk is full): still linked to "
        "https://clinic.example; trying again every 0.1 s"]
    assert all(r.exc_info is not None for r in said)  # with the traceback, for whoever reads the log
    assert "now linked to https://clinic.example with another device token" in caplog.text
    assert TOKEN not in caplog.text and bob.token not in caplog.text


def test_a_link_file_changed_while_the_coach_runs_gives_its_coach_the_new_links_plan_state(tmp_path: Path) -> None:
    """The app of `romcam serve` with the live coach, Ada's plan pulled from the clinic: `romcam link` with Bob's key
    while it runs. The link status is Bob's link at once (unconfirmed: the clinic cannot be reached here), and the
    coach stops following Ada's plan and says why (as after a restart with Bob's key); the file removed, the laptop
    is unlinked and the coach follows the plan stored here again. A key the clinic refuses asks for a new one with
    `romcam link`, not for a restart too."""
    from romcam.live.capture import LiveOptions
    from romcam.server.app import create_app
    from romcam.server.settings import Settings
    from romcam.sync.client import ClinicError
    from romcam.sync.worker import SyncWorker

    store = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    path = tmp_path / "link.toml"
    ada = LinkConfig("http://127.0.0.1:9", TOKEN)  # nothing listens there: the clinic is out of reach
    bob = LinkConfig("http://127.0.0.1:9", "romcam_dt_" + "b" * 40)
    rx = uuid.uuid4()
    try:
        pulled = SyncWorker(store, ada)
        pulled.client.device = lambda timeout=None: {  # type: ignore[method-assign]
            "patient_id": str(uuid.uuid4()), "patient_name": "Ada Clinic",
            "plan": [{"id": str(rx), "version": 1, "created_at": "2026-11-20T09:00:00+00:00", **KNEE}]}
        assert pulled.pull_plan()
        write_config(path, ada)
        app = create_app(Settings(db=f"sqlite:///{tmp_path / 'laptop.db'}"), store=store,
                         live=LiveOptions(source=None), link=ada, link_file=path)
        coach = app.state.live.worker
        assert [p.prescription_id for p in coach.plan] == [str(rx)] and coach.plan_waiting is None

        adas = app.state.sync
        write_config(path, bob)
        assert app.state.link_follower.check() is True
        try:
            status = app.state.sync.status()
            assert (status.linked, status.confirmed, status.patient_name) == (True, False, ""), status
            assert app.state.sync.link == bob and app.state.sync.clinic_answer == "unreachable"
            assert [p.prescription_id for p in coach.plan] == [None]  # measure only: not Ada's plan
            assert "127.0.0.1:9 cannot be reached now" in coach.plan_waiting
            assert "does not use the plan of the patient linked before" in coach.plan_waiting
        finally:
            app.state.sync.stop()
        sync = app.state.sync  # the clinic answers Bob's key: it does not know it (mistyped)
        with pytest.raises(ConflictError, match="link changed just now"):
            adas.set_consent(True)  # a consent that reached Ada's link as it was replaced: not taken for Bob's
        with store.session() as db:
            assert db.get(LinkState, 1).consent_at is None  # Bob's key, when the clinic answers it, asks again

        def refused(timeout: float | None = None) -> dict:
            raise ClinicError("auth", "127.0.0.1:9 does not accept this laptop's key: the clinic does not know this "
                              "device token", 401)

        sync.client.device = refused  # type: ignore[method-assign]
        assert sync.pull_plan() is False
        for said in (coach.plan_waiting, sync.status().last_error):  # no restart to ask for: romcam follows the file
            assert "with `romcam link` (or ask whoever helps you with the computer): romcam takes it within a few " \
                   "seconds." in said, said
            assert "start romcam again" not in said
        path.unlink()
        assert app.state.link_follower.check() is True and app.state.sync is None
        assert coach.plan_waiting is None and [p.prescription_id for p in coach.plan] == [str(rx)]
    finally:
        store.close()


def test_a_first_link_while_the_coach_runs_says_the_pts_plan_arrived(tmp_path: Path) -> None:
    """The app of a plain `romcam serve` with the live coach, never linked (measure only); `romcam link` while it
    runs, and the clinic answers with Ada's plan: the coach follows it, and the page says the PT's plan arrived —
    not "Your PT changed your plan", a change the PT never made to a plan this laptop never had."""
    from romcam.live.capture import LiveOptions
    from romcam.server.app import create_app
    from romcam.server.settings import Settings

    store = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    path = tmp_path / "link.toml"
    ada = LinkConfig("http://127.0.0.1:9", TOKEN)  # nothing listens there: the answer is given below
    rx = uuid.uuid4()
    try:
        app = create_app(Settings(db=f"sqlite:///{tmp_path / 'laptop.db'}"), store=store,
                         live=LiveOptions(source=None), link=None, link_file=path)
        coach = app.state.live.worker
        assert [p.prescription_id for p in coach.plan] == [None] and coach.plan_waiting is None
        write_config(path, ada)
        assert app.state.link_follower.check() is True
        sync = app.state.sync
        try:
            sync.client.device = lambda timeout=None: {  # type: ignore[method-assign]
                "patient_id": str(uuid.uuid4()), "patient_name": "Ada Clinic",
                "plan": [{"id": str(rx), "version": 1, "created_at": "2026-11-20T09:00:00+00:00", **KNEE}]}
            assert sync.pull_plan()
            assert [p.prescription_id for p in coach.plan] == [str(rx)] and coach.plan_waiting is None
            note = coach.status()["plan_change"]
            assert note is not None and note["text"] == "Your PT's plan has arrived: knee flexion.", note
        finally:
            sync.stop()
    finally:
        store.close()
