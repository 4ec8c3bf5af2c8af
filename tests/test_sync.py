"""Sync, end to end: a patient's laptop (SQLite) linked to a clinic (PostgreSQL), both real `romcam
serve` processes on loopback. Sessions recorded while the clinic is down arrive once it is up and
the patient has consented; nothing leaves without consent or after it is withdrawn; the clinic's plan
is pulled and read-only on the laptop; a revoked token stops uploads with a plain status while the
outbox keeps the sessions; the token never reaches a log; a laptop passed to another patient keeps the
first one's unsent sessions and sends the new one's."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from db_fixtures import postgres_server  # noqa: F401 (fixture)
from sqlalchemy import func, select
from sync_fixtures import KNEE, ClinicSite, Laptop, http, romcam, wait_for

from romcam.live.plan import day_words
from romcam.store import accounts, live, service
from romcam.store.models import Checkin, DeviceToken, LinkState, OutboxItem
from romcam.sync.document import clinic_document


@pytest.fixture
def sites(tmp_path: Path, postgres_server):  # type: ignore[no-untyped-def]  # noqa: F811
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    try:
        yield clinic, laptop
    finally:
        laptop.close()
        clinic.close()


def _expected_sha(laptop: Laptop, clinic: ClinicSite, session_id: uuid.UUID) -> str:
    """The sha256 of the session as the laptop must send it, recomputed from its rows."""
    with laptop.store.session() as db:
        state = db.get(LinkState, 1)
        return clinic_document(db, session_id, clinic_patient_id=clinic.patient_id,
                               managed_rx=set(state.managed_rx)).sha256()



def _second_patient(clinic: ClinicSite) -> tuple[uuid.UUID, str]:
    """Bob, another patient of the clinic, and a device token naming him: (his id, the token)."""
    with clinic.store.session() as db:
        bob = service.create_patient(db, name="Bob Second", clinician_id=clinic.clinician_id)
        _, token = accounts.create_device_token(db, bob, now=datetime.now(UTC))
        db.commit()
        return bob.id, token

def test_offline_sessions_arrive_after_consent_and_the_plan_is_the_clinics(sites, demo_clip: Path) -> None:
    clinic, laptop = sites
    laptop.start()  # the clinic is down
    status = wait_for("the unreachable clinic in the status", lambda: (s := laptop.status())["last_error"] and s)
    assert status["linked"] and status["clinic"] == f"127.0.0.1:{clinic.port}"
    assert "cannot reach" in status["last_error"] and status["consent"] is False

    # sessions recorded offline: one measured on rendered video by `romcam analyze --save`, two more
    romcam("analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "--quiet", "--save",
           "--db", laptop.db_url)
    recorded = laptop.local_sessions() | set(laptop.record(2))
    assert len(recorded) == 3
    wait_for("3 sessions queued", lambda: laptop.status()["waiting"] == 3)

    clinic.start()
    wait_for("the plan pulled", lambda: laptop.status()["plan_pulled_at"], timeout=30)
    # no consent: nothing leaves, however long we wait (several poll rounds and plan pulls)
    wait_for("a few more sync rounds", lambda: laptop.status()["last_error"] == "" or None, timeout=10)
    time.sleep(1.5)
    assert clinic.sessions() == {} and laptop.status()["waiting"] == 3

    # the plan is the clinic's, under the clinic's ids, and read-only here
    me = laptop.local_patient().id
    code, plan = http("GET", f"{laptop.url}/api/patients/{me}/prescriptions")
    assert code == 200 and [(p["id"], p["exercise"], p["target_min"], p["target_max"]) for p in plan] == [
        (str(clinic.rx_id), "knee_flexion", KNEE["target_min"], KNEE["target_max"])]
    code, body = http("POST", f"{laptop.url}/api/patients/{me}/prescriptions", KNEE)
    assert code == 409 and body["detail"].startswith(f"this plan is managed by your PT at 127.0.0.1:{clinic.port}")
    code, _ = http("PUT", f"{laptop.url}/api/prescriptions/{clinic.rx_id}", KNEE | {"target_max": 125})
    assert code == 409
    code, _ = http("DELETE", f"{laptop.url}/api/prescriptions/{clinic.rx_id}")
    assert code == 409

    # a consent from another site's page is refused; from the laptop's own page it starts the uploads
    code, _ = http("POST", laptop.url + "/api/link/consent", {"consent": True}, headers={"Origin": "https://evil.test"})
    assert code == 403 and laptop.status()["consent"] is False
    assert laptop.consent()["consent"] is True
    wait_for("the outbox emptied", lambda: laptop.status()["waiting"] == 0 and laptop.status()["sent"] == 3)
    held = clinic.sessions()
    assert set(held) == recorded
    for sid in recorded:  # what the clinic holds is what the laptop has, re-addressed to the clinic's patient
        assert held[sid] == _expected_sha(laptop, clinic, sid)
    status = laptop.status()
    assert status["last_upload_at"] and status["last_error"] == "" and status["patient_name"] == "Ada Clinic"

    # a check-in after a session follows it
    sid = sorted(recorded)[0]
    with laptop.store.session() as db:
        cid = live.add_checkin(db, session_id=sid, pain=3, tiredness=6, cramps=True, note="calf", at=datetime.now(UTC))
    wait_for("the check-in at the clinic", lambda: _clinic_checkin(clinic, cid))
    got = _clinic_checkin(clinic, cid)
    assert (got.session_id, got.pain, got.tiredness, got.cramps, got.note) == (sid, 3, 6, True, "calf")

    # consent withdrawn: a new session stays here
    laptop.consent(False)
    (late,) = laptop.record(1)
    wait_for("the new session queued", lambda: laptop.status()["waiting"] == 1)
    time.sleep(1.5)
    assert late not in clinic.sessions() and laptop.status()["consent"] is False

    # the token revoked at the clinic: uploads stop with a plain status; the outbox keeps the session
    with clinic.store.session() as db:
        row = db.scalar(select(DeviceToken).where(DeviceToken.patient_id == clinic.patient_id))
        accounts.revoke_device_token(db, row, now=datetime.now(UTC))
    laptop.consent(True)
    status = wait_for("the refused token in the status", lambda: (s := laptop.status())["token_refused"] and s)
    assert "revoked" in status["last_error"] and "ask your PT" in status["last_error"], status
    # ... and what to do with the new one, and that nothing is lost meanwhile
    # started with --token, it reads no link file: the new key goes on its command line
    assert "start romcam again with it after `--token`, in place of the old one (or ask whoever started romcam " \
        "for you)." in status["last_error"] and "romcam link" not in status["last_error"]
    assert "sessions stay on this laptop" in status["last_error"]
    time.sleep(1.5)
    assert late not in clinic.sessions() and laptop.status()["waiting"] == 1
    with laptop.store.session() as db:
        item = db.scalar(select(OutboxItem).where(OutboxItem.object_id == late))
        assert item.state == "pending"

    # the token never reached a log, nor the status
    laptop.stop()
    clinic.stop()
    for log in (laptop.log, clinic.log):
        assert clinic.token not in log.read_text()
    assert clinic.token not in str(status)


def _clinic_checkin(clinic: ClinicSite, checkin_id: uuid.UUID) -> Checkin | None:
    with clinic.store.session() as db:
        return db.get(Checkin, checkin_id)


def test_a_clinic_restored_from_a_backup_gets_the_lost_sessions_again(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The clinic's database is restored from last night's pg_dump: the sessions (and check-ins, one of
    them on a session the backup holds) that arrived after it are gone there, though the laptop marked
    them sent. The laptop asks the clinic what it holds (at start and every ROMCAM_SYNC_AUDIT_EVERY_S)
    and sends the lost ones again."""
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic, {"ROMCAM_SYNC_AUDIT_EVERY_S": "1"})
    try:
        clinic.start()
        laptop.start()
        laptop.consent()
        before = set(laptop.record(2))
        wait_for("2 sessions sent", lambda: laptop.status()["sent"] == 2)
        backup = postgres_server.dump(clinic.db_url)

        after = set(laptop.record(2))
        with laptop.store.session() as db:
            cid = live.add_checkin(db, session_id=sorted(after)[0], pain=2, tiredness=5, cramps=False, note="",
                                   at=datetime.now(UTC))
            # a late check-in on a session the backup holds: the restored clinic keeps the session only
            late = live.add_checkin(db, session_id=sorted(before)[0], pain=1, tiredness=3, cramps=True,
                                    note="stiff", at=datetime.now(UTC))
        wait_for("4 sessions and the check-ins at the clinic",
                 lambda: laptop.status()["sent"] == 4 and _clinic_checkin(clinic, cid)
                 and _clinic_checkin(clinic, late))
        assert set(clinic.sessions()) == before | after

        clinic.stop()
        clinic.store.engine.dispose()
        postgres_server.restore(clinic.db_url, backup)
        assert set(clinic.sessions()) == before  # lost at the clinic, with both check-ins
        assert _clinic_checkin(clinic, cid) is None and _clinic_checkin(clinic, late) is None
        clinic.start()
        wait_for("the lost sessions sent again", lambda: set(clinic.sessions()) == before | after, timeout=60)
        wait_for("the lost check-ins sent again",
                 lambda: _clinic_checkin(clinic, cid) and _clinic_checkin(clinic, late))
        assert _clinic_checkin(clinic, late).note == "stiff"
        held = clinic.sessions()
        for sid in before | after:  # the same bytes as the first time
            assert held[sid] == _expected_sha(laptop, clinic, sid)
        assert laptop.status()["sent"] == 4 and laptop.status()["waiting"] == 0
        assert "no longer holds 2 session(s)" in laptop.log.read_text()
    finally:
        laptop.close()
        clinic.close()


