"""A cap on the video the kiosk sends, for a village's weak uplink.

aiortc's encoders take their target bitrate from the receiver's estimate (REMB),
clamped between module constants: VP8 starts at 500 kbit/s and may climb to
``vpx.MAX_BITRATE``, 1.5 Mbit/s; H.264 to 3 Mbit/s. There is no per-connection
setting, so the cap lowers those constants for the process: a kiosk runs one call
at a time, and the cap is its own.
"""

from __future__ import annotations

import logging
from types import ModuleType

from aiortc.codecs import h264, vpx

logger = logging.getLogger(__name__)


def cap_video_bitrate(kbps: int) -> None:
    """Never send video above ``kbps``; start no higher either."""
    bps = kbps * 1000
    codecs: tuple[ModuleType, ...] = (vpx, h264)
    for codec in codecs:
        # read by the encoders' target_bitrate setter at every REMB estimate
        constants = codec.__dict__
        constants["MAX_BITRATE"] = bps
        constants["DEFAULT_BITRATE"] = min(constants["DEFAULT_BITRATE"], bps)
        constants["MIN_BITRATE"] = min(constants["MIN_BITRATE"], bps)
    logger.info("video capped at %d kbit/s", kbps)
