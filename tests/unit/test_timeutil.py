from datetime import UTC, datetime

import pytest
from echo_shared.timeutil import format_rfc3339, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05t10:00:00z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05T11:30:00+01:30", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05T10:00:00.123456789Z", datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_accepts_rfc3339_with_offset(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-01-05", "2026-01-05T10:00:00", "2026-01-05 10:00:00Z", "1767607200", "2026-13-01T00:00:00Z", ""],
)
def test_parse_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"RFC 3339|calendar"):
        parse_rfc3339(text)


def test_format_is_fixed_width_so_text_order_is_time_order() -> None:
    # Given instants with and without fractions of a second
    moments = [
        datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC),
    ]

    # When they are formatted
    texts = [format_rfc3339(m) for m in moments]

    # Then sorting the strings sorts the instants
    assert texts[1] == "2026-01-05T10:00:00.000000Z"
    assert sorted(texts) == [format_rfc3339(m) for m in sorted(moments)]


def test_format_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_rfc3339(datetime(2026, 1, 5))
