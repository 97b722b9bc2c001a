"""Exponential delays with "equal jitter", so the kiosks of a town don't retry in step."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self._attempt = 0

    def next(self) -> float:
        ceiling = min(self.max_s, self.min_s * 2**self._attempt)
        self._attempt += 1
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self._attempt = 0
