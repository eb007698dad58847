"""Token-aware chunking with overlap that never crosses a page or section boundary.

A document's blocks are grouped into units of the same (page, section); a chunk holds whole sentences
of one unit up to `max_tokens` model tokens, and the next chunk of the same unit starts with the last
sentences of the previous one (up to `overlap_tokens`). A sentence longer than a chunk is cut at
token boundaries. Tokens are counted with the embedding model's own tokenizer, so a chunk is never
truncated by the model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from echo_documents.parsed import ParsedDocument, TextBlock

CHUNKER_VERSION = "1"
MAX_TOKENS = 200  # of the model's 256: room for the section header prepended by search_text
OVERLAP_TOKENS = 40
_SENTENCE_END = re.compile(
    "(?<=[.!?;:])\\s+(?=\\S)|(?<=[\u3002\uff01\uff1f\uff1b])|\n+"
)  # CJK full stop, !, ?, ;

TokenCounter = Callable[[str], int]
TokenSplitter = Callable[[str, int], list[str]]


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk_id: str  # f"{document_id}:{ordinal}"
    document_id: str
    ordinal: int
    text: str
    page: int | None
    section: tuple[str, ...]
    chunk_hash: str  # sha256 hex of text


class ChunkingError(ValueError):
    """The document id or chunking settings are unusable."""


def search_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed: the section path as a header, then the chunk's text."""
    header = " / ".join(title for title in chunk.section if title and title not in chunk.text[:200])
    return f"{header}\n{chunk.text}" if header else chunk.text


def chunk_document(
    document_id: str,
    parsed: ParsedDocument,
    *,
    max_tokens: int = MAX_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
    tokenizer: TokenizerLike | None = None,
) -> list[Chunk]:
    if not document_id or ":" in document_id:
        raise ChunkingError("document_id must be non-empty and contain no ':'")
    if max_tokens < 8 or not 0 <= overlap_tokens < max_tokens // 2:
        raise ChunkingError("need max_tokens >= 8 and 0 <= overlap_tokens < max_tokens / 2")
    counter = tokenizer or default_tokenizer()
    chunks: list[Chunk] = []
    for (page, section), blocks in _units(parsed.blocks):
        sentences = [s for block in blocks for s in split_sentences(block.text)]
        for text in _pack(sentences, counter, max_tokens, overlap_tokens):
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=f"{document_id}:{ordinal}",
                    document_id=document_id,
                    ordinal=ordinal,
                    text=text,
                    page=page,
                    section=section,
                    chunk_hash=hashlib.sha256(text.encode()).hexdigest(),
                )
            )
    return chunks


class TokenizerLike:
    """Counts and cuts text in model tokens (the embedding model's tokenizer)."""

    def __init__(self, count: TokenCounter, split: TokenSplitter) -> None:
        self.count = count
        self.split = split


def default_tokenizer() -> TokenizerLike:
    from echo_retrieval.embedding import model_tokenizer

    return model_tokenizer()


def _units(
    blocks: Sequence[TextBlock],
) -> Iterator[tuple[tuple[int | None, tuple[str, ...]], list[TextBlock]]]:
    current: list[TextBlock] = []
    key: tuple[int | None, tuple[str, ...]] | None = None
    for block in blocks:
        if not block.text.strip():
            continue
        block_key = (block.page, block.section)
        if current and block_key != key and not _is_lone_heading(current, block):
            yield key, current  # type: ignore[misc]
            current = []
        current.append(block)
        key = block_key  # a lone heading takes the key of the text it introduces
    if current and key is not None:
        yield key, current


def _is_lone_heading(current: list[TextBlock], block: TextBlock) -> bool:
    return len(current) == 1 and current[0].kind == "heading" and current[0].page == block.page


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _pack(sentences: list[str], tokenizer: TokenizerLike, max_tokens: int, overlap: int) -> Iterator[str]:
    pieces: list[tuple[str, int]] = []
    for sentence in sentences:
        size = tokenizer.count(sentence)
        if size <= max_tokens:
            pieces.append((sentence, size))
        else:
            pieces.extend((part, tokenizer.count(part)) for part in tokenizer.split(sentence, max_tokens))
    window: list[tuple[str, int]] = []
    used = 0
    fresh = False  # the window holds something not yet emitted
    for piece in pieces:
        if window and used + piece[1] > max_tokens:
            yield _join(window)
            window, used = _tail(window, overlap)
            fresh = False
            while window and used + piece[1] > max_tokens:
                used -= window.pop(0)[1]
        window.append(piece)
        used += piece[1]
        fresh = True
    if window and fresh:
        yield _join(window)


def _tail(window: list[tuple[str, int]], overlap: int) -> tuple[list[tuple[str, int]], int]:
    tail: list[tuple[str, int]] = []
    used = 0
    for piece in reversed(window):
        if used + piece[1] > overlap:
            break
        tail.insert(0, piece)
        used += piece[1]
    return tail, used


def _join(window: list[tuple[str, int]]) -> str:
    return " ".join(text for text, _ in window)
