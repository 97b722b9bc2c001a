"""The kiosk program: one button, one call to the town, over WebRTC.

``cli`` (the ``yijian kiosk`` command) builds a ``client.Kiosk``, which owns the
``connection`` to the hub, the ``button`` and the ``controller`` (the state
machine, fed the ``events`` of one queue), which leaves the peer connection to
``media_control``, what it sends the hub to ``outbox`` and ratings to ``rating``.
A ``call.Call`` holds a ``peer.PeerSession`` fed by ``media`` and read by
``sink``/``speaker``; ``status`` and ``prompts`` say what is going on.
"""
