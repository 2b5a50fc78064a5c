"""``Microsoft.Omnichannel.LiveChatWidget.SDK``, method for method.

Each documented method exists under its snake_case name and, as an alias, its
exact JavaScript name, so documentation samples port line by line. Calls made
before ``lcw:ready`` are queued and replayed in order when it fires (or raise
in strict mode, where the real widget would fail). Methods that do work in the
real widget asynchronously (startChat, closeChat, getAgentAvailability) return
an awaitable that is already running: ``await`` it for the outcome, or drop it
as a page would.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from .auth import falsy_in_javascript
from .errors import (
    ErrorCode,
    LcwError,
    SdkUsageError,
    WidgetNotReadyError,
    hide_for_lcw_errors,
)
from .events import EntryKind, closest_name, function_name
from .providers import AuthTokenProvider, BotAuthTokenProvider, ContextProvider, describe_token

if TYPE_CHECKING:
    from .service import AgentAvailability
    from .session import ChatSession
    from .widget import Widget

__all__ = ["JAVASCRIPT_METHODS", "LiveChatSDK", "require_function"]

T = TypeVar("T")
A = TypeVar("A")


class _Turn:
    """The loop turn a page made queued calls in: over once the loop moves on."""

    __slots__ = ("over",)

    def __init__(self) -> None:
        self.over = False

    def end(self) -> None:
        self.over = True


@attrs.define
class _QueuedCall:
    method: str
    action: Callable[[], object]
    future: asyncio.Future[Any] | None = None  # set for calls that return an awaitable
    turn: _Turn | None = None
    provider: str | None = None  # the provider a setter or remover sets: "auth_token_provider"


class _CallQueue:
    """The calls made before ``lcw:ready``, each with the loop turn it was made in."""

    __slots__ = ("calls", "overtaken", "turn")

    def __init__(self) -> None:
        self.calls: list[_QueuedCall] = []
        self.turn: _Turn | None = None
        # Providers set since lcw:ready fired, by the method that set them: a queued call
        # for one of them was made earlier, so replaying it would undo the page's later call.
        self.overtaken: dict[str, str] = {}

    def add(self, call: _QueuedCall) -> None:
        turn = self.turn
        if turn is None or turn.over:
            turn = self.turn = _Turn()
            try:
                asyncio.get_running_loop().call_soon(turn.end, context=_NO_CONTEXT)
            except RuntimeError:  # made before any loop runs: nothing can run between calls
                turn.over = True
        call.turn = turn
        self.calls.append(call)


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    # A page drops startChat's promise; the failure is already an lcw:error
    # event, so it must not also surface as "exception was never retrieved".
    if not future.cancelled():
        future.exception()


# _mark_retrieved reads no context variable, so it runs in this one empty context rather
# than in a copy of the caller's made for each call (one object fewer per call).
_NO_CONTEXT = contextvars.Context()


def _settle(future: asyncio.Future[T], action: Callable[[], T]) -> None:
    """Run ``action`` and settle ``future`` with its outcome, as a task's first step would."""
    if future.cancelled():  # as a task cancelled before its first step: nothing runs
        return
    try:
        result = action()
    except asyncio.CancelledError:
        future.cancel()  # as a task whose coroutine raised it
    except Exception as exc:
        future.set_exception(exc)
        _mark_retrieved(future)
    else:
        future.set_result(result)


def _settle_from(future: asyncio.Future[Any], work: asyncio.Future[Any]) -> None:
    """Settle the page's ``future`` with ``work``'s outcome; cancelling it cancels the work."""

    def copy(done: asyncio.Future[Any]) -> None:
        if future.done():
            return
        if done.cancelled():
            future.cancel()
        elif done.exception() is not None:
            future.set_exception(done.exception())  # type: ignore[arg-type]
        else:
            future.set_result(done.result())

    def cancel_work(page_side: asyncio.Future[Any]) -> None:
        if page_side.cancelled():
            work.cancel()

    work.add_done_callback(copy)
    future.add_done_callback(cancel_work)


def _running_loop(method: str) -> asyncio.AbstractEventLoop:
    # Checked before anything is recorded, so the timeline never shows a call that did not run.
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise SdkUsageError(
            f"{method}() needs a running asyncio event loop (under anyio, its asyncio backend; "
            f"trio is not supported): await it in async code, or in a sync test pass the "
            f"method uncalled, lcw.run(lcw.sdk.{method})"
        ) from None


