"""Scenario files and scripts: every bundled one passes, fast; the format's rules and refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import importlib.util
import logging
import math
import re
import time
import tomllib
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import jwt
import pytest
from scenario_texts import HEAD, ROOT, SCENARIOS, STARTED, run, scenario

from lcw_emulator import (
    ConfigurationError,
    ContextVariable,
    KeyPair,
    Omnichannel,
    ScenarioResult,
    ScenarioRun,
    VirtualClock,
    WorkStream,
    load_scenario,
    run_scenario,
)
from lcw_emulator.clock import ClockLimitError
from lcw_emulator.errors import whole_number
from lcw_emulator.events import typed_equal
from lcw_emulator.report import mermaid, render_text
from lcw_emulator.scenario import (
    EventPattern,
    ExpectError,
    ExpectEvents,
    ExpectNever,
    ExpectSession,
    ExpectWidget,
    Load,
    ProviderSpec,
    Scenario,
    SetAuthTokenProvider,
    SetContextProvider,
    StartChat,
    Step,
    Wait,
    is_work_stream_file,
    relative_time,
)
from lcw_emulator.scenario_runner import ScenarioStuck, auth_provider, context_provider
from lcw_emulator.token_providers import lwicontexts_text


def _is_scenario(path: Path) -> bool:
    return not is_work_stream_file(tomllib.loads(path.read_text(encoding="utf-8")))


BUNDLED = sorted(path for path in SCENARIOS.glob("*.toml") if _is_scenario(path))
SCRIPTS = sorted(path for path in SCENARIOS.glob("*.py") if path.name != "documented_sample.py")


def _script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scenario_script_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The chat starts at once; its provider calls back 4 s later.
SLOW_STARTED = (
    HEAD
    + """