def test_a_new_patients_sessions_recorded_before_the_clinic_answers_are_theirs(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The laptop passes from Ada to Bob: romcam restarts with Bob's token while the clinic is out of reach,
    and Bob exercises. Once the clinic answers, Ada's unsent session stays on the laptop (not Bob's), but
    Bob's own session is his: it reaches his record once he consents, not held for good as Ada's."""
    from romcam.store.models import Session as SessionRow

    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    try:
        clinic.start()
        laptop.start()
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        adas = laptop.record(1)  # not sent: Ada never consented
        bob_id, bobs_token = _second_patient(clinic)
        laptop.stop()
        clinic.stop()
        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", bobs_token]
        laptop.start()
        bobs = laptop.record(1)  # the clinic is out of reach: the laptop does not know it is Bob's yet
        clinic.start()
        wait_for("Bob's plan pulled", lambda: laptop.status()["patient_name"] == "Bob Second", timeout=30)
        status = laptop.status()
        assert status["consent"] is False and status["held"] == 1, status
        assert "1 session recorded for Ada Clinic" in status["last_error"]
        laptop.consent()
        wait_for("Bob's session at the clinic", lambda: laptop.status()["sent"] == 1, timeout=30)
        with clinic.store.session() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())
        assert stored == {bobs[0]: bob_id}, "Bob's session in Bob's record, and nothing of Ada's"
        assert adas[0] in laptop.local_sessions()
    finally:
        laptop.close()
        clinic.close()


def test_a_laptop_relinked_to_another_clinic_keeps_each_patients_sessions_apart_across_restarts(
        tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The laptop moves from Ada at clinic A to Bob at clinic B (another URL, Bob's token), and romcam starts
    three times while clinic B is out of reach, Bob exercising in between. Until B answers, the status names
    no patient and no consent (not Ada's); once it answers, only Ada's unsent session is held, Bob's two reach
    Bob's record at B, and clinic A gets nothing more. The start decided which sessions were the last
    patient's, so the second restart took Bob's first session for Ada's."""
    from romcam.store.models import Patient
    from romcam.store.models import Session as SessionRow

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    clinic_a = ClinicSite(tmp_path / "a", postgres_server.new_database())
    clinic_b = ClinicSite(tmp_path / "b", postgres_server.new_database())
    with clinic_b.store.session() as db:
        db.get(Patient, clinic_b.patient_id).name = "Bob Second"
        db.commit()
    laptop = Laptop(tmp_path, clinic_a)
    try:
        clinic_a.start()
        laptop.start()
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        laptop.consent()
        (ada_sent,) = laptop.record(1)
        wait_for("Ada's first session at clinic A", lambda: ada_sent in clinic_a.sessions())
        laptop.consent(False)
        (ada_kept,) = laptop.record(1)  # recorded while Ada was not sharing: hers, never Bob's
        wait_for("Ada's second session queued", lambda: laptop.status()["waiting"] == 1)
        laptop.stop()

        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic_b.url, "--token", clinic_b.token]
        bobs: list[uuid.UUID] = []
        for _ in range(3):  # clinic B is down through every one of these starts
            laptop.start()
            status = laptop.status()
            assert status["clinic"] == f"127.0.0.1:{clinic_b.port}", status
            assert status["patient_name"] == "" and status["consent"] is False, status  # not Ada's
            assert status["confirmed"] is False, status
            wait_for("clinic B out of reach", lambda: "cannot reach" in laptop.status()["last_error"])
            if len(bobs) < 2:
                bobs += laptop.record(1)
                _wait_waiting(laptop, 1 + len(bobs))
            laptop.stop()
        laptop.start()
        code, body = http("POST", laptop.url + "/api/link/consent", {"consent": True})
        assert code == 409 and "has not answered" in body["detail"], body  # whose results it would share is unknown

        clinic_b.start()
        status = wait_for("clinic B's answer", lambda: (s := laptop.status())["confirmed"] and s, timeout=60)
        assert status["patient_name"] == "Bob Second" and status["consent"] is False, status
        assert status["held"] == 1 and status["waiting"] == 2, status
        assert "1 session recorded for Ada Clinic" in status["last_error"], status
        laptop.consent()
        wait_for("Bob's sessions at clinic B", lambda: set(clinic_b.sessions()) == set(bobs), timeout=60)
        time.sleep(1.5)  # a few more rounds: nothing else goes anywhere
        with clinic_b.store.session() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())
        assert stored == dict.fromkeys(bobs, clinic_b.patient_id), "Bob's sessions in Bob's record, none of Ada's"
        assert set(clinic_a.sessions()) == {ada_sent}
        with laptop.store.session() as db:
            assert db.query(OutboxItem).filter_by(object_id=ada_kept).one().state == "held"
        assert laptop.status()["waiting"] == 0
    finally:
        laptop.close()
        clinic_a.close()
        clinic_b.close()