async def _reported(action: Callable[[A], Awaitable[T]], argument: A) -> T:
    """``await action(argument)``, as the task a page may drop: see :func:`_mark_retrieved`."""
    __tracebackhide__ = hide_for_lcw_errors
    try:
        return await action(argument)
    except (asyncio.CancelledError, GeneratorExit):
        # A cancelled task logs nothing; a task collected while pending is closed with no
        # loop running, and has nothing to mark.
        raise
    except BaseException:
        # Marked once the task holds the failure. A done callback would do the same, at the
        # cost of two more objects in every chat start and one more loop step.
        task = cast("asyncio.Task[T]", asyncio.current_task())  # this runs as a task's coroutine
        asyncio.get_running_loop().call_soon(_mark_retrieved, task, context=_NO_CONTEXT)
        raise


async def _returning(action: Callable[[], T]) -> T:
    # A queued call that returns an awaitable is replayed as one, whether or not its work waits.
    return action()


async def _ask_agent_availability(widget: Widget) -> AgentAvailability:
    return await widget.agent_availability()


def require_function(method: str, value: object, parameter: str) -> None:
    """Refuse at once a ``parameter`` of ``method`` that is not a function, showing it."""
    if not callable(value):
        # Shown as a token is: what was passed by mistake is often the token itself.
        shown = f"str {describe_token(value)}" if isinstance(value, str) else describe_token(value)
        raise SdkUsageError(f"{method}: {parameter} must be a function, got {shown}")


