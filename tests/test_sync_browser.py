"""The consent panel on the patient's coach page, in the real browser: a linked laptop shows the
clinic and what is shared (never video) before anything leaves; "Yes, share my results" starts the
uploads and the panel turns into the link status; "Stop sharing" stops them; a plan the PT changes
while romcam runs is said. The page's strict CSP holds (no inline script: a violation is a console
error)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from db_fixtures import postgres_server  # noqa: F401 (fixture)
from helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, faketime_env, require_browser
from sync_fixtures import KNEE, ClinicSite, Laptop, http, wait_for

from romcam.store.models import OutboxItem


class LinkedCoach:
    """A clinic on real PostgreSQL, a laptop linked to it (its clock shifted by ``env``), and — once
    :meth:`open_page` is called — the laptop's coach page in chromium; ``problems`` collects script errors
    and Content Security Policy violations."""

    def __init__(self, tmp_path: Path, postgres: Any, env: dict[str, str] | None = None) -> None:
        self.clinic = ClinicSite(tmp_path, postgres.new_database())
        self.laptop = Laptop(tmp_path, self.clinic, env) if env else Laptop(tmp_path, self.clinic)
        self.problems: list[str] = []
        self._playwright: Any = None
        self._browser: Any = None

    def open_page(self) -> Any:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = self._browser.new_page(viewport={"width": 1280, "height": 800})
        pg.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        pg.on("console", lambda m: self.problems.append(m.text) if "Content Security Policy" in m.text else None)
        pg.set_default_timeout(20_000)
        pg.goto(self.laptop.url + "/coach")
        return pg

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self.laptop.close()
        self.clinic.close()


@contextmanager
def linked_coach(tmp_path: Path, postgres: Any, env: dict[str, str] | None = None) -> Iterator[LinkedCoach]:
    """:class:`LinkedCoach` started, closed afterwards; no script error or CSP violation on the page."""
    require_browser()
    site = LinkedCoach(tmp_path, postgres, env)
    try:
        site.clinic.start()
        site.laptop.start()
        yield site
    finally:
        site.close()
    assert not site.problems, "\n".join(site.problems)


def test_consent_panel_gates_the_first_upload(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        (sid,) = laptop.record(1)
        wait_for("the session queued", lambda: laptop.status()["waiting"] == 1)
        pg = site.open_page()
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

        # recorded while sharing is off: where consent is given again, the panel says they will be sent
        laptop.record(2)
        wait_for("2 sessions waiting", lambda: laptop.status()["waiting"] == 2)
        expect(pg.locator("#link-status")).to_contain_text("2 sessions kept on this laptop", timeout=15_000)
        pg.click("#link-ask")
        expect(panel).to_contain_text("If you say yes, 2 sessions recorded while sharing was off will be sent.")
        assert "from before" not in panel.inner_text()
        assert laptop.status()["recorded_while_off"] == 2


def test_a_laptop_given_another_patients_token_waits_for_the_clinic_before_naming_anyone(
        tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """Ada shared her results; the laptop is then linked with Bob's token while the clinic is out of reach.
    Until the clinic answers, the panel must not go on "Sharing with" the clinic on Ada's consent (nor name
    her): the link is new and unconfirmed. Once the clinic answers, Bob is asked."""
    from datetime import UTC, datetime

    from playwright.sync_api import expect

    from romcam.store import accounts, service

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        laptop.consent()
        with clinic.store.session() as db:
            bob = service.create_patient(db, name="Bob Second", clinician_id=clinic.clinician_id)
            _, bobs_token = accounts.create_device_token(db, bob, now=datetime.now(UTC))
            db.commit()
        laptop.stop()
        clinic.stop()
        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", bobs_token]
        laptop.start()
        pg = site.open_page()
        panel = pg.locator("#link-panel")
        expect(pg.locator("#link-status")).to_contain_text(
            f"Linked to 127.0.0.1:{clinic.port}: waiting for it to answer")
        expect(panel).to_contain_text("cannot reach")
        text = panel.inner_text()
        assert "Sharing with" not in text and "Ada" not in text, text
        assert pg.locator("#link-withdraw").count() == 0 and pg.locator("#link-consent").count() == 0
        status = laptop.status()
        assert (status["confirmed"], status["consent"], status["patient_name"]) == (False, False, ""), status

        clinic.start()
        expect(panel).to_contain_text("Share your results with your physical therapist?", timeout=30_000)
        assert laptop.status()["patient_name"] == "Bob Second"


def test_sessions_recorded_under_a_mistyped_token_are_said_kept_and_not_sent(
        tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """Ada's laptop is linked for a while with a mistyped token (the clinic refuses it: never answered), two
    sessions are recorded, then it is linked back with Ada's. The panel says plainly that those two are kept on
    the laptop and not sent with this link, and how to send them; her consent sends hers, not them."""
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        adas_args = list(laptop.args)
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        laptop.consent()
        laptop.stop()
        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", "romcam_dt_" + "z" * 43]
        laptop.start()
        wait_for("the mistyped token refused", lambda: laptop.status()["token_refused"])
        kept = laptop.record(2)
        wait_for("2 sessions queued", lambda: laptop.status()["waiting"] == 2)
        laptop.stop()
        laptop.args = adas_args
        laptop.start()
        (hers,) = laptop.record(1)
        wait_for("Ada's session queued", lambda: laptop.status()["waiting"] == 1)
        pg = site.open_page()
        note = pg.locator("#link-unanswered")
        expect(pg.locator("#link-panel")).to_contain_text("Share your results with your physical therapist?")
        expect(pg.locator("#link-panel")).to_contain_text("1 session is kept on this laptop until you decide")
        expect(note).to_contain_text("2 sessions were recorded while this laptop was linked with a key the clinic "
                                     "never answered (it could not be reached, or the key was mistyped).")
        expect(note).to_contain_text("They are kept on this laptop and not sent with this link")
        # the command is shown as code, not between backticks (a caregiver would type them)
        expect(note).to_contain_text("link this laptop with that key again (romcam link).")
        expect(note.locator("code")).to_have_text("romcam link")
        assert "`" not in pg.locator("#link-panel").inner_text()
        pg.click("#link-consent")
        expect(pg.locator("#link-status")).to_contain_text("everything sent", timeout=30_000)
        expect(note).to_contain_text("2 sessions were recorded")  # said while they are kept, sharing or not
        assert set(clinic.sessions()) == {hers}
        assert not set(kept) & set(clinic.sessions())


def test_a_laptop_clock_days_behind_the_clinics_is_said_on_the_panel(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """Sessions are dated by the laptop's clock: one 3 days behind (a flat CMOS battery) would file every
    session on the wrong days at the clinic. The clinic's Date header tells; the panel says so plainly."""
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server, faketime_env("-3d")) as site:
        status = wait_for("the clinic's clock heard", lambda: (s := site.laptop.status())["clock_off_s"] and s,
                          timeout=30)
        assert abs(status["clock_off_s"] + 3 * 86400) < 120, status
        pg = site.open_page()
        expect(pg.locator("#link-clock")).to_contain_text("This computer's clock is 3 days behind the clinic's")
        expect(pg.locator("#link-clock")).to_contain_text("set the date and time")


