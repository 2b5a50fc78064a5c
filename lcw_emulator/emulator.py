"""One object that switches the fake widget on, for tests with or without pytest.

:class:`LcwEmulator` sets up a virtual clock, an org, a work stream and a
widget, loads the widget on entry, and asserts on what the widget recorded::

    with LcwEmulator("contoso.toml", start=1542622100) as lcw:        # sync
        lcw.sdk.setAuthTokenProvider(static_token(token))
        session = lcw.run(lcw.sdk.startChat)
        lcw.assert_emitted("lcw:chatQueued")

    async with LcwEmulator("contoso.toml") as lcw:                     # async
        lcw.sdk.setAuthTokenProvider(static_token(token))
        await lcw.sdk.startChat()
        lcw.assert_context({"msdyn_cartvalue": 10000})

The assertions (:class:`TimelineAssertions`) read the widget's ordered
:class:`~lcw_emulator.events.Timeline`, in the style of ``unittest.mock``, and
say what was recorded when they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import difflib
import inspect
import math
import operator
import os
import re
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, overload

from .clock import VirtualClock, epoch_seconds
from .errors import LcwError, ListenerWarning, SdkUsageError, wrong_type
from .events import (
    ENTRY_NAMES,
    LCW_EVENTS,
    EntryKind,
    Timeline,
    TimelineEntry,
    closest_event,
    entry_kind,
    pattern_detail_problem,
    typed_equal,
)
from .key_source import PublicKeySource
from .org import Omnichannel
from .sdk import JAVASCRIPT_METHODS, LiveChatSDK
from .session import ChatSession
from .widget import Widget, listener_raised, unheard_listener
from .workstream import WorkStream

__all__ = ["DEFAULT_START_AHEAD", "LcwEmulator", "Step", "TimelineAssertions", "start_time"]

T = TypeVar("T")

# Every name the emulator itself records, with the kind of entry it always is (a test's own
# entries may have any name, kind and detail).
_KIND_OF: Mapping[str, EntryKind] = {
    **{name: EntryKind.EVENT for name in LCW_EVENTS},
    **{name: EntryKind.SDK_CALL for name in JAVASCRIPT_METHODS},
    **{name: kind for kind, names in ENTRY_NAMES.items() for name in names},
}

# Seconds ahead of the real time the virtual clock starts by default (see start_time).
DEFAULT_START_AHEAD = 10.0

# A step of assert_sequence: an entry name, or a name and the detail it must contain.
Step = str | tuple[str, Mapping[str, Any]]


def _event_name(name: str) -> str:
    """``name`` when it is a documented ``lcw:*`` event; a helpful ValueError otherwise."""
    __tracebackhide__ = True
    if not isinstance(name, str):  # before the lookup: a list is not even hashable
        raise wrong_type("the event", 'an lcw:* event name, like "lcw:chatQueued"', name)
    if name in LCW_EVENTS:
        return str(name)
    close = closest_event(name)
    hint = f" (did you mean {close!r}?)" if close else ""
    raise ValueError(f"{name!r} is not an lcw:* event the widget fires{hint}")


def _entry_kind(kind: EntryKind | str | None) -> EntryKind | None:
    return None if kind is None else entry_kind(kind)


def _misspelt_name(name: str) -> str | None:
    """Why ``name`` is most likely a slip for a name the emulator records, or ``None``."""
    # The SDK's snake_case Python names are not what the timeline records: its JavaScript ones.
    camel = re.sub(r"_([a-z])", lambda match: match.group(1).upper(), name)
    # A one-letter slip only: a name of the test's own ("page loaded") may resemble ours.
    close = (
        [camel]
        if camel in _KIND_OF
        else difflib.get_close_matches(name, sorted(_KIND_OF), n=1, cutoff=0.93)
    )
    if not close:
        return None  # a name of the test's own, perhaps recorded later
    return (
        f"{name!r} is no name the emulator records (did you mean {close[0]!r}?), and no entry "
        "of the test's own has it: a check on it could never match"
    )


def _describe(name: str, detail: Mapping[str, Any] | None) -> str:
    return f"{name} with detail containing {dict(detail)!r}" if detail else name


class TimelineAssertions:
    """``unittest.mock``-style assertions over a :class:`Timeline`.

    Every failure raises :class:`AssertionError` whose message says what was
    expected and shows the whole recorded timeline.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def _fail(self, message: str) -> AssertionError:
        recorded = self.timeline.format() or "  (nothing recorded)"
        return AssertionError(f"{message}\n\nRecorded timeline:\n{recorded}")

    def _others(self, name: str) -> str:
        same_name = [entry for entry in self.timeline if entry.name == name]
        if not same_name:
            return f"{name} was never recorded."
        details = "\n".join(f"  at {entry.at:.3f}: {dict(entry.detail)!r}" for entry in same_name)
        return f"{name} was recorded {len(same_name)} time(s), with:\n{details}"

    # -- events ---------------------------------------------------------------

    def emitted(self, event: str, /, **detail: Any) -> list[TimelineEntry]:
        """The ``lcw:*`` events named ``event`` whose detail contains ``detail``.

        Raises :class:`ValueError` for a detail key the event never carries (``code`` for
        ``errorCode``), which would make ``assert_not_emitted`` pass whatever happened.
        """
        __tracebackhide__ = True  # a misspelt name or key is the test's line, not ours
        name = _event_name(event)
        problem = pattern_detail_problem(name, detail)
        if problem:
            raise ValueError(problem)
        return [e for e in self.timeline.events if e.matches(name, detail or None)]

    def assert_emitted(self, event: str, /, **detail: Any) -> TimelineEntry:
        """Assert ``event`` fired (with a detail containing ``detail``); return the last one."""
        __tracebackhide__ = True
        found = self.emitted(event, **detail)
        if not found:
            raise self._fail(
                f"Expected {_describe(event, detail)} to have been emitted. {self._others(event)}"
            )
        return found[-1]

    def assert_emitted_once(self, event: str, /, **detail: Any) -> TimelineEntry:
        """Assert ``event`` fired exactly once (counting only matches of ``detail``)."""
        __tracebackhide__ = True
        found = self.emitted(event, **detail)
        if len(found) != 1:
            raise self._fail(
                f"Expected {_describe(event, detail)} to have been emitted once; "
                f"it was emitted {len(found)} times."
            )
        return found[0]

    def assert_not_emitted(self, event: str, /, **detail: Any) -> None:
        """Assert ``event`` never fired (with a detail containing ``detail``)."""
        __tracebackhide__ = True
        found = self.emitted(event, **detail)
        if found:
            first = found[0]
            raise self._fail(
                f"Expected {_describe(event, detail)} not to have been emitted; "
                f"it was, {len(found)} time(s), first at {first.at:.3f} "
                f"with {dict(first.detail)!r}."
            )

    # -- any entry ------------------------------------------------------------

    def recorded(
        self, name: str, /, *, kind: EntryKind | str | None = None, **detail: Any
    ) -> list[TimelineEntry]:
        """Entries named ``name`` (of ``kind``, if given) whose detail contains ``detail``.

        ``kind`` is an :class:`EntryKind` or its value as the timeline prints it (``"sdk"``).
        Raises :class:`ValueError` where ``assert not recorded(...)`` would pass whatever
        happened: a name nothing recorded that is a slip for one the emulator records
        (``start_chat``, ``token refsed``), a ``kind`` the emulator's entry of that name never
        has, or a detail key (or a value's JSON type) it never carries.
        """
        __tracebackhide__ = True
        if not isinstance(name, str):
            raise wrong_type("the entry's name", 'a name, like "auth token callback"', name)
        wanted = _entry_kind(kind)
        always = _KIND_OF.get(name)
        if always is None and not any(entry.name == name for entry in self.timeline):
            slip = _misspelt_name(name)
            if slip is not None:
                raise ValueError(slip)
        if always is not None and wanted is not None and wanted is not always:
            raise ValueError(
                f"{name!r} is always recorded as kind {always.value!r}, never {wanted.value!r}: "
                "a check on it could never match"
            )
        if detail and always is not None:
            problem = pattern_detail_problem(name, detail)
            if problem:
                raise ValueError(problem)
        return [
            entry
            for entry in self.timeline.find(name, detail or None)
            if wanted is None or entry.kind is wanted
        ]

    def assert_recorded(
        self, name: str, /, *, kind: EntryKind | str | None = None, **detail: Any
    ) -> TimelineEntry:
        """Assert any entry (SDK call, provider step, service verdict, note) was recorded."""
        __tracebackhide__ = True
        found = self.recorded(name, kind=kind, **detail)
        if not found:
            of_kind = f" ({_entry_kind(kind)})" if kind is not None else ""
            raise self._fail(
                f"Expected {_describe(name, detail)}{of_kind} to have been recorded. "
                f"{self._others(name)}"
            )
        return found[-1]

    def assert_sequence(self, steps: Sequence[Step]) -> list[TimelineEntry]:
        """Assert the steps were recorded in this order (other entries may come between).

        A step is an entry name (``"startChat"``, ``"auth token provider called"``,
        ``"lcw:chatQueued"``) or ``(name, detail_subset)``.
        """
        __tracebackhide__ = True
        if isinstance(steps, str):
            # A string is a sequence too, of its characters.
            raise TypeError(f"assert_sequence takes a list of steps: assert_sequence([{steps!r}])")
        wanted = [_step(step, index) for index, step in enumerate(steps)]
        matched: list[TimelineEntry] = []
        entries = iter(self.timeline)
        for index, (name, detail) in enumerate(wanted):
            entry = next((e for e in entries if e.matches(name, detail)), None)
            if entry is None:
                done = ", ".join(_describe(n, d) for n, d in wanted[:index]) or "nothing"
                raise self._fail(
                    f"Expected the sequence {[_describe(n, d) for n, d in wanted]!r}; "
                    f"matched {done}, then found no {_describe(name, detail)} after it. "
                    f"{self._others(name)}"
                )
            matched.append(entry)
        return matched

    # -- errors ---------------------------------------------------------------

    def errors(self) -> list[TimelineEntry]:
        """Every ``lcw:error`` fired, in order."""
        return self.emitted("lcw:error")

    def assert_error(
        self, code: int | None = None, *, match: str | re.Pattern[str] | None = None
    ) -> TimelineEntry:
        """Assert an ``lcw:error`` with ``errorCode`` ``code`` fired; ``match`` searches its reason.

        ``match`` is a regular expression, as in ``pytest.raises``: a reason pasted as it is
        printed holds ``(`` and ``.``; pass ``re.escape(text)`` to match the text as written.

        Returns the last matching error entry; its ``detail`` has ``errorCode``,
        ``errorDescription`` and our ``reason``.
        """
        __tracebackhide__ = True
        if code is not None:
            code = _error_code(code)
        if match is not None:
            match = _pattern(match)
        errors = self.errors()
        found = [
            entry
            for entry in errors
            if (code is None or entry.detail.get("errorCode") == int(code))
            and (match is None or re.search(match, str(entry.detail.get("reason", ""))))
        ]
        if not found:
            wanted = "an lcw:error" + (f" with errorCode {int(code)}" if code is not None else "")
            if match is not None:
                pattern = match.pattern if isinstance(match, re.Pattern) else match
                wanted += f" whose reason matches {pattern!r}"
            seen = (
                "\n".join(
                    f"  [{entry.detail.get('errorCode')}] {entry.detail.get('errorDescription')}: "
                    f"{entry.detail.get('reason')}"
                    for entry in errors
                )
                or "  (none)"
            )
            coded = [e for e in errors if code is None or e.detail.get("errorCode") == int(code)]
            hint = _literal_hint(match, [str(e.detail.get("reason", "")) for e in coded])
            raise self._fail(f"Expected {wanted}.{hint} Errors emitted:\n{seen}")
        return found[-1]

    def assert_no_error(self) -> None:
        """Assert no ``lcw:error`` fired."""
        __tracebackhide__ = True
        errors = self.errors()
        if errors:
            reasons = "\n".join(
                f"  [{entry.detail.get('errorCode')}] {entry.detail.get('reason')}"
                for entry in errors
            )
            raise self._fail(f"Expected no lcw:error; {len(errors)} fired:\n{reasons}")

    # -- context --------------------------------------------------------------

    def _last_session(self, wanted: str) -> TimelineEntry:
        __tracebackhide__ = True
        created = self.timeline.find("chat session created")
        if not created:
            raise self._fail(f"Expected {wanted}, but no chat session was created.")
        return created[-1]

    def assert_context(self, expected: Mapping[str, Any], *, exact: bool = False) -> None:
        """Assert the last chat session's typed context holds ``expected``.

        Values compare with their type (``10000`` is not ``"10000"``, ``False`` is
        not ``0``). With ``exact=True`` the context must hold nothing else.
        """
        __tracebackhide__ = True
        if not isinstance(expected, Mapping):
            raise wrong_type("the expected context", "a mapping of names to values", expected)
        entry = self._last_session(f"the context {dict(expected)!r}")
        context: Mapping[str, Any] = entry.detail.get("context", {})
        problems = [
            f"  {key}: expected {value!r} ({type(value).__name__}), "
            + (
                f"got {context[key]!r} ({type(context[key]).__name__})"
                if key in context
                else "missing"
            )
            for key, value in expected.items()
            if key not in context or not typed_equal(context[key], value)
        ]
        if exact:
            problems += [
                f"  {key}: not expected, got {value!r}"
                for key, value in context.items()
                if key not in expected
            ]
        if problems:
            dropped = entry.detail.get("dropped") or []
            dropped_lines = "".join(f"\n  {d['key']}: {d['reason']}" for d in dropped)
            raise self._fail(
                f"Chat session {entry.detail.get('session')} has context {dict(context)!r}:\n"
                + "\n".join(problems)
                + (f"\nDropped:{dropped_lines}" if dropped else "")
            )

    def assert_dropped(self, key: str, *, match: str | re.Pattern[str] | None = None) -> str:
        """Assert the last chat session dropped context ``key``; return the reason."""
        __tracebackhide__ = True
        if match is not None:
            match = _pattern(match)
        entry = self._last_session(f"{key!r} to have been dropped")
        dropped: list[Mapping[str, str]] = entry.detail.get("dropped") or []
        reasons = [item["reason"] for item in dropped if item["key"] == key]
        if not reasons or (match is not None and not re.search(match, reasons[0])):
            pattern = match.pattern if isinstance(match, re.Pattern) else match
            wanted = f"{key!r} to have been dropped" + (
                f" for a reason matching {pattern!r}" if match is not None else ""
            )
            raise self._fail(
                f"Expected {wanted}.{_literal_hint(match, reasons)} Kept context: "
                f"{dict(entry.detail.get('context', {}))!r}; dropped: "
                f"{[dict(item) for item in dropped]!r}"
            )
        return reasons[0]


