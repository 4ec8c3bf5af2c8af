"""``GET /api/exercises``: the exercise catalog, as the pages and a clinic's tools need it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..catalog import default_catalog
from .deps import UserDep

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/exercises")
def exercises(user: UserDep) -> list[dict[str, Any]]:
    """Every catalog motion: its names, plane and required camera view, which end of the range it
    works, the postures it is done in, its normal range with the source, its measurement noise at each
    end of a rep, and the instructions: the patient's, and the caregiver's for passive ROM. Experimental
    motions say so and why."""
    return [{
        "id": m.id, "name": m.name, "display_name": m.display_name, "joint": m.joint, "plane": m.plane,
        "view": m.view, "works": m.works, "postures": list(m.postures), "experimental": m.experimental,
        "experimental_reason": m.experimental_reason or None, "test_position": m.test_position,
        "definition": m.definition, "instructions": m.instructions, "caregiver_instructions": m.caregiver_instructions,
        "normal": {"min": m.normal.min, "max": m.normal.max, "source": m.normal.citation},
        "measurement_noise_deg": m.measurement_noise_deg, "return_noise_deg": m.return_noise_deg,
    } for m in default_catalog()]  # fmt: skip
