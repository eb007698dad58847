"""Zip-bomb checks on an archive's central directory, before a single entry is decompressed.

The declared sizes can be trusted as upper bounds: Python's zipfile stops decompressing an entry at
its declared size. Overlapping entries (a "better zip bomb") declare more compressed bytes than the
archive holds.
"""

from __future__ import annotations

import io
import zipfile

from echo_documents.parsed import ExtractionFailed, FailureCode

from parse.extraction.limits import MIB, ExtractionLimits

RATIO_CHECKED_FROM = 1 * MIB


def check_archive(data: bytes, limits: ExtractionLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise ExtractionFailed(FailureCode.MALFORMED, "the file is a damaged zip archive") from error
    if len(entries) > limits.max_zip_entries:
        raise ExtractionFailed(
            FailureCode.TOO_LARGE,
            f"the archive has {len(entries):,} entries; the limit is {limits.max_zip_entries:,}",
        )
    if sum(entry.compress_size for entry in entries) > len(data):
        raise ExtractionFailed(FailureCode.MALFORMED, "the archive's entries overlap (a zip bomb)")
    unzipped = sum(entry.file_size for entry in entries)
    if unzipped > limits.max_unzipped_bytes:
        raise ExtractionFailed(
            FailureCode.TOO_LARGE,
            f"the archive expands to {unzipped // MIB:,} MiB; the limit is {limits.max_unzipped_bytes // MIB:,} MiB",
        )
    for entry in entries:
        if entry.file_size >= RATIO_CHECKED_FROM and entry.file_size > limits.max_zip_ratio * max(
            entry.compress_size, 1
        ):
            raise ExtractionFailed(
                FailureCode.TOO_LARGE,
                f"an archive entry expands more than {limits.max_zip_ratio}-fold (a zip bomb)",
            )
