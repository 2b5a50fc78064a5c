"""The documentation's JavaScript against the emulator: the bridge, the serve command, Chromium.

The bridge tests speak the shim's protocol from Python (aiohttp's test client),
so they are fast and need no browser. The browser tests drive Debian's
``/usr/bin/chromium`` with Playwright (never a downloaded browser); without it
they skip locally with a message, and fail when the ``CI`` variable is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, AppRunner, TCPSite

from lcw_emulator import (
    ChatAuthSettings,
    ContextVariable,
    LcwEvent,
    Omnichannel,
    SessionState,
    VariableType,
    VirtualClock,
    Widget,
    WorkStream,
)
from lcw_emulator.browser import describe_session
from lcw_emulator.browser.server import BRIDGES, make_app, static_text
from lcw_emulator.cli import main
from lcw_emulator.clock import Clock, RealClock
from lcw_emulator.commands.serve import docs_sample_work_stream

# The documentation's sample token is HS256 with jwt.io's 19-byte example secret;
# PyJWT warns about the length on every check, which says nothing new here.
pytestmark = pytest.mark.filterwarnings("ignore:The HMAC key is:UserWarning")

SAMPLE_START = 1542622100  # inside the sample token's window (nbf 1542622072, exp 1542625672)
SAMPLE_EXP = 1542625672
REFERENCE = Path("/work/shared/reference/setAuthTokenProvider.md")
SAMPLE_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4N2I0ZDA2Yy1hYmMyLWU4MTEtYTliMC0wMDBkM2Ex"
    "MGUwOWUiLCJsd2ljb250ZXh0cyI6IntcIm1zZHluX2NhcnR2YWx1ZVwiOlwiMTAwMDBcIiwgXCJtc2R5bl9pc3Zp"
    "cFwiOlwiZmFsc2VcIn0iLCJpYXQiOjE1NDI2MjIwNzEsImlzcyI6ImNvbnRvc29oZWxwLmNvbSIsImV4cCI6MTU0Mj"
    "YyNTY3MiwibmJmIjoxNTQyNjIyMDcyfQ.r37z1M5rMyRYMOJ-rhyTRYFOgvl9N7KvTMueSFPkiuM"
)
# The documentation's JavaScript (its indentation uses no-break spaces; compared as spaces).
DOCUMENTED_SAMPLE = "\n".join(
    [
        "let payloadToEncrypt = {",
        '    "sub" : "87b4d06c-abc2-e811-a9b0-000d3a10e09e",',
        '    "lwicontexts" :"{\\"msdyn_cartvalue\\":\\"10000\\", \\"msdyn_isvip\\":\\"false\\"}",',
        '    "iat" : 1542622071,',
        '    "iss" : "contosohelp.com",',
        '    "exp" : 1542625672,',
        '    "nbf" : 1542622072',
        "};",
        "",
        "function convertToJwtToken(payloadToEncrypt){",
        "    // Ideally, you call your service to convert the payload to a valid JWT token",
        f'    return Promise.resolve("{SAMPLE_TOKEN}");',
        "}",
        "",
        'window.addEventListener("lcw:ready", function handleLivechatReadyEvent(){',
        "// Sets the auth-token provider",
        "// Throws error if authTokenProvider is not a function",
        "    convertToJwtToken(payloadToEncrypt).then(function (jwtToken){",
        "        Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider("
        "function authTokenProvider(callback){",
        "            callback(jwtToken);",
        "        });",
        "    });",
        "});",
    ]
)
SAMPLE_CONTEXT = {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}


@pytest.fixture(scope="module")
def docs_work_stream() -> WorkStream:
    return WorkStream.from_toml(docs_sample_work_stream())


def demo_sample() -> str:
    match = re.search(
        r'<script id="documentation-sample">\n(.*?)\n</script>', static_text("demo.html"), re.S
    )
    assert match, "demo.html must hold the sample in <script id=documentation-sample>"
    return match.group(1)


# -- the page and the sample --------------------------------------------------


def test_demo_page_holds_the_documented_sample_verbatim() -> None:
    sample = demo_sample()
    assert sample.replace("\xa0", " ") == DOCUMENTED_SAMPLE
    if REFERENCE.exists():  # byte for byte, no-break spaces included, where the docs are at hand
        documented = re.search(r"```JavaScript\n(.*?)\n```", REFERENCE.read_text(), re.S)
        assert documented is not None
        assert sample == documented.group(1)
    # The only script the page adds before the sample is the shim's.
    head = static_text("demo.html").split('<script id="documentation-sample">')[0]
    assert re.findall(r"<script[^>]*>", head) == ['<script src="shim.js">']


def test_shim_defines_every_documented_method() -> None:
    shim = static_text("shim.js")
    for method in (
        "setContextProvider",
        "getContextProvider",
        "removeContextProvider",
        "setAuthTokenProvider",
        "getAuthTokenProvider",
        "removeAuthTokenProvider",
        "startChat",
        "closeChat",
        "getAgentAvailability",
        "startProactiveChat",
        "setBotAuthTokenProvider",
    ):
        assert re.search(rf"^    {method}: function", shim, re.M), method


def test_the_sample_token_is_valid_for_the_bundled_work_stream(
    docs_work_stream: WorkStream,
) -> None:
    org = Omnichannel(clock=VirtualClock(start=SAMPLE_START))
    judgement = org.judge_token(docs_work_stream, SAMPLE_TOKEN)
    assert judgement.valid, judgement.error
    assert judgement.resolution.values == SAMPLE_CONTEXT
    tampered = SAMPLE_TOKEN[:-2] + ("A" if SAMPLE_TOKEN[-2] != "A" else "B") + SAMPLE_TOKEN[-1]
    assert org.judge_token(docs_work_stream, tampered).verdict.claim == "signature"


# -- the bridge protocol, spoken from Python ----------------------------------


class ScriptedPage:
    """A stand-in for shim.js on the other end of the WebSocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def send(self, **message: Any) -> None:
        await self.socket.send_json(message)

    async def next(self, message_type: str, **expected: Any) -> dict[str, Any]:
        """The next message of that type (with these fields); everything read is kept."""
        while True:
            message = await asyncio.wait_for(self.socket.receive_json(), 5)
            self.seen.append(message)
            if message["type"] == message_type and all(
                message.get(k) == v for k, v in expected.items()
            ):
                return message

    async def call(self, method: str, *args: Any) -> int:
        call_id = next(self._ids)
        await self.send(type="call", id=call_id, method=method, args=list(args))
        return call_id

    async def result(self, call_id: int) -> dict[str, Any]:
        return await self.next("result", id=call_id)

    def events(self) -> list[tuple[str, Any]]:
        return [(m["name"], m["detail"]) for m in self.seen if m["type"] == "event"]

    def timeline(self) -> list[dict[str, Any]]:
        return [entry for m in self.seen if m["type"] == "timeline" for entry in m["entries"]]


def provider(name: str = "authTokenProvider", handle: str = "p1") -> dict[str, str]:
    return {"$provider": handle, "name": name}


@pytest.fixture
async def served() -> AsyncIterator[Callable[..., Any]]:
    """Serve a work stream on a fresh org; yields ``open(work_stream, clock) -> (app, page)``."""
    clients: list[TestClient[Any, Any]] = []

    async def open_page(
        work_stream: WorkStream, clock: Clock, **options: Any
    ) -> tuple[Application, ScriptedPage]:
        app = make_app(Omnichannel(clock=clock), work_stream, **options)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        page = ScriptedPage(await client.ws_connect("/lcw"))
        return app, page

    yield open_page
    for client in clients:
        await client.close()


