"""The widget's documented ``lcw:*`` event names and the timeline that records a run.

A :class:`Timeline` is the ordered record of everything that happened to one
widget: SDK calls, events fired with their payloads, provider calls and
callbacks, and the service's verdicts. Scenarios print it; ``LcwEmulator`` (and
so the pytest plugin's fixtures) asserts on it.
"""

from __future__ import annotations

import decimal
import difflib
import enum
import math
import numbers
import reprlib
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

import attrs

from .clock import moment_seconds
from .errors import wrong_type

__all__ = [
    "AVAILABILITY_FIELDS",
    "ENTRY_DETAIL_TYPES",
    "ENTRY_NAMES",
    "EVENT_DETAIL_KEYS",
    "EVENT_DETAIL_TYPES",
    "LCW_EVENTS",
    "EntryKind",
    "EventDetail",
    "JavaScriptObject",
    "LcwEvent",
    "Recorder",
    "Timeline",
    "TimelineEntry",
    "closest_event",
    "closest_name",
    "detail_problem",
    "entry_kind",
    "function_name",
    "json_kind",
    "json_type",
    "pattern_detail_problem",
    "typed_equal",
    "typed_subset",
    "unknown_detail_keys",
]


class LcwEvent(enum.StrEnum):
    """Every documented ``lcw:*`` event, by its exact name."""

    READY = "lcw:ready"
    ERROR = "lcw:error"
    START_CHAT = "lcw:startChat"
    CLOSE_CHAT = "lcw:closeChat"
    CHAT_QUEUED = "lcw:chatQueued"
    CHAT_RETRIEVED = "lcw:chatRetrieved"
    ON_CLOSE = "lcw:onClose"
    ON_MINIMIZE = "lcw:onMinimize"
    ON_MAXIMIZE = "lcw:onMaximize"
    ON_MESSAGE_RECEIVED = "lcw:onMessageReceived"
    ON_MESSAGE_SENT = "lcw:onMessageSent"
    THREAD_UPDATE = "lcw:threadUpdate"
    GET_AGENT_AVAILABILITY = "lcw:getAgentAvailability"


LCW_EVENTS = frozenset(event.value for event in LcwEvent)


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``name`` most likely means (case, a typo), or ``None``."""
    by_lower = {each.lower(): each for each in known}
    close = difflib.get_close_matches(name.lower(), sorted(by_lower), n=1)
    return by_lower[close[0]] if close else None


def closest_event(name: str) -> str | None:
    """The ``lcw:*`` event ``name`` most likely means (case, a typo, no prefix), or ``None``."""
    return closest_name(name if name.startswith("lcw:") else f"lcw:{name}", LCW_EVENTS)


# What getAgentAvailability answers, and so lcw:getAgentAvailability's detail, with each
# field's JSON type.
_AVAILABILITY_TYPES = {
    "queueId": "string",
    "isQueueAvailable": "boolean",
    "StartTimeOfNextOperatingHour": "string",
    "EndTimeOfNextOperatingHour": "string",
    "nexttransitiontime": "string",
    "positionInQueue": "number",
    "isAgentAvailable": "boolean",
    "averageWaitTime": "number",
}
AVAILABILITY_FIELDS = tuple(_AVAILABILITY_TYPES)

# The JSON type of each key an event's detail may carry as the widget fires it (events not
# named carry none): a check on a key an event never carries, or on a value of another type
# (errorCode "3" for 3), could never match. tests/test_widget.py holds this table to what
# the widget fires.
EVENT_DETAIL_TYPES: Mapping[str, Mapping[str, str]] = types.MappingProxyType(
    {
        LcwEvent.ERROR.value: {
            "errorCode": "number",
            "errorDescription": "string",
            "reason": "string",
            "errorDetail": "string",
        },
        LcwEvent.ON_MESSAGE_RECEIVED.value: {
            "messageType": "string",
            "channelData": "object",
            "text": "string",
        },
        LcwEvent.GET_AGENT_AVAILABILITY.value: _AVAILABILITY_TYPES,
    }
)
EVENT_DETAIL_KEYS: Mapping[str, frozenset[str]] = types.MappingProxyType(
    {event: frozenset(keys) for event, keys in EVENT_DETAIL_TYPES.items()}
)


def json_type(value: object) -> str:
    """The JSON type ``value`` would have: string, number, boolean, object, array or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


