"""Wiring the live coach into the server: today's plan, the recorder on the app's store, the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..server.settings import Settings
from ..store.db import Store
from .capture import CaptureWorker, LiveOptions, Publish
from .plan import plan_from_store, plan_paused, plan_waiting, todays_plan
from .recorder import Recorder

if TYPE_CHECKING:
    from ..sync.config import LinkConfig
    from ..sync.plan import ClinicAnswer


def make_worker(options: LiveOptions, store: Store, settings: Settings, *, publish: Publish,
                link: LinkConfig | None | Callable[[], LinkConfig | None] = None,
                clinic_answer: Callable[[], ClinicAnswer | None] | None = None) -> CaptureWorker:
    """``link``: the clinic this laptop is linked to (a callable: the link in use now, which a running server
    changes when its link file does: romcam.sync.follow); until it answers a new device token, no plan is followed
    (the one stored is the last token's patient's: docs/sync.md "Whose plan the coach follows"), and the page says
    why in the words of ``clinic_answer()`` (how the clinic answered the last time: refused, out of reach)."""
    link_now: Callable[[], LinkConfig | None] = link if callable(link) else (lambda: link)  # type: ignore[assignment,return-value]
    plan = todays_plan(store, options.exercise, options.side, mode=options.mode, posture=options.posture,
                       link=link_now())
    if options.demo and options.demo_dir is None:
        options.demo_dir = settings.data / "demo"
    from pathlib import Path

    from .capture import is_live_spec

    spec = options.source if options.source is not None else 0
    if options.demo:
        source = "demo video (rendered)"
    elif is_live_spec(spec):
        source = f"live camera {spec}" if isinstance(spec, int) else f"live stream {spec}"
    else:
        source = f"live video {Path(str(spec)).name}"
    recorder = Recorder(store, patient_id=store.local_patient_id, source=source, demo=options.demo, model="")
    # the day's plan is followed as the PT changes it (CaptureWorker.follow_plan); --exercise measures one
    # exercise and follows no plan
    plan_source = None if options.exercise else (lambda: plan_from_store(store, link_now()))
    waiting = None if options.exercise or link is None else (
        lambda: plan_waiting(store, link_now(), clinic_answer() if clinic_answer is not None else None,
                             follows_file=callable(link)))
    return CaptureWorker(options, plan, recorder=recorder, publish=publish, subject=options.subject,
                         plan_source=plan_source, plan_waiting=waiting,
                         plan_paused=lambda: plan_paused(store, link_now()))
