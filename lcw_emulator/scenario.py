"""Scenario files: a whole chat lifecycle, declared in TOML and checked.

A scenario names the work stream it runs against (a file or an inline
table), the instant its virtual clock starts at, the providers the page will
hand to the widget, and an ordered list of steps. A step either *does*
something (an SDK call, a customer or agent action, a wait in virtual time) or
*expects* something (events in order, an error with its code, the resolved
context, the session, agent availability, the widget's state)::

    name = "VIP routing"
    workstream = "contoso.toml"
    start = 1700000000
    private_key = "keys/private.pem"

    [providers.vip]
    claims = { sub = "alice", iss = "contosohelp.com", exp = "+3600",
               lwicontexts = { msdyn_isvip = "true" } }

    [[steps]]
    do = "load"
    [[steps]]
    do = "set_auth_token_provider"
    provider = "vip"
    [[steps]]
    do = "start_chat"
    [[steps]]
    expect = "session"
    state = "queued"
    queue = "VIP"

Everything here is parsing and validation into frozen values; running is
:mod:`lcw_emulator.scenario_runner`. A file that cannot be used is refused
before anything runs with a :class:`~lcw_emulator.errors.ConfigurationError`
naming the file, the step number and what is wrong. ``docs/scenarios.md`` is
the format reference.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs

from .auth import HMAC_KEY_BYTES, KeyPair
from .clock import (
    MILLISECONDS_THRESHOLD,
    describe_instant,
    describe_offset,
    describe_seconds,
    epoch_seconds,
    finite_seconds,
)
from .errors import ConfigurationError, ErrorCode, whole_number, wrong_type
from .events import (
    AVAILABILITY_FIELDS,
    ENTRY_NAMES,
    LCW_EVENTS,
    EntryKind,
    TimelineEntry,
    function_name,
    pattern_detail_problem,
)
from .files import UnreadableFile, read_text, shown_path
from .sdk import JAVASCRIPT_METHODS, LiveChatSDK
from .session import SessionState
from .widget import WidgetState
from .workstream import WorkStream, read_toml, unknown_keys

__all__ = [
    "ACTIONS",
    "DEFAULT_START",
    "EXPECTATIONS",
    "FROM_PAGE_CODE",
    "TIMELINE_NAMES",
    "TIME_TOLERANCE",
    "AcceptProactiveChat",
    "Action",
    "AgentAccepts",
    "AgentEnds",
    "AgentSays",
    "BotSignIn",
    "CloseChat",
    "EventPattern",
    "ExpectAvailability",
    "ExpectContext",
    "ExpectError",
    "ExpectEvents",
    "ExpectNever",
    "ExpectSession",
    "ExpectWidget",
    "Expectation",
    "GetAgentAvailability",
    "GetAuthTokenProvider",
    "GetContextProvider",
    "Load",
    "Maximize",
    "Minimize",
    "ProviderSpec",
    "Reload",
    "RemoveAuthTokenProvider",
    "RemoveContextProvider",
    "Scenario",
    "SendMessage",
    "SetAuthTokenProvider",
    "SetBotAuthTokenProvider",
    "SetContextProvider",
    "StartChat",
    "StartProactiveChat",
    "Step",
    "Wait",
    "is_work_stream_file",
    "load_scenario",
    "read_step",
    "relative_time",
]

T = TypeVar("T")

# When a scenario names no start: 2023-11-14T22:13:20Z, a round and recent instant.
DEFAULT_START = 1_700_000_000.0

# Virtual times are epoch floats: at 1.7e9 s one step of a float is ~2.4e-7 s,
# so times in expectations match to the microsecond.
TIME_TOLERANCE = 1e-6

# "+3600", "-60", "+0.5": seconds relative to the virtual now (also "now").
_RELATIVE = re.compile(r"[+-]\d+(?:\.\d+)?", re.ASCII)
TIME_CLAIMS = ("iat", "nbf", "exp")


def relative_time(value: object) -> float | None:
    """Seconds relative to now for ``"+3600"``, ``"-60"`` or ``"now"``; ``None`` otherwise."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "now":
        return 0.0
    return float(text) if _RELATIVE.fullmatch(text) else None


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# Every name a timeline entry can have, so every name an events or never pattern may use.
TIMELINE_NAMES = LCW_EVENTS | JAVASCRIPT_METHODS | frozenset().union(*ENTRY_NAMES.values())


# -- providers ----------------------------------------------------------------

PROVIDER_KINDS = ("answer", "twice", "returning", "raising", "never", "garbage")
DEFAULT_RAISE_MESSAGE = "token service unavailable"


@attrs.frozen(kw_only=True)
class ProviderSpec:
    """A provider the page can hand to the widget, described as data.

    ``kind`` says how it behaves: ``answer`` calls back with its token (or, as a
    context provider, returns its ``context``), ``twice`` calls back twice,
    ``returning`` returns the token instead of calling back, ``raising`` raises
    ``message``, ``never`` never answers, ``garbage`` answers with ``value``
    (``None`` when absent). ``delay`` makes any of them answer that many virtual
    seconds late. The token is a literal ``token`` or minted at call time from
    ``claims`` (``iat``/``nbf``/``exp`` may be ``"+3600"``-style times relative
    to the virtual now; a table ``lwicontexts`` is serialised to JSON) and
    signed by ``signer`` (an RSA :class:`KeyPair` or an HS* shared secret).
    """

    name: str
    kind: str = "answer"
    token: str | None = None
    claims: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    omit: tuple[str, ...] = ()
    context: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    value: Any = attrs.field(default=None, hash=False)
    message: str = DEFAULT_RAISE_MESSAGE
    delay: float = 0.0
    signer: KeyPair | str | None = attrs.field(default=None, eq=False, repr=False)
    algorithm: str = "RS256"
    with_kid: bool = False

    def __attrs_post_init__(self) -> None:
        # The file reader checks a [providers.NAME] table before it builds one; a spec built
        # in code is checked here, or its mistake would fail at chat start as the page's
        # code 2, and a scenario expecting code 2 would pass for the wrong reason.
        where = f"provider {self.name!r}"
        if not isinstance(self.name, str):
            raise wrong_type("a provider's name", "a string", self.name)
        if self.kind not in PROVIDER_KINDS:
            kinds = ", ".join(PROVIDER_KINDS)
            raise ValueError(f"{where}: kind must be one of {kinds}, got {self.kind!r}")
        for field, kind in (("token", str), ("claims", Mapping), ("context", Mapping)):
            value = getattr(self, field)
            if value is not None and not isinstance(value, kind):
                raise wrong_type(
                    f"{where}: {field}", "a string" if kind is str else "a mapping", value
                )
        if not isinstance(self.message, str):
            raise wrong_type(f"{where}: message", "a string", self.message)
        if finite_seconds(self.delay, f"{where}: delay") < 0:
            raise ValueError(f"{where}: delay cannot be below 0, got {self.delay!r}")
        if self.claims is not None:
            # As the reader's claims: relative times it can read, and values JSON can hold.
            for name in TIME_CLAIMS:
                value = self.claims.get(name)
                if isinstance(value, str) and relative_time(value) is None:
                    raise ValueError(
                        f'{where}: claims.{name} must be epoch seconds or relative like "+3600" '
                        f'(or "now"), got {value!r}'
                    )
            # A datetime time claim is minted as epoch seconds, as jwt.encode mints it.
            minted_as_is = {
                name: value
                for name, value in self.claims.items()
                if not (name in TIME_CLAIMS and isinstance(value, dt.datetime))
            }
            problem = _not_json(minted_as_is, "claims")
            if problem is not None:
                raise ValueError(f"{where}: {problem}")
            for name, value in minted_as_is.items():
                # What code can hold beyond a file's values: a set, bytes, an object.
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"{where}: claims.{name} cannot be minted into a token: {exc}"
                    ) from None
        if self.claims is not None and not (
            isinstance(self.signer, KeyPair) or (isinstance(self.signer, str) and self.signer)
        ):
            raise ValueError(
                f"{where}: claims are minted into a token, which needs a signer (a KeyPair, or "
                "an HS* shared secret)"
            )

    @property
    def gives_token(self) -> bool:
        """True when it has a token to give: a literal ``token``, or ``claims`` to mint one."""
        return self.token is not None or self.claims is not None

    @property
    def usable_for_auth(self) -> bool:
        """Whether it can be an auth token provider: the answering kinds need a token."""
        if self.kind in ("answer", "twice", "returning"):
            return self.gives_token
        return True

    @property
    def usable_for_context(self) -> bool:
        """Whether it can be a context provider.

        An ``answer`` needs a ``context``; ``raising``, ``never`` and ``garbage`` always can.
        """
        if self.kind == "answer":
            return self.context is not None
        return self.kind in ("raising", "never", "garbage")

    def describe(self) -> str:
        """Its name, then its kind unless ``answer`` and its delay: ``slow never after 5 s``."""
        parts = [self.name]
        if self.kind != "answer" and self.kind != self.name:
            parts.append(self.kind)
        if self.delay:
            parts.append(f"after {describe_seconds(self.delay)} s")
        return " ".join(parts)