def _wait_waiting(laptop: Laptop, n: int) -> None:
    wait_for(f"{n} sessions waiting", lambda: laptop.status()["waiting"] == n)


def test_sessions_recorded_under_a_token_the_clinic_never_answered_never_reach_another_patients_chart(
        tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """Ada's laptop, linked and sharing, is re-linked with Bob's token while the clinic is out of reach, and Bob
    exercises; then it is linked back to Ada's token. Bob's sessions were recorded under a token the clinic never
    answered: they must not reach Ada's chart once she consents (they did), the panel's status says they are kept;
    and once Bob's token is linked again and the clinic answers it, they reach Bob's record, none of Ada's."""
    from romcam.store.models import Session as SessionRow

    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    adas_args = list(laptop.args)
    try:
        bob_id, bobs_token = _second_patient(clinic)
        clinic.start()
        laptop.start()
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        laptop.consent()
        (ada_first,) = laptop.record(1)
        wait_for("Ada's first session at the clinic", lambda: ada_first in clinic.sessions())
        laptop.stop()
        clinic.stop()

        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", bobs_token]
        laptop.start()  # the clinic is out of reach: Bob's token is never answered
        bobs = laptop.record(2)
        wait_for("Bob's sessions queued", lambda: laptop.status()["waiting"] == 2)
        assert laptop.status()["confirmed"] is False
        laptop.stop()

        laptop.args = adas_args  # linked back to Ada
        clinic.start()
        laptop.start()
        (ada_second,) = laptop.record(1)
        status = wait_for("Ada's second session queued", lambda: (s := laptop.status())["waiting"] == 1 and s)
        assert (status["patient_name"], status["consent"], status["unanswered"]) == ("Ada Clinic", False, 2), status
        laptop.consent()
        wait_for("Ada's second session at the clinic", lambda: ada_second in clinic.sessions(), timeout=60)
        time.sleep(1.5)  # a few more rounds: Bob's sessions go nowhere
        assert set(clinic.sessions()) == {ada_first, ada_second}, "Bob's sessions must never be on Ada's chart"
        status = laptop.status()
        assert (status["waiting"], status["sent"], status["unanswered"], status["held"]) == (0, 2, 2, 0), status
        laptop.stop()

        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", bobs_token]
        laptop.start()  # Bob's token again, and the clinic answers it now
        status = wait_for("Bob's token answered", lambda: (s := laptop.status())["patient_name"] == "Bob Second" and s,
                          timeout=30)
        assert (status["consent"], status["waiting"], status["unanswered"]) == (False, 2, 0), status
        laptop.consent()
        wait_for("Bob's sessions sent", lambda: laptop.status()["sent"] == 4, timeout=60)
        with clinic.store.session() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())
        assert stored == {ada_first: clinic.patient_id, ada_second: clinic.patient_id} | dict.fromkeys(bobs, bob_id)
    finally:
        laptop.close()
        clinic.close()


