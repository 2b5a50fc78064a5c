"""Checks that cannot fail are refused: entry names, empty or contradictory fields, the Python API.

Every rule the file reader applies holds for a script's ``ScenarioRun`` too, and comparisons
are typed wherever an expectation compares.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from scenario_texts import HEAD, ROOT, SCENARIOS, STARTED, run, scenario

from lcw_emulator import (
    ConfigurationError,
    ScenarioResult,
    ScenarioRun,
    WorkStream,
    run_scenario,
)
from lcw_emulator.events import (
    ENTRY_DETAIL_TYPES,
    ENTRY_NAMES,
    EVENT_DETAIL_TYPES,
    LCW_EVENTS,
    EntryKind,
    Timeline,
    typed_subset,
)
from lcw_emulator.report import render_text
from lcw_emulator.scenario import (
    FROM_PAGE_CODE,
    TIMELINE_NAMES,
    EventPattern,
    ExpectNever,
    ProviderSpec,
    SetAuthTokenProvider,
    is_work_stream_file,
    load_scenario,
    read_step,
)
from lcw_emulator.sdk import JAVASCRIPT_METHODS

PACKAGE = ROOT / "lcw_emulator"
DOCS = ROOT / "docs" / "scenarios.md"


def refusal(text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        scenario(text)
    return str(caught.value)


def verdicts(result: ScenarioResult) -> list[bool]:
    return [check.passed for check in result.checks]


# -- #1: the timeline's names are a closed set -----------------------------------


@pytest.mark.parametrize("verb", ["never", "events"])
@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("auth token provider caled", "(did you mean 'auth token provider called'?)"),
        ("setAuthTokenprovider", "(did you mean 'setAuthTokenProvider'?)"),
        ("token rejected", "(did you mean 'token refused'?)"),
        ("custom context ignored", "; to match part of a note's text, use { note = \"custom"),
        ("zzz", '(docs/scenarios.md, "What the timeline records", lists them)'),
    ],
)
def test_a_misspelt_entry_name_is_refused_with_file_and_step(
    verb: str, name: str, hint: str
) -> None:
    message = refusal(STARTED + f'[[steps]]\nexpect = "{verb}"\nevents = ["lcw:ready", "{name}"]\n')
    assert message.startswith(
        f"test.toml: step 4 (expect {verb}): events[1]: {name!r} is not a name the timeline records"
    ), message
    assert hint in message


@pytest.mark.parametrize("verb", ["never", "events"])
@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("calback ignored", "(did you mean 'callback ignored'?)"),
        ("xyzzy", '(docs/scenarios.md, "What the timeline records", lists the notes)'),
    ],
)
def test_note_text_that_no_note_contains_is_refused(verb: str, text: str, hint: str) -> None:
    # A never check on it would hold whatever the widget noted.
    message = refusal(STARTED + f'[[steps]]\nexpect = "{verb}"\nevents = [{{ note = "{text}" }}]\n')
    assert message == (
        f"test.toml: step 4 (expect {verb}): events[0]: "
        f"no note the timeline records contains {text!r} {hint}"
    ), message
    with pytest.raises(ValueError, match="no note the timeline records contains"):
        EventPattern(note=text)


def test_part_of_any_note_is_accepted() -> None:
    for note in ENTRY_NAMES[EntryKind.NOTE]:
        for text in (note, note[: len(note) // 2], note.split()[-1]):
            assert EventPattern(note=text).note == text


def test_every_name_the_timeline_records_is_accepted() -> None:
    # By a script; a file refuses the few that only a page's own code can cause.
    assert len(FROM_PAGE_CODE) == 6 and FROM_PAGE_CODE < TIMELINE_NAMES
    names = ", ".join(f'"{name}"' for name in sorted(TIMELINE_NAMES - FROM_PAGE_CODE))
    (_, _, _, never) = scenario(
        STARTED + f'[[steps]]\nexpect = "never"\nevents = [{names}]\n'
    ).steps
    assert isinstance(never, ExpectNever)
    assert len(never.events) == len(TIMELINE_NAMES) - len(FROM_PAGE_CODE)
    for name in sorted(FROM_PAGE_CODE):
        message = refusal(STARTED + f'[[steps]]\nexpect = "never"\nevents = ["{name}"]\n')
        assert f"events[0]: {name!r} comes from a page's own code" in message, message
        pattern = read_step(
            1,
            {"expect": "never", "events": [name]},
            work_stream=WorkStream.from_toml(SCENARIOS / "contoso.toml"),
        )
        assert isinstance(pattern, ExpectNever)  # a script can have listeners
    message = refusal(STARTED + '[[steps]]\nexpect = "never"\nevents = [{ note = "listener" }]\n')
    assert "events[0]: a note containing 'listener' comes from a page's own" in message, message


def test_a_detail_key_an_event_never_carries_is_refused() -> None:
    # Without this, never lcw:error with detail { code = 4 } would hold whatever fired.
    message = refusal(
        STARTED
        + '[[steps]]\nexpect = "never"\nevents = [{ name = "lcw:error", detail = { code = 4 } }]\n'
    )
    assert ".detail: lcw:error has no detail 'code' (did you mean 'errorCode'?)" in message
    assert "step 4 (expect never)" in message


def test_an_empty_table_in_a_detail_is_refused_as_checking_nothing() -> None:
    # Objects match as subsets, so context = {} would hold for any context, though it reads
    # as "no context"; a never check with it would fail on any chat at all.
    created = '{ name = "chat session created", detail = { context = {} } }'
    message = refusal(STARTED + f'[[steps]]\nexpect = "events"\nevents = [{created}]\n')
    assert "chat session created's context = {} checks nothing" in message
    assert "a context check with values = {}" in message
    tags = '{ name = "lcw:onMessageReceived", detail = { channelData = {} } }'
    message = refusal(STARTED + f'[[steps]]\nexpect = "never"\nevents = [{tags}]\n')
    assert "lcw:onMessageReceived's channelData = {} checks nothing" in message
    whole = '{ name = "lcw:ready", detail = {} }'
    message = refusal(STARTED + f'[[steps]]\nexpect = "events"\nevents = [{whole}]\n')
    assert "events[0]: detail = {} checks nothing; name a key, or drop detail" in message
    with pytest.raises(ValueError, match=r"context = \{\} checks nothing"):
        EventPattern(name="chat session created", detail={"context": {}})
    with pytest.raises(ValueError, match=r"detail = \{\} checks nothing"):
        EventPattern(name="lcw:ready", detail={})
    # A list is compared whole, so an empty one does check something.
    dropped = '{ name = "chat session created", detail = { dropped = [] } }'
    assert run(STARTED + f'[[steps]]\nexpect = "events"\nevents = [{dropped}]\n').passed


def test_a_pattern_with_both_a_name_and_a_note_says_so() -> None:
    both = '{ name = "lcw:ready", note = "page reloaded" }'
    message = refusal(STARTED + f'[[steps]]\nexpect = "events"\nevents = [{both}]\n')
    assert "events[0] gives both a name and a note" in message
    with pytest.raises(ValueError, match="takes a name or a note, not both"):
        EventPattern(name="lcw:ready", note="page reloaded")


def test_a_pattern_built_by_hand_is_checked_too() -> None:
    # ScenarioRun.run(step) takes hand-built steps; their patterns must not be vacuous either.
    with pytest.raises(ValueError, match="did you mean 'token refused'"):
        EventPattern(name="token refusd")
    with pytest.raises(ValueError, match="lcw:error has no detail 'code'"):
        EventPattern(name="lcw:error", detail={"code": 4})
    with pytest.raises(ValueError, match=r"needs a name .* or a note"):
        EventPattern()
    assert EventPattern(name="lcw:error", detail={"errorCode": 4}).name == "lcw:error"


def _recorded_literals() -> set[tuple[str, str]]:
    """``(kind, name)`` for every ``record(EntryKind.KIND, "name", ...)`` in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func, (kind, name) = node.func, node.args[:2]
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                called == "record"
                and isinstance(kind, ast.Attribute)
                and isinstance(name, ast.Constant)
                and isinstance(name.value, str)
            ):
                found.add((kind.attr, name.value))
    return found


