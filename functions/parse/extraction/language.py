"""A best-effort guess of a document's language (BCP-47), from its script and common function words.

The script most letters are written in decides where one language owns it (kana: Japanese,
Hangul: Korean, Greek); Latin text is told apart by its most frequent short words. Anything unclear is None rather than a wrong tag.
"""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARS = 20_000
_SCRIPTS = {
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
    "greek": re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"),
    "cjk": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "hangul": re.compile(r"[\uac00-\ud7af]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "other": re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0900-\u097f]"),  # shared by many languages
}
_SINGLE_LANGUAGE_SCRIPTS = {"greek": "el", "hangul": "ko", "hebrew": "he", "thai": "th"}
# A CJK or Hangul character carries about as much as a short Latin word, not one letter
_LETTER_WEIGHT = {"cjk": 3, "hangul": 3}
_KANA = re.compile(r"[\u3040-\u30ff]")
_WORD = re.compile(r"[^\W\d_]+")
_FUNCTION_WORDS = {
    "en": "the and of to in is that for it with as was on are be this by not or",
    "de": "der die und das ist nicht ein eine zu den mit von sich des auf für im dem auch",
    "fr": "le la les et des est une du que dans pour pas qui sur au avec sont ce",
    "es": "el la los las y del que en un una es por con para no se al lo",
    "it": "il di che la è e per un una non sono del della gli le nel con",
    "nl": "de het een en van is dat niet op te zijn voor met die ook aan",
    "pt": "o a os as e do da que em um uma é para não com dos das se",
}
_WORD_SETS = {language: frozenset(words.split()) for language, words in _FUNCTION_WORDS.items()}


def guess_language(texts: list[str]) -> str | None:
    """The language of the script most letters are written in; for Latin, of its commonest words."""
    sample = " ".join(texts)[:SAMPLE_CHARS]
    counts = {
        script: len(pattern.findall(sample)) * _LETTER_WEIGHT.get(script, 1)
        for script, pattern in _SCRIPTS.items()
    }
    script, letters = max(counts.items(), key=lambda item: item[1])
    if letters < 20:
        return None
    if script == "cjk":
        return "ja" if len(_KANA.findall(sample)) >= 0.1 * letters / _LETTER_WEIGHT["cjk"] else "zh"
    if script != "latin":
        return _SINGLE_LANGUAGE_SCRIPTS.get(script)
    return _latin_language(sample)


def _latin_language(sample: str) -> str | None:
    words = [word.lower() for word in _WORD.findall(sample)]
    hits = Counter(language for word in words for language, known in _WORD_SETS.items() if word in known)
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] < 0.08 * len(words):
        return None
    if len(ranked) > 1 and ranked[0][1] < 1.5 * ranked[1][1]:
        return None
    return ranked[0][0]
