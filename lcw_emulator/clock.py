"""The one source of time for the whole runtime.

Everything that waits (provider timeouts, scenario pauses, rate-limit windows)
asks a :class:`Clock`. Tests and scenarios use :class:`VirtualClock`, whose
time only moves when told to or, in auto-jump mode, when every task on the
loop is waiting on it; demos use :class:`RealClock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import inspect
import itertools
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from types import FrameType
from typing import Protocol, TypeVar

__all__ = [
    "MILLISECONDS_THRESHOLD",
    "Clock",
    "ClockLimitError",
    "ClockTimer",
    "RealClock",
    "VirtualClock",
    "describe_instant",
    "describe_offset",
    "describe_seconds",
    "epoch_seconds",
]

T = TypeVar("T")


def describe_instant(timestamp: float) -> str:
    """Epoch seconds as a person reads them: ``1542625672 (2018-11-19T11:07:52Z)``."""
    seconds = f"{timestamp:.3f}".rstrip("0").rstrip(".")
    try:
        # From the number as shown: 1542622100.9999 shows as 1542622101, so its time does too.
        moment = dt.datetime.fromtimestamp(float(seconds), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return seconds
    return f"{seconds} ({moment.strftime('%Y-%m-%dT%H:%M:%SZ')})"


def describe_seconds(seconds: float) -> str:
    """A number of seconds someone gave, shown so it reads back as given: ``10``, ``10.00001``.

    ``:g`` would round ``10.00001`` to ``10``: a provider 10.00001 s late would be shown in
    time, and a chat start failing with code 3 would contradict its own label.
    """
    short = f"{seconds:g}"
    if float(short) == seconds:
        return short
    text = repr(float(seconds))
    return text.removesuffix(".0")


def describe_offset(seconds: float) -> str:
    """A measured span of virtual time, to the microsecond checks compare it at: ``125.2504``.

    Spans are differences of epoch seconds, so they carry float noise below the microsecond
    (``125.25040006637573``), which a reader must not mistake for a difference.
    """
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# A NumericDate past this (year 5138) is almost surely milliseconds.
MILLISECONDS_THRESHOLD = 100_000_000_000


def epoch_seconds(value: float, name: str = "") -> float:
    """``value`` as finite epoch seconds; :class:`ValueError` if it reads as milliseconds.

    Judged against a moment in milliseconds (JavaScript's ``Date.now()``), every good token
    would look wrong, its ``exp`` expired or its ``iat`` in the future: the token would be
    blamed for the caller's clock. A ``datetime`` is its timestamp (a naive one is UTC, as
    ``jwt.encode`` reads it).
    """
    seconds = moment_seconds(value, name or "a moment")
    if seconds >= MILLISECONDS_THRESHOLD:
        raise ValueError(
            f"{name + ' ' if name else ''}{value!r} is past the year 5000 in epoch seconds: "
            "milliseconds (JavaScript's Date.now())? give epoch seconds"
        )
    return seconds


class ClockLimitError(ValueError):
    """A timer, deadline or advance would take the virtual clock past where the clocks stop."""


def _require_reachable(when: float) -> None:
    # The clocks take no start from there on (it reads as milliseconds), so they go no further:
    # every token minted later would be blamed for a clock that passed the year 5000.
    if when >= MILLISECONDS_THRESHOLD:
        raise ClockLimitError(
            f"the virtual clock cannot move to {describe_seconds(when)}: the clocks stop short of "
            f"{describe_instant(MILLISECONDS_THRESHOLD)}, from which a moment reads as "
            "milliseconds"
        )


def _running_loop(what: str) -> asyncio.AbstractEventLoop:
    """The running asyncio loop, or a :class:`RuntimeError` that says what needed it."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} needs a running asyncio event loop: the clocks run on asyncio (under "
            "anyio, its asyncio backend; trio is not supported)"
        ) from None


def moment_seconds(value: float, name: str) -> float:
    """A moment as finite epoch seconds: a number, or a ``datetime`` (a naive one is UTC).

    A ``timedelta`` is a length of time, not a moment: refused, where it would read as
    seconds since 1970.
    """
    if isinstance(value, dt.datetime):
        value = (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).timestamp()
    elif isinstance(value, dt.timedelta):
        raise TypeError(
            f"{name} is a moment: give epoch seconds or a datetime, got timedelta {value!r}"
        )
    return finite_seconds(value, name)


def finite_seconds(value: float, name: str, *, unit: str = "seconds") -> float:
    """``value`` as a float of seconds; TypeError for text or True, ValueError for NaN or inf.

    Whatever ``float()`` takes (Decimal, Fraction, numpy) is taken. ``unit`` names what the
    number counts in the message, for a caller whose number is not seconds.
    """
    number = _number_of(value, name, unit)
    # NaN compares false with everything, so a NaN time would stop or skip every deadline.
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number of {unit}, got {_shown(value)}")
    return number


