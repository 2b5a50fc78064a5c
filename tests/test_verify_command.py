"""lcw-emulator verify: the same verdict as a chat start, exit codes 0/1/2, JSON shape."""

from __future__ import annotations

import asyncio
import codecs
import io
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from unittest.mock import ANY

import attrs
import jwt
import pytest
from conftest import SAMPLE_PAYLOAD
from corpus import Forge

from lcw_emulator import (
    KeyPair,
    LcwEmulator,
    LcwError,
    Omnichannel,
    VirtualClock,
    WorkStream,
    mint_token,
)
from lcw_emulator.cli import main
from lcw_emulator.commands._common import epoch_seconds_argument
from lcw_emulator.commands.serve import docs_sample_work_stream
from lcw_emulator.token_providers import answering_with, static_token

ROOT = Path(__file__).resolve().parent.parent
CONTOSO = str(ROOT / "scenarios" / "contoso.toml")
AT = "1542622100"


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def declaring_a_boolean(tmp_path: Path) -> str:
    """Contoso's work stream with msdyn_isvip declared as the emulator's Boolean, not Text."""
    public_key = (ROOT / "scenarios" / "keys" / "public.pem").as_posix()
    path = tmp_path / "boolean.toml"
    path.write_text(
        'name = "Contoso help, Boolean VIP flag"\n'
        f'[auth]\nalgorithms = ["RS256"]\npublic_key = "{public_key}"\n'
        'issuer = "contosohelp.com"\n'
        '[[context_variables]]\nname = "msdyn_cartvalue"\ntype = "Number"\n'
        '[[context_variables]]\nname = "msdyn_isvip"\ntype = "Boolean"\n',
        encoding="utf-8",
    )
    return str(path)


def test_valid_token_json(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str], tmp_path: Path
) -> None:
    token = sample_token(
        context={"msdyn_cartvalue": "10000", "msdyn_isvip": "maybe", "page": "cart"}
    )
    # Contoso declares msdyn_isvip as Text, as a real org does: "maybe" is a string like any other.
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0
    report = json.loads(out)
    assert report["context"] == {"msdyn_cartvalue": 10000, "msdyn_isvip": "maybe", "page": "cart"}
    assert report["created"] == ["page"]
    assert report["dropped"] == []
    # Declared as the emulator's Boolean, it cannot take "maybe" and is dropped with its reason.
    boolean = declaring_a_boolean(tmp_path)
    code, out, _ = verify(capsys, "--workstream", boolean, "--at", AT, "--json", token)
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
    # "10000.00" (a toFixed) is the same number, shown as JavaScript shows it.
    fixed = sample_token({"msdyn_cartvalue": "10000.00", "msdyn_isvip": "false"})
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, fixed)
    assert "  context: msdyn_cartvalue = 10000 (Number)" in out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "not.a.jwt")
    assert code == 1
    assert "lcw:error 4: Auth token provider provided invalid token" in out
    assert "reason:" in out
    for token, why in (
        (sample_token({}), "lwicontexts is empty"),
        (sample_token(lwicontexts=...), "the token has no lwicontexts"),
    ):
        code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
        assert code == 0 and f"  context: (none: {why})" in out, out


