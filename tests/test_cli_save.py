"""`romcam analyze --save` stores a rendered clip's analysis through the same service as the API."""

from __future__ import annotations

import pytest
from db_fixtures import *  # noqa: F403 (db_url, store, postgres_server)

from romcam.cli import main
from romcam.store import Store, service


def test_analyze_save_stores_the_clip_for_the_local_patient(demo_clip, db_url: str, capsys) -> None:
    store = Store(db_url)
    try:
        code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                     "--save", "--mode", "active", "--posture", "standing", "--db", db_url])
        assert code == 0
        assert "saved as session" in capsys.readouterr().err
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            [session] = service.list_sessions(db, me)
            [s] = session["sets"]
            assert (s["exercise"], s["side"], s["mode"], s["posture"]) == ("shoulder_abduction", "left", "active",
                                                                          "standing")
            assert s["reps_full"] + s["reps_partial"] >= 2 and s["best_angle"] > 60
            detail = service.session_detail(db, service.get_session(db, session["id"]))
            assert len(detail["sets"][0]["samples"]["t"]) > 60
    finally:
        store.close()


def test_analyze_save_files_the_video_under_the_plans_prescription_of_that_motion(demo_clip, db_url: str,
                                                                                   capsys) -> None:
    """The patient's plan has this motion (same side, mode and posture): the session is filed under that
    prescription's current version, as the live coach files its sets, so the PT reads it with its
    target band, and its reps are judged against the PT's target. It ended when it was saved, not a
    video's length later; a video of a motion the plan does not have stays unlinked."""
    from datetime import UTC, datetime

    store = Store(db_url)
    try:
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            rx = service.create_prescription(db, me, {
                "exercise": "shoulder_abduction", "side": "left", "mode": "active", "posture": "standing",
                "target_min": 150, "target_max": 170, "safe_max": 175, "reps": 3, "hold_s": 0, "sessions_per_week": 3})
            service.update_prescription(db, rx, {
                "exercise": "shoulder_abduction", "side": "left", "mode": "active", "posture": "standing",
                "target_min": 140, "target_max": 170, "safe_max": 175, "reps": 3, "hold_s": 0, "sessions_per_week": 3})
        for side in ("left", "right"):
            code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", side, "-q",
                         "--save", "--mode", "active", "--posture", "standing", "--db", db_url])
            assert code == 0
        err = capsys.readouterr().err
        assert err.count("filed under the plan's shoulder abduction (left, active, standing), version 2: "
                         "target 140° to 170°") == 1, err
        with store.session() as db:
            me = service.get_patient(db, store.local_patient_id)
            sessions = service.list_sessions(db, me)
            details = {d["sets"][0]["side"]: d for d in (service.session_detail(db, service.get_session(db, s["id"]))
                                                         for s in sessions)}
        left, right = details["left"]["sets"][0], details["right"]["sets"][0]
        assert (left["prescription_id"], left["prescription_version"]) == (rx.id, 2)
        assert (left["target_min"], left["target_max"], left["safe_max"]) == (140, 170, 175)
        assert left["reps"] and all(r["below_target"] is True for r in left["reps"])  # the clip peaks near 120°
        assert right["prescription_id"] is None and all(r["below_target"] is None for r in right["reps"])
        for d in details.values():
            assert d["ended_at"] <= datetime.now(UTC)
    finally:
        store.close()


def test_analyze_save_on_a_read_only_database_says_so_and_stores_nothing(demo_clip, postgres_server,
                                                                       capsys) -> None:
    """A database that takes no writes: one line naming the cause and what to do, exit code 1, the
    measurements still printed, and no half session stored."""
    url = postgres_server.new_database()
    Store(url).close()  # migrated and with its local patient, before it turns read-only
    name = url.rsplit("/", 1)[1]
    postgres_server._sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                 "--save", "--db", url])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Shoulder abduction, left side" in out and "repetitions:" in out, out
    assert ("romcam: could not save the session: the database is read-only. Nothing of it was stored; make the "
            "database writable, then run the same command again") in err, err
    assert "Traceback" not in err
    postgres_server._sql(f"ALTER DATABASE {name} SET default_transaction_read_only = off")
    store = Store(url)
    try:
        with store.session() as db:
            assert service.list_sessions(db, service.get_patient(db, store.local_patient_id)) == []
    finally:
        store.close()