def _string_constants() -> set[str]:
    """Every string literal in the package, except the table of names itself."""
    return {
        node.value
        for path in PACKAGE.rglob("*.py")
        if path.name != "events.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_the_names_are_the_ones_the_recorders_write() -> None:
    recorded = _recorded_literals()
    assert len(recorded) > 15, recorded  # the scan finds the recorders
    known = {
        "SDK_CALL": JAVASCRIPT_METHODS,
        "EVENT": LCW_EVENTS,
        **{kind.name: names for kind, names in ENTRY_NAMES.items()},
    }
    unlisted = sorted(f"{kind} {name!r}" for kind, name in recorded if name not in known[kind])
    assert not unlisted, (
        f"recorded but not in events.ENTRY_NAMES (and docs/scenarios.md): {unlisted}"
    )
    literals = _string_constants()
    stale = sorted(name for names in ENTRY_NAMES.values() for name in names if name not in literals)
    assert not stale, f"in events.ENTRY_NAMES but recorded nowhere: {stale}"


@pytest.mark.parametrize(
    "path",
    sorted(
        path
        for path in SCENARIOS.glob("*.toml")
        if not is_work_stream_file(tomllib.loads(path.read_text(encoding="utf-8")))
    ),
    ids=lambda path: path.stem,
)
def test_what_the_bundled_scenarios_record_is_named_in_the_set(path: Path) -> None:
    result = run_scenario(load_scenario(path))
    assert {entry.name for entry in result.timeline} <= TIMELINE_NAMES


def test_the_format_reference_lists_every_name() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## What the timeline records")[1]
    section = section.split("\n## ")[0]
    missing = sorted(
        name
        for name in JAVASCRIPT_METHODS | set().union(*ENTRY_NAMES.values())
        if f"`{name}`" not in section
    )
    assert not missing


def test_the_format_reference_lists_every_detail_key_a_check_may_name() -> None:
    # Checks refuse any other key, so the reference must show each: `name` (`key`, ...).
    section = DOCS.read_text(encoding="utf-8").split("## What the timeline records")[1]
    section = section.split("\n## ")[0]
    unlisted = []
    for name, keys in {**ENTRY_DETAIL_TYPES, **EVENT_DETAIL_TYPES}.items():
        at = section.find(f"`{name}` (")
        listed = section[at : section.find(")", at)] if at >= 0 else ""
        unlisted += [
            f"{name}: {key}"
            for key in keys
            if f"`{key}`" not in listed and key != "queued"  # said once for every SDK call
        ]
    assert not unlisted
    assert "with `queued` (true) when made before `lcw:ready`" in section


# -- #3: detail is compared typed ------------------------------------------------

NUMBER_VIP = """
name = "test"
start = 1700000000
[workstream]
name = "msdyn_isvip declared as Number"
[[workstream.context_variables]]
name = "msdyn_isvip"
type = "Number"
[[steps]]
do = "load"
[[steps]]
do = "start_chat"
custom_context = { msdyn_isvip = 1 }
[[steps]]
do = "get_agent_availability"
"""


def test_event_detail_tells_true_from_1() -> None:
    result = run(
        NUMBER_VIP
        + """
[[steps]]
expect = "events"
events = [{ name = "chat session created", detail = { context = { msdyn_isvip = true } } }]
[[steps]]
expect = "events"
events = [{ name = "chat session created", detail = { context = { msdyn_isvip = 1.0 } } }]
[[steps]]
expect = "events"
events = [{ name = "lcw:getAgentAvailability", detail = { averageWaitTime = 0 } }]
"""
    )
    # true is not 1 either way round; 1 is 1.0 and 0.0 is 0, as in expect context.
    assert verdicts(result) == [False, True, True], render_text(result)


@pytest.mark.parametrize("verb", ["events", "never"])
@pytest.mark.parametrize(
    ("detail", "why"),
    [
        ("{ isAgentAvailable = 1 }", "isAgentAvailable is a boolean, never a number like 1"),
        ('{ errorCode = "3" }', "errorCode is a number, never a string like '3'"),
        ("{ positionInQueue = true }", "positionInQueue is a number, never a boolean like True"),
        ('{ channelData = "x" }', "channelData is an object, never a string like 'x'"),
    ],
)
def test_an_event_detail_value_of_a_type_the_widget_never_fires_is_refused(
    verb: str, detail: str, why: str
) -> None:
    # Compared typed, such a value could never match: a never check on it would always hold.
    event = {
        "isAgentAvailable": "lcw:getAgentAvailability",
        "positionInQueue": "lcw:getAgentAvailability",
        "errorCode": "lcw:error",
        "channelData": "lcw:onMessageReceived",
    }[detail.split()[1]]
    message = refusal(
        STARTED
        + f'[[steps]]\nexpect = "{verb}"\nevents = [{{ name = "{event}", detail = {detail} }}]\n'
    )
    assert f"step 4 (expect {verb}): events[0].detail: {event}'s {why}" in message, message


@pytest.mark.parametrize("verb", ["events", "never"])
@pytest.mark.parametrize(
    ("entry", "detail", "why"),
    [
        ("token refused", '{ clam = "exp" }', "has no detail 'clam' (did you mean 'claim'?)"),
        ("token refused", "{ claim = 4 }", "claim is a string or null, never a number like 4"),
        ("chat session created", '{ queu = "General" }', "has no detail 'queu'"),
        ("startChat", '{ customContext = "msdyn_region" }', "customContext is an array"),
        ("public keys not refetched", "{ kid = 1 }", "kid is a string or null"),
        ("page reloaded", "{ why = 1 }", "it carries no detail"),
        # Flags recorded only when set: a check on false could never match.
        ("startChat", "{ inNewWindow = false }", "inNewWindow is only ever true"),
        ("setAuthTokenProvider", "{ queued = false }", "queued is only ever true"),
        (
            "lcw:onMessageReceived",
            '{ channelData = { tag = ["agentaccepted"] } }',
            "channelData has no key 'tag' (did you mean 'tags'?)",
        ),
        (
            "lcw:onMessageReceived",
            '{ channelData = { tags = "agentaccepted" } }',
            "channelData.tags is an array, never a string",
        ),
    ],
)
def test_a_detail_no_recorded_entry_carries_is_refused_for_every_entry_not_only_events(
    verb: str, entry: str, detail: str, why: str
) -> None:
    # A never check on it would hold whatever happened: the expired token it means to rule
    # out would pass it.
    message = refusal(
        STARTED
        + f'[[steps]]\nexpect = "{verb}"\nevents = [{{ name = "{entry}", detail = {detail} }}]\n'
    )
    assert f"step 4 (expect {verb}): events[0].detail: {entry}" in message, message
    assert why in message, message
    with pytest.raises(ValueError, match=re.escape(why)):
        EventPattern(name=entry, detail=tomllib.loads(f"d = {detail}")["d"])


def test_timeline_lookups_are_typed_too() -> None:
    # The pytest plugin's and LcwEmulator's assertions read the timeline through find().
    timeline = Timeline()
    timeline.record(0.0, EntryKind.EVENT, "lcw:getAgentAvailability", {"isAgentAvailable": True})
    assert timeline.find("lcw:getAgentAvailability", {"isAgentAvailable": True})
    assert not timeline.find("lcw:getAgentAvailability", {"isAgentAvailable": 1})


def test_typed_subset_holds_for_nested_tables_and_lists() -> None:
    actual = {"a": {"b": [1, True], "c": "x"}, "d": 2}
    assert typed_subset(actual, {"a": {"b": [1.0, True]}})
    assert not typed_subset(actual, {"a": {"b": [True, True]}})
    assert not typed_subset(actual, {"a": {"b": [1]}})  # a list is compared whole
    assert not typed_subset(actual, {"d": "2"})


# -- #12: fields that would check nothing -----------------------------------------

REFUSED = {
    "state none with what describes a session": (
        '[[steps]]\nexpect = "session"\nstate = "none"\nqueue = "VIP"\nagent = "Sam"\n',
        'test.toml: step 1 (expect session): state = "none" expects no chat session, so it has '
        "no queue or agent to check; drop them",
    ),
    "an empty includes": (
        '[[steps]]\nexpect = "context"\nincludes = {}\n',
        "test.toml: step 1 (expect context): includes = {} checks nothing",
    ),
    "omit names a claim the token does not carry": (
        '[providers.p]\nclaims = { sub = "c", iss = "contosohelp.com" }\nomit = ["exp", "expp"]\n'
        '[[steps]]\nexpect = "widget"\nstate = "ready"\n',
        "test.toml: provider 'p': omit: 'expp' is not a claim of this token "
        "(its claims: exp, iat, iss, nbf, sub)",
    ),
    "an unknown key in [widget]": (
        '[widget]\nstrikt = true\n[[steps]]\nexpect = "widget"\nstate = "ready"\n',
        "test.toml: [widget]: unknown key 'strikt' (did you mean 'strict'?) "
        "(known: load_failure, strict)",
    ),
    "a wrong type in [widget]": (
        '[widget]\nstrict = "yes"\n[[steps]]\nexpect = "widget"\nstate = "ready"\n',
        "test.toml: [widget]: strict must be true or false",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED), ids=sorted(REFUSED))
def test_a_field_that_checks_nothing_is_refused(case: str) -> None:
    body, message = REFUSED[case]
    text = 'workstream = "contoso.toml"\nprivate_key = "keys/private.pem"\n' + body
    assert refusal(text).startswith(message), refusal(text)


def test_what_stays_accepted_beside_those_refusals() -> None:
    result = run(
        HEAD
        + """
[providers.noExp]
claims = { sub = "c", iss = "contosohelp.com" }
omit = ["exp"]
[[steps]]
expect = "session"
state = "none"
sessions = 0
[[steps]]
do = "load"
[[steps]]
do = "start_chat"
custom_context = { a = 1 }
[[steps]]
expect = "error"
code = 8
"""
    )
    assert result.passed, render_text(result)
    assert scenario(
        'workstream = "contoso.toml"\n[[steps]]\nexpect = "context"\nvalues = {}\n'
    ).steps


# -- #10: an error of the right code and the wrong type ---------------------------


def _error_check(action: str, expectation: str) -> ScenarioResult:
    """Load, run ``action`` (step 2), then ``expect = "error"`` with ``expectation`` (step 3)."""
    return run(
        f'{HEAD}\n[[steps]]\ndo = "load"\n[[steps]]\ndo = "{action}"\n'
        f'[[steps]]\nexpect = "error"\n{expectation}\n'
    )


def _problem_at(result: ScenarioResult, step: int) -> str:
    problem = next(check.problem for check in result.failures if check.step == step)
    assert problem is not None
    return problem


def test_an_error_expected_at_a_step_that_raised_none_names_what_others_raised() -> None:
    problem = _problem_at(_error_check("start_chat", "code = 8\nstep = 1"), 3)
    assert problem.startswith(
        "expected an error with code 8 at step 1; it raised none, but step 2 (start_chat) "
        "raised [8] Auth function cannot be found on webpage: "
    ), problem


def test_a_type_mismatch_says_the_type_differed() -> None:
    problem = _problem_at(_error_check("start_chat", 'code = 8\ntype = "WidgetNotReadyError"'), 3)
    assert problem.startswith("expected an error with code 8 and type WidgetNotReadyError; ")
    assert problem.endswith("(its type is LcwError, not WidgetNotReadyError)"), problem


def test_a_type_alone_does_not_claim_a_coded_error() -> None:
    # `type = "LcwError"` names an error without a code; were it a catch-all, the code 8
    # nobody expected would pass unseen.
    result = _error_check("start_chat", 'type = "LcwError"')
    assert not result.passed
    assert _problem_at(result, 3).endswith("(a coded error: claim it with code = 8)")
    assert "no expect error step expects it" in _problem_at(result, 2), render_text(result)


def test_a_type_alone_claims_an_uncoded_error() -> None:
    result = _error_check("agent_accepts", 'type = "LcwError"')
    assert result.passed, render_text(result)
    assert "ChatStateError" in repr(result.errors), result.errors


# -- #2: the Python API checks its arguments as the file does ---------------------


async def test_a_script_is_refused_what_a_file_is_refused() -> None:
    run = ScenarioRun(SCENARIOS / "contoso.toml", start=1709283600)
    assert run.last_step == 0
    with pytest.raises(ConfigurationError, match=r"^step 1 \(expect events\): since = 0 must"):
        await run.expect_events("lcw:ready", since=run.last_step)
    await run.load()
    await run.start_chat()  # no auth token provider: code 8
    await run.expect_error(8)
    await run.wait(1)
    refused = {
        "never lcw:eror": (
            lambda: run.expect_never("lcw:eror"),
            r"^step 5 \(expect never\): events\[0\]: 'lcw:eror' is not a documented event",
        ),
        "never a misspelt entry": (
            lambda: run.expect_never({"name": "auth token provider caled"}),
            r"^step 5 \(expect never\): events\[0\]: 'auth token provider caled' is not a name",
        ),
        "never nothing": (lambda: run.expect_never(), r"^step 5 \(expect never\): events must be"),
        "events nothing": (
            lambda: run.expect_events(),
            r"^step 5 \(expect events\): events must be",
        ),
        "events a true errorCode": (
            lambda: run.expect_events({"name": "lcw:error", "detail": {"errorCode": True}}),
            r"^step 5 \(expect events\): events\[0\]\.detail: lcw:error's errorCode is a "
            r"number, never a boolean like True",
        ),
        "session nothing": (
            lambda: run.expect_session(),
            r"^step 5 \(expect session\): says nothing",
        ),
        "session misspelt": (
            lambda: run.expect_session(stat="queued"),
            r"^step 5 \(expect session\): unknown key 'stat'",
        ),
        "since 0": (
            lambda: run.expect_never("lcw:error", since=0),
            r"^step 5 \(expect never\): since = 0 must name an earlier step \(1 to 4\)",
        ),
        "since 99": (
            lambda: run.expect_events("lcw:ready", since=99),
            r"^step 5 \(expect events\): since = 99 must name an earlier step \(1 to 4\)",
        ),
        "error nothing": (lambda: run.expect_error(), r"^step 5 \(expect error\): name the error"),
        "error code 5": (
            lambda: run.expect_error(5),
            r"^step 5 \(expect error\): code 5 is not a documented lcw:error code",
        ),
        "negative wait": (lambda: run.wait(-1), r"^step 5 \(wait\): seconds cannot be below 0"),
        "a context provider for auth": (
            lambda: run.set_auth_token_provider(ProviderSpec(name="ctx", context={"a": 1})),
            r"^step 5 \(set_auth_token_provider\): provider 'ctx' answers with a context",
        ),
    }
    for case, (call, message) in refused.items():
        with pytest.raises(ConfigurationError, match=message):
            await call()
        assert run.last_step == 4, f"{case}: a refused step does not run"
    # What the file accepts, the script still may: lcw:error did happen.
    assert not (await run.expect_never("lcw:error")).passed
    assert not (await run.expect_never("lcw:error", since=2)).passed
    assert (await run.expect_never("lcw:error", since=4)).passed
    assert (await run.expect_events({"name": "lcw:error", "detail": {"errorCode": 8}})).passed
    assert (await run.expect_session(state="none", sessions=0)).passed
    await run.finish()


# -- #13: the Python API's example in the format reference runs as written --------


def test_the_python_api_example_in_the_format_reference_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Scenario scripts: the Python API")[1]
    block = section.split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(ROOT)  # the example's paths are relative to the repository root
    exec(compile(block, str(DOCS), "exec"), {"__name__": "docs_example"})
    report = capsys.readouterr().out
    assert "FAILED" not in report, report
    assert report.rstrip().splitlines()[-1].startswith("PASS  (script)  my token service"), report


def _problem(result: ScenarioResult) -> str | None:
    [failed] = [check for check in result.checks if not check.passed]
    return failed.problem


def test_an_event_before_since_is_said_to_have_happened_before_it() -> None:
    problem = _problem(
        run(STARTED + '[[steps]]\nexpect = "events"\nsince = 3\nevents = ["lcw:ready"]\n')
    )
    assert problem == (
        "lcw:ready did not happen (lcw:ready happened before step 3 began, at the same virtual "
        "moment: its since)"
    )
    # The hint is about the pattern that was missed, wherever it sits in the list.
    problem = _problem(
        run(
            STARTED
            + '[[steps]]\nexpect = "events"\nsince = 3\n'
            + 'events = ["lcw:startChat", "lcw:chatQueued", "lcw:ready"]\n'
        )
    )
    assert problem == (
        "lcw:ready did not happen after lcw:chatQueued (lcw:ready happened before step 3 "
        "began, at the same virtual moment: its since)"
    )


def test_a_check_with_since_says_its_times_count_from_there() -> None:
    # The report lists the timeline from the start; a since check counts from its step.
    steps = (
        '[[steps]]\ndo = "wait"\nseconds = 3\n[[steps]]\ndo = "close_chat"\n'
        '[[steps]]\ndo = "wait"\nseconds = 4.25\n[[steps]]\ndo = "start_chat"\n'
    )
    never = '[[steps]]\nexpect = "never"\nsince = 7\nevents = ["lcw:chatQueued"]\n'
    assert _problem(run(STARTED + steps + never)) == (
        "lcw:chatQueued happened at +0s after step 7 began (since)"
    )
    closed = '[[steps]]\nexpect = "events"\nsince = 7\nevents = ["lcw:closeChat"]\n'
    assert _problem(run(STARTED + steps + closed)) == (
        "lcw:closeChat did not happen (lcw:closeChat happened 4.25 s before step 7 began: its "
        "since)"
    )
    late = '[[steps]]\nexpect = "events"\nsince = 5\nwithin = 4\nevents = ["lcw:chatQueued"]\n'
    assert _problem(run(STARTED + steps + late)) == (
        "lcw:chatQueued happened at +4.25s after step 5 began (since), later than within 4 s"
    )
    # Without since, times count from the start, as the listing does.
    assert _problem(run(STARTED + steps + never.replace("since = 7\n", ""))).startswith(
        "lcw:chatQueued happened at +0s"
    )


def test_a_name_expected_twice_that_happened_once_says_how_many_times() -> None:
    problem = _problem(
        run(STARTED + '[[steps]]\nexpect = "events"\nevents = ["lcw:startChat", "lcw:startChat"]\n')
    )
    assert problem == "lcw:startChat happened 1 of the 2 times expected"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("startchat", "start_chat"),
        ("sendMessage", "send_message"),
        ("agent_accept", "agent_accepts"),
    ],
)
def test_an_action_in_another_case_or_spelling_gets_a_did_you_mean(
    written: str, meant: str
) -> None:
    steps = f'[[steps]]\ndo = "{written}"\n[[steps]]\nexpect = "widget"\nstate = "ready"\n'
    message = refusal(HEAD + steps)
    assert message.endswith(f"unknown action {written!r} (did you mean {meant!r}?)"), message