_INF = float("inf")


def entry_kind(kind: object) -> EntryKind:
    """``kind`` as an :class:`EntryKind`, given as one or by its value (``"note"``)."""
    if isinstance(kind, EntryKind):
        return kind
    known = ", ".join(repr(member.value) for member in EntryKind)
    if not isinstance(kind, str):
        raise wrong_type("an entry kind", f"an EntryKind or its value ({known})", kind)
    try:
        return EntryKind(kind)
    except ValueError:
        raise ValueError(f"kind {kind!r} is not an entry kind (known: {known})") from None


def function_name(function: object) -> str:
    """How the timeline names a provider or listener: its ``__name__``, else its type's."""
    return getattr(function, "__name__", type(function).__name__)


def json_kind(value: object) -> str:
    """``value``'s JSON type as a sentence names it: a string, an object, null, a boolean."""
    kind = json_type(value)
    return kind if kind == "null" or kind not in _JSON_TYPES else _a(kind)


_JSON_TYPES = frozenset({"string", "number", "boolean", "object", "array", "null"})


def _declared_types(name: str) -> Mapping[str, str]:
    return EVENT_DETAIL_TYPES.get(name) or ENTRY_DETAIL_TYPES.get(name) or {}


def unknown_detail_keys(event: str, keys: Iterable[str]) -> str | None:
    """Why ``keys`` cannot all be in the detail of entry ``event``, or ``None`` when they can.

    ``event`` is any timeline name: an ``lcw:*`` event, an SDK call, a provider, service or
    note entry.
    """
    known = frozenset(_declared_types(event))
    unknown = sorted(set(keys) - known)
    if not unknown:
        return None
    hints = []
    for key in unknown:
        # Case-blind, and "code" for "errorCode": the slips people make with these names.
        inside = [name for name in sorted(known) if key.lower() in name.lower()]
        close = inside[0] if inside else closest_name(key, known)
        hints.append(f"{key!r}" + (f" (did you mean {close!r}?)" if close else ""))
    carries = f"its keys: {', '.join(sorted(known))}" if known else "it carries no detail"
    return f"{event} has no detail {', '.join(hints)}; {carries}"


def detail_problem(event: str, detail: Mapping[str, object]) -> str | None:
    """Why no ``event`` the widget records can carry ``detail``: a key or a value's type."""
    problem = unknown_detail_keys(event, detail)
    if problem is not None:
        return problem
    declared = _declared_types(event)
    for key, value in detail.items():
        problem = _type_problem(f"{event}'s {key}", declared[key], value)
        if problem is not None:
            return problem
        nested = _NESTED_KEYS.get((event, key))
        if nested is not None and isinstance(value, Mapping):
            problem = _nested_problem(f"{event}'s {key}", nested, value)
            if problem is not None:
                return problem
    return None


def pattern_detail_problem(event: str, detail: Mapping[str, object]) -> str | None:
    """Why ``detail``, to match ``event`` entries by, could never match or checks nothing.

    :func:`detail_problem`, plus an empty object inside it: entries may record ``{}``, but a
    pattern's ``{}`` would match every object.
    """
    problem = detail_problem(event, detail)
    if problem is not None:
        return problem
    for key, value in detail.items():
        problem = _empty_table(f"{event}'s {key}", value)
        if problem is not None:
            return problem
    return None


def _empty_table(where: str, value: object) -> str | None:
    """Why an empty object in a detail to match checks nothing, or ``None``.

    Objects match as subsets, so ``{}`` matches every object: ``context = {}`` would hold
    whatever context the chat got, though it reads as "no context".
    """
    if not isinstance(value, Mapping):
        return None
    if not value:
        hint = (
            " (that a chat's context is empty: a context check with values = {})"
            if where.endswith("'s context")
            else ""
        )
        return (
            f"{where} = {{}} checks nothing: an object matches any object holding its keys, "
            f"so an empty one matches every object; name a key it must hold{hint}"
        )
    for key, item in value.items():
        problem = _empty_table(f"{where}.{key}", item)
        if problem is not None:
            return problem
    return None


