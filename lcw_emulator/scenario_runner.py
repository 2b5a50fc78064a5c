"""Running scenarios: each step through the public API, on a virtual clock, checked.

:class:`ScenarioRun` is one run of one scenario: a :class:`VirtualClock`, an
:class:`Omnichannel` org and a widget on a page. Each step goes through the
same public API a page or a test would use (``widget.sdk.*``,
``widget.load()``, ``widget.minimize()``, the session's agent actions...);
each expectation is checked against ``widget.timeline`` and the session at
that moment. Errors a step raises are kept, attributed to their step, and
must be expected by an ``error`` expectation, or the scenario fails.

The same object is the Python API for scenario scripts::

    run = ScenarioRun("scenarios/contoso.toml", start=1542622100, name="VIP")
    await run.load()
    await run.set_auth_token_provider(my_token_service_provider)
    await run.start_chat()
    await run.expect_session(state="queued", queue="VIP")
    result = await run.finish()

and :func:`run_scenario` runs a parsed :class:`~lcw_emulator.scenario.Scenario`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from . import errors
from .auth import DEFAULT_TOKEN_LIFETIME, KeyPair, mint_token, time_claims
from .clock import (
    Clock,
    ClockLimitError,
    VirtualClock,
    describe_offset,
    describe_seconds,
    limit_seconds,
)
from .errors import ChatStateError, ConfigurationError, LcwError, describe_failure, wrong_type
from .events import LcwEvent, TimelineEntry, function_name, typed_equal
from .org import Omnichannel
from .providers import AuthTokenProvider, ContextProvider
from .scenario import (
    DEFAULT_START,
    TIME_CLAIMS,
    TIME_TOLERANCE,
    AcceptProactiveChat,
    Action,
    AgentAccepts,
    AgentEnds,
    AgentSays,
    BotSignIn,
    CloseChat,
    EventPattern,
    Expectation,
    ExpectAvailability,
    ExpectContext,
    ExpectError,
    ExpectEvents,
    ExpectNever,
    ExpectSession,
    ExpectWidget,
    GetAgentAvailability,
    GetAuthTokenProvider,
    GetContextProvider,
    Load,
    Maximize,
    Minimize,
    ProviderSpec,
    Reload,
    RemoveAuthTokenProvider,
    RemoveContextProvider,
    Scenario,
    SendMessage,
    SetAuthTokenProvider,
    SetBotAuthTokenProvider,
    SetContextProvider,
    StartChat,
    StartProactiveChat,
    Step,
    Wait,
    check_step,
    file_value,
    read_step,
    relative_time,
    times_past_the_clocks,
)
from .service import AgentAvailability
from .session import ChatSession
from .token_providers import (
    answering_twice,
    answering_with,
    delayed,
    never_answering,
    raising,
    returning_token,
    static_token,
)
from .widget import Widget
from .workstream import WorkStream

_log = logging.getLogger(__name__)

__all__ = [
    "Check",
    "RaisedError",
    "ScenarioResult",
    "ScenarioRun",
    "ScenarioStuck",
    "StepRecord",
    "auth_provider",
    "context_provider",
    "run_scenario",
    "run_scenario_async",
]

# Wall seconds a single step may take before the run calls it stuck.
STEP_TIMEOUT = 5.0


# -- providers from their descriptions -----------------------------------------


def _token_source(spec: ProviderSpec, clock: Clock) -> Callable[[], str]:
    if spec.token is not None:
        token = spec.token
        return lambda: token
    assert spec.claims is not None and spec.signer is not None
    claims, signer = spec.claims, spec.signer

    def mint() -> str:
        now = clock.now()
        payload: dict[str, Any] = time_claims(now, DEFAULT_TOKEN_LIFETIME)
        for name, value in claims.items():
            offset = relative_time(value) if name in TIME_CLAIMS else None
            payload[name] = value if offset is None else _numeric_date(now + offset)
        for name in spec.omit:
            payload.pop(name, None)
        if isinstance(signer, KeyPair):
            return signer.mint(payload, with_kid=spec.with_kid)
        return mint_token(payload, signer, algorithm=spec.algorithm)

    return mint


def _numeric_date(moment: float) -> int | float:
    return int(moment) if float(moment).is_integer() else moment


def auth_provider(spec: ProviderSpec, clock: Clock) -> AuthTokenProvider:
    """The auth token provider ``spec`` describes, as a page would pass it."""
    provider: Callable[..., object]
    if spec.kind in ("raising", "never", "garbage"):
        if spec.kind == "raising":
            provider = raising(spec.message)
        elif spec.kind == "never":
            provider = never_answering()
        else:
            provider = answering_with(spec.value)
        if spec.delay:
            provider = delayed(provider, spec.delay, clock=clock)
    else:
        token_at = _token_source(spec, clock)
        make: Callable[[str], Callable[..., object]] = {
            "answer": static_token,
            "twice": lambda token: answering_twice(token, token),
            "returning": returning_token,
        }[spec.kind]

        def provider(callback: Callable[..., None]) -> object:
            # Minted when the widget calls, as a token service mints on request: with a
            # delay, the token ages on its way back and may expire in transit.
            answer = make(token_at())
            if spec.delay:
                return delayed(answer, spec.delay, clock=clock)(callback)
            return answer(callback)

    provider.__name__ = spec.name
    return provider


def context_provider(spec: ProviderSpec, clock: Clock) -> ContextProvider:
    """The context provider ``spec`` describes: it answers ``context`` or misbehaves."""
    answer = dict(spec.context or {})

    def inner() -> object:
        if spec.kind == "raising":
            raise RuntimeError(spec.message)
        if spec.kind == "garbage":
            return spec.value
        return dict(answer)

    async def never() -> object:
        return await asyncio.get_running_loop().create_future()

    async def late() -> object:
        await clock.sleep(spec.delay)
        return inner()

    provider: Callable[[], object] = (
        never if spec.kind == "never" else late if spec.delay else inner
    )
    provider.__name__ = spec.name
    return provider


# -- what a run records ---------------------------------------------------------


@attrs.frozen
class Check:
    """The verdict on one expectation (or on the run itself: an unexpected error)."""

    step: int
    expectation: str
    passed: bool
    problem: str | None = None
    scope: tuple[TimelineEntry, ...] = ()  # the entries it looked at, kept when it failed


@attrs.frozen
class StepRecord:
    """A step as it ran: which timeline entries it recorded, and when."""

    step: Step
    begin: int
    end: int
    started_at: float
    ended_at: float
    check: Check | None = None


@attrs.define
class RaisedError:
    """An error a step raised, and the expectation that claimed it (if any)."""

    step: int
    verb: str
    error: LcwError
    claimed_by: int | None = None

    @property
    def text(self) -> str:
        """``[3] message: reason`` for a coded error, ``ChatStateError: reason`` otherwise."""
        error = self.error
        return str(error) if error.code is not None else f"{type(error).__name__}: {error.reason}"

    def describe(self) -> str:
        """``step 2 (start_chat) raised [4] ...``: the error and the step that raised it."""
        return f"step {self.step} ({self.verb}) raised {self.text}"


@attrs.frozen
class ScenarioResult:
    """Everything a run produced: the timeline, the steps, the checks, the verdict."""

    name: str
    work_stream: str
    start: float
    end: float
    timeline: tuple[TimelineEntry, ...]
    steps: tuple[StepRecord, ...]
    checks: tuple[Check, ...]
    errors: tuple[RaisedError, ...]
    unfinished: tuple[str, ...] = ()  # steps still waiting when the run ended
    description: str = ""
    source: str | None = None

    @property
    def passed(self) -> bool:
        """True when every check held: each expectation, no unexpected error, no stuck step."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that did not hold, in the order they were made."""
        return tuple(check for check in self.checks if not check.passed)


