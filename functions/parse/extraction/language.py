"""A best-effort guess of a document's language (BCP-47), from its script and common function words.

Scripts used by one language decide at once (kana: Japanese, Hangul: Korean, Greek); Latin text is
told apart by its most frequent short words. Anything unclear is None rather than a wrong tag.
"""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARS = 20_000
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("el", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")
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
    sample = " ".join(texts)[:SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters < 20:
        return None
    for language, script in _SCRIPTS:
        if len(script.findall(sample)) >= 0.05 * letters:
            return language
    if len(_HAN.findall(sample)) >= 0.3 * letters:
        return "zh"
    words = [word.lower() for word in _WORD.findall(sample)]
    hits = Counter(language for word in words for language, known in _WORD_SETS.items() if word in known)
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] < 0.08 * len(words):
        return None
    if len(ranked) > 1 and ranked[0][1] < 1.5 * ranked[1][1]:
        return None
    return ranked[0][0]