def test_the_status_line_right_after_consent_says_what_is_true(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """A laptop linked before its first session: right after "Yes, share my results" nothing has been sent
    and nothing waits. The line said "everything sent · last sent never"; it must say there is nothing to
    send yet, and once a session has gone, that everything is sent and when."""
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server) as site:
        pg = site.open_page()
        pg.click("#link-consent")
        line = pg.locator("#link-status")
        expect(line).to_contain_text("Sharing with")
        status = site.laptop.status()
        assert status["consent"] is True and status["waiting"] == status["sent"] == 0, status
        assert status["last_upload_at"] is None, status
        text = line.inner_text()
        assert "nothing to send yet" in text, text
        assert "everything sent" not in text and "never" not in text, text

        (sid,) = site.laptop.record(1)
        wait_for("the session sent", lambda: sid in site.clinic.sessions())
        expect(line).to_contain_text("everything sent · last sent", timeout=15_000)
        assert "nothing to send" not in line.inner_text()


def test_a_plan_the_pt_changes_while_romcam_runs_is_said_on_the_page(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The PT edits the prescription (a lower safe limit, say) while the laptop runs: the running coach follows
    it (tests/test_live_plan_change.py, tests/test_coach_plan_change_browser.py), and the link panel says the
    plan changed and when the coach takes it — not that the coach keeps the old plan until a restart."""
    from playwright.sync_api import expect

    from romcam.store import service
    from romcam.store.models import Prescription

    with linked_coach(tmp_path, postgres_server) as site:
        pg = site.open_page()
        pg.click("#link-consent")
        expect(pg.locator("#link-status")).to_contain_text("Sharing with")
        assert site.laptop.status()["plan_changed_at"] is None
        assert pg.locator("#link-plan").count() == 0
        with site.clinic.store.session() as db:
            rx = db.get(Prescription, site.clinic.rx_id)
            service.update_prescription(db, rx, KNEE | {"safe_max": 125})
        note = pg.locator("#link-plan")
        expect(note).to_contain_text("changed your exercise plan", timeout=20_000)
        expect(note).to_contain_text("The coach follows the new plan from the next exercise; a lower safe limit "
                                     "counts at once.")
        assert "start it again" not in note.inner_text()
        assert site.laptop.status()["plan_changed_at"] is not None

        site.laptop.stop()  # romcam started again: the coach reads the new plan, nothing more to say
        site.laptop.start()
        pg.reload()
        expect(pg.locator("#link-status")).to_contain_text("Sharing with")
        pg.wait_for_timeout(2500)  # a few plan pulls (every second here)
        assert site.laptop.status()["plan_changed_at"] is None
        assert pg.locator("#link-plan").count() == 0


def test_a_session_from_a_laptop_a_day_behind_reaches_the_pt_marked(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """A laptop whose clock is 26 hours behind the clinic's (faketime) dates its sessions a day early: the PT
    must not read that date as true. The session carries the offset the laptop measured when it sent it, the
    clinic stores it, and the PT's session list, session page and CSV say it next to the (uncorrected) times."""
    import csv
    import io

    from playwright.sync_api import expect
    from sync_fixtures import PASSWORD

    from romcam.store.models import Session as SessionRow

    note = ("this laptop's clock was 26 hours behind the clinic's when it sent this session: its times are the "
            "laptop's")
    with linked_coach(tmp_path, postgres_server, faketime_env("-26h")) as site:
        clinic, laptop = site.clinic, site.laptop
        wait_for("the clinic's clock heard", lambda: laptop.status()["clock_off_s"], timeout=30)
        laptop.consent()
        (sid,) = laptop.record(1)
        wait_for("the session at the clinic", lambda: sid in clinic.sessions(), timeout=30)
        with clinic.store.session() as db:
            row = db.get(SessionRow, sid)
            stored_at, off = row.started_at, row.clock_off_s
        assert off is not None and abs(off + 26 * 3600) < 120, off  # measured from the clinic's Date header
        with laptop.store.session() as db:  # the times are the laptop's, not corrected
            assert db.get(SessionRow, sid).started_at == stored_at

        site.open_page()
        pg = site._browser.new_page(viewport={"width": 1280, "height": 800})
        pg.on("pageerror", lambda err: site.problems.append(f"script error: {err}"))
        pg.set_default_timeout(20_000)
        pg.goto(clinic.url + "/login")
        pg.fill("input[name=email]", "pt@clinic.test")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        expect(pg).to_have_url(clinic.url + "/")
        pg.goto(f"{clinic.url}/patients/{clinic.patient_id}")
        item = pg.locator(f"#sessions li[data-session-id='{sid}']")
        expect(item).to_contain_text(f"({note})")
        # at the clinic the plan is this PT's to change: the editor keeps its controls (the laptop's is read-only)
        expect(pg.locator("#new-prescription")).to_be_visible()
        expect(pg.locator("#prescriptions button", has_text="Edit")).to_be_visible()
        expect(pg.locator("#pause-button")).to_be_visible()
        expect(pg.locator("#plan-managed")).to_be_hidden()
        pg.goto(f"{clinic.url}/sessions/{sid}")
        expect(pg.locator("#session-clock")).to_have_text(note[0].upper() + note[1:] + ".")
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "sync_clock_behind_session.png"))
        got = pg.request.get(f"{clinic.url}/api/patients/{clinic.patient_id}/export.csv")
        assert got.status == 200, got.text()
        rows = list(csv.DictReader(io.StringIO(got.text())))
        assert rows and {(r["session_id"], r["clock_note"]) for r in rows} == {(str(sid), note)}
        assert {abs(float(r["laptop_clock_off_s"]) + 26 * 3600) < 120 for r in rows} == {True}