[providers.slow]
claims = { sub = "c", iss = "contosohelp.com" }
delay = 4
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "slow"
[[steps]]
do = "start_chat"
"""
)


# -- every bundled scenario ----------------------------------------------------


def test_at_least_eight_scenarios_and_two_scripts_are_bundled() -> None:
    assert len(BUNDLED) >= 8
    assert len(SCRIPTS) >= 2


@pytest.mark.parametrize("path", BUNDLED, ids=[path.stem for path in BUNDLED])
def test_bundled_scenario_passes(path: Path) -> None:
    result = run_scenario(load_scenario(path))
    assert result.passed, render_text(result)
    assert result.checks, "a bundled scenario checks something"


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_bundled_script_passes(path: Path) -> None:
    result = asyncio.run(_script(path).scenario())
    assert result.passed, render_text(result)
    assert len(result.checks) >= 3


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_bundled_script_main_prints_the_report(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _script(path).main() == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "\x1b[" not in out


def test_all_bundled_scenarios_together_run_in_under_a_second() -> None:
    scripts = [_script(path) for path in SCRIPTS]  # importing is not running
    began = time.perf_counter()
    results = [run_scenario(load_scenario(path)) for path in BUNDLED]
    results += [asyncio.run(script.scenario()) for script in scripts]
    elapsed = time.perf_counter() - began
    assert all(result.passed for result in results)
    virtual = sum(result.end - result.start for result in results)
    assert virtual > 60  # they do wait on the clock...
    assert elapsed < 1.0, f"{len(results)} scenarios took {elapsed:.3f} s wall"  # ...for free


def test_the_bundled_scenarios_cover_the_documented_behaviour() -> None:
    scenarios = [load_scenario(path) for path in BUNDLED]
    steps = [step for item in scenarios for step in item.steps]
    codes = {step.code for step in steps if isinstance(step, ExpectError)}
    assert codes >= {1, 2, 3, 4, 7, 8}
    names = {path.stem for path in BUNDLED}
    assert {
        "documented_sample",
        "unauthenticated_custom_context",
        "context_precedence",
        "before_ready",
        "provider_timeout_exact",
        "vip_routing",
        "agent_ends_chat",
    } <= names
    # routing by a context variable reaches the VIP queue of contoso.toml
    assert any(isinstance(step, ExpectSession) and step.queue == "VIP" for step in steps)
    # the context provider meets customContext in one scenario
    precedence = load_scenario(SCENARIOS / "context_precedence.toml")
    assert any(isinstance(step, SetContextProvider) for step in precedence.steps)
    assert any(isinstance(step, StartChat) and step.custom_context for step in precedence.steps)
    # calls made before lcw:ready: some step comes before the load
    before = load_scenario(SCENARIOS / "before_ready.toml")
    assert not isinstance(before.steps[0], Load)


def test_the_documented_sample_scenario_uses_the_documented_payload() -> None:
    sample = load_scenario(SCENARIOS / "documented_sample.toml")
    claims = sample.providers["authTokenProvider"].claims
    assert claims == {
        "sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
        "lwicontexts": '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}',
        "iat": 1542622071,
        "iss": "contosohelp.com",
        "exp": 1542625672,
        "nbf": 1542622072,
    }
    assert sample.start == 1542622100


# -- the format ---------------------------------------------------------------


def test_start_takes_epoch_seconds_iso_text_or_a_toml_datetime() -> None:
    expect = '\n[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    base = 'workstream = "contoso.toml"\n'
    assert scenario(base + "start = 1542622100" + expect).start == 1542622100
    assert scenario(base + 'start = "2018-11-19T10:08:20Z"' + expect).start == 1542622100
    assert scenario(base + "start = 2018-11-19T10:08:20Z" + expect).start == 1542622100
    assert scenario(base + expect).start == 1_700_000_000
    for value, kind in (("2024-03-01", "date 2024-03-01"), ("10:08:20", "time 10:08:20")):
        with pytest.raises(ConfigurationError) as caught:
            scenario(base + f"start = {value}" + expect)
        assert str(caught.value).endswith(
            "start must be epoch seconds or an instant with a time zone, like "
            f"2018-11-19T10:08:20Z; got the {kind}"
        )


def test_a_start_that_reads_as_iso_text_but_is_no_day_says_what_is_wrong() -> None:
    expect = '\n[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    base = 'workstream = "contoso.toml"\n'
    for value, why in (
        ("2024-02-30T09:00:00Z", ": day is out of range for month"),
        ("2024-01-01T25:00:00Z", ": hour must be in 0..23"),
        ("the first of March", ""),
    ):
        with pytest.raises(ConfigurationError) as caught:
            scenario(base + f'start = "{value}"' + expect)
        assert str(caught.value).endswith(
            f"start must be epoch seconds or an ISO 8601 instant, got {value!r}{why}"
        ), caught.value


def test_waits_that_take_the_clock_past_its_end_are_refused_before_anything_runs() -> None:
    # One wait alone, or waits that add up: the run would stop at the step with a ValueError.
    base = 'workstream = "contoso.toml"\nstart = 1542622100\n'
    expect = '[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    wait = '[[steps]]\ndo = "wait"\nseconds = {}\n'
    for waits, failing in ((("1e11",), 1), (("5e10", "5e10"), 2)):
        with pytest.raises(ConfigurationError) as caught:
            scenario(base + "".join(wait.format(s) for s in waits) + expect)
        assert f"step {failing} (wait): seconds = " in str(caught.value), caught.value
        assert "the clocks stop short of 100000000000 (5138-11-16T09:46:40Z)" in str(caught.value)
    # Up to the last second before the end, the run goes on.
    last = 100_000_000_000 - 1542622100 - 1
    result = run(base + wait.format(last) + expect)
    assert result.passed, result.failures
    # So does a provider whose delay alone goes past it.
    slow = HEAD.replace(
        'lwicontexts = { msdyn_isvip = "true" } }', "lwicontexts = {} }\ndelay = 1e11"
    )
    with pytest.raises(ConfigurationError, match=r"provider 'good': delay = 1e\+11 takes the"):
        scenario(slow + '[[steps]]\ndo = "load"\n' + expect)


def test_a_provider_delay_counts_from_the_waits_before_the_step_that_sets_it() -> None:
    # 600 s of waits, then a provider 500 s late: past the end however soon it is called,
    # though 500 s from the start is not. Refused when read, naming the step that sets it.
    head = HEAD.replace("start = 1700000000", "start = 99999999000").replace(
        "[providers.good]",
        '[providers.slow]\nclaims = { sub = "c" }\ndelay = 500\n[providers.good]',
    )
    setting = '[[steps]]\ndo = "set_auth_token_provider"\nprovider = "slow"\n'
    text = (
        head
        + '[[steps]]\ndo = "load"\n[[steps]]\ndo = "wait"\nseconds = 600\n'
        + setting
        + '[[steps]]\ndo = "start_chat"\n[[steps]]\nexpect = "error"\ncode = 3\n'
    )
    with pytest.raises(ConfigurationError) as caught:
        scenario(text)
    assert (
        "provider 'slow': delay = 500 takes the virtual clock past its end however soon it is "
        "called, from step 3 (+600 s into the run), and the clocks stop short of 100000000000"
    ) in str(caught.value)
    # Set before the waits, whether a step calls it after them depends on the run (a queued
    # start replayed at the load, here): not refused when read, but told in one line when run.
    queued = (
        head
        + setting
        + '[[steps]]\ndo = "start_chat"\nwait = false\n'
        + '[[steps]]\ndo = "remove_auth_token_provider"\n'
        + '[[steps]]\ndo = "wait"\nseconds = 600\n[[steps]]\ndo = "load"\n'
        + '[[steps]]\nexpect = "widget"\nstate = "ready"\n'
    )
    result = run(queued)
    [failure] = [check for check in result.failures if "finishes" in check.expectation]
    assert failure.problem.startswith("the virtual clock cannot move to 100000000100: ")
    # Set and removed, or dropped with a reload, it is never called: the run passes.
    removing = '[[steps]]\ndo = "remove_auth_token_provider"\n'
    later = '[[steps]]\ndo = "wait"\nseconds = 600\n'
    loading = '[[steps]]\ndo = "load"\n'
    reloading = '[[steps]]\ndo = "reload"\n'
    ready = '[[steps]]\nexpect = "widget"\nstate = "ready"\n'
    for steps in (
        setting + removing + later + loading + ready,
        setting + later + reloading + loading + ready,
        loading + setting + removing + later + reloading + loading + ready,
    ):
        assert run(head + steps).passed, steps


async def test_the_clocks_end_under_a_provider_is_no_provider_failure() -> None:
    # Reached inside a page's provider, the end of virtual time is the emulator's limit: in a
    # browser the wait would just go on. It is not code 2 (or 1), which a check could claim.
    clock = VirtualClock(start=99_999_999_000)
    widget = Omnichannel(clock=clock).widget(WorkStream.from_toml(SCENARIOS / "contoso.toml"))
    coded: list[object] = []
    widget.addEventListener("lcw:error", lambda event: coded.append(event.detail))
    await widget.load()

    async def sleeps_past_the_end(callback: Callable[[str], None]) -> None:
        await clock.sleep(5000)

    async def context_past_the_end() -> dict[str, object]:
        await clock.sleep(5000)
        return {}

    widget.sdk.setAuthTokenProvider(sleeps_past_the_end)
    with pytest.raises(ClockLimitError, match="cannot move to 100000004000: ") as caught:
        await widget.sdk.startChat()
    assert caught.value.__cause__ is not caught.value
    public = Omnichannel(clock=clock).widget(
        WorkStream.from_toml(SCENARIOS / "workstreams" / "contoso_public.toml")
    )
    public.addEventListener("lcw:error", lambda event: coded.append(event.detail))
    await public.load()
    public.sdk.setContextProvider(context_past_the_end)
    with pytest.raises(ClockLimitError, match="cannot move to 100000004000: ") as caught:
        await public.sdk.startChat()
    assert coded == []
    assert caught.value.__cause__ is not caught.value  # a walk down its causes ends


def test_a_run_that_reaches_the_clocks_end_fails_its_step_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A provider timeout armed a few seconds before the end: no traceback, and what to do.
    near = STARTED.replace("start = 1700000000", "start = 99999999995").replace(
        'provider = "good"', 'provider = "slow"'
    )
    near = near.replace(
        "[providers.good]", '[providers.slow]\nclaims = { sub = "a" }\ndelay = 1\n[providers.good]'
    )
    result = run(near + '[[steps]]\nexpect = "never"\nevents = ["lcw:error"]\n')
    [failure] = [check for check in result.failures if "finishes" in check.expectation]
    assert failure.problem.startswith("the virtual clock cannot move to 100000000005: "), (
        failure.problem
    )
    assert failure.problem.endswith("(start the scenario earlier: start = ...)")
    gc.collect()  # the provider's answer, given up: nothing left for asyncio to complain of
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_script_wait_past_the_clocks_end_is_a_configuration_error() -> None:
    script = ScenarioRun(SCENARIOS / "contoso.toml", start=1542622100, name="script")
    with pytest.raises(ConfigurationError, match=r"seconds = 1e\+11 takes the virtual"):
        await script.wait(1e11)
    await script.wait(1)
    assert script.clock.now() == 1542622101


def test_a_provider_may_forget_to_stringify_lwicontexts_and_the_service_refuses_it() -> None:
    forgot = HEAD.replace(
        'lwicontexts = { msdyn_isvip = "true" } }',
        'lwicontexts = { msdyn_isvip = "true" } }\nstringify_lwicontexts = false',
    )
    text = (
        forgot
        + STARTED[len(HEAD) :]
        + (
            '[[steps]]\nexpect = "error"\ncode = 4\n'
            'reason = "lwicontexts must be a JSON-serialised string, got an object"\n'
        )
    )
    result = run(text)
    assert result.passed, render_text(result)
    expect = '[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    for setting, problem in (
        ("false", "it needs claims = {...} with lwicontexts as a table"),
        ('"no"', "stringify_lwicontexts must be true or false"),
    ):
        other = f'[providers.other]\nclaims = {{ sub = "c" }}\nstringify_lwicontexts = {setting}\n'
        with pytest.raises(ConfigurationError, match=problem):
            scenario(HEAD + other + expect)


def test_time_claims_take_a_toml_datetime_only_with_a_time_zone() -> None:
    # A local date-time would be read in the zone of the machine running the scenario.
    def claims(exp: str) -> str:
        return HEAD.replace('iss = "contosohelp.com"', f'iss = "contosohelp.com", exp = {exp}')

    expect = '\n[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    spec = scenario(claims("2018-11-19T11:08:20+01:00") + expect).providers["good"]
    assert spec.claims is not None and spec.claims["exp"] == 1542622100
    for value, problem in (
        ("2018-11-19T10:08:20", "claims.exp must carry a time zone, like 2018-11-19T10:08:20Z"),
        ("2018-11-19", "claims.exp must be epoch seconds or an instant with a time zone"),
    ):
        with pytest.raises(ConfigurationError, match=problem):
            scenario(claims(value) + expect)


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        (
            "lwicontexts = { since = 2020-01-01 }",
            "claims.lwicontexts.since is a TOML date (2020-01-01), which JSON has no form for",
        ),
        (
            "auth_time = 2018-11-19T10:08:00Z",
            "claims.auth_time is a TOML datetime (2018-11-19T10:08:00+00:00)",
        ),
        ("amr = [1, 09:30:00]", "claims.amr[1] is a TOML time (09:30:00)"),
        ("exp = inf", "claims.exp is inf, which JSON has no form for (RFC 8259)"),
        ("extra = { ratio = nan }", "claims.extra.ratio is nan"),
    ],
)
def test_claims_a_jwt_cannot_hold_are_refused_before_anything_runs(
    claims: str, problem: str
) -> None:
    # They used to fail inside the provider (code 2, blaming the page) or crash the run.
    text = HEAD.replace('lwicontexts = { msdyn_isvip = "true" }', claims)
    with pytest.raises(ConfigurationError, match=re.escape(f"provider 'good': {problem}")):
        scenario(text + '\n[[steps]]\ndo = "load"\n')


def test_values_nested_past_any_json_writer_are_refused_not_a_recursion_error() -> None:
    # Only the Python API can nest this deep (tomllib gives up first); the service itself
    # refuses JSON nested more than 64 deep, which a scenario may well want to show.
    deep: object = 0
    for _ in range(1000):
        deep = [deep]
    data = tomllib.loads(
        HEAD + '\n[[steps]]\ndo = "load"\n[[steps]]\nexpect = "never"\nevents = ["lcw:error"]\n'
    )
    data["providers"]["good"]["claims"]["extra"] = {"nested": deep}
    with pytest.raises(ConfigurationError) as caught:
        Scenario.from_dict(data, base_dir=SCENARIOS)
    assert "claims.extra is nested more than 256 levels deep" in str(caught.value)
    data["providers"]["good"]["claims"]["extra"] = {"nested": deep_list(100)}
    assert Scenario.from_dict(data, base_dir=SCENARIOS).providers["good"].claims is not None
    data["steps"].append(
        {"expect": "events", "events": [{"name": "lcw:error", "detail": {"errorCode": deep}}]}
    )
    with pytest.raises(ConfigurationError, match=re.escape("never an array like [[[[[[[...]")):
        Scenario.from_dict(data, base_dir=SCENARIOS)


def deep_list(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_relative_times() -> None:
    assert relative_time("+3600") == 3600
    assert relative_time("-60") == -60
    assert relative_time("now") == 0
    assert relative_time("+0.5") == 0.5
    assert relative_time("3600") is None
    assert relative_time(3600) is None


def test_minted_claims_are_relative_to_the_moment_the_provider_is_called() -> None:
    spec = load_scenario(SCENARIOS / "vip_routing.toml").providers["vipCustomer"]
    clock = VirtualClock(start=1000)
    provider = auth_provider(spec, clock)
    tokens: list[str] = []
    clock.advance(250)
    provider(tokens.append)
    claims = jwt.decode(tokens[0], options={"verify_signature": False})
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1250, 1250, 1250 + 3600)
    assert claims["lwicontexts"] == '{"msdyn_cartvalue": "5400.50", "msdyn_isvip": "true"}'
    assert provider.__name__ == "vipCustomer"


def test_a_delayed_token_is_minted_when_called_and_can_expire_in_transit() -> None:
    # A slow token service mints a 5 s token on request and hands it over 8 s later.
    result = run(
        HEAD
        + """
