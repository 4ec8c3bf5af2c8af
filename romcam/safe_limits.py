"""The PT's safe limits judged on a movement's two extremes: one rule for ``romcam analyze``'s flags and the
stored reps the dashboard and the exports show (``romcam.store``), so a rep past a limit is flagged the same
on every road; and which limits judge a stored set (:func:`set_limits`: its prescription version's, or
else the ones it was analysed with)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


LimitsFrom = Literal["prescription", "analyze"]


class HasSafeLimits(Protocol):
    """A prescription version (``romcam.store.models.PrescriptionVersion``), or anything with its two limits."""

    @property
    def safe_max(self) -> float | None: ...

    @property
    def safe_min(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class SafeLimits:
    """The safe limits a stored set is judged against, and where they came from: ``"prescription"`` (the
    version the set followed, set by the PT on the dashboard) or ``"analyze"`` (given to ``romcam analyze
    --safe-max/--safe-min`` for a set filed under no prescription); ``source`` None: no limit at all."""

    safe_max: float | None = None
    safe_min: float | None = None
    source: LimitsFrom | None = None

    def past(self, max_angle: float | None, min_angle: float | None) -> PastSafe | None:
        """:func:`past_safe` against these limits."""
        return past_safe(max_angle, min_angle, safe_max=self.safe_max, safe_min=self.safe_min)


def _angle(value: object) -> float | None:
    """A limit kept in a set's summary: a finite number of degrees, or None (anything else was never one)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def set_limits(version: HasSafeLimits | None, summary: Mapping[str, Any] | None) -> SafeLimits:
    """The one rule for which safe limits judge a stored set: the prescription version it followed when it
    has one (what the PT set; a limit given to ``romcam analyze`` beside the plan's is not the PT's
    prescription); otherwise the limits the set was analysed with, kept in its summary (``safe_max``,
    ``safe_min`` of the ``romcam.analysis/1`` document: ``romcam analyze --safe-max`` on a set filed under
    no prescription); otherwise none."""
    if version is not None:
        return SafeLimits(version.safe_max, version.safe_min, "prescription")
    summary = summary or {}
    high, low = _angle(summary.get("safe_max")), _angle(summary.get("safe_min"))
    if high is None and low is None:
        return SafeLimits()
    return SafeLimits(high, low, "analyze")
