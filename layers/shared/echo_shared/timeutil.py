"""RFC 3339 timestamps in one fixed-width UTC form, so that strings sort like instants."""

import re
from collections.abc import Callable
from datetime import UTC, datetime

type Clock = Callable[[], datetime]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_MAX_FRACTION_DIGITS = 6


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_rfc3339(moment: datetime) -> str:
    """`2026-01-05T10:00:00.000000Z`: always microseconds, always `Z`, so lexical order = time order."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(value: str) -> datetime:
    """Parse a strict RFC 3339 date-time with an explicit offset; returns it in UTC."""
    text = value.strip().upper()
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with offset")
    fraction = match.group(1)
    if fraction is not None and len(fraction) - 1 > _MAX_FRACTION_DIGITS:
        text = text.replace(fraction, fraction[: _MAX_FRACTION_DIGITS + 1], 1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("not a valid calendar date-time") from exc
    return parsed.astimezone(UTC)


def coerce_utc(value: object) -> datetime:
    """Validator helper: accept an aware datetime or an RFC 3339 string, return UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        return value.astimezone(UTC)
    if isinstance(value, str):
        return parse_rfc3339(value)
    raise ValueError("timestamp must be an RFC 3339 string")