[providers.slowShortLived]
claims = { sub = "c", iss = "contosohelp.com", iat = "now", exp = "+5" }
delay = 8
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "slowShortLived"
[[steps]]
do = "start_chat"
[[steps]]
expect = "error"
code = 4
reason = "the token expired at exp 1700000005"
"""
    )
    assert result.passed, render_text(result)
    assert result.end == 1700000008


def test_a_delayed_provider_that_returns_the_token_still_gets_the_hint() -> None:
    result = run(
        HEAD
        + """
[providers.returnsIt]
claims = { sub = "c", iss = "contosohelp.com" }
kind = "returning"
delay = 2
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "returnsIt"
[[steps]]
do = "start_chat"
[[steps]]
expect = "error"
code = 3
reason = "the widget only takes the token passed to callback(token)"
"""
    )
    assert result.passed, render_text(result)


def test_omitted_claims_leave_the_token() -> None:
    result = run(
        STARTED.replace("[providers.good]", "[providers.good]\nomit = ['exp']")
        + """
[[steps]]
expect = "error"
code = 4
reason = "exp"
"""
    )
    assert result.passed, render_text(result)


def test_an_inline_hs256_work_stream_signs_with_its_own_secret() -> None:
    result = run(
        """
[workstream]
name = "Inline HS256"
auth = { algorithms = ["HS256"], secret = "s3cret-s3cret-s3cret-s3cret-s3cret" }
context_variables = [{ name = "tier", type = "Text" }]
[providers.hs]
claims = { sub = "c", iss = "x", lwicontexts = { tier = "gold" } }
[[steps]]
do = "load"
[[steps]]
do = "setAuthTokenProvider"
provider = "hs"
[[steps]]
do = "startChat"
[[steps]]
expect = "context"
values = { tier = "gold" }
"""
    )
    assert result.passed, render_text(result)
    assert result.work_stream == "Inline HS256"


def test_context_provider_specs_behave_as_described() -> None:
    async def call(spec: ProviderSpec) -> object:
        clock = VirtualClock(start=0)
        result = context_provider(spec, clock)()
        if asyncio.iscoroutine(result):
            return await clock.wait_for(result, 30)
        return result

    answer = ProviderSpec(name="c", context={"a": 1})
    assert asyncio.run(call(answer)) == {"a": 1}
    assert asyncio.run(call(ProviderSpec(name="g", kind="garbage", value=5))) == 5
    late = ProviderSpec(name="l", context={"a": 1}, delay=3)
    assert asyncio.run(call(late)) == {"a": 1}
    with pytest.raises(RuntimeError, match="token service unavailable"):
        asyncio.run(call(ProviderSpec(name="r", kind="raising")))
    with pytest.raises(TimeoutError):
        asyncio.run(call(ProviderSpec(name="n", kind="never")))


def test_a_page_that_does_not_wait_gets_the_outcome_later() -> None:
    result = run(
        HEAD
        + """
