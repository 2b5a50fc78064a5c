"""The report of a run: stable text, colour only on request, the JSON shape, Mermaid that parses."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from scenario_texts import HEAD, run

from lcw_emulator import ScenarioResult, load_scenario, run_scenario
from lcw_emulator.report import (
    _text,
    mermaid,
    mermaid_markdown,
    render_entry,
    render_text,
    summary_line,
    to_dict,
    use_color,
    verdict_line,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def result_of(name: str) -> ScenarioResult:
    return run_scenario(load_scenario(SCENARIOS / f"{name}.toml"))


def test_the_same_scenario_renders_the_same_text_every_time() -> None:
    for name in ("documented_sample", "provider_timeout_exact", "error_7_load_failure"):
        first, second = result_of(name), result_of(name)
        assert render_text(first) == render_text(second)
        assert json.dumps(to_dict(first)) == json.dumps(to_dict(second))
        assert mermaid(first) == mermaid(second)


def test_the_documented_sample_timeline() -> None:
    text = render_text(result_of("documented_sample"))
    lines = text.splitlines()
    source = SCENARIOS / "documented_sample.toml"
    assert lines[0] == f"== {source}: The documentation's authenticated sample"
    assert lines[1] == (
        "   work stream 'Contoso help', virtual clock from 1542622100 (2018-11-19T10:08:20Z)"
    )
    body = "\n".join(lines[4:])
    assert "1  load\n       +0.000  event     lcw:ready\n" in body
    assert '       +0.000  sdk       setAuthTokenProvider  provider="authTokenProvider"' in body
    assert (
        '       +0.000  service   chat session created  session="chat-0001" queue="General" '
        'context={"msdyn_cartvalue": 10000, "msdyn_isvip": "false"} dropped=[]'
    ) in body
    assert re.search(
        r"^6  expect context: .* ok  # msdyn_cartvalue became a Number; msdyn_isvip stays Text$",
        body,
        re.M,
    )
    assert lines[-1].startswith("PASS  ") and lines[-1].endswith(
        "The documentation's authenticated sample  (4 of 4 checks held, 0 s virtual)"
    )


def test_virtual_time_is_shown_since_the_start_and_errors_under_their_step() -> None:
    text = render_text(result_of("provider_timeout_exact"))
    assert "      +10.000  provider  auth token callback" in text
    assert (
        '      +20.000  event     lcw:error  errorCode=3 errorDescription="Auth token provider '
        'didn\'t provide any token" reason="the provider did not call back within 10 s"'
    ) in text
    assert (
        "raised  [3] Auth token provider didn't provide any token: "
        "the provider did not call back within 10 s (expected by step 11)"
    ) in text


def test_plain_unless_colour_is_asked_for() -> None:
    result = result_of("error_4_invalid_token")
    plain = render_text(result)
    coloured = render_text(result, color=True)
    assert not ANSI.search(plain)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain
    assert "\x1b[31m\x1b[1mlcw:error" in coloured  # errors stand out


def test_use_color_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Terminal()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Terminal()) is False


def test_a_failure_shows_the_step_the_expectation_and_what_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(
        f'workstream = "{SCENARIOS / "contoso.toml"}"\n'
        '[[steps]]\ndo = "load"\n'
        '[[steps]]\nexpect = "events"\nevents = ["lcw:ready", "lcw:chatQueued"]\n',
        encoding="utf-8",
    )
    result = run_scenario(load_scenario(path))
    text = render_text(result)
    tail = text[text.index("\nFAIL  ") :].splitlines()
    assert tail[1:] == [
        f"FAIL  {path}  wrong  (1 of 1 checks failed, 0 s virtual)",
        "  step 2: expect events: lcw:ready, lcw:chatQueued",
        "    what went wrong: lcw:chatQueued did not happen after lcw:ready",
        "    recorded by then:",
        "        +0.000  event     lcw:ready",
    ]
    assert "2  expect events: lcw:ready, lcw:chatQueued  FAILED\n" in text


def test_a_failed_state_check_says_it_shows_the_lcw_events(tmp_path: Path) -> None:
    # Two SDK calls are queued, but a state check lists the lcw:* events, and there are none.
    path = tmp_path / "queued.toml"
    path.write_text(
        f'workstream = "{SCENARIOS / "contoso.toml"}"\n'
        '[providers.p]\ntoken = "x"\n'
        '[[steps]]\ndo = "set_auth_token_provider"\nprovider = "p"\n'
        '[[steps]]\nexpect = "widget"\nauth_token_provider = true\n',
        encoding="utf-8",
    )
    text = render_text(run_scenario(load_scenario(path)))
    tail = text[text.index("\nFAIL  ") :].splitlines()
    assert tail[-3:] == [
        "  step 2: expect widget: auth_token_provider=true",
        "    what went wrong: auth_token_provider is false, expected true",
        "    lcw:* events fired by then: none",
    ], text


def test_render_entry() -> None:
    entry = result_of("documented_sample").timeline[0]
    assert render_entry(entry, entry.at - 1.5) == "    +1.500  event     lcw:ready"


def test_verdict_line_counts_checks() -> None:
    result = result_of("vip_routing")
    assert verdict_line(result).endswith("(8 of 8 checks held, 120 s virtual)")


def test_the_json_report() -> None:
    report = to_dict(result_of("error_3_no_token"))
    assert report["passed"] is True
    assert report["name"] == "Error 3: the auth token provider gives no token"
    assert report["work_stream"] == "Contoso help"
    assert report["end"] - report["start"] == 20
    assert {
        "step": 4,
        "expectation": report["checks"][0]["expectation"],
        "passed": True,
        "problem": None,
    } == report["checks"][0]
    first_error = report["errors"][0]
    assert first_error == {
        "step": 3,
        "verb": "start_chat",
        "code": 3,
        "type": "LcwError",
        "message": "Auth token provider didn't provide any token",
        "reason": "the provider did not call back within 10 s",
        "expected_by": 5,
    }
    step = report["steps"][2]
    assert step["verb"] == "start_chat" and step["kind"] == "action"
    assert step["started"] == 0 and step["ended"] == 10
    error_entry = report["timeline"][step["entries"][1] - 1]
    assert error_entry["name"] == "lcw:error" and error_entry["offset"] == 10
    assert error_entry["detail"]["errorCode"] == 3
    json.dumps(report)  # all of it is JSON


_ACTOR = "(Page|Widget|Provider|Omnichannel)"
_STATEMENT = re.compile(
    r"^(sequenceDiagram"
    r"|    participant \w+( as [\w ]+)?"
    rf"|    {_ACTOR}(->>|-->>|--x|-x){_ACTOR}: (?:[^;#%<>\n]|#\w+;)+"
    rf"|    Note over {_ACTOR}(,{_ACTOR})?: (?:[^;#%<>\n]|#\w+;)+)$"
)


@pytest.mark.parametrize(
    "name",
    [path.stem for path in sorted(SCENARIOS.glob("*.toml")) if path.stem != "contoso"],
)
def test_every_diagram_line_is_a_mermaid_statement(name: str) -> None:
    diagram = mermaid(result_of(name))
    lines = diagram.splitlines()
    assert lines[:5] == [
        "sequenceDiagram",
        "    participant Page",
        "    participant Widget as Live chat widget",
        "    participant Provider as Page providers",
        "    participant Omnichannel",
    ]
    for line in lines:
        assert _STATEMENT.match(line), line
        assert len(line) < 140


def test_diagram_text_keeps_every_character_as_a_mermaid_entity() -> None:
    # ";" would end the statement, "#" start an entity, "%%" a comment, "<" HTML on GitHub.
    text = _text("Order #123; ships -->> 50%% <b>")
    assert text == "Order #35;123#59; ships --#gt;#gt; 50#37;#37; #lt;b#gt;"


def test_the_diagram_tells_the_auth_flow() -> None:
    diagram = mermaid(result_of("documented_sample"))
    assert diagram.splitlines()[5:] == [
        "    Note over Page,Omnichannel: +0 s, 1542622100 (2018-11-19T10:08:20Z)",
        "    Widget-->>Page: lcw:ready",
        "    Page->>Widget: setAuthTokenProvider(authTokenProvider)",
        "    Page->>Widget: startChat()",
        "    Widget-->>Page: lcw:startChat",
        "    Widget->>Provider: authTokenProvider(callback)",
        "    Provider-->>Widget: callback(eyJhbGciOiJSUzI1... (642 chars))",
        "    Widget->>Omnichannel: start chat with the token",
        "    Omnichannel-->>Widget: chat-0001 queued in General "
        '(msdyn_cartvalue=10000, msdyn_isvip="false")',
        "    Widget-->>Page: lcw:chatQueued",
    ]


def test_the_diagram_draws_a_call_that_raised_before_recording_anything() -> None:
    # Strict mode refuses the call before lcw:ready, so the timeline holds nothing of it.
    lines = mermaid(result_of("before_ready_strict")).splitlines()
    assert lines[5:8] == [
        "    Note over Page,Omnichannel: +0 s, 1709283600 (2024-03-01T09:00:00Z)",
        "    Page-xWidget: set_auth_token_provider raised WidgetNotReadyError: "
        "setAuthTokenProvider() was called b...",
        "    Widget-->>Page: lcw:ready",
    ]
    load_failure = mermaid(result_of("error_7_load_failure"))
    assert "    Page-xWidget: get_agent_availability raised [7] Live chat widget" in load_failure
    # An agent's move comes from Omnichannel's side.
    agent = mermaid(
        run(
            HEAD
            + '[[steps]]\ndo = "load"\n[[steps]]\ndo = "agent_says"\ntext = "hello"\n'
            + '[[steps]]\nexpect = "error"\ntype = "ChatStateError"\n'
        )
    )
    assert "    Omnichannel-xWidget: agent_says raised ChatStateError: " in agent


def test_the_diagram_shows_refusals_and_time_passing() -> None:
    refused = mermaid(result_of("error_4_invalid_token"))
    assert (
        "    Omnichannel--xWidget: refused: issuer 'evil.example' is not the configured" in refused
    )
    timeout = mermaid(result_of("provider_timeout_exact"))
    assert "    Note over Page,Omnichannel: +10 s" in timeout
    assert "    Note over Page,Omnichannel: +20 s" in timeout
    assert (
        "    Widget-->>Page: lcw:error 3: Auth token provider didn't provide any token" in timeout
    )


def test_mermaid_markdown_is_a_fenced_block_github_renders() -> None:
    text = mermaid_markdown(result_of("agent_ends_chat"))
    assert text.startswith("### The agent ends the chat (passed)\n\n`")
    assert "\n\n```mermaid\nsequenceDiagram\n" in text
    assert text.endswith("\n```\n")


def test_one_result_is_one_scenario_and_no_result_is_named() -> None:
    result = run_scenario(load_scenario(SCENARIOS / "documented_sample.toml"))
    assert "1 scenario: 1 passed, 0 failed" in summary_line(result)  # type: ignore[arg-type]
    for render in (render_text, to_dict, mermaid, verdict_line):
        with pytest.raises(TypeError, match=r"result must be a ScenarioResult .*got NoneType"):
            render(None)  # type: ignore[arg-type]
