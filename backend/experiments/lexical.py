"""The lexical finder: the floor a plant must beat to be called subtle.

A reader who has not understood a pillar set can still flag two pillars that share a
word when one of them is negated ("No timers" / "a timer on every level"). That shallow
strategy is the baseline: an explicit plant is one it catches, a subtle plant one it
cannot (no shared content-word stem, no negation word). ``manage.py llm dataset check``
reports its catch rate per difficulty tier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "NEGATIONS",
    "announces_problem",
    "catches",
    "context_text",
    "has_negation",
    "lexical_cues",
    "pillar_text",
    "shared_stems",
    "stems",
]


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _wordset(
    "no not never none nothing without nor cannot zero neither nobody nowhere lack"
)
_STOPWORDS = _wordset(
    """a an and are as at be been but by can could do does each every for from game games
    get gets has have her his how if in into is it its just more most much of on one or our
    out over own per play played player players playing plays so some such than that the
    their them then there these they this those through to up us very was we were what when
    where which while who will with would you your"""
)
# Words that name a problem outright: a subtle plant's name may not use them.
_ANNOUNCING = _wordset(
    """hardcore permadeath pay paid gacha loot gore gory grind grindy forced ads adverts
    microtransaction microtransactions p2w brutal punishing predatory toxic"""
)
_SUFFIXES = (
    "ations",
    "ation",
    "ings",
    "ing",
    "ness",
    "ments",
    "ment",
    "ers",
    "er",
    "edly",
    "ed",
    "ies",
    "es",
    "ly",
    "s",
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("\u2019", "'"))


def has_negation(text: str) -> bool:
    return any(word in NEGATIONS or word.endswith("n't") for word in _words(text))


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    # Truncation catches the variants suffix-stripping misses (perma-death / permadeath
    # aside): "timer"/"timed"/"time" all become "tim".
    return word[:5]


def stems(text: str) -> set[str]:
    """Content-word stems: stop words, negations and words under three letters dropped."""
    return {
        _stem(word)
        for word in _words(text.replace("-", " "))
        if len(word) >= 3
        and word not in _STOPWORDS
        and word not in NEGATIONS
        and not word.endswith("n't")
    }


def shared_stems(a: str, b: str) -> set[str]:
    return stems(a) & stems(b)


def pillar_text(name: str, description: str) -> str:
    """What the finder reads of a pillar (the library and the dataset alike)."""
    return f"{name}. {description}"


def context_text(fields: Iterable[str | None]) -> str:
    """What the finder reads of a game's context: its fields, in order."""
    return " ".join(field for field in fields if field)


def catches(a: str, b: str) -> bool:
    """The finder's verdict on two texts: they share a stem and one of them is negated."""
    return (has_negation(a) or has_negation(b)) and bool(shared_stems(a, b))


def announces_problem(name: str) -> bool:
    """Whether a pillar's name states what is wrong with it."""
    return has_negation(name) or any(word in _ANNOUNCING for word in _words(name))


def lexical_cues(name: str, text: str, other: str, *, other_negation: bool) -> list[str]:
    """Why a plant is not subtle: the cues a shallow reader could follow. Empty: subtle.

    ``other`` is the conflicting pillar (its negations count too) or the context of a
    misfit (a context may say "no"; only the pillar's negations count).
    """
    cues = []
    if has_negation(text) or (other_negation and has_negation(other)):
        cues.append("a negation word in one of the pillars")
    if shared := shared_stems(text, other):
        cues.append(f"shares the stems {sorted(shared)}")
    if announces_problem(name):
        cues.append("its name announces the problem")
    return cues
