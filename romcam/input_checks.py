"""What every request body and session document must be before it is stored, whichever the database.

- Numbers are finite: JSON from Python may carry ``NaN`` or ``Infinity``, which no chart or
  comparison can use, and PostgreSQL's JSON refuses.
- Text holds no NUL character: PostgreSQL's text refuses it, SQLite takes it, so the same request
  would be stored on a laptop and refused by the clinic (:class:`CheckedInput`, which refuses
  non-finite numbers too, wherever they are).
- A time something happened lies between 2000 and a day from now: a laptop whose clock is years
  ahead would otherwise date its sessions in the future, where they would count as done this week
  and hide a missed-sessions alert (:data:`PastTime`).
- Every value has the JSON type its field says (strict validation, :data:`STRICT`): a number is a
  JSON number, never the text ``"5"``; a flag is ``true`` or ``false``, never ``1`` or ``"true"``;
  a whole number is never ``5.0``; text is never a number. A malformed client's wrong values are
  refused, not silently turned into numbers the PT reads. What JSON has no type for is text in a
  fixed form: an id is a UUID string (:data:`Uuid`), a time an ISO 8601 string with its UTC offset
  (:data:`IsoTime`, never a bare number of seconds). A whole number may stand where a fractional one
  is expected (``110`` for an angle).
- A problem between two fields is put on the one to change (:func:`field_errors`), so a form can
  show it next to that field.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

# every field takes only its own JSON type (pydantic's strict mode); a nested model needs it too (a
# model's config does not reach the models inside it)
STRICT = ConfigDict(strict=True, allow_inf_nan=False)
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


def _iso_text(value: Any) -> Any:
    """A time as JSON carries it, ISO 8601 text (or a datetime, from Python): a number, or text that
    is one, is refused (pydantic would read it as seconds since 1970)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    raise PydanticCustomError("datetime_type", "must be a date and time as ISO 8601 text with its UTC offset, e.g. "
                              "\"2024-05-01T09:30:00+00:00\"")


def _uuid_text(value: Any) -> Any:
    """An id as JSON carries it, text (or a UUID, from Python)."""
    if isinstance(value, str | uuid.UUID):
        return value
    raise PydanticCustomError("uuid_type", "must be an id as text, e.g. \"3f2b8c1e-…\" (a UUID string)")


def _json_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise PydanticCustomError("bool_type", "must be true or false")


# lax inside (text is parsed) but only text or the type itself goes in: strict mode alone would refuse
# the text JSON carries them as
IsoTime = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_text)]
Uuid = Annotated[uuid.UUID, Strict(False), BeforeValidator(_uuid_text)]
PastTime = Annotated[IsoTime, AfterValidator(check_past_time)]
# a field that must be true (a consent): strict mode does not reach a Literal, which takes 1 for true
MustBeTrue = Annotated[Literal[True], BeforeValidator(_json_boolean)]

# what a refused value must be, in the words of JSON, by pydantic's error type
MUST_BE = {
    "int_type": "must be a whole number (a JSON number such as 5, not text or 5.0)",
    "float_type": "must be a number (a JSON number such as 110 or 72.5, not text)",
    "bool_type": "must be true or false (a JSON boolean, not text or a number)",
    "string_type": "must be text (a JSON string)",
}


def error_message(error: Any) -> str:
    """One pydantic error's message for a person: a wrong type says what the field must be in JSON's
    words; the rest as pydantic has it, without its "Value error, " prefix."""
    must = MUST_BE.get(str(error.get("type", "")))
    if must is not None:
        return must
    return str(error.get("msg", "")).removeprefix("Value error, ")


Place = str | tuple[str | int, ...]  # a field's name, or a path in the model like ("reps", 0, "max_angle")


def field_errors(problems: Sequence[tuple[Place, str, Any]]) -> ValidationError:
    """Problems between fields, each ``(field, message, value)`` put on the field the user should
    change: raised from a model validator, pydantic places them under the model's own location
    (pydantic-core takes a ValidationError raised in a validator as its errors), so a client reads
    ``["body", "safe_max"]``, not ``["body"]``."""
    return ValidationError.from_exception_data("input", [
        InitErrorDetails(type=PydanticCustomError("value_error", message),
                         loc=(field,) if isinstance(field, str) else field, input=value)
        for field, message, value in problems])


def first_problem(exc: ValidationError) -> str:
    """A refused model's first problem in one line a person can read ("sets.0.max_angle: max_angle 500.0°
    is beyond …"), not pydantic's multi-line dump."""
    errors = exc.errors()
    if not errors:
        return str(exc)
    where = ".".join(str(p) for p in errors[0].get("loc", ()))
    msg = error_message(errors[0])
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
    not derive from this); every field of its own JSON type (nested models: give them :data:`STRICT`)."""

    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        found = unstorable(data)
        if found is not None:
            where, what = found
            place = ".".join(str(p) for p in where) or "the value"
            raise ValueError(f"{place} {what}, which cannot be stored: remove it")
        return data