def test_an_error_expectation_without_code_or_type_lists_the_documented_codes() -> None:
    message = refusal(STARTED + '[[steps]]\nexpect = "error"\n')
    assert "name the error: code = 1, 2, 3, 4, 7, 8, or type = " in message, message


@pytest.mark.parametrize(
    ("signing", "problem"),
    [
        ('secret = "abc"\nalgorithm = "HS265"', "a secret signs with HS256, HS384, HS512; got "),
        ('secret = "abc"\nalgorithm = "none"', "got algorithm 'none'"),
        ('secret = ""', "secret cannot be empty"),
        ('private_key = "keys/private.pem"\nalgorithm = "HS256"', "a private_key signs with RS256"),
    ],
)
def test_a_provider_that_cannot_sign_is_refused_before_it_passes_as_code_2(
    signing: str, problem: str
) -> None:
    # Signing fails inside the page's provider, which the widget reports as code 2, the code
    # of a token service that is down: a scenario expecting it would pass for the wrong reason.
    text = f"""
name = "typo"
workstream = "contoso.toml"
start = 1542622100
[providers.down]
claims = {{ sub = "a", iss = "contosohelp.com" }}
{signing}
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "down"
[[steps]]
do = "start_chat"
[[steps]]
expect = "error"
code = 2
"""
    assert problem in refusal(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "x"\nworkstream = ""\n[[steps]]\ndo = "load"\n', 'workstream = "": name a'),
        (
            'name = "x"\nworkstream = "contoso.toml"\n'
            'private_key = ""\n[providers.p]\nclaims = { sub = "a", iss = "b" }\n'
            '[[steps]]\ndo = "load"\n',
            'private_key = "": name a PEM file',
        ),
        (
            'name = "x"\n[workstream]\nname = "w"\n[workstream.auth]\npublic_key = ""\n'
            '[[steps]]\ndo = "load"\n',
            "[auth].public_key is empty: name a key file",
        ),
    ],
)
def test_an_empty_path_in_a_file_is_refused_not_taken_for_its_directory(
    text: str, problem: str
) -> None:
    assert problem in refusal(text)


