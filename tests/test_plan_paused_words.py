"""The date in the coaching page's "your plan is paused" words: fixed English month names whatever the process
locale, and the year when the pause began in another year than today (a hospital stay over new year)."""

from __future__ import annotations

import locale
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from romcam.live.plan import MONTHS, day_words, paused_words


@pytest.mark.parametrize(("day", "today", "said"), [
    (date(2026, 3, 3), date(2026, 3, 5), "3 March"),
    (date(2026, 1, 1), date(2026, 12, 31), "1 January"),
    (date(2026, 12, 31), date(2026, 12, 31), "31 December"),
    (date(2025, 12, 28), date(2026, 1, 4), "28 December 2025"),  # over new year: the year said
    (date(2024, 2, 29), date(2026, 3, 1), "29 February 2024"),
    (date(2026, 9, 9), date(2026, 9, 10), "9 September"),
])
def test_day_words(day: date, today: date, said: str) -> None:
    assert day_words(day, today) == said


def test_every_month_is_named_in_english() -> None:
    assert [day_words(date(2026, m, 1), date(2026, 6, 1)) for m in range(1, 13)] == [
        "1 January", "1 February", "1 March", "1 April", "1 May", "1 June", "1 July", "1 August", "1 September",
        "1 October", "1 November", "1 December"]
    assert len(MONTHS) == 12


@pytest.fixture
def utc_zone() -> Iterator[None]:
    """This process's local zone set to UTC (the words give the computer's local date), put back afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_paused_words_add_the_year_only_across_a_year(utc_zone: None) -> None:
    since = datetime(2025, 12, 28, 9, 30, tzinfo=UTC)
    assert paused_words(since, now=datetime(2026, 1, 4, 8, tzinfo=UTC)) == (
        "Your therapist paused your exercise plan on 28 December 2025 (for example for a hospital stay): nothing is "
        "asked of you until they resume it. You can still do a session if you want; it is saved as usual.")
    assert paused_words(since, now=datetime(2025, 12, 31, 23, tzinfo=UTC)).startswith(
        "Your therapist paused your exercise plan on 28 December (for example")


def test_the_month_does_not_follow_the_process_locale(utc_zone: None) -> None:
    """With LC_TIME German, strftime's %B says "März": the words still say "March"."""
    for name in ("de_DE.UTF-8", "de_DE.utf8", "de_DE"):
        try:
            before = locale.setlocale(locale.LC_TIME)
            locale.setlocale(locale.LC_TIME, name)
            break
        except locale.Error:
            continue
    else:
        pytest.skip("no German locale is installed on this computer (locale -a), so the locale cannot be switched; "
                    "test_every_month_is_named_in_english still holds the fixed names")
    try:
        since = datetime(2026, 3, 3, 10, tzinfo=UTC)
        assert f"{since:%B}" == "März"  # the locale is in effect
        assert "on 3 March (for example" in paused_words(since, now=datetime(2026, 3, 5, tzinfo=UTC))
    finally:
        locale.setlocale(locale.LC_TIME, before)