class ScenarioStuck(Exception):
    """A step waited on something that never happens, even in virtual time."""


_PENDING = object()


# -- the run ------------------------------------------------------------------


class ScenarioRun:
    """One run of a scenario, driven step by step.

    Each action method runs one step and returns ``None`` or its value (the
    chat session for ``start_chat``, the availability answer...); an error it
    raises is kept for an ``expect_error`` step rather than propagated. Each
    ``expect_*`` method checks at once and returns its :class:`Check`.
    :meth:`finish` ends the run and returns the :class:`ScenarioResult`.

    Every method's arguments are checked as a file's step is (:func:`.scenario.read_step`):
    what a file would refuse raises :class:`~lcw_emulator.errors.ConfigurationError`,
    naming the step. The provider methods take a :class:`ProviderSpec`, or else the page's
    own value, which the SDK judges (a value that is no function is its ``SdkUsageError``);
    a step handed to :meth:`run` reads a provider given as a table or a name as a file does.
    """

    def __init__(
        self,
        work_stream: WorkStream | str | Path,
        *,
        start: float = DEFAULT_START,
        name: str = "scenario",
        description: str = "",
        strict: bool = False,
        load_failure: str | None = None,
        source: str | None = None,
        step_timeout: float | None = STEP_TIMEOUT,
    ) -> None:
        if not isinstance(work_stream, WorkStream):
            work_stream = WorkStream.from_toml(work_stream)
        self.name = name
        self.description = description
        self.source = source
        # Real seconds a step may take: checked here, not when the first step is guarded.
        # None or math.inf: no limit (a step paused in a debugger is not stuck).
        self.step_timeout = (
            None if step_timeout is None else limit_seconds(step_timeout, "step_timeout")
        )
        self.clock = VirtualClock(start=start)  # names a start that is no moment
        self.start = self.clock.now()
        self.org = Omnichannel(clock=self.clock)
        self.widget: Widget = self.org.widget(work_stream, strict=strict, load_failure=load_failure)
        self._records: list[StepRecord] = []
        self._raised: list[RaisedError] = []
        self._pending: list[tuple[Step, asyncio.Future[Any]]] = []
        self._checks: list[Check] = []
        self._crashed_steps = 0  # steps that raised what no scenario can expect
        self._finished: ScenarioResult | None = None

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, step_timeout: float | None = STEP_TIMEOUT
    ) -> ScenarioRun:
        """A new run of ``scenario``'s work stream, start and widget settings; no step runs yet."""
        return cls(
            scenario.work_stream,
            start=scenario.start,
            name=scenario.name,
            description=scenario.description,
            strict=scenario.strict,
            load_failure=scenario.load_failure,
            source=scenario.source,
            step_timeout=step_timeout,
        )

    @property
    def session(self) -> ChatSession | None:
        """The widget's current (latest) chat session."""
        return self.widget.session

    @property
    def timeline(self) -> list[TimelineEntry]:
        """A copy of every entry the widget's timeline holds so far, in order."""
        return list(self.widget.timeline)

    @property
    def last_step(self) -> int:
        """The number of the last step run (0 before the first): for ``since=``."""
        return len(self._records)

    # -- running steps

    async def run(self, step: Step) -> Any:
        """Run one step (an action or an expectation); number it after the last.

        A step built in code meets a file's rules first (:func:`check_step`): one that
        could check nothing, or names no earlier step, raises :class:`ConfigurationError`.
        """
        if self._finished is not None:
            raise RuntimeError("this run has finished; start a new ScenarioRun")
        if not isinstance(step, Step):
            check_step(step, work_stream=self.widget.work_stream)  # names what it got
        number = len(self._records) + 1
        if step.number != number:
            step = attrs.evolve(step, number=number)
        step = check_step(step, work_stream=self.widget.work_stream, source=self.source)
        return await self._run(step)

    async def _run(self, step: Step) -> Any:
        """Run ``step``, read by this run's own methods (checked already), as its next step."""
        if self._finished is not None:
            raise RuntimeError("this run has finished; start a new ScenarioRun")
        number = len(self._records) + 1
        if step.number != number:
            step = attrs.evolve(step, number=number)
        begin, started_at = len(self.widget.timeline), self.clock.now()
        value: Any = None
        check: Check | None = None
        if isinstance(step, Expectation):
            await self._quiesce()
            self._harvest()
            check = self._check(step)
            self._checks.append(check)
            value = check
        else:
            try:
                value = await self._guard(self._act(step), step)
            except LcwError as error:
                self._raised.append(RaisedError(number, step.verb, error))
            except ScenarioStuck as stuck:
                # Recorded as a failed step before the caller hears of it, so a script that
                # catches it and goes on cannot end with a run that passes or renumbers.
                check = Check(number, f"step {number} ({step.verb}) finishes", False, str(stuck))
                self._checks.append(check)
                self._records.append(
                    StepRecord(
                        step, begin, len(self.widget.timeline), started_at, self.clock.now(), check
                    )
                )
                raise
            await self._quiesce()
            self._harvest()
        self._records.append(
            StepRecord(step, begin, len(self.widget.timeline), started_at, self.clock.now(), check)
        )
        return None if value is _PENDING else value

    async def run_all(self, steps: Iterable[Step]) -> ScenarioResult:
        """Run ``steps`` in order, then :meth:`finish`; a stuck step ends the run.

        So does a step that raises something no scenario can expect (a bug of ours, or a
        failure outside the emulator), whether it was waited for or its failure is seen
        later: it is a failed check of this run, with the traceback on the ``lcw_emulator``
        logger, so the scenarios run beside it are still reported. The steps after it do
        not run, as the widget is in no state any step could expect.

        Every step is checked first, as a file's are (:func:`check_step`): one that breaks a
        rule raises :class:`ConfigurationError` and none runs.
        """
        first = len(self._records) + 1
        checked = [
            check_step(
                attrs.evolve(step, number=number) if isinstance(step, Step) else step,
                work_stream=self.widget.work_stream,
                source=self.source,
            )
            for number, step in enumerate(steps, first)
        ]
        for step in checked:  # checked once, above: run as this run's own methods' steps are
            try:
                await self._run(step)
            except ScenarioStuck:
                break  # _run() recorded the step and its failed check
            except Exception as exc:
                self._crashed(len(self._records) + 1, step.verb, exc)
                break
            if self._crashed_steps:  # a step that did not wait, seen failing meanwhile
                break
        return await self.finish()

    def _crashed(self, number: int, verb: str, exc: BaseException) -> None:
        """Fail the run for a step that raised something no scenario can expect."""
        self._crashed_steps += 1
        if isinstance(exc, ClockLimitError):  # the run's own time ran out: no bug to trace
            why = f"{exc} (start the scenario earlier: start = ...)"
            self._checks.append(Check(number, f"step {number} ({verb}) finishes", False, why))
            return
        # The traceback as text: a record holding the exception would keep the widget and
        # every frame alive in any log capture.
        _log.error(
            "step %d (%s) of %s raised:\n%s",
            number,
            verb,
            self.name,
            "".join(traceback.format_exception(exc)).rstrip(),
        )
        self._checks.append(
            Check(
                number,
                f"step {number} ({verb}) finishes",
                False,
                f"it raised {describe_failure(exc)} (not an LCW error: the traceback is "
                "on the lcw_emulator logger)",
            )
        )

    async def finish(self) -> ScenarioResult:
        """End the run: every error must have been expected; time stops here."""
        if self._finished is not None:
            return self._finished
        await self._quiesce()
        self._harvest()
        unfinished = []
        for step, future in self._pending:
            future.cancel()
            state = "waits for lcw:ready" if not self.widget.is_ready else "had not finished"
            unfinished.append(f"step {step.number} ({step.verb}) {state} when the scenario ended")
        self._pending.clear()
        self.clock.auto_jump = False  # nothing moves virtual time past the last step
        for raised in self._raised:
            if raised.claimed_by is None:
                self._checks.append(
                    Check(
                        raised.step,
                        "every error a step raises is expected",
                        False,
                        f"{raised.describe()}, and no expect error step expects it "
                        f'(add expect = "error" with code or type)',
                    )
                )
        self._finished = ScenarioResult(
            name=self.name,
            description=self.description,
            source=self.source,
            work_stream=self.widget.work_stream.name,
            start=self.start,
            end=self.clock.now(),
            timeline=tuple(self.widget.timeline),
            steps=tuple(self._records),
            checks=tuple(self._checks),
            errors=tuple(self._raised),
            unfinished=tuple(unfinished),
        )
        return self._finished

    async def _guard(self, work: Awaitable[Any], step: Step) -> Any:
        try:
            async with asyncio.timeout(self.step_timeout) as scope:
                return await work
        except TimeoutError:
            if scope.expired():
                raise ScenarioStuck(
                    f"step {len(self._records) + 1} ({step.verb}) did not finish within "
                    f"{describe_seconds(self.step_timeout or 0.0)} wall seconds: it waits on "
                    "something that never happens in virtual time"
                ) from None
            raise

    async def _quiesce(self) -> None:
        """Let everything due at this virtual instant run; time does not move."""
        loop = asyncio.get_running_loop()
        while True:
            idle: asyncio.Future[None] = loop.create_future()
            # Auto-jump fires a timer only once no task is ready to run.
            self.clock.call_at(self.clock.now(), functools.partial(_resolve, idle))
            await idle
            deadline = self.clock.next_deadline()
            if deadline is None or deadline > self.clock.now():
                return

    def _harvest(self) -> None:
        still: list[tuple[Step, asyncio.Future[Any]]] = []
        for step, future in self._pending:
            if not future.done():
                still.append((step, future))
                continue
            if future.cancelled():
                continue
            error = future.exception()
            if isinstance(error, LcwError):
                self._raised.append(RaisedError(step.number, step.verb, error))
            elif error is not None:  # a step that did not wait: its failure is its own
                self._crashed(step.number, step.verb, error)
        self._pending = still

    async def _outcome(self, step: Action, wait: bool, future: Awaitable[Any]) -> Any:
        """Await an SDK call's outcome now, or keep it for later (``wait = false``, pre-ready)."""
        task = asyncio.ensure_future(future)
        if wait and self.widget.is_ready:
            return await task
        self._pending.append((step, task))
        return _PENDING

    async def _act(self, step: Step) -> Any:
        widget, sdk, clock = self.widget, self.widget.sdk, self.clock
        match step:
            case Load():
                await widget.load()
            case Reload():
                await widget.reload()
            case SetAuthTokenProvider(provider=provider):
                sdk.set_auth_token_provider(
                    auth_provider(provider, clock)
                    if isinstance(provider, ProviderSpec)
                    else provider
                )
            case RemoveAuthTokenProvider():
                sdk.remove_auth_token_provider()
            case GetAuthTokenProvider():
                return _provider_name(sdk.get_auth_token_provider())
            case SetContextProvider(provider=provider):
                sdk.set_context_provider(
                    context_provider(provider, clock)
                    if isinstance(provider, ProviderSpec)
                    else provider
                )
            case RemoveContextProvider():
                sdk.remove_context_provider()
            case GetContextProvider():
                return _provider_name(sdk.get_context_provider())
            case StartChat():
                return await self._outcome(
                    step,
                    step.wait,
                    sdk.start_chat(
                        custom_context=step.custom_context,
                        in_new_window=step.in_new_window or None,
                    ),
                )
            case CloseChat():
                return await self._outcome(step, step.wait, sdk.close_chat())
            case StartProactiveChat():
                config = {} if step.message is None else {"message": step.message}
                options = {"inNewWindow": True} if step.in_new_window else None
                sdk.start_proactive_chat(config, step.show_prechat, options)
            case AcceptProactiveChat():
                return await self._outcome(step, step.wait, widget.accept_proactive_chat())
            case GetAgentAvailability():
                return await self._outcome(step, step.wait, sdk.get_agent_availability())
            case SetBotAuthTokenProvider(show=show):

                def bot_auth_token_provider(url: str, callback: Callable[..., None]) -> None:
                    callback({"show": show})

                sdk.set_bot_auth_token_provider(bot_auth_token_provider)
            case BotSignIn(url=url):
                return await widget.bot_sign_in(url)
            case Minimize():
                widget.minimize()
            case Maximize():
                widget.maximize()
            case SendMessage(text=text):
                widget.send_message(text)
            case AgentAccepts(agent=agent):
                self._chat("accept the chat").accept(agent)
            case AgentSays(text=text):
                self._chat("send an agent message").agent_says(text)
            case AgentEnds():
                self._chat("end the conversation").end_by_agent()
            case Wait(seconds=seconds):
                await clock.sleep(seconds)
            case _:
                raise TypeError(f"not a step this runner knows: {step!r}")
        return None

    def _chat(self, action: str) -> ChatSession:
        if self.widget.session is None:
            raise ChatStateError(f"the agent cannot {action}: no chat has started")
        return self.widget.session

    # -- the Python API: one method per step kind

    def _read(self, head: str, verb: str, **arguments: Any) -> Step:
        """The step these arguments describe (``None``: not given), checked as a file's is."""
        raw = {head: verb}
        raw.update(
            (key, file_value(value)) for key, value in arguments.items() if value is not None
        )
        return read_step(
            self.last_step + 1, raw, work_stream=self.widget.work_stream, source=self.source
        )

    def _provider_step(
        self,
        cls: type[SetAuthTokenProvider | SetContextProvider],
        provider: ProviderSpec | Callable[..., object],
    ) -> Step:
        if isinstance(provider, ProviderSpec):
            return self._read("do", cls.verb, provider=provider)
        # The page's own function, or whatever a page might pass: the SDK judges it.
        return cls(provider=provider)

    async def load(self) -> None:
        """Load the widget: ``lcw:ready`` fires, then the SDK calls queued before it are made.

        A load failure set on the run (``load_failure``) is kept as code 7 for ``expect_error``.
        """
        await self._run(self._read("do", "load"))

    async def reload(self) -> None:
        """The customer reloads the page: ``lcw:ready`` again; ``lcw:chatRetrieved`` mid-chat."""
        await self._run(self._read("do", "reload"))

    async def set_auth_token_provider(self, provider: ProviderSpec | Callable[..., object]) -> None:
        """``setAuthTokenProvider`` with a :class:`ProviderSpec` or the page's own function.

        A spec that answers with a context raises :class:`ConfigurationError`; anything the SDK
        refuses (not a function) is kept as an :class:`SdkUsageError` for ``expect_error``.
        """
        await self._run(self._provider_step(SetAuthTokenProvider, provider))

    async def remove_auth_token_provider(self) -> None:
        """``removeAuthTokenProvider``: the widget has no auth token provider afterwards."""
        await self._run(self._read("do", "remove_auth_token_provider"))

    async def get_auth_token_provider(self) -> str | None:
        """``getAuthTokenProvider``: the current provider's name, or ``None`` when none is set."""
        return await self._run(self._read("do", "get_auth_token_provider"))  # type: ignore[no-any-return]

    async def set_context_provider(self, provider: ProviderSpec | Callable[..., object]) -> None:
        """``setContextProvider`` with a :class:`ProviderSpec` or the page's own function.

        A spec that answers with a token raises :class:`ConfigurationError`; anything the SDK
        refuses (not a function) is kept as an :class:`SdkUsageError` for ``expect_error``.
        """
        await self._run(self._provider_step(SetContextProvider, provider))

    async def remove_context_provider(self) -> None:
        """``removeContextProvider``: the widget has no context provider afterwards."""
        await self._run(self._read("do", "remove_context_provider"))

    async def get_context_provider(self) -> str | None:
        """``getContextProvider``: the current provider's name, or ``None`` when none is set."""
        return await self._run(self._read("do", "get_context_provider"))  # type: ignore[no-any-return]

    async def start_chat(
        self,
        custom_context: Mapping[str, Any] | None = None,
        *,
        in_new_window: bool = False,
        wait: bool = True,
    ) -> ChatSession | None:
        """``startChat``; the session, or ``None`` when it failed or is still running."""
        step = self._read(
            "do",
            "start_chat",
            custom_context=custom_context,
            in_new_window=in_new_window,
            wait=wait,
        )
        return await self._run(step)  # type: ignore[no-any-return]

    async def close_chat(self, *, wait: bool = True) -> None:
        """``closeChat`` (with no chat open, only a note); ``wait=False`` does not wait for it."""
        await self._run(self._read("do", "close_chat", wait=wait))

    async def start_proactive_chat(
        self, message: str | None = None, *, show_prechat: bool = True, in_new_window: bool = False
    ) -> None:
        """``startProactiveChat``: show an invitation with ``message`` (default text if None)."""
        await self._run(
            self._read(
                "do",
                "start_proactive_chat",
                message=message,
                show_prechat=show_prechat,
                in_new_window=in_new_window,
            )
        )

    async def accept_proactive_chat(self, *, wait: bool = True) -> ChatSession | None:
        """The customer accepts the invitation; the chat starts, as with :meth:`start_chat`.

        With no invitation shown, a :class:`ChatStateError` is kept for ``expect_error``.
        """
        step = self._read("do", "accept_proactive_chat", wait=wait)
        return await self._run(step)  # type: ignore[no-any-return]

    async def get_agent_availability(self, *, wait: bool = True) -> AgentAvailability | None:
        """``getAgentAvailability``: the answer, or ``None`` when it failed or is still running.

        Over 100 calls a minute the org refuses with :class:`RateLimitedError` (HTTP 429), kept
        for ``expect_error``.
        """
        step = self._read("do", "get_agent_availability", wait=wait)
        return await self._run(step)  # type: ignore[no-any-return]

    async def set_bot_auth_token_provider(self, *, show: bool = True) -> None:
        """``setBotAuthTokenProvider`` with a provider that calls back ``{"show": show}``."""
        await self._run(self._read("do", "set_bot_auth_token_provider", show=show))

    async def bot_sign_in(self, url: str = "https://bot.example/token") -> bool | None:
        """The bot asks for sign-in at ``url``; the value is the ``show`` called back, or ``None``.

        With no bot auth token provider set, an :class:`SdkUsageError` is kept for ``expect_error``.
        """
        return await self._run(self._read("do", "bot_sign_in", url=url))  # type: ignore[no-any-return]

    async def minimize(self) -> None:
        """The customer minimises the widget (``lcw:onMinimize``)."""
        await self._run(self._read("do", "minimize"))

    async def maximize(self) -> None:
        """The customer maximises the widget (``lcw:onMaximize``)."""
        await self._run(self._read("do", "maximize"))

    async def send_message(self, text: str) -> None:
        """The customer sends ``text`` in the current chat.

        With no chat, or one ended or closed, a :class:`ChatStateError` is kept for
        ``expect_error``.
        """
        await self._run(self._read("do", "send_message", text=text))

    async def agent_accepts(self, agent: str = "Agent") -> None:
        """Agent ``agent`` accepts the queued chat; otherwise a :class:`ChatStateError` is kept."""
        await self._run(self._read("do", "agent_accepts", agent=agent))

    async def agent_says(self, text: str) -> None:
        """The agent sends ``text``; outside an active chat a :class:`ChatStateError` is kept."""
        await self._run(self._read("do", "agent_says", text=text))

    async def agent_ends(self) -> None:
        """The agent ends the active conversation; otherwise a :class:`ChatStateError` is kept."""
        await self._run(self._read("do", "agent_ends"))

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, firing the timers due meanwhile.

        A negative or non-finite number, or one that takes the clock past its end, raises
        :class:`ConfigurationError`.
        """
        step = self._read("do", "wait", seconds=seconds)
        past = times_past_the_clocks(self.clock.now(), {}, [step])
        if past:
            raise ConfigurationError(past[0])
        await self._run(step)

    async def expect_events(
        self,
        *events: str | Mapping[str, Any] | EventPattern,
        within: float | None = None,
        since: int | None = None,
    ) -> Check:
        """These entries, in this order: names, ``{"name", "detail", "at"}`` or ``{"note"}``.

        ``since`` names an earlier step (1 to :attr:`last_step`); ``None`` counts from the start.
        """
        step = self._read("expect", "events", events=list(events), within=within, since=since)
        return await self._run(step)  # type: ignore[no-any-return]

    async def expect_never(
        self,
        *events: str | Mapping[str, Any] | EventPattern,
        within: float | None = None,
        since: int | None = None,
    ) -> Check:
        """None of these entries happened (patterns as for :meth:`expect_events`).

        ``since`` names an earlier step to count from (default: the run's start); ``within``
        looks only that many seconds past it.
        """
        step = self._read("expect", "never", events=list(events), within=within, since=since)
        return await self._run(step)  # type: ignore[no-any-return]

    async def expect_error(
        self,
        code: int | None = None,
        *,
        type: str | None = None,
        reason: str | None = None,
        step: int | None = None,
    ) -> Check:
        """An earlier step raised an error with the ``code`` and ``type`` given, ``reason`` in it.

        Claims every matching error so far, so :meth:`finish` does not fail on it; ``step`` names
        the one step to look at. Naming neither a code nor a type, or a code that is not a
        documented ``lcw:error`` code, raises :class:`ConfigurationError`.
        """
        expectation = self._read("expect", "error", code=code, type=type, reason=reason, step=step)
        return await self._run(expectation)  # type: ignore[no-any-return]

    async def expect_context(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        includes: Mapping[str, Any] | None = None,
        dropped: Iterable[str] | Mapping[str, str] | None = None,
        created: Iterable[str] | None = None,
        source: str | None = None,
    ) -> Check:
        """The current chat's resolved context: ``values`` exactly, or ``includes`` at least.

        ``dropped`` lists the keys the session did not keep (or maps each to text its reason
        contains), ``created`` the keys created as Text, ``source`` where the context came from.
        """
        step = self._read(
            "expect",
            "context",
            values=values,
            includes=includes,
            dropped=_keys(dropped, "dropped") if not isinstance(dropped, Mapping) else dropped,
            created=_keys(created, "created"),
            source=source,
        )
        return await self._run(step)  # type: ignore[no-any-return]

    async def expect_session(self, **fields: Any) -> Check:
        """Fields: ``state``, ``queue``, ``agent``, ``authenticated``, ``customer``,
        ``messages``, ``sessions``."""
        return await self._run(self._read("expect", "session", **fields))  # type: ignore[no-any-return]

    async def expect_availability(self, **fields: Any) -> Check:
        """Fields of the last getAgentAvailability answer: ``isAgentAvailable=True``..."""
        step = self._read("expect", "availability", **fields)
        return await self._run(step)  # type: ignore[no-any-return]

    async def expect_widget(self, **fields: Any) -> Check:
        """``state``, ``minimized``, ``queued``, ``auth_token_provider``, ``context_provider``..."""
        return await self._run(self._read("expect", "widget", **fields))  # type: ignore[no-any-return]

    # -- checking

    def _scope(self, since: int | None) -> tuple[float, list[TimelineEntry]]:
        entries = list(self.widget.timeline)
        if since is None:
            return self.start, entries
        record = self._records[since - 1]
        return record.started_at, entries[record.begin :]

    def _check(self, step: Expectation) -> Check:
        # What a failure shows as recorded: the entries an events check looked at,
        # the lcw:* events fired so far for the others.
        scope: tuple[TimelineEntry, ...] = tuple(self.widget.timeline.events)
        match step:
            case ExpectEvents():
                origin, entries = self._scope(step.since)
                problem, missing = _check_events(step, origin, entries)
                scope = tuple(entries)
                if missing is not None and step.since is not None:
                    problem = f"{problem}{self._before_since(missing, step.since, origin, entries)}"
            case ExpectNever():
                origin, entries = self._scope(step.since)
                problem, scope = _check_never(step, origin, entries), tuple(entries)
            case ExpectError():
                problem = self._check_error(step)
            case ExpectContext():
                problem = self._check_context(step)
            case ExpectSession():
                problem = self._check_session(step)
            case ExpectAvailability():
                problem = self._check_availability(step)
            case ExpectWidget():
                problem = self._check_widget(step)
            case _:
                raise TypeError(f"not an expectation this runner knows: {step!r}")
        if problem is None:
            return Check(step.number, step.describe(), True)
        return Check(step.number, step.describe(), False, problem, scope)

    def _before_since(
        self, missing: EventPattern, since: int, origin: float, in_scope: list[TimelineEntry]
    ) -> str:
        """When the pattern an events check missed matched before its ``since``, say when."""
        timeline = list(self.widget.timeline)
        earlier = timeline[: len(timeline) - len(in_scope)]
        hit = next((entry for entry in earlier if missing.matches(entry, origin)), None)
        if hit is None:
            return ""
        # Counted back from since, as the check counts forward from it: one base per message.
        gap = origin - hit.at
        when = (
            f"{describe_offset(gap)} s before step {since} began"
            if gap > TIME_TOLERANCE
            else f"before step {since} began, at the same virtual moment"
        )
        return f" ({missing.describe()} happened {when}: its since)"

    def _check_error(self, step: ExpectError) -> str | None:
        cls = getattr(errors, step.type) if step.type else LcwError
        candidates = [r for r in self._raised if step.step is None or r.step == step.step]
        matching = [
            raised
            for raised in candidates
            if isinstance(raised.error, cls)
            # A type alone names an error without a code: a coded error (every code is an
            # LcwError) is claimed only by its code, so a catch-all cannot hide one.
            and (raised.error.code is None if step.code is None else raised.error.code == step.code)
            and (step.reason is None or step.reason in raised.error.reason)
        ]
        for raised in matching:
            if raised.claimed_by is None:
                raised.claimed_by = step.number
        if matching:
            return None
        named = [] if step.code is None else [f"code {step.code}"]
        if step.type is not None:
            named.append(f"type {step.type}")
        wanted = " and ".join(named)
        where = f" at step {step.step}" if step.step is not None else ""
        if not candidates:
            elsewhere = "; ".join(raised.describe() for raised in self._raised)
            if step.step is not None and elsewhere:
                return f"expected an error with {wanted}{where}; it raised none, but {elsewhere}"
            return f"expected an error with {wanted}{where}; no step raised any"

        def differs(raised: RaisedError) -> str:
            # The code may match: then the type is what differed, and the message must say so.
            if step.type is None:
                return ""
            if not isinstance(raised.error, cls):
                return f" (its type is {type(raised.error).__name__}, not {step.type})"
            if step.code is None and raised.error.code is not None:
                return f" (a coded error: claim it with code = {int(raised.error.code)})"
            return ""

        raised_list = "; ".join(raised.describe() + differs(raised) for raised in candidates)
        text = f" whose reason contains {step.reason!r}" if step.reason else ""
        return f"expected an error with {wanted}{text}{where}; raised instead: {raised_list}"

    def _current_session(self) -> ChatSession | str:
        if self.widget.session is None:
            return "no chat session was created"
        return self.widget.session

    def _check_context(self, step: ExpectContext) -> str | None:
        session = self._current_session()
        if isinstance(session, str):
            return session
        problems: list[str] = []
        context = session.context
        if step.values is not None and not typed_equal(context, step.values):
            problems.append(f"context is {_show(context)}, expected {_show(step.values)}")
            problems.extend(f"dropped {item.key}: {item.reason}" for item in session.dropped)
        if step.includes is not None:
            missing = {
                key: value
                for key, value in step.includes.items()
                if key not in context or not typed_equal(context[key], value)
            }
            if missing:
                problems.append(f"context {_show(context)} lacks {_show(missing)}")
        if step.dropped is not None:
            dropped = {item.key: item.reason for item in session.dropped}
            if set(dropped) != set(step.dropped):
                problems.append(
                    f"dropped {_show(sorted(dropped))}, expected {_show(sorted(step.dropped))}"
                    + (f" ({_show(dropped)})" if dropped else "")
                )
            else:
                for key, text in step.dropped.items():
                    if text not in dropped[key]:
                        problems.append(f"{key} was dropped because {dropped[key]!r}, not {text!r}")
        if step.created is not None and set(session.created) != set(step.created):
            problems.append(
                f"created {_show(sorted(session.created))}, expected {_show(sorted(step.created))}"
            )
        if step.source is not None and (session.context_source or "none") != step.source:
            problems.append(
                f"context came from {session.context_source or 'none'}, not {step.source}"
            )
        return "; ".join(problems) or None

    def _check_session(self, step: ExpectSession) -> str | None:
        problems: list[str] = []
        if step.sessions is not None and len(self.widget.sessions) != step.sessions:
            problems.append(f"{len(self.widget.sessions)} chat sessions, expected {step.sessions}")
        session = self.widget.session
        if step.state == "none":
            if session is not None:
                problems.append(
                    f"expected no chat session, but {session.id} is {session.state.value}"
                )
            return "; ".join(problems) or None
        wants_session = any(
            value is not None
            for value in (
                step.state,
                step.queue,
                step.agent,
                step.authenticated,
                step.customer,
                step.messages,
            )
        )
        if session is None:
            return (
                "; ".join([*problems, "no chat session was created"])
                if wants_session
                else ("; ".join(problems) or None)
            )
        actual = {
            "state": session.state.value,
            "queue": session.queue.name,
            "agent": session.agent,
            "authenticated": session.authenticated,
            "customer": session.customer_id,
            "messages": len(session.messages),
        }
        for key, value in actual.items():
            expected = getattr(step, key)
            if expected is not None and not typed_equal(value, expected):
                problems.append(f"{key} is {_show(value)}, expected {_show(expected)}")
        if problems and session.history:
            trail = ", ".join(
                f"{change.state.value} at +{describe_offset(change.at - self.start)}s "
                f"({change.reason})"
                for change in session.history
            )
            problems.append(f"{session.id}: {trail}")
        return "; ".join(problems) or None

    def _check_availability(self, step: ExpectAvailability) -> str | None:
        answers = [
            entry
            for entry in self.widget.timeline
            if entry.matches(LcwEvent.GET_AGENT_AVAILABILITY.value)
        ]
        if not answers:
            return "getAgentAvailability never answered (no lcw:getAgentAvailability event)"
        answer = answers[-1].detail
        wrong = {
            key: answer.get(key)
            for key, value in step.fields.items()
            if not typed_equal(answer.get(key), value)
        }
        if wrong:
            return f"the last answer has {_show(wrong)}; it was {_show(dict(answer))}"
        return None

    def _check_widget(self, step: ExpectWidget) -> str | None:
        widget = self.widget
        actual = {
            "state": widget.state.value,
            "minimized": widget.minimized,
            "queued": tuple(widget.sdk.queued),
            "auth_token_provider": widget.auth_token_provider is not None,
            "context_provider": widget.context_provider is not None,
            "proactive_invitation": widget.proactive_invitation is not None,
        }
        problems = [
            f"{key} is {_show(value)}, expected {_show(getattr(step, key))}"
            for key, value in actual.items()
            if getattr(step, key) is not None and not typed_equal(value, getattr(step, key))
        ]
        return "; ".join(problems) or None


def _check_events(
    step: ExpectEvents, origin: float, entries: list[TimelineEntry]
) -> tuple[str | None, EventPattern | None]:
    """What is wrong with ``entries`` for ``step``, and the pattern not found, if one was not."""
    position = 0
    matched: list[tuple[EventPattern, TimelineEntry]] = []
    for pattern in step.events:
        found = next(
            (i for i in range(position, len(entries)) if pattern.matches(entries[i], origin)),
            None,
        )
        if found is None:
            after = f" after {matched[-1][0].describe()}" if matched else ""
            wanted = step.events.count(pattern)
            happened = sum(1 for entry in entries if pattern.matches(entry, origin))
            if 0 < happened < wanted:
                return (
                    f"{pattern.describe()} happened {happened} of the {wanted} times expected",
                    pattern,
                )
            earlier = any(pattern.matches(entry, origin) for entry in entries[:position])
            if earlier:
                return f"{pattern.describe()} happened, but not{after} (order)", None
            misses = _near_misses(pattern, entries, origin, step.since)
            return f"{pattern.describe()} did not happen{after}{misses}", pattern
        matched.append((pattern, entries[found]))
        position = found + 1
    if step.within is not None:
        for pattern, entry in matched:
            if entry.at - origin > step.within + TIME_TOLERANCE:
                return (
                    f"{pattern.describe()} happened at {_after(entry.at, origin, step.since)}, "
                    f"later than within {describe_seconds(step.within)} s",
                    None,
                )
    return None, None


def _check_never(step: ExpectNever, origin: float, entries: list[TimelineEntry]) -> str | None:
    hits = [
        (pattern, entry)
        for entry in entries
        for pattern in step.events
        if pattern.matches(entry, origin)
        and (step.within is None or entry.at - origin <= step.within + TIME_TOLERANCE)
    ]
    if not hits:
        return None
    return "; ".join(
        f"{pattern.describe()} happened at {_after(entry.at, origin, step.since)}"
        + (f" {_show(dict(entry.detail))}" if entry.detail else "")
        for pattern, entry in hits[:3]
    )


def _after(moment: float, origin: float, since: int | None) -> str:
    """When an entry happened, from what its check counts from, said so: the start or since.

    The timeline a report lists counts from the start; a check with ``since`` counts from
    that step, so its times say which base they use.
    """
    offset = f"+{describe_offset(moment - origin)}s"
    return offset if since is None else f"{offset} after step {since} began (since)"


def _near_misses(
    pattern: EventPattern, entries: list[TimelineEntry], origin: float, since: int | None
) -> str:
    if pattern.name is None:
        return ""
    same_name = [entry for entry in entries if entry.name == pattern.name]
    if not same_name:
        return ""
    shown = ", ".join(
        f"+{describe_offset(entry.at - origin)}s"
        + (f" {_show(dict(entry.detail))}" if entry.detail else "")
        for entry in same_name[:3]
    )
    base = "" if since is None else f", after step {since} began (since)"
    return f" (recorded as {pattern.name}{base}: {shown})"


def _keys(keys: Iterable[str] | None, name: str) -> list[str] | None:
    # A single key is a string, which list() would split into its letters.
    if keys is None or isinstance(keys, str):
        return keys  # type: ignore[return-value]  # a string: the file's rule refuses it
    return list(keys)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _provider_name(provider: object) -> str | None:
    return None if provider is None else function_name(provider)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# -- running whole scenarios ----------------------------------------------------


async def run_scenario_async(
    scenario: Scenario, *, step_timeout: float | None = STEP_TIMEOUT
) -> ScenarioResult:
    """Run every step of ``scenario`` on the running event loop.

    Steps built in code are checked first, as a file's are: one that breaks a rule raises
    :class:`ConfigurationError` and nothing runs.
    """
    if not isinstance(scenario, Scenario):
        raise wrong_type("scenario", "a Scenario (load_scenario(path) reads one)", scenario)
    run = ScenarioRun.from_scenario(scenario, step_timeout=step_timeout)
    return await run.run_all(scenario.steps)


def run_scenario(
    scenario: Scenario, *, step_timeout: float | None = STEP_TIMEOUT
) -> ScenarioResult:
    """Run ``scenario`` on a fresh event loop of its own and return its result."""
    return asyncio.run(run_scenario_async(scenario, step_timeout=step_timeout))
