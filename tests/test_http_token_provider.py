"""End to end: a real HTTP token endpoint on loopback, the page's provider calling it, a chat start.

Everything runs on the virtual clock except the socket: the provider holds the
clock while it waits, so the work stream's 10 s provider timeout counts only
virtual time and a pending timer cannot fire during real I/O.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from loopback import LoopbackEndpoint, closed_port_url, loopback_endpoint

from lcw_emulator import ErrorCode, LcwError, Omnichannel, VirtualClock, Widget, WorkStream
from lcw_emulator.http_token_provider import http_token_provider

START = 1542622100  # inside the documentation's sample token window


@pytest.fixture
def endpoint(clock: VirtualClock) -> Iterator[LoopbackEndpoint]:
    with loopback_endpoint(clock) as served:
        yield served


@pytest.fixture
async def widget(org: Omnichannel, contoso: WorkStream) -> Widget:
    widget = org.widget(contoso)
    await widget.load()
    return widget


async def start_failing(widget: Widget) -> LcwError:
    with pytest.raises(LcwError) as failed:
        await widget.sdk.startChat()
    return failed.value


async def test_a_chat_starts_with_the_token_from_a_real_endpoint(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    sample_token: Callable[..., str],
) -> None:
    endpoint.body = json.dumps({"token": sample_token()})
    endpoint.delay = 0.2  # real seconds on the socket, while a virtual timer is due in 1 s
    sleeper = asyncio.ensure_future(clock.sleep(1))
    widget.sdk.setAuthTokenProvider(
        http_token_provider(
            endpoint.url("/token"),
            clock=clock,
            json={"user": "87b4d06c-abc2-e811-a9b0-000d3a10e09e", "cart": 10000},
            headers={"X-Page": "contoso"},
        )
    )
    session = await widget.sdk.startChat()

    assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}
    assert session.customer_id == "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
    # The page's request, as the service saw it, at virtual time START.
    (request,) = endpoint.requests
    assert (request.method, request.path, request.at) == ("POST", "/token", START)
    assert json.loads(request.body) == {
        "user": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
        "cart": 10000,
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Page"] == "contoso"
    # No virtual time passed for the real I/O, and the pending timer did not fire across it.
    assert clock.now() == START
    assert not sleeper.done()
    assert [entry.at for entry in widget.timeline] == [START] * len(widget.timeline)
    names = [entry.name for entry in widget.timeline]
    assert names[names.index("startChat") :] == [
        "startChat",
        "lcw:startChat",
        "auth token provider called",
        "auth token callback",
        "chat session created",
        "lcw:chatQueued",
    ]
    await sleeper
    assert clock.now() == START + 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "{token}"),
        ("text/plain", "\ufeff{token}"),  # a byte order mark, which fetch's text() drops
        ("application/jwt", "{token}"),
        ("application/json", '"{token}"'),
        ("Application/JSON; charset=utf-8", '{{"token": "{token}"}}'),  # media types ignore case
    ],
)
async def test_the_token_may_come_as_text_or_a_json_string(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    sample_token: Callable[..., str],
    content_type: str,
    body: str,
) -> None:
    endpoint.content_type = content_type
    endpoint.body = body.format(token=sample_token())
    widget.sdk.setAuthTokenProvider(http_token_provider(endpoint.url(), clock=clock, method="GET"))
    session = await widget.sdk.startChat()
    assert session.authenticated
    assert endpoint.requests[0].method == "GET"


async def test_a_text_token_is_taken_as_the_page_takes_it_trailing_newline_too(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    sample_token: Callable[..., str],
) -> None:
    # response.text() keeps a newline the token service ends its answer with.
    endpoint.content_type = "text/plain"
    endpoint.body = sample_token() + "\n"
    widget.sdk.setAuthTokenProvider(http_token_provider(endpoint.url(), clock=clock, method="GET"))
    with pytest.raises(LcwError) as refused:
        await widget.sdk.startChat()
    assert refused.value.code is ErrorCode.INVALID_AUTH_TOKEN
    assert refused.value.reason is not None and refused.value.reason.endswith(
        "the token starts or ends with whitespace (a trailing newline?), which the widget "
        "hands over as the page gave it"
    )


async def test_a_custom_token_field(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    sample_token: Callable[..., str],
) -> None:
    endpoint.body = json.dumps({"jwt": sample_token(), "expires_in": 3600})
    widget.sdk.setAuthTokenProvider(
        http_token_provider(endpoint.url(), clock=clock, token_field="jwt")
    )
    assert (await widget.sdk.startChat()).authenticated
    # The default field is "token": its absence is reported with what was there.
    widget.sdk.setAuthTokenProvider(http_token_provider(endpoint.url(), clock=clock))
    await widget.sdk.closeChat()
    error = await start_failing(widget)
    assert error.code is ErrorCode.AUTH_PROVIDER_FAILED
    assert "the JSON response has no 'token' field (fields: 'jwt', 'expires_in')" in error.reason


async def test_an_error_status_is_code_2_with_the_status_and_body(
    endpoint: LoopbackEndpoint, widget: Widget, clock: VirtualClock
) -> None:
    endpoint.status = 503
    endpoint.content_type = "text/plain"
    endpoint.body = "token service down for maintenance"
    widget.sdk.setAuthTokenProvider(http_token_provider(endpoint.url("/token"), clock=clock))
    error = await start_failing(widget)
    assert error.code is ErrorCode.AUTH_PROVIDER_FAILED
    assert error.reason == (
        f"the provider raised TokenEndpointError: POST {endpoint.url('/token')} answered "
        "HTTP 503: token service down for maintenance"
    )
    assert widget.timeline.events[-1].detail["errorCode"] == 2


async def test_a_token_the_service_refuses_is_code_4(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    sample_token: Callable[..., str],
) -> None:
    endpoint.body = json.dumps({"token": sample_token(iss="someone-else.example")})
    widget.sdk.setAuthTokenProvider(http_token_provider(endpoint.url(), clock=clock))
    error = await start_failing(widget)
    assert error.code is ErrorCode.INVALID_AUTH_TOKEN
    assert "issuer 'someone-else.example' is not the configured issuer" in error.reason


async def test_an_endpoint_nobody_listens_on_is_code_2(widget: Widget, clock: VirtualClock) -> None:
    url = closed_port_url()
    widget.sdk.setAuthTokenProvider(http_token_provider(url, clock=clock))
    error = await start_failing(widget)
    assert error.code is ErrorCode.AUTH_PROVIDER_FAILED
    assert error.reason.startswith(
        f"the provider raised TokenEndpointError: POST {url} could not be reached (ConnectError: "
    )
    assert clock.now() == START


@pytest.mark.parametrize(
    ("url", "failure"),
    [
        ("localhost:8000/token", "UnsupportedProtocol: "),
        ("https://256.1.1.1/token", "InvalidURL: Invalid IPv4 address"),
        ("https://xn--a.example/token", "InvalidCodepoint: "),  # idna, under httpx
        ("http://[::1]:99999/token", "OverflowError: "),  # the socket's, in a task group
    ],
)
async def test_a_url_httpx_cannot_use_is_code_2_naming_it(
    widget: Widget, clock: VirtualClock, url: str, failure: str
) -> None:
    widget.sdk.setAuthTokenProvider(http_token_provider(url, clock=clock))
    error = await start_failing(widget)
    assert error.code is ErrorCode.AUTH_PROVIDER_FAILED
    assert f"POST {url} could not be reached ({failure}" in error.reason


async def test_a_hung_endpoint_never_calls_back_code_3_in_virtual_time(
    endpoint: LoopbackEndpoint,
    widget: Widget,
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint.delay = 0.5
    widget.sdk.setAuthTokenProvider(
        http_token_provider(endpoint.url(), clock=clock, timeout=0.1)  # real seconds
    )
    with caplog.at_level(logging.WARNING, logger="lcw_emulator"):
        error = await start_failing(widget)
    assert error.code is ErrorCode.NO_AUTH_TOKEN
    assert error.reason == "the provider did not call back within 10 s"
    assert clock.now() == START + 10  # the widget's timeout passed on the virtual clock
    # As a browser's console shows the failed fetch: what the code 3 came from.
    assert [record.getMessage() for record in caplog.records] == [
        f"POST {endpoint.url()} did not answer within 0.1 s (ReadTimeout): the provider gives "
        "up without calling back, as a hung fetch does"
    ]


async def test_a_shared_client_with_an_in_process_transport(
    widget: Widget, clock: VirtualClock, sample_token: Callable[..., str]
) -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"token": sample_token()})

    async with httpx.AsyncClient(transport=httpx.MockTransport(app)) as client:
        widget.sdk.setAuthTokenProvider(
            http_token_provider("http://tokens.test/token", clock=clock, client=client)
        )
        assert (await widget.sdk.startChat()).authenticated
    assert [str(request.url) for request in seen] == ["http://tokens.test/token"]


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        # Each failed at chat start as the endpoint's code 2, which a test of a refused
        # request would have taken for its own.
        (
            {"url": None},
            "url must be the token endpoint's URL (text or an httpx.URL), got NoneType",
        ),
        ({"clock": None}, "clock must be a Clock (a VirtualClock or a RealClock), got None"),
        ({"json": {"a": object()}}, "json must be what JSON can hold, to send as the body"),
        ({"headers": "x"}, "headers must be what httpx takes as headers (a mapping of names"),
        ({"headers": {"Authorization": 5}}, "headers must be what httpx takes as headers"),
        ({"client": "x"}, "client must be an httpx.AsyncClient (or one like it, with request"),
        ({"timeout": "5"}, "timeout must be a number of seconds, got str '5'"),
        ({"timeout": 0}, "timeout must be above 0 seconds (math.inf: no limit), got 0"),
        ({"token_field": 5}, "token_field must be a field name, got int 5"),
    ],
)
def test_arguments_no_request_could_use_are_refused_when_the_provider_is_made(
    clock: VirtualClock, arguments: dict[str, object], why: str
) -> None:
    given: dict[str, object] = {"url": "http://127.0.0.1:9/token", "clock": clock, **arguments}
    with pytest.raises((TypeError, ValueError)) as caught:
        http_token_provider(**given)  # type: ignore[arg-type]
    assert why in str(caught.value)


def test_a_refused_header_is_named_by_its_type_never_its_credentials(clock: VirtualClock) -> None:
    with pytest.raises(TypeError) as caught:
        http_token_provider("http://127.0.0.1:9/token", clock=clock, headers=["Bearer sk-live-123"])
    assert "got list" in str(caught.value) and "sk-live" not in str(caught.value)


async def test_what_httpx_takes_a_provider_takes_too(
    endpoint: LoopbackEndpoint, clock: VirtualClock, sample_token: Callable[..., str]
) -> None:
    endpoint.body = json.dumps({"token": sample_token()})
    answers: list[object] = []

    class RecordingClient:  # not an AsyncClient: a stand-in with request(), as a mock is
        def __init__(self) -> None:
            self.inner = httpx.AsyncClient()

        async def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
            return await self.inner.request(*args, **kwargs)

    stand_in = RecordingClient()
    for options in (
        {"headers": [("Authorization", "Bearer x")], "params": "user=c"},
        {"timeout": None},
        {"timeout": float("inf")},  # no limit, as None is
        {"client": stand_in},
    ):
        provider = http_token_provider(httpx.URL(endpoint.url("/token")), clock=clock, **options)
        await provider(answers.append)
    await stand_in.inner.aclose()
    assert answers == [sample_token()] * 4
    assert endpoint.requests[0].headers["Authorization"] == "Bearer x"
    assert endpoint.requests[0].path == "/token?user=c"