def _clinic_with_adas_shoulder(tmp_path: Path, postgres_server) -> tuple[ClinicSite, uuid.UUID]:  # noqa: F811
    """A clinic on PostgreSQL whose patient Ada has, beside her knee, the shoulder abduction the demo clip moves:
    the clinic and that prescription's id."""
    shoulder = KNEE | {"exercise": "shoulder_abduction", "side": "left", "posture": "standing", "target_min": 90,
                       "target_max": 130, "safe_max": 160, "hold_s": 0}
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    with clinic.store.session() as db:
        adas_shoulder = service.create_prescription(db, service.get_patient(db, clinic.patient_id), shoulder).id
        db.commit()
    return clinic, adas_shoulder


def _ada_pulled_then_relinked_to_bob(clinic: ClinicSite, laptop: Laptop, demo_clip: Path,
                                     config: dict[str, str]) -> uuid.UUID:
    """The laptop pulls Ada's plan; both stop; Bob is made at the clinic, and the laptop is linked again with his
    token by `romcam link` while the clinic is out of reach, to coach live on ``demo_clip`` at its next start.
    Bob's patient id."""
    clinic.start()
    laptop.start()
    wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
    laptop.stop()
    clinic.stop()
    bob_id, bobs_token = _second_patient(clinic)
    romcam("link", "--upload-to", clinic.url, "--no-check", stdin=bobs_token + "\n", env=config)
    laptop.args = ["--db", laptop.db_url, "--source", str(demo_clip)]  # the link file romcam link wrote
    laptop.live = True
    return bob_id