[providers.silent]
kind = "never"
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "silent"
[[steps]]
do = "start_chat"
wait = false
[[steps]]
expect = "never"
events = ["lcw:error"]
[[steps]]
do = "minimize"
[[steps]]
do = "wait"
seconds = 15
[[steps]]
expect = "events"
events = ["lcw:onMinimize", { name = "lcw:error", detail = { errorCode = 3 }, at = 10 }]
[[steps]]
expect = "error"
code = 3
step = 3
"""
    )
    assert result.passed, render_text(result)
    assert result.end - result.start == 15


def test_a_call_still_waiting_when_the_scenario_ends_is_reported_not_failed() -> None:
    result = run(
        HEAD
        + """
[[steps]]
do = "start_chat"
[[steps]]
expect = "widget"
queued = ["startChat"]
"""
    )
    assert result.passed
    assert result.unfinished == ("step 1 (start_chat) waits for lcw:ready when the scenario ended",)


# -- expectations that do not hold --------------------------------------------


def failing(text: str) -> ScenarioResult:
    result = run(text)
    assert not result.passed, render_text(result)
    return result


def problem_of(result: ScenarioResult) -> str:
    (check,) = result.failures
    assert check.problem is not None
    return check.problem


def test_events_out_of_order_fail() -> None:
    result = failing(
        STARTED + '[[steps]]\nexpect = "events"\nevents = ["lcw:chatQueued", "lcw:startChat"]\n'
    )
    assert problem_of(result) == "lcw:startChat happened, but not after lcw:chatQueued (order)"


def test_events_with_the_wrong_payload_fail_and_show_what_was_recorded() -> None:
    result = failing(
        STARTED
        + '[[steps]]\nexpect = "events"\n'
        + 'events = [{ name = "chat session created", detail = { queue = "General" } }]\n'
    )
    problem = problem_of(result)
    assert problem.startswith('chat session created {"queue": "General"} did not happen')
    assert '"queue": "VIP"' in problem  # the entry as recorded
    assert result.failures[0].scope  # and the entries it looked at


def test_events_at_the_wrong_time_or_too_late_fail() -> None:
    late = failing(
        STARTED + '[[steps]]\nexpect = "events"\nevents = [{ name = "lcw:chatQueued", at = 1 }]\n'
    )
    assert "lcw:chatQueued at +1s did not happen" in problem_of(late)
    slow = failing(
        SLOW_STARTED
        + """[[steps]]
expect = "events"
events = ["lcw:startChat", "lcw:chatQueued"]
within = 3
"""
    )
    assert problem_of(slow) == "lcw:chatQueued happened at +4s, later than within 3 s"


def test_never_fails_when_it_happened() -> None:
    result = failing(STARTED + '[[steps]]\nexpect = "never"\nevents = ["lcw:chatQueued"]\n')
    assert problem_of(result) == "lcw:chatQueued happened at +0s"


def test_never_within_a_bound_ignores_what_comes_later() -> None:
    result = run(
        SLOW_STARTED
        + """[[steps]]