# Detail values that are objects with keys of their own, which a check may also name.
_NESTED_KEYS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("lcw:onMessageReceived", "channelData"): {"tags": "array"},
}


def _nested_problem(
    where: str, declared: Mapping[str, str], value: Mapping[str, object]
) -> str | None:
    for key, item in value.items():
        if key not in declared:
            close = closest_name(key, declared)
            hint = f" (did you mean {close!r}?)" if close else ""
            return f"{where} has no key {key!r}{hint}; its keys: {', '.join(sorted(declared))}"
        problem = _type_problem(f"{where}.{key}", declared[key], item)
        if problem is not None:
            return problem
    return None


def _type_problem(where: str, declared: str, value: object) -> str | None:
    """Why ``value`` cannot be the value at ``where``, of ``declared`` type, or ``None``."""
    if declared == "true":
        if value is not True:  # a flag recorded only when set: absent, never false
            shown = "false" if value is False else repr(value)
            return f"{where} is only ever true (absent otherwise), never {shown}"
        return None
    kinds = declared.split("|")
    if kinds != ["any"] and json_type(value) not in kinds:
        expected = " or ".join(kind if kind == "null" else _a(kind) for kind in kinds)
        return f"{where} is {expected}, never {json_kind(value)} like {reprlib.repr(value)}"
    return None


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


class JavaScriptObject(dict[str, Any]):
    """A dict whose keys also read as attributes, as a JavaScript object's do.

    The attribute reads exist at run time only: a subclass tells type checkers which
    attributes it has (:class:`EventDetail`: any; ``AgentAvailability``: its fields, so a
    misspelt one is an error).
    """

    __slots__ = ()
    _WHAT = "the object"  # what an AttributeError calls it

    if not TYPE_CHECKING:

        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError:
                keys = ", ".join(self) or "none"
                raise AttributeError(f"{self._WHAT} has no {name!r} (its keys: {keys})") from None


class EventDetail(JavaScriptObject):
    """An event's ``detail``: a dict whose keys also read as attributes, as in JavaScript.

    So ``errorEvent.detail.errorCode`` ports line by line; ``detail["errorCode"]`` works too.
    """

    __slots__ = ()
    _WHAT = "the event's detail"

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...  # an event's keys vary with the event


class EntryKind(enum.StrEnum):
    """What a timeline entry records."""

    SDK_CALL = "sdk"  # the page called an SDK method
    EVENT = "event"  # the widget fired an lcw:* event
    PROVIDER = "provider"  # a provider was called, called back, or misbehaved
    SERVICE = "service"  # Omnichannel's verdict: token, context, session
    NOTE = "note"  # something ignored or worth knowing (a second callback)


# What the lower layers (providers, key sources) are handed to write to a widget's timeline.
Recorder = Callable[[EntryKind, str, Mapping[str, Any]], None]


