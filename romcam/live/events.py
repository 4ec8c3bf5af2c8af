"""The JSON messages of ``/live/ws`` exactly as docs/live.md lists them (fields may be added, never
renamed): one ``frame`` event per processed frame and a ``status`` message on state changes."""

from __future__ import annotations

import math
from typing import Any

from .coach import CoachOutput, PlanItem

FRAME_FIELDS = ("type", "t", "exercise", "side", "mode", "angle", "confidence", "view_ok", "target_min",
                "target_max", "safe_max", "safe_min", "zone", "rep", "reps_target", "hold_s", "hold_target_s", "cue",
                "cue_id", "state", "demo", "view_hint", "missing", "effective_fps")


def _num(v: float | None, digits: int = 1) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), digits)


def frame_event(*, t: float, item: PlanItem, angle: float, confidence: float, view_ok: bool | None,
                out: CoachOutput, demo: bool, effective_fps: float, raw: float = math.nan,
                frame_index: int = 0, session_id: str | None = None) -> dict[str, Any]:
    """One processed frame (docs/live.md "Event"; ``safe_min`` added), plus ``angle_raw``, ``started``, ``plan_index``,
    ``fatigued``, ``rest_remaining_s``, ``auto_paused``, ``auto_start_in_s``, ``frame`` and ``session_id``."""
    return {
        "type": "frame",
        "t": round(float(t), 3),
        "exercise": item.exercise,
        "side": item.side,
        "mode": item.mode,
        "angle": _num(angle),
        "confidence": round(float(confidence), 2) if math.isfinite(confidence) else 0.0,
        "view_ok": view_ok,
        "target_min": item.target_min,
        "target_max": item.target_max,
        "safe_max": item.safe_max,
        "safe_min": item.safe_min,
        "zone": out.zone,
        "rep": out.rep,
        "reps_target": item.reps,
        "hold_s": round(out.hold_s, 1),
        "hold_target_s": item.hold_s if item.prescribed else None,
        "cue": out.cue,
        "cue_id": out.cue_id,
        "state": out.state,
        "demo": demo,
        "view_hint": out.view_hint,
        "missing": out.missing,
        "effective_fps": round(float(effective_fps), 1),
        # added fields
        "angle_raw": _num(raw),
        "started": out.started,
        "plan_index": out.plan_index,
        "fatigued": out.fatigued,
        "rest_remaining_s": out.rest_remaining_s,
        "auto_paused": out.auto_paused,
        "auto_start_in_s": out.auto_start_in_s,
        "frame": frame_index,
        "session_id": session_id,
    }


def status_event(status: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "status", ...}``: the ``GET /live/status`` body, sent on every state change."""
    return {"type": "status", **status}