@pytest.mark.parametrize(
    ("claims", "hint"),
    [
        (
            {"lwiContexts": '{"msdyn_cartvalue": "10000"}'},
            "the token has no lwicontexts claim but has 'lwiContexts': Omnichannel reads "
            "the claim named exactly lwicontexts, so its context is not read",
        ),
        (
            {"lwi_context": '{"msdyn_cartvalue": "10000"}'},
            "the token has no lwicontexts claim but has 'lwi_context': Omnichannel reads "
            "the claim named exactly lwicontexts, so its context is not read",
        ),
        (
            {"msdyn_cartvalue": "10000", "msdyn_isvip": "false"},
            "the token carries msdyn_cartvalue, msdyn_isvip as top-level claims: Omnichannel "
            "reads context variables only from inside lwicontexts, a JSON string",
        ),
    ],
)
def test_context_outside_lwicontexts_is_valid_and_says_where_it_went(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    claims: dict[str, str],
    hint: str,
) -> None:
    # A valid token that starts a chat with no context: the mistake is easy to miss.
    token = sample_token(lwicontexts=..., **claims)
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
    assert code == 0 and f"  hint:    {hint}" in out, out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert json.loads(out)["hint"] == hint

    async def chat() -> None:
        org = Omnichannel(clock=VirtualClock(start=float(AT)))
        widget = org.widget(WorkStream.from_toml(CONTOSO))
        await widget.load()
        widget.sdk.setAuthTokenProvider(static_token(token))
        session = await widget.sdk.startChat()
        assert session.context == {} and hint in session.notes
        assert widget.timeline.find("token context outside lwicontexts", {"hint": hint})

    asyncio.run(chat())


def test_no_hint_for_a_token_that_uses_lwicontexts(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    token = sample_token(msdyn_cartvalue="1")  # beside lwicontexts, which is read
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0 and json.loads(out)["hint"] is None


def test_a_key_that_differs_from_a_declared_variable_only_in_case_is_named(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    # Keys are case-sensitive: Msdyn_CartValue is created as Text, and msdyn_cartvalue (and
    # any routing on it) is silently unset. Say which declared variable it was meant to be.
    token = sample_token({"Msdyn_CartValue": "10000", "msdyn_isvip": "true", "msdyn_Other": "x"})
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
    assert code == 0
    assert (
        '  context: Msdyn_CartValue = "10000" (Text) (created at run time: Msdyn_CartValue '
        "differs from the declared msdyn_cartvalue only in case: keys are case-sensitive, so "
        "Msdyn_CartValue is created as Text and msdyn_cartvalue is not set)\n"
    ) in out
    assert '  context: msdyn_Other = "x" (Text) (created at run time)\n' in out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert json.loads(out)["case_mismatches"] == [
        {"key": "Msdyn_CartValue", "declared": "msdyn_cartvalue"}
    ]


@pytest.mark.parametrize(
    "sub",
    [
        "87b4d06c-abc2-e811-a9b0-000d3a10e09e",  # the documentation's sample
        "{87B4D06C-ABC2-E811-A9B0-000D3A10E09E}",
        "(87b4d06c-abc2-e811-a9b0-000d3a10e09e)",
        "87b4d06cabc2e811a9b0000d3a10e09e",
    ],
)
def test_a_guid_sub_gets_no_hint(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str], sub: str
) -> None:
    token = sample_token(sub=sub)
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0 and json.loads(out)["sub_hint"] is None


@pytest.mark.parametrize(
    "sub", ["jane@contoso.com", "contact-42", "{87b4d06c-abc2-e811-a9b0-000d3a10e09e)", "87b4d06c"]
)
def test_a_sub_that_is_no_guid_is_accepted_with_a_hint(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str], sub: str
) -> None:
    # sub is documented as the contact or account GUID the chat is linked to: an e-mail
    # address is a valid token that links the chat to no record.
    hint = (
        f"sub {sub!r} is not a GUID: Omnichannel links the chat to the contact or account "
        "whose id sub is, so this chat would be linked to no record"
    )
    token = sample_token(sub=sub)
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
    assert code == 0 and f"  sub:     {sub} ({hint})\n" in out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0 and json.loads(out)["sub_hint"] == hint


