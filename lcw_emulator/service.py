"""The simulated Omnichannel service: judges tokens, types context, opens sessions.

This is the service side of the seam. It takes what the page handed over (a
token, or a custom context) and answers with a :class:`ChatSession` or a
refusal carrying the documented code. It asks :mod:`.auth` and
:mod:`.context` for verdicts and never knows a widget exists.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from .auth import PublicKey, TokenVerdict, require_token, sub_link_hint, validate_token
from .clock import Clock, RealClock, require_clock
from .context import (
    ContextRefusal,
    ContextResolution,
    ContextVariable,
    case_mismatches,
    context_outside_lwicontexts,
    parse_lwicontexts,
    resolve_context,
)
from .errors import ErrorCode, LcwError, RateLimitedError, hide_for_lcw_errors, wrong_type
from .events import JavaScriptObject
from .key_source import HttpKeySource, KeyRecorder, PublicKeySource, token_kid
from .session import ChatSession, SessionState
from .workstream import WorkStream

__all__ = ["AGENT_AVAILABILITY_LIMIT", "AgentAvailability", "OmnichannelService", "TokenJudgement"]

# getAgentAvailability: "100 calls per minute per org", then HTTP 429.
AGENT_AVAILABILITY_LIMIT = 100
AGENT_AVAILABILITY_WINDOW = 60.0
# Operating-hour fields are 01-01-0001 when the queue is inside its hours.
_NO_TRANSITION = "0001-01-01T00:00:00Z"


def _error_content(error: LcwError | None) -> tuple[object, ...] | None:
    if error is None:
        return None
    return (type(error), error.code, error.message, error.reason, error.claim)


class AgentAvailability(JavaScriptObject):
    """What getAgentAvailability answers, and so ``lcw:getAgentAvailability``'s detail.

    A dict whose keys also read as attributes, as the JavaScript object's do: a sample's
    ``result.isAgentAvailable`` ports line by line; ``result["isAgentAvailable"]`` works too.
    """

    __slots__ = ()
    _WHAT = "getAgentAvailability's answer"

    if TYPE_CHECKING:  # typed reads by key, as a TypedDict gives them; a misspelt key fails

        @overload  # type: ignore[override]
        def __getitem__(
            self,
            key: Literal[
                "queueId",
                "StartTimeOfNextOperatingHour",
                "EndTimeOfNextOperatingHour",
                "nexttransitiontime",
            ],
        ) -> str: ...
        @overload
        def __getitem__(self, key: Literal["isQueueAvailable", "isAgentAvailable"]) -> bool: ...
        @overload
        def __getitem__(self, key: Literal["positionInQueue"]) -> int: ...
        @overload
        def __getitem__(self, key: Literal["averageWaitTime"]) -> float: ...
        def __getitem__(self, key: str) -> Any: ...

    queueId: str
    isQueueAvailable: bool
    StartTimeOfNextOperatingHour: str
    EndTimeOfNextOperatingHour: str
    nexttransitiontime: str
    positionInQueue: int
    isAgentAvailable: bool
    averageWaitTime: float  # minutes


@attrs.frozen
class TokenJudgement:
    """Everything Omnichannel concludes from one token at one moment."""

    verdict: TokenVerdict
    resolution: ContextResolution = attrs.field(factory=ContextResolution)
    # A valid token with no lwicontexts that seems to carry context elsewhere: what it is.
    hint: str | None = None
    # The work stream's variables, against which case_mismatches is read on demand.
    declared: tuple[ContextVariable, ...] = attrs.field(default=(), eq=False, repr=False)
    # Compared by what it says: an exception compares by identity.
    error: LcwError | None = attrs.field(
        default=None,
        eq=attrs.cmp_using(eq=lambda a, b: _error_content(a) == _error_content(b)),
        hash=False,
    )

    @classmethod
    def refusal(cls, error: LcwError) -> TokenJudgement:
        """A refusal made before the token's claims were read: no token, or no public keys."""
        return cls(TokenVerdict(None, error.reason, error.claim), error=error)

    @property
    def valid(self) -> bool:
        """True when a chat start with this token would open a session."""
        return self.error is None

    @property
    def claims(self) -> Mapping[str, Any] | None:
        """The token's claims when it was read (``verdict.claims``), else ``None``."""
        return self.verdict.claims

    @property
    def case_mismatches(self) -> tuple[tuple[str, str], ...]:
        """(key, declared name) for each key created because it differs from a declared
        variable only in case. Read on demand: a chat start never asks."""
        created = self.resolution.created
        if not created:
            return ()
        found = case_mismatches(created, self.declared, self.resolution.values)
        return tuple(found.items())

    @property
    def sub_hint(self) -> str | None:
        """For a valid token whose ``sub`` is not a GUID: why no record would be linked."""
        claims = self.verdict.claims
        return sub_link_hint(claims) if claims is not None and self.error is None else None

    def to_dict(self) -> dict[str, Any]:
        """The ``verify --json`` shape."""
        return {
            "valid": self.valid,
            "error_code": int(self.error.code) if self.error and self.error.code else None,
            "error_message": self.error.message if self.error else None,
            "reason": self.error.reason if self.error else None,
            "claim": self.verdict.claim,
            "claims": dict(self.verdict.claims) if self.verdict.claims is not None else None,
            "context": self.resolution.values,
            "created": list(self.resolution.created),
            "dropped": [item.to_dict() for item in self.resolution.dropped],
            "hint": self.hint,
            "sub_hint": self.sub_hint,
            "case_mismatches": [
                {"key": key, "declared": declared} for key, declared in self.case_mismatches
            ],
        }


