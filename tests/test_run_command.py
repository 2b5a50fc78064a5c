"""lcw-emulator run: exit 0 only when every expectation held, 1 when not, 2 when unusable."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from lcw_emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SAMPLE = "scenarios/documented_sample.toml"


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths print as given; run from the repository as the README does.
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["run", *args])
    out, err = capsys.readouterr()
    return code, out, err


def failing_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "wrong_queue.toml"
    path.write_text(
        f"""
name = "Expects the wrong queue"
workstream = "{SCENARIOS / "contoso.toml"}"
start = 1542622100
private_key = "{SCENARIOS / "keys" / "private.pem"}"
[providers.regular]
claims = {{ sub = "c", iss = "contosohelp.com", lwicontexts = {{ msdyn_isvip = "false" }} }}
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "regular"
[[steps]]
do = "start_chat"
[[steps]]
expect = "session"
queue = "VIP"
[[steps]]
expect = "events"
events = ["lcw:chatQueued"]
""",
        encoding="utf-8",
    )
    return path


def test_a_passing_scenario_exits_0_with_its_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, SAMPLE)
    assert code == 0 and err == ""
    assert out.startswith(f"== {SAMPLE}: The documentation's authenticated sample\n")
    assert "       +0.000  event     lcw:chatQueued\n" in out
    assert out.rstrip().splitlines()[-1] == (
        f"PASS  {SAMPLE}  The documentation's authenticated sample  "
        "(4 of 4 checks held, 0 s virtual)"
    )
    assert "\x1b[" not in out  # captured, not a terminal: plain


def test_the_readme_shows_the_main_command_and_its_real_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)\n```", readme, re.S)
    assert first_block is not None
    assert first_block.group(1) == (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && "
        f".venv/bin/lcw-emulator run {SAMPLE}"
    )
    section = readme[readme.index("## Scenarios") : readme.index("## Judge a token")]
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert shown is not None
    _, out, _ = run(capsys, SAMPLE)
    assert shown.group(1) == out
    assert "docs/scenarios.md" in section


def test_a_failing_expectation_exits_1_showing_step_expectation_and_events(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = failing_scenario(tmp_path)
    code, out, _ = run(capsys, str(path))
    assert code == 1
    report = out[out.index("\nFAIL  ") + 1 :]
    assert report.splitlines()[:7] == [
        f"FAIL  {path}  Expects the wrong queue  (1 of 2 checks failed, 0 s virtual)",
        '  step 4: expect session: queue="VIP"',
        '    what went wrong: queue is "General", expected "VIP"; '
        "chat-0001: queued at +0s (chat started)",
        "    lcw:* events fired by then:",
        "        +0.000  event     lcw:ready",
        "        +0.000  event     lcw:startChat",
        "        +0.000  event     lcw:chatQueued",
    ]
    assert '4  expect session: queue="VIP"  FAILED' in out
    assert "5  expect events: lcw:chatQueued  ok" in out


def test_several_files_one_failing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, SAMPLE, str(failing_scenario(tmp_path)))
    assert code == 1
    assert out.rstrip().endswith("2 scenarios: 1 passed, 1 failed")
    assert out.count("\n== ") == 1 and out.startswith("== ")


def test_a_directory_runs_every_scenario_in_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenarios")
    bundled = [
        path for path in SCENARIOS.glob("*.toml") if path.name != "contoso.toml"
    ]  # contoso.toml is the work stream, skipped
    assert code == 0
    assert out.rstrip().endswith(f"{len(bundled)} scenarios: {len(bundled)} passed, 0 failed")
    assert "contoso.toml:" not in out


def test_a_malformed_file_means_nothing_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'workstream = "{SCENARIOS / "contoso.toml"}"\n'
        '[[steps]]\ndo = "load"\n[[steps]]\nexpect = "sesion"\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, SAMPLE, str(bad))
    assert code == 2
    assert out == ""  # not even the good one ran
    assert err == (
        "lcw-emulator run: nothing ran:\n"
        f"  {bad}: step 2: unknown expectation 'sesion' "
        "(known: events, never, error, context, session, availability, widget)\n"
    )


def test_unusable_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "scenarios/contoso.toml")
    assert code == 2 and "looks like a work stream file" in err
    code, _, err = run(capsys, str(tmp_path / "absent.toml"))
    assert code == 2 and "absent.toml: cannot read scenario file" in err
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and "no scenario files" in err


def test_json_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "--json", SAMPLE)
    assert code == 0
    report = json.loads(out)
    assert report["passed"] is True
    (scenario,) = report["scenarios"]
    assert scenario["source"] == SAMPLE and scenario["passed"] is True
    assert [entry["name"] for entry in scenario["timeline"] if entry["kind"] == "event"] == [
        "lcw:ready",
        "lcw:startChat",
        "lcw:chatQueued",
    ]
    assert "diagram" not in scenario
    code, out, _ = run(capsys, "--json", str(failing_scenario(tmp_path)))
    assert code == 1
    failed = json.loads(out)
    assert failed["passed"] is False
    assert [check["passed"] for check in failed["scenarios"][0]["checks"]] == [False, True]


def test_mermaid_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--diagram", "mermaid", SAMPLE, "scenarios/vip_routing.toml")
    assert code == 0
    assert out.startswith("### The documentation's authenticated sample (passed)\n")
    assert out.count("```mermaid\nsequenceDiagram\n") == 2
    assert err.splitlines()[0].startswith(f"PASS  {SAMPLE}")
    code, out, _ = run(capsys, "--json", "--diagram", "mermaid", SAMPLE)
    assert json.loads(out)["scenarios"][0]["diagram"].startswith("sequenceDiagram\n")


def test_the_installed_command_piped_is_plain() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "lcw_emulator", "run", SAMPLE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "PASS  scenarios/documented_sample.toml" in completed.stdout
    assert "\x1b[" not in completed.stdout


def test_a_step_that_crashes_fails_its_scenario_and_the_others_are_still_reported(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lcw_emulator.scenario_runner import ScenarioRun

    act = ScenarioRun._act

    async def crash_on_reload(self: ScenarioRun, step: object) -> object:
        if getattr(step, "verb", None) == "reload":
            raise RuntimeError("something no scenario can expect")
        return await act(self, step)  # type: ignore[arg-type]

    monkeypatch.setattr(ScenarioRun, "_act", crash_on_reload)
    code, out, _ = run(capsys, "scenarios/reload_mid_chat.toml", SAMPLE)
    assert code == 1
    assert "PASS  scenarios/documented_sample.toml" in out  # not lost with the crash
    assert "FAIL  scenarios/reload_mid_chat.toml" in out
    assert (
        "it raised RuntimeError: something no scenario can expect (not an LCW error: the "
        "traceback is on the lcw_emulator logger)"
    ) in out
    [record] = [r for r in caplog.records if r.name == "lcw_emulator.scenario_runner"]
    message = record.getMessage()
    assert message.startswith("step 5 (reload) of ") and "Traceback" in message
    assert record.exc_info is None  # text only: no frame of the widget kept alive


def test_a_step_that_did_not_wait_and_crashed_fails_its_scenario_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lcw_emulator import Widget

    async def broken(self: Widget) -> object:
        raise RuntimeError("something no scenario can expect")

    monkeypatch.setattr(Widget, "agent_availability", broken)
    crashing = tmp_path / "crashing.toml"
    crashing.write_text(
        f"""
