"""What a scenario run looks like to a person, a program and a teaching slide.

* :func:`render_text`: the timeline, step by step (virtual time, entry, detail),
  each expectation with its verdict, then a verdict line and, on failure, the
  step, the expectation, what went wrong and the entries actually recorded.
  ANSI colour when asked (a terminal), plain otherwise. Stable: the same run
  renders to the same text, so tests can compare it.
* :func:`to_dict`: the machine-readable report (``--json``).
* :func:`mermaid`: a Mermaid sequence diagram between the page, the widget, the
  page's providers and Omnichannel, which GitHub renders in Markdown.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import IO, Any

from .clock import describe_instant, describe_offset
from .errors import wrong_type
from .events import EntryKind, LcwEvent, TimelineEntry
from .scenario import Expectation
from .scenario_runner import Check, RaisedError, ScenarioResult, StepRecord

__all__ = [
    "mermaid",
    "mermaid_markdown",
    "render_entry",
    "render_text",
    "summary_line",
    "to_dict",
    "use_color",
    "verdict_line",
]

_RESET = "\033[0m"
_STYLES = {
    "dim": "\033[2m",
    "bold": "\033[1m",
    "red": "\033[31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "blue": "\033[34m",
    "magenta": "\033[35m",
    "cyan": "\033[36m",
}
_KIND_STYLE = {
    EntryKind.SDK_CALL: "blue",
    EntryKind.EVENT: "cyan",
    EntryKind.PROVIDER: "yellow",
    EntryKind.SERVICE: "magenta",
    EntryKind.NOTE: "dim",
}


def use_color(stream: IO[str]) -> bool:
    """Colour for a terminal, unless ``NO_COLOR`` is set; never when piped."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        return "".join(_STYLES[style] for style in styles) + text + _RESET


def _offset(at: float, start: float) -> str:
    return f"+{at - start:.3f}"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def render_detail(detail: Mapping[str, Any]) -> str:
    """``key=value`` pairs, values as JSON, in the order they were recorded."""
    return " ".join(f"{key}={_value(value)}" for key, value in detail.items())


def render_entry(entry: TimelineEntry, start: float, *, color: bool = False) -> str:
    """One timeline line: virtual time since the start, kind, name, detail."""
    paint = _Paint(color)
    style = _KIND_STYLE.get(entry.kind, "dim")
    name_style = ("red", "bold") if entry.name == LcwEvent.ERROR.value else (style,)
    line = (
        f"{paint(_offset(entry.at, start).rjust(10), 'dim')}  "
        f"{paint(entry.kind.value.ljust(8), style)}  {paint(entry.name, *name_style)}"
    )
    if entry.detail:
        line += f"  {render_detail(entry.detail)}"
    return line


def _step_line(record: StepRecord, width: int, paint: _Paint) -> str:
    """``N  description  verdict  # title``."""
    step, check = record.step, record.check
    line = f"{str(step.number).rjust(width)}  {paint(step.describe(), 'bold')}"
    if check is not None:
        line += "  " + (paint("ok", "green") if check.passed else paint("FAILED", "red", "bold"))
    if step.title:
        line += paint(f"  # {step.title}", "dim")
    return line


def _require_result(result: object) -> None:
    if not isinstance(result, ScenarioResult):
        raise wrong_type("result", "a ScenarioResult (what run_scenario returns)", result)


def verdict_line(result: ScenarioResult, *, color: bool = False) -> str:
    """``PASS  file  name  (3 of 3 checks held, 10 s virtual)``, or FAIL."""
    _require_result(result)
    paint = _Paint(color)
    checks = len(result.checks)
    failed = len(result.failures)
    where = result.source or "(script)"
    virtual = f"{describe_offset(result.end - result.start)} s virtual"
    if result.passed:
        counts = f"{checks} of {checks} checks held, {virtual}"
        return f"{paint('PASS', 'green', 'bold')}  {where}  {result.name}  ({counts})"
    counts = f"{failed} of {checks} checks failed, {virtual}"
    return f"{paint('FAIL', 'red', 'bold')}  {where}  {result.name}  ({counts})"


