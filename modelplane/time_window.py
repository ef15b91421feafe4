"""Time windows given on the command line: `--window 24h`, `--window 1d12h`, `--until 2026-11-01T12:00Z`."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_PART = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_WINDOW = timedelta(days=31)


def parse_window(text: str) -> timedelta:
    """`30m`, `24h`, `7d` or a sum such as `1d12h`: a positive duration of at most 31 days."""
    if not re.fullmatch(r"(\d+[dhm])+", text):
        raise ValueError(f"not a duration like 30m, 24h or 7d: {text!r}")
    window = sum((int(count) * _UNITS[unit] for count, unit in _PART.findall(text)), timedelta())
    if not timedelta() < window <= MAX_WINDOW:
        raise ValueError(f"must be longer than 0 and at most 31 days: {text!r}")
    return window


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time like 2026-11-01T12:00Z: {text!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def window_argument(text: str) -> timedelta:
    """argparse type of `--window`."""
    try:
        return parse_window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def instant_argument(text: str) -> datetime:
    """argparse type of `--until`."""
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours (truncated) that overlap [start, end]."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours
