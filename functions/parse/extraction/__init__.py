"""Text extraction for the parse function: type sniffing, per-format extractors, and the sandbox.

`extract_in_sandbox` is the entry point for untrusted bytes; the extractors themselves run only
inside its child process.
"""

from parse.extraction.limits import ExtractionLimits
from parse.extraction.sandbox import extract_in_sandbox
from parse.extraction.sniffing import sniff_media_type

__all__ = ["ExtractionLimits", "extract_in_sandbox", "sniff_media_type"]
