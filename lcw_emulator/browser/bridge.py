"""The bridge between a page and one Python :class:`~lcw_emulator.widget.Widget`.

The page's shim (``shim.js``) sends the SDK calls it receives; the bridge makes
them on ``widget.sdk`` and answers. When the widget calls a provider the page
set, the bridge asks the page to call its JavaScript function and hands the
page's ``callback(token)`` (or returned context) back to the widget, so the
widget sees an async provider that calls back, exactly as a Python one. Every
``lcw:*`` event the widget fires goes to the page, and so does every timeline
entry, in order.

The bridge speaks JSON text and knows nothing of the transport: the server
(:mod:`lcw_emulator.browser.server`) feeds it WebSocket messages and sends what
it emits. Protocol (one JSON object per message; page to server):

- ``{"type": "call", "id", "method", "args"}``: an SDK method, by its JavaScript
  name. A function argument travels as ``{"$provider": HANDLE, "name": NAME}``.
- ``{"type": "load", "readyAck"?: true}``: the page is ready for the widget to load
  (``lcw:ready``). With ``readyAck``, the page says ``{"type": "ready-dispatched"}`` once
  its own ``lcw:ready`` listeners have run (after the calls they made, in the same batch),
  and the queued calls replay only then, as they do after a Python page's listeners.
- ``{"type": "callback", "request", "args"}``: the page's provider called back.
- ``{"type": "returned", "request", "value"}``: the page's provider returned
  (after its promise settled, for an async one).
- ``{"type": "threw", "request", "error"}``: the page's provider threw (or rejected).
- ``{"type": "batch", "messages": [...]}``: what the page sent in one task, handled in one
  pass, so the calls in it keep the loop turn they would have in Python; at most 1000
  messages (the shim splits a longer one), each refused alone if it cannot be handled.

Server to page: ``hello``, ``event`` (``name``, ``detail``), ``timeline``
(``entries``), ``result`` (``id``, ``ok``, ``value`` or ``error``), ``provide``
(``kind`` auth/context/bot, ``request``, ``handle``) and ``protocol-error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import attrs

from ..auth import DEFAULT_PROVIDER_TIMEOUT
from ..clock import describe_instant, limit_seconds
from ..errors import ForeignError, LcwError, describe_failure, wrong_type
from ..events import EntryKind, LcwEvent
from ..sdk import JAVASCRIPT_METHODS
from ..session import ChatSession
from ..widget import CustomEvent, Widget

__all__ = ["PROTOCOL_VERSION", "SDK_METHODS", "PageBridge", "PageScriptError", "describe_session"]

PROTOCOL_VERSION = 1
# Messages in one batch (one task of the page): far more than any page makes at once.
MAX_BATCH = 1000

SDK_METHODS = JAVASCRIPT_METHODS

Send = Callable[[str], None]


class PageScriptError(ForeignError):
    """The page's JavaScript provider threw, or its promise rejected; the text is the page's."""


def describe_session(session: ChatSession) -> dict[str, Any]:
    """A chat session as the page sees it: state, queue and the resolved context."""
    return {
        "id": session.id,
        "state": session.state.value,
        "queue": session.queue.name,
        "authenticated": session.authenticated,
        "customerId": session.customer_id,
        "contextSource": session.context_source,
        "context": session.context,
        "variables": [
            {
                "name": variable.name,
                "value": variable.value,
                "type": variable.type.value,
                "isDisplayable": variable.is_displayable,
                "created": variable.created,
            }
            for variable in session.resolution.variables
        ],
        "dropped": [item.to_dict() for item in session.dropped],
        "created": list(session.created),
        "notes": list(session.notes),
    }


@attrs.define(eq=False)
class _PageRequest:
    """One call of a page provider, waiting for the page to run it."""

    kind: str  # "auth", "context" or "bot"
    callback: Callable[..., None] | None
    outcome: asyncio.Future[object]  # what the JavaScript function returned, or its error
    hold: contextlib.ExitStack
    wall_limit: asyncio.TimerHandle | None = None

    def release(self) -> None:
        """The page's part is over: virtual time may move again (idempotent)."""
        if self.wall_limit is not None:
            self.wall_limit.cancel()
        self.hold.close()


def _provider_handle(value: object) -> tuple[str, str] | None:
    if isinstance(value, Mapping) and isinstance(value.get("$provider"), str):
        name = value.get("name")
        return value["$provider"], name if isinstance(name, str) and name else "anonymous"
    return None


def page_seconds(page_timeout: float | None) -> float | None:
    """A page timeout as real seconds above 0 (``None``: the work stream's provider timeout)."""
    if page_timeout is None:
        return None
    return limit_seconds(page_timeout, "page_timeout")