async def test_a_chat_start_notes_a_key_that_differs_only_in_case(
    contoso: WorkStream, sample_token: Callable[..., str]
) -> None:
    widget = Omnichannel(clock=VirtualClock(start=int(AT))).widget(contoso)
    await widget.load()
    widget.sdk.setAuthTokenProvider(static_token(sample_token({"MSDYN_ISVIP": "true"})))
    session = await widget.sdk.startChat()
    assert session.queue.name == "General"  # the VIP rule reads msdyn_isvip, which is unset
    assert widget.timeline.find(
        "context key differs from a declared variable only in case",
        {"key": "MSDYN_ISVIP", "declared": "msdyn_isvip"},
    )
    # The same for a custom context, on a work stream without authentication.
    public = attrs.evolve(contoso, auth=None)
    widget = Omnichannel(clock=VirtualClock(start=int(AT))).widget(public)
    await widget.load()
    await widget.sdk.startChat({"customContext": {"Msdyn_IsVip": {"value": "true"}}})
    assert widget.timeline.find(
        "context key differs from a declared variable only in case",
        {"key": "Msdyn_IsVip", "declared": "msdyn_isvip"},
    )
    await widget.sdk.closeChat()
    await widget.sdk.startChat({"customContext": {"msdyn_isvip": "true", "other": "x"}})
    notes = widget.timeline.find("context key differs from a declared variable only in case")
    assert len(notes) == 1  # none for a key that matches or resembles nothing
    await widget.sdk.closeChat()
    # The declared variable set under its own name too: it is set, so no note says otherwise.
    await widget.sdk.startChat({"customContext": {"msdyn_isvip": "true", "MSDYN_ISVIP": "x"}})
    notes = widget.timeline.find("context key differs from a declared variable only in case")
    assert len(notes) == 1


def test_no_case_mismatch_when_the_declared_variable_is_set_too(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    token = sample_token({"msdyn_isvip": "true", "MSDYN_ISVIP": "x"})
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0 and json.loads(out)["case_mismatches"] == []


def test_strict_context_exits_1_when_a_valid_tokens_context_is_not_kept_whole(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    # For a CI that gates on context resolution, not only on acceptance.
    whole = sample_token()
    loose = sample_token({"msdyn_cartvalue": "abc", "msdyn_locale": "en"})
    misplaced = sample_token(lwicontexts=..., msdyn_isvip="false")
    for token, strict_code, line in (
        (whole, 0, None),
        (loose, 1, "  strict:  context not kept whole: 1 key(s) dropped, 1 key(s) created"),
        (misplaced, 1, "  strict:  context not kept whole: context outside lwicontexts"),
    ):
        code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
        assert code == 0 and "strict:" not in out
        code, out, _ = verify(
            capsys, "--workstream", CONTOSO, "--at", AT, "--strict-context", token
        )
        assert code == strict_code, out
        assert line is None or line in out, out
    code, _, _ = verify(capsys, "--workstream", CONTOSO, "--strict-context", whole)  # expired
    assert code == 1
    for token, strict in (
        (whole, None),
        (loose, "context not kept whole: 1 key(s) dropped, 1 key(s) created at run time"),
    ):
        args = ("--workstream", CONTOSO, "--at", AT, "--strict-context", "--json", token)
        code, out, _ = verify(capsys, *args)
        shown = json.loads(out)
        assert (code, shown["valid"], shown["strict"]) == (int(strict is not None), True, strict)


def test_a_refused_token_shows_its_payload_as_sent(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str]
) -> None:
    token = sample_token(iss="contoso.example")
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
    assert code == 1
    assert '  payload: {"sub": "87b4d06c' in out and "(as sent: not verified)" in out
    assert '"iss": "contoso.example"' in out
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    shown = json.loads(out)
    assert shown["claims"] is None and shown["payload"]["iss"] == "contoso.example"
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", "not.a.jwt")
    assert json.loads(out)["payload"] is None


def test_a_refused_token_whose_header_pyjwt_rejects_still_shows_its_payload(
    capsys: pytest.CaptureFixture[str], demo_keys: KeyPair
) -> None:
    # jwt.decode without the signature still judges the header: a kid that is no string,
    # crit. Those are the refusals whose payload a reader most wants to see.
    forge = Forge(demo=demo_keys, stranger=demo_keys)
    for header in ({"alg": "RS256", "kid": 7}, {"alg": "RS256", "crit": ["exp"], "exp": 1}):
        token = forge.raw(header, SAMPLE_PAYLOAD, rsa=demo_keys)  # PyJWT builds neither
        code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
        assert code == 1 and json.loads(out)["payload"] == SAMPLE_PAYLOAD, (header, out)
        code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
        assert '  payload: {"sub": "87b4d06c' in out, out


def test_what_a_token_carries_cannot_write_lines_or_colours_of_its_own(
    capsys: pytest.CaptureFixture[str], sample_token: Callable[..., str], demo_keys: KeyPair
) -> None:
    forged_sub = '87b4d06c-abc2-e811-a9b0-000d3a10e09e\n  context: msdyn_isvip = "true" (Text)'
    token = sample_token(
        {"msdyn_cartvalue\n  dropped: none": "5", "\x1b[31mred": "x"}, sub=forged_sub
    )
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, token)
    assert code == 0, out
    lines = out.splitlines()
    assert not any(line.startswith('  context: msdyn_isvip = "true"') for line in lines), out
    assert not any(line.startswith("  dropped: none") for line in lines), out
    assert "\x1b" not in out
    assert any(
        line.startswith(
            '  sub:     87b4d06c-abc2-e811-a9b0-000d3a10e09e\\n  context: msdyn_isvip = "true"'
        )
        for line in lines
    ), out
    assert any(line.startswith("  context: \\x1b[31mred = ") for line in lines), out
    # Refused, the payload line and the reason are one line each too.
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", "1", token)
    assert code == 1 and "\x1b" not in out and len(out.splitlines()) == 4, out
    # ... also where the reason quotes the token (PyJWT's words for a crit it does not know).
    forged = "x\nVALID for work stream 'Contoso help' at 1542622100\x1b[8m"
    crit = Forge(demo=demo_keys, stranger=demo_keys).raw(
        {"alg": "RS256", "crit": [forged]}, SAMPLE_PAYLOAD, rsa=demo_keys
    )
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, crit)
    assert code == 1 and "\x1b" not in out and len(out.splitlines()) == 4, out
    assert not any(line.startswith("VALID") for line in out.splitlines()), out


