"""Today's plan for the live coach: the local patient's active prescriptions (``GET /live/plan``), or
one exercise with no targets (``--exercise/--side``, or no prescription at all): measure only. A laptop
re-linked to a device token the clinic has not answered yet follows no plan (the one stored is the last
token's patient's, romcam.sync.plan.plan_withheld) and says why (:func:`plan_waiting`): the clinic has not answered
yet, cannot be reached, or refused the new key. A plan the PT paused (a hospital stay; the clinic's pause, on a linked
laptop) is still shown, with :func:`plan_paused`'s words above it: nothing is asked, a session can still be done."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from ..catalog import get_motion
from ..store import service
from ..store.db import Store
from .coach import PlanItem

if TYPE_CHECKING:
    from ..sync.config import LinkConfig
    from ..sync.plan import ClinicAnswer

DEFAULT_EXERCISE = "shoulder_abduction"
DEFAULT_SIDE = "left"


def measure_only(exercise: str, side: str, *, mode: str = "active", posture: str | None = None) -> PlanItem:
    m = get_motion(exercise)
    posture = m.posture_or_default(posture)
    return PlanItem(exercise=m.id, side=side, exercise_name=m.display_name, mode=mode, posture=posture,
                    instructions=m.instructions_for(mode), view=m.view, works=m.works, joint=m.joint,
                    noise_deg=m.measurement_noise_deg, safe_noise_deg=m.high_end_noise_deg,
                    safe_min_noise_deg=m.low_end_noise_deg, experimental=m.experimental)


def _withheld(db, link: LinkConfig | None) -> bool:  # type: ignore[no-untyped-def]
    if link is None:
        return False
    from ..sync.plan import plan_withheld

    return plan_withheld(db, link.fingerprint)


def plan_waiting(store: Store, link: LinkConfig | None, answer: ClinicAnswer | None = None, *,
                 follows_file: bool = False) -> str | None:
    """Why the coach follows no plan from the therapist while linked to ``link``: the clinic has not accepted its
    device token yet, and the plan on this laptop is the last token's patient's (None: the plan is this link's).
    ``answer``: how the clinic answered the last time it was asked (``SyncWorker.clinic_answer``): it refused the
    token (the words say the sessions are kept and what to do), or could not be reached (romcam keeps trying); None:
    not answered yet. ``follows_file``: this romcam follows its link file (romcam.sync.follow), so a new key entered
    with ``romcam link`` needs no restart; otherwise it was given its key on the command line (``--token``) and the
    new one goes there."""
    if link is None:
        return None
    with store.session() as db:
        if not _withheld(db, link):
            return None
    not_used = "romcam does not know this patient's plan: it does not use the plan of the patient linked before."
    if answer == "refused":
        return (f"This laptop was linked again, but {link.clinic} did not accept this laptop's key (it may have been "
                f"mistyped, or cancelled at the clinic), so {not_used} The sessions recorded here are kept on this "
                "laptop: nothing is lost. To fix it, ask the therapist for a new key, then "
                + ("enter it on this laptop with `romcam link` (or ask whoever helps you with the computer): romcam "
                   "takes it within a few seconds. " if follows_file else
                   "start romcam again with it after `--token`, in place of the old one (or ask whoever started "
                   "romcam for you). ")
                + "Until then romcam measures and shows the range reached.")
    if answer == "unreachable":
        return (f"This laptop was linked again, and {link.clinic} cannot be reached now, so {not_used} romcam keeps "
                "trying, and the sessions recorded here are kept on this laptop. romcam measures and shows the range "
                "reached; the therapist's plan shows here once the clinic answers.")
    return (f"This laptop was linked again, and {link.clinic} has not answered it yet, so {not_used} romcam measures "
            "and shows the range reached; the therapist's plan shows here once the clinic answers.")


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # the page is English: not the process locale's (strftime %B follows LC_TIME)


def day_words(day: date, today: date) -> str:
    """``day`` as the patient reads it: "3 March", with the year when it is not ``today``'s ("28 December 2025",
    a hospital stay over new year). Fixed English month names, whatever the locale."""
    words = f"{day.day} {MONTHS[day.month - 1]}"
    return words if day.year == today.year else f"{words} {day.year}"


def paused_words(since: datetime, now: datetime | None = None) -> str:
    """What the coaching page says while the plan is paused (``since``: when, shown as this computer's local date;
    its year too when ``now``, default now, is in another year)."""
    day = since.astimezone().date()
    today = (now or datetime.now(UTC)).astimezone().date()
    return (f"Your therapist paused your exercise plan on {day_words(day, today)} (for example for a hospital stay): "
            "nothing is asked of you until they resume it. You can still do a session if you want; it is saved as "
            "usual.")


def plan_paused(store: Store, link: LinkConfig | None = None) -> str | None:
    """The coaching page's words for the local patient's paused plan (None: it is not paused, or ``link``'s token
    waits for the clinic's first answer: the pause stored is the last token's patient's, as the plan is)."""
    with store.session() as db:
        if _withheld(db, link):
            return None
        since = service.open_pause_since(db, store.local_patient_id)
    return None if since is None else paused_words(since)


def plan_from_store(store: Store, link: LinkConfig | None = None) -> list[PlanItem]:
    """The local patient's active prescriptions; none while ``link``'s token waits for the clinic's first answer
    (:func:`plan_waiting`)."""
    with store.session() as db:
        if _withheld(db, link):
            return []
        patient = service.get_patient(db, store.local_patient_id)
        items = []
        for rx, v in service.active_prescriptions(db, patient):
            m = get_motion(v.exercise)
            items.append(PlanItem(
                exercise=m.id, side=v.side, exercise_name=m.display_name, mode=v.mode, posture=v.posture,
                target_min=v.target_min, target_max=v.target_max, safe_max=v.safe_max, safe_min=v.safe_min, reps=v.reps,
                hold_s=v.hold_s, max_reps=v.max_reps, max_minutes=v.max_minutes, notes=v.notes,
                instructions=m.instructions_for(v.mode), view=m.view, works=m.works, joint=m.joint,
                noise_deg=m.measurement_noise_deg, safe_noise_deg=m.high_end_noise_deg,
                safe_min_noise_deg=m.low_end_noise_deg, experimental=m.experimental, prescription_id=str(rx.id),
                version=v.version))
        return items


def todays_plan(store: Store, exercise: str | None = None, side: str | None = None, *, mode: str = "active",
                posture: str | None = None, link: LinkConfig | None = None) -> list[PlanItem]:
    """``--exercise`` (and ``--side``, ``--mode``, ``--posture``) → that one exercise, measure only; else
    the prescriptions (none while ``link`` waits for the clinic's first answer); with none, the default exercise
    measured only."""
    if exercise:
        return [measure_only(exercise, side or DEFAULT_SIDE, mode=mode, posture=posture)]
    plan = plan_from_store(store, link)
    return plan or [measure_only(DEFAULT_EXERCISE, side or DEFAULT_SIDE)]
