"""The coaching page of a laptop whose plan the PT paused (a hospital stay), in a real browser (Debian's chromium,
Playwright) against a real ``romcam serve`` on the rendered demo clip: the page says plainly, above the plan, that
the therapist paused it, since when, that nothing is asked and that a session can still be done — and the coach is
not blocked. Pausing and resuming on this laptop's dashboard (``PATCH /api/patients/{id} {plan_paused}``) reaches the
open page without a reload (a linked laptop gets the clinic's pause the same way: tests/test_sync.py).

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from helpers import RECORD_SPEECH, offline_page, require_browser, serve_plan
from sqlalchemy import select
from sync_fixtures import http

from romcam.live.plan import day_words
from romcam.store.db import Store
from romcam.store.models import PlanPause
from tests.conftest import DEMO_SPEC

PLAN = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
        "target_min": 90, "target_max": 130, "safe_max": 160, "reps": 10, "hold_s": 0, "sessions_per_week": 3,
        "notes": ""}


def test_a_paused_plan_is_said_on_the_coaching_page_which_still_coaches(demo_clip: Path, tmp_path: Path,
                                                                        problems: list[str]) -> None:
    require_browser()
    with serve_plan(tmp_path, demo_clip, [PLAN], "--loop") as server:
        store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
        me = store.local_patient_id
        with offline_page(server, problems) as pg:
            pg.goto(server + "/coach", wait_until="domcontentloaded")
            pg.wait_for_selector("body[data-ready=true]")
            pg.wait_for_selector("#plan-list li")
            assert pg.locator("#plan-title").inner_text() == "Today's plan"
            assert not pg.locator("#plan-paused").is_visible()

            code, body = http("PATCH", f"{server}/api/patients/{me}", {"plan_paused": True})
            assert code == 200 and body["plan_paused"] is True, body
            with store.session() as db:
                since = db.scalar(select(PlanPause.paused_at).where(PlanPause.patient_id == me))
            assert since is not None and abs((datetime.now(UTC) - since).total_seconds()) < 120
            day = since.astimezone()
            said_day = day_words(day.date(), datetime.now(UTC).astimezone().date())
            words = (f"Your therapist paused your exercise plan on {said_day} (for example for a hospital "
                     "stay): nothing is asked of you until they resume it. You can still do a session if you want; "
                     "it is saved as usual.")
            code, status = http("GET", server + "/live/status")
            assert code == 200 and status["plan_paused"] == words, status
            # the open page says it, without a reload, above the plan that is still there to follow
            pg.wait_for_function("() => !document.getElementById('plan-paused').hidden")
            assert pg.locator("#plan-paused").inner_text() == words
            assert pg.locator("#plan-title").inner_text() == "Your plan is paused"
            assert pg.locator("#plan-list li").count() == 1
            box = pg.locator("#plan-paused").bounding_box()
            plan_box = pg.locator("#plan-list").bounding_box()
            assert box is not None and plan_box is not None and box["y"] < plan_box["y"]
            # not blocked: Start starts a session
            code, started = http("POST", server + "/live/start")
            assert code == 200 and started["started"] is True, started
            assert started["plan_paused"] == words

            code, body = http("PATCH", f"{server}/api/patients/{me}", {"plan_paused": False})
            assert code == 200 and body["plan_paused"] is False, body
            pg.wait_for_function("() => document.getElementById('plan-paused').hidden")
            assert pg.locator("#plan-title").inner_text() == "Today's plan"
            assert http("GET", server + "/live/status")[1]["plan_paused"] is None
            http("POST", server + "/live/stop")
        store.close()
    assert problems == []


PAUSE_SAID = "Your therapist has paused your plan. You can still exercise if you want."
RESUME_SAID = "Your therapist has resumed your plan."


def test_the_voice_says_the_pause_once_and_the_resume(demo_clip: Path, tmp_path: Path, problems: list[str]) -> None:
    """The page opened on a paused plan, voice on: the first gesture lets it speak, and it says the pause, short,
    once — not again at each status poll; the PT resumes: it says so once; a new pause is said again."""
    require_browser()
    with serve_plan(tmp_path, demo_clip, [PLAN], "--loop") as server:
        store = Store(f"sqlite:///{tmp_path / 'romcam.db'}")
        me = store.local_patient_id
        code, body = http("PATCH", f"{server}/api/patients/{me}", {"plan_paused": True})
        assert code == 200 and body["plan_paused"] is True, body
        with offline_page(server, problems, init_script=RECORD_SPEECH) as pg:
            polls: list[str] = []
            pg.on("response", lambda r: polls.append(r.url) if r.url.endswith("/live/status") else None)

            def said(words: str) -> int:
                return int(pg.evaluate("w => window.__spoken.filter(s => s === w).length", words))

            def after_polls(n: int) -> None:
                """Until the page has read ``n`` more status polls (every 3 s): each says the same state."""
                until = len(polls) + n
                for _ in range(600):  # the page's own polls, checked every 0.1 s for up to a minute
                    if len(polls) >= until:
                        return
                    pg.wait_for_timeout(100)
                raise AssertionError(f"the page did not poll /live/status {n} more times in a minute")

            pg.goto(server + "/coach", wait_until="domcontentloaded")
            pg.wait_for_selector("body[data-ready=true]")
            pg.wait_for_function("() => !document.getElementById('plan-paused').hidden")
            assert said(PAUSE_SAID) == 0  # no gesture yet: the browser lets no page speak
            pg.keyboard.press("Shift")  # a gesture: the voice may speak from here
            pg.wait_for_function("w => window.__spoken.includes(w)", arg=PAUSE_SAID, timeout=10_000)
            after_polls(2)
            assert said(PAUSE_SAID) == 1, pg.evaluate("window.__spoken")  # not again at each poll

            code, body = http("PATCH", f"{server}/api/patients/{me}", {"plan_paused": False})
            assert code == 200 and body["plan_paused"] is False, body
            pg.wait_for_function("w => window.__spoken.includes(w)", arg=RESUME_SAID, timeout=10_000)
            after_polls(2)
            assert said(RESUME_SAID) == 1 and said(PAUSE_SAID) == 1, pg.evaluate("window.__spoken")

            code, body = http("PATCH", f"{server}/api/patients/{me}", {"plan_paused": True})
            assert code == 200 and body["plan_paused"] is True, body
            pg.wait_for_function("w => window.__spoken.filter(s => s === w).length === 2", arg=PAUSE_SAID,
                                 timeout=10_000)
            after_polls(1)
            assert said(PAUSE_SAID) == 2 and said(RESUME_SAID) == 1, pg.evaluate("window.__spoken")
        store.close()
    assert problems == []
