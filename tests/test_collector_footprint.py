"""What a chat leaves for CPython's cyclic garbage collector, and that keeping it small
changes nothing a reader sees.

Every object the collector tracks is walked on every full collection, and a suite keeps
thousands of closed chats: the fewer each holds, the less a big run pays, and the more
nearly its cost grows in line with its size (issue 6).
"""

from __future__ import annotations

import gc
from typing import Any

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
    Widget,
    WorkStream,
)
from lcw_emulator.context import ContextResolution, resolve_context
from lcw_emulator.token_providers import static_token

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


async def _closed_chat(org: Omnichannel, work_stream: WorkStream, token: str) -> Widget:
    """The documentation's page: a provider set from lcw:ready, a chat started and closed."""
    widget = org.widget(work_stream)

    @widget.on("lcw:ready")
    def handle_ready() -> None:
        widget.sdk.setAuthTokenProvider(static_token(token))

    await widget.load()
    await widget.sdk.startChat()
    await widget.sdk.closeChat()
    return widget


def _tracked() -> int:
    for _ in range(3):  # a tuple is untracked once the collector has seen its items are
        gc.collect()
    return len(gc.get_objects())


async def test_a_closed_chat_leaves_few_objects_for_the_collector(
    contoso: WorkStream, sample_token: Any
) -> None:
    org = Omnichannel(clock=VirtualClock(start=NOW))
    token = sample_token()
    await _closed_chat(org, contoso, token)  # warm: the verified-token cache, interned names
    before = _tracked()
    widgets = [await _closed_chat(org, contoso, token) for _ in range(50)]
    per_chat = (_tracked() - before) / len(widgets)
    assert all(w.session and w.session.state is SessionState.CLOSED for w in widgets)
    # 15 today. Eight are the emulator's: the widget, its SDK, its timeline (two), the
    # session, pyee's two listener tables, and the one timeline entry that holds the
    # context. Seven are the page's listener and provider closures. Before the session's
    # history, resolved context and subscribers were packed, and pyee's lock and task set
    # and the widget's session list went, it was 27.
    assert per_chat < 16, per_chat


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