def test_a_relinked_laptop_coaches_and_files_under_no_plan_until_the_clinic_answers_the_new_token(
        tmp_path: Path, postgres_server, demo_clip: Path) -> None:  # noqa: F811
    """Ada's laptop (her plan pulled: the knee and the shoulder the demo clip moves) is linked again with Bob's
    token by `romcam link` while the clinic is out of reach. Until the clinic answers, the live coach follows
    no plan — not Ada's — and says why (the clinic cannot be reached now), and a session `romcam analyze --save`
    records is filed under no prescription; once the clinic answers, the coach takes Bob's plan, and that session
    reaches Bob's chart (before, it was filed under Ada's shoulder prescription and the clinic refused it for Bob:
    never sent)."""
    import subprocess
    import sys

    from romcam.store.models import ExerciseSet
    from romcam.store.models import Session as SessionRow

    clinic, adas_shoulder = _clinic_with_adas_shoulder(tmp_path, postgres_server)
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    laptop = Laptop(tmp_path, clinic, extra_env=config)
    try:
        bob_id = _ada_pulled_then_relinked_to_bob(clinic, laptop, demo_clip, config)
        with clinic.store.session() as db:
            bobs_knee = service.create_prescription(db, service.get_patient(db, bob_id),
                                                    KNEE | {"target_min": 70, "target_max": 100}).id
            db.commit()
        laptop.start()

        code, plan = http("GET", laptop.url + "/live/plan")
        assert code == 200 and [(p["exercise"], p["prescription_id"], p["target_min"]) for p in plan] == [
            ("shoulder_abduction", None, None)], plan  # measure only: not Ada's knee and shoulder
        code, live = http("GET", laptop.url + "/live/status")
        assert code == 200 and f"127.0.0.1:{clinic.port} cannot be reached now" in live["plan_waiting"], live
        assert "does not use the plan of the patient linked before" in live["plan_waiting"]
        assert "romcam keeps trying" in live["plan_waiting"]

        done = subprocess.run([sys.executable, "-m", "romcam.cli", "analyze", str(demo_clip), "--exercise",
                               "shoulder_abduction", "--side", "left", "--quiet", "--save", "--db", laptop.db_url],
                              capture_output=True, text=True, env=os.environ | laptop.env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "filed under no prescription: this laptop was linked again" in done.stderr, done.stderr
        (bobs_session,) = laptop.local_sessions()
        with laptop.store.session() as db:
            filed = db.scalars(select(ExerciseSet.prescription_id).where(ExerciseSet.session_id == bobs_session))
            assert list(filed) == [None]  # not Ada's shoulder prescription (adas_shoulder)

        clinic.start()
        plan = wait_for("Bob's plan on the coach", lambda: (p := http("GET", laptop.url + "/live/plan")[1])
                        and p[0]["prescription_id"] == str(bobs_knee) and p, timeout=60)
        assert [(p["exercise"], p["target_min"], p["target_max"]) for p in plan] == [("knee_flexion", 70, 100)]
        assert http("GET", laptop.url + "/live/status")[1]["plan_waiting"] is None
        assert laptop.status()["patient_name"] == "Bob Second"
        laptop.consent()
        wait_for("the session on Bob's chart", lambda: laptop.status()["sent"] == 1, timeout=60)
        with clinic.store.session() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())
        assert stored == {bobs_session: bob_id}
        assert laptop.status()["rejected"] == 0 and str(adas_shoulder) not in str(plan)
    finally:
        laptop.close()
        clinic.close()


