"""Power cuts during upload: kill -9 of the uploading laptop and of the clinic, 20 times in all, at
moments when sessions are on their way. The clinic ends with every session exactly once (ids and
content hashes compared with what the laptop holds); nothing is lost, nothing doubled."""

from __future__ import annotations

import random
import time
from pathlib import Path

from db_fixtures import postgres_server  # noqa: F401 (fixture)
from sqlalchemy import func, select
from sync_fixtures import ClinicSite, Laptop, wait_for

from romcam.store.models import ExerciseSet, LinkState
from romcam.store.models import Session as SessionRow
from romcam.sync.document import clinic_document

KILLS = 20
PER_ROUND = 4


def test_kill_9_of_either_side_during_upload_loses_and_duplicates_nothing(tmp_path: Path,
                                                                         postgres_server) -> None:  # noqa: F811
    rng = random.Random(7)
    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    try:
        clinic.start()
        laptop.start()
        laptop.consent()
        mid_upload = 0
        for i in range(KILLS):
            victim = laptop if i % 2 == 0 else clinic
            before = len(clinic.sessions())
            # sessions of several sets at 30 fps: each upload takes a moment, so kills land mid-stream
            laptop.record(PER_ROUND, sets=4, reps=8)
            wait_for("uploads under way", lambda b=before: len(clinic.sessions()) > b, timeout=60, every=0.01)
            time.sleep(rng.uniform(0.0, 0.15))
            if laptop.outbox().get("pending", 0):
                mid_upload += 1
            victim.kill()
            time.sleep(rng.uniform(0.0, 0.5))  # the other side keeps trying meanwhile
            victim.start()
        wait_for("the outbox emptied", lambda: laptop.outbox() == {"sent": KILLS * PER_ROUND}, timeout=120)

        local = laptop.local_sessions()
        held = clinic.sessions()
        assert len(local) == KILLS * PER_ROUND
        assert set(held) == local, f"missing at the clinic: {local - set(held)}; extra: {set(held) - local}"
        with laptop.store.session() as db:
            managed = set(db.get(LinkState, 1).managed_rx)
            want = {sid: clinic_document(db, sid, clinic_patient_id=clinic.patient_id, managed_rx=managed).sha256()
                    for sid in local}
        assert held == want  # every session's content, exactly as the laptop recorded it
        with clinic.store.session() as db:  # and no set or session twice
            assert db.scalar(select(func.count()).select_from(SessionRow)) == len(local)
            assert db.scalar(select(func.count()).select_from(ExerciseSet)) == 4 * len(local)
        print(f"\n{mid_upload} of {KILLS} kills came while sessions were still waiting to go")
        # most kills must have hit while sessions were still waiting to go, or the test proves little
        assert mid_upload >= KILLS // 2, f"only {mid_upload} of {KILLS} kills came while uploads were pending"
        assert laptop.starts + clinic.starts == KILLS + 2
    finally:
        laptop.close()
        clinic.close()