def render_text(result: ScenarioResult, *, color: bool = False) -> str:
    """The whole report for one run, as printed by ``lcw-emulator run``."""
    _require_result(result)
    paint = _Paint(color)
    start = result.start
    lines = [
        paint(f"== {result.source or '(script)'}: {result.name}", "bold"),
        f"   work stream {result.work_stream!r}, virtual clock from {describe_instant(start)}",
    ]
    if result.description:
        lines.append(f"   {result.description}")
    lines.append("")
    width = len(str(len(result.steps)))
    errors_by_step: dict[int, list[str]] = {}
    for raised in result.errors:
        mark = "" if raised.claimed_by is None else f" (expected by step {raised.claimed_by})"
        errors_by_step.setdefault(raised.step, []).append(raised.text + mark)
    timeline = result.timeline
    indent = " " * width
    for record in result.steps:
        lines.append(_step_line(record, width, paint))
        if record.check is not None and record.check.problem:
            lines.append(f"{indent}    {paint(record.check.problem, 'red')}")
        for entry in timeline[record.begin : record.end]:
            lines.append(f"{indent}  {render_entry(entry, start, color=color)}")
        for text in errors_by_step.get(record.step.number, []):
            lines.append(f"{indent}  {paint('raised'.rjust(10), 'red')}  {text}")
    tail = timeline[result.steps[-1].end :] if result.steps else timeline
    if tail:
        lines.append(f"{indent}  after the last step:")
        for entry in tail:
            lines.append(f"{indent}  {render_entry(entry, start, color=color)}")
    for text in result.unfinished:
        lines.append(paint(f"note: {text}", "dim"))
    lines.append("")
    lines.append(verdict_line(result, color=color))
    for check in sorted(result.failures, key=lambda check: check.step):
        lines.extend(_failure(check, result, paint, color))
    return "\n".join(lines)


def _failure(check: Check, result: ScenarioResult, paint: _Paint, color: bool) -> list[str]:
    lines = [
        f"  step {check.step}: {check.expectation}",
        f"    {paint('what went wrong:', 'red')} {check.problem}",
    ]
    # An events or never check keeps the entries it looked at; the others, the lcw:* events.
    label = (
        "recorded by then"
        if check.expectation.startswith(("expect events", "expect never"))
        else "lcw:* events fired by then"
    )
    if check.scope:
        lines.append(f"    {label}:")
        lines.extend(
            f"    {render_entry(entry, result.start, color=color)}" for entry in check.scope
        )
    elif check.expectation.startswith("expect"):
        lines.append(f"    {label}: none")
    return lines


def summary_line(results: Iterable[ScenarioResult], *, color: bool = False) -> str:
    """``3 scenarios: 2 passed, 1 failed`` (one result alone counts as one scenario)."""
    paint = _Paint(color)
    results = [results] if isinstance(results, ScenarioResult) else list(results)
    failed = sum(1 for result in results if not result.passed)
    passed = len(results) - failed
    noun = "scenario" if len(results) == 1 else "scenarios"
    text = f"{len(results)} {noun}: {passed} passed, {failed} failed"
    return paint(text, "red" if failed else "green", "bold")


# -- JSON ---------------------------------------------------------------------


def to_dict(result: ScenarioResult) -> dict[str, Any]:
    """The machine-readable report of one run (``lcw-emulator run --json``)."""
    _require_result(result)
    start = result.start
    return {
        "name": result.name,
        "source": result.source,
        "description": result.description,
        "work_stream": result.work_stream,
        "passed": result.passed,
        "start": start,
        "end": result.end,
        "steps": [
            {
                "number": record.step.number,
                "verb": record.step.verb,
                "kind": "expectation" if isinstance(record.step, Expectation) else "action",
                "description": record.step.describe(),
                "title": record.step.title,
                "started": record.started_at - start,
                "ended": record.ended_at - start,
                "entries": [record.begin, record.end],
                **(
                    {"passed": record.check.passed, "problem": record.check.problem}
                    if record.check is not None
                    else {}
                ),
            }
            for record in result.steps
        ],
        "checks": [
            {
                "step": check.step,
                "expectation": check.expectation,
                "passed": check.passed,
                "problem": check.problem,
            }
            for check in result.checks
        ],
        "errors": [
            {
                "step": raised.step,
                "verb": raised.verb,
                "code": int(raised.error.code) if raised.error.code is not None else None,
                "type": type(raised.error).__name__,
                "message": raised.error.message,
                "reason": raised.error.reason,
                "expected_by": raised.claimed_by,
            }
            for raised in result.errors
        ],
        "unfinished": list(result.unfinished),
        "timeline": [
            {
                "at": entry.at,
                "offset": entry.at - start,
                "kind": entry.kind.value,
                "name": entry.name,
                "detail": dict(entry.detail),
            }
            for entry in result.timeline
        ],
    }