# -- steps --------------------------------------------------------------------


def _fields(step: Any) -> str:
    """``key=value`` for the fields that differ from their defaults."""
    parts: list[str] = []
    for field in attrs.fields(type(step)):
        if field.name in ("number", "title"):
            continue
        value = getattr(step, field.name)
        if value is None or value == field.default:
            continue
        if isinstance(value, ProviderSpec):
            parts.append(value.describe())
        elif callable(value):
            parts.append(function_name(value))
        elif isinstance(value, EventPattern):
            parts.append(value.describe())
        elif isinstance(value, tuple) and value and isinstance(value[0], EventPattern):
            parts.append(", ".join(pattern.describe() for pattern in value))
        elif field.name == "dropped" and not any(value.values()):
            parts.append(f"dropped={_json(list(value))}")
        elif isinstance(value, float):
            parts.append(f"{field.name}={describe_seconds(value)}")
        else:
            parts.append(f"{field.name}={_json(value)}")
    return " ".join(parts)


@attrs.frozen(kw_only=True)
class Step:
    """One step of a scenario; ``number`` counts from 1 in file order."""

    verb: ClassVar[str] = ""
    number: int = 0
    title: str | None = None

    def describe(self) -> str:
        """The step as one line: its verb and the arguments that matter."""
        arguments = _fields(self)
        return f"{self.verb} {arguments}".strip()


@attrs.frozen(kw_only=True)
class Action(Step):
    """A step that does something: an SDK call, a customer or agent action, a wait."""


@attrs.frozen(kw_only=True)
class Expectation(Step):
    """A step that checks what happened so far."""

    def describe(self) -> str:
        """The expectation as one line: ``expect VERB: key=value ...``."""
        return f"expect {self.verb}: {_fields(self)}".rstrip(": ")


@attrs.frozen(kw_only=True)
class Load(Action):
    """The page loads the widget: ``lcw:ready`` fires and calls queued before it are made."""

    verb = "load"


@attrs.frozen(kw_only=True)
class Reload(Action):
    """The customer reloads the page: ``lcw:ready`` again, ``lcw:chatRetrieved`` mid-chat."""

    verb = "reload"


@attrs.frozen(kw_only=True)
class SetAuthTokenProvider(Action):
    """``setAuthTokenProvider``: ``provider`` is a :class:`ProviderSpec` or the page's function."""

    verb = "set_auth_token_provider"
    provider: ProviderSpec | Callable[..., object]


@attrs.frozen(kw_only=True)
class RemoveAuthTokenProvider(Action):
    """``removeAuthTokenProvider``: the widget has no auth token provider afterwards."""

    verb = "remove_auth_token_provider"


@attrs.frozen(kw_only=True)
class GetAuthTokenProvider(Action):
    """``getAuthTokenProvider``: the step's value is the provider's name, or ``None``."""

    verb = "get_auth_token_provider"


@attrs.frozen(kw_only=True)
class SetContextProvider(Action):
    """``setContextProvider``: ``provider`` is a :class:`ProviderSpec` or the page's function."""

    verb = "set_context_provider"
    provider: ProviderSpec | Callable[..., object]


@attrs.frozen(kw_only=True)
class RemoveContextProvider(Action):
    """``removeContextProvider``: the widget has no context provider afterwards."""

    verb = "remove_context_provider"


@attrs.frozen(kw_only=True)
class GetContextProvider(Action):
    """``getContextProvider``: the step's value is the provider's name, or ``None``."""

    verb = "get_context_provider"


@attrs.frozen(kw_only=True)
class StartChat(Action):
    """``startChat``; ``wait = False`` does not wait for the outcome, as a page may not."""

    verb = "start_chat"
    custom_context: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    in_new_window: bool = False
    wait: bool = True


@attrs.frozen(kw_only=True)
class CloseChat(Action):
    """``closeChat``; ``wait = False`` does not wait for the outcome, as a page may not."""

    verb = "close_chat"
    wait: bool = True


@attrs.frozen(kw_only=True)
class StartProactiveChat(Action):
    """``startProactiveChat``: show an invitation with ``message`` (default text when absent)."""

    verb = "start_proactive_chat"
    message: str | None = None
    show_prechat: bool = True
    in_new_window: bool = False


@attrs.frozen(kw_only=True)
class AcceptProactiveChat(Action):
    """The customer accepts the proactive invitation: the chat starts."""

    verb = "accept_proactive_chat"
    wait: bool = True


@attrs.frozen(kw_only=True)
class GetAgentAvailability(Action):
    """``getAgentAvailability``; ``wait = False`` does not wait for the answer."""

    verb = "get_agent_availability"
    wait: bool = True


@attrs.frozen(kw_only=True)
class SetBotAuthTokenProvider(Action):
    """A bot auth token provider that calls back ``{"show": show}``."""

    verb = "set_bot_auth_token_provider"
    show: bool = True


@attrs.frozen(kw_only=True)
class BotSignIn(Action):
    """The bot asks for sign-in: the bot auth token provider is called with ``url``."""

    verb = "bot_sign_in"
    url: str = "https://bot.example/token"


@attrs.frozen(kw_only=True)
class Minimize(Action):
    """The customer minimises the widget (``lcw:onMinimize``)."""

    verb = "minimize"


@attrs.frozen(kw_only=True)
class Maximize(Action):
    """The customer maximises the widget (``lcw:onMaximize``)."""

    verb = "maximize"


@attrs.frozen(kw_only=True)
class SendMessage(Action):
    """The customer sends a message in the current chat."""

    verb = "send_message"
    text: str


@attrs.frozen(kw_only=True)
class AgentAccepts(Action):
    """Agent ``agent`` accepts the queued chat, which becomes active."""

    verb = "agent_accepts"
    agent: str = "Agent"


@attrs.frozen(kw_only=True)
class AgentSays(Action):
    """The agent sends ``text`` to the customer in the active chat."""

    verb = "agent_says"
    text: str


@attrs.frozen(kw_only=True)
class AgentEnds(Action):
    """The agent ends the conversation; the customer still has to close the chat."""

    verb = "agent_ends"


