"""A clinic admin, in a real browser (Debian's chromium via Playwright) on a real ``romcam serve --auth
clinic``, adds a patient for a PT, sees whose each patient is, hands an unowned patient to a PT from the
patient's page; the PT then finds both in their list. With no active clinician the form says what to do."""

from __future__ import annotations

from pathlib import Path

from helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, log_in, require_browser, romcam_serve

from romcam.store import Store, accounts, service

PASSWORD = "correct horse battery staple"


def _seed(db: Path) -> dict[str, str]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            accounts.create_user(s, email="admin@clinic.test", password=PASSWORD, role="admin", name="Alex Admin")
            ann = accounts.create_user(s, email="ann@clinic.test", password=PASSWORD, role="clinician", name="Ann PT")
            ben = accounts.create_user(s, email="ben@clinic.test", password=PASSWORD, role="clinician", name="Ben PT")
            bo = service.create_patient(s, name="Bo Theirs", clinician_id=ben.id)
            old = service.create_patient(s, name="Di Unowned")  # as an admin's "Add a patient" made them before
            return {"ann": str(ann.id), "ben": str(ben.id), "bo": str(bo.id), "old": str(old.id)}
    finally:
        store.close()


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, base, email, PASSWORD)


def _owner(page, patient_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#patients tr[data-patient-id='{patient_id}'] td[data-clinician]")


def test_an_admin_adds_a_patient_for_a_pt_who_then_sees_them(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    ids = _seed(tmp_path / "romcam.db")
    with romcam_serve(tmp_path, "--no-live", "--auth", "clinic", ready="/login") as (port, _), sync_playwright() as pw:
        base = f"http://127.0.0.1:{port}"
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        errors: list[str] = []
        try:
            admin = browser.new_context().new_page()
            admin.on("pageerror", lambda e: errors.append(str(e)))
            _log_in(admin, base, "admin@clinic.test")
            # the admin's list says whose each patient is, and flags the one no PT sees
            expect(admin.locator("#clinician-col")).to_have_text("Clinician")
            expect(_owner(admin, ids["bo"])).to_have_text("Ben PT")
            expect(_owner(admin, ids["old"])).to_contain_text("no clinician")
            ARTIFACTS.mkdir(exist_ok=True)

            # the add form asks whose the new patient is: nothing is sent until one is chosen
            admin.click("details.add-patient summary")
            select = admin.locator("#add-patient select[name=clinician_id]")
            expect(select).to_be_visible()
            assert select.locator("option").all_inner_texts() == [
                "Choose a clinician…", "Ann PT (ann@clinic.test)", "Ben PT (ben@clinic.test)"]
            admin.fill("#add-patient input[name=name]", "Cy New")
            admin.screenshot(path=str(ARTIFACTS / "admin-add-patient.png"), full_page=True)
            admin.click("#add-patient button[type=submit]")
            assert select.evaluate("s => s.validity.valueMissing") is True
            expect(admin).to_have_url(base + "/")
            select.select_option(label="Ann PT (ann@clinic.test)")
            admin.dblclick("#add-patient button[type=submit]")  # a double click adds one patient
            admin.wait_for_url(f"{base}/patients/*")
            cy = admin.url.rsplit("/", 1)[1]
            # the patient's page: the admin's control shows the clinician chosen
            expect(admin.locator("#clinician-form select")).to_have_value(ids["ann"])

            # the unowned patient's page says no PT sees them; the admin hands them to Ann
            admin.goto(f"{base}/patients/{ids['old']}")
            expect(admin.locator("#clinician-note")).to_contain_text("no PT sees this patient")
            admin.screenshot(path=str(ARTIFACTS / "admin-unowned-patient.png"))
            admin.locator("#clinician-form select").select_option(ids["ann"])
            admin.click("#clinician-form button[type=submit]")
            expect(admin.locator("#clinician-note")).to_have_text("Now Ann PT's patient: they see them in their list.")
            admin.goto(base + "/")
            admin.wait_for_selector("body[data-loaded=true]")
            expect(_owner(admin, cy)).to_have_text("Ann PT")
            expect(_owner(admin, ids["old"])).to_have_text("Ann PT")
            expect(admin.locator("#patients tbody tr")).to_have_count(3)
            admin.screenshot(path=str(ARTIFACTS / "admin-patients.png"), full_page=True)

            # Ann sees both, not Ben's; her pages have no clinician controls and ask nothing she may not read
            pt = browser.new_context().new_page()
            pt.on("pageerror", lambda e: errors.append(str(e)))
            failed: list[str] = []
            pt.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            _log_in(pt, base, "ann@clinic.test")
            rows = pt.locator("#patients tbody tr")
            expect(rows).to_have_count(2)
            assert sorted(pt.locator("#patients .patient-link").all_inner_texts()) == ["Cy New", "Di Unowned"]
            expect(pt.locator("#clinician-col")).to_have_count(0)
            pt.click("details.add-patient summary")
            expect(pt.locator("#clinician-field")).to_be_hidden()
            pt.goto(f"{base}/patients/{cy}")
            pt.wait_for_selector("body[data-loaded=true]")
            expect(pt.locator("#patient-name")).to_have_text("Cy New")
            pt.wait_for_timeout(500)  # assign.js's own requests, if it made any
            expect(pt.locator("#clinician-form")).to_be_hidden()
            assert failed == []

            # with no active clinician left, the admin's form says what to do instead of adding an unseen patient
            csrf = admin.request.get(f"{base}/api/auth/me").json()["csrf_token"]
            for who in ("ann", "ben"):
                r = admin.request.delete(f"{base}/api/users/{ids[who]}", headers={"X-CSRF-Token": csrf})
                assert r.status == 200, r.text()
            admin.reload()
            admin.wait_for_selector("body[data-loaded=true]")
            admin.click("details.add-patient summary")
            expect(admin.locator("#no-clinician")).to_contain_text(
                "No active clinician account, so no PT could see a patient added now: create one first on the server "
                "(romcam user create --email E --role clinician)")
            expect(admin.locator("#clinician-field")).to_be_hidden()
            expect(admin.locator("#add-patient button[type=submit]")).to_be_disabled()
            expect(_owner(admin, cy)).to_contain_text("account deactivated")
            admin.screenshot(path=str(ARTIFACTS / "admin-no-clinician.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
