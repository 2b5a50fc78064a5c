"""Calling the page's providers the way the widget does, and mapping every outcome.

The auth token provider is called with a callback and awaited on the clock
within the work stream's timeout; the context provider is called and its
object taken. Each way a provider can misbehave ends in the documented code
(1, 2, 3, or 4 for a callback with a value that is neither a string nor false to
JavaScript) with a reason that says what it did.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping

from .auth import describe_token, require_token
from .clock import Clock, ClockLimitError, describe_seconds, skipped_real_work
from .errors import ErrorCode, LcwError, describe_failure
from .events import EntryKind, Recorder

__all__ = [
    "AuthTokenCallback",
    "AuthTokenProvider",
    "BotAuthTokenProvider",
    "ContextProvider",
    "Recorder",
    "collect_context",
    "describe_token",
    "request_token",
    "require_token",
]

AuthTokenCallback = Callable[..., None]
AuthTokenProvider = Callable[[AuthTokenCallback], object]
ContextProvider = Callable[[], object]
# setBotAuthTokenProvider's fn(botTokenUrl, callback); callback({"show": bool}).
BotAuthTokenProvider = Callable[[str, Callable[..., None]], object]


async def request_token(
    provider: AuthTokenProvider,
    *,
    clock: Clock,
    timeout: float,
    record: Recorder,
) -> str:
    """Call ``provider(callback)`` and return the token it calls back with.

    Raises :class:`LcwError` with code 2 when the provider raises, 3 when it
    does not call back in time or calls back with what JavaScript reads as false (no
    token), 4 when it calls back with any other value that is not a string.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[object] = loop.create_future()
    timed_out = False
    returned: object = None

    def callback(token: object = None, *_: object) -> None:
        if answer.done():
            why = (
                "after the timeout"
                if timed_out
                else "after the chat start was cancelled"
                if answer.cancelled()
                else "a second time"
            )
            record(
                EntryKind.NOTE,
                "callback ignored",
                {
                    "why": f"the provider called back {why}; only the first callback counts",
                    "token": describe_token(token),
                },
            )
            return
        record(EntryKind.PROVIDER, "auth token callback", {"token": describe_token(token)})
        answer.set_result(token)

    def provider_finished(task: asyncio.Future[object]) -> None:
        nonlocal returned
        if task.cancelled():
            if not answer.done():
                answer.set_exception(
                    LcwError(
                        ErrorCode.AUTH_PROVIDER_FAILED,
                        "the async provider was cancelled before it called back",
                    )
                )
            return
        exc = task.exception()
        if exc is None:
            returned = task.result()
        elif not answer.done():
            answer.set_exception(exc if _clock_ran_out(exc) else _auth_provider_raised(exc))
        elif timed_out:  # the wait ended without an answer; it did not call back
            record(
                EntryKind.NOTE,
                "provider raised after the timeout",
                {"error": describe_failure(exc)},
            )
        elif answer.cancelled():  # the chat start was cancelled while it worked
            record(
                EntryKind.NOTE,
                "provider raised after the start was cancelled",
                {"error": describe_failure(exc)},
            )
        else:
            record(
                EntryKind.NOTE,
                "provider raised after calling back",
                {"error": describe_failure(exc)},
            )

    record(EntryKind.PROVIDER, "auth token provider called", {"timeout": timeout})
    try:
        result = provider(callback)
    except (Exception, asyncio.CancelledError) as exc:
        # Raised by the provider itself (it runs synchronously here), so it is the
        # provider failing, not our task being cancelled. As for async providers,
        # the first outcome wins: a token already called back still counts.
        if not answer.done():
            if _clock_ran_out(exc):
                raise  # as it is: "from" itself, a walk down its causes would never end
            raise _auth_provider_raised(exc) from exc
        record(
            EntryKind.NOTE, "provider raised after calling back", {"error": describe_failure(exc)}
        )
        result = None
    task: asyncio.Future[object] | None = None
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        task.add_done_callback(provider_finished)
    else:
        returned = result
    try:
        # A provider that called back at once (the usual kind) leaves nothing to wait for.
        token = answer.result() if answer.done() else await clock.wait_for(answer, timeout)
    except asyncio.CancelledError:
        record(EntryKind.NOTE, "chat start cancelled while the provider worked", {})
        raise
    except TimeoutError:
        # The provider keeps running, as a page's promise would; whatever it
        # calls back later is ignored and noted.
        timed_out = True
        hint = ""
        if returned is not None:
            hint = (
                f"; it returned {describe_token(returned)} instead, but the widget only "
                "takes the token passed to callback(token)"
            )
        elif task is not None and not task.done() and skipped_real_work(clock, task):
            hint = _SKIPPED_REAL_WORK.format(round_trip="a token service")
        raise LcwError(
            ErrorCode.NO_AUTH_TOKEN,
            f"the provider did not call back within {describe_seconds(timeout)} s{hint}",
        ) from None
    return require_token(token)


