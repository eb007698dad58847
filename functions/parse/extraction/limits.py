"""The bounds one extraction runs within, read once from the environment (PARSE_* variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int = 25 * MIB
    max_pages: int = 500
    cpu_seconds: int = 30
    wall_seconds: float = 40.0
    address_space_bytes: int = 1536 * MIB
    max_output_chars: int = 5_000_000
    # DOCX (zip) archives, checked from the central directory before anything is decompressed
    max_unzipped_bytes: int = 256 * MIB
    max_zip_entries: int = 5_000
    max_zip_ratio: int = 100  # uncompressed / compressed, for entries of 1 MiB or more

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"extraction limit {field.name} must be positive")

    @property
    def max_output_bytes(self) -> int:
        """The serialized reply's cap: UTF-8 text plus room for the positions repeated on every block."""
        return 8 * self.max_output_chars + MIB

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> ExtractionLimits:
        """Every limit can be set as PARSE_<NAME> (e.g. PARSE_MAX_PAGES=200); unset keeps the default."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = source.get(f"PARSE_{field.name.upper()}")
            if raw is not None:
                kind = float if field.type == "float" else int
                try:
                    values[field.name] = kind(raw)
                except ValueError as error:
                    raise ValueError(f"PARSE_{field.name.upper()} is not a number") from error
        return cls(**values)

    def to_dict(self) -> dict[str, int | float]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExtractionLimits:
        known = {field.name: field.type for field in fields(cls)}
        if set(values) != set(known):
            raise ValueError("extraction limits do not match their schema")
        converted: dict[str, Any] = {
            name: float(value) if known[name] == "float" else int(value) for name, value in values.items()
        }
        return cls(**converted)