def test_a_session_the_clinic_fails_on_every_round_is_said_on_the_panel(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The clinic's server fails on one session (500) every round, without refusing it: the others go, it stays
    queued — and each upload that went through cleared the link's error, so the panel said "everything else
    sent" and nothing of it; its reason was only on its outbox row. The status and the panel say that it could
    not be sent yet, why, and that romcam keeps trying; once the clinic takes it, that goes."""
    from playwright.sync_api import expect
    from sqlalchemy import text

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        stuck, fine = laptop.record(2)
        wait_for("both queued", lambda: laptop.status()["waiting"] == 2)
        # the clinic's real server fails on that one session: its database raises on it (an internal error, 500)
        with clinic.store.session() as db:
            db.execute(text("CREATE FUNCTION fail_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                            f"IF NEW.id = '{stuck}' THEN RAISE EXCEPTION 'a server bug'; END IF; "
                            "RETURN NEW; END $$"))
            db.execute(text("CREATE TRIGGER fail_one BEFORE INSERT ON sessions FOR EACH ROW "
                            "EXECUTE FUNCTION fail_one()"))
            db.commit()
        pg = site.open_page()
        pg.click("#link-consent")
        wait_for("the other session at the clinic", lambda: fine in clinic.sessions(), timeout=30)
        # the clinic stores the other session before the laptop marks it sent: wait for both
        status = wait_for("a round after it", lambda: (s := laptop.status())["failing"] and s["waiting"] == 1 and s,
                          timeout=30)
        assert stuck not in clinic.sessions()
        assert (status["waiting"], status["failing"], status["rejected"]) == (1, 1, 0), status
        assert status["failing_error"] == f"127.0.0.1:{clinic.port} is having trouble (HTTP 500)", status
        note = pg.locator("#link-failing")
        expect(note).to_have_text(f"1 session could not be sent yet (the last try: 127.0.0.1:{clinic.port} is "
                                  "having trouble (HTTP 500)). It is kept on this laptop, and romcam keeps trying.",
                                  timeout=20_000)
        expect(pg.locator("#link-status")).to_contain_text("1 session waiting to be sent")
        # a round with it alone: its failure is the link's error too ("… is having trouble (HTTP 500). Your sessions
        # are kept …"), and the panel said it twice; the note says it once
        wait_for("its failure the link's error", lambda: "(HTTP 500)" in laptop.status()["last_error"], timeout=30)
        expect(pg.locator("#link-error")).to_have_count(0)
        expect(note).to_be_visible()
        assert pg.locator("#link-panel").inner_text().count("HTTP 500") == 1
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "sync_failing.png"))

        with clinic.store.session() as db:  # the clinic's server fixed: the session goes, the note with it
            db.execute(text("DROP TRIGGER fail_one ON sessions"))
            db.commit()
        wait_for("the session at the clinic", lambda: stuck in clinic.sessions(), timeout=60)
        expect(pg.locator("#link-status")).to_contain_text("everything sent", timeout=20_000)
        assert pg.locator("#link-failing").count() == 0
        assert (laptop.status()["failing"], laptop.status()["failing_error"]) == (0, "")


def test_a_clinic_out_of_reach_is_said_once_on_the_panel(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The clinic goes down while two sessions wait: the panel said "cannot reach …" and, apart, "2 sessions could
    not be sent yet (the last try: cannot reach …)" — the same fact twice, the second read as a fault of the
    sessions. It says once that the clinic cannot be reached now, that the sessions are kept on this laptop and
    sent when it answers, and that romcam keeps trying, and when; once the clinic answers, they go and that goes."""
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server, {"ROMCAM_SYNC_PLAN_EVERY_S": "3600"}) as site:
        clinic, laptop = site.clinic, site.laptop
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        pg = site.open_page()
        pg.click("#link-consent")
        expect(pg.locator("#link-status")).to_contain_text("nothing to send yet")
        clinic.stop()
        laptop.record(2)
        # the uploads were tried (not only the plan pull) and got no answer: both sessions' last try failed
        status = wait_for("both tried", lambda: (s := laptop.status())["failing"] == 2 and s, timeout=30)
        name = f"127.0.0.1:{clinic.port}"
        said = (f"Cannot reach {name}: its server is not answering (it may be down or restarting). 2 sessions are "
                "kept on this laptop and will be sent when it answers. romcam keeps trying: the next try is within a "
                "minute.")
        expect(pg.locator("#link-error")).to_have_text(said, timeout=20_000)
        expect(pg.locator("#link-status")).to_contain_text("2 sessions waiting to be sent")
        assert pg.locator("#link-failing").count() == 0
        panel = pg.locator("#link-panel").inner_text()
        assert "could not be sent" not in panel and panel.count("reach") == 1, panel
        assert status["unreachable"] == f"cannot reach {name}: its server is not answering (it may be down or " \
            "restarting)", status
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "sync_clinic_out_of_reach.png"))

        clinic.start()
        expect(pg.locator("#link-status")).to_contain_text("everything sent", timeout=30_000)
        assert pg.locator("#link-error").count() == 0
        assert laptop.status()["unreachable"] == ""