_SKIPPED_REAL_WORK = (
    " of virtual time, while it still waited on real work (a timer, a thread or a socket): a "
    "virtual clock moves to the next deadline when no task is ready, also over a round trip "
    "to {round_trip}. Wrap the real I/O in clock.hold(), or run on a RealClock"
)


def _clock_ran_out(exc: BaseException) -> bool:
    """Whether a provider's exception is the virtual clock reaching its end, passed on as is.

    That is the emulator's limit, not the page's provider failing (a scenario's delay, a
    sleep): in a browser the wait would just go on, so it must not be told as code 1 or 2,
    which a check could then claim.
    """
    return isinstance(exc, ClockLimitError)


def _auth_provider_raised(exc: BaseException) -> LcwError:
    return LcwError(ErrorCode.AUTH_PROVIDER_FAILED, f"the provider raised {describe_failure(exc)}")


def _context_provider_raised(exc: BaseException) -> LcwError:
    return LcwError(
        ErrorCode.CONTEXT_PROVIDER_FAILED, f"the context provider raised {describe_failure(exc)}"
    )


async def _context_answer(awaitable: Awaitable[object]) -> object:
    # Turn the provider's own exceptions into code 1 here, so that a TimeoutError it raises
    # is not mistaken for our deadline passing.
    try:
        return await awaitable
    except Exception as exc:
        if _clock_ran_out(exc):
            raise
        raise _context_provider_raised(exc) from exc


async def _given_up(work: asyncio.Future[object]) -> None:
    # Cancelled and awaited, as a wait that is not shielded cancels what it waits on: the
    # provider's own cleanup runs before the chat start goes on, and nothing outlives it.
    work.cancel()
    current = asyncio.current_task()
    cancelling = current.cancelling() if current is not None else 0
    try:
        await work
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > cancelling:
            raise  # the chat start itself was cancelled meanwhile
    except Exception:  # failing on its way out changes nothing: it was given up
        pass


async def collect_context(
    provider: ContextProvider,
    *,
    clock: Clock,
    timeout: float,
    record: Recorder,
) -> Mapping[str, object]:
    """Call the context provider and return the context object it gives.

    Raises :class:`LcwError` code 1 when it raises, answers with something
    other than an object, or (if async) does not answer within ``timeout``.
    """
    record(EntryKind.PROVIDER, "context provider called", {})
    try:
        result = provider()
    except (Exception, asyncio.CancelledError) as exc:
        if _clock_ran_out(exc):
            raise
        raise _context_provider_raised(exc) from exc
    if inspect.isawaitable(result):
        work = asyncio.ensure_future(_context_answer(result))
        try:
            # Shielded, so that at the deadline it can still be asked what it waited on.
            result = await clock.wait_for(asyncio.shield(work), timeout)
        except TimeoutError:
            skipped = skipped_real_work(clock, work)
            await _given_up(work)
            hint = _SKIPPED_REAL_WORK.format(round_trip="a service") if skipped else ""
            raise LcwError(
                ErrorCode.CONTEXT_PROVIDER_FAILED,
                f"the context provider did not answer within {describe_seconds(timeout)} s{hint}",
            ) from None
        except asyncio.CancelledError:
            await _given_up(work)
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                if inspect.iscoroutine(result) and (
                    inspect.getcoroutinestate(result) == inspect.CORO_CREATED
                ):
                    # Cancelled before the provider's coroutine ever ran: closing it spares
                    # the page a "coroutine was never awaited" warning for a start it gave up.
                    result.close()
                raise  # the chat start itself is being cancelled
            raise LcwError(
                ErrorCode.CONTEXT_PROVIDER_FAILED,
                "the context provider was cancelled before it answered",
            ) from None
    if not isinstance(result, Mapping):
        raise LcwError(
            ErrorCode.CONTEXT_PROVIDER_FAILED,
            f"the context provider returned {describe_token(result)}; it must return an object "
            "of {key: {value, isDisplayable}}",
        )
    record(EntryKind.PROVIDER, "context provider answered", {"keys": sorted(map(str, result))})
    return result
