"""Today's plan for the live coach: the local patient's active prescriptions (``GET /live/plan``), or
one exercise with no targets (``--exercise/--side``, or no prescription at all): measure only."""

from __future__ import annotations

from ..catalog import get_motion
from ..store import service
from ..store.db import Store
from .coach import PlanItem

DEFAULT_EXERCISE = "shoulder_abduction"
DEFAULT_SIDE = "left"


def measure_only(exercise: str, side: str, *, mode: str = "active", posture: str | None = None) -> PlanItem:
    m = get_motion(exercise)
    posture = m.posture_or_default(posture)
    return PlanItem(exercise=m.id, side=side, exercise_name=m.display_name, mode=mode, posture=posture,
                    instructions=m.instructions_for(mode), view=m.view, works=m.works, joint=m.joint,
                    noise_deg=m.measurement_noise_deg, safe_noise_deg=m.high_end_noise_deg,
                    safe_min_noise_deg=m.low_end_noise_deg, experimental=m.experimental)


def plan_from_store(store: Store) -> list[PlanItem]:
    with store.session() as db:
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
                posture: str | None = None) -> list[PlanItem]:
    """``--exercise`` (and ``--side``, ``--mode``, ``--posture``) → that one exercise, measure only; else
    the prescriptions; with none, the default exercise measured only."""
    if exercise:
        return [measure_only(exercise, side or DEFAULT_SIDE, mode=mode, posture=posture)]
    plan = plan_from_store(store)
    return plan or [measure_only(DEFAULT_EXERCISE, side or DEFAULT_SIDE)]