def test_a_live_session_recorded_before_the_clinic_answers_a_relink_reaches_the_new_patients_chart(
        tmp_path: Path, postgres_server, demo_clip: Path) -> None:  # noqa: F811
    """Ada's laptop (her plan pulled: the knee and the shoulder the demo clip moves) is linked again with Bob's token
    by `romcam link` while the clinic is out of reach, and the live coach records a session on the rendered clip
    (Start, the clip plays to its end, Stop). It follows no plan then, so its set is filed under no prescription —
    none of Ada's —; once the clinic answers Bob's token and he consents, the session reaches Bob's chart, whole, and
    nothing is refused."""
    from romcam.store.models import ExerciseSet, Rep
    from romcam.store.models import Session as SessionRow

    clinic, adas_shoulder = _clinic_with_adas_shoulder(tmp_path, postgres_server)
    adas = {str(clinic.rx_id), str(adas_shoulder)}
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    laptop = Laptop(tmp_path, clinic, extra_env=config)
    try:
        bob_id = _ada_pulled_then_relinked_to_bob(clinic, laptop, demo_clip, config)
        laptop.start()
        assert laptop.status()["confirmed"] is False
        code, live = http("GET", laptop.url + "/live/status")
        assert code == 200 and live["plan_waiting"] and live["exercise"] == "shoulder_abduction", live

        code, started = http("POST", laptop.url + "/live/start")
        assert code == 200 and started["started"] is True, started
        live = wait_for("the clip played to its end and the session was kept",
                        lambda: (s := http("GET", laptop.url + "/live/status")[1])["last_session_id"] and s,
                        timeout=300, every=0.5)
        assert http("POST", laptop.url + "/live/stop")[0] == 200
        session_id = uuid.UUID(live["last_session_id"])
        with laptop.store.session() as db:
            row = db.get(SessionRow, session_id)
            assert row is not None and row.ended_at is not None and row.patient_id == laptop.store.local_patient_id
            sets = list(db.scalars(select(ExerciseSet).where(ExerciseSet.session_id == session_id)))
            assert [(s.exercise, s.prescription_id) for s in sets] == [("shoulder_abduction", None)]
            reps = db.scalar(select(func.count()).select_from(Rep).where(Rep.set_id == sets[0].id))
        assert reps >= 1, "the clip's abductions were measured as reps"
        wait_for("the live session queued", lambda: laptop.status()["waiting"] == 1, timeout=30)
        assert laptop.status()["sent"] == 0

        clinic.start()
        wait_for("Bob's token answered", lambda: laptop.status()["patient_name"] == "Bob Second", timeout=60)
        laptop.consent()
        status = wait_for("the live session sent", lambda: (s := laptop.status())["sent"] == 1 and s, timeout=60)
        assert (status["rejected"], status["held"], status["unanswered"], status["waiting"]) == (0, 0, 0, 0), status
        with clinic.store.session() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())
            assert stored == {session_id: bob_id}
            filed = list(db.scalars(select(ExerciseSet.prescription_id).where(ExerciseSet.session_id == session_id)))
            at_clinic = db.scalar(select(func.count()).select_from(Rep).join(ExerciseSet, Rep.set_id == ExerciseSet.id)
                                  .where(ExerciseSet.session_id == session_id))
        assert filed == [None] and not {str(p) for p in filed} & adas, filed
        assert at_clinic == reps
        assert laptop.outbox() == {"sent": 1}
    finally:
        laptop.close()
        clinic.close()


def _pauses(store, patient_id: uuid.UUID) -> list[tuple[datetime, datetime | None]]:  # type: ignore[no-untyped-def]
    """The patient's pauses of the plan in ``store`` (the clinic's or the laptop's), oldest first."""
    from romcam.store.models import PlanPause

    query = select(PlanPause).where(PlanPause.patient_id == patient_id).order_by(PlanPause.paused_at)
    with store.session() as db:
        return [(p.paused_at, p.resumed_at) for p in db.scalars(query)]


