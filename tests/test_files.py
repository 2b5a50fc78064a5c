"""Files a person names: every way a read fails is one sentence, and no read is unbounded."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from lcw_emulator import WorkStream, files
from lcw_emulator.cli import main
from lcw_emulator.errors import ConfigurationError
from lcw_emulator.files import UnreadableFile, read_bytes, shown_path

ROOT = Path(__file__).resolve().parent.parent
CONTOSO = str(ROOT / "scenarios" / "contoso.toml")


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    return 1000


def test_a_read_stops_at_the_limit(tmp_path: Path, small_limit: int) -> None:
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * small_limit)
    assert read_bytes(exact) == b"x" * small_limit
    (tmp_path / "over").write_bytes(b"x" * (small_limit + 1))
    with pytest.raises(UnreadableFile, match=r"more than 0 MiB.*never ends"):
        read_bytes(tmp_path / "over")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("k\x00.pem", "its name holds a NUL character, which no file name can"),
        ("k\ud800.pem", "its name is not valid text, so no file can have it"),
        ("missing.pem", "No such file or directory"),
        ("", "Is a directory"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_bytes(tmp_path / name)
    assert caught.value.reason == reason


def test_a_path_is_shown_with_what_a_terminal_cannot_print_escaped() -> None:
    assert shown_path("a\x00b\ud800.toml") == "a\\x00b\\ud800.toml"
    assert shown_path("/tmp/é/ß.toml") == "/tmp/é/ß.toml"


def test_a_work_stream_file_nested_past_tomls_reader_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("name = " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ConfigurationError, match="nested hundreds deep"):
        WorkStream.from_toml(deep)


def test_a_work_stream_public_key_path_with_a_nul_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    text = '[auth]\npublic_key = "k\\u0000.pem"\n'
    (tmp_path / "ws.toml").write_text('name = "n"\n' + text)
    with pytest.raises(ConfigurationError) as caught:
        WorkStream.from_toml(tmp_path / "ws.toml")
    assert "[auth].public_key: cannot read " in str(caught.value)
    assert "k\\x00.pem: its name holds a NUL character" in str(caught.value)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_commands_refuse_an_endless_file_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_limit: int
) -> None:
    endless = tmp_path / "endless"
    endless.write_bytes(b"a" * (small_limit + 1))
    for argv in (
        ("run", str(endless)),
        ("verify", "--workstream", str(endless), "x"),
        ("verify", "--workstream", CONTOSO, f"@{endless}"),
        ("token", "--key", str(endless), "--claim", "sub=a"),
    ):
        code, err = cli(capsys, *argv)
        assert code == 2, argv
        assert "never ends?)" in err and "Traceback" not in err, (argv, err)


def test_verify_refuses_an_endless_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, small_limit: int
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"a" * (small_limit + 1)))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, err = cli(capsys, "verify", "--workstream", CONTOSO, "-")
    assert code == 2
    assert "cannot read the token from standard input: it holds more than" in err


def test_run_refuses_nesting_and_nul_paths_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "deep.toml").write_text("name = " + "[" * 500 + "]" * 500 + "\n")
    key = tmp_path / "key.toml"
    key.write_text(
        f'workstream = "{CONTOSO}"\nprivate_key = "k\\u0000"\n'
        '[providers.p]\nclaims = { sub = "a", iss = "contosohelp.com" }\n'
        '[[steps]]\ndo = "load"\n[[steps]]\nexpect = "never"\nevents = ["lcw:error"]\n'
    )
    code, err = cli(capsys, "run", str(tmp_path / "deep.toml"))
    assert code == 2 and "nested hundreds deep" in err, err
    code, err = cli(capsys, "run", str(key))
    assert code == 2 and "private_key: cannot read " in err, err
    assert "k\\x00: its name holds a NUL character" in err, err


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_files_with_any_line_ending_read_alike(tmp_path: Path, ending: str) -> None:
    # Old Mac (\r) and Windows (\r\n) line ends, as Path.read_text reads them.
    lines = ['name = "ends"', "[[context_variables]]", 'name = "msdyn_x"', 'type = "Text"', ""]
    (tmp_path / "ws.toml").write_bytes(ending.join(lines).encode())
    work_stream = WorkStream.from_toml(tmp_path / "ws.toml")
    assert [variable.name for variable in work_stream.context_variables] == ["msdyn_x"]
