"""``python -m bench [NAME [ARGS...]]``: run one benchmark, or all of them, and merge
their figures into bench/results.json (other keys are kept).

Each benchmark is a module of this package with ``main(argv) -> dict``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

BENCHES = {"requests": "bench.requests_bench", "queue": "bench.queue_bench"}
RESULTS = Path(__file__).resolve().parent / "results.json"


def merge(results: dict[str, Any]) -> None:
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current.update(results)
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    names = [argv[0]] if argv and argv[0] in BENCHES else list(BENCHES)
    args = argv[1:] if argv and argv[0] in BENCHES else argv
    for name in names:
        print(f"== bench {name}")
        merge(importlib.import_module(BENCHES[name]).main(args))
    print(f"results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
