"""The time window a command reads metrics over: `--window 2h` (ending now) or `--start T --end T`.

Shared by the commands that look back at live metrics, so they read the same arguments the same way.
Times are ISO 8601; one without a zone is UTC, as in CloudWatch and Prometheus.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from modelplane.errors import BadInput

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
# Longer than any source keeps data (CloudWatch: 15 months); past it, a window is a typo, not a question.
MAX_WINDOW = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `7d` or a combination such as `1h30m`; argparse type of `--window`."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (examples: 30m, 2h, 1h30m, 7d)")
    try:
        duration = timedelta(**{_UNITS[unit]: int(value) for unit, value in match.groupdict().items() if value})
    except OverflowError:
        duration = MAX_WINDOW * 2
    if duration <= timedelta(0):
        raise argparse.ArgumentTypeError(f"a window must be longer than zero, not {text!r}")
    if duration > MAX_WINDOW:
        raise argparse.ArgumentTypeError(f"a window of at most {MAX_WINDOW.days}d, not {text!r}")
    return duration


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (`2025-05-01T10:00:00Z`); argparse type of `--start` and `--end`."""
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (example: 2025-05-01T10:00:00Z)") from None


def iso(moment: datetime) -> str:
    """UTC, to the second, with a `Z`: how reports write times."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def aligned(self, period_seconds: int) -> Window:
        """The start moved back to a period boundary, so that periods line up with the source's; the end
        stays, and the last period may still be filling."""
        return Window(_floor(self.start, timedelta(seconds=period_seconds)), self.end)

    def describe(self) -> str:
        return f"{iso(self.start)} to {iso(self.end)} ({_human(self.duration)})"

    def hours(self) -> list[datetime]:
        """The UTC hours (truncated) that overlap the window: how S3 capture keys are laid out."""
        hour = _floor(self.start, timedelta(hours=1))
        hours = []
        while hour < self.end:
            hours.append(hour)
            hour += timedelta(hours=1)
        return hours

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _floor(moment: datetime, period: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // period) * period


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def add_window_options(parser: argparse.ArgumentParser, *, default: str) -> None:
    """`--window DURATION` ending now (default `default`), or `--start T --end T`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--window",
        type=parse_duration,
        metavar="DURATION",
        help=f"look back this long from now: 30m, 2h, 1h30m, 7d (default: {default})",
    )
    group.add_argument("--start", type=parse_time, metavar="TIME", help="window start, ISO 8601 (with --end)")
    parser.add_argument("--end", type=parse_time, metavar="TIME", help="window end, ISO 8601 (with --start)")
    parser.set_defaults(default_window=parse_duration(default))


def window_from(args: argparse.Namespace, now: datetime) -> Window:
    """The window the arguments ask for; refused when incomplete, reversed or too long."""
    if (args.start is None) != (args.end is None):
        raise BadInput("--start and --end go together")
    if args.start is not None:
        if args.end <= args.start:
            raise BadInput(f"--end {iso(args.end)} is not after --start {iso(args.start)}")
        if args.end - args.start > MAX_WINDOW:
            raise BadInput(f"--start {iso(args.start)} to --end {iso(args.end)}: longer than {MAX_WINDOW.days} days")
        return Window(args.start, args.end)
    return Window(now - (args.window or args.default_window), now)
