"""Extraction limits: defaults, PARSE_* overrides, and the form the worker receives them in."""

from __future__ import annotations

import pytest
from parse.extraction.limits import ExtractionLimits


def test_defaults_match_the_documented_limits() -> None:
    limits = ExtractionLimits()
    assert (limits.max_bytes, limits.max_pages, limits.cpu_seconds, limits.wall_seconds) == (
        25 * 1024 * 1024,
        500,
        30,
        40.0,
    )
    assert (limits.address_space_bytes, limits.max_output_chars) == (1536 * 1024 * 1024, 5_000_000)


def test_every_limit_can_be_set_from_the_environment() -> None:
    limits = ExtractionLimits.from_env({"PARSE_MAX_PAGES": "200", "PARSE_WALL_SECONDS": "12.5", "OTHER": "x"})
    assert (limits.max_pages, limits.wall_seconds, limits.cpu_seconds) == (200, 12.5, 30)


@pytest.mark.parametrize(
    "environ", [{"PARSE_MAX_PAGES": "many"}, {"PARSE_CPU_SECONDS": "0"}, {"PARSE_MAX_BYTES": "-1"}]
)
def test_nonsense_limits_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"PARSE_|must be positive"):
        ExtractionLimits.from_env(environ)


def test_limits_travel_to_the_worker_and_back_unchanged() -> None:
    limits = ExtractionLimits(max_pages=3, wall_seconds=1.5)
    assert ExtractionLimits.from_dict(limits.to_dict()) == limits
    with pytest.raises(ValueError, match="schema"):
        ExtractionLimits.from_dict({"max_pages": 3})
