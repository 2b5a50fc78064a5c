"""lcw-emulator verify: the same verdict as a chat start, exit codes 0/1/2, JSON shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lcw_emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTOSO = str(ROOT / "scenarios" / "contoso.toml")
AT = "1542622100"


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_token_json(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    token = sample_token(
        context={"msdyn_cartvalue": "10000", "msdyn_isvip": "maybe", "page": "cart"}
    )
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert report["error_code"] is None and report["error_message"] is None
    assert report["reason"] is None
    assert report["claims"]["sub"] == "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
    assert report["context"] == {"msdyn_cartvalue": 10000, "page": "cart"}
    assert report["created"] == ["page"]
    assert report["dropped"] == [
        {
            "key": "msdyn_isvip",
            "reason": "declared Boolean: 'maybe' is not a boolean (expected true or false)",
        }
    ]


def test_refused_token_json(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    code, out, _ = verify(
        capsys, "--workstream", CONTOSO, "--at", "1542625672", "--json", sample_token()
    )
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["error_code"] == 4
    assert report["error_message"] == "Auth token provider provided invalid token"
    assert report["claim"] == "exp"
    assert report["reason"].startswith("the token expired at exp 1542625672")
    assert report["claims"] is None and report["context"] == {} and report["dropped"] == []


def test_human_output(capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]) -> None:
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, sample_token())
    assert code == 0
    assert (
        out.splitlines()[0]
        == "VALID for work stream 'Contoso help' at 1542622100 (2018-11-19T10:08:20Z)"
    )
    assert "  context: msdyn_cartvalue = 10000 (Number)" in out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "not.a.jwt")
    assert code == 1
    assert "lcw:error 4: Auth token provider provided invalid token" in out
    assert "reason:" in out


def test_token_from_file_and_stdin(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text(sample_token() + "\n")
    assert verify(capsys, "--workstream", CONTOSO, "--at", AT, f"@{token_file}")[0] == 0
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(sample_token()))
    assert verify(capsys, "--workstream", CONTOSO, "--at", AT, "-")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workstream", "/no/such.toml", "x"], "cannot read work stream file"),
        (["--workstream", CONTOSO, "@/no/such/token"], "cannot read the token from /no/such/token"),
    ],
)
def test_unusable_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = verify(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err


def test_bad_toml_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    code, _, err = verify(capsys, "--workstream", str(bad), "x")
    assert code == 2 and "not valid TOML" in err


def test_missing_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["verify", "token-only"])
    assert caught.value.code == 2
