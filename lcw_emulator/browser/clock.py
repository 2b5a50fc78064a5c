"""Time for a live page: wall speed, from a chosen start.

A class watching the documentation's sample needs the sample token to be valid
(``exp`` is in 2018) and needs the auth token provider's 10 s to be 10 real
seconds, because a real browser answers in real time. :class:`ShiftedClock`
gives both: it reads ``start`` when the server starts and then moves with the
wall clock.
"""

from __future__ import annotations

import time

from ..clock import RealClock

__all__ = ["ShiftedClock"]


class ShiftedClock(RealClock):
    """Wall-clock time that began at ``start`` (epoch seconds) when this clock was made.

    Waiting (timeouts, sleeps) is real, as in :class:`RealClock`; only the reading
    is shifted, so tokens are judged as if the page ran at ``start``.
    """

    def __init__(self, start: float) -> None:
        self.start = float(start)
        # monotonic, so a wall-clock adjustment during a demo does not move the page's time
        self._origin = time.monotonic()

    def __repr__(self) -> str:
        return f"ShiftedClock(start={self.start!r}, now={self.now()!r})"

    def now(self) -> float:
        return self.start + (time.monotonic() - self._origin)