def test_the_pts_pause_at_the_clinic_reaches_the_laptop_its_calendar_and_its_coaching_page(
        sites, demo_clip: Path) -> None:
    """The PT paused Ada's plan at the clinic (a hospital stay: paused, resumed, paused again). Her laptop pulls the
    pause with the plan: its patient is paused with the clinic's own pause times, its calendar marks those days
    paused, its coaching page says the plan is paused (the coach still runs), and a local pause or resume is
    refused while linked (409, as the prescription routes) — other fields still change. The PT resumes the plan at
    the clinic: the laptop's record and its running coaching page follow without a restart."""
    from datetime import timedelta

    from romcam.store.models import Prescription, PrescriptionVersion

    clinic, laptop = sites
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with clinic.store.session() as db:  # the plan began 20 days ago
        db.get(Prescription, clinic.rx_id).created_at = midnight - timedelta(days=20)
        db.get(PrescriptionVersion, (clinic.rx_id, 1)).created_at = midnight - timedelta(days=20)
        db.commit()
        ada = service.get_patient(db, clinic.patient_id)
        for paused, back in ((True, 10), (False, 6), (True, 3)):  # at 01:00 UTC those days
            service.update_patient(db, ada, plan_paused=paused, now=midnight - timedelta(days=back, hours=-1))
    at_clinic = _pauses(clinic.store, clinic.patient_id)
    assert len(at_clinic) == 2 and at_clinic[1][1] is None
    laptop.args = [*laptop.args, "--source", str(demo_clip)]
    laptop.live = True
    clinic.start()
    laptop.start()  # the pull at start comes before the coach reads its plan
    wait_for("the plan pulled", lambda: laptop.status()["plan_pulled_at"], timeout=30)

    me = laptop.local_patient().id
    assert laptop.local_patient().plan_paused is True
    assert _pauses(laptop.store, me) == at_clinic
    code, patient = http("GET", f"{laptop.url}/api/patients/{me}")
    assert code == 200 and patient["plan_paused"] is True
    code, cal = http("GET", f"{laptop.url}/api/patients/{me}/adherence?days=14&tz=UTC")
    assert code == 200 and cal["plan_paused"] is True, cal
    assert [(datetime.fromisoformat(p["paused_at"]), p["resumed_at"] and datetime.fromisoformat(p["resumed_at"]))
            for p in cal["pauses"]] == at_clinic
    paused = {d["date"]: d["paused"] for d in cal["days"]}
    for back, expected in ((10, True), (9, True), (7, True), (6, False), (5, False), (4, False), (3, True), (1, True)):
        day = (midnight - timedelta(days=back)).date().isoformat()
        assert paused[day] is expected, (day, cal["days"])

    day = at_clinic[1][0].astimezone()
    said_day = day_words(day.date(), datetime.now(UTC).astimezone().date())
    code, live_status = http("GET", laptop.url + "/live/status")
    assert code == 200 and live_status["plan_paused"] == (
        f"Your therapist paused your exercise plan on {said_day} (for example for a hospital stay): nothing "
        "is asked of you until they resume it. You can still do a session if you want; it is saved as usual.")
    assert [p["prescription_id"] for p in live_status["plan"]] == [str(clinic.rx_id)]  # the plan is still shown

    # while linked, the pause is the clinic's: refused here, as the prescriptions are; other fields still change
    code, body = http("PATCH", f"{laptop.url}/api/patients/{me}", {"plan_paused": False})
    assert code == 409 and body["detail"] == (f"this plan is managed by your PT at 127.0.0.1:{clinic.port}: ask them "
                                              "to pause or resume it"), body
    assert laptop.local_patient().plan_paused is True and _pauses(laptop.store, me) == at_clinic
    code, body = http("PATCH", f"{laptop.url}/api/patients/{me}", {"notes": "left knee sore"})
    assert code == 200 and body["notes"] == "left knee sore" and body["plan_paused"] is True, body

    # the PT resumes the plan at the clinic: the laptop and its running coach follow at the next pull
    with clinic.store.session() as db:
        service.update_patient(db, service.get_patient(db, clinic.patient_id), plan_paused=False)
    at_clinic = _pauses(clinic.store, clinic.patient_id)
    assert at_clinic[1][1] is not None
    wait_for("the resume on the coaching page", lambda: http("GET", laptop.url + "/live/status")[1]["plan_paused"]
             is None, timeout=60)
    assert laptop.local_patient().plan_paused is False
    assert _pauses(laptop.store, me) == at_clinic
    code, cal = http("GET", f"{laptop.url}/api/patients/{me}/adherence?days=14&tz=UTC")
    assert code == 200 and cal["plan_paused"] is False
    assert datetime.fromisoformat(cal["pauses"][-1]["resumed_at"]) == at_clinic[1][1]