def test_analyze_save_refuses_an_unknown_patient(demo_clip, tmp_path, capsys) -> None:
    code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "-q", "--save", "--patient",
                 "not-a-uuid", "--db", f"sqlite:///{tmp_path / 'r.db'}"])
    assert code == 2 and "is not a patient id" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["serve", "--help"]])
def test_serve_is_a_command(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0 and "--db" in capsys.readouterr().out


def test_demo_keeps_its_clip_in_this_users_data_folder(demo_clip, tmp_path, capsys, monkeypatch) -> None:
    """Not in the shared temp folder, where another user's clip (or a file planted there) would be taken."""
    import shutil

    monkeypatch.setenv("ROMCAM_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "demo").mkdir(parents=True)
    shutil.copy(demo_clip, tmp_path / "data" / "demo" / "demo_shoulder_abduction.mp4")
    assert main(["demo", "--no-save"]) == 0
    _, err = capsys.readouterr()
    assert f"the demo clip rendered before: {tmp_path / 'data' / 'demo' / 'demo_shoulder_abduction.mp4'}" in err, err
    assert "rendering" not in err


def test_demo_stores_one_demo_session_however_often_it_runs(demo_clip, tmp_path, capsys) -> None:
    import shutil

    clip_dir = tmp_path / "clips"
    clip_dir.mkdir()
    shutil.copy(demo_clip, clip_dir / "demo_shoulder_abduction.mp4")  # a clip already there is reused
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    for _ in range(2):
        assert main(["demo", "--out-dir", str(clip_dir), "--db", db_url]) == 0
    out, err = capsys.readouterr()
    assert "demo video (rendered, not a real patient)" in out
    assert err.count("stored as a demo session") == 1
    store = Store(db_url)
    try:
        with store.session() as db:
            [session] = service.list_sessions(db, service.get_patient(db, store.local_patient_id))
            assert session["demo"] is True
    finally:
        store.close()


def test_analyze_save_names_the_patient_and_tells_two_of_the_same_name_apart(demo_clip, db_url: str,
                                                                             capsys) -> None:
    """A PT saving a video for a patient read "saved as session … of patient 3f2c…": an id they cannot check
    against the dashboard's list. It names the patient, before the analysis when the video is filed under
    their plan and with the session saved; a patient who shares a name with another is told apart by id."""
    store = Store(db_url)
    try:
        with store.session() as db:
            ann = service.create_patient(db, name="Ann Lee")
            service.create_prescription(db, ann, {
                "exercise": "shoulder_abduction", "side": "left", "mode": "active", "posture": "standing",
                "target_min": 150, "target_max": 170, "safe_max": 175, "reps": 3, "hold_s": 0,
                "sessions_per_week": 3})
            bo, _other_bo = (service.create_patient(db, name="Bo Chan"), service.create_patient(db, name="bo chan "))
            ann_id, bo_id = ann.id, bo.id
    finally:
        store.close()
    said = {}
    for pid in (ann_id, bo_id):
        code = main(["analyze", str(demo_clip), "--exercise", "shoulder_abduction", "--side", "left", "-q",
                     "--save", "--mode", "active", "--posture", "standing", "--db", db_url, "--patient", str(pid)])
        assert code == 0
        said[pid] = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("for ", "saved as"))]
    store = Store(db_url)
    try:
        with store.session() as db:
            [ann_session] = service.list_sessions(db, service.get_patient(db, ann_id))
            [bo_session] = service.list_sessions(db, service.get_patient(db, bo_id))
    finally:
        store.close()
    assert said[ann_id] == [
        "for Ann Lee: filed under the plan's shoulder abduction (left, active, standing), version 1: target 150° to "
        "170°, safe maximum 175°",
        f"saved as session {ann_session['id']} of Ann Lee"]
    assert said[bo_id] == [f"saved as session {bo_session['id']} of Bo Chan (id {bo_id}: another patient has the "
                           "same name)"]