async def start_sample_chat(page: ScriptedPage, token: object = SAMPLE_TOKEN) -> dict[str, Any]:
    """The sample's steps: load, set the provider after lcw:ready, start a chat, call back."""
    hello = await page.next("hello")
    await page.send(type="load")
    await page.next("event", name="lcw:ready")
    await page.call("setAuthTokenProvider", provider())
    start = await page.call("startChat")
    request = await page.next("provide", kind="auth", handle="p1")
    await page.send(type="callback", request=request["request"], args=[token])
    await page.send(type="returned", request=request["request"], value=None)
    result = await page.result(start)
    result["hello"] = hello
    return result


async def test_the_sample_over_the_bridge(served: Any, docs_work_stream: WorkStream) -> None:
    app, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    result = await start_sample_chat(page)
    assert result["hello"]["workStream"] == docs_work_stream.name
    assert result["hello"]["clock"]["now"] == SAMPLE_START
    assert result["ok"], result
    session = result["value"]
    assert session["context"] == SAMPLE_CONTEXT
    assert session["state"] == "queued" and session["queue"] == "General"
    assert session["customerId"] == "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
    assert page.events() == [("lcw:ready", None), ("lcw:startChat", None), ("lcw:chatQueued", None)]
    # The page saw the whole Python timeline, in order.
    widget = app[BRIDGES][0].widget
    assert [(e["kind"], e["name"]) for e in page.timeline()] == [
        (e.kind.value, e.name) for e in widget.timeline
    ]
    assert widget.timeline.find("setAuthTokenProvider", {"provider": "authTokenProvider"})


async def test_an_expired_token_is_error_4_over_the_bridge(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_EXP))
    result = await start_sample_chat(page)
    assert not result["ok"]
    assert result["error"]["code"] == 4
    name, detail = page.events()[-1]
    assert name == "lcw:error"
    assert detail["errorCode"] == 4
    assert detail["errorDescription"] == "Auth token provider provided invalid token"
    assert "expired at exp 1542625672" in detail["reason"]


async def test_the_sample_token_is_refused_by_an_rs256_work_stream(
    served: Any, contoso: WorkStream
) -> None:
    _, page = await served(contoso, VirtualClock(start=SAMPLE_START))
    result = await start_sample_chat(page)
    assert result["error"]["code"] == 4
    assert "alg 'HS256' is not allowed for this work stream" in result["error"]["reason"]