@attrs.frozen(kw_only=True)
class Wait(Action):
    """Let ``seconds`` of virtual time pass (timers due meanwhile fire in order)."""

    verb = "wait"
    seconds: float


@attrs.frozen(kw_only=True)
class EventPattern:
    """One timeline entry an expectation looks for.

    ``name`` matches an entry by its exact name (an ``lcw:*`` event, an SDK
    method, ``auth token callback``...) with ``detail`` a subset of its
    payload, compared typed (:func:`.events.typed_subset`); ``note`` matches a note
    whose text contains it. ``at`` pins the virtual time, in seconds after the
    expectation's origin.
    """

    name: str | None = None
    note: str | None = None
    detail: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    at: float | None = None

    def __attrs_post_init__(self) -> None:
        # Checked here too, not only by the file reader, so a pattern a script builds by
        # hand cannot look for a name or detail key that is never recorded (a never check on
        # it would hold whatever happened).
        if self.name is not None and self.note is not None:
            raise ValueError("an event pattern takes a name or a note, not both")
        if self.name is None and self.note is None:
            raise ValueError("an event pattern needs a name (an event or entry) or a note")
        if self.note is not None and self.detail is not None:
            raise ValueError(_NOTE_WITH_DETAIL)
        if self.detail is not None and not self.detail:
            raise ValueError(_EMPTY_DETAIL)
        if self.name is not None and self.name not in TIMELINE_NAMES:
            raise ValueError(_unknown_name(self.name))
        if self.note is not None and not _notes_containing(self.note):
            raise ValueError(_unknown_note(self.note))
        if self.name is not None and self.detail is not None:
            problem = pattern_detail_problem(self.name, self.detail)
            if problem:
                raise ValueError(problem)

    def matches(self, entry: TimelineEntry, origin: float) -> bool:
        """True for an entry with ``name`` and ``detail`` (a typed subset), or a note with ``note``.

        With ``at``, the entry must also be ``at`` seconds after ``origin`` (to the microsecond).
        """
        if self.at is not None and abs(entry.at - origin - self.at) > TIME_TOLERANCE:
            return False
        if self.note is not None:
            return entry.kind.value == "note" and self.note in entry.name
        assert self.name is not None
        return entry.matches(self.name, self.detail)

    def describe(self) -> str:
        """The pattern as reports show it: name or ``note '...'``, detail as JSON, ``at +Ns``."""
        text = f"note {self.note!r}" if self.note is not None else str(self.name)
        if self.detail:
            text += f" {_json(self.detail)}"
        if self.at is not None:
            text += f" at +{describe_seconds(self.at)}s"
        return text


def _window(since: int | None, within: float | None) -> str:
    parts = []
    if since is not None:
        parts.append(f"since step {since}")
    if within is not None:
        parts.append(f"within {describe_seconds(within)} s")
    return f" ({', '.join(parts)})" if parts else ""


@attrs.frozen(kw_only=True)
class ExpectEvents(Expectation):
    """These entries happened, in this order (others may come between them).

    Times count from ``since`` (a step number: the moment that step began;
    default the scenario's start); ``within`` bounds every match to that many
    seconds after it.
    """

    verb = "events"
    events: tuple[EventPattern, ...]
    within: float | None = None
    since: int | None = None

    def describe(self) -> str:
        """``expect events:`` with each pattern, then the ``since``/``within`` window."""
        events = ", ".join(pattern.describe() for pattern in self.events)
        return f"expect events: {events}{_window(self.since, self.within)}"


@attrs.frozen(kw_only=True)
class ExpectNever(Expectation):
    """None of these entries happened (within ``within`` seconds, when given)."""

    verb = "never"
    events: tuple[EventPattern, ...]
    within: float | None = None
    since: int | None = None

    def describe(self) -> str:
        """``expect never:`` with each pattern, then the ``since``/``within`` window."""
        events = ", ".join(pattern.describe() for pattern in self.events)
        return f"expect never: {events}{_window(self.since, self.within)}"


ERROR_TYPES = (
    "LcwError",
    "SdkUsageError",
    "WidgetNotReadyError",
    "ChatStateError",
    "RateLimitedError",
    "ConfigurationError",
)


@attrs.frozen(kw_only=True)
class ExpectError(Expectation):
    """An earlier step raised this error: its ``code`` (or ``type``) and ``reason`` text.

    Every error a step raises must be expected by one of these, or the
    scenario fails; this claims each matching error raised so far.
    """

    verb = "error"
    code: int | None = None
    type: str | None = None
    reason: str | None = None
    step: int | None = None


@attrs.frozen(kw_only=True)
class ExpectContext(Expectation):
    """The current chat's resolved context: ``values`` exactly, or ``includes`` at least."""

    verb = "context"
    values: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    includes: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    dropped: Mapping[str, str] | None = attrs.field(default=None, hash=False)
    created: tuple[str, ...] | None = None
    source: str | None = None


@attrs.frozen(kw_only=True)
class ExpectSession(Expectation):
    """The current chat session: ``state`` (or ``"none"``), ``queue``, ``agent``..."""

    verb = "session"
    state: str | None = None
    queue: str | None = None
    agent: str | None = None
    authenticated: bool | None = None
    customer: str | None = None
    messages: int | None = None
    sessions: int | None = None


@attrs.frozen(kw_only=True)
class ExpectAvailability(Expectation):
    """The last ``getAgentAvailability`` answer holds these fields."""

    verb = "availability"
    fields: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def describe(self) -> str:
        """``expect availability:`` with the fields to check as JSON."""
        return f"expect availability: {_json(dict(self.fields))}"


@attrs.frozen(kw_only=True)
class ExpectWidget(Expectation):
    """The widget's own state: loaded or not, minimised, providers set, calls queued."""

    verb = "widget"
    state: str | None = None
    minimized: bool | None = None
    queued: tuple[str, ...] | None = None
    auth_token_provider: bool | None = None
    context_provider: bool | None = None
    proactive_invitation: bool | None = None


ACTIONS: dict[str, type[Action]] = {
    cls.verb: cls
    for cls in (
        Load,
        Reload,
        SetAuthTokenProvider,
        RemoveAuthTokenProvider,
        GetAuthTokenProvider,
        SetContextProvider,
        RemoveContextProvider,
        GetContextProvider,
        StartChat,
        CloseChat,
        StartProactiveChat,
        AcceptProactiveChat,
        GetAgentAvailability,
        SetBotAuthTokenProvider,
        BotSignIn,
        Minimize,
        Maximize,
        SendMessage,
        AgentAccepts,
        AgentSays,
        AgentEnds,
        Wait,
    )
}

# The SDK's exact JavaScript names (its aliases), so documentation samples port line by line.
JS_NAMES = {
    name: method.__name__
    for name, method in vars(LiveChatSDK).items()
    if callable(method) and method.__name__ != name and method.__name__ in ACTIONS
}

EXPECTATIONS: dict[str, type[Expectation]] = {
    cls.verb: cls
    for cls in (
        ExpectEvents,
        ExpectNever,
        ExpectError,
        ExpectContext,
        ExpectSession,
        ExpectAvailability,
        ExpectWidget,
    )
}


