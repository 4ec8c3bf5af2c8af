"""A clinician logs in to a clinic server in a real browser (Debian's chromium via Playwright) and sees
only their own patients; writes from the dashboard carry the CSRF token; Log out ends the session.

The server is a real ``romcam serve --auth clinic`` on loopback (chromium treats http://127.0.0.1 as
a secure context, so the Secure ``__Host-`` cookie works without TLS there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser, romcam_serve
from sqlalchemy import delete

from romcam.store import Store, accounts, service
from romcam.store.models import AuthSession, User

PASSWORD = "correct horse battery staple"
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def _seed(db: Path) -> dict[str, str]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.session() as s:
            a = accounts.create_user(s, email="ann@clinic.test", password=PASSWORD, role="clinician", name="Ann PT")
            b = accounts.create_user(s, email="ben@clinic.test", password=PASSWORD, role="clinician", name="Ben PT")
            ada = service.create_patient(s, name="Ada Lovelace", clinician_id=a.id)
            bo = service.create_patient(s, name="Bo Theirs", clinician_id=b.id)
            service.create_prescription(s, ada, dict(KNEE))
            accounts.create_user(s, email="ada@home.test", password=PASSWORD, role="patient", name="Ada",
                                 patient_id=ada.id)
            # an account for the server's own "Me" patient, made (as the old code did) before that was refused
            s.add(User(email="me@home.test", name="Me", role="patient", patient_id=store.local_patient_id,
                       active=True, password_hash=accounts.hash_password(PASSWORD)))
            s.commit()
            return {"ada": str(ada.id), "bo": str(bo.id)}
    finally:
        store.close()


@contextmanager
def _clinic(tmp: Path) -> Iterator[tuple[Any, str, Any, list[str], dict[str, str]]]:
    """A real clinic-mode server on the seeded database and a chromium page: ``(playwright, base URL,
    page, script errors, patient ids)``."""
    require_browser()
    from playwright.sync_api import sync_playwright

    ids = _seed(tmp / "romcam.db")
    with romcam_serve(tmp, "--no-live", "--auth", "clinic", ready="/login") as (port, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield pw, f"http://127.0.0.1:{port}", page, errors, ids
        finally:
            browser.close()


def test_clinician_logs_in_and_sees_only_their_patients(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        page.goto(base + "/")
        expect(page).to_have_url(base + "/login")  # not logged in: the login page
        page.fill("input[name=email]", "ann@clinic.test")
        page.fill("input[name=password]", "wrong password here")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base + "/")
        expect(page.locator("#patients")).to_be_visible()
        names = page.locator("#patients tbody tr").all_inner_texts()
        assert len(names) == 1 and "Ada Lovelace" in names[0], names
        expect(page.locator("#account-name")).to_have_text("Ann PT (clinician)")

        # a write from the dashboard (common.js sends X-CSRF-Token): the new patient is Ann's
        page.click("details.add-patient summary")
        page.fill("#add-patient input[name=name]", "Cy New")
        page.dblclick("#add-patient button[type=submit]")  # a double click adds one patient
        page.wait_for_url(f"{base}/patients/*")
        page.goto(base + "/")
        expect(page.locator("#patients tbody tr")).to_have_count(2)
        assert "Bo Theirs" not in page.locator("#patients").inner_text()

        # another clinician's patient is "not found", page and API alike
        r = page.goto(f"{base}/patients/{ids['bo']}")
        assert r is not None and r.status == 404
        assert page.request.get(f"{base}/api/patients/{ids['bo']}").status == 404
        assert page.request.get(f"{base}/api/patients/{ids['ada']}").status == 200
        # a device token for Ada, made on her page: shown once, works, then revoked
        page.goto(f"{base}/patients/{ids['ada']}")
        expect(page.locator("#devices-section")).to_be_visible()
        page.fill("#new-device input[name=label]", "Ada's laptop")
        page.dblclick("#new-device button[type=submit]")  # a double click makes one token
        expect(page.locator("#new-token")).to_be_visible()
        token = page.locator("#new-token-value").inner_text()
        assert token.startswith("romcam_dt_")
        device = {"Authorization": f"Bearer {token}"}
        seen = pw.request.new_context()
        r = seen.get(f"{base}/api/device", headers=device)
        assert r.status == 200 and r.json()["patient_name"] == "Ada Lovelace"
        expect(page.locator("#devices li")).to_have_count(1)
        # revoking asks first, naming the machine; "Cancel" keeps the token
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.click("#devices button.revoke")
        expect(page.locator("#devices button.revoke")).to_have_count(1)
        assert len(asked) == 1 and "Ada's laptop" in asked[0], asked
        assert seen.get(f"{base}/api/device", headers=device).status == 200
        page.once("dialog", lambda d: d.accept())
        page.click("#devices button.revoke")
        expect(page.locator("#devices button.revoke")).to_have_count(0)
        assert seen.get(f"{base}/api/device", headers=device).status == 401
        # the dead token is no longer on screen to be copied to the patient's laptop
        expect(page.locator("#new-token")).to_be_hidden()
        assert token not in page.locator("body").inner_text()
        seen.dispose()
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(base + "/")
        expect(page.locator("#logout")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-patients.png"), full_page=True)

        page.click("#logout")
        expect(page).to_have_url(base + "/login")
        assert page.request.get(f"{base}/api/patients").status == 401
        page.goto(base + "/")
        expect(page).to_have_url(base + "/login")
        assert errors == []


def test_a_log_out_the_server_did_not_answer_says_the_pt_is_still_logged_in(tmp_path: Path) -> None:
    """On a shared clinic computer, Log out while the server is unreachable must not look like a log out: the
    page stays, says so, and the session (still valid on the server) ends when the PT tries again."""
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        page.goto(f"{base}/login?next=%2Fpatients%2F{ids['ada']}")
        _log_in(page)
        expect(page).to_have_url(f"{base}/patients/{ids['ada']}")
        page.wait_for_selector("body[data-loaded=true]")
        page.route("**/api/auth/logout", lambda route: route.abort("connectionrefused"))
        page.click("#logout")
        problem = page.locator("#logout-error")
        expect(problem).to_have_text("Could not log out: the server did not answer. You are still logged in — "
                                     "try again, or close the browser.")
        expect(problem).to_have_attribute("role", "alert")
        expect(page).to_have_url(f"{base}/patients/{ids['ada']}")  # no "can't be reached" page to mislead
        assert page.request.get(f"{base}/api/patients").status == 200  # and indeed still logged in
        expect(page.locator("#logout")).to_be_enabled()

        page.unroute("**/api/auth/logout")  # the server answers again: the second try logs out
        page.click("#logout")
        expect(page).to_have_url(base + "/login")
        assert page.request.get(f"{base}/api/patients").status == 401
        assert errors == []


def test_the_clinicians_pages_load_without_a_failed_request(tmp_path: Path) -> None:
    """A clinic server's patient list and patient page ask only for what a clinician may read: no request
    answered 4xx (each is a console error in the PT's browser, e.g. asking for a live coach the clinic does
    not give its accounts)."""
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (_pw, base, page, errors, ids):
        failed: list[str] = []
        page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(base + "/login")
        page.fill("input[name=email]", "ann@clinic.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base + "/")
        page.wait_for_selector("body[data-loaded=true]")
        page.goto(f"{base}/patients/{ids['ada']}")
        page.wait_for_selector("body[data-loaded=true]")
        page.goto(base + "/")
        page.wait_for_selector("body[data-loaded=true]")
        page.wait_for_timeout(500)  # a request the list starts after it loaded
        assert failed == [] and errors == []


def test_a_patient_reads_their_plan_without_the_care_teams_controls(tmp_path: Path) -> None:
    """A patient logged in sees their own plan, read-only: the editing controls are not on the page (and
    the server refuses the writes anyway: test_access_matrix)."""
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        page.goto(base + "/login")
        page.fill("input[name=email]", "ada@home.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#account-name")).to_have_text("Ada (patient)")
        expect(page.locator("details.add-patient")).to_be_hidden()
        page.goto(f"{base}/patients/{ids['ada']}")
        expect(page.locator("#prescriptions tbody tr").first).to_contain_text("Knee")
        for hidden in ("#new-prescription", "#pause-button", "#prescriptions button:has-text('Edit')",
                       "#prescriptions button:has-text('End')"):
            expect(page.locator(hidden).first).to_be_hidden()
        expect(page.locator("#prescriptions button:has-text('History')").first).to_be_visible()
        assert page.request.get(f"{base}/api/patients/{ids['bo']}").status == 404
        assert errors == []


def test_an_account_made_for_the_servers_own_patient_is_told_why_it_cannot_log_in(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        page.goto(base + "/login")
        _log_in(page, "me@home.test")
        expect(page.locator("#login-error")).to_have_text(
            accounts.LOCAL_PATIENT_ACCOUNT[0].upper() + accounts.LOCAL_PATIENT_ACCOUNT[1:] + ".")
        expect(page).to_have_url(base + "/login")
        assert errors == []


def _log_in(page, email: str = "ann@clinic.test") -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_after_the_login_the_pt_is_back_on_the_page_they_were_reading(tmp_path: Path) -> None:
    """The 30-minute idle timeout ends the PT's login while a patient's page is open: the next request
    sends them to the login page, and the login brings them back to that patient, not to the list. A
    ``next`` that names another site is ignored (no open redirect)."""
    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        patient_page = f"{base}/patients/{ids['ada']}"
        page.goto(patient_page)  # not logged in: the server sends the page's path along
        expect(page).to_have_url(f"{base}/login?next=%2Fpatients%2F{ids['ada']}")
        _log_in(page)
        expect(page).to_have_url(patient_page)
        expect(page.locator("#patient-name")).to_have_text("Ada Lovelace")
        page.wait_for_selector("body[data-loaded=true]")  # every request of the page answered

        store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")  # the login session ends (as a timeout ends it)
        try:
            with store.session() as s:
                s.execute(delete(AuthSession))
                s.commit()
        finally:
            store.close()
        page.click("table.prescriptions button:has-text('History')")  # its request: 401, then the login page
        expect(page).to_have_url(f"{base}/login?next=%2Fpatients%2F{ids['ada']}")
        _log_in(page)
        expect(page).to_have_url(patient_page)

        for bad in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/login"):
            page.goto("about:blank")  # no dashboard script left to meet the 401 and go to its own login page
            page.context.clear_cookies()
            page.goto(f"{base}/login?next={quote(bad, safe='')}")
            _log_in(page)
            expect(page).to_have_url(base + "/")
        assert not errors, errors


def test_a_new_device_token_says_what_to_run_on_the_laptop_and_that_command_links_it(tmp_path: Path) -> None:
    """The PT who made a token is told what to do with it: the page names the `romcam link` command with this
    clinic's address, and that command, run as shown with the token pasted, links a laptop that the clinic
    then knows as the patient's."""
    import os
    import shlex
    import subprocess
    import sys
    import tomllib

    from playwright.sync_api import expect

    with _clinic(tmp_path) as (pw, base, page, errors, ids):
        page.goto(f"{base}/patients/{ids['ada']}")
        _log_in(page)
        expect(page.locator("#devices-section")).to_be_visible()
        page.fill("#new-device input[name=label]", "Ada's laptop")
        page.click("#new-device button[type=submit]")
        expect(page.locator("#new-token")).to_be_visible()
        token = page.locator("#new-token-value").inner_text()
        command = shlex.split(page.locator("#new-token-command").inner_text())
        assert command[:3] == ["romcam", "link", "--upload-to"], command
        assert "paste this token" in page.locator("#new-token").inner_text()
        link_file = tmp_path / "laptop" / "link.toml"
        done = subprocess.run([sys.executable, "-m", "romcam.cli", *command[1:], "--config", str(link_file)],
                              input=token + "\n", capture_output=True, text=True, timeout=60,
                              env={**os.environ, "HOME": str(tmp_path / "laptop")})
        assert done.returncode == 0, done.stderr
        saved = tomllib.loads(link_file.read_text())
        assert saved["upload_to"] == base
        r = pw.request.new_context().get(f"{saved['upload_to']}/api/device",
                                         headers={"Authorization": f"Bearer {saved['token']}"})
        assert r.status == 200 and r.json()["patient_name"] == "Ada Lovelace"
        assert errors == []
