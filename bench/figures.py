"""The figures of a bench run: each printed as it is measured, beside its floor and
the ratio of the two, and kept for bench/results.json."""

from __future__ import annotations

from typing import Any

from bench.queue_floor import percentile


class Figures:
    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def fact(self, key: str, value: Any, what: str) -> None:
        """A count or a yes/no, with no floor."""
        self.results[key] = value
        print(f"  {what}: {value}")

    def figure(
        self, key: str, value: float | None, what: str,
        floor: float | None = None, floor_key: str | None = None, ratio_key: str | None = None,
    ) -> None:  # fmt: skip
        """A measurement; with a floor, also the floor and hub/floor under their keys."""
        self.results[key] = None if value is None else round(value, 2)
        line = f"  {what}: {'n/a' if value is None else f'{value:.2f}'}"
        if floor is not None and floor_key is not None:
            self.results[floor_key] = round(floor, 3)
            ratio = None if value is None or floor <= 0 else value / floor
            self.results[ratio_key or f"{key}_ratio"] = None if ratio is None else round(ratio, 1)
            line += f"   floor {floor:.3f}" + ("" if ratio is None else f"   ratio {ratio:.1f}x")
        print(line)

    def latencies(
        self, stem: str, values: list[float], floor: list[float] | None, what: str,
        quantiles: tuple[tuple[float, str], ...] = ((0.5, "p50"), (0.99, "p99")),
        floor_stem: str | None = None,
    ) -> None:  # fmt: skip
        """p50 and p99 (or ``quantiles``) of ``values`` (ms) as ``{stem}_p50_ms``/``_p99_ms``,
        each beside the same percentile of ``floor`` as ``{floor_stem}_floor_p50_ms``
        (``floor_stem`` is ``stem`` unless two figures share one floor), with ratios
        ``{stem}_p50_ratio``."""
        for q, name in quantiles:
            mine = percentile(values, q)
            theirs = percentile(floor, q) if floor else None
            self.figure(
                f"{stem}_{name}_ms", mine, f"{what} {name} (ms, n={len(values)})", theirs,
                f"{floor_stem or stem}_floor_{name}_ms", f"{stem}_{name}_ratio",
            )  # fmt: skip
