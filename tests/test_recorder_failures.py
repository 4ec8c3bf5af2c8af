"""The live recorder loses nothing when the database stops taking writes mid-session.

These are real failures on real databases, not mocks:
- SQLite with a full disk (``PRAGMA max_page_count`` pinned to the file's size, so every write that needs
  a new page fails with SQLITE_FULL, "database or disk is full");
- PostgreSQL made read-only (``default_transaction_read_only``).

A session is recorded twice, once on a healthy database and once on one that fails from 1.5 s in until
after the session has ended. The patient is told what is wrong while it fails; once the database takes
writes again, everything is stored, and stored the same as the healthy recording.
"""

from __future__ import annotations

import errno
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from db_fixtures import *  # noqa: F403  (store, db_url, postgres_server)
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from romcam.live.coach import PlanItem
from romcam.live.recorder import Recorder, storage_problem
from romcam.measure import Sample
from romcam.store.blob import unpack_samples
from romcam.store.db import Store
from romcam.store.models import ExerciseSet, Session

FPS = 30.0
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PLAN = [
    PlanItem(exercise="shoulder_abduction", side="left", target_min=90.0, target_max=150.0, safe_max=160.0,
             reps=2, view="front", works="max", joint="shoulder"),
    PlanItem(exercise="elbow_flexion", side="right", view="side", works="max", joint="elbow"),
]


REPS = 12  # of 0 → 120° → 0, 3 s each: a set of 37 s, whose samples (compressed) outgrow a database page


def _angle(t: float) -> float:
    """The rep's angle with up to ±1° of measurement noise (fixed: a hash of the time)."""
    noise = (hash(round(t * 1000)) % 2001) / 1000.0 - 1.0
    return (60.0 - 60.0 * math.cos(2 * math.pi * t / 3.0) if t < 3.0 * REPS else 0.0) + noise


def record(rec: Recorder, on_frame: Callable[[int], None] = lambda i: None) -> uuid.UUID:
    """One session of two sets, as the capture worker drives the recorder. ``on_frame(i)`` runs before
    frame ``i`` of the first set (the test breaks or mends the database there)."""
    sid = rec.begin_session(now=T0)
    for k, item in enumerate(PLAN):
        t0 = 30.0 * k
        rec.begin_set(item, t=t0, fps=FPS, now=T0 + timedelta(seconds=t0))
        n = int((3.0 * REPS + 1.0) * FPS) if k == 0 else int(2 * FPS)
        for i in range(n):
            if k == 0:
                on_frame(i)
            t = t0 + i / FPS
            rec.add_sample(Sample(i, t, _angle(t - t0) if k == 0 else 30.0, 0.9, True, 5.0, None))
            if k == 0 and i > 0 and i % int(3 * FPS) == 0 and i <= int(3 * REPS * FPS):  # a rep counted as it ends
                rep_no = i // int(3 * FPS) - 1
                rec.rep(rep_no, {"start": t0 + 3.0 * rep_no, "peak": t0 + 3.0 * rep_no + 1.5,
                                 "end": t0 + 3.0 * rep_no + 3.0, "max_angle": 120.0, "min_angle": 0.0,
                                 "hold_s": 0.1, "partial": False, "below_target": False})
        rec.end_set()
    rec.end_session("complete", now=T0 + timedelta(seconds=40))
    return sid


def stored(store: Store, sid: uuid.UUID) -> dict[str, Any]:
    """What the dashboard would read of the session (ids and hashes left out)."""
    with store.session() as db:
        s = db.scalars(select(Session).where(Session.id == sid)
                       .options(selectinload(Session.sets).selectinload(ExerciseSet.reps))).one_or_none()
        if s is None:
            return {}
        sets = []
        for x in sorted(s.sets, key=lambda x: x.position):
            t, angle = unpack_samples(x.samples.data) if x.samples is not None else ([], [])
            sets.append({
                "exercise": x.exercise, "side": x.side, "frames": x.frames, "fps": x.fps,
                "best": x.best_angle, "min": x.min_angle, "max": x.max_angle, "reps_full": x.reps_full,
                "reps": sorted((r.position, round(r.peak, 3), round(r.max_angle, 2)) for r in x.reps),
                "samples": len(t), "last_angle": round(float(angle[-1]), 3) if len(angle) else None,
                "live": bool((x.summary or {}).get("live"))})
        return {"status": s.status, "ended_at": s.ended_at, "started_at": s.started_at, "sets": sets}