def test_a_start_in_milliseconds_is_refused_before_every_token_is_blamed() -> None:
    problem = refusal('name = "x"\nstart = 1709283600000\n[workstream]\nname = "w"\n')
    assert "start 1709283600000 is past the year 5000 in epoch seconds: milliseconds" in problem


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    # One run per typo is how a file used to be fixed: the first problem stopped the reader.
    problem = refusal(
        """
workstream = "contoso.toml"
[widget]
strikt = true
[[steps]]
do = "laod"
[[steps]]
do = "load"
[[steps]]
expect = "evnts"
events = ["lcw:ready"]
"""
    )
    assert problem.endswith(
        ": 3 problems:\n"
        "    [widget]: unknown key 'strikt' (did you mean 'strict'?) "
        "(known: load_failure, strict)\n"
        "    step 1: unknown action 'laod' (did you mean 'load'?)\n"
        "    step 3: unknown expectation 'evnts' (known: events, never, error, context, "
        "session, availability, widget)"
    )


def test_a_provider_that_cannot_be_read_is_reported_without_the_steps_that_name_it() -> None:
    problem = refusal(
        """
workstream = "contoso.toml"
[providers.one]
kind = "answr"
[providers.two]
token = 42
[[steps]]
do = "set_auth_token_provider"
provider = "one"
[[steps]]
expect = "events"
events = ["lcw:ready"]
"""
    )
    assert ": 2 problems:\n    provider 'one': " in problem
    assert "\n    provider 'two': " in problem
    assert "step" not in problem  # not "unknown provider 'one'" again


