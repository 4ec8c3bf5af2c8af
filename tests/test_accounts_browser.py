"""A clinic admin's Accounts page, in a real browser (Debian's chromium via Playwright) at a phone's width on a
real ``romcam serve --auth clinic``: every account listed with its role, state and patient; a caregiver who
left is deactivated from the keyboard after a confirmation (and is logged out at once); a PT is deactivated,
the confirmation saying their patient stays theirs, unseen, and the patient list then says where to activate
one; the PT is activated again and logs in. A PT asking for the page gets the API's 403, and a failed change
is said on the page."""

from __future__ import annotations

from pathlib import Path

from helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, log_in, require_browser, romcam_serve, stop

from romcam.store import Store, accounts, service

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


def _seed(db: Path) -> dict[str, str]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            admin = accounts.create_user(s, email="admin@clinic.test", password=PASSWORD, role="admin",
                                         name="Alex Admin")
            ann = accounts.create_user(s, email="ann@clinic.test", password=PASSWORD, role="clinician", name="Ann PT")
            bo = service.create_patient(s, name="Bo Patient", clinician_id=ann.id)
            cara = accounts.create_user(s, email="cara@clinic.test", password=PASSWORD, role="caregiver",
                                        name="Cara Carer", patient_id=bo.id)
            return {"admin": str(admin.id), "ann": str(ann.id), "bo": str(bo.id), "cara": str(cara.id)}
    finally:
        store.close()


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, base, email, PASSWORD)


