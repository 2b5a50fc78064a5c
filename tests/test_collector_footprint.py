"""Keeping a chat small for CPython's cyclic garbage collector changes nothing a reader sees.

Every object the collector tracks is walked on every full collection, and a suite keeps
thousands of closed chats, so a session keeps its facts as plain tuples, which the collector
stops tracking (how few objects a closed chat holds: tests/test_benchmarks_smoke.py).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lcw_emulator import (
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


@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_a_packed_resolution_reads_back_as_the_same_resolution(raw: dict[str, object]) -> None:
    resolution = resolve_context(raw, DECLARED)
    assert ContextResolution.unpack(resolution.pack()) == resolution


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


def test_a_detail_is_json_shaped_its_sequences_read_back_as_lists() -> None:
    timeline = Timeline()
    keys = ["a", "b"]
    timeline.record(1.0, EntryKind.NOTE, "noted", {"keys": keys, "pair": ("x", 1), "n": 2})
    keys.append("added by the caller afterwards")
    [entry] = timeline
    assert entry.detail == {"keys": ["a", "b"], "pair": ["x", 1], "n": 2}
    assert type(entry.detail["keys"]) is list and type(entry.detail["pair"]) is list
    entry.detail["keys"].append("changed by a reader")
    assert timeline[0].detail["keys"] == ["a", "b"]