def test_a_relinked_laptops_coach_waits_for_the_new_patients_plan(tmp_path: Path, postgres_server,  # noqa: F811
                                                                   demo_clip: Path) -> None:
    """Ada's plan (a knee exercise) was pulled; the laptop is linked with Bob's token while the clinic is out of
    reach. The coaching page must not show Ada's plan as Bob's "Today's plan": it heads the measured exercise "No
    plan from the therapist yet" and says the clinic cannot be reached now; once it answers, Bob's plan shows."""
    from datetime import UTC, datetime

    from playwright.sync_api import expect

    from romcam.store import accounts, service

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        with clinic.store.session() as db:
            bob = service.create_patient(db, name="Bob Second", clinician_id=clinic.clinician_id)
            _, bobs_token = accounts.create_device_token(db, bob, now=datetime.now(UTC))
            service.create_prescription(db, bob, KNEE | {"target_min": 70, "target_max": 100})
            db.commit()
        laptop.stop()
        clinic.stop()
        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", bobs_token,
                       "--source", str(demo_clip)]
        laptop.live = True
        laptop.start()
        pg = site.open_page()
        pg.wait_for_selector("body[data-ready=true]")
        expect(pg.locator("#plan-title")).to_have_text("No plan from the therapist yet")
        note = pg.locator("#plan-empty")
        expect(note).to_contain_text(f"This laptop was linked again, and 127.0.0.1:{clinic.port} cannot be reached "
                                     "now")
        expect(note).to_contain_text("it does not use the plan of the patient linked before")
        expect(note).to_contain_text("romcam keeps trying, and the sessions recorded here are kept on this laptop")
        items = pg.locator("#plan-list li")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("Shoulder abduction")
        expect(items.first).to_contain_text("measuring only")

        clinic.start()
        expect(pg.locator("#plan-title")).to_have_text("Today's plan", timeout=30_000)
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("Knee")
        expect(items.first).to_contain_text("target 70°–100°")
        expect(note).to_be_hidden()
        # Bob's first plan is said as arrived, not as a change his PT made
        expect(pg.locator("#plan-change")).to_contain_text("Your PT's plan has arrived: knee")
        expect(pg.locator("#plan-change")).not_to_contain_text("changed")
        assert laptop.status()["patient_name"] == "Bob Second"