@pytest.mark.parametrize("start", ["6000-01-01T00:00:00Z", '"6000-01-01T00:00:00+00:00"'])
def test_a_start_date_past_the_clocks_is_refused_when_read(start: str) -> None:
    problem = refusal(f'name = "x"\nstart = {start}\n[workstream]\nname = "w"\n')
    assert problem.endswith(
        "start 6000-01-01T00:00:00Z is past 100000000000 (5138-11-16T09:46:40Z), the last "
        "moment the clocks take (past it, epoch seconds read as milliseconds)"
    )


def test_problems_around_the_providers_and_steps_are_all_listed() -> None:
    contoso = (ROOT / "scenarios" / "contoso.toml").as_posix()
    problem = refusal(
        f"""
workstream = "{contoso}"
private_key = 5
providers = 3
[widget]
strict = "yes"
[[steps]]
do = "loadx"
"""
    )
    assert problem.endswith(
        ": 5 problems:\n"
        "    [widget]: strict must be true or false, got str 'yes'\n"
        "    private_key must be a string, got int 5\n"
        "    providers must be a table of tables: [providers.NAME]\n"
        "    step 1: unknown action 'loadx' (did you mean 'load'?)\n"
        '    a scenario with no expect step checks nothing; add one (expect = "events", ...)'
    )
    # Steps that do not name a provider that failed are still read.
    problem = refusal(
        f"""
workstream = "{contoso}"
[providers.p]
kind = "bogus"
[[steps]]
do = "loadx"
[[steps]]
do = "set_context_provider"
provider = "p"
[[steps]]
expect = "widget"
state = "readyy"
"""
    )
    assert ": 3 problems:\n    provider 'p': kind must be one of " in problem
    assert "\n    step 1: unknown action 'loadx'" in problem
    assert "\n    step 3 (expect widget): state must be one of " in problem
    assert "step 2" not in problem