class LiveChatSDK:
    """The live chat SDK of one :class:`~lcw_emulator.widget.Widget`."""

    __slots__ = ("_queue", "_widget")

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._queue: _CallQueue | None = None  # made by the first call before lcw:ready

    @property
    def queued(self) -> list[str]:
        """Names of the calls waiting for ``lcw:ready``, in order."""
        return [call.method for call in self._queue.calls] if self._queue else []

    def queued_call(self, awaitable: object) -> str | None:
        """The method whose queued call returned ``awaitable``, waiting for ``lcw:ready``."""
        for call in self._queue.calls if self._queue else ():
            if call.future is awaitable:
                return call.method
        return None

    # -- plumbing -------------------------------------------------------------

    def _require_sdk(self, method: str) -> Widget:
        # Where the page would find no SDK object: the scripts failed to load, or (strict)
        # lcw:ready has not fired.
        widget = self._widget
        if widget.load_error is not None:
            raise LcwError(
                ErrorCode.WIDGET_LOAD_FAILED,
                f"{method}() cannot run: the widget failed to load ({widget.load_error.reason})",
            )
        if widget.strict and not widget.is_ready:
            raise WidgetNotReadyError(method)
        return widget

    def _runs_now(self, method: str, detail: Mapping[str, Any]) -> bool:
        widget = self._require_sdk(method)
        if widget.is_ready:
            widget.record(EntryKind.SDK_CALL, method, detail)
            return True
        widget.record(EntryKind.SDK_CALL, method, {**detail, "queued": True})
        return False

    def _get(self, method: str) -> None:
        # A getter has nothing to queue: before lcw:ready it answers at once (unless strict).
        self._require_sdk(method).record(EntryKind.SDK_CALL, method)

    def _call(
        self,
        method: str,
        detail: Mapping[str, Any],
        action: Callable[[], object],
        provider: str | None = None,
    ) -> None:
        if self._runs_now(method, detail):
            if provider is not None and self._queue is not None:  # queued calls not yet made
                self._queue.overtaken[provider] = method
            action()
        else:
            self._enqueue(_QueuedCall(method, action, provider=provider))

    def _call_async(
        self,
        method: str,
        detail: Mapping[str, Any],
        action: Callable[[A], Awaitable[T]],
        argument: A,
    ) -> asyncio.Future[T]:
        loop = _running_loop(method)
        future: asyncio.Future[T]
        if self._runs_now(method, detail):
            # The action and its argument, not a closure over them: a closure is four more
            # objects held by every chat start in flight, for the collector to walk.
            return asyncio.ensure_future(_reported(action, argument))
        future = loop.create_future()
        self._enqueue(_QueuedCall(method, functools.partial(action, argument), future))
        future.add_done_callback(_mark_retrieved, context=_NO_CONTEXT)
        return future

    def _call_soon(
        self, method: str, detail: Mapping[str, Any], action: Callable[[], T]
    ) -> asyncio.Future[T]:
        """Like :meth:`_call_async` for a method whose work never waits.

        It runs on the next loop turn, exactly where a task made now would take its first
        step (both go through ``call_soon``), so it keeps its order with a startChat made
        just before it and listeners added after the call still hear its events. It only
        saves the task and coroutine that nothing would wait in.
        """
        loop = _running_loop(method)
        runs_now = self._runs_now(method, detail)
        future: asyncio.Future[T] = loop.create_future()
        if runs_now:
            loop.call_soon(_settle, future, action)
        else:
            future.add_done_callback(_mark_retrieved, context=_NO_CONTEXT)
            self._enqueue(_QueuedCall(method, lambda: _returning(action), future))
        return future

    def _enqueue(self, call: _QueuedCall) -> None:
        if self._queue is None:
            self._queue = _CallQueue()
        self._queue.add(call)

    async def replay_queued(self) -> None:
        """Make the calls queued before ``lcw:ready`` again, in order, as the page made them.

        Each is made as it would have been right after ``lcw:ready``: a call that returns an
        awaitable starts and is not waited for, so a slow chat start does not hold back the
        calls queued behind it. Calls the page made on a later loop turn are made after a
        turn too, so a chat start reads the providers the page's queued calls had set when
        it called, not the ones a later queued call set. A call whose awaitable the page
        cancelled is not made. Calls the page makes meanwhile (its lcw:ready listeners, say)
        run at once, as any call after lcw:ready does, and being the page's later calls they
        win: a queued setter of a provider one of them set is not made (a note says so), so a
        queued start reads the provider a synchronous listener set (an async listener's,
        once it has awaited, comes after the queued calls).
        """
        queue = self._queue
        if queue is None:
            return
        try:
            await self._replay(queue)
        finally:
            if queue.calls:  # cancelled while waiting: the rest are made now, in order
                self._replay_now(queue.calls)
            if self._queue is queue:
                self._queue = None

    async def _replay(self, queue: _CallQueue) -> None:
        calls = queue.calls
        started_in: _Turn | None = None  # the turn of the last call that started work
        while calls:
            if started_in is not None and calls[0].turn is not started_in:
                # The page made the next call after a loop turn, in which the work started
                # took its first step: so it does here. A bare yield, not a wait on any clock.
                started_in = None
                await asyncio.sleep(0)
                continue
            call = calls.pop(0)
            if self._replay_one(call):
                started_in = call.turn

    def _replay_now(self, calls: list[_QueuedCall]) -> None:
        while calls:
            self._replay_one(calls.pop(0))

    def _replay_one(self, call: _QueuedCall) -> bool:
        """Make one queued call; True when it started work that runs on."""
        if call.future is not None and call.future.cancelled():
            self._widget.record(
                EntryKind.NOTE, "queued call cancelled: not replayed", {"method": call.method}
            )
            return False
        queue, provider = self._queue, call.provider
        overtaken_by = queue.overtaken.get(provider) if queue and provider else None
        if overtaken_by is not None:
            self._widget.record(
                EntryKind.NOTE,
                "queued call overtaken: not replayed",
                {"method": call.method, "by": overtaken_by},
            )
            return False
        self._widget.record(EntryKind.NOTE, "replaying queued call", {"method": call.method})
        if call.future is None:
            call.action()
            return False
        # A call queued with a future is one whose action returns an awaitable.
        started = asyncio.ensure_future(cast(Awaitable[Any], call.action()))
        _settle_from(call.future, started)
        return True

    def fail_queued(self, error: LcwError) -> None:
        """The widget failed to load: every queued call that awaits an answer gets ``error``."""
        for call in self._queue.calls if self._queue else ():
            self._widget.record(
                EntryKind.NOTE,
                "queued call dropped: the widget failed to load",
                {"method": call.method},
            )
            if call.future is not None and not call.future.done():
                call.future.set_exception(error)
        self._queue = None

    def drop_queued(self) -> None:
        """The page reloaded: the calls its old scripts queued die with them (cancelled)."""
        for call in self._queue.calls if self._queue else ():
            self._widget.record(
                EntryKind.NOTE, "queued call dropped: the page reloaded", {"method": call.method}
            )
            if call.future is not None:
                call.future.cancel()
        if self._queue is not None:
            self._queue.calls.clear()  # a replay waiting a turn holds this list: it ends too
        self._queue = None

    # -- context provider -----------------------------------------------------

    def set_context_provider(self, context_provider: ContextProvider) -> None:
        """Set the function that returns the custom context for unauthenticated chats."""
        require_function("setContextProvider", context_provider, "contextProvider")
        self._call(
            "setContextProvider",
            {"provider": function_name(context_provider)},
            lambda: setattr(self._widget, "context_provider", context_provider),
            "context_provider",
        )

    def get_context_provider(self) -> ContextProvider | None:
        """The current context provider, or ``None`` (JavaScript's null)."""
        self._get("getContextProvider")
        return self._widget.context_provider

    def remove_context_provider(self) -> None:
        """Remove the context provider: later chats take context from customContext only."""
        self._call(
            "removeContextProvider",
            {},
            lambda: setattr(self._widget, "context_provider", None),
            "context_provider",
        )

    # -- auth token provider --------------------------------------------------

    def set_auth_token_provider(self, auth_token_provider: AuthTokenProvider) -> None:
        """Set the function that, called with a callback, calls it back with a JWT.

        Raises :class:`SdkUsageError` at once when it is not a function.
        """
        require_function("setAuthTokenProvider", auth_token_provider, "authTokenProvider")
        self._call(
            "setAuthTokenProvider",
            {"provider": function_name(auth_token_provider)},
            lambda: setattr(self._widget, "auth_token_provider", auth_token_provider),
            "auth_token_provider",
        )

    def get_auth_token_provider(self) -> AuthTokenProvider | None:
        """The current auth token provider, or ``None`` (JavaScript's null)."""
        self._get("getAuthTokenProvider")
        return self._widget.auth_token_provider

    def remove_auth_token_provider(self) -> None:
        """Remove the auth token provider: an authenticated chat start then fails with code 8."""
        self._call(
            "removeAuthTokenProvider",
            {},
            lambda: setattr(self._widget, "auth_token_provider", None),
            "auth_token_provider",
        )

    # -- chats ----------------------------------------------------------------

    def start_chat(
        self,
        options: Mapping[str, object] | None = None,
        *,
        custom_context: Mapping[str, object] | None = None,
        in_new_window: bool | None = None,
    ) -> asyncio.Future[ChatSession]:
        """Start a chat; ``await`` it for the :class:`ChatSession`.

        Returning the session is ours: the real method returns nothing.

        ``options`` is the JavaScript object ``{inNewWindow, customContext}``;
        the keyword arguments are the same in Python spelling. customContext
        overrides whatever the context provider would give.
        """
        if options is None and custom_context is None and in_new_window is None:
            return self._call_async("startChat", {}, self._widget.start_chat, None)
        if options is not None and not isinstance(options, Mapping):
            raise SdkUsageError(
                f"startChat: options must be an object, got {type(options).__name__}"
            )
        merged = dict(options or {})
        if custom_context is not None:
            merged["customContext"] = custom_context
        if in_new_window is not None:
            merged["inNewWindow"] = in_new_window
        context = merged.get("customContext")
        if context is not None and not isinstance(context, Mapping):
            raise SdkUsageError(
                f"startChat: customContext must be an object, got {type(context).__name__}"
            )
        detail: dict[str, Any] = {}
        if context is not None:
            detail["customContext"] = sorted(map(str, context))
        if not falsy_in_javascript(merged.get("inNewWindow")):  # as a page's [] is: true
            detail["inNewWindow"] = True
        started = self._call_async("startChat", detail, self._widget.start_chat, context)
        self._note_unread("startChat", "options", merged, ("inNewWindow", "customContext"))
        return started

    def close_chat(self) -> asyncio.Future[None]:
        """Close the current chat (``lcw:closeChat``, then ``lcw:onClose``)."""
        return self._call_soon("closeChat", {}, self._widget.close_current_chat)

    def start_proactive_chat(
        self,
        notification_ui_config: Mapping[str, object],
        show_prechat: bool = True,
        options: Mapping[str, object] | None = None,
        *,
        in_new_window: bool | None = None,
    ) -> None:
        """Show a proactive chat invitation (``{message}``; default message when absent).

        ``notificationUIConfig`` is required, as documented; ``{}`` shows the default message
        (a page's ``null`` is refused with :class:`SdkUsageError`).
        ``options`` is the JavaScript object ``{inNewWindow}``; ``in_new_window`` is the same
        in Python spelling, as for :meth:`start_chat`.
        """
        config = notification_ui_config
        if config is None:
            raise SdkUsageError(
                "startProactiveChat: notificationUIConfig is required: an object such as "
                "{message: ...} ({} shows the default message)"
            )
        if not isinstance(config, Mapping):
            raise SdkUsageError(
                "startProactiveChat: notificationUIConfig must be an object ({message}), "
                f"got {type(config).__name__}"
            )
        message = config.get("message")
        if message is not None and not isinstance(message, str):
            raise SdkUsageError("startProactiveChat: notificationUIConfig.message must be a string")
        if options is not None and not isinstance(options, Mapping):
            raise SdkUsageError(
                f"startProactiveChat: options must be an object ({{inNewWindow}}), "
                f"got {type(options).__name__}"
            )
        if in_new_window is not None:
            options = {**(options or {}), "inNewWindow": in_new_window}
        opens_new_window = not falsy_in_javascript((options or {}).get("inNewWindow"))
        self._call(
            "startProactiveChat",
            {"message": message, "showPrechat": show_prechat},
            lambda: self._widget.start_proactive_chat(message, show_prechat, opens_new_window),
        )
        self._note_unread("startProactiveChat", "notificationUIConfig", config, ("message",))
        self._note_unread("startProactiveChat", "options", options or {}, ("inNewWindow",))

    def _note_unread(
        self, method: str, argument: str, given: Mapping[str, object], known: tuple[str, ...]
    ) -> None:
        # JavaScript ignores a key the SDK does not read, so a misspelt customContext would
        # start a chat with no context and no word why: the timeline says so.
        for key in given:
            if key not in known:
                self._widget.record(
                    EntryKind.NOTE,
                    "option the SDK does not read: ignored",
                    {
                        "method": method,
                        "option": f"{argument}.{key}",
                        "closest": closest_name(str(key), known),
                    },
                )

    def get_agent_availability(self) -> asyncio.Future[AgentAvailability]:
        """Ask whether agents are available for the queue the context routes to.

        Answers are kept for 2 minutes while the context stays the same; past 100 calls a
        minute per org that reach the service, HTTP 429.
        """
        return self._call_async("getAgentAvailability", {}, _ask_agent_availability, self._widget)

    def set_bot_auth_token_provider(self, bot_auth_token_provider: BotAuthTokenProvider) -> None:
        """Set ``fn(botTokenUrl, callback)``; ``callback({"show": bool})`` shows sign-in."""
        require_function("setBotAuthTokenProvider", bot_auth_token_provider, "botAuthTokenProvider")
        self._call(
            "setBotAuthTokenProvider",
            {"provider": function_name(bot_auth_token_provider)},
            lambda: setattr(self._widget, "bot_auth_token_provider", bot_auth_token_provider),
            "bot_auth_token_provider",
        )

    # The exact JavaScript names, so documentation samples port line by line.
    setContextProvider = set_context_provider
    getContextProvider = get_context_provider
    removeContextProvider = remove_context_provider
    setAuthTokenProvider = set_auth_token_provider
    getAuthTokenProvider = get_auth_token_provider
    removeAuthTokenProvider = remove_auth_token_provider
    startChat = start_chat
    closeChat = close_chat
    startProactiveChat = start_proactive_chat
    getAgentAvailability = get_agent_availability
    setBotAuthTokenProvider = set_bot_auth_token_provider


# Every documented SDK method by its JavaScript name: the camelCase aliases above.
JAVASCRIPT_METHODS = frozenset(
    name for name, value in vars(LiveChatSDK).items() if callable(value) and name != name.lower()
)
