"""The widget's lifecycle: lcw:ready, the pre-ready queue, strict mode, events, the SDK surface."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import re
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from conftest import SCENARIOS

from lcw_emulator import (
    ChatStateError,
    CustomEvent,
    LcwError,
    LiveChatSDK,
    Omnichannel,
    SdkUsageError,
    SessionState,
    VirtualClock,
    Widget,
    WidgetNotReadyError,
    WorkStream,
)
from lcw_emulator.events import (
    EVENT_DETAIL_KEYS,
    EVENT_DETAIL_TYPES,
    LCW_EVENTS,
    EntryKind,
    json_type,
)
from lcw_emulator.sdk import JAVASCRIPT_METHODS
from lcw_emulator.token_providers import static_token

OPEN = WorkStream.from_dict(
    {
        "name": "Open chat",
        "context_variables": [
            {"name": "msdyn_cartvalue", "type": "Number"},
            {"name": "msdyn_isvip", "type": "Boolean"},
        ],
        "queues": [{"name": "General"}, {"name": "VIP", "agents_available": 0}],
        "routing_rules": [{"variable": "msdyn_isvip", "equals": True, "queue": "VIP"}],
    }
)


async def test_load_fires_ready_and_waits_for_async_listeners(
    org: Omnichannel, clock: VirtualClock
) -> None:
    widget = org.widget(OPEN)
    finished: list[float] = []

    async def slow_listener() -> None:
        await clock.sleep(3)
        finished.append(clock.now())

    widget.on("lcw:ready", slow_listener)
    await widget.load()
    assert finished == [clock.now()]
    assert widget.is_ready
    assert widget.timeline.event_names() == ["lcw:ready"]
    await widget.load()  # loading twice is harmless
    assert widget.timeline.event_names() == ["lcw:ready"]


async def test_listeners_get_a_custom_event_when_they_take_one(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    events: list[CustomEvent] = []
    widget.on("lcw:ready", events.append)
    widget.on("lcw:ready", lambda: events.append(CustomEvent("no-arg listener")))
    await widget.load()
    assert events == [CustomEvent("lcw:ready", None), CustomEvent("no-arg listener")]


async def test_the_documentations_listeners_port_line_by_line(org: Omnichannel) -> None:
    # window.addEventListener("lcw:error", function handleLivechatErrorEvent(errorEvent) {
    #     console.log(errorEvent.detail.errorCode); });
    widget = org.widget(
        WorkStream.from_dict(
            {"name": "auth", "auth": {"secret": "s" * 32, "algorithms": ["HS256"]}}
        )
    )
    logged: list[object] = []

    def handleLivechatErrorEvent(errorEvent: CustomEvent) -> None:
        logged.append(errorEvent.detail.errorCode)  # type: ignore[union-attr]

    widget.addEventListener("lcw:error", handleLivechatErrorEvent)
    await widget.load()
    with pytest.raises(LcwError):
        await widget.sdk.startChat()  # code 8: no auth token provider
    assert logged == [8]
    widget.removeEventListener("lcw:error", handleLivechatErrorEvent, False)
    assert widget.listeners("lcw:error") == []
    heard: list[str] = []

    def once() -> None:
        heard.append("once")

    widget.addEventListener("lcw:onMinimize", once, {"once": True})
    widget.addEventListener("lcw:onMinimize", lambda: heard.append("always"), False)
    for _ in range(2):
        widget.minimize()
        widget.maximize()
    assert heard == ["once", "always", "always"]
    # As in a browser, removing a listener that no longer listens (a once listener that ran,
    # one removed twice) does nothing, whether or not the event has other listeners.
    widget.removeEventListener("lcw:onMinimize", once)
    widget.removeEventListener("lcw:error", handleLivechatErrorEvent)
    assert len(widget.listeners("lcw:onMinimize")) == 1
    message = CustomEvent("lcw:onMessageReceived", {"channelData": {"tags": ["public"]}})
    assert message.detail.channelData.tags == ["public"]  # type: ignore[union-attr]
    detail = CustomEvent("lcw:error", {"errorCode": 8}).detail
    assert detail == {"errorCode": 8} and detail["errorCode"] == 8
    with pytest.raises(AttributeError, match=r"the event's detail has no 'errorcode' \(its keys"):
        detail.errorcode  # type: ignore[union-attr]  # noqa: B018


async def test_calls_before_ready_are_queued_and_replayed_in_order(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})
    widget.sdk.removeContextProvider()
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "2"})
    pending = widget.sdk.startChat()
    assert widget.sdk.queued == [
        "setContextProvider",
        "removeContextProvider",
        "setContextProvider",
        "startChat",
    ]
    assert widget.sdk.getContextProvider() is None  # getters answer now; setters wait
    await widget.load()
    session = await pending
    assert session.context == {"msdyn_cartvalue": 2}
    sdk_calls = [e for e in widget.timeline if e.kind is EntryKind.SDK_CALL]
    assert [e.detail.get("queued", False) for e in sdk_calls[:4]] == [True] * 4
    names = [e.name for e in widget.timeline if e.kind in (EntryKind.EVENT, EntryKind.NOTE)]
    assert names[:6] == [
        "lcw:ready",
        "replaying queued call",
        "replaying queued call",
        "replaying queued call",
        "replaying queued call",
        "lcw:startChat",
    ]


async def test_a_slow_queued_start_does_not_hold_back_the_calls_queued_after_it(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    widget.sdk.setContextProvider(slow_context(widget, 2))
    pending = widget.sdk.startChat()
    widget.sdk.setBotAuthTokenProvider(lambda url, callback: None)
    before = org.clock.now()
    await widget.load()  # the queued calls are made right after lcw:ready, none waited for
    assert widget.bot_auth_token_provider is not None
    assert org.clock.now() == before and not pending.done()
    session = await pending
    assert session.context == {"msdyn_cartvalue": 5}


async def next_turn() -> None:
    await asyncio.sleep(0)  # a yield to the loop, not a wait on any clock


async def test_a_queued_start_reads_the_providers_set_when_the_page_called_it(
    org: Omnichannel,
) -> None:
    # The page starts its chat, and only on a later turn removes its context provider: the
    # replay must not let that removal overtake the start, as it never did for the page.
    widget = org.widget(OPEN)
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "7"})
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.removeContextProvider()
    await widget.load()
    session = await pending
    assert session.context == {"msdyn_cartvalue": 7}
    assert widget.context_provider is None  # the removal was made too, after the start read
    names = [e.name for e in widget.timeline if e.kind in (EntryKind.EVENT, EntryKind.NOTE)]
    assert names.index("lcw:startChat") < names.index("lcw:chatQueued")
    assert names.index("lcw:chatQueued") < len(names) - 1 - names[::-1].index(
        "replaying queued call"
    )


async def test_queued_calls_made_in_one_turn_replay_as_they_would_after_ready(
    org: Omnichannel,
) -> None:
    # Made back to back, a removal does overtake the start's first step, after lcw:ready as
    # before it: the replay keeps that too.
    outcomes = []
    for queued in (True, False):
        widget = org.widget(OPEN)
        if not queued:
            await widget.load()
        widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "7"})
        pending = widget.sdk.startChat()
        widget.sdk.removeContextProvider()
        if queued:
            await widget.load()
        outcomes.append((await pending).context)
    assert outcomes == [{}, {}]


async def test_calls_the_page_makes_during_the_replay_run_at_once(org: Omnichannel) -> None:
    # After lcw:ready every call runs at once, also while the replay waits a turn: an async
    # lcw:ready listener that sets the provider serves the chat start the page queued.
    widget = org.widget(OPEN)
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})

    async def page_elsewhere() -> None:
        await next_turn()  # runs while the replay waits for the start's first step
        widget.sdk.removeContextProvider()

    elsewhere = asyncio.ensure_future(page_elsewhere())
    await widget.load()
    await elsewhere
    await pending
    calls = [
        (e.name, e.detail.get("queued", False)) for e in widget.timeline.of_kind(EntryKind.SDK_CALL)
    ]
    assert calls == [
        ("startChat", True),
        ("setContextProvider", True),
        ("removeContextProvider", False),
    ]
    assert widget.context_provider is None and widget.sdk.queued == []


async def test_an_async_ready_listener_serves_a_queued_start(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.setBotAuthTokenProvider(lambda url, callback: None)  # a later turn's call

    @widget.on("lcw:ready")
    async def ready() -> None:
        widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "9"})

    await widget.load()
    session = await pending
    assert session.context == {"msdyn_cartvalue": 9}


async def test_a_load_cancelled_mid_replay_still_makes_every_queued_call(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})
    loading = asyncio.ensure_future(widget.load())
    await next_turn()  # the replay started the chat and waits a turn
    loading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loading
    assert widget.context_provider is not None and widget.sdk.queued == []
    await pending
    widget.sdk.removeContextProvider()  # and later calls run at once again
    assert widget.context_provider is None


async def test_a_queued_call_the_page_cancelled_is_not_made(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    widget.sdk.startChat().cancel()
    widget.sdk.getAgentAvailability().cancel()
    closing = widget.sdk.closeChat()
    await widget.load()
    await closing
    assert widget.session is None and org.sessions == []
    assert "lcw:startChat" not in widget.timeline.event_names()
    assert "lcw:getAgentAvailability" not in widget.timeline.event_names()
    cancelled = widget.timeline.find("queued call cancelled: not replayed")
    assert [entry.detail["method"] for entry in cancelled] == ["startChat", "getAgentAvailability"]
    assert widget.timeline.find("no chat to close")  # the call not cancelled was made


async def test_cancelling_a_replayed_start_cancels_the_start(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    widget.sdk.setContextProvider(slow_context(widget, 5))
    pending = widget.sdk.startChat()
    await widget.load()
    await asyncio.sleep(0)  # the start is under way
    pending.cancel()
    await widget.clock.sleep(10)
    assert widget.session is None and org.sessions == []


def test_calls_that_return_an_awaitable_need_a_running_loop(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    for name in ("startChat", "closeChat", "getAgentAvailability"):
        with pytest.raises(SdkUsageError, match=rf"{name}\(\) needs a running asyncio event loop"):
            getattr(widget.sdk, name)()
    assert len(widget.timeline) == 0  # nothing recorded for calls that were never made


async def test_strict_mode_raises_where_the_real_widget_fails(org: Omnichannel) -> None:
    widget = org.widget(OPEN, strict=True)
    with pytest.raises(WidgetNotReadyError, match="the real widget would fail here"):
        widget.sdk.startChat()
    with pytest.raises(WidgetNotReadyError, match=r"setAuthTokenProvider\(\) was called before"):
        widget.sdk.setAuthTokenProvider(lambda callback: None)
    # The getters too: before lcw:ready the page finds no SDK object to call them on.
    for getter in ("getAuthTokenProvider", "getContextProvider"):
        with pytest.raises(WidgetNotReadyError, match=rf"{getter}\(\) was called before"):
            getattr(widget.sdk, getter)()
    await widget.load()
    assert widget.sdk.getAuthTokenProvider() is None
    session = await widget.sdk.startChat()
    assert session.state is SessionState.QUEUED


@pytest.mark.parametrize("not_a_function", [None, "token", 42, {"a": 1}])
def test_setters_refuse_what_is_not_callable_at_once(
    not_a_function: object, org: Omnichannel
) -> None:
    sdk = org.widget(OPEN).sdk
    for setter in (sdk.setAuthTokenProvider, sdk.setContextProvider, sdk.setBotAuthTokenProvider):
        with pytest.raises(SdkUsageError, match="must be a function"):
            setter(not_a_function)  # type: ignore[arg-type]
    assert sdk.queued == []


def test_a_listener_that_is_not_a_function_is_refused_when_added(org: Omnichannel) -> None:
    # As a browser's addEventListener refuses it, not when lcw:ready fires much later.
    widget = org.widget(OPEN)
    with pytest.raises(SdkUsageError, match="addEventListener: listener must be a function, got"):
        widget.addEventListener("lcw:ready", "handleReady")  # type: ignore[arg-type]
    with pytest.raises(SdkUsageError, match="listener must be a function"):
        widget.once("lcw:ready", 5)  # type: ignore[arg-type]

    @widget.on("lcw:ready")  # the decorator form still adds the function it decorates
    def ready() -> None:
        pass

    assert widget.listeners("lcw:ready") == [ready]


async def test_getters_and_removers(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()

    def provider(callback: Any) -> None:
        callback("x")

    assert widget.sdk.getAuthTokenProvider() is None
    widget.sdk.setAuthTokenProvider(provider)
    assert widget.sdk.getAuthTokenProvider() is provider
    widget.sdk.removeAuthTokenProvider()
    assert widget.sdk.getAuthTokenProvider() is None


def test_every_documented_method_has_its_javascript_alias() -> None:
    pairs = {
        "setContextProvider": "set_context_provider",
        "getContextProvider": "get_context_provider",
        "removeContextProvider": "remove_context_provider",
        "setAuthTokenProvider": "set_auth_token_provider",
        "getAuthTokenProvider": "get_auth_token_provider",
        "removeAuthTokenProvider": "remove_auth_token_provider",
        "startChat": "start_chat",
        "closeChat": "close_chat",
        "getAgentAvailability": "get_agent_availability",
        "startProactiveChat": "start_proactive_chat",
        "setBotAuthTokenProvider": "set_bot_auth_token_provider",
    }
    for js, py in pairs.items():
        assert getattr(LiveChatSDK, js) is getattr(LiveChatSDK, py)
    assert set(pairs) == JAVASCRIPT_METHODS


async def test_unauthenticated_custom_context_both_shapes_and_routing(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat(
        {
            "customContext": {
                "msdyn_cartvalue": {"value": "10000", "isDisplayable": True},
                "msdyn_isvip": "true",
                "campaign": "spring",
            }
        }
    )
    assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": True, "campaign": "spring"}
    assert session.created == ("campaign",)
    assert session.queue.name == "VIP"
    assert session.context_source == "customContext"
    assert not session.authenticated


async def test_custom_context_overrides_the_context_provider(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    called: list[str] = []

    def contextProvider() -> dict[str, Any]:
        called.append("provider")
        return {"msdyn_cartvalue": {"value": 1}}

    widget.sdk.setContextProvider(contextProvider)
    session = await widget.sdk.startChat(custom_context={"msdyn_cartvalue": {"value": 2}})
    assert session.context == {"msdyn_cartvalue": 2}
    assert called == []
    assert "customContext overrides the context provider" in session.notes
    await widget.sdk.closeChat()
    session = await widget.sdk.startChat()
    assert session.context == {"msdyn_cartvalue": 1}
    assert session.context_source == "contextProvider"


async def test_uncoercible_context_is_dropped_and_the_chat_starts(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat(custom_context={"msdyn_cartvalue": "ten"})
    assert session.context == {}
    assert [(d.key, d.reason) for d in session.dropped] == [
        ("msdyn_cartvalue", "declared Number: 'ten' is not a number")
    ]
    [created] = widget.timeline.find("chat session created")
    assert created.detail["dropped"] == [
        {"key": "msdyn_cartvalue", "reason": "declared Number: 'ten' is not a number"}
    ]


async def test_authenticated_chat_ignores_custom_context(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = org.widget(contoso)
    await widget.load()
    widget.sdk.setAuthTokenProvider(static_token(sample_token()))
    session = await widget.sdk.startChat(custom_context={"msdyn_isvip": True})
    assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}
    assert any("custom context ignored" in note for note in session.notes)
    assert session.customer_id == "87b4d06c-abc2-e811-a9b0-000d3a10e09e"


async def test_start_chat_rejects_a_custom_context_that_is_not_an_object(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    with pytest.raises(SdkUsageError, match="customContext must be an object"):
        widget.sdk.startChat({"customContext": ["a"]})


async def test_full_lifecycle_events_and_states(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat()
    widget.send_message("hello?")
    session.accept("Ann")
    session.agent_says("Hi, how can I help?")
    widget.minimize()
    widget.maximize()
    session.end_by_agent()
    assert session.state is SessionState.ENDED
    await widget.sdk.closeChat()
    assert session.state is SessionState.CLOSED
    assert widget.timeline.event_names() == [
        "lcw:ready",
        "lcw:startChat",
        "lcw:chatQueued",
        "lcw:onMessageSent",
        "lcw:onMessageReceived",
        "lcw:onMessageReceived",
        "lcw:onMinimize",
        "lcw:onMaximize",
        "lcw:onMessageReceived",
        "lcw:threadUpdate",
        "lcw:closeChat",
        "lcw:onClose",
    ]
    received = [e.detail for e in widget.timeline.find("lcw:onMessageReceived")]
    assert received[0] == {"messageType": "system", "channelData": {"tags": ["agentaccepted"]}}
    assert received[1]["messageType"] == "user"
    assert received[1]["channelData"]["tags"][0] == "public"
    assert received[1]["text"] == "Hi, how can I help?"
    assert received[2]["channelData"]["tags"] == ["agentendconversation"]
    assert [m.sender for m in session.messages] == ["customer", "agent"]
    assert [c.state for c in session.history] == [
        SessionState.QUEUED,
        SessionState.ACTIVE,
        SessionState.ENDED,
        SessionState.CLOSED,
    ]
    assert set(widget.timeline.event_names()) <= LCW_EVENTS


async def test_the_org_keeps_a_closed_chat_but_not_its_widget(org: Omnichannel) -> None:
    # An org keeps every session; a load test that runs chats one after another in one org
    # must not keep every widget (and its timeline) alive through them.
    widget = org.widget(OPEN)
    await widget.load()
    open_session = await widget.sdk.startChat()
    widget_ref = weakref.ref(widget)
    del widget
    gc.collect()
    assert widget_ref() is not None  # an open chat still tells its widget what happens

    closing = widget_ref()
    assert closing is not None
    await closing.sdk.closeChat()
    del closing
    gc.collect()
    assert widget_ref() is None
    assert org.sessions == [open_session]
    assert open_session.state is SessionState.CLOSED


async def test_session_refuses_moves_that_do_not_fit_its_state(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat()
    with pytest.raises(ChatStateError, match="is queued, not active"):
        session.end_by_agent()
    await widget.sdk.closeChat()
    with pytest.raises(ChatStateError, match="already closed"):
        session.close()
    await widget.sdk.closeChat()  # no chat: nothing happens, noted
    assert widget.timeline.find("no chat to close")


async def test_start_chat_during_a_chat_returns_it_and_maximises(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    first = await widget.sdk.startChat()
    widget.minimize()
    again = await widget.sdk.startChat()
    assert again is first
    assert not widget.minimized
    # lcw:startChat is documented as fired whenever startChat() is called; one chat queued.
    assert widget.timeline.event_names() == [
        "lcw:ready",
        "lcw:startChat",
        "lcw:chatQueued",
        "lcw:onMinimize",
        "lcw:startChat",
        "lcw:onMaximize",
    ]


async def test_start_chat_opens_a_minimised_widget_and_an_open_one_stays_quiet(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.minimize()
    await widget.sdk.startChat()  # the first start shows the chat too
    assert not widget.minimized
    await widget.sdk.startChat()  # already open: nothing to announce
    assert widget.timeline.event_names() == [
        "lcw:ready",
        "lcw:onMinimize",
        "lcw:startChat",
        "lcw:onMaximize",
        "lcw:chatQueued",
        "lcw:startChat",
    ]


def slow_context(widget: Any, seconds: float = 1.0) -> Any:
    async def context_provider() -> dict[str, Any]:
        await widget.clock.sleep(seconds)
        return {"msdyn_cartvalue": "5"}

    return context_provider


async def test_start_chat_while_a_start_waits_is_the_same_chat(org: Omnichannel) -> None:
    # A customer double-clicks while the first start still waits (here for its context).
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.setContextProvider(slow_context(widget))
    first, second = widget.sdk.startChat(), widget.sdk.startChat()
    assert await first is await second
    assert widget.sessions == [widget.session] and len(org.sessions) == 1
    # Never minimised, so the second click does not announce a maximise.
    assert widget.timeline.event_names() == [
        "lcw:ready",
        "lcw:startChat",
        "lcw:startChat",
        "lcw:chatQueued",
    ]
    assert widget.timeline.find("chat already starting")


async def test_a_start_that_fails_fails_for_the_double_click_too(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()

    async def failing() -> dict[str, Any]:
        await widget.clock.sleep(1)
        raise RuntimeError("context service down")

    widget.sdk.setContextProvider(failing)
    first, second = widget.sdk.startChat(), widget.sdk.startChat()
    for attempt in (first, second):
        with pytest.raises(LcwError, match="context service down"):
            await attempt
    assert widget.timeline.event_names().count("lcw:error") == 1
    assert widget.session is None and org.sessions == []
    widget.sdk.removeContextProvider()
    assert (await widget.sdk.startChat()).state is SessionState.QUEUED  # nothing left stuck


async def test_a_double_click_still_starts_when_the_page_gives_up_on_the_first(
    org: Omnichannel, recwarn: pytest.WarningsRecorder
) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.setContextProvider(slow_context(widget))
    first, second = widget.sdk.startChat(), widget.sdk.startChat()
    await asyncio.sleep(0)  # both under way: the first waits for its context
    first.cancel()  # the page's own timeout withdraws the first call, not the second
    session = await second
    assert session.state is SessionState.QUEUED and org.sessions == [session]
    assert first.cancelled()
    del first  # its traceback holds the first start's frames
    gc.collect()  # the first start's provider coroutine, never run, was closed, not dropped
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


async def test_close_chat_while_it_starts_closes_it_once_started(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.setContextProvider(slow_context(widget))
    starting = widget.sdk.startChat()
    await asyncio.sleep(0)  # the start is under way, waiting for the context
    await widget.sdk.closeChat()
    session = await starting
    assert session.state is SessionState.CLOSED
    assert session.history[-1].reason == "closed by the customer while the chat was starting"
    names = widget.timeline.event_names()
    assert names[names.index("lcw:chatQueued") :] == [
        "lcw:chatQueued",
        "lcw:closeChat",
        "lcw:onClose",
    ]
    assert widget.timeline.find("chat still starting: it closes once started")


async def closed_while_starting(org: Omnichannel) -> tuple[Widget, asyncio.Future[Any]]:
    """A widget whose chat start waits for its context, and a closeChat made meanwhile."""
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.setContextProvider(slow_context(widget))
    first = widget.sdk.startChat()
    await asyncio.sleep(0)
    await widget.sdk.closeChat()
    return widget, first


async def test_a_close_while_starting_holds_when_a_second_click_takes_the_start_over(
    org: Omnichannel,
) -> None:
    # The page cancels the first startChat; the second click, waiting on it, starts the
    # chat instead: the closeChat made meanwhile is for that chat.
    widget, first = await closed_while_starting(org)
    second = widget.sdk.startChat()
    await asyncio.sleep(0)
    first.cancel()
    session = await second
    assert session.state is SessionState.CLOSED
    assert not widget.chat_in_progress
    # Nothing is left to close the next chat, started later.
    assert (await widget.sdk.startChat()).state is SessionState.QUEUED


async def test_a_close_while_starting_is_dropped_when_the_start_is_cancelled_alone(
    org: Omnichannel,
) -> None:
    widget, first = await closed_while_starting(org)
    first.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert widget.session is None
    assert (await widget.sdk.startChat()).state is SessionState.QUEUED


@pytest.mark.parametrize("turns", range(6))
async def test_a_close_while_starting_is_dropped_when_both_clicks_are_cancelled(
    org: Omnichannel, turns: int
) -> None:
    # The second click, about to take the start over, is cancelled too (at any loop turn):
    # the close has no chat to close, and must not close the next one.
    widget, first = await closed_while_starting(org)
    second = widget.sdk.startChat()
    await asyncio.sleep(0)
    first.cancel()
    for _ in range(turns):
        await asyncio.sleep(0)
    second.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert (await widget.sdk.startChat()).state is SessionState.QUEUED


async def test_a_second_load_after_the_scripts_failed_fires_no_second_error(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN, load_failure="cdn down")
    for _ in range(2):
        with pytest.raises(LcwError) as failed:
            await widget.load()
        assert failed.value.code == 7
    assert widget.timeline.event_names() == ["lcw:error"]


async def test_start_chat_is_fire_and_forget_like_the_page(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.startChat()  # a page does not await it
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert widget.session is not None
    assert "lcw:chatQueued" in widget.timeline.event_names()


async def test_a_listener_for_an_event_never_fired_is_noted_with_the_closest(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    widget.on("lcw:chatqueued", lambda: None)  # a typo: the page would wait in silence
    widget.on("lcw:chatQueued", lambda: None)
    widget.on("my-page:event", lambda: None)  # the page's own events are its business
    widget.on(42, lambda: None)  # pyee takes any hashable name
    [note] = widget.timeline.find("listener for an event the widget never fires")
    assert note.detail == {"event": "lcw:chatqueued", "closest": "lcw:chatQueued"}


async def test_a_ready_listener_added_too_late_is_named_where_the_start_fails(
    org: Omnichannel, contoso: WorkStream
) -> None:
    # The README's sample ported onto an already loaded widget (the lcw fixtures load it):
    # the listener that would set the provider never runs, and code 8 says why.
    widget = org.widget(contoso)
    await widget.load()

    @widget.on("lcw:ready")
    def handle_livechat_ready() -> None:
        widget.sdk.setAuthTokenProvider(static_token("never handed over"))

    await widget.load()
    with pytest.raises(LcwError) as raised:
        await widget.sdk.startChat()
    assert raised.value.code == 8
    assert raised.value.reason.endswith(
        "; note: an lcw:ready listener was added after lcw:ready fired, so it was not called "
        "(the lcw fixtures load the widget unless load=False)"
    )
    [late] = widget.timeline.find("lcw:ready listener added after lcw:ready fired")
    assert late.detail == {"listener": "handle_livechat_ready"}
    assert widget.timeline.find("widget already loaded: lcw:ready does not fire again")
    await widget.reload()  # a reload fires lcw:ready again, to every listener
    assert widget.auth_token_provider is not None
    widget.sdk.removeAuthTokenProvider()
    with pytest.raises(LcwError) as again:
        await widget.sdk.startChat()
    assert "added after lcw:ready fired" not in again.value.reason  # it was called since


class _PageAbort(BaseException):
    """What a page's provider may raise that is no Exception (pytest.fail's kind)."""


@pytest.mark.parametrize("failure", ["no provider", "a BaseException from the provider"])
async def test_a_failed_start_the_page_dropped_is_an_event_not_a_loop_error(
    org: Omnichannel, contoso: WorkStream, failure: str
) -> None:
    # No auth token provider: code 8. The page never awaits the start, as pages do not; the
    # failure is its lcw:error event, and asyncio must not also log "exception was never
    # retrieved" when the dropped awaitable is collected.
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        widget = org.widget(contoso)
        await widget.load()
        if failure != "no provider":

            def aborting(callback: Any) -> None:
                raise _PageAbort("the page gave up")

            widget.sdk.setAuthTokenProvider(aborting)
        dropped = widget.sdk.startChat()
        gone = weakref.ref(dropped)
        del dropped
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        assert gone() is None  # collected, so asyncio had its chance to complain
    finally:
        loop.set_exception_handler(None)
    assert reported == []
    if failure == "no provider":
        assert widget.timeline.event_names()[-1] == "lcw:error"
        # Awaited, the same failure still raises.
        with pytest.raises(LcwError) as raised:
            await widget.sdk.startChat()
        assert raised.value.code == 8


async def test_events_carry_exactly_the_detail_keys_the_table_lists(org: Omnichannel) -> None:
    # EVENT_DETAIL_KEYS, the public table of each event's detail keys, is what is fired.
    widget = org.widget(OPEN)
    await widget.load()
    await widget.sdk.getAgentAvailability()
    widget.sdk.setContextProvider(lambda: 1 / 0)
    with pytest.raises(LcwError):
        await widget.sdk.startChat()
    widget.sdk.removeContextProvider()
    session = await widget.sdk.startChat()
    session.accept("Alex")
    session.agent_says("Hello")
    widget.send_message("Hi")
    session.end_by_agent()
    await widget.sdk.closeChat()
    failing = org.widget(OPEN, load_failure="storage disabled")  # code 7 adds errorDetail
    with pytest.raises(LcwError):
        await failing.load()
    assert failing.timeline.events[-1].detail["errorDetail"] == "storage disabled"
    seen: dict[str, set[str]] = {}
    for entry in [*widget.timeline.events, *failing.timeline.events]:  # keys it may carry
        seen.setdefault(entry.name, set()).update(entry.detail)
        for key, value in entry.detail.items():  # and the JSON type of each
            assert json_type(value) == EVENT_DETAIL_TYPES[entry.name][key], (entry.name, key)
    assert seen == {name: set(EVENT_DETAIL_KEYS.get(name, ())) for name in seen}
    assert set(EVENT_DETAIL_KEYS) <= set(seen)


async def test_proactive_chat_refuses_options_that_are_not_an_object(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    with pytest.raises(SdkUsageError, match="startProactiveChat: options must be an object"):
        widget.sdk.startProactiveChat({"message": "Need help?"}, True, "new")  # type: ignore[arg-type]
    assert widget.proactive_invitation is None


async def test_proactive_chat_requires_its_notification_config(org: Omnichannel) -> None:
    """The reference: ``startProactiveChat(notificationUIConfig, ...)``, "config required";
    only its ``message`` may be left out."""
    widget = org.widget(OPEN)
    await widget.load()
    with pytest.raises(TypeError, match="notification_ui_config"):  # a type checker says so too
        widget.sdk.startProactiveChat()  # type: ignore[call-arg]
    with pytest.raises(SdkUsageError, match=r"notificationUIConfig is required.*\{\} shows"):
        widget.sdk.startProactiveChat(None, False)  # type: ignore[arg-type]  # a page's null
    with pytest.raises(SdkUsageError, match=r"must be an object .*got str"):
        widget.sdk.startProactiveChat("Need help?")  # type: ignore[arg-type]
    assert widget.proactive_invitation is None
    assert "startProactiveChat" not in [entry.name for entry in widget.timeline]


async def test_proactive_chat(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.startProactiveChat({}, False)
    assert widget.proactive_invitation is not None
    assert widget.proactive_invitation.message == "Hi! Have any questions? I'm here to help"
    widget.sdk.startProactiveChat({"message": "Need help with your cart?"})
    assert widget.proactive_invitation.message == "Need help with your cart?"
    assert widget.proactive_invitation.show_prechat is True
    session = await widget.accept_proactive_chat()
    assert session.state is SessionState.QUEUED
    assert widget.proactive_invitation is None


async def test_a_chat_takes_the_invitations_place(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.startProactiveChat({"message": "Need help?"})
    session = await widget.sdk.startChat()  # the customer opened the chat themselves
    assert widget.proactive_invitation is None
    widget.sdk.startProactiveChat({"message": "Still there?"})
    assert widget.proactive_invitation is None
    assert widget.timeline.find("proactive invitation not shown: a chat is in progress")
    await widget.sdk.closeChat()
    assert session.state is SessionState.CLOSED
    widget.sdk.startProactiveChat({"message": "Come back!"})
    assert widget.proactive_invitation is not None


async def test_get_agent_availability(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    availability = await widget.sdk.getAgentAvailability()
    assert availability["isAgentAvailable"] is True
    assert availability["queueId"] == "general"
    assert availability["positionInQueue"] == 1
    [event] = widget.timeline.find("lcw:getAgentAvailability")
    assert event.detail == availability


async def test_bot_auth_token_provider(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    urls: list[str] = []

    def botAuthTokenProvider(botTokenUrl: str, callback: Any) -> None:
        urls.append(botTokenUrl)
        callback({"show": False})

    widget.sdk.setBotAuthTokenProvider(botAuthTokenProvider)
    assert widget.request_bot_sign_in("https://bot.example/token") is False
    assert urls == ["https://bot.example/token"]


async def test_an_async_bot_auth_token_provider_is_run_and_can_be_awaited(
    org: Omnichannel,
) -> None:
    # The documentation's sample is an async function that fetches, then calls back.
    widget = org.widget(OPEN)
    await widget.load()

    async def botAuthTokenProvider(botTokenUrl: str, callback: Any) -> None:
        await widget.clock.sleep(1)  # const response = await fetch(...)
        callback({"show": False})

    widget.sdk.setBotAuthTokenProvider(botAuthTokenProvider)
    assert widget.request_bot_sign_in("https://bot.example/a") is None  # not answered yet
    assert await widget.bot_sign_in("https://bot.example/b") is False
    await widget.clock.sleep(1)
    callbacks = widget.timeline.find("bot auth callback")
    assert [entry.detail["show"] for entry in callbacks] == [False, False]


async def test_bot_sign_in_returns_with_the_answer_not_the_providers_end(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    await widget.load()

    async def botAuthTokenProvider(botTokenUrl: str, callback: Any) -> None:
        callback({"show": True})
        await widget.clock.sleep(30)  # more of the page's work, after answering

    widget.sdk.setBotAuthTokenProvider(botAuthTokenProvider)
    before = widget.clock.now()
    assert await widget.bot_sign_in("https://bot.example/d") is True
    assert widget.clock.now() == before

    def raising(botTokenUrl: str, callback: Any) -> None:
        raise RuntimeError("page bug")

    widget.sdk.setBotAuthTokenProvider(raising)
    assert widget.request_bot_sign_in("https://bot.example/e") is None
    assert widget.timeline.find(
        "bot auth token provider raised", {"error": "RuntimeError: page bug"}
    )


async def test_an_async_bot_auth_token_provider_that_raises_is_noted(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()

    async def botAuthTokenProvider(botTokenUrl: str, callback: Any) -> None:
        raise RuntimeError("sign-in service down")

    widget.sdk.setBotAuthTokenProvider(botAuthTokenProvider)
    assert await widget.bot_sign_in("https://bot.example/c") is None
    [note] = widget.timeline.find("bot auth token provider raised")
    assert note.detail == {"error": "RuntimeError: sign-in service down"}


async def test_a_raising_listener_is_recorded_and_does_not_stop_the_widget(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)

    async def broken(event: CustomEvent) -> None:
        raise RuntimeError("listener bug")

    widget.on("lcw:chatQueued", broken)
    await widget.load()
    session = await widget.sdk.startChat()
    await asyncio.sleep(0)
    assert session.state is SessionState.QUEUED
    assert [str(e) for e in widget.handler_errors] == ["listener bug"]
    assert widget.timeline.find("listener raised", {"error": "RuntimeError: listener bug"})


async def test_a_raising_listener_shows_on_the_console_as_in_a_browser(
    org: Omnichannel, caplog: pytest.LogCaptureFixture
) -> None:
    widget = org.widget(OPEN)

    def onQueued(event: CustomEvent) -> None:
        raise NameError("name 'sesion' is not defined")

    widget.on("lcw:chatQueued", onQueued)
    await widget.load()
    with caplog.at_level("WARNING", logger="lcw_emulator"):
        await widget.sdk.startChat()
    [record] = caplog.records
    assert record.name == "lcw_emulator.widget" and record.levelname == "ERROR"
    first, *trace = record.getMessage().splitlines()
    assert first == (
        "an event listener raised NameError: name 'sesion' is not defined "
        "(the widget goes on, as a browser does)"
    )
    assert trace[0] == "Traceback (most recent call last):"
    assert "in onQueued" in "\n".join(trace)
    assert trace[-1] == "NameError: name 'sesion' is not defined"
    # Text only: a kept record must not keep the widget alive through the exception's frames.
    assert record.exc_info is None
    assert all(isinstance(arg, str) for arg in record.args or ())


def test_a_listener_for_a_misspelt_event_is_warned_about(
    org: Omnichannel, caplog: pytest.LogCaptureFixture
) -> None:
    widget = org.widget(OPEN)
    with caplog.at_level("WARNING", logger="lcw_emulator"):
        widget.on("lcw:chatqueued", lambda: None)
        widget.on("lcw:chatQueued", lambda: None)
        widget.on("my-own-event", lambda: None)
    assert [record.getMessage() for record in caplog.records] == [
        "a listener for 'lcw:chatqueued', an event the widget never fires "
        "(did you mean 'lcw:chatQueued'?)"
    ]


async def test_a_pages_own_error_listener_hears_failures_the_timeline_records(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    heard: list[BaseException] = []
    widget.on("error", heard.append)

    def broken() -> None:
        raise ValueError("sync listener bug")

    widget.on("lcw:ready", broken)
    await widget.load()
    assert (
        [str(e) for e in heard] == ["sync listener bug"] == [str(e) for e in widget.handler_errors]
    )
    assert widget.timeline.find("listener raised", {"error": "ValueError: sync listener bug"})
    assert widget.is_ready


async def test_an_error_listener_that_raises_is_recorded_not_called_again(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    calls: list[str] = []

    def clumsy(error: BaseException) -> None:
        calls.append(str(error))
        raise RuntimeError("error listener bug")

    def broken() -> None:
        raise ValueError("ready listener bug")

    widget.on("error", clumsy)
    widget.on("lcw:ready", broken)
    await widget.load()
    assert calls == ["ready listener bug"]
    assert [str(e) for e in widget.handler_errors] == ["ready listener bug", "error listener bug"]

    def also_broken() -> None:
        raise KeyError("minimize listener bug")

    widget.on("lcw:onMinimize", also_broken)
    widget.minimize()  # the page's error listener hears the next failure again
    assert widget.is_ready and widget.minimized
    assert calls == ["ready listener bug", "'minimize listener bug'"]
    assert len(widget.handler_errors) == 4


async def test_pyee_listener_bookkeeping_works_on_the_widgets_plain_tables(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    announced: list[str] = []
    heard: list[str] = []
    widget.on("new_listener", lambda event, listener: announced.append(event))

    def first() -> None:
        heard.append("first")

    def second() -> None:
        heard.append("second")

    widget.on("lcw:onMinimize", first)
    widget.once("lcw:onMinimize", second)
    assert announced == ["lcw:onMinimize", "lcw:onMinimize"]
    assert widget.listeners("lcw:onMinimize") == [first, second]
    await widget.load()
    widget.minimize()
    widget.maximize()
    widget.minimize()
    assert heard == ["first", "second", "first"]
    widget.remove_listener("lcw:onMinimize", first)
    assert widget.listeners("lcw:onMinimize") == []
    widget.on("lcw:onMaximize", first)
    widget.remove_all_listeners("lcw:onMaximize")
    widget.maximize()
    assert heard == ["first", "second", "first"]
    widget.once("lcw:onMaximize", lambda event: heard.append(event.type))
    for _ in range(2):
        widget.minimize()
        widget.maximize()
    assert heard == ["first", "second", "first", "lcw:onMaximize"]
    assert widget.event_names() >= {"new_listener"}


async def test_the_customer_minimises_and_maximises_only_a_widget_on_the_page(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    with pytest.raises(ChatStateError, match="cannot minimise the widget: it has not loaded"):
        widget.minimize()
    await widget.load()
    widget.maximize()  # open already: nothing to announce
    widget.minimize()
    widget.minimize()  # minimised already
    widget.maximize()
    assert widget.timeline.event_names() == ["lcw:ready", "lcw:onMinimize", "lcw:onMaximize"]
    assert widget.timeline.find("widget already open: nothing fires")
    assert widget.timeline.find("widget already minimised: nothing fires")
    failed = org.widget(OPEN, load_failure="CDN down")
    with pytest.raises(LcwError):
        await failed.load()
    with pytest.raises(ChatStateError, match="cannot maximise the widget: it failed to load"):
        failed.maximize()
    assert failed.timeline.event_names() == ["lcw:error"]


async def test_reload_retrieves_the_chat_in_progress(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat()
    await widget.reload()
    assert widget.session is session
    assert widget.timeline.event_names()[-2:] == ["lcw:ready", "lcw:chatRetrieved"]
    await widget.sdk.closeChat()
    await widget.reload()
    assert widget.timeline.event_names()[-1] == "lcw:ready"


async def test_a_reload_forgets_what_the_old_pages_scripts_held(org: Omnichannel) -> None:
    # Its queued calls die with it (a chat the new page never asked for must not start),
    # and so do the providers it set; listeners stay, as the new page registers them again.
    widget = org.widget(OPEN)
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})
    pending = widget.sdk.startChat()
    await widget.reload()
    assert pending.cancelled() and widget.session is None
    assert "lcw:startChat" not in widget.timeline.event_names()
    dropped = widget.timeline.find("queued call dropped: the page reloaded")
    assert [entry.detail["method"] for entry in dropped] == ["setContextProvider", "startChat"]
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "2"})
    widget.sdk.startProactiveChat({"message": "Hi"})
    await widget.reload()
    assert widget.context_provider is None and widget.proactive_invitation is None

    @widget.on("lcw:ready")
    def set_again() -> None:
        widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "3"})

    await widget.reload()  # the listener sets it again, as the reloaded page would
    assert (await widget.sdk.startChat()).context == {"msdyn_cartvalue": 3}


async def test_a_start_after_a_reload_without_a_provider_says_the_reload_cleared_it(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = org.widget(contoso)
    await widget.load()
    widget.sdk.setAuthTokenProvider(static_token(sample_token()))
    await widget.reload()
    [cleared] = widget.timeline.find("providers cleared: the page reloaded")
    assert cleared.detail == {"providers": ["authTokenProvider"]}
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert caught.value.code == 8
    assert "note: a page reload cleared the provider the old page had set" in caught.value.reason
    widget.sdk.setAuthTokenProvider(static_token(sample_token()))  # the new page sets it...
    widget.sdk.removeAuthTokenProvider()  # ...and takes it away itself
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert caught.value.code == 8 and "page reload" not in caught.value.reason


async def test_a_reload_after_a_failed_load_loads_afresh(org: Omnichannel) -> None:
    widget = org.widget(OPEN, load_failure="CDN down")
    with pytest.raises(LcwError):
        await widget.load()
    widget.load_failure = None  # the CDN is back
    await widget.reload()
    assert widget.is_ready and widget.load_error is None
    assert (await widget.sdk.startChat()).state is SessionState.QUEUED


async def test_a_reload_during_the_replay_ends_it(org: Omnichannel) -> None:
    widget = org.widget(OPEN)
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})  # a later turn's call
    loading = asyncio.ensure_future(widget.load())
    await next_turn()  # the replay started the chat and waits a turn
    await widget.reload()
    await loading
    assert widget.context_provider is None  # dropped, not replayed after all
    replayed = [e.detail["method"] for e in widget.timeline.find("replaying queued call")]
    assert replayed == ["startChat"]
    assert [
        e.detail["method"] for e in widget.timeline.find("queued call dropped: the page reloaded")
    ] == ["setContextProvider"]
    with contextlib.suppress(LcwError):
        await pending


async def test_a_chat_start_in_flight_at_a_reload_completes_and_says_so(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    widget.sdk.setContextProvider(slow_context(widget, 5))
    starting = widget.sdk.startChat()
    await asyncio.sleep(0)  # the start waits for its context
    await widget.reload()
    assert widget.timeline.find("chat start in flight at the reload: it completes")
    session = await starting
    assert session.context == {"msdyn_cartvalue": 5}


async def test_failures_are_told_by_their_first_real_error_everywhere(
    org: Omnichannel, contoso: WorkStream
) -> None:
    # A provider using a task group (httpx under anyio) fails as an exception group whose
    # own text says nothing; the note and the reason name what failed inside it.
    widget = org.widget(contoso)
    await widget.load()

    async def authTokenProvider(callback: Any) -> None:
        raise ExceptionGroup("unhandled errors in a TaskGroup", [ConnectionResetError()])

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert caught.value.reason == "the provider raised ConnectionResetError"

    def contextProvider() -> dict[str, object]:
        raise ExceptionGroup("unhandled errors in a TaskGroup", [TimeoutError("cart service")])

    public = org.widget(OPEN)
    await public.load()
    public.sdk.setContextProvider(contextProvider)
    with pytest.raises(LcwError) as caught:
        await public.sdk.startChat()
    assert caught.value.reason == "the context provider raised TimeoutError: cart service"

    def listener() -> None:
        raise ExceptionGroup("listeners", [KeyError()])

    public.on("lcw:error", listener)
    public.sdk.setContextProvider(contextProvider)
    with pytest.raises(LcwError):
        await public.sdk.startChat()
    [note] = public.timeline.find("listener raised")
    assert note.detail == {"error": "KeyError"}


async def test_a_queued_setter_does_not_undo_the_provider_a_ready_listener_set(
    org: Omnichannel,
) -> None:
    # The page's order: the queued call first, the listener's after lcw:ready. The later wins.
    widget = org.widget(OPEN)

    def old(callback: Callable[[str], None]) -> None:
        callback("old")

    def new(callback: Callable[[str], None]) -> None:
        callback("new")

    widget.sdk.setAuthTokenProvider(old)
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})
    widget.sdk.removeContextProvider()
    widget.sdk.setBotAuthTokenProvider(print)

    def ready() -> None:
        widget.sdk.setAuthTokenProvider(new)
        widget.sdk.removeContextProvider()

    widget.on("lcw:ready", ready)
    await widget.load()
    assert widget.sdk.getAuthTokenProvider() is new
    assert widget.sdk.getContextProvider() is None
    assert widget.bot_auth_token_provider is print  # nothing set it since: replayed
    notes = [
        (entry.name, dict(entry.detail))
        for entry in widget.timeline.of_kind(EntryKind.NOTE)
        if "queued call" in entry.name
    ]
    assert notes == [
        (
            "queued call overtaken: not replayed",
            {"method": "setAuthTokenProvider", "by": "setAuthTokenProvider"},
        ),
        (
            "queued call overtaken: not replayed",
            {"method": "setContextProvider", "by": "removeContextProvider"},
        ),
        (
            "queued call overtaken: not replayed",
            {"method": "removeContextProvider", "by": "removeContextProvider"},
        ),
        ("replaying queued call", {"method": "setBotAuthTokenProvider"}),
    ]


async def test_a_call_made_during_the_replay_overtakes_a_setter_queued_behind_a_start(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    pending = widget.sdk.startChat()
    await next_turn()
    widget.sdk.setContextProvider(lambda: {"msdyn_cartvalue": "1"})  # queued, a turn later

    def page_now() -> dict[str, str]:
        return {"msdyn_cartvalue": "2"}

    async def page_elsewhere() -> None:
        # Its first step comes after lcw:ready, while the replay waits a turn for the start.
        widget.sdk.setContextProvider(page_now)

    elsewhere = asyncio.ensure_future(page_elsewhere())
    await widget.load()
    await elsewhere
    await pending
    assert widget.sdk.getContextProvider() is page_now
    assert widget.timeline.find("queued call overtaken: not replayed")


async def test_a_chat_the_agent_ended_stays_open_until_the_customer_closes_it(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat()
    session.accept("Alex")
    session.end_by_agent()
    assert not widget.chat_in_progress
    # Still on the page: startChat shows it, no invitation covers it, and the notes say why.
    assert await widget.sdk.startChat() is session
    widget.sdk.startProactiveChat({"message": "Need more help?"})
    assert widget.proactive_invitation is None
    with pytest.raises(ChatStateError, match="showed none: the chat the agent ended is still open"):
        await widget.accept_proactive_chat()
    notes = [entry.name for entry in widget.timeline.of_kind(EntryKind.NOTE)]
    assert notes == [
        "chat ended by the agent still open: the customer closes it first",
        "proactive invitation not shown: the chat the agent ended is still open",
    ]
    await widget.sdk.closeChat()
    assert (await widget.sdk.startChat()) is not session


def test_org_widget_takes_a_work_stream_file_and_refuses_what_is_neither(
    org: Omnichannel,
) -> None:
    from_file = org.widget(str(SCENARIOS / "contoso.toml"))
    assert from_file.work_stream.auth is not None
    assert org.widget(SCENARIOS / "contoso.toml").work_stream == from_file.work_stream
    with pytest.raises(TypeError, match=r"must be a WorkStream, got dict: build one with"):
        org.widget({"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"clock must be a Clock .*got int 1: it has no now"):
        Omnichannel(clock=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got the class VirtualClock: make one"):
        Omnichannel(clock=VirtualClock)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"key_source must be a PublicKeySource .*got int 1"):
        Omnichannel(key_source=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="an empty path names no work stream file"):
        org.widget("")


async def test_an_option_the_sdk_does_not_read_is_noted_with_the_closest(org: Omnichannel) -> None:
    # JavaScript ignores it: a misspelt customContext starts a chat with no context.
    widget = org.widget(OPEN)
    await widget.load()
    session = await widget.sdk.startChat({"customcontext": {"msdyn_cartvalue": "1"}})
    assert session.context == {}
    widget.sdk.startProactiveChat({"messsage": "Hi"}, True, {"inNewWindow": True, "size": 2})
    notes = widget.timeline.find("option the SDK does not read: ignored")
    assert [(e.detail["method"], e.detail["option"], e.detail["closest"]) for e in notes] == [
        ("startChat", "options.customcontext", "customContext"),
        ("startProactiveChat", "notificationUIConfig.messsage", "message"),
        ("startProactiveChat", "options.size", None),
    ]


async def test_start_proactive_chat_takes_in_new_window_in_both_spellings(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    await widget.load()
    for call in (
        lambda: widget.sdk.startProactiveChat({}, True, {"inNewWindow": True}),
        lambda: widget.sdk.start_proactive_chat({}, in_new_window=True),
    ):
        widget.proactive_invitation = None
        call()
        assert widget.proactive_invitation is not None
        assert widget.proactive_invitation.in_new_window
    widget.sdk.start_proactive_chat({})
    assert widget.proactive_invitation is not None
    assert not widget.proactive_invitation.in_new_window
    # Read as JavaScript reads it: an empty list is true there.
    widget.proactive_invitation = None
    widget.sdk.startProactiveChat({}, True, {"inNewWindow": []})
    assert widget.proactive_invitation is not None and widget.proactive_invitation.in_new_window
    await widget.sdk.startChat({"inNewWindow": []})
    assert widget.timeline.find("startChat", {"inNewWindow": True})


async def test_the_provider_a_ready_listener_sets_is_the_one_a_queued_start_reads(
    org: Omnichannel,
) -> None:
    # The listener's call is the page's later one: it wins for the queued start too.
    widget = org.widget(OPEN)
    read: list[str] = []

    def provider(name: str) -> Callable[[], dict[str, str]]:
        def context() -> dict[str, str]:
            read.append(name)
            return {}

        return context

    widget.sdk.setContextProvider(provider("queued"))
    started = widget.sdk.startChat()
    widget.on("lcw:ready", lambda: widget.sdk.setContextProvider(provider("later")))
    await widget.load()
    await started
    assert read == ["later"]
    assert widget.timeline.find("queued call overtaken: not replayed", {"by": "setContextProvider"})


def test_a_chat_start_collected_while_pending_closes_silently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Older pytest-asyncio closes a test's loop with tasks still pending; when the collector
    # then closes their coroutines, no loop runs, and the SDK's task has nothing to report.
    unraisable: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)
    left: list[asyncio.Future[Any]] = []

    async def start_and_leave() -> None:
        widget = Omnichannel(clock=VirtualClock(start=1542622100)).widget(
            SCENARIOS / "contoso.toml"
        )
        await widget.load()
        widget.sdk.setAuthTokenProvider(lambda callback: None)  # never answers
        left.append(asyncio.ensure_future(widget.sdk.startChat()))
        await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(start_and_leave())
    finally:
        loop.close()  # the pending start is neither cancelled nor awaited
    del loop, left[:]
    gc.collect()
    assert unraisable == []


async def test_what_is_no_text_or_no_subscriber_is_refused_before_anything_changes(
    org: Omnichannel,
) -> None:
    widget = org.widget(WorkStream("Open"))
    await widget.load()
    session = await widget.sdk.startChat()
    before = len(widget.timeline)
    for call, why in [
        (lambda: session.subscribe(None), "a session subscriber must be a function to call"),
        (lambda: session.accept(5), "agent must be a string, got int 5"),
        (lambda: session.customer_says(["x"]), "text must be a string, got list ['x']"),
        (lambda: widget.send_message(None), "text must be a string, got NoneType None"),
        (lambda: session.close(5), "reason must be a string, got int 5"),
    ]:
        with pytest.raises(TypeError, match=re.escape(why)):
            call()
    assert (session.state, session.messages, len(widget.timeline)) == (
        SessionState.QUEUED,
        (),
        before,
    )
    with pytest.raises(TypeError, match="text must be a string, got int 42"):
        session.accept("Ann") or session.agent_says(42)
    assert session.messages == ()
    session.agent_says("Hello")  # nothing was left half done: the chat goes on
    assert [m.text for m in session.messages] == ["Hello"]


async def test_a_subscriber_that_raises_does_not_keep_the_change_from_the_others(
    org: Omnichannel,
) -> None:
    widget = org.widget(WorkStream("Open"))
    await widget.load()
    session = await widget.sdk.startChat()
    heard: list[str] = []

    def failing(update: object) -> None:
        raise RuntimeError("the test's subscriber failed")

    session.subscribe(failing)
    session.subscribe(lambda update: heard.append(update.kind))
    seen = len(widget.timeline.events)
    with pytest.raises(RuntimeError, match="the test's subscriber failed"):
        session.accept("Ann")
    # The change stands, and the widget and the subscriber after the failing one heard it.
    assert (session.state, heard) == (SessionState.ACTIVE, ["accepted"])
    assert "lcw:onMessageReceived" in [event.name for event in widget.timeline.events[seen:]]

    def failing_too(update: object) -> None:
        raise ValueError("a second subscriber failed")

    session.subscribe(failing_too)
    with pytest.raises(RuntimeError) as caught:
        session.close()
    assert (session.state, heard) == (SessionState.CLOSED, ["accepted", "closed"])
    assert caught.value.__notes__ == [
        "another subscriber raised too: ValueError: a second subscriber failed"
    ]


async def test_a_message_or_an_acceptance_with_no_chat_for_it_is_a_chat_state_error(
    org: Omnichannel,
) -> None:
    # As a message in a closed chat is: the chat's state, not an SDK method misused.
    widget = org.widget(WorkStream("Open"))
    await widget.load()
    with pytest.raises(ChatStateError, match="no chat to send a message in; start one first"):
        widget.send_message("Hello?")
    with pytest.raises(ChatStateError, match=r"no proactive invitation is shown \(call start"):
        await widget.accept_proactive_chat()


def test_widget_options_and_a_listened_event_type_of_the_wrong_type_are_refused(
    org: Omnichannel,
) -> None:
    with pytest.raises(TypeError, match="strict must be True or False, got str 'no'"):
        org.widget(OPEN, strict="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="load_failure must be the failure's detail"):
        org.widget(OPEN, load_failure=7)  # type: ignore[arg-type]
    widget = org.widget(OPEN)
    with pytest.raises(TypeError, match=r"event type must be a name .*got NoneType None"):
        widget.addEventListener(None, lambda: None)  # type: ignore[arg-type]
    assert widget.listeners("None") == [] and widget.event_names() == set()


def test_a_test_s_own_entry_takes_its_kind_by_name_and_refuses_what_would_break_reads(
    org: Omnichannel,
) -> None:
    widget = org.widget(OPEN)
    widget.record("note", "page rendered")
    assert [(entry.kind, entry.name) for entry in widget.timeline] == [
        (EntryKind.NOTE, "page rendered")
    ]
    with pytest.raises(ValueError, match=r"kind 'notes' is not an entry kind \(known: 'sdk'"):
        widget.record("notes", "page rendered")
    with pytest.raises(TypeError, match="an entry kind must be an EntryKind or its value"):
        widget.record(5, "page rendered")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="entry's time must be a number of seconds, got str"):
        widget.timeline.record("soon", EntryKind.NOTE, "later")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="entry's time must be a finite number of seconds"):
        widget.timeline.record(math.nan, EntryKind.NOTE, "later")
    with pytest.raises(ValueError, match="entry's time must be a finite number of seconds"):
        widget.timeline.record(10**400, EntryKind.NOTE, "later")  # past a float: infinite
    widget.timeline.record(Decimal(5), EntryKind.NOTE, "later")  # type: ignore[arg-type]
    assert [entry.at for entry in widget.timeline][1:] == [5.0]
    assert len(widget.timeline) == 2 and "page rendered" in widget.timeline.format()
