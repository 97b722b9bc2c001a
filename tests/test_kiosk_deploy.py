"""The kiosk as a device: its systemd unit and its install script, checked as far
as a machine without the device can: the unit's fields and systemd's own verdict,
the script's syntax and the steps it takes (DRY_RUN), and the config it writes
read back by the kiosk's settings."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk_client.settings import KioskSettings, load
from tests.support import ROOT, TIMEOUT

UNIT = ROOT / "deploy" / "kiosk" / "yijian-kiosk.service"
INSTALL = ROOT / "deploy" / "kiosk" / "install.sh"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_the_unit_runs_the_kiosk_as_its_own_user_restarts_it_and_logs_to_the_journal() -> None:
    service = unit()["Service"]

    assert service["User"] == "yijian-kiosk" and service["Restart"] == "always"
    assert service["ExecStart"].endswith("/bin/yijian kiosk")
    assert service["EnvironmentFile"] == "/etc/yijian/kiosk.env"
    assert (service["StandardOutput"], service["StandardError"]) == ("journal", "journal")
    assert service["StandardInput"] == "null"  # so the button must not be stdin
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    here = tmp_path / UNIT.name  # the venv the tests run in, for the one under /opt
    here.write_text(UNIT.read_text().replace("/opt/yijian/venv/bin/yijian",
                                             f"{sys.executable} -m yijian.cli"))  # fmt: skip
    result = subprocess.run(["systemd-analyze", "verify", str(here)], capture_output=True,
                            text=True, timeout=TIMEOUT)  # fmt: skip

    assert result.returncode == 0, result.stderr


def test_the_install_script_parses() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True, timeout=TIMEOUT)


def test_the_install_script_takes_every_step_of_a_device(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--server", "https://hub.example", "--kiosk-id", "st-k1",
         "--button", "gpio:gpiochip0:17"],
        input="TOKEN-FROM-STDIN\n", capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "DRY_RUN": "1"},
    )  # fmt: skip
    steps = result.stdout

    assert result.returncode == 0, result.stderr
    assert re.search(r"apt-get install .*espeak-ng sox fonts-noto-cjk python3-venv", steps)
    assert "TOKEN-FROM-STDIN" not in steps  # the token is never echoed
    assert "usermod --append --groups video,audio,gpio,input" in steps
    assert "kiosk.env (0600, yijian-kiosk)" in steps
    assert "systemctl enable --now yijian-kiosk.service" in steps


def test_the_install_script_refuses_without_the_kiosk_id() -> None:
    result = subprocess.run(["bash", str(INSTALL), "--server", "https://hub.example"],
                            capture_output=True, text=True, timeout=TIMEOUT,
                            env={**os.environ, "DRY_RUN": "1"})  # fmt: skip
    assert result.returncode == 2 and "--kiosk-id" in result.stderr


def test_the_config_the_script_writes_is_one_the_kiosk_reads(tmp_path: Path) -> None:
    block = re.search(r'CONFIG="(.*?)\n"$', INSTALL.read_text(), re.S | re.M)
    assert block is not None
    text = block.group(1).replace('\\"', '"').replace("\\`", "`")
    for name, value in (("SERVER", "https://hub.example"), ("KIOSK_ID", "st-k1"),
                        ("BUTTON", "gpio:gpiochip0:17")):  # fmt: skip
        text = text.replace(f"${name}", value)
    path = tmp_path / "kiosk.toml"
    path.write_text(text)

    settings = load(KioskSettings, {"token": "t"}, {"YIJIAN_KIOSK_CONFIG": str(path)})
    assert (settings.kiosk_id, settings.button, settings.media) == (
        "st-k1", "gpio:gpiochip0:17", "default"
    )  # fmt: skip