# -- the scenario -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Scenario:
    """A parsed, validated scenario, ready to run."""

    name: str
    work_stream: WorkStream
    steps: tuple[Step, ...]
    start: float = DEFAULT_START
    description: str = ""
    strict: bool = False
    load_failure: str | None = None
    providers: Mapping[str, ProviderSpec] = attrs.field(factory=dict, hash=False)
    source: str | None = attrs.field(default=None, eq=False)

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario file, as :func:`load_scenario` does.

        A file that cannot be used raises :class:`ConfigurationError` saying what is wrong.
        """
        return load_scenario(path)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | Path = ".", source: str | None = None
    ) -> Scenario:
        """Build a scenario from the TOML file's structure (already parsed)."""
        return _Reader(Path(base_dir), source, file=True).scenario(data)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; relative paths in it are relative to it."""
    if not isinstance(path, str | os.PathLike):
        raise wrong_type("a scenario file's path", "a path", path)
    if not os.fspath(path):
        # Path("") is the current directory, which would be refused as one.
        raise ConfigurationError("an empty path names no scenario file")
    file = Path(path)
    data = read_toml(file, "scenario")
    return Scenario.from_dict(data, base_dir=file.parent, source=str(file))


def read_step(
    number: int,
    raw: Mapping[str, Any],
    *,
    work_stream: WorkStream,
    source: str | None = None,
) -> Step:
    """Step ``number``, given as a file's ``[[steps]]`` table, checked as the file reader does.

    For :class:`~lcw_emulator.scenario_runner.ScenarioRun`'s methods, so a script's
    arguments meet the same rules as a file's; ``provider`` may also be a
    :class:`ProviderSpec` (a file names its ``[providers.NAME]``). Raises
    :class:`ConfigurationError` naming the step and what is wrong.
    """
    return _Reader(Path("."), source).step(number, raw, {}, work_stream, None, None)


def step_table(step: Step) -> dict[str, Any]:
    """``step`` as a file's ``[[steps]]`` table (what :func:`read_step` reads back)."""
    table: dict[str, Any] = {"expect" if isinstance(step, Expectation) else "do": step.verb}
    for field in attrs.fields(type(step)):
        value = getattr(step, field.name)
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if field.name == "number" or value is None or value == default:
            continue
        if isinstance(step, ExpectAvailability) and field.name == "fields":
            table.update(value)  # a file writes the fields beside expect
        else:
            table[field.name] = file_value(value)
    return table


def file_value(value: Any) -> Any:
    """A value as a file would give it: tuples as lists, event patterns as tables.

    Numbers are left as they are (a Decimal too): the reader takes them exactly.
    """
    if isinstance(value, EventPattern):
        fields = attrs.fields(EventPattern)
        return {
            f.name: getattr(value, f.name) for f in fields if getattr(value, f.name) is not None
        }
    if isinstance(value, list | tuple):
        return [file_value(item) for item in value]
    return value


def check_step(step: Step, *, work_stream: WorkStream, source: str | None = None) -> Step:
    """``step`` built in code, checked by the rules a file's step meets; the checked step.

    So a step no file could hold (``ExpectEvents(events=())``, which checks nothing, or a
    ``since`` naming no earlier step) is refused with :class:`ConfigurationError` before it
    runs, as a file's would be. A provider given as a file gives it (a table, or a name) is
    read as a file's; any other value that is no :class:`ProviderSpec` is the page's own (a
    function, or a mistake) and is taken as it is: the SDK judges it.
    """
    if not isinstance(step, Step):
        raise wrong_type("a scenario step", "a Step (Load(), StartChat(), ExpectEvents(...))", step)
    if isinstance(step, SetAuthTokenProvider | SetContextProvider) and not isinstance(
        step.provider, ProviderSpec | str | Mapping
    ):
        return step
    return read_step(step.number, step_table(step), work_stream=work_stream, source=source)


def is_work_stream_file(data: Mapping[str, Any]) -> bool:
    """True for a parsed work stream file, which sits beside scenarios but is not one."""
    work_stream_keys = {"auth", "context_variables", "queue", "queues", "routing_rules"}
    if not isinstance(data, Mapping):
        return False
    return "steps" not in data and "workstream" not in data and bool(work_stream_keys & set(data))


# -- reading ------------------------------------------------------------------

_TOP_KEYS = {
    "name",
    "description",
    "workstream",
    "start",
    "widget",
    "private_key",
    "kid",
    "providers",
    "steps",
}
_WIDGET_KEYS = {"strict", "load_failure"}
_PROVIDER_KEYS = {
    "kind",
    "token",
    "claims",
    "omit",
    "stringify_lwicontexts",
    "context",
    "value",
    "message",
    "delay",
    "private_key",
    "kid",
    "secret",
    "algorithm",
}
_STATES = (*(state.value for state in SessionState), "none")
# What expect session checks on the current session, so what state = "none" cannot have.
_ABOUT_A_SESSION = ("queue", "agent", "authenticated", "customer", "messages")
_WIDGET_STATES = tuple(state.value for state in WidgetState)
_SOURCES = ("lwicontexts", "customContext", "contextProvider", "none")


class _ListedAlready(Exception):
    """A part that names another whose problem is already listed: nothing more to say."""


@functools.lru_cache(maxsize=16)
def _private_key(text: str, kid: str) -> KeyPair:
    # Parsing an RSA key validates it (tens of ms); scenarios share few keys.
    return KeyPair.from_private_pem(text, kid=kid)


# Past this, minting the token would run out of Python's stack (the service refuses JSON
# nested more than 64 deep, which a scenario may well want to show).
_MAX_CLAIMS_DEPTH = 256