def test_token_from_file_and_stdin(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text(sample_token() + "\n")
    code, _, err = verify(capsys, "--workstream", CONTOSO, "--at", AT, f"@{token_file}")
    assert code == 0
    assert err == f"note: the final line ending of {token_file} is not taken as part of the token\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(sample_token()))
    assert verify(capsys, "--workstream", CONTOSO, "--at", AT, "-") == (0, ANY, "")


@pytest.mark.parametrize("sent", [" {token}\n", "{token}\n\n", "{token} \n", "{token}\t"])
def test_whitespace_around_a_token_read_from_a_pipe_is_judged_as_a_chat_start_judges_it(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    sent: str,
) -> None:
    # Only the pipe's final line ending is left out; a page keeps the rest of what it is handed.
    token = sample_token()
    handed_over = sent.format(token=token).removesuffix("\n")
    expected = chat_start_refusal(handed_over)
    monkeypatch.setattr("sys.stdin", io.StringIO(sent.format(token=token)))
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "-")
    assert code == 1
    assert f"  lcw:error {int(expected.code or 0)}: {expected.message}\n" in out
    assert f"  reason:  {expected.reason}\n" in out


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


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),  # Notepad's "UTF-8 with BOM"
        (codecs.BOM_UTF16_LE, "utf-16-le"),  # Windows PowerShell's `>`
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_a_token_file_with_a_bom_is_read(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bom: bytes,
    codec: str,
) -> None:
    data = bom + (sample_token() + "\r\n").encode(codec)
    token_file = tmp_path / "token.txt"
    token_file.write_bytes(data)
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, f"@{token_file}")
    assert (code, out.split(" for ")[0]) == (0, "VALID")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))  # PowerShell's `|`
    assert verify(capsys, "--workstream", CONTOSO, "--at", AT, "-")[0] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"eyJhbGciOi\xe9x", "neither UTF-8 nor UTF-16 with a BOM (invalid continuation byte"),
        (codecs.BOM_UTF16_LE + b"e\x00y", "neither UTF-8 nor UTF-16 with a BOM (truncated data"),
        ("eyJhbGciOi".encode("utf-16-le"), "NUL characters (UTF-16 without a BOM?"),
    ],
)
def test_a_token_file_that_is_not_text_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, message: str
) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_bytes(data)
    code, out, err = verify(capsys, "--workstream", CONTOSO, f"@{token_file}")
    assert (code, out) == (2, "")
    assert err.startswith(f"lcw-emulator verify: cannot read the token from {token_file}: ")
    assert message in err and err.count("\n") == 1


