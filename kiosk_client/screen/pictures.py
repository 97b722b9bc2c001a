"""Video frames as pygame surfaces, and the stand-in pictures of a rendered call.

The controller hands the screen decoded frames (``av.VideoFrame``) or RGB arrays
(height x width x 3, uint8); either becomes a surface the painter scales.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pygame


def to_surface(frame: Any) -> pygame.Surface:
    """An ``av.VideoFrame`` or an RGB ``numpy`` array as a surface."""
    array = frame if isinstance(frame, np.ndarray) else frame.to_ndarray(format="rgb24")
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an RGB frame (h, w, 3) of uint8, found {array.shape} "
                         f"of {array.dtype}")  # fmt: skip
    height, width = array.shape[:2]
    return pygame.image.frombuffer(np.ascontiguousarray(array).tobytes(), (width, height), "RGB")


def operator_picture(width: int = 640, height: int = 480) -> np.ndarray:
    """A stand-in for the operator's camera: a figure at a desk before a lit wall."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = 150 + 60 * x / width
    image[..., 1] = 170 + 40 * y / height
    image[..., 2] = 200 - 40 * y / height
    cx, head_y, r = width / 2, height * 0.36, height * 0.13
    image[(x - cx) ** 2 + (y - head_y) ** 2 < r**2] = (236, 196, 160)  # face
    image[(x - cx) ** 2 + (y - head_y + r * 0.35) ** 2 < (r * 1.02) ** 2] = (40, 32, 30)  # hair
    image[(x - cx) ** 2 + (y - head_y - r * 0.25) ** 2 < (r * 0.85) ** 2] = (236, 196, 160)
    body = ((x - cx) / (width * 0.26)) ** 2 + ((y - height * 0.85) / (height * 0.3)) ** 2 < 1
    image[body & (y > head_y + r)] = (40, 90, 160)  # a blue work jacket
    image[y > height * 0.88] = (120, 84, 52)  # the desk
    return image


def villager_picture(width: int = 640, height: int = 480) -> np.ndarray:
    """A stand-in for the kiosk's own camera: the test media's colour bars."""
    from kiosk_client.media import MovingPictureTrack  # aiortc loads only for this

    track = MovingPictureTrack()
    picture = track.draw(12)
    track.stop()
    if (width, height) != (picture.shape[1], picture.shape[0]):
        surface = pygame.transform.smoothscale(to_surface(picture), (width, height))
        return pygame.surfarray.array3d(surface).swapaxes(0, 1)
    return picture
