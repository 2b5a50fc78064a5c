"""getAgentAvailability as its page documents it: "Retrieves the agent availability for a queue
based on the routing rules", and "The client side cache is refreshed every 2 minutes or when
the customer context parameters change"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lcw_emulator import (
    AgentAvailability,
    ContextVariable,
    ErrorCode,
    LcwError,
    Omnichannel,
    Queue,
    RateLimitedError,
    RoutingRule,
    VariableType,
    VirtualClock,
    Widget,
    WorkStream,
)
from lcw_emulator.service import AGENT_AVAILABILITY_LIMIT
from lcw_emulator.widget import AGENT_AVAILABILITY_CACHE_SECONDS

START = 1542622100.0

ROUTED = WorkStream(
    "Contoso public",
    context_variables=(ContextVariable("msdyn_isvip", VariableType.TEXT),),
    queues=(Queue("General"), Queue("VIP", agents_available=0, average_wait_minutes=4.5)),
    routing_rules=(RoutingRule("msdyn_isvip", "true", "VIP"),),
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START, auto_jump=False)


async def page(org: Omnichannel, work_stream: WorkStream = ROUTED) -> Widget:
    widget = org.widget(work_stream)
    await widget.load()
    return widget


def cache_notes(widget: Widget) -> list[dict[str, Any]]:
    return [
        dict(entry.detail)
        for entry in widget.timeline
        if entry.name == "getAgentAvailability answered from the page's cache"
    ]


def service_calls(org: Omnichannel) -> int:
    return org.agent_availability_calls


async def test_the_answer_is_for_the_queue_the_context_routes_to(clock: VirtualClock) -> None:
    org = Omnichannel(clock=clock)
    widget = await page(org)
    customer = {"msdyn_isvip": "false"}
    widget.sdk.setContextProvider(lambda: dict(customer))
    regular = await widget.sdk.getAgentAvailability()
    assert (regular["queueId"], regular["isAgentAvailable"]) == ("general", True)
    customer["msdyn_isvip"] = "true"  # the customer's input changes: the cache is not used
    vip = await widget.sdk.getAgentAvailability()
    assert (vip["queueId"], vip["isAgentAvailable"], vip["averageWaitTime"]) == ("vip", False, 4.5)
    assert service_calls(org) == 2 and cache_notes(widget) == []
    # The same context as a chat start would send: {value, isDisplayable} is typed alike.
    widget.sdk.setContextProvider(lambda: {"msdyn_isvip": {"value": "true", "isDisplayable": 1}})
    assert (await widget.sdk.getAgentAvailability())["queueId"] == "vip"
    session = await widget.sdk.startChat()
    assert session.queue.name == "VIP"


async def test_an_answer_is_kept_for_two_minutes_while_the_context_stays(
    clock: VirtualClock,
) -> None:
    assert AGENT_AVAILABILITY_CACHE_SECONDS == 120
    org = Omnichannel(clock=clock)
    widget = await page(org)
    first = await widget.sdk.getAgentAvailability()
    other = await page(org)
    await other.sdk.startChat()  # another customer now waits in General
    clock.advance(119.5)
    cached = await widget.sdk.getAgentAvailability()
    assert cached == first and cached["positionInQueue"] == 1  # stale, as the real page's
    # The first call has left the org's minute, and this one never reached the org.
    assert service_calls(org) == 0
    assert cache_notes(widget) == [{"age": 119.5}]
    # Still an answer, so still the event, with the answer as its detail.
    fired = [e.detail for e in widget.timeline if e.name == "lcw:getAgentAvailability"]
    assert fired == [first, cached]
    clock.advance(0.5)  # 2 minutes after the answer: asked again
    fresh = await widget.sdk.getAgentAvailability()
    assert fresh["positionInQueue"] == 2 and service_calls(org) == 1
    assert len(cache_notes(widget)) == 1


async def test_the_page_gets_its_own_copy_of_a_kept_answer(clock: VirtualClock) -> None:
    widget = await page(Omnichannel(clock=clock))
    first = await widget.sdk.getAgentAvailability()
    first["queueId"] = "tampered"
    second = await widget.sdk.getAgentAvailability()
    assert second["queueId"] == "general"
    second["positionInQueue"] = 99
    assert (await widget.sdk.getAgentAvailability())["positionInQueue"] == 1


async def test_each_page_has_its_own_cache_and_a_reload_empties_it(clock: VirtualClock) -> None:
    org = Omnichannel(clock=clock)
    first, second = await page(org), await page(org)
    await first.sdk.getAgentAvailability()
    await second.sdk.getAgentAvailability()
    assert service_calls(org) == 2
    await first.reload()
    await first.sdk.getAgentAvailability()
    assert service_calls(org) == 3 and cache_notes(first) == []


async def test_many_pages_reach_the_org_limit_together(clock: VirtualClock) -> None:
    org = Omnichannel(clock=clock)
    pages = [await page(org) for _ in range(AGENT_AVAILABILITY_LIMIT + 1)]
    for widget in pages[:-1]:
        await widget.sdk.getAgentAvailability()
        await widget.sdk.getAgentAvailability()  # from its cache: not counted
    with pytest.raises(RateLimitedError):
        await pages[-1].sdk.getAgentAvailability()
    # A refusal is not kept: once the window has passed, the page asks again and is answered.
    clock.advance(60)
    assert (await pages[-1].sdk.getAgentAvailability())["queueId"] == "general"


async def test_a_failing_context_provider_is_code_1_and_keeps_nothing(
    clock: VirtualClock,
) -> None:
    org = Omnichannel(clock=clock)
    widget = await page(org)

    def broken() -> dict[str, object]:
        raise RuntimeError("cart service down")

    widget.sdk.setContextProvider(broken)
    with pytest.raises(LcwError) as caught:
        await widget.sdk.getAgentAvailability()
    assert caught.value.code is ErrorCode.CONTEXT_PROVIDER_FAILED
    assert "cart service down" in caught.value.reason
    names = widget.timeline.event_names()
    assert "lcw:error" in names and "lcw:getAgentAvailability" not in names
    assert service_calls(org) == 0


async def test_an_async_context_provider_is_awaited_on_the_clock() -> None:
    clock = VirtualClock(start=START)

    async def slow_profile() -> dict[str, object]:
        await clock.sleep(3)
        return {"msdyn_isvip": "true"}

    widget = await page(Omnichannel(clock=clock))
    widget.sdk.setContextProvider(slow_profile)
    assert (await widget.sdk.getAgentAvailability())["queueId"] == "vip"
    assert clock.now() == START + 3


async def test_an_authenticated_page_answers_without_calling_the_context_provider(
    clock: VirtualClock, contoso: WorkStream
) -> None:
    # The context provider is not supported for authenticated chats, so the call cannot
    # read it; what an authenticated page's call sends is undocumented (README).
    widget = await page(Omnichannel(clock=clock), contoso)
    widget.sdk.setContextProvider(lambda: {"msdyn_isvip": "true"})
    assert (await widget.sdk.getAgentAvailability())["queueId"] == "general"
    assert "context provider called" not in [entry.name for entry in widget.timeline]


class _Unprintable:
    def __repr__(self) -> str:
        raise ValueError("no text for this")


async def test_any_context_a_chat_start_takes_can_be_asked_with(clock: VirtualClock) -> None:
    # The cache compares the context as the service types it, so what a chat start drops
    # (a value with no text, nesting past any depth, keys that do not sort) asks fine too.
    deep: dict[str, object] = {}
    for _ in range(5000):
        deep = {"x": deep}
    org = Omnichannel(clock=clock)
    for context in (
        {"msdyn_isvip": "true", "odd": _Unprintable()},
        {"msdyn_isvip": "true", "deep": deep},
        {1: "a", "msdyn_isvip": "true"},
    ):
        widget = await page(org)
        widget.sdk.setContextProvider(lambda context=context: context)
        assert (await widget.sdk.getAgentAvailability())["queueId"] == "vip"
        assert (await widget.sdk.getAgentAvailability())["queueId"] == "vip"
        assert len(cache_notes(widget)) == 1
        session = await widget.sdk.startChat()
        assert session.queue.name == "VIP" and session.dropped


async def test_a_context_that_types_the_same_is_the_same_context(clock: VirtualClock) -> None:
    widget = await page(Omnichannel(clock=clock))
    answers = iter([{"msdyn_isvip": "true"}, {"msdyn_isvip": {"value": "true"}}])
    widget.sdk.setContextProvider(lambda: next(answers))
    await widget.sdk.getAgentAvailability()
    await widget.sdk.getAgentAvailability()
    assert len(cache_notes(widget)) == 1  # the same variable, the same value: nothing changed


async def asked_while_the_profile_loads() -> tuple[
    VirtualClock, Omnichannel, Widget, asyncio.Future[AgentAvailability]
]:
    """A page asking with a context provider that answers in 3 s, 1 s into its wait."""
    clock = VirtualClock(start=START)
    org = Omnichannel(clock=clock)
    widget = await page(org)

    async def slow_profile() -> dict[str, object]:
        await clock.sleep(3)
        return {"msdyn_isvip": "true"}

    widget.sdk.setContextProvider(slow_profile)
    asked = widget.sdk.getAgentAvailability()
    await clock.sleep(1)
    return clock, org, widget, asked


async def test_an_answer_asked_for_before_a_reload_is_not_kept_by_the_new_page() -> None:
    _, org, widget, asked = await asked_while_the_profile_loads()
    await widget.reload()
    assert (await asked)["queueId"] == "vip"  # the old page's call completes, as a start does
    assert widget.timeline.find(
        "getAgentAvailability asked before the reload: its answer is not kept"
    )
    await widget.sdk.getAgentAvailability()  # the new page's first call asks the org
    assert cache_notes(widget) == [] and service_calls(org) == 2


async def test_a_call_cancelled_while_the_context_provider_works_asks_nothing() -> None:
    clock, org, widget, asked = await asked_while_the_profile_loads()
    asked.cancel()
    await clock.sleep(5)
    assert asked.cancelled()
    assert service_calls(org) == 0 and clock.pending == 0
    assert "lcw:getAgentAvailability" not in widget.timeline.event_names()


async def test_position_in_queue_counts_the_org_s_chats_in_a_queue_of_that_name(
    clock: VirtualClock,
) -> None:
    # Queues are the org's: two work streams routing to "General" share it, whatever
    # figures each gives it, and a work stream with another queue waits alone.
    org = Omnichannel(clock=clock)
    elsewhere = WorkStream("Contoso sales", queues=(Queue("General", agents_available=5),))
    support = WorkStream("Contoso support", queues=(Queue("Support"),))
    for work_stream in (ROUTED, elsewhere):
        await (await page(org, work_stream)).sdk.startChat()
    answers = [await (await page(org, ws)).sdk.getAgentAvailability() for ws in (ROUTED, support)]
    assert [(a["queueId"], a["positionInQueue"]) for a in answers] == [
        ("general", 3),
        ("support", 1),
    ]