def test_an_inline_providers_problem_names_its_step() -> None:
    problem = refusal(
        """
workstream = "contoso.toml"
[[steps]]
do = "set_context_provider"
provider = { kind = "bogus" }
[[steps]]
do = "set_context_provider"
provider = { kind = "bogus" }
[[steps]]
expect = "widget"
state = "ready"
"""
    )
    assert "\n    step 1 (set_context_provider): inline provider: kind must be one of " in problem
    assert "\n    step 2 (set_context_provider): inline provider: kind must be one of " in problem


@pytest.mark.parametrize(
    ("top", "listed"),
    [
        ("private_key = 5", "private_key must be a string, got int 5"),
        ('private_key = ""', 'private_key = "": name a PEM file'),
        ("kid = 7", "kid must be a string, got int 7"),
        ("providers = 3", "providers must be a table of tables: [providers.NAME]"),
    ],
)
def test_what_names_a_part_that_failed_adds_nothing_to_its_problem(top: str, listed: str) -> None:
    # A provider falling back on an unreadable default, or a step naming a provider when the
    # providers table is unreadable, would only repeat the one problem in other words.
    providers = (
        ""
        if top.startswith("providers")
        else (
            '[providers.p]\nclaims = { sub = "x", iss = "y" }\n'
            '[providers.q]\nclaims = { sub = "x", iss = "y" }\n'
        )
    )
    problem = refusal(
        f"""
workstream = "contoso.toml"
{top}
{providers}
[[steps]]
do = "set_auth_token_provider"
provider = "p"
[[steps]]
do = "set_auth_token_provider"
provider = {{ token = "a.b.c" }}
[[steps]]
expect = "widget"
state = "ready"
"""
    )
    assert problem.endswith(f".toml: {listed}"), problem  # the one problem, once


