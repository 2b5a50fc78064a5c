"""``lcw-emulator keys`` and ``lcw-emulator token``: fresh keys, minted tokens, judged by verify."""

from __future__ import annotations

import io
import json
import math
import os
import stat
import time
import warnings
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lcw_emulator import KeyPair, load_public_keys, mint_token
from lcw_emulator.cli import main

AT = 1_700_000_000


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys")
    assert main(["keys", "--out", str(out), "--kid", "rotating-2026"]) == 0
    return out


def work_stream(tmp_path: Path, key_dir: Path, public_key: str) -> str:
    path = tmp_path / "ws.toml"
    path.write_text(
        f"""
name = "CLI test"
[auth]
public_key = "{(key_dir / public_key).as_posix()}"
issuer = "tokens.example"
[[context_variables]]
name = "cart"
type = "Number"
""",
        encoding="utf-8",
    )
    return str(path)


def claims(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_keys_writes_the_pair_and_every_public_form(key_dir: Path) -> None:
    names = sorted(path.name for path in key_dir.iterdir())
    assert names == ["jwks.json", "keys.json", "private.pem", "public.pem"]
    assert stat.S_IMODE((key_dir / "private.pem").stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    for public in ("public.pem", "keys.json", "jwks.json"):  # a web server must read these
        assert stat.S_IMODE((key_dir / public).stat().st_mode) == 0o644 & ~umask
    pem = load_public_keys((key_dir / "public.pem").read_text())
    array = load_public_keys((key_dir / "keys.json").read_text())
    jwks = load_public_keys((key_dir / "jwks.json").read_text())
    assert [key.kid for key in (*pem, *array, *jwks)] == [None, "rotating-2026", "rotating-2026"]
    assert pem[0].pem == array[0].pem == jwks[0].pem
    assert json.loads((key_dir / "keys.json").read_text())[0]["expiry"] is None


def test_keys_prints_the_files_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "keys", "--out", str(tmp_path / "new"))
    assert code == 0
    assert out.splitlines() == [
        str(tmp_path / "new" / name) for name in ("private.pem", "public.pem", "keys.json")
    ] + [str(tmp_path / "new" / "jwks.json")]
    first = (tmp_path / "new" / "private.pem").read_text()
    code, _, err = cli(capsys, "keys", "--out", str(tmp_path / "new"))
    assert code == 2
    assert "already holds private.pem, public.pem, keys.json, jwks.json; use --force" in err
    assert cli(capsys, "keys", "--out", str(tmp_path / "new"), "--force")[0] == 0
    assert (tmp_path / "new" / "private.pem").read_text() != first
    (tmp_path / "afile").write_text("")
    code, _, err = cli(capsys, "keys", "--out", str(tmp_path / "afile"))
    assert code == 2 and f"--out {tmp_path / 'afile'} is a file, not a directory" in err


def test_keys_force_writes_all_the_files_or_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "keys"
    assert cli(capsys, "keys", "--out", str(out))[0] == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    (out / "jwks.json").unlink()
    (out / "jwks.json").mkdir()  # the last file cannot be replaced
    code, _, err = cli(capsys, "keys", "--out", str(out), "--force")
    assert code == 2 and f"cannot write {out / 'jwks.json'}: it is a directory" in err
    # The pair and the key array still match: nothing was half replaced, nothing left over.
    after = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    assert after == {name: data for name, data in before.items() if name != "jwks.json"}
    assert sorted(path.name for path in out.iterdir()) == sorted(before)


@pytest.mark.parametrize("hard_links", [True, False])
def test_of_two_runs_writing_one_directory_at_once_one_writes_and_one_refuses(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hard_links: bool,
) -> None:
    # A session fixture that makes the keys if missing, under xdist: both runs find the
    # directory empty; the second to place a file must not overwrite the first's set.
    from lcw_emulator.commands import keys

    out = tmp_path / "keys"
    real_place = keys._place
    inner: list[Any] = []

    def no_hard_links(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    if not hard_links:
        monkeypatch.setattr(os, "link", no_hard_links)

    def another_run_first(staged: Path, target: Path) -> None:
        if not inner:  # the other run does all its work between this one's checks and moves
            inner.append(None)
            inner[0] = cli(capsys, "keys", "--out", str(out), "--kid", "other")
        real_place(staged, target)

    monkeypatch.setattr(keys, "_place", another_run_first)
    code, out_text, err = cli(capsys, "keys", "--out", str(out), "--kid", "mine")
    assert inner[0][0] == 0
    assert (code, out_text) == (2, "")
    assert f"{out} already holds private.pem, written meanwhile" in err
    # The other run's set, whole and alone: its key in every form, no staged file left.
    assert sorted(path.name for path in out.iterdir()) == sorted(keys.FILES)
    pair = KeyPair.from_private_pem((out / "private.pem").read_text())
    assert (out / "public.pem").read_text() == pair.public_pem
    assert json.loads((out / "jwks.json").read_text())["keys"][0]["kid"] == "other"


def test_keys_refuses_a_directory_holding_a_symlink_to_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    (out / "private.pem").symlink_to(tmp_path / "nowhere.pem")
    code, _, err = cli(capsys, "keys", "--out", str(out))
    assert code == 2 and f"{out} already holds private.pem; use --force" in err, err
    assert cli(capsys, "keys", "--out", str(out), "--force")[0] == 0
    assert not (out / "private.pem").is_symlink()


def test_a_write_that_fails_halfway_leaves_the_old_set_and_nothing_else(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    out = tmp_path / "keys"
    assert cli(capsys, "keys", "--out", str(out))[0] == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    real_fdopen, opened = os.fdopen, []

    def disk_full_on_the_second(fd: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(fd)
        if len(opened) == 2:  # public.pem: private.pem is already staged
            os.close(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", disk_full_on_the_second)
    code, _, err = cli(capsys, "keys", "--out", str(out), "--force")
    # A full disk is output that cannot be written (74), naming the file it was.
    assert code == 74
    assert f"cannot write the output: {out / 'public.pem'}: No space left on device" in err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before  # no .tmp left
    monkeypatch.undo()
    assert cli(capsys, "keys", "--out", str(out), "--force")[0] == 0  # nothing blocks a rerun


def test_the_private_key_is_never_readable_by_others(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Created 0600, not chmod-ed after the write: no moment where others could read it.
    import os

    modes: dict[str, int] = {}
    real_open = os.open

    def watching_open(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        modes[os.path.basename(path)] = mode
        return real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", watching_open)
    assert cli(capsys, "keys", "--out", str(tmp_path))[0] == 0
    [private] = [mode for name, mode in modes.items() if "private.pem" in name]
    assert private == 0o600
    assert stat.S_IMODE((tmp_path / "private.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("public_key", ["keys.json", "jwks.json"])
def test_a_minted_token_passes_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key_dir: Path, public_key: str
) -> None:
    code, token, err = cli(
        capsys,
        "token",
        "--key",
        str(key_dir / "private.pem"),
        "--kid",
        "rotating-2026",
        "--iss",
        "tokens.example",
        "--sub",
        "contact-7",
        "--at",
        str(AT),
        "--context",
        "cart=10000",
        "--context",
        "note=a=b",
    )
    assert (code, err) == (0, "")
    token = token.strip()
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "kid": "rotating-2026",
        "typ": "JWT",
    }
    assert claims(token) == {
        "sub": "contact-7",
        "iss": "tokens.example",
        "iat": AT,
        "nbf": AT,
        "exp": AT + 3600,
        "lwicontexts": '{"cart": "10000", "note": "a=b"}',  # a JSON string, as documented
    }
    ws = work_stream(tmp_path, key_dir, public_key)
    code, out, _ = cli(capsys, "verify", "--workstream", ws, "--at", str(AT + 60), "--json", token)
    verdict = json.loads(out)
    assert code == 0, verdict
    assert verdict["context"] == {"cart": 10000, "note": "a=b"}


def test_claims_win_and_defaults_can_be_left_out(
    capsys: pytest.CaptureFixture[str], key_dir: Path
) -> None:
    code, token, _ = cli(
        capsys,
        "token",
        "--key",
        str(key_dir / "private.pem"),
        "--at",
        str(AT),
        "--lifetime",
        "60",
        "--claim",
        "exp=1700000030",
        "--claim",
        "tier=gold",
        "--claim",
        'roles=["a", "b"]',
        "--omit",
        "nbf",
        "--omit",
        "sub",
    )
    assert code == 0
    assert jwt.get_unverified_header(token.strip()) == {"alg": "RS256", "typ": "JWT"}
    assert claims(token.strip()) == {
        "iat": AT,
        "exp": 1700000030,
        "iss": "lcw-emulator",
        "tier": "gold",
        "roles": ["a", "b"],
    }


def test_a_claim_of_the_wrong_type_is_signed_as_given_to_see_it_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key_dir: Path
) -> None:
    code, token, err = cli(
        capsys, "token", "--key", str(key_dir / "private.pem"), "--at", str(AT), "--claim", "iss=5"
    )
    assert (code, err) == (0, "")
    assert claims(token.strip())["iss"] == 5
    ws = work_stream(tmp_path, key_dir, "public.pem")
    code, out, _ = cli(capsys, "verify", "--workstream", ws, "--at", str(AT), token.strip())
    assert code == 1
    assert "iss must be a non-empty string" in out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--at", "nan", "must be a finite number"),
        ("--at", "inf", "must be a finite number"),
        ("--lifetime", "inf", "must be a finite number"),
        ("--lifetime", "soon", "not a number"),
        ("--claim", "score=NaN", "--claim score: nan is not a JSON number"),
        ("--claim", "exp=-Infinity", "--claim exp: -inf is not a JSON number"),
        # argparse hands --lifetime=-- an empty list, which used to end in a TypeError.
        ("--lifetime=--", None, "--lifetime=--: '--' is no value for --lifetime; give one"),
    ],
)
def test_numbers_a_token_cannot_hold_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
    key_dir: Path,
    option: str,
    value: str | None,
    message: str,
) -> None:
    given = [option] if value is None else [option, value]
    try:
        code = main(["token", "--key", str(key_dir / "private.pem"), *given])
    except SystemExit as exit:  # argparse's own usage error
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_a_moment_past_any_date_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], key_dir: Path
) -> None:
    # Each finite, their sum would not be: --at is refused first, as no epoch seconds.
    key = str(key_dir / "private.pem")
    try:
        code = main(["token", "--key", key, "--at", "1e308", "--lifetime", "1e308"])
    except SystemExit as exit:
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "--at: 1e308 is past the year 5000 in epoch seconds" in err and "Traceback" not in err
    # A lifetime that long mints a token every check refuses: refused here instead, to the
    # second (exp is rounded up), unless the exp is the caller's own.
    at = ["token", "--key", key, "--at", "1542622100"]
    for lifetime in ("1e308", str(100_000_000_000 - 1542622100 - 0.5), "-2e11"):
        code = main([*at, f"--lifetime={lifetime}"])
        out, err = capsys.readouterr()
        assert (code, out) == (2, ""), err
        assert "--lifetime: a token minted at 1542622100 (2018-11-19T10:08:20Z)" in err, err
        assert "every check would refuse it: give a shorter lifetime" in err, err
    assert main([*at, "--lifetime", str(100_000_000_000 - 1542622100 - 1)]) == 0
    assert main([*at, "--lifetime", "1e308", "--claim", "exp=1e300"]) == 0
    capsys.readouterr()


def test_the_default_sub_is_the_documentations_sample_and_time_is_now(
    capsys: pytest.CaptureFixture[str], key_dir: Path
) -> None:
    before = int(time.time())
    code, token, _ = cli(capsys, "token", "--key", str(key_dir / "private.pem"))
    assert code == 0
    minted = claims(token.strip())
    assert minted["sub"] == "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
    assert isinstance(minted["iat"], int)
    assert before <= minted["iat"] <= time.time()
    assert "lwicontexts" not in minted
    assert minted["iss"] == "lcw-emulator"  # iss is a documented minimum claim


def test_an_expired_token_is_refused_by_verify_naming_exp(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key_dir: Path
) -> None:
    token = cli(
        capsys,
        "token",
        "--key",
        str(key_dir / "private.pem"),
        "--kid",
        "rotating-2026",
        "--iss",
        "tokens.example",
        "--at",
        str(AT),
        "--lifetime",
        "-1",
    )[1].strip()
    ws = work_stream(tmp_path, key_dir, "keys.json")
    code, out, _ = cli(capsys, "verify", "--workstream", ws, "--at", str(AT), token)
    assert code == 1
    assert "reason:  the token expired at exp 1699999999" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--key", "missing.pem"], "cannot read missing.pem: No such file or directory"),
        (["--key", "{dir}/public.pem"], "public.pem holds a public key"),
        (["--key", "{dir}/private.pem", "--context", "nokey"], "--context takes KEY=VALUE"),
        (["--key", "{dir}/private.pem", "--claim", "=1"], "--claim takes KEY=VALUE, got '=1'"),
        (
            ["--key", "{dir}/private.pem", "--omit", "exp", "--claim", "exp=1800000500"],
            "--omit exp drops the exp that --claim exp=... sets: give one or the other",
        ),
    ],
)
def test_unusable_token_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], key_dir: Path, argv: list[str], message: str
) -> None:
    code, out, err = cli(capsys, "token", *[arg.format(dir=key_dir) for arg in argv])
    assert code == 2
    assert out == ""
    assert err.startswith("lcw-emulator token: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["run", ""],
        ["verify", "--workstream", "", "a.b.c"],
        ["serve", "--workstream", ""],
        ["token", "--key", ""],
        ["keys", "--out", ""],
    ],
)
def test_an_empty_path_is_refused_not_taken_for_this_directory(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # `lcw-emulator run "$SCENARIO"` with the variable unset ran every scenario here and passed.
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "an empty path (is a shell variable unset?)" in capsys.readouterr().err


def test_an_at_sign_alone_and_an_empty_stdin_are_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, "verify", "--workstream", "scenarios/contoso.toml", "@")
    assert code == 2 and "@ names no file: write @FILE to read the token from FILE" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = cli(capsys, "verify", "--workstream", "scenarios/contoso.toml", "-")
    assert code == 1 and "lcw:error 3" in out  # judged as what it is: no token
    assert err == "note: standard input was empty: the token is judged as the empty string\n"


