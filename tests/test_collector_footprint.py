"""Keeping a chat small for CPython's cyclic garbage collector changes nothing a reader sees.

Every object the collector tracks is walked on every full collection, and a suite keeps
thousands of closed chats, so a session keeps its facts as plain tuples, which the collector
stops tracking (how few objects a closed chat holds: tests/test_benchmarks_smoke.py).
"""

from __future__ import annotations

import threading

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from lcw_emulator import (
    ChatSession,
    ContextVariable,
    EntryKind,
    Omnichannel,
    SessionState,
    Timeline,
    VariableType,
    VirtualClock,
    WorkStream,
)
from lcw_emulator.context import ContextResolution, resolve_context

NOW = 1542622100
DECLARED = (
    ContextVariable("msdyn_cartvalue", VariableType.NUMBER),
    ContextVariable("msdyn_isvip", VariableType.BOOLEAN),
    ContextVariable("msdyn_page", VariableType.TEXT),
)
KEYS = st.sampled_from(["msdyn_cartvalue", "msdyn_isvip", "msdyn_page", "other", "", "x" * 101])
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["10000", "true", "False", " 2.5 "]),
    st.fixed_dictionaries(
        {"value": st.one_of(st.text(max_size=4), st.integers())},
        optional={"isDisplayable": st.booleans()},
    ),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)  # no deadline: a loaded CI machine is no failure
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_a_packed_resolution_reads_back_as_the_same_resolution(raw: dict[str, object]) -> None:
    resolution = resolve_context(raw, DECLARED)
    packed = resolution.pack()
    assert ContextResolution.unpack(packed) == resolution
    # What a session reads from its packed facts, without unpacking them, is the same.
    assert ContextResolution.packed_values(packed) == resolution.values
    assert ContextResolution.packed_created(packed) == resolution.created
    assert ContextResolution.packed_dropped(packed) == resolution.dropped


async def test_a_session_reads_its_packed_facts_back_unchanged(
    org: Omnichannel, clock: VirtualClock
) -> None:
    work_stream = WorkStream(name="Open", context_variables=DECLARED)
    widget = org.widget(work_stream)
    await widget.load()
    raw = {"msdyn_cartvalue": "12", "msdyn_isvip": "maybe", "brand_new": 7}
    first = await widget.sdk.startChat(custom_context=raw)
    expected = resolve_context(raw, DECLARED)
    assert first.resolution == expected
    assert first.context == expected.values == {"msdyn_cartvalue": 12, "brand_new": "7"}
    assert first.dropped == expected.dropped and first.created == ("brand_new",)
    clock.advance(5)
    first.accept("Alex")
    await widget.sdk.closeChat()
    assert [(c.at - NOW, c.state, c.reason) for c in first.history] == [
        (0, SessionState.QUEUED, "chat started"),
        (5, SessionState.ACTIVE, "accepted by Alex"),
        (5, SessionState.CLOSED, "closed by the customer"),
    ]
    second = await widget.sdk.startChat()
    assert widget.sessions == [first, second] and widget.session is second
    assert org.sessions == [first, second]


def test_a_detail_reads_back_as_recorded_with_its_lists_copied() -> None:
    timeline = Timeline()
    keys = ["a", "b"]
    detail = {"keys": keys, "pair": ("x", 1), "n": 2, "nested": [["deep"]], "none": None}
    timeline.record(1.0, EntryKind.NOTE, "noted", detail)
    timeline.record(2.0, EntryKind.NOTE, "no lists", {"pair": ("y", 2)})
    keys.append("added by the caller afterwards")
    first, second = timeline
    assert first.detail == {
        "keys": ["a", "b"],
        "pair": ("x", 1),
        "n": 2,
        "nested": [["deep"]],
        "none": None,
    }
    assert type(first.detail["keys"]) is list and type(first.detail["pair"]) is tuple
    assert second.detail == {"pair": ("y", 2)}
    first.detail["keys"].append("changed by a reader")
    assert timeline[0].detail["keys"] == ["a", "b"]


async def test_an_evolved_or_rebuilt_session_keeps_its_history(
    org: Omnichannel, clock: VirtualClock
) -> None:
    widget = org.widget(WorkStream(name="Open", context_variables=DECLARED))
    await widget.load()
    session = await widget.sdk.startChat(custom_context={"msdyn_page": "home"})
    clock.advance(3)
    session.accept("Alex")
    clock.advance(2)
    copy = attrs.evolve(session, id="copy")
    assert copy.history == session.history and len(copy.history) == 2
    assert copy.resolution == session.resolution and copy.context == {"msdyn_page": "home"}
    rebuilt = ChatSession(
        id="rebuilt",
        work_stream=session.work_stream,
        queue=session.queue,
        clock=clock,
        authenticated=False,
        history=session.history,
    )
    assert rebuilt.history == session.history


async def test_async_listeners_are_still_awaited_waited_for_and_cancelled(
    org: Omnichannel, clock: VirtualClock
) -> None:
    widget = org.widget(WorkStream(name="Open"))
    widget.cancel()
    await widget.wait_for_complete()  # nothing running: returns at once
    assert widget.complete
    heard: list[str] = []

    @widget.on("lcw:ready")
    async def slow_ready() -> None:
        await clock.sleep(5)
        heard.append("ready")

    await widget.load()  # waits for async lcw:ready listeners
    assert heard == ["ready"] and widget.complete

    @widget.on("lcw:onMinimize")
    async def slow_minimize() -> None:
        await clock.sleep(5)
        heard.append("minimized")

    widget.minimize()
    assert not widget.complete
    await widget.wait_for_complete()
    assert heard == ["ready", "minimized"] and widget.complete

    widget.maximize()
    widget.minimize()
    widget.cancel()
    assert widget.complete
    await clock.sleep(10)
    assert heard == ["ready", "minimized"]


def test_a_listener_whose_hash_touches_another_widget_does_not_deadlock(
    org: Omnichannel,
) -> None:
    # Every widget shares pyee's lock, and pyee hashes a listener while holding it.
    first, second = org.widget(WorkStream(name="A")), org.widget(WorkStream(name="B"))

    class Listener:
        def __hash__(self) -> int:
            second.remove_all_listeners()
            return 1

        def __call__(self) -> None:
            pass

    added = threading.Event()

    def add() -> None:
        first.on("lcw:ready", Listener())
        added.set()

    thread = threading.Thread(target=add, daemon=True)
    thread.start()
    thread.join(5)
    assert added.is_set(), "adding the listener deadlocked on the shared lock"
