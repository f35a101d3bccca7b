"""'Did you mean' suggestions: a known name one edit away from what was written."""

from __future__ import annotations

from collections.abc import Iterable


def edit_distance_at_most_one(left: str, right: str) -> bool:
    """True when one insertion, deletion, substitution or adjacent transposition turns left into right."""
    if left == right:
        return True
    if abs(len(left) - len(right)) > 1:
        return False
    if len(left) == len(right):
        differences = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b]
        if len(differences) == 1:
            return True
        first, *rest = differences
        return rest == [first + 1] and left[first] == right[first + 1] and left[first + 1] == right[first]
    shorter, longer = sorted((left, right), key=len)
    return any(longer[:index] + longer[index + 1 :] == shorter for index in range(len(longer)))


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate one edit away from `word` (ignoring case), or None."""
    lowered = word.lower()
    matches = sorted(c for c in candidates if c != word and edit_distance_at_most_one(lowered, c.lower()))
    return matches[0] if matches else None