def test_a_key_no_token_could_be_signed_with_is_named_for_what_it_is(
    capsys: pytest.CaptureFixture[str], key_dir: Path, tmp_path: Path
) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "small.pem").write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "empty.pem").write_text("")
    for key, message in [
        (tmp_path / "small.pem", "is a 1024-bit RSA key: Omnichannel takes 2048 bits or more"),
        (key_dir / "public.pem", "holds a public key: tokens are signed with the private key"),
        (key_dir / "jwks.json", "is not PEM text (it has no -----BEGIN line)"),
        (tmp_path / "empty.pem", "is empty: name the PEM file of an RSA private key"),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and no PyJWT warning on the way
            code, out, err = cli(capsys, "token", "--key", str(key))
        assert (code, out) == (2, "")
        assert err == f"lcw-emulator token: {key} {message}" + err.split(message, 1)[1]


def test_a_pair_given_twice_is_noted_and_the_last_one_signed(
    capsys: pytest.CaptureFixture[str], key_dir: Path
) -> None:
    key = str(key_dir / "private.pem")
    code, out, err = cli(capsys, "token", "--key", key, "--context", "a=1", "--context", "a=2")
    assert code == 0 and json.loads(str(claims(out.strip())["lwicontexts"])) == {"a": "2"}
    assert err == "note: --context a is given more than once; the last one is signed\n"
    code, out, err = cli(
        capsys, "token", "--key", key, "--context", "a=1", "--claim", 'lwicontexts={"b":"2"}'
    )
    assert code == 0 and claims(out.strip())["lwicontexts"] == {"b": "2"}
    assert err == "note: --claim lwicontexts=... replaces every --context pair\n"


def test_a_pem_with_openssl_bag_attributes_before_it_signs(
    capsys: pytest.CaptureFixture[str], key_dir: Path, tmp_path: Path
) -> None:
    # What `openssl pkcs12 -nocerts -nodes` writes: attribute lines, then the key.
    pem = (key_dir / "private.pem").read_text()
    (tmp_path / "bagged.pem").write_text("Bag Attributes\n    localKeyID: 01 02\n" + pem)
    code, out, _ = cli(capsys, "token", "--key", str(tmp_path / "bagged.pem"))
    assert code == 0 and out.count(".") == 2


def test_the_public_files_follow_the_umask_as_any_new_file_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = os.umask(0o077)
    try:
        assert cli(capsys, "keys", "--out", str(tmp_path))[0] == 0
        assert cli(capsys, "keys", "--out", str(tmp_path), "--force")[0] == 0
    finally:
        os.umask(before)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == dict.fromkeys(("private.pem", "public.pem", "keys.json", "jwks.json"), 0o600)


def test_a_pem_quoted_inside_json_is_not_taken_for_a_pem_file(
    capsys: pytest.CaptureFixture[str], key_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "key.json").write_text(json.dumps({"key": (key_dir / "private.pem").read_text()}))
    code, _, err = cli(capsys, "token", "--key", str(tmp_path / "key.json"))
    assert code == 2 and "is not PEM text (it has no -----BEGIN line)" in err


def test_a_full_disk_when_making_the_directory_is_output_that_cannot_be_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(self: Path, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    code, _, err = cli(capsys, "keys", "--out", str(tmp_path / "new"))
    assert code == 74
    assert f"cannot write the output: {tmp_path / 'new'}: No space left on device" in err


def test_token_signs_with_an_openssh_key_and_says_what_an_encrypted_one_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key_dir: Path
) -> None:
    pair = KeyPair.from_private_pem((key_dir / "private.pem").read_text())
    openssh = tmp_path / "id_rsa"  # ssh-keygen's own format: the same RSA key
    openssh.write_bytes(
        pair.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    code, token, _ = cli(capsys, "token", "--key", str(openssh), "--at", str(AT))
    assert code == 0
    jwt.decode(token.strip(), pair.private_key.public_key(), ["RS256"], issuer="lcw-emulator",
               options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        pair.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    code, out, err = cli(capsys, "token", "--key", str(encrypted))
    assert (code, out) == (2, "")
    assert err == (
        f"lcw-emulator token: cannot read an RSA private key from {encrypted}: the private key "
        "is encrypted (it needs a password): write it out unencrypted for the test, e.g. "
        "openssl pkey -in KEY -out plain.pem\n"
    )


# ssh-keygen -t rsa -b 2048 -N pw: an RSA key in ssh-keygen's own format, encrypted. Written
# out here, since cryptography needs bcrypt to encrypt one and CI has no ssh-keygen.
ENCRYPTED_OPENSSH_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBBRZFqvX
oJ2LWUb4tE67tEAAAAEAAAAAEAAAEXAAAAB3NzaC1yc2EAAAADAQABAAABAQCvwmaPrSNM
n2wL8YmPLiiVNWMrgbTYblfGqhg0h3r2i6o5Awy1caHZ7hYGD8RzpFk96lItXpMrcJapMg
dfbAfRpoKhHMSkAYliIIfwMEsmb+B63ygmzZO5MM9+KkxHE7Vrhc8iGy13CYDFsn4XgC0+
L0CQoGsz/O/Q+eyzs0UxX0/u69u/sn278tka6x5al+rPOjoZyVPirS4BUE6lt1vyD2451f
RVsWTDWdWVBZLN/GgrSisjJ1KF5evxtbg5mrmF4d7tilic/FpHXsl8v4gcB0crsadl+KUl
OWQ0TCUOaodh6k88iW2xCjNDyj7X8WJSuOQpIMH/5s8+BqxEpIkDAAADwCHNM9Eit/95TN
OHyR5n163hPrIXalOI5dmJRfQ+YfoqAgx7U6Xk4RwYxR/KbQaRkobt8krvCsjk1kPTDsbM
df85wKnfV08yuWUnltMDf2leMhJv7U7or4oN7bQ7w6RHY2KiipiwvLKQ2kpIh1gB1q68sR
RY+v9ViBN77uiLIPYhFjt5SFHBHKJc5tP+SM0414LGXMK9pGEKVr0BmAAk7vAL88DoSC+F
T6c2ZJq0lTY9w0jEhosbgAvstdz08/I+fx74LUDouesCIuBgHf20hQNLbXcdwEXPTISLXw
+RSnEfq1U1LyQs/5sPnleo/Agma0IXwhhXIBTtgs3f8U9dlPRfHyLjKtBJaV5WRUeAf+SP
HARHN2ENagyESpwC4QuGF/uunlWxdZWUv9RLymOTvW1X9I+izqERd/f+CFWHoLd2G7hyqy
z7//ZGYL0MCjaQClsf5fwrHO0G2mL0BpMaF1iEjwYnPSWztEhrrGLHhlv7AOu6O/cHYOPC
WtQ9KmG/nXVZMxn96H2UE4LD12MDIfiH+ZJqZb1EGjtjesvg3e/GD1CRou6fzL0XL/Hp+1
ROm633j2oIWXdhXrKF7uu5Zax1zQBpRnC1v7Df6CDyJNE0i0lm0wvQTQarov9xPcddzHK4
vHiIofWRXIzLQ/oQAozoWjdT1Dc6yGi2XBDsffrGhKFCEYnJGaNcijY19uzEXt0guX7ELL
+zdjfihbaZaUA1HKR7WekywirNRL1299Se14ljxc4DmQUl7Zu8+WSiTZjH8EbKPYsVPAg5
1ix/ErYGHU04OKFVg0DgOKP6KLkcY2ma8I1C/eNvJ2NLSpbYa52yiqe+kuQXqnch7cXz4V
z7oonYtTc8389cN8PH5FnP4/9vyREHHQtJqdXIe5fL7ZclJSJw3yLOpYotQnrWRmMhu4nj
84/H3kyhIZzdTocWyTj8a2VSzeNzHP17QpTJaYx4yXsVsrnAbHMiZ4NqAPjVdmUgeWfiqb
vvTes9NC/CQBS/YiRZxXlyqdcrJCAsLmJxwUFXJoaqm7Kyai2g2dVPlrCcMEEAwGQJinQj
2w2kr3CEUcALfyZZiCCwCLAzsnnXcSGCcXgMF6BAOdLVq0DaaZIaaHWTvlU28tiDMileBv
jk1ry3Aj1Ag/gO0j4Yeqqg7zKy7+MCJuN8Em0BWkDSKMszSwBngULqWOWF7RFMWN4Blenz
Mjkub36Z1TZe0tuiWEPRvgM28zqocBJXBWPFZsBeQy67povhtMAqS4fus3v2KBShb6N/FO
bb9Esq6Q==
-----END OPENSSH PRIVATE KEY-----
"""


def test_an_encrypted_openssh_key_says_which_tool_decrypts_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # OpenSSL cannot read ssh-keygen's format: the hint must name ssh-keygen.
    path = tmp_path / "id_rsa"
    path.write_text(ENCRYPTED_OPENSSH_KEY)
    code, out, err = cli(capsys, "token", "--key", str(path))
    assert (code, out) == (2, "")
    assert err.endswith(
        "the private key is encrypted (it needs a password): write it out unencrypted for the "
        "test, e.g. ssh-keygen -p -N '' -f COPY_OF_KEY\n"
    ), err


def test_token_with_an_empty_kid_signs_it_and_says_what_it_names(
    capsys: pytest.CaptureFixture[str], key_dir: Path
) -> None:
    code, token, err = cli(
        capsys, "token", "--key", str(key_dir / "private.pem"), "--at", str(AT), "--kid", ""
    )
    assert code == 0 and jwt.get_unverified_header(token.strip())["kid"] == ""
    assert err == (
        "note: --kid '' puts an empty kid in the header, which names no key: a work stream "
        "whose keys have kids refuses it\n"
    )


def test_minting_with_a_public_key_says_so() -> None:
    pair = KeyPair.generate()
    for public in (pair.public_pem, pair.private_key.public_key()):
        with pytest.raises(ValueError, match="cannot sign RS256 with a public key: tokens are"):
            mint_token({"sub": "x"}, public)
    assert mint_token({"sub": "x"}, pair.private_pem).count(".") == 2


@pytest.mark.parametrize(
    ("algorithm", "key", "why"),
    [
        (
            "rs256",
            "k",
            "cannot sign with algorithm 'rs256': PyJWT has none by that name "
            "(names are case-sensitive: RS256?)",
        ),
        ("XX1", "k", "cannot sign with algorithm 'XX1': PyJWT has none by that name"),
        (None, "k", 'algorithm must be an algorithm name, like "RS256", got NoneType None'),
        ("HS256", None, "cannot sign HS256 with this key (NoneType): Expected a string"),
        ("ES256", "k", "cannot sign ES256 with this key (str): "),
    ],
)
def test_minting_with_an_algorithm_or_key_that_cannot_sign_says_which(
    algorithm: str, key: str, why: str
) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        mint_token({"sub": "x"}, key, algorithm=algorithm)
    assert str(caught.value).startswith(why)
    assert "generator object" not in str(caught.value)


def test_minting_es256_with_an_rsa_key_names_the_key_not_a_generator() -> None:
    with pytest.raises(ValueError, match=r"cannot sign ES256 with this key \(RSAPrivateKey\)"):
        mint_token({"sub": "x"}, KeyPair.generate().private_key, algorithm="ES256")
    # What PyJWT signs stays signable: an unsigned token, for a test to see it refused.
    assert mint_token({"sub": "x"}, None, algorithm="none").endswith(".")


def test_key_pairs_and_key_documents_of_the_wrong_kind_say_what_to_pass() -> None:
    pair = KeyPair.generate()
    with pytest.raises(TypeError, match=r"got str: for PEM text, KeyPair.from_private_pem\(pem\)"):
        KeyPair(pair.private_pem)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"kid must be a string .*got int 5"):
        KeyPair(pair.private_key, kid=5)  # type: ignore[arg-type]
    assert KeyPair(pair.private_key, kid=None).public_keys()[0].kid is None  # a pair with no kid
    with pytest.raises(TypeError, match=r"got PosixPath: read the file first"):
        KeyPair.from_private_pem(Path("private.pem"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pem is not PEM: PEM text is ASCII"):
        KeyPair.from_private_pem("\u00e9")
    with pytest.raises(TypeError, match="the key document must be text, got NoneType"):
        load_public_keys(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot sign claims exp, x: NaN and infinity are not"):
        pair.mint({"exp": math.nan, "sub": "s", "x": {"y": [math.inf]}})
    with pytest.raises(ValueError, match="cannot sign claim exp: NaN"):
        pair.mint({"exp": math.nan})


def test_what_is_wrong_beside_the_key_is_not_blamed_on_the_key() -> None:
    key = KeyPair.generate().private_key
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        mint_token({"sub": "x"}, key, headers={"x": object()})
    looped: dict[str, object] = {"sub": "x"}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular reference detected"):
        mint_token(looped, key)