def test_an_inline_work_streams_problem_names_the_file_once() -> None:
    problem = refusal('name = "x"\n[workstream]\nname = "w"\n[workstream.auth]\nleeway = -1\n')
    assert problem == (
        "test.toml: [workstream] [auth]: RS*/PS* algorithms need a public key (PEM, key array "
        "or JWKS)"
    )


def test_an_unreadable_default_hides_no_problem_of_a_providers_own() -> None:
    problem = refusal(
        """
workstream = "contoso.toml"
kid = 7
[providers.hs]
claims = { sub = "x", iss = "y" }
secret = ""
[providers.own]
claims = { sub = "x", iss = "y" }
private_key = 5
[[steps]]
expect = "widget"
state = "ready"
"""
    )
    assert ": 3 problems:\n    kid must be a string, got int 7\n" in problem
    assert "\n    provider 'hs': secret cannot be empty" in problem
    assert "\n    provider 'own': private_key must be a string, got int 5" in problem


@pytest.mark.parametrize(
    ("top", "provider", "problems"),
    [
        ("", 'secret = "s3cret"\nkid = 5', ["provider 'hs': kid must be a string, got int 5"]),
        ("", 'secret = "s3cret"\nkid = "k1"', ["provider 'hs': kid goes with a private_key"]),
        (
            "private_key = 5",
            "kid = 5",
            ["private_key must be a string, got int 5", "provider 'hs': kid must be a string"],
        ),
    ],
)
def test_a_providers_own_kid_is_read_whatever_signs_it(
    top: str, provider: str, problems: list[str]
) -> None:
    problem = refusal(
        f"""
workstream = "contoso.toml"
{top}
[providers.hs]
claims = {{ sub = "x", iss = "y" }}
{provider}
[[steps]]
expect = "widget"
state = "ready"
"""
    )
    for expected in problems:
        assert expected in problem, problem