# The name of every provider, service and note entry the emulator records (events are
# LCW_EVENTS, SDK calls sdk.JAVASCRIPT_METHODS). Scenarios refuse a name outside these,
# since a misspelt one could never match; tests/test_scenario_checks.py holds this table
# to the names the recorders actually write.
ENTRY_NAMES: Mapping[EntryKind, frozenset[str]] = types.MappingProxyType(
    {
        EntryKind.PROVIDER: frozenset(
            {
                "auth token provider called",
                "auth token callback",
                "context provider called",
                "context provider answered",
                "bot auth token provider called",
                "bot auth callback",
            }
        ),
        EntryKind.SERVICE: frozenset(
            {
                "chat session created",
                "token refused",
                "public keys fetched",
                "getAgentAvailability refused",
            }
        ),
        EntryKind.NOTE: frozenset(
            {
                "callback ignored",
                "provider raised after calling back",
                "provider raised after the timeout",
                "provider raised after the start was cancelled",
                "chat start cancelled while the provider worked",
                "replaying queued call",
                "queued call cancelled: not replayed",
                "queued call overtaken: not replayed",
                "listener raised",
                "bot auth token provider raised",
                "page reloaded",
                "queued call dropped: the page reloaded",
                "queued call dropped: the widget failed to load",
                "providers cleared: the page reloaded",
                "chat start in flight at the reload: it completes",
                "widget already loaded: lcw:ready does not fire again",
                "listener for an event the widget never fires",
                "lcw:ready listener added after lcw:ready fired",
                "option the SDK does not read: ignored",
                "chat already in progress",
                "chat ended by the agent still open: the customer closes it first",
                "chat already starting",
                "chat still starting: it closes once started",
                "no chat to close",
                "proactive invitation shown",
                "proactive invitation not shown: a chat is in progress",
                "proactive invitation not shown: the chat the agent ended is still open",
                "widget already minimised: nothing fires",
                "widget already open: nothing fires",
                "public keys not refetched",
                "customContext overrides the context provider",
                "custom context ignored: an authenticated chat takes context from the "
                "token's lwicontexts only",
                "auth token provider not called: the work stream has no chat authentication",
                "token context outside lwicontexts",
                "short HMAC secret",
                "getAgentAvailability answered from the page's cache",
                "getAgentAvailability asked before the reload: its answer is not kept",
                "context key differs from a declared variable only in case",
            }
        ),
    }
)


# "true": a flag recorded only when set, so a check on false could never match.
_QUEUED = {"queued": "true"}  # an SDK call made before lcw:ready
_ERROR = {"error": "string"}
_METHOD = {"method": "string"}
_SESSION = {"session": "string"}

# The JSON type of each key the detail of an SDK call, provider, service or note entry may
# carry ("string|null": either; "any": whatever the page passed; "true": a flag present only
# when set); names not here carry none.
# As for events, a check on a key an entry never carries could never match, and a never check
# on it could never fail. tests/conftest.py holds every entry the test suite records to it.
ENTRY_DETAIL_TYPES: Mapping[str, Mapping[str, str]] = types.MappingProxyType(
    {
        "setContextProvider": {"provider": "string", **_QUEUED},
        "removeContextProvider": _QUEUED,
        "setAuthTokenProvider": {"provider": "string", **_QUEUED},
        "removeAuthTokenProvider": _QUEUED,
        "startChat": {"customContext": "array", "inNewWindow": "true", **_QUEUED},
        "closeChat": _QUEUED,
        # showPrechat as the page passed it: a page in a browser may pass any value.
        "startProactiveChat": {"message": "string|null", "showPrechat": "any", **_QUEUED},
        "getAgentAvailability": _QUEUED,
        "setBotAuthTokenProvider": {"provider": "string", **_QUEUED},
        "auth token provider called": {"timeout": "number"},
        "auth token callback": {"token": "string"},
        "context provider answered": {"keys": "array"},
        "bot auth token provider called": {"url": "string"},
        "bot auth callback": {"show": "boolean", "ignored": "any"},
        "chat session created": {
            "session": "string",
            "queue": "string",
            "context": "object",
            "dropped": "array",
        },
        "token refused": {"claim": "string|null", "reason": "string"},
        "public keys fetched": {"url": "string", "why": "string", "kids": "array"},
        "getAgentAvailability refused": {"httpStatus": "number", "reason": "string"},
        "callback ignored": {"why": "string", "token": "string"},
        "provider raised after calling back": _ERROR,
        "provider raised after the timeout": _ERROR,
        "provider raised after the start was cancelled": _ERROR,
        "bot auth token provider raised": _ERROR,
        "listener raised": _ERROR,
        "replaying queued call": _METHOD,
        "queued call cancelled: not replayed": _METHOD,
        "queued call overtaken: not replayed": {**_METHOD, "by": "string"},
        "queued call dropped: the page reloaded": _METHOD,
        "queued call dropped: the widget failed to load": _METHOD,
        "providers cleared: the page reloaded": {"providers": "array"},
        "listener for an event the widget never fires": {
            "event": "string",
            "closest": "string|null",
        },
        "lcw:ready listener added after lcw:ready fired": {"listener": "string"},
        "option the SDK does not read: ignored": {
            "method": "string",
            "option": "string",
            "closest": "string|null",
        },
        "chat already in progress": _SESSION,
        "chat ended by the agent still open: the customer closes it first": _SESSION,
        "proactive invitation shown": {"message": "string", "showPrechat": "any"},
        "public keys not refetched": {"url": "string", "kid": "string|null", "why": "string"},
        "token context outside lwicontexts": {"hint": "string"},
        "short HMAC secret": {"secret": "string"},
        "getAgentAvailability answered from the page's cache": {"age": "number"},
        "context key differs from a declared variable only in case": {
            "key": "string",
            "declared": "string",
        },
    }
)