def _refused(verdict: TokenVerdict) -> TokenJudgement:
    """A refusal as code 4, carrying the claim at fault."""
    error = LcwError(
        ErrorCode.INVALID_AUTH_TOKEN, verdict.reason or "invalid token", claim=verdict.claim
    )
    return TokenJudgement(verdict, error=error)


def _require_context(context: object) -> None:
    # The widget hands over what the page gave, already read as an object; a caller of the
    # service itself gets its mistake named, not met inside the context rules.
    if context is not None and type(context) is not dict and not isinstance(context, Mapping):
        raise wrong_type("context", "a mapping of names to values (or None)", context)


def _require_work_stream(work_stream: object) -> None:
    if not isinstance(work_stream, WorkStream):
        raise TypeError(
            f"a work stream must be a WorkStream, got {type(work_stream).__name__}: build "
            "one with WorkStream.from_toml(path) or WorkStream.from_dict(mapping)"
        )


class OmnichannelService:
    """An org: its work streams, their sessions, and the rules that guard them."""

    def __init__(
        self, clock: Clock | None = None, *, key_source: PublicKeySource | None = None
    ) -> None:
        if clock is not None:
            require_clock(clock)
        self.clock: Clock = clock if clock is not None else RealClock()
        if key_source is not None and (
            isinstance(key_source, type) or not callable(getattr(key_source, "public_keys", None))
        ):
            raise TypeError(
                "key_source must be a PublicKeySource (an HttpKeySource or StaticKeySource "
                f"instance), got {type(key_source).__name__} {key_source!r:.60}"
            )
        # Where keys come from when a work stream names a public key URL.
        self.key_source: PublicKeySource = key_source if key_source is not None else HttpKeySource()
        self.work_streams: dict[str, WorkStream] = {}
        self.sessions: list[ChatSession] = []
        self._session_ids = itertools.count(1)
        self._availability_calls: deque[float] = deque()

    def add_work_stream(self, work_stream: WorkStream) -> WorkStream:
        """Register ``work_stream`` with this org (idempotent for the same value)."""
        _require_work_stream(work_stream)
        known = self.work_streams.get(work_stream.name)
        if known is not None and known is not work_stream and known != work_stream:
            raise ValueError(
                f"the org already has a different work stream named {work_stream.name!r}"
            )
        self.work_streams[work_stream.name] = work_stream
        return work_stream

    async def public_keys(
        self, work_stream: WorkStream, token: object, *, record: KeyRecorder | None = None
    ) -> tuple[PublicKey, ...] | None:
        """The keys behind the work stream's public key URL, or ``None`` when it names none.

        Raises :class:`LcwError` code 4 when they cannot be had.
        """
        _require_work_stream(work_stream)
        auth = work_stream.auth
        if auth is None or auth.public_key_url is None:
            return None
        return await self.key_source.public_keys(
            auth, kid=token_kid(token), clock=self.clock, record=record
        )

    async def judge(self, work_stream: WorkStream, token: object) -> TokenJudgement:
        """Judge ``token`` for ``work_stream`` now, exactly as a chat start would.

        As a chat start does, it takes no token as code 3 and fetches the keys behind a public
        key URL first (a fetch that fails is code 4), then calls :meth:`judge_token`.
        """
        _require_work_stream(work_stream)
        if work_stream.auth is None:
            return self.judge_token(work_stream, token)  # no authentication: refused alike
        try:
            token = require_token(token)
            keys = await self.public_keys(work_stream, token)
        except LcwError as error:
            return TokenJudgement.refusal(error)
        return self.judge_token(work_stream, token, keys=keys)

    def judge_token(
        self,
        work_stream: WorkStream,
        token: object,
        *,
        keys: tuple[PublicKey, ...] | None = None,
    ) -> TokenJudgement:
        """Judge ``token`` for ``work_stream`` now, as a chat start would, with keys at hand.

        ``keys`` (fetched by :meth:`public_keys`) replace the work stream's own keys; a work
        stream with a public key URL needs them (:meth:`judge` fetches them itself).
        """
        _require_work_stream(work_stream)
        if work_stream.auth is None:
            verdict = TokenVerdict.refuse(
                "token", f"work stream {work_stream.name!r} has no chat authentication settings"
            )
            return _refused(verdict)
        if keys is None and work_stream.auth.public_key_url is not None:
            raise ValueError(
                f"work stream {work_stream.name!r} takes its keys from "
                f"{work_stream.auth.public_key_url}: pass keys=await public_keys(work_stream, "
                "token), or call await judge(work_stream, token), which fetches them"
            )
        try:
            token = require_token(token)
        except LcwError as error:
            return TokenJudgement.refusal(error)
        settings = work_stream.auth if keys is None else attrs.evolve(work_stream.auth, keys=keys)
        verdict = validate_token(token, settings, self.clock.now())
        if verdict.claims is None:
            return _refused(verdict)
        if "lwicontexts" not in verdict.claims:
            hint = context_outside_lwicontexts(verdict.claims, work_stream.context_variables)
            return TokenJudgement(verdict, resolve_context({}, work_stream.context_variables), hint)
        parsed = parse_lwicontexts(verdict.claims["lwicontexts"])
        if isinstance(parsed, ContextRefusal):
            return _refused(TokenVerdict.refuse("lwicontexts", parsed.reason))
        declared = work_stream.context_variables
        return TokenJudgement(verdict, resolve_context(parsed, declared), declared=declared)

    def start_chat(
        self,
        work_stream: WorkStream,
        *,
        token: object = None,
        context: Mapping[str, object] | None = None,
        context_source: str | None = None,
        notes: tuple[str, ...] = (),
        keys: tuple[PublicKey, ...] | None = None,
    ) -> ChatSession:
        """Open a chat session, or raise :class:`LcwError` with the documented code.

        An authenticated work stream takes its context from the token's
        ``lwicontexts`` only; an unauthenticated one from ``context``. A work stream with a
        public key URL needs ``keys`` (:meth:`public_keys`); without them this raises
        :class:`ValueError`, as :meth:`judge_token` does.
        """
        __tracebackhide__ = hide_for_lcw_errors
        self.add_work_stream(work_stream)
        claims: Mapping[str, Any] | None = None
        if work_stream.requires_authentication:
            judgement = self.judge_token(work_stream, token, keys=keys)
            if judgement.error is not None:
                raise judgement.error
            claims = judgement.verdict.claims
            resolution = judgement.resolution
            context_source = "lwicontexts" if claims and "lwicontexts" in claims else None
            if judgement.hint is not None:
                notes = (*notes, judgement.hint)
        else:
            _require_context(context)
            resolution = resolve_context(context or {}, work_stream.context_variables)
        session = ChatSession(
            id=f"chat-{next(self._session_ids):04d}",
            work_stream=work_stream,
            queue=work_stream.route(resolution.values),
            clock=self.clock,
            authenticated=claims is not None,
            resolution=resolution,
            claims=claims,
            context_source=context_source,
            notes=notes,
        )
        self.sessions.append(session)
        return session

    @property
    def agent_availability_calls(self) -> int:
        """getAgentAvailability calls that reached the org in the last minute (limit 100).

        Calls a page answered from its cache never reach the org, so they are not counted.
        """
        since = self.clock.now() - AGENT_AVAILABILITY_WINDOW
        return sum(1 for at in self._availability_calls if at > since)

    def agent_availability(
        self, work_stream: WorkStream, context: Mapping[str, object] | None = None
    ) -> AgentAvailability:
        """What getAgentAvailability answers, within the org's documented rate limit.

        The queue is the one a chat with ``context`` (a custom context, typed as a chat
        start types it) would be routed to.
        """
        _require_work_stream(work_stream)
        _require_context(context)
        now = self.clock.now()
        calls = self._availability_calls
        while calls and calls[0] <= now - AGENT_AVAILABILITY_WINDOW:
            calls.popleft()
        if len(calls) >= AGENT_AVAILABILITY_LIMIT:
            retry = calls[0] + AGENT_AVAILABILITY_WINDOW - now
            raise RateLimitedError(
                f"getAgentAvailability is limited to {AGENT_AVAILABILITY_LIMIT} calls a minute "
                f"per org; retry in {round(retry, 3):g} s"
            )
        calls.append(now)
        resolution = resolve_context(context or {}, work_stream.context_variables)
        queue = work_stream.route(resolution.values)
        # Queues are the org's, known by their id, not by the settings a work stream gives
        # them: chats any work stream routed to a queue with that id wait in it together.
        waiting = sum(
            1
            for session in self.sessions
            if session.queue.queue_id == queue.queue_id and session.state is SessionState.QUEUED
        )
        return AgentAvailability(
            queueId=queue.queue_id,
            isQueueAvailable=queue.is_open,
            StartTimeOfNextOperatingHour=_NO_TRANSITION,
            EndTimeOfNextOperatingHour=_NO_TRANSITION,
            nexttransitiontime=_NO_TRANSITION,
            positionInQueue=waiting + 1,
            isAgentAvailable=queue.is_open and queue.agents_available > 0,
            averageWaitTime=queue.average_wait_minutes,
        )
