"""Text analysis for BM25: words for spaced scripts, character bigrams for scripts without spaces.

Latin, Greek, Cyrillic and other spaced scripts are split into words, lowercased (NFKC, casefold),
English stopwords removed and Snowball-stemmed (deterministic, so a query and a document in the same
language always meet). Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer and Myanmar runs become
overlapping character bigrams (a run of one character stays a unigram), the usual way to index text
written without spaces when no dictionary segmenter ships offline.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\u31f0-\u31ff\uff66-\uff9f"  # Katakana extensions, half-width
)
_TOKEN = re.compile(rf"([{_UNSPACED}]+)|((?:(?![{_UNSPACED}])\w)+)")
ANALYZER_VERSION = "1"


# Lucene's English stop set (the 33 words of its EnglishAnalyzer), the list bm25s ships as
# STOPWORDS_EN; kept here so the layer does not carry bm25s for one tuple (tests compare the two).
STOPWORDS_EN = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """The BM25 terms of a text, in order (repeats kept: they are term frequencies)."""
    normalized = unicodedata.normalize("NFKC", text).casefold()
    words: list[str] = []
    terms: list[str] = []
    stopwords = STOPWORDS_EN
    for match in _TOKEN.finditer(normalized):
        unspaced, word = match.group(1), match.group(2)
        if unspaced:
            if len(unspaced) == 1:
                terms.append(unspaced)
            else:
                terms.extend(unspaced[i : i + 2] for i in range(len(unspaced) - 1))
        elif word.strip("_") and word not in stopwords:
            words.append(word)
            terms.append("\0")  # placeholder, filled by the batched stemmer below
    if words:
        stems = iter(_stemmer().stemWords(words))
        terms = [next(stems) if term == "\0" else term for term in terms]
    return terms