def test_a_relinked_laptop_whose_new_code_the_clinic_refuses_says_so_on_the_coaching_page(
        tmp_path: Path, postgres_server, demo_clip: Path) -> None:  # noqa: F811
    """Ada's plan was pulled; the laptop is linked again with a mistyped code while the clinic is out of reach, then
    the clinic comes back and refuses the code (401). The coaching page said "has not answered it yet" even then: a
    caregiver waited for an answer that had come. It must say the clinic cannot be reached while it cannot, then that
    the clinic did not accept the key, that the sessions are kept, and what to do; no plan of Ada's shows."""
    from playwright.sync_api import expect

    with linked_coach(tmp_path, postgres_server) as site:
        clinic, laptop = site.clinic, site.laptop
        wait_for("Ada's plan pulled", lambda: laptop.status()["patient_name"] == "Ada Clinic")
        laptop.stop()
        clinic.stop()
        mistyped = clinic.token[:-6] + ("zzzzzz" if not clinic.token.endswith("zzzzzz") else "yyyyyy")
        laptop.args = ["--db", laptop.db_url, "--upload-to", clinic.url, "--token", mistyped,
                       "--source", str(demo_clip)]
        laptop.live = True
        laptop.start()
        clinic_name = f"127.0.0.1:{clinic.port}"
        code, live = http("GET", laptop.url + "/live/status")
        assert code == 200 and live["plan_waiting"] == (
            f"This laptop was linked again, and {clinic_name} cannot be reached now, so romcam does not know this "
            "patient's plan: it does not use the plan of the patient linked before. romcam keeps trying, and the "
            "sessions recorded here are kept on this laptop. romcam measures and shows the range reached; the "
            "therapist's plan shows here once the clinic answers."), live
        pg = site.open_page()
        pg.wait_for_selector("body[data-ready=true]")
        note = pg.locator("#plan-empty")
        expect(note).to_contain_text(f"{clinic_name} cannot be reached now")

        clinic.start()  # it answers now: 401, it does not know this token
        refused = (f"This laptop was linked again, but {clinic_name} did not accept this laptop's key (it may "
                   "have been mistyped, or cancelled at the clinic), so romcam does not know this patient's plan: it "
                   "does not use the plan of the patient linked before. The sessions recorded here are kept on this "
                   "laptop: nothing is lost. To fix it, ask the therapist for a new key, then start romcam again "
                   "with it after `--token`, in place of the old one (or ask whoever started romcam for you). Until "
                   "then romcam measures and shows the range reached.")  # started with --token: no link file read
        expect(note).to_have_text(refused.replace("`", ""), timeout=30_000)  # the option shown as code
        expect(note.locator("code")).to_have_text("--token")
        assert "`" not in note.inner_text() and "`" not in pg.locator("#link-panel").inner_text()
        expect(pg.locator("#link-error code")).to_have_text("--token")  # the link panel's reason says it too
        expect(note).not_to_contain_text("has not answered")
        expect(pg.locator("#plan-title")).to_have_text("No plan from the therapist yet")
        items = pg.locator("#plan-list li")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("Shoulder abduction")
        expect(items.first).to_contain_text("measuring only")
        assert http("GET", laptop.url + "/live/status")[1]["plan_waiting"] == refused
        status = laptop.status()
        assert status["token_refused"] is True and status["confirmed"] is False, status
        assert "does not know this device token" in status["last_error"], status
        code, plan = http("GET", laptop.url + "/live/plan")
        assert [(p["exercise"], p["prescription_id"]) for p in plan] == [("shoulder_abduction", None)], plan


