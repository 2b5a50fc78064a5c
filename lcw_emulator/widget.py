"""The emulated live chat widget: the page side of the seam.

A :class:`Widget` is a pyee :class:`~pyee.asyncio.AsyncIOEventEmitter` that
behaves like the widget in the browser: :meth:`Widget.load` fires
``lcw:ready``, the SDK (:attr:`Widget.sdk`) drives chats, and every ``lcw:*``
event fires when the real one would, with the documented payload. The widget
never decides whether a token is valid or how a context value is typed: it
hands what the page gave it to the service and reports the answer as events.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import json
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from pyee.asyncio import AsyncIOEventEmitter

from .auth import DEFAULT_PROVIDER_TIMEOUT, falsy_in_javascript, short_secret
from .context import Primitive, case_mismatches, resolve_context
from .errors import (
    ChatStateError,
    ErrorCode,
    LcwError,
    RateLimitedError,
    SdkUsageError,
    describe_failure,
    hide_for_lcw_errors,
    wrong_type,
)
from .events import (
    LCW_EVENTS,
    EntryKind,
    EventDetail,
    LcwEvent,
    Timeline,
    closest_event,
    function_name,
)
from .providers import (
    AuthTokenProvider,
    BotAuthTokenProvider,
    ContextProvider,
    collect_context,
    request_token,
)
from .sdk import LiveChatSDK, require_function
from .service import AgentAvailability, OmnichannelService
from .session import ChatSession, SessionState, SessionUpdate
from .workstream import WorkStream

# Where a browser's console would show what the page got wrong (a listener that threw, a
# listener for an event that never fires): with logging unconfigured, Python prints
# warnings and errors to stderr, so a demo script shows them as a browser would.
console = logging.getLogger(__name__)


__all__ = ["CustomEvent", "EventDetail", "ProactiveInvitation", "Widget", "WidgetState"]

DEFAULT_PROACTIVE_MESSAGE = "Hi! Have any questions? I'm here to help"
# Undocumented for the context provider; we give an async one the auth provider's 10 s.
CONTEXT_PROVIDER_TIMEOUT = DEFAULT_PROVIDER_TIMEOUT
# getAgentAvailability: "The client side cache is refreshed every 2 minutes or when the
# customer context parameters change."
AGENT_AVAILABILITY_CACHE_SECONDS = 120.0


def _as_json(value: object) -> str:
    """What a page handed over, as it wrote it in JavaScript (true, "yes", [1])."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)[:200]
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:200]


def _told(error: object) -> str:
    # What pyee hands on is the listener's exception; anything else is shown as it is.
    return describe_failure(error) if isinstance(error, BaseException) else repr(error)


def listener_raised(error: object) -> str:
    """How the console (and a test's warning) names a listener's failure."""
    return f"an event listener raised {_told(error)}"


def unheard_listener(event: str, closest: str | None) -> str:
    """How the console (and a test's warning) names a listener for an event never fired."""
    hint = f" (did you mean {closest!r}?)" if closest else ""
    return f"a listener for {event!r}, an event the widget never fires{hint}"


# The customer context as the cache compares it: each variable's name, type and typed value,
# as the service would type them (what routes the chat), in name order.
_ContextKey = tuple[tuple[str, str, Primitive], ...]


@attrs.frozen
class _CachedAvailability:
    """The page's last getAgentAvailability answer, for the context it was asked with."""

    context_key: _ContextKey
    answer: AgentAvailability
    at: float


def _context_key(context: Mapping[str, object], work_stream: WorkStream) -> _ContextKey:
    resolution = resolve_context(context, work_stream.context_variables)
    return tuple(sorted((v.name, v.type._value_, v.value) for v in resolution.variables))


class WidgetState(enum.StrEnum):
    """Where the widget is in loading: before ``lcw:ready``, ready, or failed (code 7)."""

    NOT_LOADED = "not loaded"
    READY = "ready"
    FAILED = "failed"  # the scripts failed to load (code 7)


