"""The prefix every Redis key of Yijian starts with."""

from __future__ import annotations

PREFIX = "yj:"