# -- Mermaid ------------------------------------------------------------------

_PAGE, _WIDGET, _PROVIDER, _SERVICE = "Page", "Widget", "Provider", "Omnichannel"
_MAX_TEXT = 90


# Mermaid ends a statement at ";", reads "#...;" as an entity and "%%" as a comment; GitHub
# would take "<...>" as HTML. Message text carries each as the entity Mermaid shows as the
# character itself, so values read as they are.
_UNSAFE = str.maketrans({";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", "%": "#37;"})


def _text(value: str) -> str:
    """Message text Mermaid takes verbatim, on one line, at most ``_MAX_TEXT`` shown characters."""
    text = " ".join(value.split())
    if len(text) > _MAX_TEXT:  # cut before escaping, so that no entity is cut in two
        text = text[: _MAX_TEXT - 3] + "..."
    return text.translate(_UNSAFE)


def _arrow(source: str, target: str, text: str, arrow: str = "->>") -> str:
    return f"    {source}{arrow}{target}: {_text(text)}"


def _note(over: str, text: str) -> str:
    return f"    Note over {over}: {_text(text)}"


def _sdk_line(entry: TimelineEntry) -> list[str]:
    detail = entry.detail
    arguments = ""
    if "provider" in detail:
        arguments = str(detail["provider"])
    elif "customContext" in detail:
        arguments = "{customContext: " + ", ".join(map(str, detail["customContext"])) + "}"
    elif detail.get("message"):
        arguments = json.dumps(detail["message"], ensure_ascii=False)
    text = f"{entry.name}({arguments})"
    if detail.get("queued"):
        text += " queued until lcw:ready"
    return [_arrow(_PAGE, _WIDGET, text)]


def _event_lines(entry: TimelineEntry) -> list[str]:
    detail = entry.detail
    lines: list[str] = []
    text = entry.name
    if entry.name == LcwEvent.ERROR.value:
        text = f"lcw:error {detail.get('errorCode')}: {detail.get('errorDescription')}"
    elif entry.name == LcwEvent.ON_MESSAGE_RECEIVED.value:
        if detail.get("messageType") == "user":
            lines.append(_arrow(_SERVICE, _WIDGET, f"agent: {detail.get('text', '')}"))
        else:
            tags = ", ".join(detail.get("channelData", {}).get("tags", []))
            lines.append(_arrow(_SERVICE, _WIDGET, f"system message {tags}"))
            text += f" ({tags})"
    elif entry.name == LcwEvent.ON_MESSAGE_SENT.value:
        lines.append(_arrow(_WIDGET, _SERVICE, "customer message"))
    elif entry.name == LcwEvent.CLOSE_CHAT.value:
        lines.append(_arrow(_WIDGET, _SERVICE, "close chat"))
    elif entry.name == LcwEvent.GET_AGENT_AVAILABILITY.value:
        lines.append(_arrow(_WIDGET, _SERVICE, "agent availability?"))
        lines.append(
            _arrow(
                _SERVICE,
                _WIDGET,
                f"queue {detail.get('queueId')}, agent available: "
                f"{_value(detail.get('isAgentAvailable'))}",
                "-->>",
            )
        )
    lines.append(_arrow(_WIDGET, _PAGE, text, "-->>"))
    return lines