def _not_json(value: object, path: str, depth: int = 0) -> str | None:
    """Why ``value`` (read from TOML) cannot go into a JWT's JSON payload, or ``None``."""
    if isinstance(value, Mapping | list) and depth >= _MAX_CLAIMS_DEPTH:
        where = path.split("[", 1)[0].split(".")[:2]  # the claim, not its 256 steps down
        return (
            f"{'.'.join(where)} is nested more than {_MAX_CLAIMS_DEPTH} levels deep, past any "
            "JSON writer"
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = _not_json(item, f"{path}.{key}", depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _not_json(item, f"{path}[{index}]", depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dt.date | dt.time):
        return (
            f"{path} is a TOML {type(value).__name__} ({value.isoformat()}), which JSON has "
            "no form for: write it as a string, or as epoch seconds"
        )
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} is {value}, which JSON has no form for (RFC 8259)"
    return None


class _Reader:
    """Turns the parsed TOML into values; every problem names the file and the step."""

    def __init__(self, base_dir: Path, source: str | None, *, file: bool = False) -> None:
        self.base_dir = base_dir
        self.source = source
        self.file = file  # a scenario file: it has no listeners of its own, as a script may
        self.where = "scenario"
        # What failed to read, whose problems are listed already: what names it adds nothing.
        self._failed_providers: set[str] = set()
        self._providers_unreadable = False
        self._unreadable_defaults: set[str] = set()

    def fail(self, reason: str) -> ConfigurationError:
        where = "" if self.where == "scenario" else f"{self.where}: "
        return ConfigurationError(f"{where}{reason}", source=self.source)

    def each(self, problems: list[str], read: Callable[[], T]) -> T | None:
        """``read()``, or ``None`` with its problem added to ``problems``."""
        try:
            return read()
        except _ListedAlready:
            return None
        except ConfigurationError as exc:
            problems.append(exc.problem)
            return None

    def _all(self, problems: list[str]) -> ConfigurationError:
        """One error for every problem found: on one line if there is one."""
        if len(problems) == 1:
            return ConfigurationError(problems[0], source=self.source)
        listed = "".join(f"\n    {problem}" for problem in problems)
        return ConfigurationError(f"{len(problems)} problems:{listed}", source=self.source)

    def default_key(self, data: Mapping[str, Any]) -> str | None:
        """The file's top-level ``private_key``, which providers that mint claims sign with."""
        if "private_key" not in data:
            return None
        path = self.string(data["private_key"], "private_key")
        if not path:
            raise self.fail('private_key = "": name a PEM file')
        return path

    def widget(self, value: object) -> tuple[bool, str | None]:
        self.where = "[widget]"
        widget = self.table(value, "[widget]", _WIDGET_KEYS)
        strict = self.boolean(widget.get("strict", False), "strict")
        load_failure = (
            self.string(widget["load_failure"], "load_failure")
            if "load_failure" in widget
            else None
        )
        return strict, load_failure

    # -- generic checks

    def table(self, value: object, what: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"{what} must be a table, got {type(value).__name__}")
        problem = unknown_keys(value, allowed)
        if problem:
            raise self.fail(problem)
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{key} must be a string, got {_kind(value)}")
        return value

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false, got {_kind(value)}")
        return value

    def number(self, value: object, key: str, *, minimum: float = 0.0) -> float:
        # What the clocks take (a step built in code may hold a Decimal or a Fraction).
        try:
            seconds = finite_seconds(value, key)  # type: ignore[arg-type]
        except TypeError:
            raise self.fail(f"{key} must be a number of seconds, got {_kind(value)}") from None
        except ValueError:  # TOML has nan and inf; no wait or time can be either
            raise self.fail(f"{key} must be a finite number of seconds, got {value}") from None
        if seconds < minimum:
            raise self.fail(f"{key} cannot be below {minimum:g}, got {describe_seconds(seconds)}")
        return seconds

    def integer(self, value: object, key: str) -> int:
        # A file writes a whole number as one (8, not 8.0); a step built in code may hold a
        # whole float, which is the whole number it stands for, as elsewhere in the API.
        if self.file and isinstance(value, float):
            raise self.fail(f"{key} must be a whole number, got {_kind(value)}")
        try:
            return whole_number(value, key)
        except TypeError:
            raise self.fail(f"{key} must be a whole number, got {_kind(value)}") from None
        except ValueError:
            raise self.fail(f"{key} must be a whole number, got {_kind(value)}") from None

    def mapping(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"{key} must be a table, like {key} = {{ name = value }}")
        return dict(value)

    def strings(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f'{key} must be a list of strings, like ["a", "b"]')
        return tuple(value)

    def choice(self, value: object, key: str, choices: tuple[str, ...]) -> str:
        text = self.string(value, key)
        if text not in choices:
            raise self.fail(f"{key} must be one of {', '.join(choices)}; got {text!r}")
        return text

    # -- the file

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        if is_work_stream_file(data):
            raise self.fail(
                "this looks like a work stream file, not a scenario: a scenario has "
                "[[steps]] and names its work stream with workstream = FILE"
            )
        data = self.table(data, "a scenario", _TOP_KEYS)
        name = self.string(data["name"], "name") if "name" in data else self._default_name()
        description = self.string(data.get("description", ""), "description")
        if "workstream" not in data:
            raise self.fail('a scenario needs a workstream: workstream = "FILE" or [workstream]')
        work_stream = self.work_stream(data["workstream"])
        start = self.start(data["start"]) if "start" in data else DEFAULT_START
        # From here on each part is read on its own and every problem is reported at once:
        # fixing a file should not take one run per typo.
        problems: list[str] = []
        widget = self.each(problems, lambda: self.widget(data.get("widget", {}))) or (False, None)
        strict, load_failure = widget
        self.where = "scenario"
        default_key = self.each(problems, lambda: self.default_key(data))
        default_kid = self.each(
            problems, lambda: self.string(data["kid"], "kid") if "kid" in data else None
        )
        # A provider falling back on a default that failed adds nothing: its problem is listed.
        self._unreadable_defaults = {
            name
            for name, value in (("private_key", default_key), ("kid", default_kid))
            if name in data and value is None
        }
        raw_providers = data.get("providers", {})
        if not isinstance(raw_providers, Mapping):
            problems.append(
                self.fail("providers must be a table of tables: [providers.NAME]").problem
            )
            raw_providers = {}
            self._providers_unreadable = True
        providers: dict[str, ProviderSpec] = {}
        for key, value in raw_providers.items():
            spec = self.each(
                problems,
                functools.partial(self.provider, key, value, work_stream, default_key, default_kid),
            )
            if spec is not None:
                providers[key] = spec
        # A step naming a provider that failed says nothing more: its problem is listed.
        self._failed_providers = set(raw_providers).difference(providers)
        self.where = "scenario"
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            problems.append(
                self.fail("a scenario needs steps: one [[steps]] table per step, in order").problem
            )
            raise self._all(problems)
        read = [
            self.each(
                problems,
                functools.partial(
                    self.step, number, raw, providers, work_stream, default_key, default_kid
                ),
            )
            for number, raw in enumerate(raw_steps, start=1)
        ]
        self.where = "scenario"
        problems.extend(times_past_the_clocks(start, providers, read))
        # Counted from the tables, so a misspelt expectation is one problem, not two.
        if not any(isinstance(raw, Mapping) and "expect" in raw for raw in raw_steps):
            problems.append(
                'a scenario with no expect step checks nothing; add one (expect = "events", ...)'
            )
        if problems:
            raise self._all(problems)
        steps = tuple(step for step in read if step is not None)
        return Scenario(
            name=name,
            description=description,
            work_stream=work_stream,
            start=start,
            strict=strict,
            load_failure=load_failure,
            providers=providers,
            steps=steps,
            source=self.source,
        )

    def _default_name(self) -> str:
        return Path(self.source).stem if self.source else "scenario"

    def work_stream(self, value: object) -> WorkStream:
        if value == "":
            raise self.fail(
                'workstream = "": name a work stream file (or give a [workstream] table)'
            )
        if isinstance(value, str):
            try:
                return WorkStream.from_toml(self.base_dir / value)
            except ConfigurationError as exc:
                raise self.fail(f"workstream = {value!r}: {exc.reason}") from None
        if isinstance(value, Mapping):
            try:
                return WorkStream.from_dict(value, base_dir=self.base_dir, source=self.source)
            except ConfigurationError as exc:
                # The work stream reader already names the file; say it was inline.
                raise self.fail(f"[workstream] {exc.problem}") from None
        raise self.fail("workstream must be a file name or a [workstream] table")

    def instant(self, value: dt.date | dt.time, field: str) -> int:
        """A TOML date-time with a time zone as epoch seconds; a local one is refused.

        A local date-time would be read in the zone of the machine running the scenario, so
        its verdict would change with the machine.
        """
        if not isinstance(value, dt.datetime):
            raise self.fail(
                f"{field} must be epoch seconds or an instant with a time zone, like "
                f"2018-11-19T10:08:20Z; got the {type(value).__name__} {value.isoformat()}"
            )
        if value.tzinfo is None:
            raise self.fail(f"{field} must carry a time zone, like 2018-11-19T10:08:20Z")
        return int(value.timestamp())

    def start(self, value: object) -> float:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            moment = value.timestamp()  # not instant(): start keeps fractions of a second
        elif isinstance(value, dt.date | dt.time):
            moment = self.instant(value, "start")
        elif isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError as exc:
                raise self.fail(
                    f"start must be epoch seconds or an ISO 8601 instant, got {value!r}"
                    + _calendar_slip(exc)
                ) from None
            if parsed.tzinfo is None:
                raise self.fail("start must carry a time zone, like 2018-11-19T10:08:20Z")
            moment = parsed.timestamp()
        else:
            self.number(value, "start")
            try:
                # As written: 1709283600000, not ...0.0.
                return epoch_seconds(value, "start")  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                # Milliseconds: every minted token's exp would be blamed; a timedelta: no moment.
                raise self.fail(str(exc)) from None
        if moment >= MILLISECONDS_THRESHOLD:  # a date, so not milliseconds: past the clocks
            shown = value.isoformat() if isinstance(value, dt.date | dt.time) else value
            raise self.fail(
                f"start {str(shown).replace('+00:00', 'Z')} is past "
                f"{describe_instant(MILLISECONDS_THRESHOLD)}, the last moment the clocks take "
                "(past it, epoch seconds read as milliseconds)"
            )
        return moment

    # -- providers

    def provider(
        self,
        name: str,
        value: object,
        work_stream: WorkStream,
        default_key: str | None,
        default_kid: str | None,
    ) -> ProviderSpec:
        self.where = f"provider {name!r}"
        table = self.table(value, f"[providers.{name}]", _PROVIDER_KEYS)
        kind = self.choice(table.get("kind", "answer"), "kind", PROVIDER_KINDS)
        answers = [key for key in ("token", "claims", "context") if key in table]
        if len(answers) > 1:
            raise self.fail(f"give one answer, not {' and '.join(answers)}")
        if kind in ("answer", "twice", "returning") and not answers:
            raise self.fail(
                f"a provider of kind {kind!r} needs an answer: token = JWT, "
                "claims = {...} to mint one, or context = {...} for a context provider"
            )
        if kind in ("twice", "returning") and "context" in table:
            raise self.fail(f"kind {kind!r} is for auth token providers; context answers once")
        if kind not in ("answer", "twice", "returning") and answers:
            raise self.fail(f"kind {kind!r} gives no answer; drop {answers[0]}")
        if "value" in table and kind != "garbage":
            raise self.fail('value is what a kind = "garbage" provider answers with')
        if "message" in table and kind != "raising":
            raise self.fail('message is what a kind = "raising" provider raises')
        stringify = self.boolean(table.get("stringify_lwicontexts", True), "stringify_lwicontexts")
        minted = table.get("claims")
        if not stringify and not (
            isinstance(minted, Mapping) and isinstance(minted.get("lwicontexts"), Mapping)
        ):
            raise self.fail(
                "stringify_lwicontexts = false keeps a table lwicontexts an object in a minted "
                "token: it needs claims = {...} with lwicontexts as a table"
            )
        claims = self.claims(table["claims"], stringify=stringify) if "claims" in table else None
        omit = self.strings(table.get("omit", []), "omit")
        if omit and claims is None:
            raise self.fail("omit removes claims from a minted token; give claims too")
        if claims is not None:
            # A misspelt name would omit nothing, and the token would quietly keep the claim.
            present = set(claims) | set(TIME_CLAIMS)
            absent = [name for name in omit if name not in present]
            if absent:
                raise self.fail(
                    f"omit: {', '.join(map(repr, absent))} is not a claim of this token "
                    f"(its claims: {', '.join(sorted(present))})"
                )
        signer: KeyPair | str | None = None
        algorithm = "RS256"
        with_kid = False
        if claims is not None:
            signer, algorithm, with_kid = self.signer(table, work_stream, default_key, default_kid)
        elif {"private_key", "secret", "kid", "algorithm"} & set(table):
            raise self.fail("private_key, secret, kid and algorithm sign minted claims only")
        return ProviderSpec(
            name=name,
            kind=kind,
            token=self.string(table["token"], "token") if "token" in table else None,
            claims=claims,
            omit=omit,
            context=self.mapping(table["context"], "context") if "context" in table else None,
            value=table.get("value"),
            message=self.string(table["message"], "message")
            if "message" in table
            else DEFAULT_RAISE_MESSAGE,
            delay=self.number(table["delay"], "delay") if "delay" in table else 0.0,
            signer=signer,
            algorithm=algorithm,
            with_kid=with_kid,
        )

    def claims(self, value: object, *, stringify: bool = True) -> dict[str, Any]:
        claims = self.mapping(value, "claims")
        for name in TIME_CLAIMS:
            if name in claims and isinstance(claims[name], str):
                if relative_time(claims[name]) is None:
                    raise self.fail(
                        f'claims.{name} must be epoch seconds or relative like "+3600" '
                        f'(or "now"), got {claims[name]!r}'
                    )
            elif name in claims and isinstance(claims[name], dt.date | dt.time):
                claims[name] = self.instant(claims[name], f"claims.{name}")
        problem = _not_json(claims, "claims")
        if problem is not None:
            raise self.fail(problem)
        if stringify and "lwicontexts" in claims and isinstance(claims["lwicontexts"], Mapping):
            claims["lwicontexts"] = json.dumps(dict(claims["lwicontexts"]))
        return claims

    def signer(
        self,
        table: Mapping[str, Any],
        work_stream: WorkStream,
        default_key: str | None,
        default_kid: str | None,
    ) -> tuple[KeyPair | str, str, bool]:
        # The provider's own fields first: no default it may fall back on hides their problems.
        own_kid = self.string(table["kid"], "kid") if "kid" in table else None
        if "secret" in table:
            algorithm = self.string(table.get("algorithm", "HS256"), "algorithm")
            if algorithm not in HMAC_KEY_BYTES:
                # Refused here, not at the start: PyJWT's failure would be the page's code 2,
                # and a scenario expecting code 2 would pass for the wrong reason.
                raise self.fail(
                    f"a secret signs with {', '.join(HMAC_KEY_BYTES)}; got algorithm {algorithm!r}"
                )
            secret = self.string(table["secret"], "secret")
            if not secret:
                raise self.fail("secret cannot be empty: PyJWT signs with no empty HMAC key")
            if own_kid is not None:
                # It would be read and dropped: the token a secret signs here names no key.
                raise self.fail("kid goes with a private_key; a token a secret signs names no kid")
            return secret, algorithm, False
        key_path = (
            self.string(table["private_key"], "private_key") if "private_key" in table else None
        )
        if key_path == "":
            raise self.fail('private_key = "": name a PEM file')
        if "algorithm" in table and table["algorithm"] != "RS256":
            raise self.fail(
                f"a private_key signs with RS256; got algorithm {table['algorithm']!r} "
                "(for HS256, HS384 or HS512 give secret = ...)"
            )
        # The provider's own problems are read above; what it would take from an unreadable
        # default adds nothing to the problem listed for it.
        if ("kid" not in table and "kid" in self._unreadable_defaults) or (
            key_path is None and "private_key" in self._unreadable_defaults
        ):
            raise _ListedAlready
        kid = own_kid if "kid" in table else default_kid
        key_path = key_path or default_key
        if key_path is None:
            auth = work_stream.auth
            hs_algorithms = [a for a in auth.algorithms if a.startswith("HS")] if auth else []
            if auth is not None and auth.secret and hs_algorithms:
                return auth.secret, hs_algorithms[0], False
            raise self.fail(
                "claims are minted into a token, which needs a signing key: "
                'private_key = "keys/private.pem" (here or at the top of the file), '
                "or secret = ... for HS256"
            )
        path = self.base_dir / key_path
        try:
            text = read_text(path)
        except UnreadableFile as exc:
            raise self.fail(f"private_key: cannot read {shown_path(path)}: {exc.reason}") from None
        except UnicodeDecodeError:
            raise self.fail(f"private_key {path} is not PEM text (it is not UTF-8)") from None
        try:
            pair = _private_key(text, kid or "key-1")
        except (ValueError, TypeError) as exc:
            raise self.fail(f"private_key {path} is not an RSA private key in PEM: {exc}") from None
        return pair, "RS256", kid is not None

    def provider_ref(
        self,
        value: object,
        providers: Mapping[str, ProviderSpec],
        work_stream: WorkStream,
        default_key: str | None,
        default_kid: str | None,
    ) -> ProviderSpec:
        if isinstance(value, str):
            if value in self._failed_providers or self._providers_unreadable:
                raise _ListedAlready
            if value not in providers:
                known = ", ".join(sorted(providers)) or "none is declared"
                raise self.fail(
                    f"no provider named {value!r} ([providers.{value}]; known: {known})"
                )
            return providers[value]
        if isinstance(value, Mapping):
            where = self.where
            try:
                spec = self.provider("inline", value, work_stream, default_key, default_kid)
            except ConfigurationError as exc:
                # Said with the step it is in: two inline providers' problems are two lines.
                self.where = where
                problem = exc.problem.replace("provider 'inline'", "inline provider", 1)
                raise self.fail(problem) from None
            self.where = where
            return spec
        raise self.fail("provider must name a [providers.NAME] table or be an inline table")

    # -- steps

    def step(
        self,
        number: int,
        raw: object,
        providers: Mapping[str, ProviderSpec],
        work_stream: WorkStream,
        default_key: str | None,
        default_kid: str | None,
    ) -> Step:
        self.where = f"step {number}"
        if not isinstance(raw, Mapping):
            raise self.fail("a step must be a table ([[steps]] or { do = ... })")
        if ("do" in raw) == ("expect" in raw):
            raise self.fail(
                'a step has either do = "ACTION" or expect = "WHAT", not both or neither'
            )
        if "do" in raw:
            verb = self.string(raw["do"], "do")
            verb = JS_NAMES.get(verb, verb)
            if verb not in ACTIONS:
                raise self.fail(f"unknown action {raw['do']!r}{_closest_action(verb)}")
            self.where = f"step {number} ({verb})"
            return self.action(
                ACTIONS[verb], number, raw, providers, work_stream, default_key, default_kid
            )
        verb = self.string(raw["expect"], "expect")
        if verb not in EXPECTATIONS:
            raise self.fail(f"unknown expectation {verb!r} (known: {', '.join(EXPECTATIONS)})")
        self.where = f"step {number} (expect {verb})"
        return self.expectation(EXPECTATIONS[verb], number, raw)

    def _arguments(self, cls: type[Step], raw: Mapping[str, Any], head: str) -> dict[str, Any]:
        names = {field.name for field in attrs.fields(cls)} - {"number", "title"}
        table = self.table(raw, "a step", {head, "title", *names})
        arguments = {key: value for key, value in table.items() if key not in (head, "title")}
        required = sorted(
            field.name
            for field in attrs.fields(cls)
            if field.default is attrs.NOTHING and field.name not in arguments
        )
        if required:
            raise self.fail(f"needs {', '.join(required)}")
        if "title" in table:
            arguments["title"] = self.string(table["title"], "title")
        return arguments

    def action(
        self,
        cls: type[Action],
        number: int,
        raw: Mapping[str, Any],
        providers: Mapping[str, ProviderSpec],
        work_stream: WorkStream,
        default_key: str | None,
        default_kid: str | None,
    ) -> Action:
        arguments = self._arguments(cls, raw, "do")
        for key, value in list(arguments.items()):
            if key == "provider":
                spec = (
                    value
                    if isinstance(value, ProviderSpec)
                    else self.provider_ref(value, providers, work_stream, default_key, default_kid)
                )
                named = (
                    "inline provider" if isinstance(value, Mapping) else f"provider {spec.name!r}"
                )
                if cls is SetAuthTokenProvider and not spec.usable_for_auth:
                    raise self.fail(
                        f"{named} answers with a context, not a token; "
                        "an auth token provider needs token = ... or claims = {...}"
                    )
                if cls is SetContextProvider and not spec.usable_for_context:
                    raise self.fail(
                        f"{named} answers with a token; a context provider "
                        "needs context = {...} (or kind raising, never or garbage)"
                    )
                arguments[key] = spec
            elif key in ("wait", "in_new_window", "show_prechat", "show"):
                arguments[key] = self.boolean(value, key)
            elif key in ("text", "agent", "url", "message", "title"):
                arguments[key] = self.string(value, key)
            elif key == "seconds":
                arguments[key] = self.number(value, key)
            elif key == "custom_context":
                arguments[key] = self.mapping(value, key)
        return cls(number=number, **arguments)

    def expectation(
        self, cls: type[Expectation], number: int, raw: Mapping[str, Any]
    ) -> Expectation:
        if cls is ExpectAvailability:
            table = self.table(raw, "a step", {"expect", "title", *AVAILABILITY_FIELDS})
            fields = {key: value for key, value in table.items() if key not in ("expect", "title")}
            if not fields:
                raise self.fail(f"name the fields to check: {', '.join(AVAILABILITY_FIELDS)}")
            title = self.string(table["title"], "title") if "title" in table else None
            return ExpectAvailability(number=number, title=title, fields=fields)
        arguments = self._arguments(cls, raw, "expect")
        for key, value in list(arguments.items()):
            if key == "events":
                arguments[key] = self.patterns(value)
            elif key == "within":
                arguments[key] = self.number(value, key)
            elif key in ("since", "step"):
                step = self.integer(value, key)
                if not 1 <= step < number:
                    earlier = f"1 to {number - 1}" if number > 2 else "1" if number == 2 else "none"
                    raise self.fail(f"{key} = {step} must name an earlier step ({earlier})")
                arguments[key] = step
            elif key == "code":
                code = self.integer(value, key)
                if code not in {int(c) for c in ErrorCode}:
                    raise self.fail(
                        f"code {code} is not a documented lcw:error code "
                        f"({', '.join(str(int(c)) for c in ErrorCode)})"
                    )
                arguments[key] = code
            elif key == "type":
                arguments[key] = self.choice(value, key, ERROR_TYPES)
            elif key in ("reason", "queue", "agent", "customer", "title"):
                arguments[key] = self.string(value, key)
            elif key in ("values", "includes"):
                arguments[key] = self.mapping(value, key)
            elif key == "dropped":
                arguments[key] = self.dropped(value)
            elif key in ("created", "queued"):
                arguments[key] = self.strings(value, key)
            elif key == "source":
                arguments[key] = self.choice(value, key, _SOURCES)
            elif key == "state":
                states = _WIDGET_STATES if cls is ExpectWidget else _STATES
                arguments[key] = self.choice(value, key, states)
            elif key in ("messages", "sessions"):
                arguments[key] = self.integer(value, key)
                if arguments[key] < 0:  # a count: a check on a negative one could never hold
                    raise self.fail(f"{key} cannot be below 0, got {arguments[key]}")
            elif key in (
                "authenticated",
                "minimized",
                "auth_token_provider",
                "context_provider",
                "proactive_invitation",
            ):
                arguments[key] = self.boolean(value, key)
        if cls is ExpectError and "code" not in arguments and "type" not in arguments:
            codes = ", ".join(str(int(code)) for code in ErrorCode)
            raise self.fail(f"name the error: code = {codes}, or type = " + " | ".join(ERROR_TYPES))
        if cls is ExpectContext and "values" in arguments and "includes" in arguments:
            raise self.fail("give values (the whole context) or includes (part of it), not both")
        if cls is ExpectContext and arguments.get("includes") == {}:
            raise self.fail(
                "includes = {} checks nothing; name a key and its value "
                "(values = {} checks that the context is empty)"
            )
        if cls is ExpectSession and arguments.get("state") == "none":
            about = [key for key in _ABOUT_A_SESSION if key in arguments]
            if about:
                raise self.fail(
                    f'state = "none" expects no chat session, so it has no '
                    f"{' or '.join(about)} to check; drop {'it' if len(about) == 1 else 'them'}"
                )
        expectation = cls(number=number, **arguments)
        if len(_fields(expectation)) == 0:
            raise self.fail("says nothing to check; name at least one field")
        return expectation

    def dropped(self, value: object) -> dict[str, str]:
        if isinstance(value, list):
            return dict.fromkeys(self.strings(value, "dropped"), "")
        if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            return dict(value)
        raise self.fail(
            'dropped must list keys (["a"]) or map keys to reason text ({ a = "not a number" })'
        )

    def patterns(self, value: object) -> tuple[EventPattern, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(
                'events must be a non-empty list: ["lcw:ready", { name = "lcw:error", '
                "detail = { errorCode = 3 } }]"
            )
        return tuple(self.pattern(item, index) for index, item in enumerate(value))

    def pattern(self, item: object, index: int) -> EventPattern:
        where = f"events[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise self.fail(f"{where} must be a name or a table {{ name = ..., detail = ... }}")
        problem = unknown_keys(item, {"name", "note", "detail", "at"})
        if problem:
            raise self.fail(f"{where}: {problem}")
        if "name" in item and "note" in item:
            raise self.fail(
                f"{where} gives both a name and a note: a pattern matches an entry by its name "
                "(an event or entry) or a note by text it contains, so give one"
            )
        if "name" not in item and "note" not in item:
            raise self.fail(
                f"{where} needs a name (an event or entry) or a note (text it contains)"
            )
        name = self.string(item["name"], f"{where}.name") if "name" in item else None
        if name is not None and name not in TIMELINE_NAMES:
            raise self.fail(f"{where}: {_unknown_name(name)}")
        note = self.string(item["note"], f"{where}.note") if "note" in item else None
        if note is not None and not _notes_containing(note):
            raise self.fail(f"{where}: {_unknown_note(note)}")
        if self.file and (
            name in FROM_PAGE_CODE
            or (note is not None and FROM_PAGE_CODE.issuperset(_notes_containing(note)))
        ):
            what = repr(name) if name is not None else f"a note containing {note!r}"
            raise self.fail(
                f"{where}: {what} comes from a page's own code (its listeners, providers or "
                "options objects), which a scenario file has none of, so a check on it could never "
                "change; check it from a ScenarioRun script"
            )
        if "note" in item and "detail" in item:
            raise self.fail(f"{where}: {_NOTE_WITH_DETAIL}")
        detail = self.mapping(item["detail"], f"{where}.detail") if "detail" in item else None
        if detail == {}:
            raise self.fail(f"{where}: {_EMPTY_DETAIL}")
        if name is not None and detail is not None:
            problem = pattern_detail_problem(name, detail)
            if problem:
                raise self.fail(f"{where}.detail: {problem}")
        return EventPattern(
            name=name,
            note=note,
            detail=detail,
            at=self.number(item["at"], f"{where}.at") if "at" in item else None,
        )


_EMPTY_DETAIL = "detail = {} checks nothing; name a key, or drop detail"
_NOTE_WITH_DETAIL = (
    "a note pattern matches text in a note's name only; to match a note's detail, name the "
    'note in full: name = "replaying queued call", detail = { method = "startChat" }'
)


def times_past_the_clocks(
    start: float, providers: Mapping[str, ProviderSpec], steps: Sequence[Step | None]
) -> list[str]:
    """Waits and provider delays that would take the virtual clock past where it stops.

    Every wait step, added up from ``start``; and each provider's delay from the step that
    sets it (after the waits before that step: the soonest it could be called), or from
    ``start`` for a provider no step sets. Only what is sure to go past is refused: when it
    depends on what the run does (which step calls the provider, how long the steps before
    take), the run reports it, in one line, at the step that reaches the end.
    """
    end = f"the clocks stop short of {describe_instant(MILLISECONDS_THRESHOLD)}"
    problems: list[str] = []
    set_by_steps: set[str] = set()
    now = start
    for step in steps:
        if isinstance(step, Wait):
            now += step.seconds
            if now >= MILLISECONDS_THRESHOLD:
                problems.append(
                    f"step {step.number} (wait): seconds = {describe_seconds(step.seconds)} "
                    f"takes the virtual clock to {describe_seconds(now)}, and {end} (from there "
                    "a moment reads as milliseconds)"
                )
                break
        elif isinstance(step, SetAuthTokenProvider | SetContextProvider) and isinstance(
            step.provider, ProviderSpec
        ):
            spec = step.provider
            set_by_steps.add(spec.name)
            if now + spec.delay >= MILLISECONDS_THRESHOLD:
                problems.append(
                    f"provider {spec.name!r}: delay = {describe_seconds(spec.delay)} takes the "
                    f"virtual clock past its end however soon it is called, from step "
                    f"{step.number} (+{describe_offset(now - start)} s into the run), and {end}"
                )
    problems.extend(
        f"provider {name!r}: delay = {describe_seconds(spec.delay)} takes the virtual clock "
        f"past its end from the start, and {end}"
        for name, spec in providers.items()
        if name not in set_by_steps and start + spec.delay >= MILLISECONDS_THRESHOLD
    )
    return problems


def _calendar_slip(error: ValueError) -> str:
    """What is wrong with a well-formed date that is not a day (February 30), or nothing."""
    why = str(error)
    return "" if why.startswith("Invalid isoformat") else f": {why}"


# Entries only a page's own code can cause: a file's providers never raise after calling
# back, and it registers no listener and passes no options object of its own.
FROM_PAGE_CODE = frozenset(
    {
        "listener raised",
        "listener for an event the widget never fires",
        "lcw:ready listener added after lcw:ready fired",
        "bot auth token provider raised",
        "option the SDK does not read: ignored",
        # Only a call the page makes while queued ones replay (a listener's) overtakes one.
        "queued call overtaken: not replayed",
    }
)


def _unknown_name(name: str) -> str:
    """Why ``name`` cannot be matched, and what was probably meant."""
    if name.startswith("lcw:"):
        return f"{name!r} is not a documented event (known: {', '.join(sorted(LCW_EVENTS))})"
    text = f"{name!r} is not a name the timeline records"
    if any(name in note for note in ENTRY_NAMES[EntryKind.NOTE]):
        return f"{text}; to match part of a note's text, use {{ note = {json.dumps(name)} }}"
    close = difflib.get_close_matches(name, sorted(TIMELINE_NAMES), n=1)
    if close:
        return f"{text} (did you mean {close[0]!r}?)"
    return f'{text} (docs/scenarios.md, "What the timeline records", lists them)'


def _closest_action(verb: str) -> str:
    """A hint for an unknown action: the one meant, ignoring case and underscores, or the list."""
    squashed = {name.replace("_", "").lower(): name for name in ACTIONS}
    squashed.update({js.lower(): name for js, name in JS_NAMES.items()})
    meant = squashed.get(verb.replace("_", "").lower())
    if meant is None:
        close = difflib.get_close_matches(verb.replace("_", "").lower(), list(squashed), n=1)
        meant = squashed[close[0]] if close else None
    if meant is not None:
        return f" (did you mean {meant!r}?)"
    return f" (known: {', '.join(ACTIONS)})"


def _notes_containing(text: str) -> list[str]:
    return [note for note in ENTRY_NAMES[EntryKind.NOTE] if text in note]


def _unknown_note(text: str) -> str:
    """Why a note pattern ``text`` cannot match (no note the emulator writes contains it)."""
    problem = f"no note the timeline records contains {text!r}"
    close = difflib.get_close_matches(text, sorted(ENTRY_NAMES[EntryKind.NOTE]), n=1, cutoff=0.5)
    if close:
        return f"{problem} (did you mean {close[0]!r}?)"
    return f'{problem} (docs/scenarios.md, "What the timeline records", lists the notes)'


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"[:60]
