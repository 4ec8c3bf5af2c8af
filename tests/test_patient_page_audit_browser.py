"""One visit to a patient's page is one view of each thing it reads in the clinic's audit log, in a real browser
(Debian's chromium via Playwright) on a real ``romcam serve --auth clinic``: the page's scripts share the patient
they loaded (GET /api/patients/{id}) instead of each asking for it, so a PT's log does not show two views of the
patient per visit (the device tokens' script asked again, to hide its form on the laptop's own patient; the
admin's clinician form did too).

Without /usr/bin/chromium or the playwright package the test skips, unless CI is set: then it fails.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, log_in, require_browser, romcam_serve
from sqlalchemy import func, select

from romcam.store import Store, accounts, service
from romcam.store.models import AuditEntry
from romcam.store.seed import synthetic_session

PASSWORD = "correct horse battery staple"
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def _seed(db: Path) -> str:
    """A clinic: an admin, a PT and their patient with a plan and a session; the patient's id."""
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            accounts.create_user(s, email="admin@clinic.test", password=PASSWORD, role="admin", name="Alex Admin")
            ann = accounts.create_user(s, email="ann@clinic.test", password=PASSWORD, role="clinician", name="Ann PT")
            ada = service.create_patient(s, name="Ada Lovelace", clinician_id=ann.id)
            rx = service.create_prescription(s, ada, dict(KNEE))
            started = datetime.now(UTC) - timedelta(days=1)
            service.ingest_session(s, synthetic_session(ada.id, started, [
                {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0,
                 "prescription": rx}]))
            return str(ada.id)
    finally:
        store.close()


def _views(db: Path, after: int) -> Counter[tuple[str, str]]:
    """The audit log's rows after id ``after``: (method, route) → how many."""
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            rows = s.execute(select(AuditEntry.method, AuditEntry.route).where(AuditEntry.id > after)).all()
            return Counter((m, r) for m, r in rows)
    finally:
        store.close()


def _last_id(db: Path) -> int:
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            return s.scalar(select(func.coalesce(func.max(AuditEntry.id), 0))) or 0
    finally:
        store.close()


@pytest.mark.parametrize("email", ["ann@clinic.test", "admin@clinic.test"], ids=["pt", "admin"])
def test_one_visit_to_a_patients_page_is_one_view_of_the_patient(tmp_path: Path, email: str) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "romcam.db"
    patient = _seed(db)
    with romcam_serve(tmp_path, "--no-live", "--auth", "clinic", ready="/login") as (port, _), \
            sync_playwright() as pw:
        base = f"http://127.0.0.1:{port}"
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in(page, base, email, PASSWORD)
            before = _last_id(db)
            page.goto(f"{base}/patients/{patient}")
            page.wait_for_selector("body[data-loaded=true]")
            page.wait_for_selector("#devices-section[data-ready=true]", state="attached")
            page.wait_for_load_state("networkidle")
            views = _views(db, before)
            assert errors == []
        finally:
            browser.close()
    assert views[("GET", "/api/patients/{patient_id}")] == 1, views
    assert views[("GET", "/api/patients/{patient_id}/tokens")] == 1, views  # the device tokens were read
    assert all(n == 1 for n in views.values()), f"read twice in one visit: {views}"
