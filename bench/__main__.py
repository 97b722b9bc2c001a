"""``python -m bench [--requests-million] [NAME [ARGS...]]``: run one benchmark, or
all of them, and write their figures to bench/results.json.

Each benchmark is a module of this package with ``main(argv) -> dict``. All of them
(``make bench``) replace the file; one of them merges its keys into it. The request
tracking bench seeds ``REQUESTS_CALLS`` calls unless ``--requests-million`` (or
``YIJIAN_BENCH_REQUESTS_MILLION=1``) asks for the full million, which alone takes
longer than the rest together.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

BENCHES = {
    "queue": "bench.queue_bench",
    "requests": "bench.requests_bench",
    "first_frame": "bench.first_frame",
}
RESULTS = Path(__file__).resolve().parent / "results.json"
REQUESTS_CALLS = 100_000
MILLION_FLAG = "--requests-million"


def write(results: dict[str, Any], merge: bool) -> None:
    current = json.loads(RESULTS.read_text()) if merge and RESULTS.exists() else {}
    current.update(results)
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, live
    million = MILLION_FLAG in argv or os.environ.get("YIJIAN_BENCH_REQUESTS_MILLION") == "1"
    argv = [a for a in argv if a != MILLION_FLAG]
    one = bool(argv) and argv[0] in BENCHES
    names = [argv[0]] if one else list(BENCHES)
    args = argv[1:] if one else argv
    results: dict[str, Any] = {}
    for name in names:
        print(f"== bench {name}")
        extra = args
        if name == "requests" and "--calls" not in args:
            extra = [*args, "--calls", str(1_000_000 if million else REQUESTS_CALLS)]
        results.update(importlib.import_module(BENCHES[name]).main(extra))
    write(results, merge=one)
    print(f"results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