class PageBridge:
    """Carries one page's SDK calls to ``widget`` and the widget's events back.

    ``send`` takes each outgoing JSON text (the server queues it for the socket).
    ``page_timeout`` bounds, in wall seconds, how long the clock is held for the
    page to run a provider; by default the work stream's provider timeout.
    """

    def __init__(self, widget: Widget, send: Send, *, page_timeout: float | None = None) -> None:
        if not isinstance(widget, Widget):
            raise wrong_type("widget", "a Widget (org.widget(work_stream))", widget)
        page_timeout = page_seconds(page_timeout)
        self.widget = widget
        self._send = send
        self._sent_entries = 0
        self._requests: dict[int, _PageRequest] = {}
        self._request_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        auth = widget.work_stream.auth
        self.page_timeout = (
            page_timeout
            if page_timeout is not None
            else (auth.provider_timeout if auth is not None else DEFAULT_PROVIDER_TIMEOUT)
        )
        self._ready_ack = False  # the page says when its lcw:ready listeners have run
        self._ready_dispatched: asyncio.Future[None] | None = None
        widget.ready_listeners_elsewhere = self._page_ready_listeners
        for event in LcwEvent:
            widget.on(event.value, self._forward)

    # -- outgoing -------------------------------------------------------------

    def _emit(self, message: Mapping[str, Any]) -> None:
        if not self.closed:
            try:
                text = json.dumps(message, default=str, allow_nan=False)
            except ValueError:  # NaN or an infinity, which the page's JSON.parse refuses
                text = json.dumps(_as_javascript_json(message), default=str, allow_nan=False)
            self._send(text)

    def flush_timeline(self) -> None:
        """Send the timeline entries the page has not seen yet."""
        entries = list(self.widget.timeline)[self._sent_entries :]
        if not entries:
            return
        self._sent_entries += len(entries)
        self._emit(
            {
                "type": "timeline",
                "entries": [
                    {
                        "at": entry.at,
                        "kind": entry.kind.value,
                        "name": entry.name,
                        "detail": dict(entry.detail),
                    }
                    for entry in entries
                ],
            }
        )

    def hello(self) -> None:
        """Greet the page: which work stream it talks to, and the time there."""
        now = self.widget.clock.now()
        self._emit(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "workStream": self.widget.work_stream.name,
                "authenticated": self.widget.work_stream.requires_authentication,
                "clock": {
                    "kind": type(self.widget.clock).__name__,
                    "now": now,
                    "shown": describe_instant(now),
                },
            }
        )

    def _forward(self, event: CustomEvent) -> None:
        self.flush_timeline()
        self._emit({"type": "event", "name": event.type, "detail": event.detail})

    def _reply(self, call_id: object, value: object) -> None:
        self.flush_timeline()
        self._emit({"type": "result", "id": call_id, "ok": True, "value": value})

    def _reply_error(self, call_id: object, error: Exception) -> None:
        self.flush_timeline()
        if isinstance(error, LcwError):
            detail: dict[str, Any] = {
                "name": type(error).__name__,
                "code": int(error.code) if error.code is not None else None,
                "message": error.message,
                "reason": error.reason,
            }
        else:
            detail = {"name": type(error).__name__, "code": None, "message": str(error)}
            detail["reason"] = detail["message"]
        self._emit({"type": "result", "id": call_id, "ok": False, "error": detail})

    def _protocol_error(self, reason: str) -> None:
        self._emit({"type": "protocol-error", "reason": reason})

    def refuse(self, reason: str) -> None:
        """Tell the page its message was refused (``protocol-error``), and go on."""
        self._protocol_error(reason[:500])

    # -- incoming -------------------------------------------------------------

    def receive_text(self, text: str) -> None:
        """Handle one message from the page (JSON text)."""
        try:
            message = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
        except _NotStringified as exc:
            self._protocol_error(
                f"a message must be one JSON object as JSON.stringify writes it: {exc}"
            )
            return
        except (ValueError, RecursionError):  # RecursionError: nested too deep to read
            self._protocol_error("a message must be one JSON object")
            return
        if not isinstance(message, dict):
            self._protocol_error("a message must be one JSON object")
            return
        self.receive(message)

    def receive(self, message: Mapping[str, Any]) -> None:
        """Handle one decoded message from the page.

        Never blocks: a provider's answer arrives on the same socket while a
        startChat waits for it, so anything that waits runs as its own task.
        """
        kind = message.get("type")
        if kind == "batch":
            self._batch(message.get("messages"))
            return
        if kind == "call":
            self._call(message)
        elif kind == "load":
            self._ready_ack = message.get("readyAck") is True
            self._spawn(self._load())
        elif kind == "ready-dispatched":
            if self._ready_dispatched is not None and not self._ready_dispatched.done():
                self._ready_dispatched.set_result(None)
        elif kind in ("callback", "returned", "threw"):
            self._page_answered(str(kind), message)
        else:
            self._protocol_error(f"unknown message type {kind!r}")
        self.flush_timeline()

    def _batch(self, messages: object) -> None:
        # What the page sent in one task, handled in one pass: the calls keep their loop turn.
        if not isinstance(messages, list) or len(messages) > MAX_BATCH:
            self._protocol_error(f"a batch holds a list of at most {MAX_BATCH} messages")
            return
        for message in messages:
            if not isinstance(message, dict) or message.get("type") == "batch":
                self._protocol_error("a batch holds message objects, not batches")
                continue
            try:
                self.receive(message)
            except Exception as exc:  # one bad message costs itself, not those behind it
                self.refuse(f"the message could not be handled ({describe_failure(exc)})")

    async def _page_ready_listeners(self) -> None:
        """Until the page has run its lcw:ready listeners, at most ``page_timeout`` seconds.

        The page hears lcw:ready over the socket, so its listeners (a provider set there,
        for the queued startChat to read) run after the event has left; the clock is held
        meanwhile, as for a provider the page runs.
        """
        if not self._ready_ack or self.closed:
            return
        heard = self._ready_dispatched = asyncio.get_running_loop().create_future()
        with self.widget.clock.hold(), contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.page_timeout):  # a page stuck in a listener
                await heard

    async def _load(self) -> None:
        with contextlib.suppress(LcwError):  # a load failure is already an lcw:error event
            await self.widget.load()
        self.flush_timeline()

    def _call(self, message: Mapping[str, Any]) -> None:
        call_id = message.get("id")
        method = message.get("method")
        args = message.get("args", [])
        if not isinstance(method, str) or method not in SDK_METHODS:
            self._reply_error(call_id, LookupError(f"no SDK method {method!r}"[:200]))
            return
        if not isinstance(args, list):
            self._reply_error(call_id, TypeError("args must be an array"))
            return
        sdk = self.widget.sdk
        first = args[0] if args else None
        value: object = None
        try:
            match method:
                case "setAuthTokenProvider":
                    sdk.setAuthTokenProvider(self._provider_proxy("auth", first))  # type: ignore[arg-type]
                case "setContextProvider":
                    sdk.setContextProvider(self._provider_proxy("context", first))  # type: ignore[arg-type]
                case "setBotAuthTokenProvider":
                    sdk.setBotAuthTokenProvider(self._provider_proxy("bot", first))  # type: ignore[arg-type]
                case "getAuthTokenProvider":
                    value = _proxy_name(sdk.getAuthTokenProvider())
                case "getContextProvider":
                    value = _proxy_name(sdk.getContextProvider())
                case "removeAuthTokenProvider":
                    sdk.removeAuthTokenProvider()
                case "removeContextProvider":
                    sdk.removeContextProvider()
                case "startProactiveChat":
                    sdk.startProactiveChat(*args[:3])
                case "startChat":
                    self._settle(call_id, sdk.startChat(first), describe_session)
                    return
                case "closeChat":
                    self._settle(call_id, sdk.closeChat(), lambda _: None)
                    return
                case "getAgentAvailability":
                    self._settle(call_id, sdk.getAgentAvailability(), lambda result: result)
                    return
        except Exception as error:  # an LcwError, or a bug of ours: the promise still settles
            self._reply_error(call_id, error)
            return
        self._reply(call_id, value)

    def _settle(
        self,
        call_id: object,
        future: Awaitable[Any],
        present: Callable[[Any], object],
    ) -> None:
        async def settle() -> None:
            try:
                value = await future
            except Exception as error:  # an LcwError, or a bug of ours: the promise settles
                self._reply_error(call_id, error)
            else:
                self._reply(call_id, present(value))

        self._spawn(settle())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the page's providers -------------------------------------------------

    def _provider_proxy(self, kind: str, value: object) -> object:
        """A Python provider that asks the page to run its JavaScript one.

        Anything that is not a function handle goes to the SDK unchanged, so it
        refuses it exactly as it refuses a Python non-function.
        """
        handle = _provider_handle(value)
        if handle is None:
            return value
        handle_id, name = handle
        proxy: Callable[..., object]
        if kind == "auth":

            def proxy(callback: Callable[..., None]) -> object:
                return self._ask_page("auth", handle_id, callback)

        elif kind == "context":

            def proxy() -> object:
                return self._ask_page("context", handle_id, None)

        else:

            def proxy(bot_token_url: str, callback: Callable[..., None]) -> object:
                self._ask_bot_provider(handle_id, bot_token_url, callback)
                return None

        # The SDK records a provider by its name; the page's function keeps its own.
        proxy.__name__ = proxy.__qualname__ = name
        return proxy

    def _open_request(
        self, kind: str, handle: str, callback: Callable[..., None] | None, **extra: object
    ) -> tuple[int, _PageRequest]:
        loop = asyncio.get_running_loop()
        request_id = next(self._request_ids)
        hold = contextlib.ExitStack()
        request = _PageRequest(kind, callback, loop.create_future(), hold)
        if kind != "bot":
            # The page is real I/O: a VirtualClock must not jump over it (its
            # auto-jump sees only the event loop). Hold the clock while the page
            # runs the provider, but never longer than page_timeout wall seconds:
            # a page that never answers then times out on the clock as usual.
            hold.enter_context(self.widget.clock.hold())
            request.wall_limit = loop.call_later(self.page_timeout, request.release)
        self._requests[request_id] = request
        self._emit(
            {"type": "provide", "kind": kind, "request": request_id, "handle": handle, **extra}
        )
        return request_id, request

    async def _ask_page(
        self, kind: str, handle: str, callback: Callable[..., None] | None
    ) -> object:
        _, request = self._open_request(kind, handle, callback)
        try:
            return await request.outcome
        except BaseException:
            request.release()
            raise
        finally:
            if kind == "context":
                request.release()

    def _ask_bot_provider(
        self, handle: str, bot_token_url: str, callback: Callable[..., None]
    ) -> None:
        # The widget reads the bot provider's answer synchronously; a page answers
        # later, so its callback reaches the widget (and the timeline) when it comes.
        _, request = self._open_request("bot", handle, callback, url=bot_token_url)

        def noted(outcome: asyncio.Future[Any]) -> None:
            # As a Python bot provider that raises is noted: the page's provider threw.
            if not outcome.cancelled() and isinstance(outcome.exception(), PageScriptError):
                error = outcome.exception()
                assert error is not None
                self.widget.record(
                    EntryKind.NOTE,
                    "bot auth token provider raised",
                    {"error": describe_failure(error)},
                )

        request.outcome.add_done_callback(noted)

    def _page_answered(self, kind: str, message: Mapping[str, Any]) -> None:
        request_id = message.get("request")
        request = self._requests.get(request_id) if isinstance(request_id, int) else None
        if request is None:
            self._protocol_error(f"no provider request {request_id!r} is open")
            return
        if kind == "callback":
            args = message.get("args", [])
            if request.callback is None:
                self._protocol_error(f"request {request_id} takes no callback")
                return
            if not isinstance(args, list):
                self._protocol_error(f"a callback's args must be an array, got {args!r}")
                return
            if request.kind == "auth":
                request.release()  # the first callback ends the page's part
            request.callback(*args)
        elif kind == "returned":
            if not request.outcome.done():
                request.outcome.set_result(message.get("value"))
        elif not request.outcome.done():
            request.outcome.set_exception(PageScriptError(str(message.get("error", "error"))))
            request.release()

    def close(self) -> None:
        """The page went away: stop its work and let time move again."""
        self.closed = True
        if self._ready_dispatched is not None and not self._ready_dispatched.done():
            self._ready_dispatched.set_result(None)  # no listener of its will run now
        for request in self._requests.values():
            request.release()
            if not request.outcome.done():
                request.outcome.set_exception(ConnectionAbortedError("the page closed"))
                request.outcome.add_done_callback(_retrieve)
        self._requests.clear()
        for task in list(self._tasks):
            task.cancel()


class _NotStringified(ValueError):
    """A number JSON.stringify never writes, in a message from the page."""


def _not_json(constant: str) -> float:
    # Python's reader takes NaN and Infinity; JSON.stringify never writes them (it writes null).
    raise _NotStringified(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400: no double holds it
        raise _NotStringified(f"{text} is past the largest double")
    return number


def _as_javascript_json(value: object) -> object:
    """``value`` with NaN and the infinities as JavaScript's JSON.stringify writes them.

    As values, null; as keys, the text JavaScript gives them (``"NaN"``, ``"Infinity"``).
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_javascript_key(key): _as_javascript_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_javascript_json(item) for item in value]
    return value


def _javascript_key(key: object) -> object:
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    return key


def _proxy_name(provider: object) -> str | None:
    # The page holds its own function; the answer only says which one Python has.
    return getattr(provider, "__name__", None) if provider is not None else None


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
