"""The widget's documented ``lcw:*`` event names and the timeline that records a run.

A :class:`Timeline` is the ordered record of everything that happened to one
widget: SDK calls, events fired with their payloads, provider calls and
callbacks, and the service's verdicts. Scenarios print it, the pytest plugin
asserts on it.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

__all__ = [
    "LCW_EVENTS",
    "EntryKind",
    "LcwEvent",
    "Timeline",
    "TimelineEntry",
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


class EntryKind(enum.StrEnum):
    """What a timeline entry records."""

    SDK_CALL = "sdk"  # the page called an SDK method
    EVENT = "event"  # the widget fired an lcw:* event
    PROVIDER = "provider"  # a provider was called, called back, or misbehaved
    SERVICE = "service"  # Omnichannel's verdict: token, context, session
    NOTE = "note"  # something ignored or worth knowing (a second callback)


@attrs.frozen
class TimelineEntry:
    """One recorded happening, at a virtual time."""

    at: float
    kind: EntryKind
    name: str
    detail: Mapping[str, Any] = attrs.field(factory=dict)

    def matches(self, name: str, subset: Mapping[str, Any] | None = None) -> bool:
        """True when this entry has ``name`` and its detail contains ``subset``."""
        return self.name == name and (subset is None or _contains(self.detail, subset))


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    return bool(actual == expected)


# Most entries carry no detail, and every chat keeps its timeline: they all share one
# read-only empty mapping rather than an empty dict each.
_NO_DETAIL: Mapping[str, Any] = types.MappingProxyType({})


class Timeline:
    """An append-only, ordered record of one widget's run."""

    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = []

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> TimelineEntry:
        return self._entries[index]

    def record(
        self, at: float, kind: EntryKind, name: str, detail: Mapping[str, Any] | None = None
    ) -> TimelineEntry:
        entry = TimelineEntry(at, kind, name, dict(detail) if detail else _NO_DETAIL)
        self._entries.append(entry)
        return entry

    def of_kind(self, kind: EntryKind) -> list[TimelineEntry]:
        return [entry for entry in self._entries if entry.kind is kind]

    @property
    def events(self) -> list[TimelineEntry]:
        """Only the ``lcw:*`` events fired, in order."""
        return self.of_kind(EntryKind.EVENT)

    def event_names(self) -> list[str]:
        return [entry.name for entry in self.events]

    def find(self, name: str, subset: Mapping[str, Any] | None = None) -> list[TimelineEntry]:
        return [entry for entry in self._entries if entry.matches(name, subset)]

    def format(self) -> str:
        """A plain, stable, human-readable rendering (one line per entry)."""
        return "\n".join(
            f"{entry.at:>14.3f}  {entry.kind.value:<8} {entry.name}"
            + (f"  {dict(entry.detail)}" if entry.detail else "")
            for entry in self._entries
        )