def test_a_linked_laptops_dashboard_shows_the_pts_plan_and_pause_read_only(tmp_path: Path,
                                                                          postgres_server) -> None:  # noqa: F811
    """On a laptop linked to a clinic the plan and its pause are the PT's there (a local change is a 409): the
    laptop's dashboard offers no "Pause the plan" / "Resume the plan", "Add an exercise", "Edit" or "End" button a
    caregiver would press in vain, and says who changes the plan, who pauses it, and since when, in plain words."""
    from datetime import UTC, datetime

    from playwright.sync_api import expect

    from romcam.store import service

    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
    with linked_coach(tmp_path, postgres_server) as site:
        wait_for("the plan pulled", lambda: site.laptop.status()["plan_pulled_at"], timeout=30)
        me = site.laptop.local_patient().id
        clinic = f"127.0.0.1:{site.clinic.port}"
        code, patient = http("GET", f"{site.laptop.url}/api/patients/{me}")
        assert code == 200 and patient["plan_managed_by"] == clinic and patient["plan_paused_since"] is None, patient

        pg = site.open_page()
        pg.goto(f"{site.laptop.url}/patients/{me}")
        pg.wait_for_selector("body[data-loaded=true]")
        text = pg.locator("#plan-state-text")
        expect(text).to_have_text(f"The plan is active. It is managed by your PT at {clinic}: ask them to pause it "
                                  "if needed (for example, a hospital stay).")
        expect(pg.locator("#pause-button")).to_be_hidden()
        # the prescription editor too: the clinic's knee exercise is shown, with no control that the laptop refuses
        row = pg.locator("#prescriptions tbody tr[data-prescription-id]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Knee flexion")
        for hidden in ("#new-prescription", "#prescriptions button:has-text('Edit')",
                       "#prescriptions button:has-text('End')"):
            expect(pg.locator(hidden).first).to_be_hidden()
        expect(row.locator("button", has_text="History")).to_be_visible()  # reading the versions is not a change
        managed = pg.locator("#plan-managed")
        expect(managed).to_be_visible()
        expect(managed).to_have_text(f"Your PT at {clinic} sets this plan: ask them to add, change or end an "
                                     "exercise.")

        # the PT pauses the plan at the clinic: at the next pull the laptop's dashboard says it, still no button
        with site.clinic.store.session() as db:
            service.update_patient(db, service.get_patient(db, site.clinic.patient_id), plan_paused=True)
        wait_for("the pause pulled", lambda: site.laptop.local_patient().plan_paused, timeout=30)
        code, patient = http("GET", f"{site.laptop.url}/api/patients/{me}")
        assert code == 200 and patient["plan_paused"] is True and patient["plan_managed_by"] == clinic, patient
        since = datetime.fromisoformat(patient["plan_paused_since"])
        assert abs((datetime.now(UTC) - since).total_seconds()) < 120
        day = since.astimezone()  # the browser runs in this process's zone
        pg.reload()
        pg.wait_for_selector("body[data-loaded=true]")
        expect(text).to_have_text(f"Paused by your PT at {clinic} on {day.day} {months[day.month - 1]} {day.year}: "
                                  "missed sessions are not flagged. Ask them to resume it.")
        expect(pg.locator("#paused-tag")).to_be_visible()
        expect(pg.locator("#pause-button")).to_be_hidden()
        expect(managed).to_be_visible()
        expect(pg.locator("#new-prescription")).to_be_hidden()


