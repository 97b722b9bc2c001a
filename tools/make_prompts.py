"""The kiosk's spoken prompts, generated from the words on its screen.

    .venv/bin/python -m tools.make_prompts [--language cmn|yue ...] [--out DIR]

For every screen state in ``kiosk_client.prompts.WORDS`` and every language, speaks
its ``spoken`` words with espeak-ng (``cmn`` Mandarin, ``yue`` Cantonese) and
shapes them with sox: 16 kHz mono 16-bit, silence trimmed, loudness normalised,
a breath of silence around. The files land in ``kiosk_client/voice/<language>/``,
which the project ships. They are a fallback: a town replaces any of them with a
recording (docs/kiosk.md). Needs Debian's ``espeak-ng`` and ``sox``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kiosk_client.prompts import WORDS
from kiosk_client.screen.voice import LANGUAGES, SHIPPED

WORDS_PER_MINUTE = 150  # espeak-ng's 175 is brisk for elderly ears


def make(language: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as scratch:
        for state, words in WORDS.items():
            raw = Path(scratch) / f"{state}.wav"
            subprocess.run(
                ["espeak-ng", "-v", language, "-s", str(WORDS_PER_MINUTE), "-w", str(raw),
                 words.spoken],
                check=True,
            )  # fmt: skip
            out = out_dir / f"{state}.wav"
            subprocess.run(
                ["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out),
                 # trim the silence at both ends, then leave a short, even margin
                 "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%",
                 "reverse", "norm", "-3", "pad", "0.15", "0.3"],
                check=True,
            )  # fmt: skip
            made.append(out)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.make_prompts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--language", action="append", choices=LANGUAGES,
                        help="a language to make (default: all)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=SHIPPED,
                        help="folder of language folders (default: the shipped one)")  # fmt: skip
    args = parser.parse_args(argv)
    for tool, package in (("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            print(f"make_prompts: {tool} is missing: apt-get install {package}", file=sys.stderr)
            return 2
    for language in args.language or LANGUAGES:
        for path in make(language, args.out / language):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
