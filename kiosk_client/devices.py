"""``yijian kiosk --list-devices``: what this device has for a kiosk to use.

Cameras (``/dev/video*``, named by the kernel), ALSA capture and playback devices
(``/proc/asound/pcm``, as ``arecord -l`` and ``aplay -l`` list them) and GPIO chips
(``/dev/gpiochip*``, with their labels and line counts). Each line gives the value
to put in the kiosk's config: ``video_device``, ``audio_device``,
``speaker_device``, ``button``. Reads only files, so it works without alsa-utils
and without a hub. The roots are parameters for the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PCM = re.compile(r"^(\d+)-(\d+): (.*)$")


@dataclass(frozen=True)
class Device:
    kind: str  # camera, microphone, speaker, gpio
    value: str  # what the config wants, e.g. /dev/video0, plughw:1,0
    name: str


def cameras(dev: Path = Path("/dev"), sys: Path = Path("/sys")) -> list[Device]:
    found = []
    for node in sorted(dev.glob("video*"), key=lambda p: _number(p.name)):
        name_file = sys / "class" / "video4linux" / node.name / "name"
        name = name_file.read_text().strip() if name_file.is_file() else "?"
        found.append(Device("camera", str(node), name))
    return found


def sound(proc: Path = Path("/proc")) -> list[Device]:
    """ALSA PCM devices: ``CC-DD: id : name : playback 1 : capture 1`` per line."""
    pcm = proc / "asound" / "pcm"
    if not pcm.is_file():
        return []
    cards = _card_ids(proc / "asound" / "cards")
    found = []
    for line in pcm.read_text().splitlines():
        if not (match := _PCM.match(line)):
            continue
        card, device, rest = match.groups()
        fields = rest.split(" : ")
        name, streams = (fields[1] if len(fields) > 1 else fields[0]), fields[2:]
        card_n, device_n = int(card), int(device)
        label = f"{cards.get(card_n, f'card {card_n}')}: {name.strip()}"
        value = f"plughw:{card_n},{device_n}"
        if any(s.startswith("capture") for s in streams):
            found.append(Device("microphone", value, label))
        if any(s.startswith("playback") for s in streams):
            found.append(Device("speaker", value, label))
    return found


def gpio_chips(dev: Path = Path("/dev"), sys: Path = Path("/sys")) -> list[Device]:
    found = []
    for node in sorted(dev.glob("gpiochip*"), key=lambda p: _number(p.name)):
        info = sys / "bus" / "gpio" / "devices" / node.name
        label = _read(info / "label") or _read(sys / "class" / "gpio" / node.name / "label")
        lines = _read(info / "ngpio") or _read(sys / "class" / "gpio" / node.name / "ngpio")
        name = ", ".join(p for p in (label, f"{lines} lines" if lines else "") if p) or "?"
        found.append(Device("gpio", f"gpio:{node.name}:OFFSET", name))
    return found


def report(dev: Path = Path("/dev"), sys: Path = Path("/sys"), proc: Path = Path("/proc")) -> str:
    """The listing, a heading per kind, "none found" where there is nothing."""
    devices = cameras(dev, sys) + sound(proc) + gpio_chips(dev, sys)
    out = []
    for kind, heading in (("camera", "cameras (video_device)"),
                          ("microphone", "ALSA capture (audio_device)"),
                          ("speaker", "ALSA playback (speaker_device)"),
                          ("gpio", "GPIO chips (button)")):  # fmt: skip
        out.append(f"{heading}:")
        of_kind = [d for d in devices if d.kind == kind]
        out += [f"  {d.value:<28} {d.name}" for d in of_kind] or ["  none found"]
    return "\n".join(out) + "\n"


def _card_ids(cards: Path) -> dict[int, str]:
    """``/proc/asound/cards``: `` 0 [PCH            ]: HDA-Intel - HDA Intel PCH``."""
    ids = {}
    if cards.is_file():
        for line in cards.read_text().splitlines():
            if match := re.match(r"^\s*(\d+) \[(\S+)\s*\]", line):
                ids[int(match.group(1))] = match.group(2)
    return ids


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _number(name: str) -> int:
    digits = re.sub(r"\D", "", name)
    return int(digits) if digits else -1