def chat_start_refusal(answer: object) -> LcwError:
    """What a chat start on the Contoso stream raises when the provider calls back ``answer``."""
    with LcwEmulator(CONTOSO) as lcw:
        lcw.sdk.setAuthTokenProvider(answering_with(answer))
        with pytest.raises(LcwError) as refused:
            lcw.run(lcw.sdk.startChat)
    return refused.value


def test_a_blank_token_is_judged_as_a_chat_start_judges_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Truthy in JavaScript, so handed over and refused as a token: code 4, not 3.
    expected = chat_start_refusal("  ")
    assert expected.code == 4
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "  ")
    assert code == 1
    assert f"  lcw:error 4: {expected.message}\n  reason:  {expected.reason}\n" in out


@pytest.mark.parametrize(
    ("token", "stdin", "answer"),
    [
        ("", None, ""),
        ("-", "\n", ""),  # the token service printed nothing
        ("null", None, None),  # what `jq .token` prints when there is no token
        ("-", "null\n", None),
    ],
)
def test_no_token_is_judged_as_a_chat_start_judges_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    token: str,
    stdin: str | None,
    answer: object,
) -> None:
    expected = chat_start_refusal(answer)
    assert expected.code == 3
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, out, _ = verify(capsys, "--workstream", CONTOSO, token)
    assert code == 1
    assert f"  lcw:error 3: {expected.message}\n  reason:  {expected.reason}\n" in out
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--json", token)
    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "error_code": 3,
        "error_message": "Auth token provider didn't provide any token",
        "reason": expected.reason,
        "claim": None,
        "claims": None,
        "context": {},
        "created": [],
        "dropped": [],
        "hint": None,
        "sub_hint": None,
        "case_mismatches": [],
        "payload": None,
    }


@pytest.mark.parametrize("as_json", [False, True])
def test_a_work_stream_without_auth_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    sample_token: Callable[..., str],
    tmp_path: Path,
    as_json: bool,
) -> None:
    unauthenticated = tmp_path / "ws.toml"
    unauthenticated.write_text('name = "Unauthenticated"\n')
    args = ["--workstream", str(unauthenticated), *(["--json"] if as_json else []), sample_token()]
    code, out, err = verify(capsys, *args)
    assert (code, out) == (2, "")
    assert err == (
        f"lcw-emulator verify: {unauthenticated}: work stream 'Unauthenticated' has no chat "
        "authentication ([auth]), so no token can be verified\n"
    )


@pytest.mark.parametrize("unbuffered", [True, False])
def test_a_reader_that_leaves_early_ends_verify_quietly(
    sample_token: Callable[..., str], unbuffered: bool
) -> None:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if unbuffered:  # common in Docker and CI images: each print writes at once
        env["PYTHONUNBUFFERED"] = "1"
    argv = ["verify", "--workstream", CONTOSO, "--at", AT, sample_token()]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line, as `| head -0` would be
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lcw_emulator", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def test_non_ascii_context_on_an_ascii_output_is_escaped_not_a_crash(
    sample_token: Callable[..., str],
) -> None:
    env = dict(os.environ, PYTHONIOENCODING="ascii")  # as a cp1252 or ASCII stream would be
    token = sample_token({"msdyn_cartvalue": "10", "msdyn_page": "Z\u00fcrich \u2615"})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lcw_emulator",
            "verify",
            "--workstream",
            CONTOSO,
            "--at",
            AT,
            token,
        ],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert 'msdyn_page = "Z\\xfcrich \\u2615"' in done.stdout.decode("ascii")