def _shown(value: object) -> str:
    """``repr(value)``, cut short when long: a number of 400 digits is no message."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:16]}... ({len(text)} characters)"


def limit_seconds(value: float, name: str, *, zero: bool = False) -> float:
    """``value`` as a limit in seconds: a number above 0 (or 0 with ``zero``); ``math.inf``
    for no limit. TypeError for text or True, ValueError for NaN or a number below that."""
    number = _number_of(value, name)
    if math.isnan(number) or number < 0 or (number == 0 and not zero):
        least = "0 or more" if zero else "above 0"
        raise ValueError(
            f"{name} must be {least} seconds (math.inf: no limit), got {_shown(value)}"
        )
    return number


def _number_of(value: object, name: str, unit: str = "seconds") -> float:
    """``value`` as a float (NaN and infinity too); :class:`TypeError` if it is no number."""
    # Text and True are numbers to float(), not to a caller who meant seconds; a timedelta is
    # seconds, which a caller counting other units would take for theirs.
    refused = str | bytes | bool if unit == "seconds" else str | bytes | bool | dt.timedelta
    number = None if isinstance(value, refused) else _as_float(value)
    if number is None:
        raise TypeError(
            f"{name} must be a number of {unit}, got {type(value).__name__} {_shown(value)}"
        )
    return number


def _as_float(value: object) -> float | None:
    """``float(value)`` for whatever float takes (Decimal, numpy), else ``None``.

    A ``timedelta`` is its seconds: a test writes ``timedelta(minutes=16)`` as readily.

    A number past the largest float (``10**400``) is infinity, as it is to JavaScript.
    """
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        try:
            return -math.inf if value < 0 else math.inf  # type: ignore[operator]
        except TypeError:  # a number that overflows a float and has no order
            return None
    except (TypeError, ValueError):
        return None


def _refuse_nan(awaitable: Awaitable[object], timeout: float) -> float:
    """``timeout`` as a float (a timedelta's seconds); NaN and what is no number refused.

    Checked before the awaitable starts, so it never runs: NaN compares false with every
    time, which would make the deadline never come (or come at once).
    """
    if type(timeout) is float and timeout == timeout:  # every chat's wait: a float, not NaN
        return timeout
    try:
        number = _number_of(timeout, "timeout")
        if math.isnan(number):
            raise ValueError("timeout must be a number of seconds, got nan")
    except (TypeError, ValueError):
        if isinstance(awaitable, Coroutine):
            awaitable.close()  # spare the caller a "never awaited" warning
        raise
    return number


def _require_callable(callback: object, name: str) -> None:
    # Refused when armed: met when the timer fires, it would stop time between two instants.
    if not callable(callback):
        raise TypeError(
            f"{name} must be a function to call, got {type(callback).__name__} {callback!r:.60}"
        )


class ClockTimer(Protocol):
    """A scheduled callback that can still be called off."""

    def cancel(self) -> None:
        """Call off the callback if it has not run yet; harmless once it has."""
        ...


class Clock(Protocol):
    """What the runtime needs from time: read it, wait on it, bound a wait by it."""

    def now(self) -> float:
        """Current time in epoch seconds."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> ClockTimer:
        """Run ``callback`` once ``delay`` seconds have passed on this clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` of this clock's time."""
        ...

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable``; raise :class:`TimeoutError` after ``timeout`` seconds."""
        ...

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Mark real outside work (a socket, a thread) that time must not skip over."""
        ...


def require_clock(clock: object, name: str = "clock") -> None:
    """Refuse what is not a :class:`Clock` where it is given, naming what it lacks."""
    if isinstance(clock, type):
        raise TypeError(
            f"{name} must be a Clock, got the class {clock.__name__}: make one, "
            f"{clock.__name__}(start=...)"
        )
    # The Protocol's methods: a stand-in lacking one would fail mid-chat instead.
    missing = [
        method
        for method in ("now", "call_later", "sleep", "wait_for", "hold")
        if not callable(getattr(clock, method, None))
    ]
    if missing:
        raise TypeError(
            f"{name} must be a Clock (a VirtualClock or a RealClock), got "
            f"{type(clock).__name__} {clock!r:.60}: it has no {', '.join(missing)}"
        )


class RealClock:
    """Wall-clock time, for interactive demos and a real browser.

    With ``start`` (epoch seconds) the clock reads ``start`` when it is made and
    then moves at wall speed: a live page gets real seconds to answer, while
    tokens are judged as if it ran at ``start`` (the documentation's sample
    token expired in 2018).
    """

    def __init__(self, start: float | None = None) -> None:
        seconds = None if start is None else epoch_seconds(start, "start")
        # Kept as given when it is a plain number (its repr says what was passed); a datetime
        # or a Decimal as the seconds it stands for, which now() adds to.
        self.start = start if type(start) in (int, float) else seconds
        # monotonic, so a wall-clock adjustment during a demo does not move the page's time
        self._origin = time.monotonic()

    def __repr__(self) -> str:
        return f"RealClock(start={self.start!r})" if self.start is not None else "RealClock()"

    def now(self) -> float:
        """Epoch seconds: wall time, or ``start`` plus the seconds since the clock was made."""
        if self.start is None:
            return time.time()
        return self.start + (time.monotonic() - self._origin)

    def call_later(self, delay: float, callback: Callable[[], object]) -> ClockTimer:
        """Run ``callback`` on the running event loop after ``delay`` wall seconds (at least 0)."""
        _require_callable(callback, "callback")
        delay = finite_seconds(delay, "delay")  # as VirtualClock takes it: a timedelta too
        return _running_loop("RealClock.call_later").call_later(max(delay, 0.0), callback)

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` wall seconds (a negative wait counts as 0)."""
        seconds = finite_seconds(seconds, "seconds")  # as VirtualClock takes it
        await asyncio.sleep(max(seconds, 0.0))

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable`` for at most ``timeout`` wall seconds.

        Then it is cancelled and :class:`TimeoutError` raised. NaN raises :class:`ValueError`,
        as :meth:`VirtualClock.wait_for` does.
        """
        timeout = _refuse_nan(awaitable, timeout)
        task = asyncio.ensure_future(awaitable)
        # Not asyncio.wait_for: on 3.11 it returns the answer, and drops the caller's
        # cancellation, when both land on the same turn (fixed in 3.12, which builds wait_for
        # on asyncio.timeout as this does). A page that leaves as its token arrives must stop.
        async with asyncio.timeout(max(timeout, 0.0)):
            return await task

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold nothing: wall time never skips over outside work."""
        yield


_COMPACT_FROM = 256  # timers in the heap before cancelled ones are swept out


class _VirtualTimer:
    __slots__ = ("abort", "callback", "cancelled", "deadlines", "when")

    def __init__(
        self,
        when: float,
        callback: Callable[[], object],
        abort: Callable[[], object] | None = None,
    ) -> None:
        self.when = when
        self.callback = callback
        self.abort = abort  # what cancel_pending does instead: cancel what waits on it
        self.cancelled = False
        self.deadlines: set[_VirtualTimer] | None = None  # its clock's pending deadlines

    def cancel(self) -> None:
        self.cancelled = True
        if self.deadlines is not None:
            self.deadlines.discard(self)


class VirtualClock:
    """Emulated time in epoch seconds that costs no wall time.

    Time moves by :meth:`advance`, or, with ``auto_jump`` (the default), by
    itself: when no task on the event loop can make progress and at least one
    is waiting on this clock, the clock jumps to the next deadline. A 10 s
    provider timeout therefore takes microseconds.

    Auto-jump sees only the event loop's ready queue. Work that waits on
    something the loop cannot see as "ready" (a socket, a thread) must be
    wrapped in :meth:`hold`, or the clock may jump over it.
    """

    def __init__(self, start: float = 0.0, *, auto_jump: bool = True) -> None:
        self._now = epoch_seconds(start, "start")
        self.auto_jump = auto_jump
        self._heap: list[tuple[float, int, _VirtualTimer]] = []
        self._compact_at = _COMPACT_FROM
        self._order = itertools.count()
        self._holds = 0
        self._released: asyncio.Event | None = None
        self._driver: asyncio.Task[None] | None = None
        self._by_hand = 0
        # A wait_for deadline reached under advance() holds the rest of the advance: the
        # deadlines of that instant (each one's expiry, and what cancel_pending cancels),
        # the task that judges them once the loop is idle, and where the advance goes next.
        self._held_expiries: list[tuple[Callable[[], object], Callable[[], object]]] = []
        self._held_task: asyncio.Task[None] | None = None
        self._held_target = -math.inf
        self._held_error: Exception | None = None  # a timer's, fired by the held task
        # The tasks that moved time by hand while an advance is held: their own turns are no
        # work for the held advance to wait out (a test stepping time with advance() and
        # sleep(0) would otherwise keep the loop busy forever, and time from moving).
        # (Made on first use: a WeakSet costs a microsecond, and most clocks never hold.)
        self._movers: weakref.WeakSet[asyncio.Task[object]] | None = None
        # wait_for deadlines still pending, by the loop that waits on them
        # (weakly: a clock shared by test after test must not keep their closed loops alive)
        self._deadlines: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, set[_VirtualTimer]
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r}, auto_jump={self.auto_jump!r})"

    def now(self) -> float:
        """The virtual time in epoch seconds; only :meth:`advance` or an auto-jump moves it."""
        return self._now

    @property
    def pending(self) -> int:
        """How many timers are still waiting on this clock."""
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """The earliest time a pending timer fires, or ``None``."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def call_at(
        self,
        when: float,
        callback: Callable[[], object],
        *,
        abort: Callable[[], object] | None = None,
    ) -> ClockTimer:
        """Run ``callback`` when this clock reaches ``when`` (epoch seconds).

        ``abort`` is called instead if :meth:`cancel_pending` cancels the timer first.
        """
        when = moment_seconds(when, "when")  # a float from here on, whatever number was given
        _require_reachable(when)
        if not callable(callback) or (abort is not None and not callable(abort)):
            _require_callable(callback, "callback")
            _require_callable(abort, "abort")
        return self._arm(max(when, self._now), callback, abort)

    def _arm(
        self,
        when: float,
        callback: Callable[[], object],
        abort: Callable[[], object] | None,
        judging: asyncio.AbstractEventLoop | None = None,
    ) -> _VirtualTimer:
        timer = _VirtualTimer(when, callback, abort)
        if judging is not None:  # a wait_for deadline, kept by its loop
            timer.deadlines = self._deadlines.setdefault(judging, set())
            timer.deadlines.add(timer)
        if len(self._heap) >= self._compact_at:
            self._compact()
        heapq.heappush(self._heap, (timer.when, next(self._order), timer))
        self._wake_driver()
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> ClockTimer:
        """Run ``callback`` after ``delay`` virtual seconds (negative counts as 0).

        A NaN or infinite delay raises :class:`ValueError`.
        """
        return self.call_at(self._now + max(finite_seconds(delay, "delay"), 0.0), callback)

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` of virtual time; 0 or less yields once."""
        await self.sleep_until(self._now + max(finite_seconds(seconds, "seconds"), 0.0))

    async def sleep_until(self, when: float) -> None:
        """Suspend the calling task until this clock reads ``when``."""
        if type(when) is not float or not -math.inf < when < math.inf:  # every chat's is finite
            when = moment_seconds(when, "when")
        if when <= self._now:  # so before the limit: call_at checks a later ``when``
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = _running_loop("VirtualClock.sleep").create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(when, wake, abort=future.cancel)
        try:
            await future
        finally:
            timer.cancel()

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable`` for at most ``timeout`` virtual seconds.

        Then it is cancelled and :class:`TimeoutError` raised. The deadline is inclusive: an
        answer due at exactly ``timeout`` seconds wins. An infinite ``timeout`` waits as long
        as it takes, as :func:`asyncio.wait_for` does; NaN raises :class:`ValueError`.
        """
        timeout = _refuse_nan(awaitable, timeout)
        if timeout != math.inf:
            try:
                _require_reachable(self._now + max(timeout, 0.0))
            except ValueError:
                if inspect.iscoroutine(awaitable):
                    awaitable.close()  # never run: no "never awaited" warning for the caller
                elif isinstance(awaitable, asyncio.Future):
                    # Given up, as at a deadline: an exception set on it later (its provider
                    # cancelled at teardown) is then nobody's to retrieve.
                    awaitable.cancel()
                raise
        task = asyncio.ensure_future(awaitable)
        if task.done() or timeout == math.inf:
            # Answered already (a provider that called back at once), or no limit: there is
            # no deadline to arm, and no auto-jump driver to start for one.
            return await task
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            if not task.done():
                timed_out = True
                task.cancel()

        timers: list[_VirtualTimer] = []
        loop = _running_loop(f"{type(self).__name__}.wait_for")
        # What cancel_pending cancels: the task waiting here, as if it were cancelled itself,
        # rather than what it waits for (a provider's answer, which would read that as the
        # provider failing).
        waiter = asyncio.current_task()
        abort = waiter.cancel if waiter is not None else task.cancel
        # Cancellations asked of the waiter before this wait: one asked during it, even on
        # the turn the deadline fires, is the caller's and must not turn into a timeout.
        cancelling = waiter.cancelling() if waiter is not None else 0

        expiry = (expire, abort)  # what a held advance judges, or cancels

        def deadline() -> None:
            # The deadline is inclusive: an answer due at exactly the limit
            # wins. Re-arm at the same instant, which auto-jump only fires once
            # the tasks woken at this instant have run; a clock moved by hand
            # (advance) has no driver to wait for them, so a task does.
            if self.auto_jump and not self._by_hand:
                timers.append(self._arm(self._now, judge, abort, judging=loop))
            else:
                judge()

        def judge() -> None:  # at the deadline's instant, after what was woken with it ran
            if self._by_hand and _can_hold_on(loop):  # an advance() may have woken more
                self._hold(loop, expiry)
            elif not loop.is_closed():
                # On its own loop, or moved from another that cannot wait for this one:
                # judged now (there, an answer due at exactly the limit loses too).
                expire()
            # else its loop closed: nothing of it can run, nor be judged

        timers.append(self._arm(self._now + max(timeout, 0.0), deadline, abort, judging=loop))
        try:
            return await task
        except asyncio.CancelledError:
            if timed_out and (waiter is None or waiter.cancelling() <= cancelling):
                raise TimeoutError(f"no answer within {describe_seconds(timeout)} s") from None
            raise
        finally:
            for timer in timers:
                timer.cancel()
            self._unhold(expiry)  # answered or gone: nothing for cancel_pending to cancel

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds``, firing due timers in order.

        Returns how many timers fired. Tasks woken by them run once the
        caller yields to the event loop. While a :meth:`wait_for` deadline is pending, the
        clock first lets the tasks ready now run at this instant (until then ``now()`` reads
        it, and this returns 0), then stops after each instant (``now()`` reads it) until the
        tasks woken then have run and every deadline due then is judged; then the rest of
        the advance fires, as auto-jump would have moved it. The caller's own bare turns are
        not waited out, so a test may step time with ``advance()`` and ``await
        asyncio.sleep(0)``; once it waits on something (a timer, a future), they are.
        :meth:`settle` waits for all of it: an answer must win or lose by when it is due, not
        by how time was moved.
        """
        seconds = finite_seconds(seconds, "seconds")
        if seconds < 0:
            raise ValueError(f"time cannot go backwards (advance({seconds!r}))")
        held = self._still_held()
        # From where the advances before this one go, when they are held at a deadline.
        target = max(self._now, self._held_target) + seconds if held else self._now + seconds
        _require_reachable(target)
        if held:
            self._take_over_hold()
            fired = self._fire_until(target)
        elif (loop := self._deadline_ahead()) is not None and _loop_busy(loop):
            # Tasks ready now run at this instant first, as they would in real time: an
            # answer's task made on the last turn has not armed its sleep yet, and armed
            # after the deadline fired, it would be due from there, not from now.
            self._held_target = target
            self._hold(loop)
            fired = 0
        else:
            fired = self._fire_until(target)
        if self._held_task is not None:
            mover = _current_task_or_none()
            if mover is not None:
                if self._movers is None:
                    self._movers = weakref.WeakSet()
                self._movers.add(mover)
        return fired

    def _take_over_hold(self) -> None:
        """Let an advance on this loop go on past one held on a loop that is not running."""
        task, running = self._held_task, _running_loop_or_none()
        if task is None or running is None or task.get_loop() is running:
            return
        there = task.get_loop()
        expiries = [expire for expire, _ in self._held_expiries]
        self._release_held()
        task.cancel()
        if not there.is_closed():
            for expire in expiries:  # judged now, as a deadline another loop moves past
                expire()

    def _fire_until(self, target: float) -> int:
        """Fire the timers due by ``target`` in order; stop where a deadline holds the rest."""
        fired = 0
        self._by_hand += 1
        try:
            while self._held_task is None:
                self._drop_cancelled()
                if not self._heap or self._heap[0][0] > target:
                    break
                fired += self._fire_earliest()
                if self._held_task is None:
                    # A wait_for deadline still ahead: the tasks woken now run before time
                    # moves on, as under auto-jump, so that what they go on to arm (an
                    # answer's next hop) is due when it would be, not from the advance's end.
                    loop = self._deadline_ahead()
                    if loop is not None:
                        self._hold(loop)
        finally:
            self._by_hand -= 1
        if self._held_task is not None:
            self._held_target = max(self._held_target, target)
        else:
            # max: a timer's callback may itself have advanced the clock further.
            self._now = max(self._now, target)
        return fired

    def _deadline_ahead(self) -> asyncio.AbstractEventLoop | None:
        """The loop of a wait_for deadline still pending that a held advance can run on."""
        for loop, timers in list(self._deadlines.items()):
            if not timers or loop.is_closed():
                del self._deadlines[loop]  # none left, or none that can ever be judged there
            elif _can_hold_on(loop):
                return loop
        return None

    def _hold(
        self,
        loop: asyncio.AbstractEventLoop,
        expiry: tuple[Callable[[], object], Callable[[], object]] | None = None,
    ) -> None:
        """Hold the rest of the advance, with ``expiry`` (expire, abort) to judge.

        Every deadline of this instant is judged by one task, at once, once the loop is idle:
        judged each on its own, one could see the loop idle while another still had work to
        run, and let the rest of the advance fire first.
        """
        if expiry is not None:
            self._held_expiries.append(expiry)
        if self._held_task is None:
            task = loop.create_task(self._judge_held(loop), name="VirtualClock.deadline")
            _DRIVERS.add(task)  # waiting for idle, it is no work for the others
            task.add_done_callback(self._held_task_done)
            self._held_task = task

    def _unhold(self, expiry: tuple[Callable[[], object], Callable[[], object]]) -> None:
        if expiry in self._held_expiries:  # its wait ended before the held task judged it
            self._held_expiries.remove(expiry)

    async def _judge_held(self, loop: asyncio.AbstractEventLoop) -> None:
        await self._until_idle(loop)  # what was due by the deadline runs first: it is in time
        expiries, self._held_expiries = self._held_expiries, []
        for expire, _ in expiries:
            expire()
        await self._until_idle(loop)  # what the expiries woke (a chat start failing) runs now
        self._held_task = None
        target, self._held_target = self._held_target, -math.inf
        try:
            self._fire_until(target)  # may stop at the next deadline
        except Exception as exc:  # a timer's callback: advance() would have raised it
            if self._held_error is None:  # the first; settle() raises it
                self._held_error = exc
        finally:
            if self._held_task is None:  # the advance is over: its movers are tasks again
                self._movers = None

    async def _until_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        # No task ready but the movers. Not hold(): it keeps auto-jump from jumping over real
        # work, while advance() moves time when its caller says, real work in flight or not
        # (waiting on holds deadlocked a caller holding around its own advance, and across
        # loops).
        self._drop_waiting_movers()
        await asyncio.sleep(0)
        while True:
            self._drop_waiting_movers()
            if not _loop_busy(loop, self._movers):
                return
            await asyncio.sleep(0)

    def _drop_waiting_movers(self) -> None:
        # A mover that waits on something (a timer, a future, an event) is moving time no
        # more: whatever wakes it, what it does then is work of this instant.
        movers = self._movers
        if movers:
            for task in list(movers):
                if task.done() or getattr(task, "_fut_waiter", None) is not None:
                    movers.discard(task)

    def _held_task_done(self, task: asyncio.Task[None]) -> None:
        if task is self._held_task:  # cancelled (its loop closing): nothing is held any more
            self._release_held()

    def _still_held(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """Whether an advance is held (on ``loop``: one held on another loop cannot finish here)."""
        task = self._held_task
        if task is not None and (task.done() or task.get_loop().is_closed()):
            self._release_held()  # its loop went away with the deadlines it held
        held = self._held_task
        return held is not None and (loop is None or held.get_loop() is loop)

    def _release_held(self) -> list[Callable[[], object]]:
        """Forget the held advance; return what cancels the waits it held."""
        aborts = [abort for _, abort in self._held_expiries]
        self._held_expiries, self._held_task, self._held_target = [], None, -math.inf
        self._movers = None
        return aborts

    def cancel_pending(self) -> int:
        """Cancel everything waiting on this clock, as a test's teardown does.

        A task sleeping on it, or waiting for an answer within a deadline (a chat start
        waiting for its token), gets :class:`asyncio.CancelledError` the next time its loop
        runs, so nothing a finished test started goes on into the next one on a shared
        loop. Returns how many timers were pending. The clock can be used again after.
        """
        heap, self._heap = self._heap, []
        self._compact_at = _COMPACT_FROM
        self._deadlines.clear()
        held = self._held_task
        aborts = []
        for _, _, timer in heap:
            if not timer.cancelled:
                timer.cancelled = True
                aborts.append(timer.abort)
        aborts += self._release_held()
        self._held_error = None  # the finished test's: not the next one's settle() to raise
        waiting = [self._driver, held]
        self._driver = None
        for cancel in [*aborts, *(task.cancel for task in waiting if task is not None)]:
            if cancel is None:
                continue
            with contextlib.suppress(RuntimeError):  # its loop closed: none of it runs again
                cancel()
        return len(aborts)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep auto-jump from moving time while the block runs (real I/O); holds nest.

        It does not hold an :meth:`advance`: moved by hand, time moves when the caller says.
        """
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if self._holds == 0 and self._released is not None:
                self._released.set()

    async def settle(self) -> None:
        """Yield until no task on the loop is ready to run.

        Time moves only to finish an :meth:`advance` held at a deadline, and no further than
        it asked; a timer's exception raised there is raised here.
        """
        loop = _running_loop("VirtualClock.settle")
        # Holding parks the auto-jump driver, which would otherwise count as work
        # on every turn and keep this loop spinning.
        me = asyncio.current_task()
        with self.hold():
            if me is not None:
                _DRIVERS.add(me)  # waiting for idle, as a held advance does
            try:
                await asyncio.sleep(0)
                while _loop_busy(loop) or self._still_held(loop):
                    await asyncio.sleep(0)
            finally:
                if me is not None:
                    _DRIVERS.discard(me)
        error, self._held_error = self._held_error, None
        if error is not None:
            raise error  # a timer's callback failed in the rest of an advance()

    def _compact(self) -> None:
        # Cancelled timers leave the heap only from its front; behind a live timer far ahead,
        # each chat's cancelled deadline would stay. Rebuilt when the heap doubles: amortised
        # O(1) a timer, as asyncio does for its own.
        self._heap = [item for item in self._heap if not item[2].cancelled]
        heapq.heapify(self._heap)
        self._compact_at = max(_COMPACT_FROM, 2 * len(self._heap))

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def _fire_earliest(self) -> int:
        """Fire every live timer due at the earliest deadline; return the count."""
        when = self._heap[0][0]
        self._now = max(self._now, when)
        due: list[_VirtualTimer] = []
        while self._heap and self._heap[0][0] == when:
            due.append(heapq.heappop(self._heap)[2])
        # Timers armed by these callbacks for this same instant wait for the
        # next round, after the tasks woken now have run.
        fired = 0
        for index, timer in enumerate(due):
            if not timer.cancelled:
                timer.cancel()  # fired: no longer pending (nor among the deadlines)
                fired += 1
                try:
                    timer.callback()
                except BaseException:
                    for rest in due[index + 1 :]:  # still due: they fire on the next move
                        heapq.heappush(self._heap, (when, next(self._order), rest))
                    raise
        return fired

    def _wake_driver(self) -> None:
        if not self.auto_jump:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._driver is None or self._driver.done() or self._driver.get_loop() is not loop:
            self._driver = loop.create_task(self._drive(loop), name="VirtualClock.auto_jump")
            _DRIVERS.add(self._driver)
            self._driver.add_done_callback(self._driver_done)

    def _driver_done(self, task: asyncio.Task[None]) -> None:
        if self._driver is task:  # a done driver would keep its loop alive after it closed
            self._driver = None

    async def _drive(self, loop: asyncio.AbstractEventLoop) -> None:
        # Runs only while timers are pending: each turn it yields once, and
        # when nothing else is ready it jumps to the next deadline.
        while self.auto_jump:
            self._drop_cancelled()
            if not self._heap:
                return
            if self._holds:
                self._released = asyncio.Event()
                await self._released.wait()
                self._released = None
                continue
            await asyncio.sleep(0)
            # A deadline reached under advance() is judged before time jumps past it.
            if _loop_busy(loop) or self._holds or self._still_held(loop):
                continue
            self._drop_cancelled()
            if self._heap:
                self._fire_earliest()


def _running_loop_or_none() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _current_task_or_none() -> asyncio.Task[object] | None:
    return asyncio.current_task() if _running_loop_or_none() is not None else None


def _can_hold_on(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a held advance can wait on ``loop``: open, and the one running if any runs."""
    if loop.is_closed():
        return False
    running = _running_loop_or_none()
    return running is None or running is loop  # none: advance() from sync code, run later


# Every clock's auto-jump driver, so that drivers do not count as work for one another: two
# clocks on one loop (two emulators in one test) would otherwise each see the other's driver
# ready on every turn, and neither would ever jump.
_DRIVERS: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()


def _loop_busy(
    loop: asyncio.AbstractEventLoop, movers: weakref.WeakSet[asyncio.Task[object]] | None = None
) -> bool:
    # asyncio exposes no public "is anything runnable?"; the ready queue of
    # CPython's loop is the only honest signal. Loops without it (uvloop) look
    # idle on every turn, so use manual advance() there.
    ready = getattr(loop, "_ready", None)
    if not ready:
        return False
    for handle in ready:
        owner = _task_of(handle)
        if owner is not None and (owner in _DRIVERS or (movers is not None and owner in movers)):
            continue  # a driver, or a task that moved time taking a bare turn (sleep(0))
        return True
    return False


def skipped_real_work(clock: Clock, work: asyncio.Future[object]) -> bool:
    """True when ``clock`` jumps by itself and ``work`` (a task) still waits on real work.

    Real work is what auto-jump cannot see, so a deadline reached now may have passed over a
    round trip not wrapped in :meth:`VirtualClock.hold`: a real-time timer (``asyncio.sleep``,
    a real timeout), a thread (``asyncio.to_thread``, ``run_in_executor``), or a socket read
    through asyncio's streams or a network client. Looked for in what the task itself waits
    on, so that a server on the same loop, say, is no reason. Best effort: asyncio says no
    more than which future a task waits on.
    """
    if not isinstance(clock, VirtualClock) or not clock.auto_jump:
        return False
    try:
        return _waits_on_real_work(work, [_MAX_WAIT_DEPTH], top=True)
    except Exception:  # asyncio internals it reads may differ (another loop): no hint
        return False


def _waits_on_real_work(waiting: object, budget: list[int], *, top: bool = False) -> bool:
    """Whether ``waiting`` (a task or future) waits, at the end of its chain, on real work.

    ``budget`` is the number of steps left for the whole walk, shared by its branches.
    """
    start = waiting
    awaiter: object = None
    while budget[0] > 0:  # a task awaiting a task awaiting...
        budget[0] -= 1
        if _waits_on_network(waiting):
            return True
        children = getattr(waiting, "_children", None)  # asyncio.gather's future
        if children is not None:
            return any(_waits_on_real_work(child, budget) for child in children)
        inner = getattr(waiting, "_fut_waiter", None)
        if inner is None:
            break
        awaiter, waiting = waiting, inner
    if not isinstance(waiting, asyncio.Future) or (top and waiting is start):
        return False
    if budget[0] <= 0:  # reading the loop's timers is a step too: the walk stays bounded
        return False
    budget[0] -= 1
    callbacks = getattr(waiting, "_callbacks", None) or ()
    if any(getattr(callback, "__name__", "") in _THREAD_CALLBACKS for callback, *_ in callbacks):
        return True
    # asyncio.wait_for's waiter (3.11), fed by its deadline: no work itself, but it guards
    # the work that releases the same waiter when done. Read from wait_for's frame, first.
    guarded = _guarded_by_wait_for(awaiter, waiting)
    if guarded is not None:
        return _waits_on_real_work(guarded, budget)
    scheduled = getattr(waiting.get_loop(), "_scheduled", None) or ()
    if len(scheduled) > _MAX_TIMERS_READ:  # best effort, at a bounded cost: no hint
        return False
    return any(not timer.cancelled() and _feeds(timer, waiting) for timer in scheduled)


def _guarded_by_wait_for(awaiter: object, waiter: object) -> object:
    """What asyncio.wait_for (3.11), awaiting ``waiter`` in task ``awaiter``, guards: its fut.

    Read from wait_for's own frame, rather than by searching every task on the loop.
    """
    for frame in _await_frames(awaiter):
        if frame.f_code.co_name == "wait_for" and frame.f_locals.get("waiter") is waiter:
            return frame.f_locals.get("fut")
    return None


def _feeds(timer: asyncio.TimerHandle, future: asyncio.Future[object]) -> bool:
    # asyncio.sleep's timer holds its future as an argument; a call_later(fut.set_result)
    # holds it as the bound method's owner. By identity: an argument's == may be anything.
    callback = getattr(timer, "_callback", None)
    arguments = getattr(timer, "_args", None) or ()
    return any(argument is future for argument in arguments) or (
        getattr(callback, "__self__", None) is future
    )


_MAX_WAIT_DEPTH = 16
# Past this many real timers on the loop (a load test's thousands of timeouts), reading them
# for every timeout would cost more than a hint is worth.
_MAX_TIMERS_READ = 512
# What asyncio hangs on a future fed by a thread's concurrent.futures.Future.
_THREAD_CALLBACKS = frozenset({"_call_check_cancel"})
# Where a coroutine reading a socket waits: asyncio's streams and socket calls, and the
# network clients a token provider uses.
_NETWORK_CODE = (
    "/asyncio/streams.py",
    "/asyncio/selector_events.py",
    "/asyncio/base_events.py",
    "/httpcore/",
    "/httpx/",
    "/aiohttp/",
    "/anyio/",
)


def _waits_on_network(waiting: object) -> bool:
    return any(
        part in frame.f_code.co_filename.replace("\\", "/")
        for frame in _await_frames(waiting)
        for part in _NETWORK_CODE
    )


def _await_frames(task: object) -> Iterator[FrameType]:
    """The frames of the chain of awaits inside ``task``, outermost first (none if no task)."""
    get_coro = getattr(task, "get_coro", None)
    coroutine = get_coro() if get_coro is not None else None
    for _ in range(64):
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "ag_frame", None)
        if frame is None:
            return
        yield frame
        coroutine = getattr(coroutine, "cr_await", None)


def _task_of(handle: asyncio.Handle) -> asyncio.Task[object] | None:
    # A task's next step is queued as a callback bound to the task (``__self__``). A task
    # of asyncio's pure-Python implementation is no asyncio.Task subclass: known by get_coro.
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    if asyncio.isfuture(owner) and hasattr(owner, "get_coro"):
        return owner  # type: ignore[return-value]
    return None
