"""Resolving a model's reference to a pillar to the pillar it means.

Models quote names loosely: another case, quotes, a trailing period, a "Pillar 4:" prefix,
an index, "Perma-death" for "Permadeath", a typo. Scoring must not turn such an answer
into a false positive and a miss, so a reference resolves when, after folding, it equals
a name; or it is an index ("3", "#3", "Pillar 3"); or it is within ``MAX_EDITS`` edits of
exactly one name (names of at least ``MIN_FUZZY_LENGTH`` letters and digits). What does
not resolve is counted, per run, as the unresolved-name rate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["MAX_EDITS", "MIN_FUZZY_LENGTH", "compact", "resolve"]

MAX_EDITS = 2
MIN_FUZZY_LENGTH = 6
_INDEX = re.compile(r"(?:pillar\s*)?(?:no\.?\s*|#\s*)?(\d{1,2})", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:pillar\s*)?(?:#\s*)?\d{1,2}\s*[:.)\-\u2013\u2014]\s*", re.IGNORECASE)
_QUOTES = "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb"


def compact(text: str) -> str:
    """Letters and digits only, case-folded: "Perma-death." and "permadeath" agree."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def resolve(reference: str, names: Sequence[str]) -> str | None:
    """The pillar name ``reference`` means, or None."""
    text = reference.strip().strip(_QUOTES).strip()
    index = _INDEX.fullmatch(text)
    if index is not None:
        number = int(index.group(1))
        return names[number - 1] if 1 <= number <= len(names) else None
    text = _PREFIX.sub("", text).strip().strip(_QUOTES).strip()
    key = compact(text)
    keys = {compact(name): name for name in names}
    if key in keys:
        return keys[key]
    if len(key) < MIN_FUZZY_LENGTH:
        return None
    distances = sorted((_edits(key, k, MAX_EDITS), name) for k, name in keys.items())
    best = [name for distance, name in distances if distance == distances[0][0]]
    if distances and distances[0][0] <= MAX_EDITS and len(best) == 1:
        return best[0]
    return None