def _pin_sqlite_size(store: Store) -> dict[str, bool]:
    """A switch: while ``full`` is on, the SQLite file cannot grow (the disk is full)."""
    state = {"full": False}

    def checkout(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        # below the file's size SQLite keeps the size: no new page can be written
        cur.execute(f"PRAGMA max_page_count = {1 if state['full'] else 1073741823}")
        cur.close()

    event.listen(store.engine, "checkout", checkout)
    return state


def _check_failure_and_recovery(healthy: dict[str, Any], rec: Recorder, store: Store, sid: uuid.UUID,
                                mend: Callable[[], None], words: str, seen: list[str | None]) -> None:
    assert any(p and words in p for p in seen), f"the patient was not told: {seen[-3:]}"
    mend()
    assert rec.retry() is True
    assert rec.problem is None and not rec.unsaved
    assert stored(store, sid) == healthy
    assert healthy["status"] == "complete" and [s["reps_full"] for s in healthy["sets"]] == [REPS, 0]
    assert not any(s["live"] for s in healthy["sets"])


def test_a_full_sqlite_disk_mid_session_loses_nothing(tmp_path: Path) -> None:
    """SQLite with a full disk fails the writes that need a new page (here: the set's samples once they
    outgrow one), and takes the small ones; whatever failed is stored once there is room."""
    control = Store(f"sqlite:///{tmp_path / 'control.db'}")
    full = Store(f"sqlite:///{tmp_path / 'full.db'}")
    try:
        healthy = stored(control, record(Recorder(control, patient_id=control.local_patient_id, source="cam",
                                                  demo=False, model="m")))
        disk = _pin_sqlite_size(full)
        rec = Recorder(full, patient_id=full.local_patient_id, source="cam", demo=False, model="m")
        seen: list[str | None] = []

        def on_frame(i: int) -> None:
            if i == int(1.5 * FPS):
                disk["full"] = True
            seen.append(rec.problem)

        sid = record(rec, on_frame)
        told = [p for p in seen if p]
        assert told and told[0].startswith("The disk is full") and "Free some space" in told[0], told[:1]
        assert rec.last_error is not None and "database or disk is full" in rec.last_error

        def mend() -> None:
            disk["full"] = False

        _check_failure_and_recovery(healthy, rec, full, sid, mend, "disk is full", seen)
    finally:
        control.close()
        full.close()


def test_a_read_only_postgresql_mid_session_loses_nothing(postgres_server: Any) -> None:
    control = Store(postgres_server.new_database())
    url = postgres_server.new_database()
    name = url.rsplit("/", 1)[1]
    db = Store(url)
    try:
        healthy = stored(control, record(Recorder(control, patient_id=control.local_patient_id, source="cam",
                                                  demo=False, model="m")))
        rec = Recorder(db, patient_id=db.local_patient_id, source="cam", demo=False, model="m")
        seen: list[str | None] = []

        def read_only(on: bool) -> None:
            postgres_server._sql(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
            db.engine.dispose()  # new connections take the setting

        def on_frame(i: int) -> None:
            if i == int(1.5 * FPS):
                read_only(True)
            seen.append(rec.problem)

        sid = record(rec, on_frame)
        # every write fails from 1.5 s on: the session ended unsaved, and what was stored before is kept
        assert rec.problem is not None and "read-only" in rec.problem, rec.problem
        assert rec.unsaved
        partial = stored(db, sid)
        assert partial["status"] == "interrupted" and len(partial["sets"]) == 1
        assert partial["sets"][0]["live"] and partial["sets"][0]["samples"] == int(FPS) + 1
        _check_failure_and_recovery(healthy, rec, db, sid, lambda: read_only(False), "read-only", seen)
    finally:
        control.close()
        db.close()


@pytest.mark.parametrize(("exc", "start"), [
    (OSError(errno.ENOSPC, "No space left on device"), "The disk is full"),
    (RuntimeError("could not extend file: No space left on device"), "The disk is full"),
    (RuntimeError("attempt to write a readonly database"), "The database cannot be written to"),
    (RuntimeError("connection to server at 127.0.0.1 failed"), "The database cannot be reached"),
    (ValueError("something else"), "This session is not saved yet (ValueError: something else)"),
])
def test_storage_problem_says_what_is_wrong_and_that_nothing_is_lost(exc: BaseException, start: str) -> None:
    text = storage_problem(exc)
    assert text.startswith(start)
    assert "keeps this session in memory and saves it as soon as it can" in text