expect = "never"
events = ["lcw:chatQueued"]
within = 3.9
"""
    )
    assert result.passed, render_text(result)


def test_an_error_nobody_expected_fails_the_scenario() -> None:
    result = failing(
        HEAD + '[[steps]]\ndo = "load"\n[[steps]]\ndo = "start_chat"\n'
        '[[steps]]\nexpect = "widget"\nstate = "ready"\n'
    )
    (check,) = result.failures
    assert check.step == 2
    assert check.expectation == "every error a step raises is expected"
    assert "step 2 (start_chat) raised [8] Auth function cannot be found on webpage" in str(
        check.problem
    )


def test_an_expected_error_that_did_not_come_fails() -> None:
    none = failing(STARTED + '[[steps]]\nexpect = "error"\ncode = 2\n')
    assert problem_of(none) == "expected an error with code 2; no step raised any"
    other = failing(
        HEAD + '[[steps]]\ndo = "load"\n[[steps]]\ndo = "start_chat"\n'
        '[[steps]]\nexpect = "error"\ncode = 3\n'
    )
    problems = [check.problem for check in other.failures]
    assert problems[0] is not None and problems[0].startswith(
        "expected an error with code 3; raised instead: step 2 (start_chat) raised [8]"
    )


def test_context_session_availability_and_widget_mismatches_say_what_they_saw() -> None:
    result = run(
        STARTED
        + """
[[steps]]
expect = "context"
values = { msdyn_isvip = "false" }
[[steps]]
expect = "session"
state = "active"
queue = "VIP"
[[steps]]
expect = "availability"
isAgentAvailable = true
[[steps]]
expect = "widget"
minimized = true
"""
    )
    problems = [check.problem for check in result.failures]
    assert problems == [
        'context is {"msdyn_isvip": "true"}, expected {"msdyn_isvip": "false"}',
        'state is "queued", expected "active"; chat-0001: queued at +0s (chat started)',
        "getAgentAvailability never answered (no lcw:getAgentAvailability event)",
        "minimized is false, expected true",
    ]


def test_booleans_are_not_numbers_in_expectations() -> None:
    # The samples declare msdyn_isvip as Text, as a real org does; this work stream declares the
    # emulator's Boolean, so the context holds a real boolean to compare with 1.
    declares_a_boolean = """