def test_an_admin_deactivates_and_activates_accounts_on_the_accounts_page(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    ids = _seed(tmp_path / "romcam.db")
    with romcam_serve(tmp_path, "--no-live", "--auth", "clinic", ready="/login") as (port, proc), \
            sync_playwright() as pw:
        base = f"http://127.0.0.1:{port}"
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        problems: list[str] = []
        try:
            carer = browser.new_context().new_page()
            _log_in(carer, base, "cara@clinic.test")
            expect(carer.locator("#accounts-link")).to_have_count(0)  # the link is the admin's only

            admin = browser.new_context(viewport=PHONE).new_page()
            admin.on("pageerror", lambda e: problems.append(f"script error: {e}"))
            admin.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" or "Content Security Policy" in m.text else None)
            _log_in(admin, base, "admin@clinic.test")
            admin.click("#accounts-link")  # from the header, where the admin's name and Log out are
            expect(admin).to_have_url(base + "/accounts")
            admin.wait_for_selector("body[data-loaded=true]")
            expect(admin.locator("#accounts-link")).to_have_attribute("aria-current", "page")

            def row(who: str):  # type: ignore[no-untyped-def]
                return admin.locator(f"#accounts tr[data-user-id='{ids[who]}']")

            expect(admin.locator("#accounts tbody tr")).to_have_count(3)
            expect(row("cara").locator("th")).to_have_text("Cara Carer (cara@clinic.test)")
            expect(row("cara").locator("td").nth(0)).to_have_text("caregiver")
            expect(row("cara").locator("td").nth(1)).to_have_text("Active")
            expect(row("cara").locator(f"td a[href='/patients/{ids['bo']}']")).to_have_text("Bo Patient")
            expect(row("ann").locator("td").nth(2)).to_have_text("1 patient of theirs")
            expect(row("admin").locator("td").nth(3)).to_have_text("your account")  # the API refuses it: no button
            expect(row("admin").locator("button")).to_have_count(0)
            # a phone's width: the page never scrolls sideways (the table does, in its own box), the type stays large
            assert admin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            for who in ("cara", "ann"):  # each account's button in view, not off to the side
                box = row(who).locator("button").bounding_box()
                assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
            assert admin.evaluate("parseFloat(getComputedStyle(document.querySelector('#accounts td')).fontSize)") >= 18
            ARTIFACTS.mkdir(exist_ok=True)
            admin.screenshot(path=str(ARTIFACTS / "admin-accounts-phone.png"), full_page=True)

            # the caregiver who left, from the keyboard: a confirmation first; "Cancel" changes nothing
            asked: list[str] = []
            answer = {"accept": False}

            def on_dialog(d) -> None:  # type: ignore[no-untyped-def]
                asked.append(d.message)
                d.accept() if answer["accept"] else d.dismiss()

            admin.on("dialog", on_dialog)
            button = row("cara").get_by_role("button", name="Deactivate Cara Carer (cara@clinic.test)")
            button.focus()
            admin.keyboard.press("Enter")
            expect(row("cara")).to_have_attribute("data-active", "true")
            assert asked == ["Deactivate Cara Carer (cara@clinic.test)? This caregiver account can no longer log in, "
                             "and is logged out now. You can activate it again here."]
            answer["accept"] = True
            admin.keyboard.press("Enter")
            expect(row("cara")).to_have_attribute("data-active", "false")
            expect(row("cara").locator("td").nth(1)).to_have_text("Deactivated")
            expect(admin.locator("#status")).to_have_text(
                "Cara Carer (cara@clinic.test) is deactivated: it can no longer log in.")
            # the keyboard stays on that account: its new button, Activate
            assert admin.evaluate("document.activeElement.textContent") == "Activate"
            assert admin.evaluate("document.activeElement.closest('tr').dataset.userId") == ids["cara"]
            # the caregiver, logged in elsewhere, is out at once
            carer.goto(f"{base}/patients/{ids['bo']}")
            expect(carer).to_have_url(f"{base}/login?next=%2Fpatients%2F{ids['bo']}")

            # the PT who moved clinics: the confirmation says what becomes of their patient
            row("ann").get_by_role("button", name="Deactivate Ann PT (ann@clinic.test)").click()
            expect(row("ann")).to_have_attribute("data-active", "false")
            assert asked[-1] == ("Deactivate Ann PT (ann@clinic.test)? This clinician account can no longer log in, "
                                 "and is logged out now. Its 1 patient stays its own: no PT sees them until you hand "
                                 "each to another clinician on the patient's page. You can activate it again here.")
            # with no active clinician left, the patient list says where to activate one
            admin.goto(base + "/")
            admin.wait_for_selector("body[data-loaded=true]")
            admin.click("details.add-patient summary")
            expect(admin.locator("#no-clinician")).to_contain_text(
                "or activate a deactivated one on the Accounts page (Accounts, at the top of this page; or romcam "
                "user activate --email E on the server)")
            admin.click("#accounts-link")
            admin.wait_for_selector("body[data-loaded=true]")
            row("ann").get_by_role("button", name="Activate Ann PT (ann@clinic.test)").click()
            expect(row("ann")).to_have_attribute("data-active", "true")
            expect(admin.locator("#status")).to_have_text(
                "Ann PT (ann@clinic.test) may log in again, with the password it had.")
            admin.screenshot(path=str(ARTIFACTS / "admin-accounts-changed.png"), full_page=True)

            # the PT is back, with their patient; the page is not theirs: the API's own 403
            pt = browser.new_context().new_page()
            _log_in(pt, base, "ann@clinic.test")
            expect(pt.locator("#patients .patient-link")).to_have_text(["Bo Patient"])
            expect(pt.locator("#accounts-link")).to_have_count(0)
            page = pt.request.get(f"{base}/accounts")
            users = pt.request.get(f"{base}/api/users")
            assert (page.status, page.json()) == (users.status, users.json()) == (
                403, {"detail": "a clinician account may not do this"})
            assert problems == []

            # the server gone: the change is said to have failed, on the page, and the button can be pressed again
            stop(proc)
            row("cara").get_by_role("button", name="Activate Cara Carer (cara@clinic.test)").click()
            expect(admin.locator("#accounts-error")).to_have_text(
                "Could not activate Cara Carer (cara@clinic.test): The romcam server could not be reached. Is it "
                "running?")
            expect(row("cara").locator("button")).to_be_enabled()
            expect(row("cara")).to_have_attribute("data-active", "false")
        finally:
            browser.close()
