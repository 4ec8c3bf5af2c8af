"""The consent panel on the patient's coach page, in the real browser: a linked laptop shows the
clinic and what is shared (never video) before anything leaves; "Yes, share my results" starts the
uploads and the panel turns into the link status; "Stop sharing" stops them. The page's strict CSP
holds (no inline script: a violation is a console error)."""

from __future__ import annotations

from pathlib import Path

from db_fixtures import postgres_server  # noqa: F401 (fixture)
from helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, faketime_env, require_browser
from sync_fixtures import ClinicSite, Laptop, wait_for

from romcam.store.models import OutboxItem


def test_consent_panel_gates_the_first_upload(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    problems: list[str] = []
    try:
        clinic.start()
        laptop.start()
        (sid,) = laptop.record(1)
        wait_for("the session queued", lambda: laptop.status()["waiting"] == 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pg = browser.new_page(viewport={"width": 1280, "height": 800})
            pg.on("pageerror", lambda err: problems.append(f"script error: {err}"))
            pg.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            pg.set_default_timeout(20_000)
            pg.goto(laptop.url + "/coach")
            panel = pg.locator("#link-panel")
            expect(panel).to_be_visible()
            expect(panel).to_contain_text("Share your results with your physical therapist?")
            expect(panel).to_contain_text(f"127.0.0.1:{clinic.port}")
            expect(panel).to_contain_text("never sends video")
            expect(panel).to_contain_text("1 session is kept on this laptop")
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "sync_consent.png"))
            assert clinic.sessions() == {}  # the panel is up, nothing has left

            pg.click("#link-consent")
            expect(pg.locator("#link-status")).to_contain_text("everything sent", timeout=30_000)
            assert set(clinic.sessions()) == {sid}
            status = laptop.status()
            assert status["consent"] is True and status["consent_at"]
            assert status["clock_off_s"] is None and pg.locator("#link-clock").count() == 0  # the clocks agree
            # the panel is polled every 5 s: a keyboard user's focus on its button survives the polls
            pg.focus("#link-withdraw")
            pg.wait_for_timeout(6_000)
            assert pg.evaluate("document.activeElement && document.activeElement.id") == "link-withdraw"
            # a session the clinic refused is said on the panel for as long as it is kept, whatever was sent since
            with laptop.store.session() as db:
                item = db.query(OutboxItem).filter_by(object_id=sid).one()
                item.state = "rejected"
                db.commit()
            (later,) = laptop.record(1)
            wait_for("the later session sent", lambda: later in clinic.sessions())
            expect(pg.locator("#link-refused")).to_contain_text("1 session was refused by the clinic", timeout=15_000)
            expect(pg.locator("#link-status")).to_contain_text("everything sent")

            pg.click("#link-withdraw")
            expect(pg.locator("#link-status")).to_contain_text("Not sharing with")
            assert laptop.status()["consent"] is False
            browser.close()
    finally:
        laptop.close()
        clinic.close()
    assert not problems, "\n".join(problems)


def test_a_laptop_clock_days_behind_the_clinics_is_said_on_the_panel(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """Sessions are dated by the laptop's clock: one 3 days behind (a flat CMOS battery) would file every
    session on the wrong days at the clinic. The clinic's Date header tells; the panel says so plainly."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic, faketime_env("-3d"))
    try:
        clinic.start()
        laptop.start()
        status = wait_for("the clinic's clock heard", lambda: (s := laptop.status())["clock_off_s"] and s, timeout=30)
        assert abs(status["clock_off_s"] + 3 * 86400) < 120, status
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pg = browser.new_page(viewport={"width": 1280, "height": 800})
            pg.set_default_timeout(20_000)
            pg.goto(laptop.url + "/coach")
            expect(pg.locator("#link-clock")).to_contain_text("This computer's clock is 3 days behind the clinic's")
            expect(pg.locator("#link-clock")).to_contain_text("set the date and time")
            browser.close()
    finally:
        laptop.close()
        clinic.close()


def test_the_status_line_right_after_consent_says_what_is_true(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """A laptop linked before its first session: right after "Yes, share my results" nothing has been sent
    and nothing waits. The line said "everything sent · last sent never"; it must say there is nothing to
    send yet, and once a session has gone, that everything is sent and when."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    clinic = ClinicSite(tmp_path, postgres_server.new_database())
    laptop = Laptop(tmp_path, clinic)
    problems: list[str] = []
    try:
        clinic.start()
        laptop.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pg = browser.new_page(viewport={"width": 1280, "height": 800})
            pg.on("pageerror", lambda err: problems.append(f"script error: {err}"))
            pg.set_default_timeout(20_000)
            pg.goto(laptop.url + "/coach")
            pg.click("#link-consent")
            line = pg.locator("#link-status")
            expect(line).to_contain_text("Sharing with")
            status = laptop.status()
            assert status["consent"] is True and status["waiting"] == status["sent"] == 0, status
            assert status["last_upload_at"] is None, status
            text = line.inner_text()
            assert "nothing to send yet" in text, text
            assert "everything sent" not in text and "never" not in text, text

            (sid,) = laptop.record(1)
            wait_for("the session sent", lambda: sid in clinic.sessions())
            expect(line).to_contain_text("everything sent · last sent", timeout=15_000)
            assert "nothing to send" not in line.inner_text()
            browser.close()
    finally:
        laptop.close()
        clinic.close()
    assert not problems, "\n".join(problems)
