"""The database stops taking writes mid-session, seen from the patient's page in a real browser.

A real ``romcam serve --source RENDERED.mp4`` on a real PostgreSQL. The page is opened, Start is pressed,
and after the first rep the database is made read-only (its connections are cut, as a failover does,
and new ones are read-only). The page must say so at once, in an alert, and that nothing is lost; once
the database takes writes again it must say the session is saved, and the session must be stored
whole: every rep of the clip.

Without /usr/bin/chromium, the playwright package or PostgreSQL the test skips, unless CI is set: then it
fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from db_fixtures import postgres_server  # noqa: F401  (the fixture)
from helpers import ARTIFACTS, hold_live_ws, offline_page, require_browser, romcam_serve
from sqlalchemy import select

from romcam.store.db import Store
from romcam.store.models import ExerciseSet, Rep, Session
from tests.conftest import DEMO_SPEC

STARTUP_S = 120


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_the_page_says_when_the_session_is_not_saved_and_then_that_it_is(
        demo_clip: Path, tmp_path: Path, postgres_server: Any) -> None:  # noqa: F811
    require_browser()
    url = postgres_server.new_database()
    name = url.rsplit("/", 1)[1]

    def read_only(on: bool) -> None:
        postgres_server._sql(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
        postgres_server._sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    problems: list[str] = []
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side",
                      DEMO_SPEC.side, "--db", url, timeout=STARTUP_S) as (port, _):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, timeout_ms=30_000) as page:
            release = hold_live_ws(page)  # every rep of the clip is counted: it plays from Start
            page.goto(server + "/coach", wait_until="domcontentloaded")
            page.wait_for_selector("body[data-ready=true]")
            assert page.locator("#save-problem").is_hidden()
            page.locator("#primary").click()
            page.wait_for_selector("body[data-started=true]")
            release()
            _until(lambda: int(page.locator("#reps").get_attribute("data-rep") or 0) >= 1, 90, "the first rep")

            read_only(True)
            banner = page.locator("#save-problem")
            banner.wait_for(state="visible", timeout=30_000)
            text = banner.inner_text()
            assert banner.get_attribute("role") == "alert"
            assert "read-only" in text and "not saved yet" in text, text
            assert "keeps this session in memory and saves it as soon as it can" in text, text
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "coach-save-problem.png"))

            read_only(False)
            banner.wait_for(state="hidden", timeout=60_000)
            # the clip plays to its end; the page then says the session is saved
            _until(lambda: "Your session is saved" in page.locator("#state-msg").inner_text(), 90,
                   "the page saying the session is saved")
    assert not problems, "\n".join(problems)

    store = Store(url)
    try:
        with store.session() as db:
            sessions = list(db.scalars(select(Session)))
            assert len(sessions) == 1
            sets = list(db.scalars(select(ExerciseSet).where(ExerciseSet.session_id == sessions[0].id)))
            assert len(sets) == 1 and not (sets[0].summary or {}).get("live"), "the set's final analysis is stored"
            reps = list(db.scalars(select(Rep).where(Rep.set_id == sets[0].id, Rep.partial.is_(False))))
            assert len(reps) == DEMO_SPEC.reps, f"{len(reps)} reps stored; the clip has {DEMO_SPEC.reps}"
            assert sets[0].frames > 0 and sets[0].samples is not None and sets[0].samples.count == sets[0].frames
    finally:
        store.close()
