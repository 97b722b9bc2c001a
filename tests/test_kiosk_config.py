"""The kiosk's devices in a TOML file, overridden by YIJIAN_KIOSK_* variables and by
flags; ``yijian kiosk --list-devices`` on this machine and on a made-up device tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kiosk_client.devices import report
from kiosk_client.settings import ConfigError, KioskSettings, load
from tests.support import ROOT, TIMEOUT, yijian_cmd

CONFIG = """
server = "https://hub.example"
kiosk_id = "st-k1"
token = "from-the-file"
video_device = "/dev/video2"
audio_device = "plughw:1,0"
speaker_device = "plughw:0,0"
video_size = "1280x720"
video_fps = 10
video_max_kbps = 400
language = "yue"
button = "gpio:gpiochip0:17"
long_press_s = 1.5
"""


def test_the_file_sets_the_devices_the_environment_and_flags_override_it(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG)
    environ = {"YIJIAN_KIOSK_CONFIG": str(path)}
    os.environ.update({"YIJIAN_KIOSK_VIDEO_FPS": "12", "YIJIAN_KIOSK_TOKEN": "from-env"})
    try:
        settings = load(KioskSettings, {"language": "cmn"}, environ)
    finally:
        del os.environ["YIJIAN_KIOSK_VIDEO_FPS"], os.environ["YIJIAN_KIOSK_TOKEN"]

    assert (settings.server, settings.video_device, settings.audio_device) == (
        "https://hub.example", "/dev/video2", "plughw:1,0"
    )  # fmt: skip
    assert (settings.video_dimensions, settings.video_max_kbps) == ((1280, 720), 400)
    assert (settings.button, settings.long_press_s) == ("gpio:gpiochip0:17", 1.5)
    assert settings.video_fps == 12 and settings.token.get_secret_value() == "from-env"
    assert settings.language == "cmn"  # the flag


def test_a_misspelt_key_or_a_broken_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text('vidoe_device = "/dev/video1"\n')
    broken = tmp_path / "broken.toml"
    broken.write_text("video_device = \n")

    with pytest.raises(ConfigError, match="unknown setting 'vidoe_device'"):
        load(KioskSettings, {"config": typo}, {})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(KioskSettings, {"config": broken}, {})
    with pytest.raises(ConfigError, match="cannot read"):
        load(KioskSettings, {"config": tmp_path / "missing.toml"}, {})


def test_the_kiosk_refuses_to_start_on_a_bad_config_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('kiosk_id = "k1"\ntoken = "t"\nbutton = "gpio:529"\nheadless = true\n')
    result = subprocess.run(yijian_cmd("kiosk", "--config", str(path), "--media", "test"),
                            capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT,
                            stdin=subprocess.DEVNULL)  # fmt: skip

    assert result.returncode == 2
    assert "gpio:gpiochip0:17" in result.stderr  # the sysfs number, and what to write


def test_list_devices_shows_every_kind_and_exits() -> None:
    result = subprocess.run(yijian_cmd("kiosk", "--list-devices"), capture_output=True,
                            text=True, cwd=ROOT, timeout=TIMEOUT)  # fmt: skip

    assert result.returncode == 0, result.stderr
    for heading in ("cameras (video_device):", "ALSA capture (audio_device):",
                    "ALSA playback (speaker_device):", "GPIO chips (button):"):  # fmt: skip
        assert heading in result.stdout


def test_list_devices_reads_cameras_sound_cards_and_gpio_chips(tmp_path: Path) -> None:
    dev, sys, proc = tmp_path / "dev", tmp_path / "sys", tmp_path / "proc"
    for node in ("video0", "video1", "gpiochip0"):
        (dev / node).parent.mkdir(parents=True, exist_ok=True)
        (dev / node).touch()
    (sys / "class/video4linux/video0").mkdir(parents=True)
    (sys / "class/video4linux/video0/name").write_text("USB Camera\n")
    (sys / "bus/gpio/devices/gpiochip0").mkdir(parents=True)
    (sys / "bus/gpio/devices/gpiochip0/label").write_text("pinctrl-bcm2711\n")
    (sys / "bus/gpio/devices/gpiochip0/ngpio").write_text("58\n")
    (proc / "asound").mkdir(parents=True)
    (proc / "asound/cards").write_text(
        " 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
        " 1 [Device         ]: USB-Audio - USB PnP Sound Device\n"
    )
    (proc / "asound/pcm").write_text(
        "00-00: bcm2835 Headphones : bcm2835 Headphones : playback 8\n"
        "01-00: USB Audio : USB Audio : playback 1 : capture 1\n"
    )

    listing = report(dev, sys, proc)

    assert f"{dev}/video0 USB Camera" in listing and f"{dev}/video1 ?" in listing
    capture, playback = listing.split("ALSA playback")
    assert "plughw:1,0" in capture and "plughw:0,0" not in capture.split("ALSA capture")[1]
    assert "plughw:0,0" in playback and "plughw:1,0" in playback
    assert "gpio:gpiochip0:OFFSET" in listing and "pinctrl-bcm2711, 58 lines" in listing
