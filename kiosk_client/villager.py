"""The villager's half of the kiosk's state machine: what the button does.

One button does everything, by state:

- ready: a press (short or long) calls the town; the camera opens at once;
- calling, before the hub has answered the press: more presses are ignored (one
  ticket however hard the button is mashed);
- waiting or in a call: a press hangs up (a long press too: it cancels the wait);
- the town calling back: a press declines;
- just after an answered call, for ``rating_window_s``: a short press says 满意, a
  long press 不满意; the next press after that calls again;
- the link down: a press is kept and sent when it returns (``machine._keep``); a
  long press cancels it.

A button held for ``stuck_s`` is stuck: said on every status (``button_stuck``) and
ignored until released; a button that cannot be read says why (``button_fault``).
"""

from __future__ import annotations

import logging
import uuid

from kiosk_client.button import ButtonFault, ButtonStuck, Press
from kiosk_client.call import Phase
from kiosk_client.machine import CallMachine

logger = logging.getLogger("kiosk_client.controller")


class VillagerSide(CallMachine):
    async def _on_press(self, press: Press) -> None:
        if self.stopping:
            return
        rated = self._rating.take(press.text, press.long)  # any press closes the window
        if rated is not None and self.call is None:
            logger.info("call %s rated %s", *rated)
            await self._outbox.rate(*rated)
            return
        call = self.call
        if call is None and self.revoked:
            logger.warning("button pressed, but this kiosk's token was revoked: no call")
            return self._publish()
        if call is None:
            call = self._new_call(key=uuid.uuid4().hex)
            logger.info("button pressed: calling the town")
            self._media.open_soon(call)  # the villager chose to call: the camera is on
            self._publish()  # "calling" at once, before the hub answers
            await self._outbox.request(call)
            if not self.online:
                logger.info("no link to the hub: the press is kept for %.0f s", self._keep_s)
                self._keep(call)
        elif call.phase is Phase.INCOMING and call.id is not None:
            logger.info("button pressed: declining the town's callback")
            if call.auto_answer is not None:
                call.auto_answer.cancel()
            call.hanging_up = True
            await self._outbox.answer_callback(call.id, accept=False)
        elif press.long and not self.online and call.id is None and not call.hanging_up:
            logger.info("long press: the press kept while offline is cancelled")
            if call.kept is not None:
                call.kept.cancel()
            await call.stop_media()
            call.hanging_up = True  # the next welcome drops it, or hangs up what the hub has
            self._publish()
        elif call.hanging_up or (call.phase is Phase.REQUESTING and call.id is None):
            # mashing: the press before is still on its way; one ticket, one hang-up
            logger.info("button pressed again while the last press is in flight: ignored")
        else:
            logger.info("%s: hanging up", "long press" if press.long else "button pressed")
            await self._hang_up(call)

    async def _on_press_expired(self, key: str) -> None:
        call = self.call
        if call is None or call.key != key or call.id is not None or self.online:
            return
        logger.warning(
            "the press waited %.0f s for a link to the hub; dropped, the villager is told "
            "to press again", self._keep_s,
        )  # fmt: skip
        call.hanging_up = True
        await call.release()
        self.call = None
        self.no_call.set()
        self._publish(view="expired")

    def _on_button_health(self, event: ButtonStuck | ButtonFault) -> None:
        health = self._announcer.health
        if isinstance(event, ButtonStuck):
            health.pop("button_stuck", None)
            if event.stuck:
                health["button_stuck"] = True
        else:
            health.pop("button_fault", None)
            if event.reason is not None:
                health["button_fault"] = event.reason
        self._publish()