async def test_a_page_provider_that_throws_is_error_2(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    await page.send(type="load")
    await page.call("setAuthTokenProvider", provider())
    await page.call("startChat")
    request = await page.next("provide", kind="auth")
    await page.send(type="threw", request=request["request"], error="TypeError: fetch failed")
    error = await page.next("event", name="lcw:error")
    assert error["detail"]["errorCode"] == 2
    # In the page's words: no Python class of ours between "raised" and the page's error.
    assert error["detail"]["reason"] == "the provider raised TypeError: fetch failed"


async def test_a_page_callback_with_nothing_is_error_3(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    result = await start_sample_chat(page, token=None)
    assert result["error"]["code"] == 3
    assert page.events()[-1][1]["errorCode"] == 3


async def test_the_virtual_clock_waits_for_the_page(
    served: Any, docs_work_stream: WorkStream
) -> None:
    # Without the bridge's hold, auto-jump would see an idle loop while the page
    # thinks and skip straight past the 10 s provider timeout.
    clock = VirtualClock(start=SAMPLE_START)
    _, page = await served(docs_work_stream, clock)
    await page.send(type="load")
    await page.call("setAuthTokenProvider", provider())
    start = await page.call("startChat")
    request = await page.next("provide", kind="auth")
    await asyncio.sleep(0.05)  # the page's token service takes real time
    assert clock.now() == SAMPLE_START
    await page.send(type="callback", request=request["request"], args=SAMPLE_TOKEN)
    assert (await page.next("protocol-error"))["reason"].startswith(
        "a callback's args must be an array, got 'eyJ"
    )  # the request stays open for a callback that is one
    await page.send(type="callback", request=request["request"], args=[SAMPLE_TOKEN])
    result = await page.result(start)
    assert result["ok"], result
    assert clock.now() == SAMPLE_START


async def test_a_page_that_never_calls_back_times_out_as_error_3(served: Any) -> None:
    work_stream = WorkStream(
        "slow page",
        auth=ChatAuthSettings(algorithms=("HS256",), secret="s" * 32, provider_timeout=0.2),
    )
    clock = VirtualClock(start=SAMPLE_START)
    _, page = await served(work_stream, clock)
    await page.send(type="load")
    await page.call("setAuthTokenProvider", provider())
    start = await page.call("startChat")
    began = time.perf_counter()
    request = await page.next("provide", kind="auth")
    await page.send(type="returned", request=request["request"], value="a token, returned")
    result = await page.result(start)
    # The clock was held for the page's 0.2 wall seconds, then the timeout ran on it.
    assert time.perf_counter() - began >= 0.15
    assert result["error"]["code"] == 3
    assert "did not call back within 0.2 s" in result["error"]["reason"]
    assert "returned 'a token, returned' instead" in result["error"]["reason"]
    assert clock.now() == pytest.approx(SAMPLE_START + 0.2)


async def test_calls_before_ready_are_queued_and_replayed(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    await page.call("setAuthTokenProvider", provider())
    start = await page.call("startChat")
    await page.send(type="load")
    request = await page.next("provide", kind="auth")
    await page.send(type="callback", request=request["request"], args=[SAMPLE_TOKEN])
    assert (await page.result(start))["ok"]
    names = [(e["kind"], e["name"], e["detail"].get("queued")) for e in page.timeline()]
    assert names[:3] == [
        ("sdk", "setAuthTokenProvider", True),
        ("sdk", "startChat", True),
        ("event", "lcw:ready", None),
    ]


async def test_queued_calls_wait_for_the_pages_ready_listeners_when_it_says_it_will_tell(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START), page_timeout=0.2)
    start = await page.call("startChat")
    await page.send(type="load", readyAck=True)
    await page.next("event", name="lcw:ready")
    # The page's listener sets the provider, then says its listeners ran: the start reads it.
    await page.send(
        type="batch",
        messages=[
            {"type": "call", "id": 50, "method": "setAuthTokenProvider", "args": [provider()]},
            {"type": "ready-dispatched"},
        ],
    )
    request = await page.next("provide", kind="auth")
    await page.send(type="callback", request=request["request"], args=[SAMPLE_TOKEN])
    assert (await page.result(start))["ok"]
    # A page that never says so holds the replay no longer than page_timeout (wall seconds).
    _, silent = await served(docs_work_stream, VirtualClock(start=SAMPLE_START), page_timeout=0.2)
    start = await silent.call("startChat")
    began = time.monotonic()
    await silent.send(type="load", readyAck=True)
    failed = await silent.result(start)
    assert 0.15 < time.monotonic() - began < 5, failed
    assert [e["name"] for e in silent.timeline()].count("lcw:error") == 1  # code 8, no provider


async def test_context_provider_over_the_bridge(served: Any) -> None:
    work_stream = WorkStream(
        "unauthenticated", (ContextVariable("msdyn_cartvalue", VariableType.NUMBER),)
    )
    _, page = await served(work_stream, VirtualClock(start=SAMPLE_START))
    await page.send(type="load")
    await page.call("setContextProvider", provider("contextProvider", "p7"))
    start = await page.call("startChat")
    request = await page.next("provide", kind="context", handle="p7")
    await page.send(
        type="returned",
        request=request["request"],
        value={"msdyn_cartvalue": {"value": "250", "isDisplayable": True}, "note": "hi"},
    )
    session = (await page.result(start))["value"]
    assert session["context"] == {"msdyn_cartvalue": 250, "note": "hi"}
    assert session["created"] == ["note"]
    assert session["contextSource"] == "contextProvider"
    # A provider that throws in the page is error 1.
    await page.call("closeChat")
    await page.next("event", name="lcw:onClose")
    again = await page.call("startChat")
    request = await page.next("provide", kind="context")
    await page.send(type="threw", request=request["request"], error="Error: no cart")
    assert (await page.result(again))["error"]["code"] == 1
    assert page.events()[-1][1]["errorCode"] == 1


async def test_sdk_answers_and_refusals_over_the_bridge(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    await page.send(type="load")
    # Something that is not a function is refused as the real SDK refuses it (no code).
    refused = await page.result(await page.call("setAuthTokenProvider", "not a function"))
    assert refused["ok"] is False
    assert refused["error"]["name"] == "SdkUsageError" and refused["error"]["code"] is None
    assert (await page.result(await page.call("getAuthTokenProvider")))["value"] is None
    await page.call("setAuthTokenProvider", provider("myProvider"))
    got = await page.result(await page.call("getAuthTokenProvider"))
    assert got["value"] == "myProvider"
    availability = await page.result(await page.call("getAgentAvailability"))
    assert availability["value"]["isAgentAvailable"] is True
    assert page.events()[-1] == ("lcw:getAgentAvailability", availability["value"])
    await page.call("startProactiveChat", {"message": "Need help?"}, False)
    unknown = await page.result(await page.call("renderChatWidget"))
    assert unknown["ok"] is False and "renderChatWidget" in unknown["error"]["reason"]
    await page.socket.send_str("not json")
    assert "JSON" in (await page.next("protocol-error"))["reason"]
    await page.send(type="callback", request=99, args=["x"])
    assert "99" in (await page.next("protocol-error"))["reason"]


async def test_a_malformed_message_is_a_protocol_error_and_the_page_stays(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(docs_work_stream, VirtualClock(start=SAMPLE_START))
    await page.send(type="load")
    await page.next("event", name="lcw:ready")
    for method in (["startChat"], {"name": "startChat"}):
        refused = await page.result(await page.call(method))  # type: ignore[arg-type]
        assert refused["ok"] is False and "no SDK method" in refused["error"]["reason"]
    await page.socket.send_str("[" * 100_000 + "]" * 100_000)  # too deep for json to read
    assert "one JSON object" in (await page.next("protocol-error"))["reason"]
    answered = await page.result(await page.call("getAgentAvailability"))
    assert answered["ok"] is True  # the same connection still works
    # JSON.stringify never writes NaN or Infinity; echoed back, the page's JSON.parse would throw.
    for text in (
        '{"type": "call", "id": NaN, "method": "getAgentAvailability", "args": []}',
        '{"type": "call", "id": 1e400, "method": "getAgentAvailability", "args": []}',
        '{"type": "call", "id": 7, "method": "startProactiveChat", "args": [{}, -Infinity]}',
    ):
        await page.socket.send_str(text)
        reason = (await page.next("protocol-error"))["reason"]
        assert reason.startswith("a message must be one JSON object as JSON.stringify writes"), (
            reason
        )
        assert "is not JSON" in reason or "is past the largest double" in reason, reason
    await page.send(type="batch", messages="not a list")
    assert "a batch holds a list of at most 1000" in (await page.next("protocol-error"))["reason"]
    await page.send(type="batch", messages=[{"type": "batch", "messages": []}])
    assert "not batches" in (await page.next("protocol-error"))["reason"]


async def asked_to_sign_in(served: Any, work_stream: WorkStream) -> tuple[Widget, Any, Any]:
    """A loaded page whose bot auth token provider the widget has just called."""
    app, page = await served(work_stream, VirtualClock(start=SAMPLE_START))
    await page.send(type="load")
    await page.result(await page.call("setBotAuthTokenProvider", provider("botAuth", "p3")))
    widget: Widget = app[BRIDGES][0].widget
    widget.request_bot_sign_in("https://bot.example/sign-in")
    request = await page.next("provide", kind="bot", handle="p3")
    return widget, page, request


async def test_the_bot_auth_token_provider_reaches_the_page(
    served: Any, docs_work_stream: WorkStream
) -> None:
    widget, page, request = await asked_to_sign_in(served, docs_work_stream)
    assert request["url"] == "https://bot.example/sign-in"
    await page.send(type="callback", request=request["request"], args=[{"show": False}])
    # Messages are handled in order: once a later call is answered, so was the callback.
    await page.result(await page.call("getContextProvider"))
    assert widget.timeline.find("bot auth callback", {"show": False})


async def test_a_load_failure_reaches_the_page_as_error_7(
    served: Any, docs_work_stream: WorkStream
) -> None:
    _, page = await served(
        docs_work_stream, VirtualClock(start=SAMPLE_START), load_failure="storage disabled"
    )
    await page.send(type="load")
    error = await page.next("event", name="lcw:error")
    assert error["detail"]["errorCode"] == 7 and error["detail"]["reason"] == "storage disabled"


async def test_the_server_serves_the_page_and_the_shim(
    served: Any, docs_work_stream: WorkStream
) -> None:
    app = make_app(Omnichannel(clock=VirtualClock(start=SAMPLE_START)), docs_work_stream)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        page = await client.get("/")
        assert page.content_type == "text/html"
        assert "Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider" in await page.text()
        shim = await client.get("/shim.js")
        assert shim.content_type == "application/javascript"
        assert "window.Microsoft.Omnichannel.LiveChatWidget.SDK = SDK" in await shim.text()
        assert (await client.get("/favicon.ico")).status == 204


# -- the serve command ---------------------------------------------------------


def test_serve_without_aiohttp_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lcw_emulator.browser

    # As if aiohttp were not installed: the server module must be imported afresh.
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "lcw_emulator.browser.server", raising=False)
    monkeypatch.delattr(lcw_emulator.browser, "server", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "pip install -e '.[browser]' in the lcw-emulator checkout" in err


def test_serve_refuses_unusable_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err
    assert main(["serve", "--workstream", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml" in err and "Traceback" not in err
    for start in ("nan", "inf"):
        with pytest.raises(SystemExit) as exited:  # argparse's usage error
            main(["serve", "--start", start])
        assert exited.value.code == 2
        assert "must be a finite number" in capsys.readouterr().err


async def test_serve_runs_and_serves_the_shim() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lcw_emulator",
        "serve",
        "--port",
        "0",
        "--start",
        str(SAMPLE_START),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        assert "2018-11-19T10:08:20Z" in line and "Contoso help (documentation sample)" in line
        async with ClientSession() as http, http.get(url.group(0) + "shim.js") as response:
            assert response.status == 200
            assert "LiveChatWidget" in await response.text()
    finally:
        process.terminate()
        await process.wait()


# -- in Chromium ---------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Before the page's scripts run: record every lcw:* event as the page's window sees it.
RECORD_EVENTS = """
window.__seen = [];
for (const name of NAMES) {
  window.addEventListener(name, (event) => window.__seen.push({
    type: event.type, custom: event instanceof CustomEvent, detail: event.detail,
  }));
}
""".replace("NAMES", json.dumps(sorted(event.value for event in LcwEvent)))


def require_chromium() -> None:
    """Skip locally without Chromium or Playwright; in CI, fail instead."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "Playwright's Python package is missing (pip install -e '.[dev]')"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run the browser tests (.ci/run installs Chromium)")
    pytest.skip(f"{missing}; the browser tests never download a browser")


def test_missing_chromium_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="never download a browser"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_chromium()


@pytest.fixture
async def live_server() -> AsyncIterator[Callable[..., Any]]:
    """Serve on 127.0.0.1, an ephemeral port; yields ``serve(work_stream, clock) -> (url, app)``."""
    runners: list[AppRunner] = []

    async def serve(
        work_stream: WorkStream, clock: Clock, **options: Any
    ) -> tuple[str, Application]:
        app = make_app(Omnichannel(clock=clock), work_stream, **options)
        # A page that does not leave must not hold the test for aiohttp's default 60 s.
        runner = AppRunner(app, shutdown_timeout=2.0)
        await runner.setup()
        runners.append(runner)
        await TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/", app

    yield serve
    for runner in runners:
        await runner.cleanup()


BROWSER_TEST_LIMIT = 30.0  # seconds; each browser test takes about 1.5 s


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=15_000
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_demo(chromium: Any, url: str) -> tuple[Any, list[str]]:
    page = await chromium.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    await page.add_init_script(RECORD_EVENTS)
    await page.goto(url)
    return page, problems


async def test_chromium_runs_the_documented_sample(
    chromium: Any, live_server: Any, docs_work_stream: WorkStream
) -> None:
    async with asyncio.timeout(BROWSER_TEST_LIMIT):
        # The server as `lcw-emulator serve --start 1542622100` runs it: wall-speed time.
        url, _ = await live_server(docs_work_stream, RealClock(start=SAMPLE_START))
        page, problems = await open_demo(chromium, url)
        await page.wait_for_selector('#context tr[data-variable="msdyn_isvip"]', timeout=10_000)
        seen = await page.evaluate("window.__seen")
        assert [event["type"] for event in seen] == ["lcw:ready", "lcw:startChat", "lcw:chatQueued"]
        assert all(event["custom"] and event["detail"] is None for event in seen)
        # What the class sees: the events, the resolved context, the session.
        events = await page.eval_on_selector_all(
            "#events li", "items => items.map(i => i.textContent)"
        )
        assert events == ["lcw:ready", "lcw:startChat", "lcw:chatQueued"]
        rows = await page.eval_on_selector_all(
            "#context tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
        assert rows == [["msdyn_cartvalue", "10000", "Number"], ["msdyn_isvip", '"false"', "Text"]]
        assert await page.evaluate("window.LcwEmulator.session.context") == SAMPLE_CONTEXT
        assert "queued in queue General" in await page.inner_text("#session")
        assert await page.get_attribute("#status", "data-state") == "queued"
        # The SDK throws in the page where the real one does, before anything reaches Python.
        thrown = await page.evaluate(
            """() => { try { Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider("x"); }
                       catch (error) { return error.name + ": " + error.message; } }"""
        )
        assert thrown.startswith(
            "TypeError: setAuthTokenProvider: authTokenProvider must be a function"
        )
        assert problems == []


async def test_chromium_says_when_the_server_went_away(
    chromium: Any, live_server: Any, docs_work_stream: WorkStream
) -> None:
    async with asyncio.timeout(BROWSER_TEST_LIMIT):
        url, app = await live_server(docs_work_stream, RealClock(start=SAMPLE_START))
        page, problems = await open_demo(chromium, url)
        await page.wait_for_selector('#status[data-state="queued"]')
        await app.shutdown()  # closes every page's socket, as stopping the server does
        await page.wait_for_selector('#status[data-state="disconnected"]')
        assert "went away" in await page.inner_text("#status")
        failed = await page.evaluate(
            """() => Microsoft.Omnichannel.LiveChatWidget.SDK.getAgentAvailability()
                       .then(() => "answered", error => error.message)"""
        )
        assert failed.startswith("the lcw-emulator server went away")  # at once, not never
        assert [p for p in problems if "went away" not in p] == []
        assert any("went away" in p for p in problems)  # the console says so too


STRICT_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  // Before lcw:ready: a strict widget refuses the call, as the real one fails.
  Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider(function early(callback) {});
  window.addEventListener("lcw:ready", function () { window.__readyHeard = true; });
</script>"""


@contextlib.asynccontextmanager
async def page_of_our_own(
    chromium: Any, work_stream: WorkStream, html: str, **options: Any
) -> AsyncIterator[tuple[Any, list[str]]]:
    """``html`` served beside the shim and socket (same origin), opened in Chromium."""
    async with pages_served(work_stream, {"/page.html": html}, **options) as (base, _):
        yield await open_demo(chromium, base + "/page.html")


async def test_chromium_a_refused_setter_leaves_the_getter_as_it_was(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(chromium, docs_work_stream, STRICT_PAGE, strict=True) as (page, _):
        await page.wait_for_function("window.__readyHeard === true")
        # Refused by the strict widget, so not set in the page either (JavaScript's null).
        assert await page.evaluate(
            "Microsoft.Omnichannel.LiveChatWidget.SDK.getAuthTokenProvider() === null"
        )


LOAD_FAILED_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:error", function () {
    // After a failed load the widget takes nothing: code 7, as Python raises.
    Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider(function late(callback) {});
    window.__errorHeard = true;
  });
</script>"""


async def test_chromium_a_setter_after_a_failed_load_is_not_left_set(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(
        chromium, docs_work_stream, LOAD_FAILED_PAGE, load_failure="no storage"
    ) as (page, problems):
        await page.wait_for_function("window.__errorHeard === true")
        await page.wait_for_function(
            "Microsoft.Omnichannel.LiveChatWidget.SDK.getAuthTokenProvider() === null"
        )
        assert any("widget failed to load" in problem for problem in problems)
        # A page message over the server's 1 MiB limit: the page says so, not "went away".
        await page.evaluate(
            """() => Microsoft.Omnichannel.LiveChatWidget.SDK.startProactiveChat(
                       {message: "x".repeat(2000000)})"""
        )
        await page.wait_for_function("window.LcwEmulator.connected === false")
        failed = await page.evaluate(
            """() => Microsoft.Omnichannel.LiveChatWidget.SDK.getAgentAvailability()
                       .then(() => "answered", error => error.message)"""
        )
        assert "a message was over its 1 MiB limit" in failed


async def test_chromium_expired_token_is_error_4(
    chromium: Any, live_server: Any, docs_work_stream: WorkStream
) -> None:
    async with asyncio.timeout(BROWSER_TEST_LIMIT):
        url, _ = await live_server(docs_work_stream, RealClock(start=SAMPLE_EXP))
        page, problems = await open_demo(chromium, url)
        await page.wait_for_selector('#events li[data-event="lcw:error"]', timeout=10_000)
        seen = await page.evaluate("window.__seen")
        assert [event["type"] for event in seen] == ["lcw:ready", "lcw:startChat", "lcw:error"]
        error = seen[-1]
        assert error["custom"]
        assert error["detail"]["errorCode"] == 4
        assert error["detail"]["errorDescription"] == "Auth token provider provided invalid token"
        assert "the token expired at exp 1542625672" in error["detail"]["reason"]
        assert await page.get_attribute("#status", "data-state") == "failed"
        assert await page.eval_on_selector_all("#context tbody tr", "rows => rows.length") == 0
        assert problems == []


async def python_run_of_the_sample(work_stream: WorkStream) -> tuple[list[Any], dict[str, Any]]:
    """The same steps in Python: the sample's ready handler, then startChat."""
    org = Omnichannel(clock=VirtualClock(start=SAMPLE_START))
    widget = org.widget(work_stream)

    async def convertToJwtToken(payloadToEncrypt: dict[str, Any]) -> str:
        return SAMPLE_TOKEN

    @widget.on("lcw:ready")
    async def handleLivechatReadyEvent() -> None:
        jwtToken = await convertToJwtToken({})

        def authTokenProvider(callback: Callable[[str], None]) -> None:
            callback(jwtToken)

        widget.sdk.setAuthTokenProvider(authTokenProvider)

    await widget.load()
    session = await widget.sdk.startChat()
    timeline = [
        {"at": e.at, "kind": e.kind.value, "name": e.name, "detail": dict(e.detail)}
        for e in widget.timeline
    ]
    # As the page receives them: through JSON.
    return json.loads(json.dumps(timeline)), json.loads(json.dumps(describe_session(session)))


async def test_chromium_and_python_give_the_same_run(
    chromium: Any, live_server: Any, docs_work_stream: WorkStream
) -> None:
    async with asyncio.timeout(BROWSER_TEST_LIMIT):
        # A virtual clock standing at --start makes every timestamp exact on both sides.
        url, app = await live_server(docs_work_stream, VirtualClock(start=SAMPLE_START))
        page, problems = await open_demo(chromium, url)
        await page.wait_for_function("window.LcwEmulator.session !== null", timeout=10_000)
        in_page = await page.evaluate("window.LcwEmulator.timeline")
        session = await page.evaluate("window.LcwEmulator.session")
        timeline, python_session = await python_run_of_the_sample(docs_work_stream)
        assert in_page == timeline
        assert session == python_session
        assert session["context"] == SAMPLE_CONTEXT
        assert [e["name"] for e in in_page if e["kind"] == "event"] == [
            "lcw:ready",
            "lcw:startChat",
            "lcw:chatQueued",
        ]
        assert app[BRIDGES][0].widget.session is not None
        assert problems == []


def test_serve_notes_a_secret_shorter_than_the_hash_of_its_algorithm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lcw_emulator.commands._common import note_short_secret

    note_short_secret(ChatAuthSettings(algorithms=("HS256",), secret="s" * 40))
    assert capsys.readouterr().err == ""  # 40 bytes is enough for SHA-256
    note_short_secret(ChatAuthSettings(algorithms=("HS256", "HS512"), secret="s" * 40))
    assert capsys.readouterr().err.startswith(
        "note: the work stream's HMAC secret is 40 bytes, short for HS512; fine for a demo, too "
        "short"
    )


ORDER_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:ready", function startFirst() {
    Microsoft.Omnichannel.LiveChatWidget.SDK.startChat();
  });
  // The documentation's sample: the provider is set in a promise callback, a microtask later.
  window.addEventListener("lcw:ready", function handleLivechatReadyEvent() {
    Promise.resolve(SAMPLE_TOKEN).then(function (jwtToken) {
      Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider(
        function authTokenProvider(callback) { callback(jwtToken); });
    });
  });
  window.addEventListener("lcw:chatQueued", function () { window.__outcome = "queued"; });
  window.addEventListener("lcw:error", function (e) { window.__outcome = e.detail.errorCode; });
</script>"""


async def test_chromium_calls_made_in_one_task_reach_the_widget_together(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # They used to travel one message each, so whether the start read the provider set a
    # microtask after it depended on the network: 22 of 30 loads got lcw:error 8.
    html = ORDER_PAGE.replace("SAMPLE_TOKEN", json.dumps(SAMPLE_TOKEN))
    async with page_of_our_own(chromium, docs_work_stream, html) as (page, problems):
        outcomes = []
        for _ in range(8):
            await page.wait_for_function("window.__outcome !== undefined")
            outcomes.append(await page.evaluate("window.__outcome"))
            await page.reload()
        assert outcomes == ["queued"] * 8, problems


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("demo.example", False)],
)  # fmt: skip
def test_serve_warns_when_the_bridge_is_reachable_from_other_machines(
    host: str, loopback: bool
) -> None:
    from lcw_emulator.commands.serve import _loopback

    assert _loopback(host) is loopback


async def test_chromium_after_a_failed_load_calls_reject_with_the_reason(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # No widget is on the page to fire lcw:error for them, so the calls themselves say why.
    async with page_of_our_own(
        chromium, docs_work_stream, LOAD_FAILED_PAGE, load_failure="no storage"
    ) as (page, _):
        await page.wait_for_function("window.__errorHeard === true")
        for call in ("startChat()", "getAgentAvailability()", "closeChat()"):
            failed = await page.evaluate(
                f"""() => Microsoft.Omnichannel.LiveChatWidget.SDK.{call}
                           .then(value => "resolved " + value, error => error.message)"""
            )
            assert "the widget failed to load (no storage)" in failed, (call, failed)


async def test_chromium_proactive_chat_config_and_closed_session(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    html = ORDER_PAGE.replace("SAMPLE_TOKEN", json.dumps(SAMPLE_TOKEN))
    async with page_of_our_own(chromium, docs_work_stream, html) as (page, _):
        await page.wait_for_function("window.__outcome === 'queued'")
        thrown = await page.evaluate(
            """() => { try { Microsoft.Omnichannel.LiveChatWidget.SDK.startProactiveChat(); }
                       catch (error) { return error.name + ": " + error.message; } }"""
        )
        assert thrown.startswith("TypeError: startProactiveChat: notificationUIConfig is required")
        thrown = await page.evaluate(
            """() => { try { Microsoft.Omnichannel.LiveChatWidget.SDK.setAuthTokenProvider(
                                 Promise.resolve("token")); }
                       catch (error) { return error.message; } }"""
        )
        assert "got a Promise (pass the function itself" in thrown
        await page.evaluate("Microsoft.Omnichannel.LiveChatWidget.SDK.closeChat()")
        await page.wait_for_function("window.LcwEmulator.session.state === 'closed'")


@contextlib.asynccontextmanager
async def pages_served(
    work_stream: WorkStream, pages: dict[str, str], **options: Any
) -> AsyncIterator[tuple[str, Application]]:
    """``pages`` (path to HTML) served beside the shim and socket; the base URL and the app."""
    app = make_app(Omnichannel(clock=RealClock(start=SAMPLE_START)), work_stream, **options)
    for path, html in pages.items():

        async def serve_html(request: web.Request, html: str = html) -> web.Response:
            return web.Response(text=html, content_type="text/html")

        app.router.add_get(path, serve_html)
    runner = AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await TCPSite(runner, "127.0.0.1", 0).start()
        async with asyncio.timeout(BROWSER_TEST_LIMIT):
            yield f"http://127.0.0.1:{runner.addresses[0][1]}", app
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def new_page(chromium: Any) -> AsyncIterator[Any]:
    """A fresh Chromium page, closed however the test ends."""
    page = await chromium.new_page()
    try:
        yield page
    finally:
        await page.close()


ASKS_AT_READY = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:ready", function () {
    Microsoft.Omnichannel.LiveChatWidget.SDK.getAgentAvailability().then(
      function () { window.__answered = true; });
  });
</script>"""


async def test_chromium_a_page_with_paused_fake_timers_still_talks_to_the_widget(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # A page under test with a fake clock (Playwright's, sinon's): its timers never fire.
    pages = {"/page.html": ASKS_AT_READY}
    async with pages_served(docs_work_stream, pages) as (base, _), new_page(chromium) as page:
        await page.clock.install(time=0)
        await page.clock.pause_at(1000)
        await page.goto(base + "/page.html")
        await page.wait_for_function("window.__answered === true", timeout=10_000)


CLOSES_ON_LEAVING = """<!doctype html><script src="/shim.js"></script><script>
  var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
  window.addEventListener("lcw:ready", function () {
    SDK.setAuthTokenProvider(function authTokenProvider(callback) { callback(TOKEN); });
    SDK.startChat();
  });
  window.addEventListener("lcw:chatQueued", function () { window.__queued = true; });
  window.addEventListener("pagehide", function () { SDK.closeChat(); });
</script>"""


async def test_chromium_a_close_the_page_makes_as_it_leaves_reaches_the_widget(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    html = CLOSES_ON_LEAVING.replace("TOKEN", json.dumps(SAMPLE_TOKEN))
    pages = {"/page.html": html, "/other.html": "<p>elsewhere</p>"}
    async with pages_served(docs_work_stream, pages) as (base, app), new_page(chromium) as page:
        await page.goto(base + "/page.html")
        await page.wait_for_function("window.__queued === true")
        await page.goto(base + "/other.html")
        widget = app[BRIDGES][0].widget
        for _ in range(100):  # the close travels after the page has gone
            if widget.session is not None and widget.session.state is SessionState.CLOSED:
                break
            await asyncio.sleep(0.05)
        assert widget.session is not None and widget.session.state is SessionState.CLOSED


MANY_EARLY_CALLS = """<!doctype html><script src="/shim.js"></script><script>
  // More calls before the socket opens than one batch holds: they still all go, and so does
  // the load behind them.
  for (var i = 0; i < 1500; i++) Microsoft.Omnichannel.LiveChatWidget.SDK.getContextProvider();
  window.addEventListener("lcw:ready", function () {
    var half = "x".repeat(200000);  // two of these in one task are one frame's worth
    for (var j = 0; j < 8; j++) {
      Microsoft.Omnichannel.LiveChatWidget.SDK.startProactiveChat({message: half});
    }
    window.__sent = true;
  });
</script>"""


async def test_chromium_a_task_sending_more_than_a_frame_holds_goes_in_several(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(chromium, docs_work_stream, MANY_EARLY_CALLS) as (page, problems):
        await page.wait_for_function("window.__sent === true")
        await page.wait_for_function(
            "window.LcwEmulator.timeline.filter(e => e.name === 'startProactiveChat').length === 8"
        )
        assert await page.evaluate("window.LcwEmulator.connected") is True
        assert not [problem for problem in problems if "lcw-emulator" in problem], problems


QUEUED_BEFORE_A_FAILED_LOAD = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:error", function (e) { window.__error = e.detail.errorCode; });
  // Made before lcw:ready: failed with the load, and told by its lcw:error 7 event.
  Microsoft.Omnichannel.LiveChatWidget.SDK.startChat().then(
    function (value) { window.__outcome = "resolved " + value; },
    function (error) { window.__outcome = "rejected " + error.message; });
</script>"""


async def test_chromium_a_call_queued_before_a_failed_load_is_told_by_the_event(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(
        chromium, docs_work_stream, QUEUED_BEFORE_A_FAILED_LOAD, load_failure="no storage"
    ) as (page, _):
        await page.wait_for_function("window.__outcome !== undefined && window.__error === 7")
        assert await page.evaluate("window.__outcome") == "resolved null"


async def test_one_bad_message_in_a_batch_costs_only_itself(
    served: Any, docs_work_stream: WorkStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, page, _ = await asked_to_sign_in(served, docs_work_stream)

    def broken(self: object) -> None:
        raise RuntimeError("a bug of ours")

    from lcw_emulator import LiveChatSDK

    monkeypatch.setattr(LiveChatSDK, "getAuthTokenProvider", broken)
    await page.send(
        type="batch",
        messages=[
            {"type": "call", "id": 99, "method": "getAuthTokenProvider", "args": []},
            {"type": "call", "id": 100, "method": "getContextProvider", "args": []},
        ],
    )
    failed = await page.result(99)  # a bug of ours still settles the page's promise
    assert failed["ok"] is False and failed["error"]["reason"] == "a bug of ours"
    assert (await page.result(100))["ok"] is True  # the message behind it still answered


async def test_a_message_that_cannot_be_handled_in_a_batch_costs_only_itself(
    served: Any, docs_work_stream: WorkStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lcw_emulator.browser.bridge import PageBridge

    _, page, request = await asked_to_sign_in(served, docs_work_stream)

    def broken(self: object, kind: str, message: object) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(PageBridge, "_page_answered", broken)
    await page.send(
        type="batch",
        messages=[
            {"type": "callback", "request": request["request"], "args": [{"show": True}]},
            {"type": "call", "id": 100, "method": "getContextProvider", "args": []},
        ],
    )
    refused = await page.next("protocol-error")
    assert refused["reason"] == "the message could not be handled (RuntimeError: a bug of ours)"
    assert (await page.result(100))["ok"] is True


@pytest.mark.parametrize(
    ("args", "show", "ignored"),
    [
        ([True], False, "true"),  # not {show}: shows nothing, and says what came
        (['"yes"'], False, '"\\"yes\\""'),
        ([{"show": []}], True, None),  # truthy in JavaScript
        ([{"show": 0}], False, None),
        ([{"show": None}], False, None),  # NaN too: JSON.stringify sends it as null
        ([{"show": True}, "extra"], True, None),  # JavaScript ignores extra arguments
        ([], False, None),
    ],
)
async def test_a_bot_callback_is_read_as_javascript_reads_it(
    served: Any, docs_work_stream: WorkStream, args: list[Any], show: bool, ignored: str | None
) -> None:
    widget, page, request = await asked_to_sign_in(served, docs_work_stream)
    await page.send(type="callback", request=request["request"], args=args)
    await page.result(await page.call("getContextProvider"))  # handled in order: it came
    [callback] = widget.timeline.find("bot auth callback")
    expected: dict[str, Any] = {"show": show}
    if ignored is not None:
        expected["ignored"] = ignored
    assert callback.detail == expected


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_serve_says_when_anyone_on_the_network_can_drive_the_widget(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: str, warned: bool
) -> None:
    from lcw_emulator.browser import server

    async def serve_once(app: Any, host: str, port: int, announce: Any) -> None:
        announce(f"http://{host}:{port}/")

    monkeypatch.setattr(server, "serve_forever", serve_once)
    assert main(["serve", "--host", host, "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert ("is reachable from other machines, and the bridge has no authentication" in err) is (
        warned
    )


def test_a_page_error_with_no_message_is_said_to_have_none() -> None:
    from lcw_emulator.browser.bridge import PageScriptError
    from lcw_emulator.errors import describe_failure

    assert describe_failure(PageScriptError("Error: boom")) == "Error: boom"
    assert describe_failure(PageScriptError("")) == "an error with no message"


async def test_the_page_is_sent_nan_and_infinities_as_null_as_json_stringify_writes_them() -> None:
    from lcw_emulator.browser.bridge import PageBridge

    sent: list[str] = []
    widget = Omnichannel(clock=VirtualClock(start=0)).widget(WorkStream.from_dict({"name": "u"}))
    bridge = PageBridge(widget, sent.append)
    bridge._emit({"type": "x", "v": [float("nan"), {"a": float("inf")}], "t": (1.5, -1e400)})
    bridge._emit({"type": "keys", float("nan"): 1, float("-inf"): 2, 1.5: 3})

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is no JSON the page can parse")

    assert [json.loads(text, parse_constant=refuse) for text in sent] == [
        {"type": "x", "v": [None, {"a": None}], "t": [1.5, None]},
        {"type": "keys", "NaN": 1, "-Infinity": 2, "1.5": 3},  # keys as JavaScript shows them
    ]


PROACTIVE_CHECKS = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:ready", function () { window.__ready = true; });
  window.thrown = function (run) {
    try { run(); return null; } catch (error) { return error.name + ": " + error.message; }
  };
</script>"""


async def test_chromium_start_proactive_chat_checks_its_arguments_as_python_does(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(chromium, docs_work_stream, PROACTIVE_CHECKS) as (page, _):
        await page.wait_for_function("window.__ready === true")
        sdk = "Microsoft.Omnichannel.LiveChatWidget.SDK"
        for call, message in [
            ("startProactiveChat([1])", "notificationUIConfig must be an object ({message})"),
            ("startProactiveChat({message: 5})", "notificationUIConfig.message must be a string"),
            ("startProactiveChat({}, true, 5)", "options must be an object ({inNewWindow})"),
        ]:
            thrown = await page.evaluate(f"window.thrown(() => {sdk}.{call})")
            assert thrown is not None and thrown.startswith("TypeError: "), (call, thrown)
            assert message in thrown, (call, thrown)
        # A null message is no message, as in Python: the default one is shown.
        no_message = f"window.thrown(() => {sdk}.startProactiveChat({{message: null}}))"
        assert await page.evaluate(no_message) is None
        await page.wait_for_function(
            "window.LcwEmulator.timeline.some(e => e.name === 'proactive invitation shown')"
        )


UNSENDABLE = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:ready", function () {
    var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
    // A provider whose name JSON cannot hold: its message cannot be sent.
    function contextProvider() { return {}; }
    Object.defineProperty(contextProvider, "name", { value: 10n });
    SDK.setContextProvider(contextProvider);
    SDK.getAgentAvailability().then(function () { window.__answered = true; });
    SDK.startProactiveChat({}, 10n);  // a BigInt argument: sent as its digits
  });
</script>"""


async def test_chromium_a_call_that_cannot_be_sent_costs_only_itself(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(chromium, docs_work_stream, UNSENDABLE) as (page, problems):
        await page.wait_for_function("window.__answered === true")
        # The setter that could not be sent was undone in the page and said so.
        sdk = "Microsoft.Omnichannel.LiveChatWidget.SDK"
        assert await page.evaluate(f"{sdk}.getContextProvider() === null")
        assert any("a message could not be sent" in problem for problem in problems), problems
        await page.wait_for_function(
            "window.LcwEmulator.timeline.some(e => e.name === 'startProactiveChat' &&"
            " e.detail.showPrechat === '10')"
        )


async def test_chromium_a_navigation_that_unloads_nothing_keeps_the_batching(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # A 204 answer (the server's to /favicon.ico) fires beforeunload and no unload: the page
    # stays, and so must its batching.
    pages = {"/page.html": PROACTIVE_CHECKS}
    async with pages_served(docs_work_stream, pages) as (base, _), new_page(chromium) as page:
        await page.goto(base + "/page.html")
        await page.wait_for_function("window.__ready === true")
        await page.evaluate(
            """() => {
              window.__frames = [];
              var send = WebSocket.prototype.send;
              WebSocket.prototype.send = function (text) {
                window.__frames.push(JSON.parse(text).type);
                return send.call(this, text);
              };
            }"""
        )
        three = """() => { var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
                           SDK.getContextProvider(); SDK.getContextProvider();
                           SDK.getContextProvider(); }"""
        await page.evaluate(three)
        await page.wait_for_function("window.__frames.length === 1")
        await page.evaluate("() => { location.href = '/favicon.ico'; }")
        await page.wait_for_timeout(500)
        await page.evaluate(three)
        await page.wait_for_function("window.__frames.length === 2")
        assert await page.evaluate("window.__frames") == ["batch", "batch"]


BOT_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  window.addEventListener("lcw:ready", function () {
    var answers = [{show: Infinity}, {show: function () {}}, {show: 10n}, {show: NaN}];
    Microsoft.Omnichannel.LiveChatWidget.SDK.setBotAuthTokenProvider(
      function botAuthTokenProvider(url, callback) {
        if (url.endsWith("throw")) throw Object.create(null);
        callback(answers.shift());
      });
    window.__ready = true;
  });
</script>"""


async def test_chromium_a_bot_callback_shows_sign_in_as_javascript_decides(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    pages = {"/page.html": BOT_PAGE}
    async with pages_served(docs_work_stream, pages) as (base, app), new_page(chromium) as page:
        await page.goto(base + "/page.html")
        await page.wait_for_function("window.__ready === true")
        await asyncio.sleep(0.2)  # the setter's message, sent on the page's next task
        widget: Widget = app[BRIDGES][0].widget
        for _ in range(4):  # the page answers later: the callbacks reach the timeline
            widget.request_bot_sign_in("https://bot.example/sign-in")
        widget.request_bot_sign_in("https://bot.example/throw")

        def entries(name: str) -> list[Any]:
            return list(widget.timeline.find(name))

        for _ in range(100):
            if len(entries("bot auth callback")) == 4 and entries("bot auth token provider raised"):
                break
            await asyncio.sleep(0.05)
        shown = [entry.detail["show"] for entry in entries("bot auth callback")]
        assert shown == [True, True, True, False]
        # A throw that cannot be turned into text is still a throw, noted at once.
        [raised] = entries("bot auth token provider raised")
        assert raised.detail == {"error": "[object Object]"}


QUEUED_START_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
  // Made before lcw:ready: queued, and replayed after the page's lcw:ready listeners ran.
  SDK.setContextProvider(function early() { return {}; });
  SDK.setAuthTokenProvider(function removedEarly(callback) {});
  SDK.removeAuthTokenProvider();
  SDK.startChat();
  // Python holds none of them yet: the queued calls have not run.
  window.__early = [SDK.getContextProvider(), SDK.getAuthTokenProvider()];
  window.__beforeReady = [];  // what the getter said each time the page heard the server
  window.addEventListener("lcw-emulator:timeline", function () {
    if (!window.__inListener) window.__beforeReady.push(SDK.getContextProvider());
  });
  window.addEventListener("lcw:ready", function () {
    window.__inListener = [SDK.getContextProvider(), SDK.getAuthTokenProvider()];
    SDK.setAuthTokenProvider(function authTokenProvider(callback) { callback(SAMPLE_TOKEN); });
    window.__afterSet = SDK.getAuthTokenProvider().name;  // made after lcw:ready: at once
  });
  window.addEventListener("lcw:chatQueued", function () { window.__outcome = "queued"; });
  window.addEventListener("lcw:error", function (e) { window.__outcome = e.detail.errorCode; });
</script>"""


async def test_chromium_a_queued_start_reads_the_provider_an_lcw_ready_listener_set(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # As in Python: the queued startChat replays after the page's listeners. Over the socket
    # it used to replay before they ran, and failed with code 8 ("set it in an lcw:ready
    # listener", which the page had done).
    html = QUEUED_START_PAGE.replace("SAMPLE_TOKEN", json.dumps(SAMPLE_TOKEN))
    async with page_of_our_own(chromium, docs_work_stream, html) as (page, problems):
        for _ in range(3):
            await page.wait_for_function("window.__outcome !== undefined")
            assert await page.evaluate("window.__outcome") == "queued", problems
            assert await page.evaluate("window.__early") == [None, None]
            before = await page.evaluate("window.__beforeReady")
            assert before and set(before) == {None}, before
            assert await page.evaluate("window.__inListener") == [None, None]
            assert await page.evaluate("window.__afterSet") == "authTokenProvider"
            # Replayed: the context provider set before lcw:ready; the auth one, removed
            # before it, stays overtaken by the listener's set (a queued remove does not undo it).
            assert await page.evaluate(
                "[SDK.getContextProvider().name, SDK.getAuthTokenProvider().name]"
            ) == ["early", "authTokenProvider"]
            await page.reload()


ARGUMENTS_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
  function thrown(run) {
    try { run(); return "nothing"; } catch (error) { return error.name + ": " + error.message; }
  }
  window.addEventListener("lcw:ready", function () {
    window.__thrown = [
      thrown(function () { SDK.startChat("not options"); }),
      thrown(function () { SDK.startChat([1]); }),
      thrown(function () { SDK.startChat({customContext: "x"}); }),
      thrown(function () {
        SDK.startChat({get customContext() { throw new Error("no cart"); }});
      }),
    ];
    var region = {value: "EU"};
    region.parent = region;  // one field inside itself costs itself, not the whole start
    SDK.startChat({customContext: {
      msdyn_isvip: {value: "true"}, msdyn_region: region, msdyn_coupon: {value: undefined},
    }});
  });
</script>"""


async def test_chromium_start_chat_checks_its_options_as_python_does(chromium: Any) -> None:
    public = WorkStream.from_toml(
        Path(__file__).resolve().parent.parent / "scenarios" / "workstreams" / "contoso_public.toml"
    )
    async with page_of_our_own(chromium, public, ARGUMENTS_PAGE) as (page, problems):
        await page.wait_for_function("window.LcwEmulator.session !== null", timeout=10_000)
        assert await page.evaluate("window.__thrown") == [
            "TypeError: startChat: options must be an object ({customContext, inNewWindow}), "
            'got string "not options"',
            "TypeError: startChat: options must be an object ({customContext, inNewWindow}), "
            "got object [1]",
            'TypeError: startChat: customContext must be an object, got string "x"',
            "TypeError: startChat: options could not be read (Error: no cart)",
        ]
        session = await page.evaluate("window.LcwEmulator.session")
        # The region's value is read; its field inside itself is only noted as such.
        assert session["context"] == {"msdyn_isvip": "true", "msdyn_region": "EU"}, session
        reasons = {item["key"]: item["reason"] for item in session["dropped"]}
        assert sorted(reasons) == ["msdyn_coupon"], (reasons, problems)
        assert "null or empty" in reasons["msdyn_coupon"], reasons  # undefined, as JS deletes


SET_BEFORE_READY_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
  SDK.setAuthTokenProvider(function early(callback) {});  // queued until lcw:ready
  window.__heldBeforeReady = [];  // the getter each time the page hears the server
  window.addEventListener("lcw-emulator:timeline", function () {
    if (window.__ready || window.__heldBeforeReady.length >= 5) return;  // a get is an entry
    window.__heldBeforeReady.push(SDK.getAuthTokenProvider() === null);
  });
  window.addEventListener("lcw:ready", function () {
    window.__ready = true;
    var held = SDK.getAuthTokenProvider();
    window.__inListener = held && held.name;
  });
</script>"""


async def test_chromium_a_set_queued_before_lcw_ready_is_held_once_replayed(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    # The server answers the queued setter at once; the getter must still wait for the replay.
    async with page_of_our_own(chromium, docs_work_stream, SET_BEFORE_READY_PAGE) as (page, _):
        await page.wait_for_function("window.__ready === true")
        await page.wait_for_function("SDK.getAuthTokenProvider() !== null")
        assert await page.evaluate("SDK.getAuthTokenProvider().name") == "early"
        seen = await page.evaluate("window.__heldBeforeReady")
        assert len(seen) >= 2 and all(seen), seen  # null each time, until the replay
        assert await page.evaluate("window.__inListener") is None


SET_BEFORE_A_FAILED_LOAD_PAGE = """<!doctype html><script src="/shim.js"></script><script>
  var SDK = Microsoft.Omnichannel.LiveChatWidget.SDK;
  SDK.setAuthTokenProvider(function early(callback) {});  // queued, then dropped with the load
  window.addEventListener("lcw:error", function () {
    window.__inError = SDK.getAuthTokenProvider();
  });
</script>"""


async def test_chromium_a_set_queued_before_a_failed_load_is_never_held(
    chromium: Any, docs_work_stream: WorkStream
) -> None:
    async with page_of_our_own(
        chromium, docs_work_stream, SET_BEFORE_A_FAILED_LOAD_PAGE, load_failure="no storage"
    ) as (page, _):
        await page.wait_for_function("window.__inError !== undefined")
        assert await page.evaluate("window.__inError") is None
        await page.wait_for_timeout(200)  # the dropped call's answer, come and gone
        assert (
            await page.evaluate("Microsoft.Omnichannel.LiveChatWidget.SDK.getAuthTokenProvider()")
            is None
        )


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"strict": "yes"}, "strict must be True or False, got str 'yes'"),
        ({"load_failure": 5}, "load_failure must be the failure's detail (text) or None"),
        ({"page_timeout": "x"}, "page_timeout must be a number of seconds, got str 'x'"),
        ({"page_timeout": 0}, "page_timeout must be above 0 seconds (math.inf: no limit), got 0"),
    ],
)
def test_page_options_are_refused_when_the_app_is_made_not_by_every_page(
    options: dict[str, Any], why: str
) -> None:
    # Each made every page that connected drop its socket, or blamed the page's provider.
    org = Omnichannel(clock=VirtualClock(start=0))
    with pytest.raises((TypeError, ValueError), match=re.escape(why)):
        make_app(org, WorkStream("Open"), **options)
    assert make_app(org, WorkStream("Open"), page_timeout=float("inf"))  # no limit is one too


def test_a_bridge_needs_a_widget_not_its_work_stream_file() -> None:
    async def send(message: str) -> None:
        return None

    from lcw_emulator.browser.bridge import PageBridge

    with pytest.raises(TypeError, match=r"widget must be a Widget \(org.widget\(work_stream\)\)"):
        PageBridge("contoso.toml", send)  # type: ignore[arg-type]
