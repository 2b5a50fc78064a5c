"""``lcw-emulator run``: run scenario files, print their timelines, check their expectations."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

from ..errors import ConfigurationError
from ..files import UnreadableFile, read_text
from ..report import (
    mermaid,
    mermaid_markdown,
    render_text,
    summary_line,
    to_dict,
    use_color,
    verdict_line,
)
from ..scenario import Scenario, is_work_stream_file, load_scenario
from ..scenario_runner import ScenarioResult, run_scenario
from ._common import EXIT_FAILED, EXIT_OK, UsageProblem, path_argument


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` verb: scenario files or directories, ``--json``, ``--diagram``."""
    parser = subparsers.add_parser(
        "run",
        help="run scenario files and check their expectations",
        description=(
            "Run each scenario FILE on a virtual clock, print its timeline and a verdict. "
            "Exit 0 when every expectation held, 1 when one did not, 2 when a file cannot "
            "be used (then nothing runs), 74 when the report cannot be written."
        ),
    )
    parser.add_argument(
        "files",
        nargs="+",
        type=path_argument,
        metavar="FILE",
        help="scenario TOML files; a directory runs every scenario file in it",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON report instead")
    parser.add_argument(
        "--diagram",
        choices=["mermaid"],
        help="print a Mermaid sequence diagram per scenario (Markdown GitHub renders); "
        "verdicts go to standard error",
    )
    parser.set_defaults(handler=run)


def scenario_files(paths: list[str]) -> list[str]:
    """The files named, with each directory replaced by the scenario files in it."""
    files: list[str] = []
    for path in paths:
        if not Path(path).is_dir():
            files.append(path)
            continue
        found = [str(file) for file in sorted(Path(path).glob("*.toml")) if _is_scenario(file)]
        if not found:
            raise UsageProblem(f"{path}: no scenario files (*.toml) in it")
        files.extend(found)
    return files


def _is_scenario(file: Path) -> bool:
    # Work stream files sit beside scenarios; anything else is loaded (and judged).
    try:
        data = tomllib.loads(read_text(file, "utf-8-sig"))
    except (UnreadableFile, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return True
    return not is_work_stream_file(data)


def load_all(paths: list[str]) -> list[Scenario]:
    """Parse every file first: one malformed file means nothing runs."""
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in scenario_files(paths):
        try:
            scenarios.append(load_scenario(path))
        except ConfigurationError as exc:
            problems.append(str(exc))
    if problems:
        raise UsageProblem("\n  ".join(["nothing ran:", *problems]))
    return scenarios


def run(args: argparse.Namespace) -> int:
    """Run every scenario; exit 0 when all passed, 1 when one failed (2: unusable input)."""
    scenarios = load_all(args.files)
    results = [run_scenario(scenario) for scenario in scenarios]
    try:
        report(results, args)
    except BrokenPipeError:
        # The reader (head, less) went away; the verdict still stands.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
    return EXIT_OK if all(result.passed for result in results) else EXIT_FAILED


def report(results: list[ScenarioResult], args: argparse.Namespace) -> None:
    """Print each scenario's timeline and verdict, or the JSON report with ``--json``."""
    if args.json:
        print(json.dumps(json_report(results, diagram=args.diagram), indent=2, default=str))
    elif args.diagram == "mermaid":
        print("\n".join(mermaid_markdown(result) for result in results), end="")
        color = use_color(sys.stderr)
        for result in results:
            print(verdict_line(result, color=color), file=sys.stderr)
    else:
        color = use_color(sys.stdout)
        print("\n\n".join(render_text(result, color=color) for result in results))
        if len(results) > 1:
            print(f"\n{summary_line(results, color=color)}")


def json_report(results: list[ScenarioResult], *, diagram: str | None = None) -> dict[str, object]:
    """The ``--json`` report: whether all passed, and each run as report.to_dict has it."""
    scenarios = []
    for result in results:
        report = to_dict(result)
        if diagram == "mermaid":
            report["diagram"] = mermaid(result)
        scenarios.append(report)
    return {"passed": all(result.passed for result in results), "scenarios": scenarios}