def test_romcam_link_while_serve_runs_takes_effect_without_a_restart(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """A caregiver runs `romcam link` with the coach's romcam already running, unlinked, a session recorded: within
    seconds the running server is linked (the status names the clinic's patient), and once the patient consents that
    session reaches the clinic. Then the laptop is re-linked, still running, to Bob's token: consent is asked again,
    and Bob's session reaches Bob's chart, not Ada's; a half-written link file changes nothing; `romcam link
    --remove` unlinks it. No restart at any point (before, all of it waited for the next start: nothing was sent)."""
    import subprocess
    import sys

    from romcam.store.models import Session as SessionRow

    config = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "ROMCAM_SYNC_LINK_CHECK_S": "0.3"}
    path = tmp_path / "config" / "romcam" / "link.toml"
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic, extra_env=config)
    laptop.args = ["--db", laptop.db_url]  # no link: a plain `romcam serve`, as `make run` starts it
    try:
        clinic.start()
        laptop.start()
        assert laptop.status() == {"linked": False}
        (before,) = laptop.record(1)  # recorded before the laptop was ever linked: the PT sees the history too

        done = subprocess.run([sys.executable, "-m", "romcam.cli", "link", "--upload-to", clinic.url],
                              input=clinic.token + "\n", capture_output=True, text=True, env=os.environ | config,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert "linked to 127.0.0.1" in done.stderr and "as Ada Clinic" in done.stderr, done.stderr
        assert "A romcam already running takes the new link within a few seconds" in done.stderr, done.stderr
        status = wait_for("the running laptop linked", lambda: (s := laptop.status())["linked"]
                          and s["confirmed"] and s, timeout=20)
        assert status["clinic_url"] == clinic.url and status["patient_name"] == "Ada Clinic", status
        assert status["waiting"] == 1 and status["consent"] is False, status
        laptop.consent()
        wait_for("the session from before the link at the clinic", lambda: before in clinic.sessions(), timeout=20)

        bob_id, bobs_token = _second_patient(clinic)
        romcam("link", "--upload-to", clinic.url, "--no-check", stdin=bobs_token + "\n", env=config)
        status = wait_for("the running laptop linked to Bob", lambda: (s := laptop.status())["patient_name"]
                          == "Bob Second" and s, timeout=20)
        assert status["consent"] is False and status["confirmed"] is True, status  # whoever is there says yes again
        (bobs,) = laptop.record(1)
        code, body = http("POST", laptop.url + "/api/link/consent", {"consent": True, "clinic_url": "http://127.0.0.1:1"})
        assert code == 409 and "not the clinic the page showed" in body["detail"], body  # a page from before a re-link
        code, body = http("POST", laptop.url + "/api/link/consent", {"consent": True, "clinic_url": clinic.url})
        assert code == 200 and body["consent"] is True, body
        def stored() -> dict[uuid.UUID, uuid.UUID]:
            with clinic.store.session() as db:
                return dict(db.execute(select(SessionRow.id, SessionRow.patient_id)).all())

        wait_for("Bob's session at the clinic", lambda: bobs in stored(), timeout=20)
        assert stored() == {before: clinic.patient_id, bobs: bob_id}

        path.write_text('upload_to = "http://127.0.0.1:9"\ntoken = "romcam_dt_')  # half-written, by hand
        wait_for("the log saying the link file cannot be used", lambda: "cannot be used" in laptop.log.read_text(),
                 timeout=20)
        status = laptop.status()
        assert status["patient_name"] == "Bob Second" and status["clinic_url"] == clinic.url, status
        romcam("link", "--remove", env=config)  # the caregiver unlinks the laptop (the half-written file goes too)
        assert not path.exists()
        wait_for("the laptop unlinked", lambda: laptop.status() == {"linked": False}, timeout=20)
        assert laptop.starts == 1 and laptop.proc is not None and laptop.proc.poll() is None
        assert clinic.token not in laptop.log.read_text() and bobs_token not in laptop.log.read_text()
    finally:
        laptop.close()
        clinic.close()
