"""What every request body and session document must be before it is stored, whichever the database.

- Numbers are finite: JSON from Python may carry ``NaN`` or ``Infinity``, which no chart or
  comparison can use, and PostgreSQL's JSON refuses.
- Text holds no NUL character: PostgreSQL's text refuses it, SQLite takes it, so the same request
  would be stored on a laptop and refused by the clinic (:class:`CheckedInput`, which refuses
  non-finite numbers too, wherever they are).
- A time something happened lies between 2000 and a day from now: a laptop whose clock is years
  ahead would otherwise date its sessions in the future, where they would count as done this week
  and hide a missed-sessions alert (:data:`PastTime`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, ValidationError, model_validator

FINITE = ConfigDict(allow_inf_nan=False)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)  # how far ahead of this machine's clock a time may be


def check_past_time(value: datetime, *, now: datetime | None = None) -> datetime:
    """``value`` unchanged when it is a time that has happened (from 2000 to a day from ``now``), else a
    ValueError that says to check the clock."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{value.isoformat()} cannot be stored as a UTC time: give a time from "
                         f"{EARLIEST.year} on, with its UTC offset") from None
    if utc < EARLIEST:
        raise ValueError(f"{value.isoformat()} is before {EARLIEST.year}: check the computer's date")
    now = now or datetime.now(UTC)
    if utc > now + CLOCK_SKEW:
        raise ValueError(f"{value.isoformat()} is in the future (it is {now.replace(microsecond=0).isoformat()} "
                         "here): check the computer's date, time and time zone")
    return value


PastTime = Annotated[AwareDatetime, AfterValidator(check_past_time)]


def first_problem(exc: ValidationError) -> str:
    """A refused model's first problem in one line a person can read ("sets.0.max_angle: max_angle 500.0°
    is beyond …"), not pydantic's multi-line dump."""
    errors = exc.errors()
    if not errors:
        return str(exc)
    where = ".".join(str(p) for p in errors[0].get("loc", ()))
    msg = str(errors[0].get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def unstorable(value: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """Where in ``value`` (JSON-like: dicts, lists, strings, numbers) something cannot be stored, and
    what: a string with a NUL character, or a number that is not finite. None when all is well."""
    if isinstance(value, str):
        return (path, "holds a NUL character (\\u0000)") if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"is {value}, not a number")
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return (*path, key), "is a key with a NUL character (\\u0000)"
            found = unstorable(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if not isinstance(item, int | bool):
                found = unstorable(item, (*path, i))
                if found is not None:
                    return found
    return None


class CheckedInput(BaseModel):
    """A request body: finite numbers, and no NUL character in any text it holds, however deep (the
    whole raw input is looked at once, fields a model keeps unparsed included, so nested models need
    not derive from this)."""

    model_config = FINITE

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        found = unstorable(data)
        if found is not None:
            where, what = found
            place = ".".join(str(p) for p in where) or "the value"
            raise ValueError(f"{place} {what}, which cannot be stored: remove it")
        return data
