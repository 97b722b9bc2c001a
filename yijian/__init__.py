"""Yijian: one press from a village kiosk to the town's operators."""

__version__ = "0.1.0"
