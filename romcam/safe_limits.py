"""The PT's safe limits judged on a movement's two extremes: one rule for ``romcam analyze``'s flags and the
stored reps the dashboard and the exports show (``romcam.store``), so a rep past a limit is flagged the same
on every road."""

from __future__ import annotations

from typing import Literal

PastSafe = Literal["max", "min", "both"]


def past_safe(max_angle: float | None, min_angle: float | None, *, safe_max: float | None,
              safe_min: float | None) -> PastSafe | None:
    """Which of the PT's safe limits a movement whose extremes are ``max_angle`` and ``min_angle`` went past:
    ``"max"`` (above ``safe_max``), ``"min"`` (below ``safe_min``), ``"both"``, or ``None`` (neither, or no
    limit given). Both ends are checked whichever end the exercise works: a seated knee extension works
    the low end and rests bent, so its safe maximum guards where each rep starts and ends. Judged on the
    angles seen (a rep whose furthest point was not seen may have gone further: ``Rep.peak_seen``)."""
    over = safe_max is not None and max_angle is not None and max_angle > safe_max
    under = safe_min is not None and min_angle is not None and min_angle < safe_min
    return "both" if over and under else "max" if over else "min" if under else None
