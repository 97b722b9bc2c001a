"""The villager's screen and voice: a full-screen window (pygame-ce on SDL2) that shows
every state of the kiosk in large Chinese words with an icon, and speaks it.

``window.KioskScreen`` is the running window; it asks ``dwell`` what to show, has
``paint`` draw it (``icons``, ``fonts``, ``pictures``) and a ``voice`` player say it.
``render`` writes every state to files (``yijian kiosk --render-states``). The words
themselves live in ``kiosk_client.prompts``.
"""


class ScreenUnavailable(Exception):
    """The kiosk's screen cannot be shown: no display, or no font for Chinese."""