def _provider_lines(entry: TimelineEntry) -> list[str]:
    detail = entry.detail
    match entry.name:
        case "auth token provider called":
            return [_arrow(_WIDGET, _PROVIDER, "authTokenProvider(callback)")]
        case "auth token callback":
            return [_arrow(_PROVIDER, _WIDGET, f"callback({detail.get('token')})", "-->>")]
        case "context provider called":
            return [_arrow(_WIDGET, _PROVIDER, "contextProvider()")]
        case "context provider answered":
            keys = ", ".join(map(str, detail.get("keys", [])))
            return [_arrow(_PROVIDER, _WIDGET, f"context {{{keys}}}", "-->>")]
        case "bot auth token provider called":
            return [_arrow(_WIDGET, _PROVIDER, f"botAuthTokenProvider({detail.get('url')})")]
        case "bot auth callback":
            return [_arrow(_PROVIDER, _WIDGET, f"callback(show: {detail.get('show')})", "-->>")]
    return [_note(_PROVIDER, f"{entry.name} {render_detail(detail)}".strip())]


def _service_lines(entry: TimelineEntry, authenticated: bool) -> list[str]:
    detail = entry.detail
    ask = "start chat with the token" if authenticated else "start chat with the context"
    if entry.name == "chat session created":
        context = ", ".join(f"{key}={_value(value)}" for key, value in detail["context"].items())
        answer = f"{detail.get('session')} queued in {detail.get('queue')}"
        if context:
            answer += f" ({context})"
        lines = [_arrow(_WIDGET, _SERVICE, ask), _arrow(_SERVICE, _WIDGET, answer, "-->>")]
        for dropped in detail.get("dropped", []):
            lines.append(_note(_SERVICE, f"dropped {dropped['key']}: {dropped['reason']}"))
        return lines
    if entry.name == "token refused":
        return [
            _arrow(_WIDGET, _SERVICE, ask),
            _arrow(_SERVICE, _WIDGET, f"refused: {detail.get('reason')}", "--x"),
        ]
    return [_note(_SERVICE, f"{entry.name} {render_detail(detail)}".strip())]


def mermaid(result: ScenarioResult) -> str:
    """A Mermaid ``sequenceDiagram`` of the run: page, widget, the page's providers, Omnichannel."""
    _require_result(result)
    authenticated = any(entry.name == "auth token provider called" for entry in result.timeline)
    lines = [
        "sequenceDiagram",
        f"    participant {_PAGE}",
        f"    participant {_WIDGET} as Live chat widget",
        f"    participant {_PROVIDER} as Page providers",
        f"    participant {_SERVICE}",
    ]
    # A step that raised before it recorded anything (strict mode before lcw:ready, a widget
    # that failed to load) has no entry of its own: it is drawn where it ran.
    raised = {error.step: error for error in result.errors}
    silent: dict[int, list[tuple[float, RaisedError]]] = {}
    for record in result.steps:
        error = raised.get(record.step.number)
        if error is not None and record.begin == record.end:
            silent.setdefault(record.begin, []).append((record.started_at, error))
    shown_at: float | None = None

    def moment(at: float) -> None:
        nonlocal shown_at
        if shown_at is None or at != shown_at:
            text = f"+{describe_offset(at - result.start)} s"
            if shown_at is None:
                text += f", {describe_instant(at)}"
            lines.append(_note(f"{_PAGE},{_SERVICE}", text))
            shown_at = at

    for index, entry in enumerate((*result.timeline, None)):
        for at, error in silent.get(index, ()):
            moment(at)
            # The agent's moves come from Omnichannel's side, the page's from the page.
            caller = _SERVICE if error.verb.startswith("agent_") else _PAGE
            lines.append(_arrow(caller, _WIDGET, f"{error.verb} raised {error.text}", "-x"))
        if entry is None:
            break
        moment(entry.at)
        match entry.kind:
            case EntryKind.SDK_CALL:
                lines.extend(_sdk_line(entry))
            case EntryKind.EVENT:
                lines.extend(_event_lines(entry))
            case EntryKind.PROVIDER:
                lines.extend(_provider_lines(entry))
            case EntryKind.SERVICE:
                lines.extend(_service_lines(entry, authenticated))
            case _:
                lines.append(_note(_WIDGET, entry.name))
    return "\n".join(lines)


def mermaid_markdown(result: ScenarioResult) -> str:
    """The diagram in a fenced ``mermaid`` block under a heading, as GitHub renders it."""
    verdict = "passed" if result.passed else "FAILED"
    heading = f"### {result.name} ({verdict})"
    if result.source:
        heading += f"\n\n`{result.source}`"
    return f"{heading}\n\n```mermaid\n{mermaid(result)}\n```\n"
