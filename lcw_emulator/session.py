"""A chat session as Omnichannel keeps it: state, typed context, queue, messages.

The session belongs to the service side. The widget learns what happens to it
(an agent accepts, writes, ends the conversation) by subscribing, so the
service never needs to know a widget exists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .clock import Clock
from .context import ContextResolution, DroppedContext, PackedResolution, Primitive
from .errors import ChatStateError, describe_failure, wrong_type
from .workstream import Queue, WorkStream

__all__ = [
    "ChatMessage",
    "ChatSession",
    "SessionState",
    "SessionUpdate",
    "StateChange",
]


class SessionState(enum.StrEnum):
    """Where a chat session is in its life."""

    QUEUED = "queued"  # created and waiting for an agent (lcw:chatQueued)
    ACTIVE = "active"  # an agent accepted it
    ENDED = "ended"  # the agent ended the conversation; the customer has not closed it
    CLOSED = "closed"  # closed by the customer (closeChat) - final

    @property
    def is_final(self) -> bool:
        """True only for ``CLOSED``: an ended chat still waits for the customer to close it."""
        return self is SessionState.CLOSED


# The converters take the packed form as well, which is what attrs.evolve hands over.
def _packed(resolution: ContextResolution | PackedResolution) -> PackedResolution:
    return resolution.pack() if isinstance(resolution, ContextResolution) else resolution


@attrs.frozen
class StateChange:
    """One entry of a session's history: the virtual time, the state entered and why."""

    at: float
    state: SessionState
    reason: str


def _packed_changes(
    changes: Iterable[StateChange | tuple[float, str, str]],
) -> tuple[tuple[float, str, str], ...]:
    if not changes:
        return ()
    return tuple(
        (change.at, change.state._value_, change.reason)
        if isinstance(change, StateChange)
        else change
        for change in changes
    )


@attrs.frozen
class ChatMessage:
    """One chat message: when, from ``customer`` or ``agent``, its text and ``SESSION-mN`` id."""

    at: float
    sender: str  # "customer" or "agent"
    text: str
    id: str


@attrs.frozen
class SessionUpdate:
    """What changed on a session, for its subscribers."""

    kind: str  # "accepted", "agent_message", "customer_message", "agent_ended", "closed"
    session: ChatSession = attrs.field(repr=False)
    detail: Mapping[str, Any] = attrs.field(factory=dict)


