"""A work stream's public key URL: fetched over HTTP in every form, cached, rotated by kid."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from loopback import LoopbackEndpoint, closed_port_url, loopback_endpoint

from lcw_emulator import (
    ChatAuthSettings,
    ChatSession,
    Clock,
    ConfigurationError,
    ErrorCode,
    KeyPair,
    LcwError,
    Omnichannel,
    VirtualClock,
    Widget,
    WorkStream,
)
from lcw_emulator.cli import main
from lcw_emulator.key_source import HttpKeySource, StaticKeySource, token_kid
from lcw_emulator.providers import AuthTokenProvider
from lcw_emulator.token_providers import minted_token

START = 1_700_000_000


@pytest.fixture
def endpoint() -> Iterator[LoopbackEndpoint]:
    with loopback_endpoint() as served:
        yield served


def serve(endpoint: LoopbackEndpoint, document: object) -> None:
    endpoint.body = document if isinstance(document, str) else json.dumps(document)


def request_times(endpoint: LoopbackEndpoint) -> list[float]:
    return [request.at for request in endpoint.requests]


@pytest.fixture(scope="module")
def rotated_keys() -> KeyPair:
    return KeyPair.generate(kid="key-2")


def url_work_stream(url: str) -> WorkStream:
    return WorkStream.from_dict(
        {
            "name": "Keys by URL",
            "auth": {"public_key_url": url, "issuer": "tokens.example"},
            "context_variables": [{"name": "tier", "type": "Text"}],
        }
    )


def provider(keys: KeyPair, clock: Clock, *, with_kid: bool = True) -> AuthTokenProvider:
    return minted_token(
        keys, {"sub": "contact-1", "iss": "tokens.example"}, clock=clock, with_kid=with_kid
    )


async def ready_widget(
    org: Omnichannel, url: str, keys: KeyPair, *, with_kid: bool = True
) -> Widget:
    """A loaded widget for a work stream with public key ``url``, whose tokens ``keys`` sign."""
    widget = org.widget(url_work_stream(url))
    await widget.load()
    widget.sdk.setAuthTokenProvider(provider(keys, org.clock, with_kid=with_kid))
    return widget


async def start(org: Omnichannel, url: str, keys: KeyPair, *, with_kid: bool = True) -> ChatSession:
    widget = await ready_widget(org, url, keys, with_kid=with_kid)
    return await widget.sdk.startChat()


@pytest.fixture
def clock(endpoint: LoopbackEndpoint) -> VirtualClock:
    clock = VirtualClock(start=START)
    endpoint.clock = clock
    return clock


@pytest.fixture
def org(clock: VirtualClock) -> Omnichannel:
    return Omnichannel(clock=clock)


@pytest.mark.parametrize("form", ["pem", "key array", "jwks"])
async def test_each_documented_form_is_fetched_and_verifies(
    endpoint: LoopbackEndpoint, org: Omnichannel, demo_keys: KeyPair, form: str
) -> None:
    document = {
        "pem": demo_keys.public_pem,
        "key array": demo_keys.key_array(),
        "jwks": demo_keys.jwks(),
    }[form]
    serve(endpoint, document)
    widget = await ready_widget(org, endpoint.url("/keys"), demo_keys)
    session = await widget.sdk.startChat()
    assert session.customer_id == "contact-1"
    assert len(endpoint.requests) == 1
    fetched = widget.timeline.find("public keys fetched")
    assert fetched and fetched[0].detail["url"] == endpoint.url("/keys")
    assert fetched[0].detail["why"] == "first use"


async def test_keys_are_cached_between_chat_starts(
    endpoint: LoopbackEndpoint, org: Omnichannel, demo_keys: KeyPair
) -> None:
    serve(endpoint, demo_keys.key_array())
    await start(org, endpoint.url("/keys"), demo_keys)
    await start(org, endpoint.url("/keys"), demo_keys)
    assert len(endpoint.requests) == 1


async def test_forget_drops_the_cached_keys_so_the_next_start_fetches_again(
    endpoint: LoopbackEndpoint, org: Omnichannel, demo_keys: KeyPair
) -> None:
    serve(endpoint, demo_keys.key_array())
    await start(org, endpoint.url("/keys"), demo_keys)
    source = org.key_source
    assert isinstance(source, HttpKeySource)
    source.forget()
    await start(org, endpoint.url("/keys"), demo_keys)
    assert len(endpoint.requests) == 2


async def test_an_unknown_kid_refetches_once_and_finds_the_rotated_key(
    endpoint: LoopbackEndpoint,
    org: Omnichannel,
    clock: VirtualClock,
    demo_keys: KeyPair,
    rotated_keys: KeyPair,
) -> None:
    serve(endpoint, demo_keys.key_array())
    await start(org, endpoint.url("/keys"), demo_keys)
    clock.advance(120)
    # The admin publishes the new key next to the old one.
    serve(endpoint, demo_keys.key_array() + rotated_keys.key_array())
    widget = await ready_widget(org, endpoint.url("/keys"), rotated_keys)
    session = await widget.sdk.startChat()
    assert session.customer_id == "contact-1"
    assert len(endpoint.requests) == 2
    fetched = widget.timeline.find("public keys fetched")
    assert fetched[0].detail == {
        "url": endpoint.url("/keys"),
        "why": "unknown kid 'key-2'",
        "kids": ["contoso-2018", "key-2"],
    }


async def test_unknown_kids_refetch_at_most_once_per_interval(
    endpoint: LoopbackEndpoint,
    org: Omnichannel,
    clock: VirtualClock,
    demo_keys: KeyPair,
    rotated_keys: KeyPair,
) -> None:
    serve(endpoint, demo_keys.key_array())
    await start(org, endpoint.url("/keys"), demo_keys)
    serve(endpoint, rotated_keys.key_array())
    # 10 s later the rotated kid is unknown, and the keys are too fresh to refetch.
    clock.advance(10)
    widget = await ready_widget(org, endpoint.url("/keys"), rotated_keys)
    with pytest.raises(LcwError) as refused:
        await widget.sdk.startChat()
    assert refused.value.code is ErrorCode.INVALID_AUTH_TOKEN
    assert "no public key with kid 'key-2'" in refused.value.reason
    assert len(endpoint.requests) == 1
    assert widget.timeline.find("public keys not refetched")
    # Once the interval has passed on the clock, the next unknown kid refetches.
    clock.advance(60)
    session = await start(org, endpoint.url("/keys"), rotated_keys)
    assert session.authenticated
    assert len(endpoint.requests) == 2
    # A forged kid right after does not hammer the endpoint.
    forged = KeyPair.generate(kid="forged")
    with pytest.raises(LcwError, match="no public key with kid 'forged'"):
        await start(org, endpoint.url("/keys"), forged)
    assert len(endpoint.requests) == 2


async def test_stale_keys_are_fetched_again(
    endpoint: LoopbackEndpoint, clock: VirtualClock, demo_keys: KeyPair
) -> None:
    org = Omnichannel(clock=clock, key_source=HttpKeySource(max_age=3600))
    serve(endpoint, demo_keys.public_pem)
    await start(org, endpoint.url("/keys"), demo_keys, with_kid=False)
    clock.advance(3600)
    await start(org, endpoint.url("/keys"), demo_keys, with_kid=False)
    assert request_times(endpoint) == [START, START + 3600]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (404, "not here", "answered HTTP 404"),
        (200, "hello", "answered something that is not a public key"),
        (200, "[]", "the key document holds no keys"),
    ],
)
async def test_an_unusable_key_endpoint_refuses_the_token_with_code_4(
    endpoint: LoopbackEndpoint,
    org: Omnichannel,
    demo_keys: KeyPair,
    status: int,
    body: str,
    reason: str,
) -> None:
    endpoint.status = status
    serve(endpoint, body)
    widget = await ready_widget(org, endpoint.url("/keys"), demo_keys)
    with pytest.raises(LcwError) as refused:
        await widget.sdk.startChat()
    assert refused.value.code is ErrorCode.INVALID_AUTH_TOKEN
    assert endpoint.url("/keys") in refused.value.reason
    assert reason in refused.value.reason
    assert widget.timeline.event_names()[-1] == "lcw:error"


async def test_a_key_endpoint_nobody_listens_on_refuses_with_code_4(
    org: Omnichannel, demo_keys: KeyPair
) -> None:
    url = closed_port_url()
    with pytest.raises(LcwError) as refused:
        await start(org, url, demo_keys)
    assert refused.value.code is ErrorCode.INVALID_AUTH_TOKEN
    assert "could not be fetched (ConnectError" in refused.value.reason


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1/keys", "is not a usable URL: Invalid IPv6 URL"),
        ("http://localhost:99999/keys", "is not a usable URL: Port out of range 0-65535"),
        ("https:///keys", "names no host"),
        ("ftp://keys.example/keys", "must be an http:// or https:// URL"),
    ],
)
def test_a_key_url_no_request_can_be_made_to_is_refused_when_read(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(why)):
        url_work_stream(url)


@pytest.mark.parametrize(
    ("url", "failure"),
    [
        ("https://256.1.1.1/keys", "InvalidURL: Invalid IPv4 address"),  # httpx, not urllib
        ("https://xn--a.example/keys", "InvalidCodepoint"),  # idna, under httpx
    ],
)
async def test_a_key_url_httpx_cannot_use_is_code_4_naming_it(
    org: Omnichannel, demo_keys: KeyPair, url: str, failure: str
) -> None:
    with pytest.raises(LcwError) as refused:
        await start(org, url, demo_keys)
    assert refused.value.code is ErrorCode.INVALID_AUTH_TOKEN
    assert refused.value.reason.startswith(f"the public key URL {url} could not be fetched (")
    assert failure in refused.value.reason


async def test_the_clock_does_not_jump_while_the_keys_are_on_the_wire(
    endpoint: LoopbackEndpoint, org: Omnichannel, clock: VirtualClock, demo_keys: KeyPair
) -> None:
    serve(endpoint, demo_keys.key_array())
    endpoint.delay = 0.2  # real seconds: the loop is idle, only the hold stops a jump
    sleeper = asyncio.ensure_future(clock.sleep(1))
    session = await start(org, endpoint.url("/keys"), demo_keys)
    assert request_times(endpoint) == [START]
    assert session.history[0].at == START
    assert not sleeper.done()
    await sleeper
    assert clock.now() == START + 1


async def test_a_static_source_serves_keys_for_a_url_without_io(
    clock: VirtualClock, demo_keys: KeyPair, rotated_keys: KeyPair
) -> None:
    source = StaticKeySource(demo_keys.public_keys(with_kid=True))
    org = Omnichannel(clock=clock, key_source=source)
    url = "https://keys.invalid/never-fetched"
    session = await start(org, url, demo_keys)
    assert session.authenticated
    source.keys = rotated_keys.public_keys(with_kid=True)
    with pytest.raises(LcwError, match="no public key with kid 'contoso-2018'"):
        await start(org, url, demo_keys)
    assert source.requests == 2


def test_a_url_alone_satisfies_rs256_settings() -> None:
    settings = ChatAuthSettings(public_key_url="https://keys.example/jwks.json")
    assert settings.keys == ()


def test_token_kid_reads_the_header_or_gives_none(demo_keys: KeyPair) -> None:
    assert token_kid(demo_keys.mint({"sub": "x"}, with_kid=True)) == "contoso-2018"
    assert token_kid(demo_keys.mint({"sub": "x"})) is None
    assert token_kid("not a token") is None
    assert token_kid(42) is None


def test_verify_fetches_the_public_key_url(
    endpoint: LoopbackEndpoint,
    demo_keys: KeyPair,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(endpoint, demo_keys.jwks())
    work_stream = tmp_path / "ws.toml"
    work_stream.write_text(f'name = "By URL"\n[auth]\npublic_key_url = "{endpoint.url("/keys")}"\n')
    token = demo_keys.mint({"sub": "c", "iss": "x", "iat": START, "exp": START + 60}, with_kid=True)
    assert main(["verify", "--workstream", str(work_stream), "--at", str(START), token]) == 0
    assert "VALID for work stream 'By URL'" in capsys.readouterr().out
    endpoint.status = 404
    assert main(["verify", "--workstream", str(work_stream), "--at", str(START), token]) == 1
    out = capsys.readouterr().out
    assert "lcw:error 4: Auth token provider provided invalid token" in out
    assert f"reason:  the public key URL {endpoint.url('/keys')} answered HTTP 404" in out


def test_verify_refuses_as_a_chat_start_when_nobody_serves_the_keys(
    demo_keys: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = closed_port_url()
    with pytest.raises(LcwError) as refused:
        asyncio.run(start(Omnichannel(clock=VirtualClock(start=START)), url, demo_keys))
    work_stream = tmp_path / "ws.toml"
    work_stream.write_text(f'name = "By URL"\n[auth]\npublic_key_url = "{url}"\n')
    token = demo_keys.mint({"sub": "c", "iss": "x", "iat": START, "exp": START + 60}, with_kid=True)
    argv = ["verify", "--workstream", str(work_stream), "--at", str(START), "--json", token]
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert (report["error_code"], report["error_message"]) == (4, refused.value.message)
    assert report["reason"] == refused.value.reason
    assert report["reason"].startswith(f"the public key URL {url} could not be fetched")
    assert report["claim"] is None and report["claims"] is None and report["context"] == {}


async def test_judge_fetches_the_keys_and_judge_token_says_it_needs_them(
    clock: VirtualClock, demo_keys: KeyPair
) -> None:
    # A token service's own test: the Python API answers as a chat start and as verify do.
    source = StaticKeySource(demo_keys.public_keys(with_kid=True))
    org = Omnichannel(clock=clock, key_source=source)
    work_stream = url_work_stream("https://keys.invalid/jwks.json")
    token = demo_keys.mint(
        {"sub": "contact-1", "iss": "tokens.example", "iat": START, "exp": START + 60},
        with_kid=True,
    )
    judgement = await org.judge(work_stream, token)
    assert judgement.valid and source.requests == 1
    with pytest.raises(ValueError, match=r"takes its keys from https://keys\.invalid/jwks\.json"):
        org.judge_token(work_stream, token)
    keys = await org.public_keys(work_stream, token)
    assert org.judge_token(work_stream, token, keys=keys) == judgement


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, ErrorCode.NO_AUTH_TOKEN),
        ("", ErrorCode.NO_AUTH_TOKEN),
        (42, ErrorCode.INVALID_AUTH_TOKEN),  # truthy in JavaScript: handed over, no JWT
    ],
)
async def test_no_token_is_code_3_from_judge_and_judge_token_as_from_a_chat_start(
    org: Omnichannel, contoso: WorkStream, token: object, code: ErrorCode
) -> None:
    for judgement in (await org.judge(contoso, token), org.judge_token(contoso, token)):
        assert judgement.error is not None and judgement.error.code is code
        assert judgement.error.reason is not None
        assert judgement.error.reason.startswith("the provider called back with")


async def test_a_token_with_a_lone_surrogate_is_judged_not_a_crash(
    clock: VirtualClock, demo_keys: KeyPair
) -> None:
    org = Omnichannel(clock=clock, key_source=StaticKeySource(demo_keys.public_keys(with_kid=True)))
    judgement = await org.judge(
        url_work_stream("https://keys.invalid/k"), "eyJhbGciOiJSUzI1NiJ9.e30.\ud800"
    )
    assert judgement.error is not None and judgement.error.code is ErrorCode.INVALID_AUTH_TOKEN


async def test_judge_and_judge_token_refuse_alike_without_authentication(org: Omnichannel) -> None:
    open_stream = WorkStream("No authentication")
    for token in (None, "a.b.c"):
        judged, judged_now = (
            await org.judge(open_stream, token),
            org.judge_token(open_stream, token),
        )
        assert judged == judged_now and judged.error is not None
        assert "has no chat authentication settings" in (judged.error.reason or "")


class GatedKeys:
    """A key endpoint (httpx MockTransport) that answers only once :meth:`release` is called."""

    def __init__(self, document: object) -> None:
        self.document = document
        self.requests = 0
        self.gate = asyncio.Event()
        self.status = 200

    async def handle(self, request: object) -> httpx.Response:
        self.requests += 1
        await self.gate.wait()
        return httpx.Response(self.status, text=json.dumps(self.document))

    def release(self) -> None:
        self.gate.set()

    def source(self) -> HttpKeySource:
        return HttpKeySource(client=httpx.AsyncClient(transport=httpx.MockTransport(self.handle)))


async def until(condition: Callable[[], bool]) -> None:
    """Yield turns until ``condition`` holds (a second of wall time at most: a test fails)."""
    async with asyncio.timeout(1):
        while not condition():
            await asyncio.sleep(0)


async def two_starts_while_fetching(
    org: Omnichannel, endpoint: GatedKeys, first: KeyPair, second: KeyPair | None = None
) -> tuple[list[Widget], list[ChatSession | BaseException]]:
    url = "https://idp.example/keys"
    widgets = [await ready_widget(org, url, keys) for keys in (first, second or first)]
    starts = [asyncio.ensure_future(widget.sdk.startChat()) for widget in widgets]
    # Both starts under way, the first waiting on the endpoint.
    await until(
        lambda: endpoint.requests > 0 and all(w.timeline.find("lcw:startChat") for w in widgets)
    )
    endpoint.release()
    return widgets, list(await asyncio.gather(*starts, return_exceptions=True))


async def cached_a_while_ago(keys: KeyPair) -> tuple[GatedKeys, Omnichannel]:
    """An org whose key source fetched ``keys`` 120 s ago (past the refetch interval)."""
    clock = VirtualClock(start=START)
    endpoint = GatedKeys(keys.key_array())
    org = Omnichannel(clock=clock, key_source=endpoint.source())
    endpoint.release()
    await start(org, "https://idp.example/keys", keys)
    endpoint.gate.clear()
    clock.advance(120)
    return endpoint, org


async def test_a_start_during_a_key_refetch_waits_for_it_rather_than_judge_by_the_old_keys(
    demo_keys: KeyPair, rotated_keys: KeyPair
) -> None:
    endpoint, org = await cached_a_while_ago(demo_keys)
    endpoint.document = rotated_keys.key_array()  # the rotated kid refetches
    widgets, outcomes = await two_starts_while_fetching(org, endpoint, rotated_keys)
    assert [getattr(each, "customer_id", each) for each in outcomes] == ["contact-1"] * 2
    assert endpoint.requests == 2  # the first start's fetch, and one refetch for both
    assert widgets[1].timeline.find("public keys not refetched") == []


async def test_starts_that_meet_a_fetch_in_progress_share_its_answer_and_its_failure(
    demo_keys: KeyPair,
) -> None:
    endpoint = GatedKeys(demo_keys.key_array())
    org = Omnichannel(clock=VirtualClock(start=START), key_source=endpoint.source())
    _, outcomes = await two_starts_while_fetching(org, endpoint, demo_keys)
    assert all(isinstance(each, ChatSession) for each in outcomes)
    assert endpoint.requests == 1

    failing = GatedKeys(demo_keys.key_array())
    failing.status = 503
    org = Omnichannel(clock=VirtualClock(start=START), key_source=failing.source())
    _, outcomes = await two_starts_while_fetching(org, failing, demo_keys)
    assert failing.requests == 1
    for outcome in outcomes:
        assert isinstance(outcome, LcwError)
        assert outcome.code is ErrorCode.INVALID_AUTH_TOKEN
        assert "answered HTTP 503" in outcome.reason
    assert outcomes[0] is not outcomes[1]  # each start's own error, with its own traceback


async def test_a_start_whose_kid_the_fresh_cache_knows_does_not_wait_on_a_refetch(
    demo_keys: KeyPair, rotated_keys: KeyPair
) -> None:
    # Another start's refetch, for a kid the cache does not know, fails: this one needs none.
    endpoint, org = await cached_a_while_ago(demo_keys)
    endpoint.status = 503
    _, (rotated, known) = await two_starts_while_fetching(org, endpoint, rotated_keys, demo_keys)
    assert isinstance(rotated, LcwError) and "answered HTTP 503" in rotated.reason
    assert isinstance(known, ChatSession)


async def test_a_start_waiting_on_a_cancelled_fetch_fetches_for_itself(demo_keys: KeyPair) -> None:
    endpoint = GatedKeys(demo_keys.key_array())
    org = Omnichannel(clock=VirtualClock(start=START), key_source=endpoint.source())
    first, second = [await ready_widget(org, "https://idp.example/keys", demo_keys) for _ in "12"]
    fetching = asyncio.ensure_future(first.sdk.startChat())
    await until(lambda: endpoint.requests == 1)
    waiting = asyncio.ensure_future(second.sdk.startChat())
    await until(lambda: bool(second.timeline.find("auth token callback")))
    await asyncio.sleep(0)  # on to the wait for the first start's fetch
    assert endpoint.requests == 1  # the second start waits: it does not fetch as well
    fetching.cancel()
    await until(lambda: endpoint.requests == 2)  # the first's fetch gone, it fetches itself
    endpoint.release()
    assert (await waiting).customer_id == "contact-1"
    assert fetching.cancelled()
    assert endpoint.requests == 2


def test_key_sources_refuse_what_no_lookup_could_use_when_made(demo_keys: KeyPair) -> None:
    with pytest.raises(TypeError, match=r"got str: read PEM or JSON key text with load_public"):
        StaticKeySource(demo_keys.public_pem)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"keys must be PublicKey values, got str \(load_public"):
        StaticKeySource([demo_keys.public_pem])  # type: ignore[list-item]
    source = StaticKeySource(demo_keys.public_keys())
    with pytest.raises(TypeError, match="keys must be PublicKey values, got str"):
        source.keys = "abc"  # type: ignore[assignment]
    assert source.keys == demo_keys.public_keys()  # a refused rotation changed nothing
    source.keys = list(demo_keys.public_keys())
    assert source.keys == demo_keys.public_keys()
    for settings, why in [
        ({"timeout": "x"}, "timeout must be a number of seconds, got str 'x'"),
        ({"timeout": 0}, "timeout must be above 0 seconds (math.inf: no limit), got 0"),
        ({"max_age": -1}, "max_age must be 0 or more seconds (math.inf: no limit), got -1"),
        ({"refetch_interval": math.nan}, "refetch_interval must be 0 or more seconds"),
        ({"client": "x"}, "client must be an httpx.AsyncClient (or one like it, with get())"),
    ]:
        with pytest.raises((TypeError, ValueError), match=re.escape(why)):
            HttpKeySource(**settings)  # type: ignore[arg-type]
    # No limit is a limit too: never refetch for an unknown kid, never stale.
    never = HttpKeySource(refetch_interval=math.inf, max_age=math.inf, timeout=None)
    assert (never.refetch_interval, never.max_age, never.timeout) == (math.inf, math.inf, None)
    past_a_float = HttpKeySource(max_age=10**400)  # an int no float holds: infinity
    assert past_a_float.max_age == math.inf