def _as_detail(value: Any) -> Any:
    if isinstance(value, Mapping):
        return EventDetail({key: _as_detail(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return [_as_detail(item) for item in value]
    return value


def _event_detail(value: Mapping[str, Any] | None) -> EventDetail | None:
    return None if value is None else _as_detail(value)


@attrs.frozen
class CustomEvent:
    """What a listener receives, like the browser's ``CustomEvent``: ``type`` and ``detail``.

    ``detail`` is an :class:`EventDetail`, read by key or, as in JavaScript, by attribute, or
    ``None`` (JavaScript's null) for an event that carries none. It is typed ``Any``, as
    JavaScript's is, so that ``errorEvent.detail.errorCode`` type-checks as written.
    """

    type: str
    detail: Any = attrs.field(default=None, converter=_event_detail)


@attrs.frozen
class ProactiveInvitation:
    """An invitation shown by startProactiveChat, waiting for the customer."""

    message: str
    show_prechat: bool
    in_new_window: bool


# pyee makes a lock per emitter; every widget shares this one. pyee holds it only to read or
# change a listener table, and re-entrant, it lets a listener's own __hash__ or __eq__, which
# run under it, touch another widget's listeners.
_EMITTER_LOCK = threading.RLock()


def _takes_event(handler: Callable[..., Any]) -> bool:
    # JS listeners may ignore their event argument; Python ones cannot, so a
    # handler written without parameters (as in the documentation's samples)
    # is called without the event.
    plain = not (hasattr(handler, "__wrapped__") or hasattr(handler, "__signature__"))
    if inspect.isfunction(handler) and plain:
        # A plain function's positional parameters are its code's; reading them there is
        # what inspect.signature does, minus a few microseconds on every event (nothing is
        # cached, so no handler, nor the widget it closes over, is kept alive).
        code = handler.__code__
        return code.co_argcount > 0 or bool(code.co_flags & inspect.CO_VARARGS)
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters
    )


def _dropping_event(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    def without_event(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], CustomEvent):
            args = args[1:]
        return wrapper(*args, **kwargs)

    return without_event


class Widget(AsyncIOEventEmitter):
    """One live chat widget on one page, bound to an org and a work stream.

    ``strict=True`` makes SDK calls before ``lcw:ready`` raise, as the real
    widget would fail there; by default they are queued and replayed in order.
    ``load_failure`` makes :meth:`load` fail with code 7 and that detail.
    """

    _reporting_error = False  # set while the page's own "error" listeners run
    _late_ready_listener = False  # an lcw:ready listener was added after it fired
    _handler_futures: set[asyncio.Future[Any]] | None = None  # see _waiting
    #: The page's lcw:ready listeners that run outside Python (a browser's, over the bridge):
    #: awaited once lcw:ready has fired, before the queued calls replay, as the synchronous
    #: listeners of a Python page run first. A class default: no cost to a widget without.
    ready_listeners_elsewhere: Callable[[], Awaitable[object]] | None = None

    @property
    def _waiting(self) -> set[asyncio.Future[Any]]:
        # pyee keeps the futures of running async listeners in a set made for every
        # emitter, though most widgets never have an async listener: it is made here on
        # first use instead, one object fewer that every chat holds for the collector.
        if self._handler_futures is None:
            self._handler_futures = set()
        return self._handler_futures

    @_waiting.setter
    def _waiting(self, futures: set[asyncio.Future[Any]]) -> None:
        self._handler_futures = futures or None

    # pyee's three readers of that set, which would otherwise make it for every widget (a
    # test's teardown cancels every widget's listeners).
    async def wait_for_complete(self) -> None:
        """Wait until every async listener still running has finished."""
        if self._handler_futures:
            await super().wait_for_complete()

    def cancel(self) -> None:
        """Cancel every async listener still running."""
        if self._handler_futures:
            super().cancel()

    @property
    def complete(self) -> bool:
        """True when no async listener is still running."""
        return not self._handler_futures

    def __init__(
        self,
        service: OmnichannelService,
        work_stream: WorkStream,
        *,
        strict: bool = False,
        load_failure: str | None = None,
    ) -> None:
        if not isinstance(strict, bool):
            raise wrong_type("strict", "True or False", strict)
        if load_failure is not None and not isinstance(load_failure, str):
            raise wrong_type("load_failure", "the failure's detail (text) or None", load_failure)
        super().__init__()
        self._lock = _EMITTER_LOCK  # type: ignore[assignment]  # an RLock, see _EMITTER_LOCK
        self.service = service
        self.work_stream = service.add_work_stream(work_stream)
        self.clock = service.clock
        self.strict = strict
        self.load_failure = load_failure
        self.state = WidgetState.NOT_LOADED
        self.load_error: LcwError | None = None
        self.timeline = Timeline()
        self.session: ChatSession | None = None
        # The chats before the current one: most widgets have none, and an empty tuple is
        # no object at all, where a list of sessions would be one more for every chat.
        self._earlier_sessions: tuple[ChatSession, ...] = ()
        # While a chat start waits (for its token, its keys), what later starts wait on, and
        # whether the page asked to close the chat before it existed.
        self._starting: asyncio.Future[ChatSession] | None = None
        self._close_when_started = False
        self._joiners = 0  # calls waiting on the start in progress (a double click)
        self.handler_errors: tuple[BaseException, ...] = ()  # what listeners raised
        self.minimized = False
        self.proactive_invitation: ProactiveInvitation | None = None
        self._auth_token_provider: AuthTokenProvider | None = None
        # Whether the last change to it was a reload clearing it, for code 8 to say so.
        self._reload_cleared_auth = False
        self.context_provider: ContextProvider | None = None
        self.bot_auth_token_provider: BotAuthTokenProvider | None = None
        self._availability: _CachedAvailability | None = None
        self._reloads = 0  # which page this is: an answer asked for by an older one is not kept
        self.sdk = LiveChatSDK(self)

    @property
    def sessions(self) -> list[ChatSession]:
        """Every chat this widget started, oldest first, the last :attr:`session` (a new list)."""
        current = [self.session] if self.session is not None else []
        return [*self._earlier_sessions, *current]

    def __repr__(self) -> str:
        return f"<Widget {self.work_stream.name!r} {self.state.value}>"

    # -- events ---------------------------------------------------------------

    def record(
        self, kind: EntryKind | str, name: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Add an entry to the timeline at the clock's time now (no event is emitted)."""
        self.timeline.record(self.clock.now(), kind, name, detail)

    def fire(self, event: LcwEvent, detail: Mapping[str, Any] | None = None) -> None:
        """Record and emit an ``lcw:*`` event to its listeners."""
        name: str = event._value_  # what .value returns, without enum's descriptor
        self.record(EntryKind.EVENT, name, detail)
        if self._events.get(name):  # most events of most chats have no listener
            self.emit(name, CustomEvent(name, detail))

    def emit(self, event: str, *args: Any, **kwargs: Any) -> bool:
        """Emit ``event`` to its listeners, as pyee does; a listener's failure is recorded.

        pyee re-emits a listener's exception as ``"error"``, raising it when no one listens
        (or, for an async listener, losing it in the loop's exception handler). Every such
        failure is recorded here, and handed on to the page's own ``"error"`` listeners if
        it has any: listening this way rather than with a listener of our own saves each
        widget a handler table.
        """
        if event != "error":
            return super().emit(event, *args, **kwargs)
        self._handler_failed(args[0] if args else None)
        if not self._events.get("error") or self._reporting_error:
            return True  # recorded; an "error" listener that raises is not called again
        self._reporting_error = True
        try:
            return super().emit(event, *args, **kwargs)
        finally:
            self._reporting_error = False

    @property
    def auth_token_provider(self) -> AuthTokenProvider | None:
        """The function the page set with ``setAuthTokenProvider``, or ``None``."""
        return self._auth_token_provider

    @auth_token_provider.setter
    def auth_token_provider(self, provider: AuthTokenProvider | None) -> None:
        self._auth_token_provider = provider
        self._reload_cleared_auth = False

    def addEventListener(
        self, type: str, listener: Callable[..., Any], options: object = None
    ) -> None:
        """``window.addEventListener(type, listener, options)``: :meth:`on`, by the browser's name.

        ``options`` as the browser takes it: ``{"once": True}`` listens once (:meth:`once`);
        ``useCapture`` (a bool) and the other options change nothing for a widget's events.
        """
        if not isinstance(type, str):
            # A browser would listen for the name's text ("null"), which nothing fires; pyee's
            # own on() takes any hashable name, as pyee does.
            raise wrong_type("addEventListener: the event type", "a name (a string)", type)
        if isinstance(options, Mapping) and options.get("once"):
            self.once(type, listener)
        else:
            self.on(type, listener)

    def removeEventListener(
        self, type: str, listener: Callable[..., Any], options: object = None
    ) -> None:
        """``window.removeEventListener(type, listener)``: :meth:`remove_listener`.

        As in a browser, a listener that is not listening (a ``once`` listener that already
        ran, one removed before) is no error; pyee's ``remove_listener`` raises ``KeyError``.
        """
        with contextlib.suppress(KeyError):
            self.remove_listener(type, listener)

    def _add_event_handler(self, event: str, k: Callable[..., Any], v: Callable[..., Any]) -> None:
        # Refused here, as a browser refuses it, rather than failing when the event fires.
        require_function("addEventListener", k, "listener")
        # pyee 13 keeps each event's listeners in an OrderedDict, about 400 bytes each; a page
        # listens to a few events on each widget, and a suite keeps thousands of widgets. A
        # plain dict keeps insertion order too, and pyee only reads, adds, pops and lists
        # these tables, all of which a dict does alike.
        if self._events.get("new_listener"):  # pyee announces every listener; rarely heard
            self.emit("new_listener", event, k)
        if isinstance(event, str) and event.startswith("lcw:") and event not in LCW_EVENTS:
            # A browser takes a listener for any name; one the widget never fires is most
            # likely a typo (lcw:chatqueued), which would otherwise fail only as silence.
            closest = closest_event(event)
            self.record(
                EntryKind.NOTE,
                "listener for an event the widget never fires",
                {"event": event, "closest": closest},
            )
            console.warning("%s", unheard_listener(event, closest))
        if event == "lcw:ready" and self.state is WidgetState.READY:
            # A page that listens too late never hears it (the lcw fixtures load the widget
            # before the test runs), and the failure shows far from the cause: say so here.
            self._late_ready_listener = True
            self.record(
                EntryKind.NOTE,
                "lcw:ready listener added after lcw:ready fired",
                {"listener": function_name(k)},
            )
        if v is not k and not _takes_event(k):
            # once() stores a wrapper taking *args, which would hand the event to a listener
            # written without parameters.
            v = _dropping_event(v)
        with self._lock:
            self._events.setdefault(event, {})[k] = v  # type: ignore[arg-type]

    def _emit_run(
        self, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if args and isinstance(args[0], CustomEvent) and not _takes_event(f):
            args = args[1:]
        super()._emit_run(f, args, kwargs)

    def _handler_failed(self, error: object) -> None:
        if isinstance(error, BaseException):
            self.handler_errors = (*self.handler_errors, error)
        self.record(
            EntryKind.NOTE,
            "listener raised",
            {"error": _told(error)},
        )
        if not console.isEnabledFor(logging.ERROR):
            return
        # All of it as text: a record holding the exception (as exc_info, or as an argument)
        # would hold its frames, and with them the widget, as long as a log capture keeps it.
        trace = (
            "".join(traceback.format_exception(error)).rstrip()
            if isinstance(error, BaseException)
            else repr(error)
        )
        console.error(
            "%s (the widget goes on, as a browser does)\n%s", listener_raised(error), trace
        )

    def report(self, error: LcwError) -> None:
        """Turn a coded error into an ``lcw:error`` event (and record it)."""
        if error.code is not None:
            self.fire(LcwEvent.ERROR, error.detail)

    # -- lifecycle ------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        """True once ``lcw:ready`` has fired."""
        return self.state is WidgetState.READY

    async def load(self) -> None:
        """Load the widget: fire ``lcw:ready`` and replay queued SDK calls.

        Returns once the ready listeners, async ones too, have finished.
        Raises :class:`LcwError` code 7 when a load failure was injected.
        """
        if self.state is WidgetState.READY:
            self.record(EntryKind.NOTE, "widget already loaded: lcw:ready does not fire again")
            return
        if self.state is WidgetState.FAILED and self.load_error is not None:
            # The scripts failed once: no widget is on the page to fire lcw:error again.
            raise self.load_error.with_traceback(None)
        if self.load_failure is not None:
            self.state = WidgetState.FAILED
            error = LcwError(ErrorCode.WIDGET_LOAD_FAILED, self.load_failure)
            self.load_error = error
            self.report(error)
            self.sdk.fail_queued(error)
            raise error
        self.state = WidgetState.READY
        if self._late_ready_listener:  # every listener hears this firing
            self._late_ready_listener = False
        before = set(self._handler_futures) if self._handler_futures else ()
        self.fire(LcwEvent.READY)
        # The async lcw:ready listeners this firing started (none, for most pages).
        started = self._handler_futures and self._handler_futures.difference(before)
        if self.ready_listeners_elsewhere is not None:
            await self.ready_listeners_elsewhere()
        await self.sdk.replay_queued()
        if started:
            await asyncio.wait(started)

    async def reload(self) -> None:
        """The customer reloads the page: the widget loads again and, if a chat
        is in progress, restores it from its cache (``lcw:chatRetrieved``).

        What the old page's scripts held is gone: the calls they queued (cancelled), the
        providers they set and an invitation shown. Listeners stay registered, as the
        reloaded page registers them again, so providers set by lcw:ready listeners are set
        again when it fires. A chat start already on its way completes (not modelled: a
        request cut short by the reload), and a note says so; one called in the turn of the
        reload, not yet begun, runs after it, with the new page's providers.
        """
        self.state = WidgetState.NOT_LOADED
        self.load_error = None  # the new page's scripts load afresh (or fail afresh)
        self.record(EntryKind.NOTE, "page reloaded")
        self.sdk.drop_queued()
        cleared = [
            name
            for name, provider in (
                ("authTokenProvider", self.auth_token_provider),
                ("contextProvider", self.context_provider),
                ("botAuthTokenProvider", self.bot_auth_token_provider),
            )
            if provider is not None
        ]
        if cleared:
            self.record(
                EntryKind.NOTE, "providers cleared: the page reloaded", {"providers": cleared}
            )
        if self._auth_token_provider is not None:
            self._auth_token_provider, self._reload_cleared_auth = None, True
        self.context_provider = self.bot_auth_token_provider = None
        self.proactive_invitation = None
        self._availability = None  # the old page's cache went with it
        self._reloads += 1
        if self._starting is not None:
            self.record(EntryKind.NOTE, "chat start in flight at the reload: it completes")
        await self.load()
        if self.session is not None and not self.session.state.is_final:
            self.fire(LcwEvent.CHAT_RETRIEVED)

    # -- what the SDK asks of the widget --------------------------------------

    async def start_chat(self, custom_context: Mapping[str, object] | None = None) -> ChatSession:
        """Start a chat as ``startChat`` does (the SDK queues and records the call)."""
        __tracebackhide__ = hide_for_lcw_errors
        self.fire(LcwEvent.START_CHAT)  # documented as fired whenever startChat() is called
        if self.minimized:
            # startChat shows the chat, so a minimised widget opens; one already open does not
            # announce it again (the reference is silent on both).
            self.maximize()
        return await self._join_or_start(custom_context)

    async def _join_or_start(self, custom_context: Mapping[str, object] | None) -> ChatSession:
        __tracebackhide__ = hide_for_lcw_errors
        on_page = self._chat_on_page()
        if on_page is not None:  # startChat shows it
            self.record(
                EntryKind.NOTE,
                "chat ended by the agent still open: the customer closes it first"
                if on_page.state is SessionState.ENDED
                else "chat already in progress",
                {"session": on_page.id},
            )
            return on_page
        if self._starting is not None:
            # A double click: the chat being started is the current chat, not a second one.
            self.record(EntryKind.NOTE, "chat already starting")
            self._joiners += 1
            try:
                return await asyncio.shield(self._starting)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    if self._starting is None and self._joiners == 1:
                        # The last call left to take the start over: a close meant for the
                        # chat it would have started has nothing to close.
                        self._close_when_started = False
                    raise  # this call was cancelled
            finally:
                self._joiners -= 1
            # The page cancelled the first call, not this one: this one starts the chat.
            return await self._join_or_start(custom_context)
        starting: asyncio.Future[ChatSession] = asyncio.get_running_loop().create_future()
        self._starting = starting
        taken_over = False
        try:
            session = await self._start_new_chat(custom_context)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                starting.cancel()
                taken_over = self._joiners > 0  # a waiting call starts the chat instead
            else:
                starting.set_exception(exc)
                starting.exception()  # whoever else waits sees it; nobody may be waiting
            raise
        else:
            starting.set_result(session)
        finally:
            self._starting = None
            # A closeChat made while starting is for the chat a waiting call now starts.
            close_now = self._close_when_started and not taken_over
            self._close_when_started = self._close_when_started and taken_over
        if close_now:
            session.close("closed by the customer while the chat was starting")
        return session

    async def _start_new_chat(self, custom_context: Mapping[str, object] | None) -> ChatSession:
        __tracebackhide__ = hide_for_lcw_errors
        try:
            session = await self._open_session(custom_context)
        except LcwError as error:
            if error.code is ErrorCode.INVALID_AUTH_TOKEN:
                self.record(
                    EntryKind.SERVICE,
                    "token refused",
                    {"claim": error.claim, "reason": error.reason},
                )
            self.report(error)
            raise
        if self.session is not None:
            self._earlier_sessions = (*self._earlier_sessions, self.session)
        self.session = session
        self.proactive_invitation = None  # the chat takes the invitation's place
        session.subscribe(self._session_changed)
        self.record(
            EntryKind.SERVICE,
            "chat session created",
            {
                "session": session.id,
                "queue": session.queue.name,
                "context": session.context,
                "dropped": [item.to_dict() for item in session.dropped],
            },
        )
        created = session.created
        if created:  # most chats create none: no work on the way of a chat start
            declared = self.work_stream.context_variables
            for key, name in case_mismatches(created, declared, session.context).items():
                self.record(
                    EntryKind.NOTE,
                    "context key differs from a declared variable only in case",
                    {"key": key, "declared": name},
                )
        self.fire(LcwEvent.CHAT_QUEUED)
        return session

    async def _open_session(self, custom_context: Mapping[str, object] | None) -> ChatSession:
        __tracebackhide__ = hide_for_lcw_errors
        work_stream = self.work_stream
        notes: list[str] = []
        if work_stream.auth is not None:
            if self.auth_token_provider is None:
                reason = (
                    f"work stream {work_stream.name!r} requires authentication and no auth "
                    "token provider is set (the start reads it one loop turn after startChat "
                    "is called: set it in an lcw:ready listener, or before startChat)"
                )
                if self.handler_errors:
                    first = self.handler_errors[0]
                    reason += (
                        f"; note: {len(self.handler_errors)} event listener(s) raised, first "
                        f"{describe_failure(first)}"
                    )
                if self._reload_cleared_auth:
                    reason += (
                        "; note: a page reload cleared the provider the old page had set, as "
                        "the new page's scripts start afresh (set it again after the reload)"
                    )
                if self._late_ready_listener:
                    reason += (
                        "; note: an lcw:ready listener was added after lcw:ready fired, so it "
                        "was not called (the lcw fixtures load the widget unless load=False)"
                    )
                raise LcwError(ErrorCode.AUTH_PROVIDER_NOT_FOUND, reason)
            if custom_context is not None or self.context_provider is not None:
                notes.append(
                    "custom context ignored: an authenticated chat takes context from the "
                    "token's lwicontexts only"
                )
            short = short_secret(work_stream.auth)
            if short is not None:  # instead of PyJWT's warning at every check
                self.record(EntryKind.NOTE, "short HMAC secret", {"secret": short})
            token = await request_token(
                self.auth_token_provider,
                clock=self.clock,
                timeout=work_stream.auth.provider_timeout,
                record=self.record,
            )
            self._note_all(notes)
            keys = await self.service.public_keys(work_stream, token, record=self.record)
            session = self.service.start_chat(
                work_stream, token=token, notes=tuple(notes), keys=keys
            )
            for hint in session.notes[len(notes) :]:  # the service's, about the token
                self.record(EntryKind.NOTE, "token context outside lwicontexts", {"hint": hint})
            return session
        if self.auth_token_provider is not None:
            notes.append(
                "auth token provider not called: the work stream has no chat authentication"
            )
        if custom_context is not None:
            if self.context_provider is not None:
                notes.append("customContext overrides the context provider")
            raw, source = custom_context, "customContext"
        elif self.context_provider is not None:
            raw = await collect_context(
                self.context_provider,
                clock=self.clock,
                timeout=CONTEXT_PROVIDER_TIMEOUT,
                record=self.record,
            )
            source = "contextProvider"
        else:
            raw, source = {}, None
        self._note_all(notes)
        return self.service.start_chat(
            work_stream, context=raw, context_source=source, notes=tuple(notes)
        )

    def _note_all(self, notes: list[str]) -> None:
        for note in notes:
            self.record(EntryKind.NOTE, note)

    def close_current_chat(self) -> None:
        """Close the current chat as ``closeChat`` does (it never waits: no task needed).

        A chat still starting (waiting for its token) is closed as soon as it has started.
        """
        if self.session is None or self.session.state.is_final:
            if self._starting is not None:
                self._close_when_started = True
                self.record(EntryKind.NOTE, "chat still starting: it closes once started")
                return
            self.record(EntryKind.NOTE, "no chat to close")
            return
        self.session.close()

    def minimize(self) -> None:
        """The customer minimises the widget (``lcw:onMinimize``); a minimised one stays so."""
        self._require_on_page("minimise")
        if self.minimized:
            self.record(EntryKind.NOTE, "widget already minimised: nothing fires")
            return
        self.minimized = True
        self.fire(LcwEvent.ON_MINIMIZE)

    def maximize(self) -> None:
        """The customer maximises the widget (``lcw:onMaximize``); an open one stays so."""
        self._require_on_page("maximise")
        if not self.minimized:
            self.record(EntryKind.NOTE, "widget already open: nothing fires")
            return
        self.minimized = False
        self.fire(LcwEvent.ON_MAXIMIZE)

    def _require_on_page(self, action: str) -> None:
        # The customer acts on the widget's own buttons: before lcw:ready, or after the
        # scripts failed to load, there are none to press.
        if not self.is_ready:
            why = "failed to load" if self.state is WidgetState.FAILED else "has not loaded"
            raise ChatStateError(
                f"the customer cannot {action} the widget: it {why}, so it is not on the page"
            )

    def send_message(self, text: str) -> None:
        """The customer sends a message in the current chat."""
        if self.session is None:
            # As the session says of a closed chat: the chat's state, not a misused SDK method.
            raise ChatStateError("there is no chat to send a message in; start one first")
        self.session.customer_says(text)

    async def agent_availability(self) -> AgentAvailability:
        """What getAgentAvailability answers: for the queue the customer's context routes to.

        The context is the context provider's (an unauthenticated chat's only source the
        call can read; code 1 if it fails). As documented, the page keeps an answer for
        2 minutes, or until that context changes: a call answered from the cache does not
        reach the service, so it does not count against the org's 100 calls a minute.
        """
        __tracebackhide__ = hide_for_lcw_errors
        page = self._reloads
        context: Mapping[str, object] = {}
        if self.context_provider is not None and self.work_stream.auth is None:
            try:
                context = await collect_context(
                    self.context_provider,
                    clock=self.clock,
                    timeout=CONTEXT_PROVIDER_TIMEOUT,
                    record=self.record,
                )
            except LcwError as error:
                self.report(error)
                raise
        key, now, cached = (
            _context_key(context, self.work_stream),
            self.clock.now(),
            self._availability,
        )
        reloaded = page != self._reloads  # while the context provider answered
        if reloaded:
            self.record(
                EntryKind.NOTE,
                "getAgentAvailability asked before the reload: its answer is not kept",
            )
        if (
            not reloaded
            and cached is not None
            and cached.context_key == key
            and now < cached.at + AGENT_AVAILABILITY_CACHE_SECONDS
        ):
            self.record(
                EntryKind.NOTE,
                "getAgentAvailability answered from the page's cache",
                {"age": now - cached.at},
            )
            result = cached.answer
        else:
            try:
                result = self.service.agent_availability(self.work_stream, context)
            except RateLimitedError as error:
                # 429 has no lcw:error code; the timeline is where a scenario sees it.
                self.record(
                    EntryKind.SERVICE,
                    "getAgentAvailability refused",
                    {"httpStatus": error.http_status, "reason": error.reason},
                )
                raise
            if not reloaded:
                self._availability = _CachedAvailability(key, result, now)
        answer = AgentAvailability(result.items())  # the page's own copy: the cache stays as it was
        self.fire(LcwEvent.GET_AGENT_AVAILABILITY, answer)
        return answer

    def start_proactive_chat(
        self, message: str | None, show_prechat: bool, in_new_window: bool
    ) -> ProactiveInvitation | None:
        """Show a proactive invitation as ``startProactiveChat`` does (no message: the default).

        ``None`` while a chat is on the page (in progress, or ended by the agent and not yet
        closed): the customer already has a chat open, so no invitation is shown (the
        reference is silent; a note says so).
        """
        on_page = self._chat_on_page()
        if on_page is not None:
            self.record(
                EntryKind.NOTE,
                "proactive invitation not shown: the chat the agent ended is still open"
                if on_page.state is SessionState.ENDED
                else "proactive invitation not shown: a chat is in progress",
            )
            return None
        self.proactive_invitation = ProactiveInvitation(
            message or DEFAULT_PROACTIVE_MESSAGE, show_prechat, in_new_window
        )
        self.record(
            EntryKind.NOTE,
            "proactive invitation shown",
            {"message": self.proactive_invitation.message, "showPrechat": show_prechat},
        )
        return self.proactive_invitation

    async def accept_proactive_chat(self) -> ChatSession:
        """The customer accepts the proactive invitation: the chat starts."""
        if self.proactive_invitation is None:
            last = next(
                (e for e in reversed(self.timeline) if e.name.startswith("proactive invitation")),
                None,
            )
            why = (
                f"the last startProactiveChat showed none: {last.name.partition(': ')[2]}"
                if last is not None and "not shown" in last.name
                else "call startProactiveChat first"
            )
            raise ChatStateError(f"no proactive invitation is shown ({why})")
        self.proactive_invitation = None
        return await self.start_chat()

    def request_bot_sign_in(self, bot_token_url: str) -> bool | None:
        """The bot asks for sign-in: call the bot auth token provider; return ``show``.

        ``None`` when the provider has not called back yet: an async provider (the
        documentation's sample is one) runs on as a task and its answer reaches the
        timeline when it comes; :meth:`bot_sign_in` waits for it. A provider that raises
        is noted, as a listener that raises is: the page's own bug.
        """
        answers: list[bool] = []
        self._call_bot_provider(bot_token_url, answers.append)
        return answers[0] if answers else None

    async def bot_sign_in(self, bot_token_url: str) -> bool | None:
        """Like :meth:`request_bot_sign_in`, waiting for an async provider's answer.

        It returns once the provider calls back, or finishes (or raises) without doing so
        (``None``); a provider that never does keeps it waiting, as the page would.
        """
        answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answer(show: bool) -> None:
            if not answered.done():
                answered.set_result(show)

        running = self._call_bot_provider(bot_token_url, answer)
        if running is not None and not answered.done():
            await asyncio.wait([answered, running], return_when=asyncio.FIRST_COMPLETED)
        return answered.result() if answered.done() else None

    def _call_bot_provider(
        self, url: str, answer: Callable[[bool], None]
    ) -> asyncio.Future[Any] | None:
        """Call the provider, handing ``answer`` each ``show``; its task if it is async."""
        provider = self.bot_auth_token_provider
        if provider is None:
            raise SdkUsageError("no bot auth token provider is set")

        def callback(options: object = None, *_: object) -> None:
            # Documented as callback({show: bool}); anything else shows nothing, and says so.
            # Extra arguments are ignored, as JavaScript ignores them; show is read as
            # JavaScript reads it (an empty list or object is truthy there).
            value = options.get("show") if isinstance(options, Mapping) else None
            show = not falsy_in_javascript(value)
            detail: dict[str, Any] = {"show": show}
            if options is not None and not isinstance(options, Mapping):
                detail["ignored"] = _as_json(options)
            self.record(EntryKind.PROVIDER, "bot auth callback", detail)
            answer(show)

        self.record(EntryKind.PROVIDER, "bot auth token provider called", {"url": url})
        try:
            result = provider(url, callback)
        except Exception as error:
            self._bot_provider_raised(error)
            return None
        if not inspect.isawaitable(result):
            return None
        running = asyncio.ensure_future(result)

        def finished(done: asyncio.Future[Any]) -> None:
            error = None if done.cancelled() else done.exception()
            if error is not None:
                self._bot_provider_raised(error)

        running.add_done_callback(finished)
        return running

    def _bot_provider_raised(self, error: BaseException) -> None:
        self.record(
            EntryKind.NOTE,
            "bot auth token provider raised",
            {"error": describe_failure(error)},
        )

    # -- what the service tells the widget ------------------------------------

    def _session_changed(self, update: SessionUpdate) -> None:
        if update.session is not self.session:
            return
        if update.kind == "accepted":
            self._system_message("agentaccepted")
        elif update.kind == "agent_message":
            message = update.detail["message"]
            self.fire(
                LcwEvent.ON_MESSAGE_RECEIVED,
                {
                    "messageType": "user",
                    "channelData": {"tags": ["public", f"client_activity_id:{message.id}"]},
                    "text": message.text,
                },
            )
        elif update.kind == "customer_message":
            self.fire(LcwEvent.ON_MESSAGE_SENT)
        elif update.kind == "agent_ended":
            self._system_message("agentendconversation")
            self.fire(LcwEvent.THREAD_UPDATE)
        elif update.kind == "closed":
            self.fire(LcwEvent.CLOSE_CHAT)
            self.fire(LcwEvent.ON_CLOSE)

    def _system_message(self, tag: str) -> None:
        self.fire(
            LcwEvent.ON_MESSAGE_RECEIVED,
            {"messageType": "system", "channelData": {"tags": [tag]}},
        )

    def _chat_on_page(self) -> ChatSession | None:
        # In progress, or ended by the agent and not yet closed by the customer: still shown.
        session = self.session
        return session if session is not None and not session.state.is_final else None

    @property
    def chat_in_progress(self) -> bool:
        """True while the current chat is queued or active (not ended or closed)."""
        return self.session is not None and self.session.state in (
            SessionState.QUEUED,
            SessionState.ACTIVE,
        )
