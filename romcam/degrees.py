"""A measured angle to the whole degree, one rule on every road: the dashboard's pages round with JavaScript's
``Math.round`` (half up: 112.5° → 113°, −1.5° → −1°), so the texts made in Python — the change notes, the FHIR
notes, ``romcam analyze``'s summary — round the same way, not with Python's half-to-even formatting
(``f"{112.5:.0f}"`` is "112"), or the same session would read 112° in one place and 113° in another."""

from __future__ import annotations

import math


def whole_degrees(angle: float) -> int:
    """``angle`` (as stored: to 0.1°, or a median of stored angles) to the whole degree, half up as the
    dashboard's ``Math.round`` does."""
    return math.floor(angle + 0.5)


def whole_degrees_as_stored(angle: float) -> int:
    """An angle not yet stored (``romcam analyze``'s own float) to the whole degree the dashboard will show for
    it: first to 0.1° as it is stored (``Rep.to_dict``, the result document), then :func:`whole_degrees`."""
    return whole_degrees(round(float(angle), 1))