name = "test"
start = 1700000000
[workstream]
name = "msdyn_isvip declared Boolean"
[[workstream.context_variables]]
name = "msdyn_isvip"
type = "Boolean"
[[steps]]
do = "load"
[[steps]]
do = "start_chat"
custom_context = { msdyn_isvip = "true" }
"""
    result = failing(
        declares_a_boolean + '[[steps]]\nexpect = "context"\nincludes = { msdyn_isvip = 1 }\n'
    )
    assert problem_of(result) == 'context {"msdyn_isvip": true} lacks {"msdyn_isvip": 1}'


# -- malformed scenarios are refused before anything runs -----------------------

MALFORMED = {
    "unknown action": (
        '[[steps]]\ndo = "lod"\n',
        "test.toml: step 1: unknown action 'lod'",
    ),
    "both do and expect": (
        '[[steps]]\ndo = "load"\nexpect = "events"\n',
        "test.toml: step 1: a step has either do",
    ),
    "unknown key": (
        '[[steps]]\ndo = "load"\n[[steps]]\ndo = "start_chat"\ncustom_contxt = {}\n',
        "test.toml: step 2 (start_chat): unknown key 'custom_contxt' (did you mean "
        "'custom_context'?)",
    ),
    "an lcw:error detail's name for a key": (
        '[[steps]]\ndo = "load"\n[[steps]]\nexpect = "error"\nerrorCode = 3\n',
        "test.toml: step 2 (expect error): unknown key 'errorCode' (did you mean 'code'?)",
    ),
    "the SDK's JavaScript spelling of an argument": (
        '[[steps]]\ndo = "load"\n[[steps]]\ndo = "startChat"\ncustomContext = {}\n',
        "test.toml: step 2 (start_chat): unknown key 'customContext' (did you mean "
        "'custom_context'?)",
    ),
    "missing argument": (
        '[[steps]]\ndo = "wait"\n',
        "test.toml: step 1 (wait): needs seconds",
    ),
    "negative wait": (
        '[[steps]]\ndo = "wait"\nseconds = -1\n',
        "test.toml: step 1 (wait): seconds cannot be below 0",
    ),
    "wrong type": (
        '[[steps]]\ndo = "send_message"\ntext = 5\n',
        "test.toml: step 1 (send_message): text must be a string",
    ),
    "unknown provider": (
        '[[steps]]\ndo = "set_auth_token_provider"\nprovider = "nope"\n',
        "test.toml: step 1 (set_auth_token_provider): no provider named 'nope'",
    ),
    "a context provider for auth": (
        "[providers.c]\ncontext = { a = 1 }\n"
        '[[steps]]\ndo = "set_auth_token_provider"\nprovider = "c"\n',
        "test.toml: step 1 (set_auth_token_provider): provider 'c' answers with a context",
    ),
    "a token provider for context": (
        '[providers.t]\ntoken = "x.y.z"\n[[steps]]\ndo = "set_context_provider"\nprovider = "t"\n',
        "test.toml: step 1 (set_context_provider): provider 't' answers with a token",
    ),
    "a misspelt event": (
        '[[steps]]\nexpect = "events"\nevents = ["lcw:chatqueued"]\n',
        "test.toml: step 1 (expect events): events[0]: 'lcw:chatqueued' is not a documented event",
    ),
    "an undocumented code": (
        '[[steps]]\ndo = "load"\n[[steps]]\nexpect = "error"\ncode = 5\n',
        "test.toml: step 2 (expect error): code 5 is not a documented lcw:error code",
    ),
    "since a later step": (
        '[[steps]]\ndo = "load"\n[[steps]]\nexpect = "events"\nsince = 2\nevents = ["lcw:ready"]\n',
        "test.toml: step 2 (expect events): since = 2 must name an earlier step (1)",
    ),
    "an unknown state": (
        '[[steps]]\nexpect = "session"\nstate = "open"\n',
        "test.toml: step 1 (expect session): state must be one of queued, active, ended,",
    ),
    "an empty expectation": (
        '[[steps]]\nexpect = "session"\n',
        "test.toml: step 1 (expect session): says nothing to check",
    ),
    "an error with neither code nor type": (
        '[[steps]]\nexpect = "error"\nreason = "x"\n',
        "test.toml: step 1 (expect error): name the error",
    ),
    "no expectation at all": (
        '[[steps]]\ndo = "load"\n',
        "test.toml: a scenario with no expect step checks nothing",
    ),
    "no steps": ("", "test.toml: a scenario needs steps"),
    "claims with no key": (
        '[providers.p]\nclaims = { sub = "x" }\n[[steps]]\nexpect = "widget"\nstate = "ready"\n',
        "test.toml: provider 'p': claims are minted into a token, which needs a signing key",
    ),
    "an answer for a provider that gives none": (
        '[providers.p]\ntoken = "a.b.c"\nkind = "never"\n'
        '[[steps]]\nexpect = "widget"\nstate = "ready"\n',
        "test.toml: provider 'p': kind 'never' gives no answer; drop token",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED), ids=sorted(MALFORMED))
def test_malformed_scenarios_are_refused_with_file_step_and_problem(case: str) -> None:
    body, message = MALFORMED[case]
    if "[[steps]]" in body and "expect" not in body and case != "no expectation at all":
        # One problem per file here: without an expect step, that would be a second one.
        body += '[[steps]]\nexpect = "widget"\nstate = "ready"\n'
    with pytest.raises(ConfigurationError) as caught:
        scenario('workstream = "contoso.toml"\n' + body)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_relative_time_must_be_signed() -> None:
    with pytest.raises(ConfigurationError, match=r"claims.exp must be epoch seconds or relative"):
        scenario(
            'workstream = "contoso.toml"\nprivate_key = "keys/private.pem"\n'
            '[providers.p]\nclaims = { sub = "x", exp = "3600" }\n'
            '[[steps]]\nexpect = "widget"\nstate = "ready"\n'
        )


def test_file_level_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"missing\.toml: cannot read scenario file"):
        load_scenario(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.toml: not valid TOML"):
        load_scenario(broken)
    with pytest.raises(ConfigurationError, match="looks like a work stream file"):
        load_scenario(SCENARIOS / "contoso.toml")
    nowhere = tmp_path / "nowhere.toml"
    nowhere.write_text('workstream = "absent.toml"\n[[steps]]\ndo = "load"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"workstream = 'absent.toml': .*cannot read"):
        load_scenario(nowhere)


# -- the Python API -------------------------------------------------------------


async def test_a_script_drives_a_run_step_by_step(demo_keys: KeyPair) -> None:
    run = ScenarioRun(SCENARIOS / "contoso.toml", start=1542622100, name="script")

    def authTokenProvider(callback: Callable[[str], None]) -> None:
        now = int(run.clock.now())
        callback(
            demo_keys.mint({"sub": "c", "iss": "contosohelp.com", "iat": now, "exp": now + 60})
        )

    await run.load()
    await run.set_auth_token_provider(authTokenProvider)
    session = await run.start_chat()
    assert session is not None and session is run.session
    assert run.last_step == 3
    check = await run.expect_events("lcw:ready", EventPattern(name="lcw:chatQueued"), within=0)
    assert check.passed and check.step == 4
    await run.agent_accepts("Kim")
    await run.agent_says("Hello")
    await run.send_message("Hi")
    assert (await run.expect_session(state="active", agent="Kim", messages=2)).passed
    assert await run.get_auth_token_provider() == "authTokenProvider"
    availability = await run.get_agent_availability()
    assert availability is not None and availability["isAgentAvailable"] is True
    assert (await run.expect_availability(positionInQueue=1)).passed
    assert not (await run.expect_widget(minimized=True)).passed
    await run.reload()
    assert (await run.expect_events("page reloaded", "lcw:ready", "lcw:chatRetrieved")).passed
    assert run.session is session
    result = await run.finish()
    assert await run.finish() is result
    assert [check.passed for check in result.checks] == [True, True, True, False, True]
    with pytest.raises(RuntimeError, match="finished"):
        await run.load()


async def test_errors_in_a_script_are_kept_for_expect_error() -> None:
    run = ScenarioRun(SCENARIOS / "contoso.toml")
    await run.load()
    assert await run.start_chat() is None
    assert (await run.expect_error(8, step=2)).passed
    await run.agent_ends()
    assert (await run.expect_error(type="ChatStateError", reason="no chat has started")).passed
    assert (await run.expect_context(dropped=[], created=[])).problem == (
        "no chat session was created"
    )
    result = await run.finish()
    assert [error.claimed_by for error in result.errors] == [3, 5]


async def test_a_step_that_waits_forever_is_stuck_not_hung() -> None:
    run = ScenarioRun(SCENARIOS / "contoso.toml", step_timeout=0.05)
    forever: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @run.widget.on("lcw:ready")
    async def handler() -> None:
        await forever  # nothing in virtual time will ever resolve this

    result = await run.run_all([Load(), ExpectWidget(state="ready")])
    (check,) = result.failures
    assert check.expectation == "step 1 (load) finishes"
    assert "did not finish within 0.05 wall seconds" in str(check.problem)
    stuck = ScenarioRun(SCENARIOS / "contoso.toml", step_timeout=0.05)
    stuck.widget.on("lcw:ready", handler)
    with pytest.raises(ScenarioStuck, match="step 1 \\(load\\) did not finish"):
        await stuck.load()  # the Python API raises
    # A script that catches it and goes on still ends failed, the stuck step in its place.
    await stuck.expect_widget(state="ready")
    after = await stuck.finish()
    assert not after.passed
    assert [record.step.verb for record in after.steps] == ["load", "widget"]
    assert [check.expectation for check in after.failures] == ["step 1 (load) finishes"]
    forever.cancel()


def test_scenario_values_are_frozen() -> None:
    sample = load_scenario(SCENARIOS / "documented_sample.toml")
    with pytest.raises(AttributeError):
        sample.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        sample.steps[0].number = 9  # type: ignore[misc]
    assert [step.number for step in sample.steps] == list(range(1, len(sample.steps) + 1))


# -- the format reference stays true --------------------------------------------

DOCS = ROOT / "docs" / "scenarios.md"


def _toml_blocks() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return [block.split("\n```")[0] for block in text.split("```toml\n")[1:]]


@pytest.mark.parametrize("index", range(len(_toml_blocks())))
def test_every_toml_example_in_the_format_reference_is_accepted(index: int) -> None:
    block = _toml_blocks()[index]
    if "workstream" in block:
        text = block
    elif block.lstrip().startswith("[[steps]]"):
        # A step on its own: give it a file and enough steps before it for since/step.
        text = 'workstream = "contoso.toml"\n' + '[[steps]]\ndo = "load"\n' * 10 + block
    else:
        text = (
            'workstream = "contoso.toml"\nprivate_key = "keys/private.pem"\n'
            + block
            + '\n[[steps]]\nexpect = "widget"\nstate = "ready"\n'
        )
    scenario(text)


def test_the_diagram_in_the_format_reference_is_the_real_one() -> None:
    text = DOCS.read_text(encoding="utf-8")
    shown = text.split("```mermaid\n")[1].split("```")[0]
    result = run_scenario(load_scenario(SCENARIOS / "provider_timeout_exact.toml"))
    assert shown == mermaid(result) + "\n"


def test_signing_key_problems_are_refused_as_configuration(tmp_path: Path) -> None:
    public = (SCENARIOS / "keys" / "public.pem").resolve()
    (tmp_path / "ws.toml").write_text(
        f'name = "x"\n[auth]\npublic_key = "{public}"\nsecret = "s"\nalgorithms = ["RS256"]\n',
        encoding="utf-8",
    )
    (tmp_path / "binary.pem").write_bytes(b"0\x82\x04\xa4\xff\xfe")
    steps = '[providers.p]\nclaims = { sub = "x" }\n[[steps]]\ndo = "load"\n'

    def load(text: str) -> Scenario:
        return Scenario.from_dict(tomllib.loads(text), base_dir=tmp_path, source="test.toml")

    # A secret the work stream keeps for no HS algorithm signs nothing.
    with pytest.raises(ConfigurationError, match="needs a signing key"):
        load('workstream = "ws.toml"\n' + steps)
    with pytest.raises(ConfigurationError, match=r"binary\.pem is not PEM text"):
        load('workstream = "ws.toml"\nprivate_key = "binary.pem"\n' + steps)


OPEN_STREAM = WorkStream("Open")
READY = EventPattern(name="lcw:ready")
STEPS_NO_FILE_COULD_HOLD = [
    (ExpectNever(events=()), "step 2 (expect never): events must be a non-empty list"),
    (ExpectEvents(events=()), "step 2 (expect events): events must be a non-empty list"),
    (ExpectSession(), "step 2 (expect session): says nothing to check"),
    (Wait(seconds=-1), "step 2 (wait): seconds cannot be below 0, got -1"),
    (ExpectEvents(events=(READY,), since=0), "since = 0 must name an earlier step (1)"),
    (ExpectEvents(events=(READY,), since=99), "since = 99 must name an earlier step (1)"),
    (ExpectError(type="KeyError"), "type must be one of LcwError, SdkUsageError"),
]


@pytest.mark.parametrize(("step", "why"), STEPS_NO_FILE_COULD_HOLD)
def test_a_step_built_in_code_meets_a_file_s_rules_before_anything_runs(
    step: Step, why: str
) -> None:
    # Each passed, having checked nothing, or crashed deep in the run.
    built = Scenario(name="in code", work_stream=OPEN_STREAM, steps=(Load(), step))
    with pytest.raises(ConfigurationError, match=re.escape(why)):
        run_scenario(built)


async def test_a_script_s_own_step_is_checked_and_a_good_one_still_runs() -> None:
    run = ScenarioRun(OPEN_STREAM)
    await run.load()
    with pytest.raises(ConfigurationError, match="events must be a non-empty list"):
        await run.run(ExpectEvents(events=()))
    with pytest.raises(TypeError, match=r"a scenario step must be a Step .*got str 'load'"):
        await run.run("load")  # type: ignore[arg-type]
    check = await run.run(ExpectEvents(events=("lcw:ready",)))  # type: ignore[arg-type]
    assert check.passed and check.step == 2  # the refused steps took no number
    result = await run.finish()
    assert result.passed, render_text(result)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"kind": "bogus"}, "provider 'p': kind must be one of answer, twice, returning"),
        ({"claims": {"sub": "c"}}, "provider 'p': claims are minted into a token, which needs"),
        ({"token": 42}, "provider 'p': token must be a string, got int 42"),
        ({"delay": "5"}, "provider 'p': delay must be a number of seconds, got str '5'"),
        ({"delay": -5}, "provider 'p': delay cannot be below 0, got -5"),
        ({"context": "notamap"}, "provider 'p': context must be a mapping, got str"),
        ({"message": 5}, "provider 'p': message must be a string, got int 5"),
        ({"claims": {"exp": math.nan}, "signer": "s" * 32}, "claims.exp is nan, which JSON"),
        ({"claims": {"exp": "+1h"}, "signer": "s" * 32}, "claims.exp must be epoch seconds or"),
        (
            {"claims": {"roles": {"agent"}}, "signer": "s" * 32},
            "claims.roles cannot be minted into a token: Object of type set is not JSON",
        ),
    ],
)
def test_a_provider_spec_built_in_code_is_refused_where_it_is_built(
    spec: dict[str, object], why: str
) -> None:
    # Met at chat start, each was the page's code 2, which a scenario expecting it would take.
    with pytest.raises((TypeError, ValueError), match=re.escape(why)):
        ProviderSpec(name="p", **spec)  # type: ignore[arg-type]
    # What the token is minted from as it is stays allowed: a datetime exp, "+3600", "now".
    claims = {"exp": dt.datetime(2030, 1, 1), "nbf": "now", "iat": "-60"}
    assert ProviderSpec(name="p", claims=claims, signer="s" * 32).claims == claims


async def test_a_run_s_settings_and_a_single_key_are_refused_as_given() -> None:
    for settings, why in [
        ({"step_timeout": "5"}, "step_timeout must be a number of seconds, got str '5'"),
        ({"step_timeout": 0}, "step_timeout must be above 0 seconds (math.inf: no limit), got 0"),
        ({"start": "2024-03-01"}, "start must be a number of seconds, got str '2024-03-01'"),
    ]:
        with pytest.raises((TypeError, ValueError), match=re.escape(why)):
            ScenarioRun(OPEN_STREAM, **settings)  # type: ignore[arg-type]
    for no_limit in (None, math.inf):  # a step paused in a debugger is not stuck
        unbounded = ScenarioRun(OPEN_STREAM, step_timeout=no_limit)
        await unbounded.load()
        assert (await unbounded.finish()).passed
    run = ScenarioRun(WorkStream("Typed", [ContextVariable("n", "Number")]))
    await run.load()
    await run.start_chat(custom_context={"n": "many"})
    # A lone key was split into its letters: "n" passed by luck, and so did "nn".
    with pytest.raises(ConfigurationError, match="dropped must list keys"):
        await run.expect_context(dropped="n")
    assert (await run.expect_context(dropped=["n"])).passed


def test_no_scenario_file_or_table_is_named_as_such() -> None:
    with pytest.raises(ConfigurationError, match="an empty path names no scenario file"):
        load_scenario("")  # not the current directory, refused as one
    with pytest.raises(TypeError, match="a scenario file's path must be a path, got NoneType"):
        load_scenario(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="a scenario must be a table, got NoneType"):
        Scenario.from_dict(None)  # type: ignore[arg-type]


async def test_a_script_may_hand_the_sdk_what_no_file_can_and_see_it_refused() -> None:
    # The page's own mistakes (no function at all) are the SDK's to refuse, as a page's are.
    run = ScenarioRun(OPEN_STREAM)
    await run.load()
    for not_a_function in (None, "abc", 42, {}):
        await run.set_context_provider(not_a_function)  # type: ignore[arg-type]
        await run.set_auth_token_provider(not_a_function)  # type: ignore[arg-type]
    assert (await run.expect_error(type="SdkUsageError")).passed
    assert (await run.finish()).passed


async def test_run_all_checks_every_step_before_any_runs() -> None:
    run = ScenarioRun(OPEN_STREAM)
    with pytest.raises(TypeError, match=r"a scenario step must be a Step .*got str 'start_chat'"):
        await run.run_all([Load(), "start_chat"])  # type: ignore[list-item]
    assert len(run.widget.timeline) == 0  # the Load() before it did not run either


async def test_numbers_in_steps_built_in_code_are_taken_as_the_clocks_take_them() -> None:
    run = ScenarioRun(OPEN_STREAM)
    await run.load()
    await run.run(Wait(seconds=Fraction(1, 2)))  # type: ignore[arg-type]
    assert run.clock.now() == run.start + 0.5
    await run.run(SetAuthTokenProvider(provider=None))  # type: ignore[arg-type]
    check = await run.run(ExpectError(type="SdkUsageError", step=3.0))  # type: ignore[arg-type]
    assert check.passed  # a whole float is the whole number it stands for
    with pytest.raises(ConfigurationError, match=r"step must be a whole number, got float 2\.5"):
        await run.run(ExpectError(type="SdkUsageError", step=2.5))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "why"),
    [
        ('expect = "error"\ncode = 8.0', "code must be a whole number, got float 8.0"),
        ('expect = "session"\nmessages = -1', "messages cannot be below 0, got -1"),
        (
            'expect = "session"\nsessions = 1e300',
            "sessions must be a whole number, got float 1e+300",
        ),
    ],
)
def test_a_file_writes_whole_numbers_as_whole_numbers(step: str, why: str) -> None:
    # A step built in code may give 8.0 for 8; a file writes 8, and a count is not negative.
    with pytest.raises(ConfigurationError, match=re.escape(why)):
        scenario(STARTED + "[[steps]]\n" + step + "\n")


async def test_a_provider_built_in_code_as_a_file_gives_it_is_read_as_a_file_s() -> None:
    run = ScenarioRun(OPEN_STREAM)
    await run.load()
    await run.run(SetContextProvider(provider={"kind": "never"}))  # type: ignore[arg-type]
    assert run.widget.context_provider is not None  # a table: read as [providers.NAME] is
    with pytest.raises(ConfigurationError, match="no provider named 'regular'"):
        await run.run(SetAuthTokenProvider(provider="regular"))  # type: ignore[arg-type]


def test_a_whole_number_is_read_exactly_whatever_its_type() -> None:
    assert whole_number(Decimal("9007199254740993"), "n") == 9007199254740993  # past 2**53
    assert whole_number(8.0, "n") == 8
    for not_whole in (Decimal("1.0000000000000001"), Fraction(1, 2), math.inf, Decimal("NaN")):
        with pytest.raises(ValueError, match="n must be a whole number"):
            whole_number(not_whole, "n")


async def test_a_decimal_a_script_expects_is_the_number_it_stands_for() -> None:
    run = ScenarioRun(WorkStream("Typed", [ContextVariable("cart", "Number")]))
    await run.load()
    await run.start_chat(custom_context={"cart": "1249.90"})
    check = await run.expect_context(includes={"cart": Decimal("1249.90")})
    assert check.passed, check.problem  # not the text "1249.90"


def test_numbers_no_double_holds_stay_distinct_and_are_written_past_a_double() -> None:
    assert not typed_equal(Decimal("1e400"), Decimal("2e400"))
    assert not typed_equal(Decimal("1e400"), math.inf)  # finite, however large
    assert not typed_equal(Decimal("sNaN"), 1)  # equal to nothing, and no exception
    assert typed_equal(Decimal(10**400), 10**400) and typed_equal(Decimal("1249.90"), 1249.9)
    # Past a double, however far (1e1000000 too, at once): the first whole number past one,
    # which Omnichannel refuses as it would the number meant.
    past = str(2**1024)
    written = lwicontexts_text(
        {"big": Decimal("1e1000000"), "huge": Fraction(10**400, 3), "low": Decimal("-1e400")}
    )
    assert written == f'{{"big": {past}, "huge": {past}, "low": -{past}}}'


def test_a_scenario_start_built_in_python_as_a_length_of_time_is_refused_as_no_moment() -> None:
    data = tomllib.loads(STARTED)
    data["start"] = dt.timedelta(hours=1)
    with pytest.raises(ConfigurationError, match="start is a moment: give epoch seconds or a"):
        Scenario.from_dict(data, base_dir=SCENARIOS)