def test_a_note_pattern_with_a_detail_says_to_name_the_note_in_full() -> None:
    message = refusal(
        STARTED
        + '[[steps]]\nexpect = "never"\n'
        + 'events = [{ note = "replaying", detail = { method = "x" } }]\n'
    )
    assert "events[0]: a note pattern matches text in a note's name only" in message, message
    with pytest.raises(ValueError, match='name the note in full: name = "replaying queued call"'):
        EventPattern(note="overtaken", detail={"by": "setAuthTokenProvider"})


def test_stringify_lwicontexts_beside_claims_that_are_no_table_is_refused_not_a_crash() -> None:
    message = refusal(
        HEAD + '[providers.odd]\nclaims = "x"\nstringify_lwicontexts = false\n'
        '[[steps]]\nexpect = "widget"\nstate = "not loaded"\n'
    )
    assert "it needs claims = {...} with lwicontexts as a table" in message, message


def test_times_in_labels_and_failures_are_shown_as_given_not_rounded() -> None:
    # A label rounded to six digits would call a provider 10.00001 s late "after 10 s", in
    # time, beside the code 3 it gets; a failure would show the time it missed as the one seen.
    late = ProviderSpec(name="late", token="x", delay=10.00001)
    assert SetAuthTokenProvider(number=1, provider=late).describe() == (
        "set_auth_token_provider late after 10.00001 s"
    )
    text = (
        STARTED
        + '[[steps]]\ndo = "wait"\nseconds = 125.25\n[[steps]]\ndo = "agent_accepts"\n'
        + '[[steps]]\nexpect = "events"\n'
        + 'events = [{ name = "lcw:onMessageReceived", at = 125.2504 }]\n'
    )
    assert _problem(run(text)).startswith(
        "lcw:onMessageReceived at +125.2504s did not happen (recorded as "
        "lcw:onMessageReceived: +125.25s "
    )