class LcwEmulator(TimelineAssertions):
    """A virtual clock, an org, a work stream and a widget on it, loaded on entry.

    ``workstream`` is a :class:`WorkStream`, a path to a work stream TOML file,
    or ``None`` for an unauthenticated work stream with no declared variables.
    ``start`` is the virtual clock's start in epoch seconds (default: the real
    time now plus 10 s, so tokens a real service mints with the real clock
    during the test are fresh; see :func:`start_time`). Pass ``clock`` or
    ``org`` to share them: an org brings its clock and its ``key_source`` (where keys
    behind a public key URL come from), and a clock its time, so ``start`` goes with
    neither, and ``key_source`` not with ``org``.
    ``strict`` makes SDK calls before ``lcw:ready`` raise; ``load=False``
    leaves the widget unloaded so the test can listen for ``lcw:ready`` first
    (then :meth:`load` it).

    Use it as ``with`` (it owns an event loop: drive it with :meth:`run`) or
    as ``async with`` (await the SDK directly on your loop).
    """

    def __init__(
        self,
        workstream: WorkStream | str | os.PathLike[str] | None = None,
        *,
        start: float | None = None,
        clock: VirtualClock | None = None,
        org: Omnichannel | None = None,
        strict: bool = False,
        load: bool = True,
        key_source: PublicKeySource | None = None,
    ) -> None:
        if org is not None:
            if not isinstance(org, Omnichannel):
                raise wrong_type("org", "an Omnichannel", org)
            if clock is not None and clock is not org.clock:
                raise ValueError("give clock or org, not both: the org brings its clock")
            if key_source is not None and key_source is not org.key_source:
                raise ValueError("give key_source or org, not both: the org brings its key source")
            if not isinstance(org.clock, VirtualClock):
                raise ValueError("LcwEmulator needs an org on a VirtualClock")
            clock = org.clock
        if clock is not None:
            if not isinstance(clock, VirtualClock):
                # run() and advance() move time, which only a virtual clock can.
                raise wrong_type("clock", "a VirtualClock", clock)
            if start is not None:
                raise ValueError(
                    f"give start or {'org' if org is not None else 'clock'}, not both: "
                    "the clock already has its time"
                )
        self._owns_clock = clock is None
        # Off when the test already failed (the pytest plugin knows): one failure is enough.
        self._raise_listener_assertions = True
        # (file, line, module) that ListenerWarnings name; the pytest fixture sets the test's.
        self._warn_at: tuple[str, int, str | None] | None = None
        self.clock = clock if clock is not None else VirtualClock(start=start_time(start))
        self.org = org if org is not None else Omnichannel(clock=self.clock, key_source=key_source)
        # org.widget reads a path and names what is neither a path nor a WorkStream.
        work_stream = WorkStream("lcw-emulator") if workstream is None else workstream
        self.widget: Widget = self.org.widget(work_stream, strict=strict)
        self._load_on_enter = load
        self._runner: asyncio.Runner | None = None
        super().__init__(self.widget.timeline)

    def __repr__(self) -> str:
        return f"<LcwEmulator {self.work_stream.name!r} at {self.clock.now():.3f}>"

    @property
    def work_stream(self) -> WorkStream:
        """The work stream the widget is bound to."""
        return self.widget.work_stream

    @property
    def sdk(self) -> LiveChatSDK:
        """``Microsoft.Omnichannel.LiveChatWidget.SDK`` of the widget."""
        return self.widget.sdk

    @property
    def session(self) -> ChatSession | None:
        """The widget's current chat session, if a chat started."""
        return self.widget.session

    # -- sync ----------------------------------------------------------------

    def __enter__(self) -> LcwEmulator:
        if self._runner is not None:
            # The inner exit would close the loop the outer block still runs on.
            raise RuntimeError(
                "this LcwEmulator is already in a with block: enter it once at a time "
                "(a second emulator, or the same one after the block, is fine)"
            )
        # A loop of its own that never becomes the thread's current loop: an async plugin
        # (pytest-asyncio before 1.0) keeps its loop there, and closing ours must not end it.
        self._runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        if self._load_on_enter:
            try:
                self._runner.run(self.widget.load())
            except BaseException:
                # __exit__ never runs for a failed __enter__: close the loop here, so the
                # emulator can be entered again and says what failed, not "already in".
                self._runner.close()
                self._runner = None
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        self._stop_work()
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if exc_type is None:
            self._raise_listener_assertion()

    def _raise_listener_assertion(self) -> None:
        # A listener's failure is recorded and the widget goes on, as in a browser; but an
        # assert in a listener is the test's own check, and must not let the test pass. Any
        # other failure, and a listener for an event that never fires, is warned of: pytest
        # shows warnings in its summary, where a log line of a passing test is hidden.
        # Neither when the test failed already: one failure is enough to read. The assertion
        # first, so that a warning made an error (-W error) cannot stand in for it.
        if not self._raise_listener_assertions:
            return
        failed = [each for each in self.widget.handler_errors if isinstance(each, AssertionError)]
        if failed:
            __tracebackhide__ = True
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise AssertionError(
                f"an assertion in an event listener failed{more}: {failed[0]}\n\n"
                f"{self.widget.timeline.format()}"
            ) from failed[0]
        self._warn_of_listeners()

    def _warn_of_listeners(self) -> None:
        messages = [
            f"{listener_raised(error)} (the widget went on, as a browser does; see the "
            "timeline's notes)"
            for error in self.widget.handler_errors
            if not isinstance(error, AssertionError)
        ]
        messages += [
            unheard_listener(entry.detail["event"], entry.detail.get("closest"))
            for entry in self.widget.timeline.find("listener for an event the widget never fires")
        ]
        for message in messages:
            # Where the test is: the pytest fixture names the test function; otherwise the
            # caller of __exit__/__aexit__, the test's own `with` line, not this module.
            if self._warn_at is not None:
                filename, line, module = self._warn_at
                # The module's name and registry, as warnings.warn gives them: a filter naming
                # the test module matches, and "default" shows a warning once per line.
                found = sys.modules.get(module) if module is not None else None
                registry = found.__dict__.setdefault("__warningregistry__", {}) if found else None
                warning = ListenerWarning(message)
                if module is None:  # a doctest; module=None, given, shows nothing (3.11)
                    warnings.warn_explicit(warning, ListenerWarning, filename, line)
                else:
                    warnings.warn_explicit(
                        warning, ListenerWarning, filename, line, module, registry
                    )
            else:
                warnings.warn(ListenerWarning(message), stacklevel=4)

    def _stop_work(self) -> None:
        # Whatever the emulator started on a loop that outlives it (an async test's loop
        # shared by a module) must not go on into the next test: a chat start waiting for
        # its token, the clock's timers and auto-jump, the page's async listeners.
        if self._owns_clock:
            self.clock.cancel_pending()
        with contextlib.suppress(RuntimeError):  # their loop closed: none of them runs again
            self.widget.cancel()

    @overload
    def run(self, work: Awaitable[T], /) -> T: ...
    @overload
    def run(self, work: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T: ...
    @overload
    def run(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...
    def run(self, work: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``work`` on the emulator's event loop and return its result (``with`` only).

        ``work`` is an awaitable, or a function called on the loop with
        ``args`` whose result is awaited if it is awaitable: pass SDK methods
        uncalled, ``lcw.run(lcw.sdk.startChat)``, since they need a running loop.
        It runs in a copy of the caller's context variables, as ``asyncio.run`` does.
        """
        if self._runner is None:
            raise RuntimeError(
                "LcwEmulator.run() needs the sync form (with LcwEmulator(...) as lcw:); "
                "inside async code, await the SDK directly"
            )
        self._require_no_running_loop("run()", work)
        if work == self.load:  # lcw.run(lcw.load): what it means is the widget's load
            work = self.widget.load
        if not (callable(work) or inspect.isawaitable(work)):
            # lcw.run(session.accept("Alex")) runs the call before run() sees it.
            raise TypeError(
                f"run() takes an awaitable or a function to call, got {type(work).__name__}: "
                "pass SDK methods uncalled, lcw.run(lcw.sdk.startChat)"
            )

        async def call() -> Any:
            result = work(*args, **kwargs) if callable(work) else work
            queued = self.widget.sdk.queued_call(result) if self._nothing_else_runs(work) else None
            if queued is not None:
                # An SDK method called alone, with no task or timer left that could fire
                # lcw:ready: awaiting it would wait forever.
                result.cancel()  # so it is not replayed by a later load
                raise SdkUsageError(
                    f"{queued}() was queued until lcw:ready, which has not "
                    "fired, so it would wait forever: load the widget first, "
                    "lcw.load() (the lcw fixtures load it unless "
                    "@pytest.mark.lcw(load=False))"
                )
            if inspect.isawaitable(result):
                result = await result
            return result

        __tracebackhide__ = True
        try:
            # The context of this call, not the runner's copy from its first run: a provider
            # reading a contextvar the test set since (a tenant, a trace) sees its value.
            return self._runner.run(call(), context=contextvars.copy_context())
        except LcwError as error:
            # A documented failure: its code and reason say what went wrong (and the
            # timeline how), so the traceback ends at the test's own line; what caused it
            # (the page's own provider raising) keeps its traceback.
            raise error.with_traceback(None) from error.__cause__

    def _nothing_else_runs(self, work: object) -> bool:
        """True when ``work`` is an SDK method alone on the loop: nothing else could load."""
        if getattr(work, "__self__", None) is not self.widget.sdk or self.clock.pending:
            return False
        return asyncio.all_tasks() == {asyncio.current_task()}

    def load(self) -> None:
        """Load the widget made with ``load=False``: ``lcw:ready``, then the queued calls.

        ``with`` only, as :meth:`run`; in async code, ``await lcw.widget.load()``.
        """
        self._require_no_running_loop("load()")
        self.run(self.widget.load)

    def advance(self, seconds: float) -> None:
        """Move the virtual clock by ``seconds`` and let woken tasks run (``with`` only)."""
        self._require_no_running_loop("advance()")
        # What is ready (a provider's first step after startChat) runs before time moves.
        self.run(self.clock.settle)
        self.clock.advance(seconds)
        self.run(self.clock.settle)

    @staticmethod
    def _require_no_running_loop(method: str, work: object = None) -> None:
        # The sync form runs its own loop; inside a running one (an async test, where the
        # lcw fixture is the same object) asyncio would only say "cannot be called from a
        # running event loop".
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if inspect.iscoroutine(work):
            work.close()  # never run: spare the caller a "never awaited" warning
        raise RuntimeError(
            f"LcwEmulator.{method} drives the emulator's own loop from sync code; in an async "
            "test, await instead: await lcw.sdk.startChat(), and await lcw.clock.sleep(seconds) "
            "to let virtual time pass"
        )

    # -- async ----------------------------------------------------------------

    async def __aenter__(self) -> LcwEmulator:
        if self._load_on_enter:
            await self.widget.load()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        self._stop_work()
        if exc_type is None:
            self._raise_listener_assertion()


def _error_code(code: object) -> int:
    """``code`` as an int, whatever int-like it is (ErrorCode, numpy); a clear error if none."""
    if not isinstance(code, bool):  # True is an int to Python, not an error code
        with contextlib.suppress(TypeError):
            return operator.index(code)  # type: ignore[arg-type]
    raise TypeError(f"code must be an lcw:error code (an int), got {code!r}")


def _literal_hint(match: str | re.Pattern[str] | None, reasons: Sequence[str]) -> str:
    """A hint when ``match`` is found as plain text in a reason though not as a pattern."""
    if match is None:
        return ""
    text = match.pattern if isinstance(match, re.Pattern) else match
    if any(text in reason and not re.search(match, reason) for reason in reasons):
        return (
            " That text is in a reason as written, but match is a regular expression and "
            "its ( . [ ? + * mean otherwise: pass re.escape(text)."
        )
    return ""


def _pattern(match: str | re.Pattern[str]) -> re.Pattern[str]:
    """``match`` compiled; :class:`ValueError` saying so when it is no regular expression."""
    if isinstance(match, re.Pattern):
        return match
    if not isinstance(match, str):
        raise TypeError(f"match must be a regular expression (text), got {type(match).__name__}")
    try:
        return re.compile(match)
    except re.error as exc:
        raise ValueError(
            f"match {match!r} is not a regular expression ({exc}): to match the text as it is, "
            "pass re.escape(text)"
        ) from None


def _step(step: object, index: int) -> tuple[str, Mapping[str, Any] | None]:
    """A sequence step as ``(name, detail)``; :class:`TypeError` for any other shape."""
    if isinstance(step, str):
        return step, None
    if (
        isinstance(step, tuple | list)
        and len(step) == 2
        and isinstance(step[0], str)
        and (step[1] is None or isinstance(step[1], Mapping))
    ):
        return step[0], step[1]
    raise TypeError(
        f"step {index} of the sequence is {step!r:.60}: a step is a name, or (name, detail) "
        'with detail a dict, like ("lcw:error", {"errorCode": 4})'
    )


def start_time(start: float | None) -> float:
    """``start``, or the default: the real time now plus :data:`DEFAULT_START_AHEAD`.

    The virtual clock stands still while a test runs, but a real token service
    stamps ``iat`` with the real clock: a token minted a second after the clock
    was made would be "issued in the future". Starting a little ahead keeps
    such tokens valid (it reads as Omnichannel's clock running 10 s ahead of
    your service's) and is far shorter than any token's lifetime. It is a whole
    second, as token services write ``iat`` and ``exp``: a token minted at it for
    60 s then expires exactly 60 s later, not up to a second after.
    """
    if start is None:
        return math.floor(time.time()) + DEFAULT_START_AHEAD
    return epoch_seconds(start, "start")  # text or True is no moment, as VirtualClock says