def test_romcam_link_while_the_coach_page_is_open_shows_the_panel_and_a_relink_renames_its_clinic(
        tmp_path: Path, postgres_server) -> None:  # noqa: F811
    """The coach page is open on a laptop not linked yet; the caregiver runs `romcam link`: within seconds, without a
    restart or a reload, the page asks consent for that clinic. Linked again to another clinic address while that
    question is on screen, the panel names the new one (it kept the old clinic's words, and "Yes" would have
    consented to the new clinic on them); yes is then that clinic's."""
    import os
    import subprocess
    import sys

    from playwright.sync_api import expect

    require_browser()
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "ROMCAM_SYNC_LINK_CHECK_S": "0.3"}
    site = LinkedCoach(tmp_path, postgres_server, config)
    clinic, laptop = site.clinic, site.laptop
    laptop.args = ["--db", laptop.db_url]  # a plain `romcam serve`: not linked
    try:
        clinic.start()
        laptop.start()
        pg = site.open_page()
        pg.wait_for_selector("body[data-ready=true]")
        panel = pg.locator("#link-panel")
        expect(panel).to_be_hidden()

        def link(url: str) -> None:
            done = subprocess.run([sys.executable, "-m", "romcam.cli", "link", "--upload-to", url, "--no-check"],
                                  input=clinic.token + "\n", capture_output=True, text=True,
                                  env=os.environ | config, timeout=60)
            assert done.returncode == 0, done.stderr

        link(clinic.url)
        expect(panel).to_contain_text("Share your results with your physical therapist?", timeout=20_000)
        expect(panel.locator(".link-url")).to_have_text(clinic.url)
        other = f"http://localhost:{clinic.port}"  # the same clinic at another address: asked again
        link(other)
        expect(panel.locator(".link-url")).to_have_text(other, timeout=20_000)
        pg.click("#link-consent")
        expect(pg.locator("#link-status")).to_be_visible(timeout=20_000)
        status = laptop.status()
        assert status["consent"] is True and status["clinic_url"] == other, status
        assert laptop.starts == 1
    finally:
        site.close()
    assert not site.problems, "\n".join(site.problems)