# No on_setattr hooks: the one converter is for the constructor, and hooks would slow every
# change of state.
@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class ChatSession:
    """One chat, from the moment Omnichannel accepted the start."""

    id: str
    work_stream: WorkStream = attrs.field(repr=False)
    queue: Queue
    clock: Clock = attrs.field(repr=False)
    authenticated: bool
    # Kept packed (see PackedResolution): read it as ``resolution``, ``context``, ``dropped``.
    _resolution: PackedResolution = attrs.field(
        alias="resolution",
        default=((), ()),
        converter=_packed,
        repr=False,
    )
    claims: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    context_source: str | None = None  # "lwicontexts", "customContext", "contextProvider"
    notes: tuple[str, ...] = attrs.field(default=(), repr=False)
    state: SessionState = SessionState.QUEUED
    agent: str | None = None
    messages: tuple[ChatMessage, ...] = attrs.field(default=(), repr=False)
    # (at, state's value, reason) for each state entered: plain tuples, for the reason
    # PackedResolution gives. Read as ``history``.
    _changes: tuple[tuple[float, str, str], ...] = attrs.field(
        alias="history", default=(), converter=_packed_changes, repr=False
    )
    _subscribers: tuple[Callable[[SessionUpdate], None], ...] = attrs.field(
        alias="subscribers", default=(), converter=tuple, repr=False
    )

    def __attrs_post_init__(self) -> None:
        if not self._changes:
            self._changes = ((self.clock.now(), self.state._value_, "chat started"),)

    @property
    def resolution(self) -> ContextResolution:
        """How the context was resolved: the variables kept, typed, and the keys dropped."""
        return ContextResolution.unpack(self._resolution)

    @property
    def context(self) -> dict[str, Primitive]:
        """The resolved context: variable name to typed value."""
        return ContextResolution.packed_values(self._resolution)

    @property
    def dropped(self) -> tuple[DroppedContext, ...]:
        """Keys the session did not keep, each with its reason."""
        return ContextResolution.packed_dropped(self._resolution)

    @property
    def created(self) -> tuple[str, ...]:
        """Keys created at run time as Text because the work stream does not declare them."""
        return ContextResolution.packed_created(self._resolution)

    @property
    def history(self) -> list[StateChange]:
        """Every state the session entered, in order, with when and why (a new list each read)."""
        return [StateChange(at, SessionState(state), why) for at, state, why in self._changes]

    @property
    def customer_id(self) -> str | None:
        """The token's ``sub``: the contact or account the chat is linked to."""
        sub = (self.claims or {}).get("sub")
        return sub if isinstance(sub, str) else None

    def subscribe(self, subscriber: Callable[[SessionUpdate], None]) -> None:
        """Call ``subscriber`` with every :class:`SessionUpdate` until the chat closes.

        A subscriber that raises an :class:`Exception` does not keep the update from the
        others: its error is raised to whoever made the change once all have heard it (any
        others' noted on it), and the change stands. A ``BaseException`` (an interrupt, a
        test's ``pytest.fail``) stops the delivery at once, as it stops everything else.
        """
        if not callable(subscriber):
            raise wrong_type("a session subscriber", "a function to call", subscriber)
        self._subscribers = (*self._subscribers, subscriber)

    def accept(self, agent: str = "Agent") -> None:
        """An agent accepts the queued chat."""
        _require_text(agent, "agent")
        self._require(SessionState.QUEUED, "accept")
        self.agent = agent
        self._move(SessionState.ACTIVE, f"accepted by {agent}")
        self._publish("accepted", {"agent": agent})

    def agent_says(self, text: str) -> ChatMessage:
        """The agent sends a message to the customer."""
        _require_text(text, "text")
        self._require(SessionState.ACTIVE, "send an agent message")
        message = self._message("agent", text)
        self._publish("agent_message", {"message": message})
        return message

    def customer_says(self, text: str) -> ChatMessage:
        """The customer sends a message (the widget calls this)."""
        _require_text(text, "text")
        if self.state not in (SessionState.QUEUED, SessionState.ACTIVE):
            raise ChatStateError(f"cannot send a message: chat {self.id} is {self.state.value}")
        message = self._message("customer", text)
        self._publish("customer_message", {"message": message})
        return message

    def end_by_agent(self) -> None:
        """The agent ends the conversation; the customer still has to close the chat."""
        self._require(SessionState.ACTIVE, "end the conversation")
        self._move(SessionState.ENDED, f"ended by {self.agent}")
        self._publish("agent_ended")

    def close(self, reason: str = "closed by the customer") -> None:
        """Close the chat for good (closeChat)."""
        _require_text(reason, "reason")
        if self.state is SessionState.CLOSED:
            raise ChatStateError(f"chat {self.id} is already closed")
        self._move(SessionState.CLOSED, reason)
        try:
            self._publish("closed", {"reason": reason})
        finally:
            # Closed is final: nothing will be published again. Letting go of the subscribers
            # (the widget) means an org, which keeps every session, does not keep every page.
            self._subscribers = ()

    def _require(self, state: SessionState, action: str) -> None:
        if self.state is not state:
            raise ChatStateError(
                f"cannot {action}: chat {self.id} is {self.state.value}, not {state.value}"
            )

    def _move(self, state: SessionState, reason: str) -> None:
        self.state = state
        self._changes = (*self._changes, (self.clock.now(), state._value_, reason))

    def _message(self, sender: str, text: str) -> ChatMessage:
        message = ChatMessage(
            self.clock.now(), sender, text, f"{self.id}-m{len(self.messages) + 1}"
        )
        self.messages = (*self.messages, message)
        return message

    def _publish(self, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        update = SessionUpdate(kind, self, dict(detail or {}))
        first: Exception | None = None
        for subscriber in self._subscribers:
            # A test's subscriber that fails does not keep the change from those after it.
            try:
                subscriber(update)
            except Exception as error:  # raised below, once all have heard
                if first is None:
                    first = error
                else:
                    first.add_note(f"another subscriber raised too: {describe_failure(error)}")
        if first is not None:
            raise first


def _require_text(value: object, name: str) -> None:
    # Checked before anything changes: a message or name that is not text would reach the
    # page's events as it is.
    if not isinstance(value, str):
        raise wrong_type(name, "a string", value)