def test_json_output_stays_json_with_a_claim_no_double_holds(
    capsys: pytest.CaptureFixture[str], demo_keys: KeyPair
) -> None:
    # An extra claim of 5,000 digits reads as Infinity; JSON has no Infinity, so it is text.
    payload = json.dumps(SAMPLE_PAYLOAD)[:-1] + ', "huge": ' + "9" * 5000 + "}"
    token = jwt.api_jws.encode(payload.encode(), demo_keys.private_key, algorithm="RS256")
    code, out, _ = verify(capsys, "--workstream", CONTOSO, "--at", AT, "--json", token)
    assert code == 0
    assert json.loads(out)["claims"]["huge"] == "Infinity"


def test_a_short_hmac_secret_is_one_plain_note_not_pyjwt_s_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's, minting here: the test is verify's
        token = mint_token(SAMPLE_PAYLOAD, "your-256-bit-secret", algorithm="HS256")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escaped would fail the test here
        code, out, err = verify(
            capsys, "--workstream", str(docs_sample_work_stream()), "--at", AT, token
        )
    assert (code, out.split(" for ")[0]) == (0, "VALID")
    assert err == (
        "note: the work stream's HMAC secret is 19 bytes, short for HS256; fine for a demo, "
        "too short for real use (RFC 7518 section 3.2 asks for at least the hash's size: 32 "
        "bytes for HS256, 48 for HS384, 64 for HS512)\n"
    )


def test_a_chat_start_with_a_short_secret_notes_it_instead_of_pyjwt_warning() -> None:
    # The documentation's own HS256 sample secret is 19 bytes; PyJWT warned from deep in
    # this package at every check, which a student could make nothing of.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's, minting here
        token = mint_token(SAMPLE_PAYLOAD, "your-256-bit-secret", algorithm="HS256")

    async def chat() -> None:
        org = Omnichannel(clock=VirtualClock(start=float(AT)))
        widget = org.widget(WorkStream.from_toml(docs_sample_work_stream()))
        await widget.load()
        widget.sdk.setAuthTokenProvider(static_token(token))
        await widget.sdk.startChat()
        [note] = widget.timeline.find("short HMAC secret")
        assert note.detail == {
            "secret": "the work stream's HMAC secret is 19 bytes, short for HS256"
        }

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escaped would fail the test here
        asyncio.run(chat())


@pytest.mark.parametrize(
    "verb", [["verify", "--workstream", CONTOSO, "x"], ["token", "--key", "k"]]
)
def test_a_moment_in_milliseconds_is_refused_as_a_claim_in_milliseconds_is(
    capsys: pytest.CaptureFixture[str], verb: list[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*verb, "--at", "1542622100000"])
    assert caught.value.code == 2
    assert "--at: 1542622100000 is past the year 5000 in epoch seconds: milliseconds" in (
        capsys.readouterr().err
    )
    assert epoch_seconds_argument("-100000000000") == -100000000000  # long ago, not milliseconds


def test_a_token_file_named_without_its_at_sign_gets_a_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token.txt").write_text("eyJ.eyJ.sig\n")
    code, _, err = verify(capsys, "--workstream", CONTOSO, "token.txt")
    assert code == 1  # judged as the token it is, refused
    assert err == "note: token.txt is a file: to judge the token in it, write @token.txt\n"
    # A token cut short is too long to be a file name: judged, with no note and no crash.
    long_text = "eyJ" + "a" * 600 + ".eyJ"
    code, out, err = verify(capsys, "--workstream", CONTOSO, long_text)
    assert (code, err) == (1, "") and "three dot-separated parts" in out
