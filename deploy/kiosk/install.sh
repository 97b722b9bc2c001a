#!/usr/bin/env bash
# Install a Yijian kiosk on a Debian-based device (Raspberry Pi OS included), as root,
# from this source tree:
#
#   sudo deploy/kiosk/install.sh --server https://hub.example --kiosk-id st-k1 \
#       [--token TOKEN] [--button gpio:gpiochip0:17] [--prefix /opt/yijian] [--no-start]
#
# Without --token the token is read from standard input (it stays off `ps` and the
# shell's history). It installs the system packages (espeak-ng, sox, fonts-noto-cjk,
# python3-venv, alsa-utils, gpiod), a venv under PREFIX with Yijian and libgpiod's
# binding, the service user yijian-kiosk (groups video, audio, gpio, input, render),
# /etc/yijian/kiosk.toml (kept if it exists), /etc/yijian/kiosk.env (the token, mode
# 0600, owned by the service user) and the systemd unit, then starts it.
# DRY_RUN=1 prints every command instead of running it.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX=/opt/yijian
SERVER="" KIOSK_ID="" TOKEN="" BUTTON="key" START=1
USER_NAME=yijian-kiosk
ETC=/etc/yijian
UNIT=/etc/systemd/system/yijian-kiosk.service
PACKAGES=(espeak-ng sox fonts-noto-cjk python3-venv python3-pip alsa-utils gpiod v4l-utils)

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
fail() { echo "install.sh: error: $*" >&2; exit 2; }
run() { if [[ -n "${DRY_RUN:-}" ]]; then echo "+ $*"; else "$@"; fi; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) SERVER="${2:?}"; shift 2 ;;
    --kiosk-id) KIOSK_ID="${2:?}"; shift 2 ;;
    --token) TOKEN="${2:?}"; shift 2 ;;
    --button) BUTTON="${2:?}"; shift 2 ;;
    --prefix) PREFIX="${2:?}"; shift 2 ;;
    --no-start) START=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

[[ -n "$SERVER" && -n "$KIOSK_ID" ]] || fail "--server and --kiosk-id are required (see --help)"
[[ -n "${DRY_RUN:-}" || "$(id -u)" == 0 ]] || fail "run as root (sudo)"
command -v apt-get >/dev/null || fail "this script is for Debian-based systems (apt-get not found)"
if [[ -z "$TOKEN" ]]; then
  read -r -s -p "kiosk token for $KIOSK_ID: " TOKEN; echo
fi
[[ -n "$TOKEN" ]] || fail "no token given"

echo "== system packages"
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
  --no-install-recommends "${PACKAGES[@]}"
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  || fail "Yijian needs Python 3.11 or newer (Debian 12 / Raspberry Pi OS bookworm)"

echo "== the program, in $PREFIX/venv"
run mkdir -p "$PREFIX"
[[ -x "$PREFIX/venv/bin/python" ]] || run python3 -m venv "$PREFIX/venv"
run "$PREFIX/venv/bin/pip" install --quiet --upgrade pip
run "$PREFIX/venv/bin/pip" install --quiet "$SRC[gpio]"

echo "== the service user $USER_NAME"
for group in video audio gpio input render; do
  getent group "$group" >/dev/null || run groupadd --system "$group"
done
if ! id "$USER_NAME" >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/yijian-kiosk --shell /usr/sbin/nologin \
    --user-group "$USER_NAME"
fi
run usermod --append --groups video,audio,gpio,input,render "$USER_NAME"
# Raspberry Pi OS gives /dev/gpiochip* to the gpio group already; plain Debian does not.
RULE=/etc/udev/rules.d/60-yijian-gpio.rules
if [[ ! -e "$RULE" ]]; then
  if [[ -n "${DRY_RUN:-}" ]]; then echo "+ write $RULE"; else
    echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' > "$RULE"
    udevadm control --reload-rules && udevadm trigger --subsystem-match=gpio || true
  fi
fi

echo "== settings in $ETC"
run install -d -m 0755 "$ETC"
if [[ ! -e "$ETC/kiosk.toml" ]]; then
  CONFIG="# The kiosk's settings; every YIJIAN_KIOSK_* variable has its key here, in lower
# case without the prefix (docs/kiosk.md). \`yijian kiosk --list-devices\` shows the devices.
server = \"$SERVER\"
kiosk_id = \"$KIOSK_ID\"
button = \"$BUTTON\"
media = \"default\"
video_device = \"/dev/video0\"
audio_device = \"default\"
speaker_device = \"default\"
video_size = \"640x480\"
video_fps = 15
video_max_kbps = 600
language = \"cmn\"
"
  if [[ -n "${DRY_RUN:-}" ]]; then echo "+ write $ETC/kiosk.toml"; else
    printf '%s' "$CONFIG" > "$ETC/kiosk.toml"; chmod 0644 "$ETC/kiosk.toml"
  fi
fi
if [[ -n "${DRY_RUN:-}" ]]; then echo "+ write $ETC/kiosk.env (0600, $USER_NAME)"; else
  umask 077
  printf 'YIJIAN_KIOSK_TOKEN=%s\n' "$TOKEN" > "$ETC/kiosk.env"
  chown "$USER_NAME:$USER_NAME" "$ETC/kiosk.env"
  chmod 0600 "$ETC/kiosk.env"
fi

echo "== the systemd unit"
if [[ -n "${DRY_RUN:-}" ]]; then echo "+ write $UNIT"; else
  sed "s#/opt/yijian/venv#$PREFIX/venv#" "$SRC/deploy/kiosk/yijian-kiosk.service" > "$UNIT"
  chmod 0644 "$UNIT"
fi
run systemctl daemon-reload
if [[ "$START" == 1 ]]; then
  run systemctl enable --now yijian-kiosk.service
  echo "started: journalctl -u yijian-kiosk -f shows its log"
else
  run systemctl enable yijian-kiosk.service
  echo "installed, not started: systemctl start yijian-kiosk"
fi