name = "crashes while nobody waits"
workstream = "{(ROOT / "scenarios" / "contoso.toml").as_posix()}"
[[steps]]
do = "load"
[[steps]]
do = "get_agent_availability"
wait = false
[[steps]]
do = "wait"
seconds = 1
[[steps]]
expect = "events"
events = ["lcw:ready"]
""",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, str(crashing), SAMPLE)
    assert code == 1
    assert "PASS  scenarios/documented_sample.toml" in out
    assert "step 2 (get_agent_availability) finishes" in out
    assert "it raised RuntimeError: something no scenario can expect" in out
    # As for a step that was waited for, the steps after the crash do not run.
    assert "\n3  wait" not in out and "(1 of 1 checks failed, 0 s virtual)" in out


@pytest.mark.parametrize(
    "verb",
    [
        ["run", SAMPLE],
        ["verify", "--workstream", "scenarios/contoso.toml", "--at", "1542622100", "a.b.c"],
        ["token", "--key", "scenarios/keys/private.pem"],
        ["keys", "--out", "{tmp}"],
        ["--version"],
        ["run", "--help"],
    ],
)
def test_output_that_cannot_be_written_is_one_line_and_its_own_exit_code(
    verb: list[str], tmp_path: Path
) -> None:
    # A full disk (Linux's /dev/full): not a traceback, and not exit 1, which would read as
    # "refused" or "failed" for a verdict that was never written.
    argv = [part.replace("{tmp}", str(tmp_path / "keys")) for part in verb]
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "lcw_emulator", *argv],
            cwd=ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    assert completed.returncode == 74
    who = "lcw-emulator" if verb[-1].startswith("--") else f"lcw-emulator {verb[0]}"
    assert completed.stderr.endswith(f"{who}: cannot write the output: No space left on device\n")
    assert "Traceback" not in completed.stderr
    argv = [part.replace("{tmp}", str(tmp_path / "more-keys")) for part in verb]
    with open("/dev/full", "w") as full:  # and with nowhere to say so either
        completed = subprocess.run(
            [sys.executable, "-m", "lcw_emulator", *argv],
            cwd=ROOT,
            stdout=full,
            stderr=full,
            check=False,
            timeout=60,
        )
    assert completed.returncode == 74


def test_a_path_the_system_refuses_is_unusable_input_not_an_output_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, str(tmp_path / ("a" * 5000)))
    assert code == 2
    assert err.startswith("lcw-emulator run: File name too long: ")


def _closed(fd: int) -> Callable[[], None]:
    def close() -> None:  # in the child, before Python starts: it gets no stream for fd
        os.close(fd)

    return close


def test_a_closed_standard_error_changes_no_verdict_and_no_output() -> None:
    # `2>&-`: Python's sys.stderr is None. Notes are lost; the verdict and the token are not.
    token = subprocess.run(
        [sys.executable, "-m", "lcw_emulator", "token", "--key", "scenarios/keys/private.pem",
         "--context", "b=2", "--claim", 'lwicontexts={"a":"1"}'],
        cwd=ROOT, capture_output=False, stdout=subprocess.PIPE, text=True, check=False,
        preexec_fn=_closed(2), timeout=60,
    )  # fmt: skip
    assert token.returncode == 0 and token.stdout.count(".") == 2
    refused = subprocess.run(
        [sys.executable, "-m", "lcw_emulator", "run", str(ROOT / "no-such.toml")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
        preexec_fn=_closed(2), timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2


def test_a_closed_standard_output_is_output_that_cannot_be_written() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "lcw_emulator", "token", "--key", "scenarios/keys/private.pem"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True, check=False,
        preexec_fn=_closed(1), timeout=60,
    )  # fmt: skip
    assert completed.returncode == 74
    assert completed.stderr == (
        "lcw-emulator token: cannot write the output: standard output is closed\n"
    )


def test_a_closed_standard_input_is_unusable_input_not_a_refused_token() -> None:
    # `<&-`: Python's sys.stdin is None. Exit 1 would read as "refused" to a CI gate.
    for verb in (
        ["verify", "--workstream", "scenarios/contoso.toml", "-"],
        ["verify", "--workstream", "scenarios/contoso.toml", "--json", "-"],
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "lcw_emulator", *verb],
            cwd=ROOT, capture_output=True, text=True, check=False,
            preexec_fn=_closed(0), timeout=60,
        )  # fmt: skip
        assert completed.returncode == 2, completed.stderr
        assert completed.stderr == (
            "lcw-emulator verify: cannot read the token from standard input: it is closed\n"
        )
        assert completed.stdout == ""


def test_serve_with_nowhere_to_print_its_banner_serves_on() -> None:
    # A server started with its output closed or full (a daemon) still serves the page.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open("/dev/full", "w") as full:
        server = subprocess.Popen(
            [sys.executable, "-m", "lcw_emulator", "serve", "--port", str(port)],
            cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/shim.js", timeout=2) as got:
                    assert b"LiveChatWidget" in got.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 130
    assert "Traceback" not in err and "Exception ignored" not in err


def test_an_output_closed_under_the_command_is_output_that_cannot_be_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    closed = io.StringIO()
    closed.close()  # what writing to it raises is ValueError, not OSError
    with capsys.disabled():
        monkeypatch.setattr(sys, "stdout", closed)
        errors = io.StringIO()
        monkeypatch.setattr(sys, "stderr", errors)
        code = main(["token", "--key", str(ROOT / "scenarios" / "keys" / "private.pem")])
    assert code == 74
    assert errors.getvalue() == (
        "lcw-emulator token: cannot write the output: I/O operation on closed file\n"
    )


def test_a_short_hmac_secret_is_a_timeline_note_and_no_pyjwt_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "short.toml"
    path.write_text(
        """
name = "Short secret"
[workstream]
name = "Inline HS256"
auth = { algorithms = ["HS256"], secret = "short" }
[providers.hs]
claims = { sub = "c", iss = "x" }
[[steps]]
do = "load"
[[steps]]
do = "setAuthTokenProvider"
provider = "hs"
[[steps]]
do = "startChat"
[[steps]]
expect = "events"
events = ["lcw:chatQueued"]
"""
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyJWT's own warning, had it escaped, fails here
        code, out, err = run(capsys, str(path))
    assert (code, err) == (0, "")
    assert "short HMAC secret" in out and "5 bytes, short for HS256" in out