@attrs.frozen
class TimelineEntry:
    """One recorded happening, at a virtual time."""

    at: float
    kind: EntryKind
    name: str
    detail: Mapping[str, Any] = attrs.field(factory=dict)

    def matches(self, name: str, subset: Mapping[str, Any] | None = None) -> bool:
        """True when this entry has ``name`` and its detail contains ``subset`` (typed)."""
        return self.name == name and (subset is None or typed_subset(self.detail, subset))


# What a test may give as a number (a Decimal from a database, a Fraction), beside int and float.
_NUMBERS = (numbers.Real, decimal.Decimal)


def typed_equal(actual: Any, expected: Any) -> bool:
    """Equality that tells ``true`` from ``1`` (TOML and JSON do; Python does not).

    Numbers compare by value (``1`` is ``1.0``, as JavaScript has one number type);
    tables and lists compare whole, item by item.
    """
    if type(expected) is str or type(actual) is str:  # most routing rules: no ABC checks
        return bool(actual == expected)
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(actual) == set(expected)
            and all(typed_equal(actual[key], expected[key]) for key in expected)
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(typed_equal(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        # As JavaScript compares them: both doubles, so 12345678901234567890 (beyond 2**53) is
        # the double it rounds to.
        return _as_double(actual) == _as_double(expected)
    if isinstance(expected, _NUMBERS) and isinstance(actual, _NUMBERS):
        # A Decimal("1249.90") from a test is the double 1249.9, as the page would send it;
        # one no double holds (Decimal("1e400")) is compared exactly, as an int that size is.
        try:
            doubles = _as_double(actual), _as_double(expected)  # type: ignore[arg-type]
            if math.inf in map(abs, doubles) and any(map(_finite_number, (actual, expected))):
                return bool(actual == expected)  # past a double: Python compares exactly, fast
            return doubles[0] == doubles[1]
        except (ArithmeticError, ValueError):  # a signaling NaN, which compares to nothing
            return False
    return bool(actual == expected)


def _finite_number(value: Any) -> bool:
    if isinstance(value, decimal.Decimal):
        return value.is_finite()  # math.isfinite would ask its float, which overflows
    return not isinstance(value, float) or math.isfinite(value)


def _as_double(number: int | float) -> int | float:
    try:
        return float(number)
    except OverflowError:  # no double holds it (JavaScript's Infinity): compared exactly
        return number


def typed_subset(actual: Any, expected: Any) -> bool:
    """``expected`` is in ``actual``: its tables a subset (nested ones too), values typed_equal."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and typed_subset(actual[key], value) for key, value in expected.items()
        )
    return typed_equal(actual, expected)


# Most entries carry no detail: they all share one read-only empty mapping.
_NO_DETAIL: Mapping[str, Any] = types.MappingProxyType({})
_STRIDE = 4  # at, kind, name, detail


class Timeline:
    """An append-only, ordered record of one widget's run."""

    __slots__ = ("_flat",)

    def __init__(self) -> None:
        # One flat list of (at, kind, name, detail) runs, not an entry object each:
        # every chat keeps its timeline, and a suite holds thousands of chats, so each
        # entry object would be one more thing for the cyclic garbage collector to walk on
        # every full collection. Entries are built when read.
        self._flat: list[Any] = []

    def _entry(self, start: int) -> TimelineEntry:
        at, kind, name, keys_then_values = self._flat[start : start + _STRIDE]
        if not keys_then_values:
            return TimelineEntry(at, kind, name, _NO_DETAIL)
        lists = 0
        if len(keys_then_values) % 2:  # led by which values were lists: see record
            lists, *rest = keys_then_values
            keys_then_values = tuple(rest)
        half = len(keys_then_values) // 2
        values = keys_then_values[half:]
        if lists:
            values = tuple(
                list(value) if lists >> position & 1 else value
                for position, value in enumerate(values)
            )
        return TimelineEntry(
            at, kind, name, dict(zip(keys_then_values[:half], values, strict=True))
        )

    def __iter__(self) -> Iterator[TimelineEntry]:
        return (self._entry(start) for start in range(0, len(self._flat), _STRIDE))

    def __len__(self) -> int:
        return len(self._flat) // _STRIDE

    def __repr__(self) -> str:
        # The entries themselves are a print(timeline.format()) away.
        size = len(self)
        return f"<Timeline of {size} {'entry' if size == 1 else 'entries'}>"

    @overload
    def __getitem__(self, index: int) -> TimelineEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[TimelineEntry]: ...

    def __getitem__(self, index: int | slice) -> TimelineEntry | list[TimelineEntry]:
        if isinstance(index, slice):
            return [self._entry(i * _STRIDE) for i in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("timeline index out of range")
        return self._entry(position * _STRIDE)

    def record(
        self, at: float, kind: EntryKind | str, name: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Append an entry; ``detail`` is copied, so the caller may reuse its mapping.

        A list in the detail is copied too: each read gives a new list with what it held.
        ``kind`` may be given by its value (``"note"``); a kind or time that is neither is
        refused, as every later read of the timeline would fail on it.
        """
        if type(kind) is not EntryKind or type(at) is not float or not -_INF < at < _INF:
            # A test's own entry, mostly: the clocks give a finite float and our kinds.
            at, kind = moment_seconds(at, "a timeline entry's time"), entry_kind(kind)
        # A flat tuple of the keys, then the values, is a third of a dict's size, and one that
        # holds only strings and numbers drops out of the garbage collector's sight. A list
        # would keep it in sight, so a list value is kept as a tuple, and the tuple is led by
        # an int saying which values to read back as lists.
        if not detail:
            self._flat += (at, kind, name, ())
            return
        values = detail.values()
        if list in map(type, values):
            lists = sum(1 << i for i, value in enumerate(values) if type(value) is list)
            kept = [tuple(value) if type(value) is list else value for value in values]
            self._flat += (at, kind, name, (lists, *detail, *kept))
            return
        self._flat += (at, kind, name, (*detail, *values))

    def of_kind(self, kind: EntryKind) -> list[TimelineEntry]:
        """The entries of one kind (SDK calls, events, provider calls...), in order."""
        return [entry for entry in self if entry.kind is kind]

    @property
    def events(self) -> list[TimelineEntry]:
        """Only the ``lcw:*`` events fired, in order."""
        return self.of_kind(EntryKind.EVENT)

    def event_names(self) -> list[str]:
        """The names of the ``lcw:*`` events fired, in order."""
        return [entry.name for entry in self.events]

    def find(self, name: str, subset: Mapping[str, Any] | None = None) -> list[TimelineEntry]:
        """The entries named ``name`` whose detail holds ``subset`` (see ``matches``)."""
        return [entry for entry in self if entry.matches(name, subset)]

    def format(self) -> str:
        """A plain, stable, human-readable rendering (one line per entry)."""
        return "\n".join(
            f"{entry.at:>14.3f}  {entry.kind.value:<8} {entry.name}"
            + (f"  {dict(entry.detail)}" if entry.detail else "")
            for entry in self
        )
