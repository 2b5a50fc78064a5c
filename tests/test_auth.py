"""Token rules: each check of validate_token, key forms, minting."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import warnings
from typing import Any

import jwt
import pytest

from lcw_emulator import ChatAuthSettings, KeyPair, VirtualClock, load_public_keys, mint_token
from lcw_emulator.auth import (
    PublicKey,
    TokenVerdict,
    falsy_in_javascript,
    short_secret,
    time_claims,
    validate_token,
)
from lcw_emulator.token_providers import minted_token

NOW = 1542622100
CLAIMS: dict[str, Any] = {
    "sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
    "iat": NOW - 30,
    "nbf": NOW - 30,
    "exp": NOW + 3600,
    "iss": "contosohelp.com",
}


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair.generate(kid="k1")


@pytest.fixture(scope="module")
def settings(keys: KeyPair) -> ChatAuthSettings:
    return ChatAuthSettings(keys=keys.public_keys(), issuer="contosohelp.com")


def judge(token: object, settings: ChatAuthSettings, now: float = NOW) -> TokenVerdict:
    return validate_token(token, settings, now)


def refused(verdict: TokenVerdict, claim: str, fragment: str) -> None:
    assert not verdict.accepted, "token was accepted"
    assert verdict.claim == claim, verdict.reason
    assert fragment in (verdict.reason or ""), verdict.reason


def test_valid_token_is_accepted_with_claims(keys: KeyPair, settings: ChatAuthSettings) -> None:
    verdict = judge(keys.mint(CLAIMS), settings)
    assert verdict.accepted
    assert verdict.claims is not None and verdict.claims["sub"] == CLAIMS["sub"]


def test_signature_by_another_key_is_refused(settings: ChatAuthSettings) -> None:
    stranger = KeyPair.generate()
    refused(judge(stranger.mint(CLAIMS), settings), "signature", "does not verify")


def test_the_refusal_names_the_keys_the_signature_was_checked_with(
    keys: KeyPair, settings: ChatAuthSettings
) -> None:
    stranger = KeyPair.generate(kid="contoso-2026")
    # The work stream's one key has no kid, so the kid the token names is not what failed.
    refused(
        judge(stranger.mint(CLAIMS, with_kid=True), settings),
        "signature",
        "the RS256 signature does not verify with the work stream's public key",
    )
    by_kid = ChatAuthSettings(keys=keys.public_keys(with_kid=True), issuer="contosohelp.com")
    forged = stranger.mint(CLAIMS, headers={"kid": "k1"})
    refused(judge(forged, by_kid), "signature", "does not verify with the public key with kid 'k1'")
    hs = ChatAuthSettings(algorithms=("HS256",), secret="s" * 32, issuer="contosohelp.com")
    other = mint_token(CLAIMS, "t" * 32, algorithm="HS256")
    refused(judge(other, hs), "signature", "does not verify with the work stream's shared secret")


@pytest.mark.parametrize("form", ["jwks", "pem"])
def test_every_key_without_a_kid_is_tried(form: str, keys: KeyPair) -> None:
    # kid is optional in a JWKS; a token naming none is checked against each key in turn.
    second, stranger = KeyPair.generate(), KeyPair.generate()
    if form == "jwks":
        jwks = [dict(pair.jwks()["keys"][0]) for pair in (keys, second)]
        for jwk in jwks:
            del jwk["kid"]
        text = json.dumps({"keys": jwks})
    else:
        text = keys.public_pem + "\n" + second.public_pem
    loaded = load_public_keys(text)
    assert [key.kid for key in loaded] == [None, None]
    both = ChatAuthSettings(keys=loaded, issuer="contosohelp.com")
    for pair in (keys, second):
        assert judge(pair.mint(CLAIMS), both).accepted
        assert judge(pair.mint(CLAIMS), both).accepted  # and again, remembered
    refused(
        judge(stranger.mint(CLAIMS), both),
        "signature",
        "does not verify with any of the work stream's 2 public keys (none has a kid)",
    )


def test_a_key_without_a_kid_past_its_expiry_verifies_nothing(keys: KeyPair) -> None:
    current, old = KeyPair.generate(), keys
    rotated = ChatAuthSettings(
        keys=(
            PublicKey(current.private_key.public_key()),
            PublicKey(old.private_key.public_key(), expiry=NOW - 100),
        ),
        issuer="contosohelp.com",
    )
    assert judge(current.mint(CLAIMS), rotated).accepted
    refused(judge(old.mint(CLAIMS), rotated), "signature", "the work stream's public key")
    only_old = ChatAuthSettings(
        keys=(PublicKey(old.private_key.public_key(), expiry=NOW - 100),), issuer="contosohelp.com"
    )
    refused(judge(old.mint(CLAIMS), only_old), "kid", "every public key without a kid has expired")


def test_in_a_mixed_set_a_token_naming_no_kid_is_tried_with_the_keys_without_one(
    keys: KeyPair,
) -> None:
    kid_less = KeyPair.generate()
    mixed = ChatAuthSettings(
        keys=(*keys.public_keys(with_kid=True), *kid_less.public_keys()),
        issuer="contosohelp.com",
    )
    assert judge(kid_less.mint(CLAIMS), mixed).accepted
    assert judge(keys.mint(CLAIMS, with_kid=True), mixed).accepted
    # A kid still has to name its key: the kid-less key is no fallback for it.
    refused(judge(kid_less.mint(CLAIMS, headers={"kid": "k1"}), mixed), "signature", "kid 'k1'")
    refused(judge(kid_less.mint(CLAIMS, headers={"kid": "k9"}), mixed), "kid", "no public key")


def test_an_empty_kid_names_no_key_in_the_header_or_on_a_key(keys: KeyPair) -> None:
    kid_less = KeyPair.generate()
    mixed = ChatAuthSettings(
        keys=(*keys.public_keys(with_kid=True), PublicKey(kid_less.private_key.public_key(), "")),
        issuer="contosohelp.com",
    )
    assert [key.kid for key in mixed.keys] == ["k1", None]
    assert judge(kid_less.mint(CLAIMS, headers={"kid": ""}), mixed).accepted
    stranger = KeyPair.generate()
    refused(
        judge(stranger.mint(CLAIMS), mixed),
        "signature",
        "does not verify with the work stream's 1 public key(s) without a kid",
    )


def test_settings_built_in_code_are_checked_and_keep_their_own_keys(keys: KeyPair) -> None:
    other = KeyPair.generate()
    given = list(keys.public_keys())
    settings = ChatAuthSettings(keys=given, issuer="contosohelp.com")  # type: ignore[arg-type]
    given.extend(other.public_keys())  # the caller's list is not the settings'
    assert len(settings.keys) == 1 and not judge(other.mint(CLAIMS), settings).accepted
    assert ChatAuthSettings(algorithms=("HS256",), secret="s" * 32, keys=None).keys == ()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keys must be PublicKey values, got"):
        ChatAuthSettings(keys=(keys.private_key.public_key(),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kid values must be unique; repeated: k1"):
        ChatAuthSettings(keys=(*keys.public_keys(with_kid=True), *keys.public_keys(with_kid=True)))
    with pytest.raises(ValueError, match="expiry must be a time or None, got NaN"):
        PublicKey(keys.private_key.public_key(), "k1", float("nan"))


def test_a_pem_bundle_with_a_key_cut_short_is_refused(keys: KeyPair) -> None:
    with pytest.raises(ValueError, match="begins 2 blocks and ends 1: a key is cut short"):
        load_public_keys(keys.public_pem + "-----BEGIN PUBLIC KEY-----\nMIIB\n")


def test_tampered_payload_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    header, _, signature = keys.mint(CLAIMS).split(".")
    changed = dict(CLAIMS, sub="someone-else")
    forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    refused(judge(f"{header}.{forged}.{signature}", settings), "signature", "does not verify")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_never_accepted(alg: str, settings: ChatAuthSettings) -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = base64.urlsafe_b64encode(json.dumps(CLAIMS).encode())
    token = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}.c2ln"
    refused(judge(token, settings), "alg", "unsigned tokens are never accepted")


def test_algorithm_not_configured_is_refused(settings: ChatAuthSettings) -> None:
    token = mint_token(CLAIMS, "a-shared-secret-of-enough-length-32b", algorithm="HS256")
    refused(judge(token, settings), "alg", "'HS256' is not allowed for this work stream")


def test_unsigned_three_part_token_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    header, payload, _ = keys.mint(CLAIMS).split(".")
    refused(judge(f"{header}.{payload}.", settings), "signature", "no signature")


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d"])
def test_not_three_parts_is_refused(token: str, settings: ChatAuthSettings) -> None:
    refused(judge(token, settings), "token", "three dot-separated parts")


def test_undecodable_header_is_refused(settings: ChatAuthSettings) -> None:
    refused(judge("!!!.e30.c2ln", settings), "header", "cannot decode the token header")


def test_non_string_token_is_refused(settings: ChatAuthSettings) -> None:
    refused(judge(12345, settings), "token", "got int")


def test_crit_header_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    token = keys.mint(CLAIMS, headers={"crit": ["exp"], "exp": 1})
    refused(judge(token, settings), "crit", "critical")


def test_oversize_token_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    token = keys.mint(dict(CLAIMS, padding="x" * 70_000))
    refused(judge(token, settings), "token", "the limit is 65536")


@pytest.mark.parametrize("claim", ["sub", "iat", "exp"])
def test_required_claims(claim: str, keys: KeyPair, settings: ChatAuthSettings) -> None:
    claims = {k: v for k, v in CLAIMS.items() if k != claim}
    refused(judge(keys.mint(claims), settings), claim, f"the {claim} claim is required")


@pytest.mark.parametrize("sub", ["", "   ", 42, None])
def test_sub_must_be_a_non_empty_string(
    sub: object, keys: KeyPair, settings: ChatAuthSettings
) -> None:
    refused(judge(keys.mint(dict(CLAIMS, sub=sub)), settings), "sub", "non-empty string")


@pytest.mark.parametrize(
    ("exp", "accepted"),
    [(NOW - 1, False), (NOW, False), (NOW + 1, True)],
)
def test_exp_boundary(exp: int, accepted: bool, keys: KeyPair, settings: ChatAuthSettings) -> None:
    verdict = judge(keys.mint(dict(CLAIMS, exp=exp)), settings)
    assert verdict.accepted is accepted, verdict.reason
    if not accepted:
        refused(verdict, "exp", "the token expired at exp")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_settings_take_only_finite_times(keys: KeyPair, bad: float) -> None:
    with pytest.raises(ValueError, match="leeway must be a finite number"):
        ChatAuthSettings(keys=keys.public_keys(), leeway=bad)
    with pytest.raises(ValueError, match="provider timeout must be a number of seconds above 0"):
        ChatAuthSettings(keys=keys.public_keys(), provider_timeout=bad)


def test_a_provider_timeout_longer_than_a_day_is_refused(keys: KeyPair) -> None:
    # Far enough, it would move a virtual clock past the moments it can hold.
    ChatAuthSettings(keys=keys.public_keys(), provider_timeout=86_400)
    with pytest.raises(ValueError, match=r"at most 86400 \(a day; the real widget waits 10\)"):
        ChatAuthSettings(keys=keys.public_keys(), provider_timeout=1e11)


def test_exp_with_leeway(keys: KeyPair) -> None:
    lenient = ChatAuthSettings(keys=keys.public_keys(), leeway=60)
    assert judge(keys.mint(dict(CLAIMS, exp=NOW - 59)), lenient).accepted
    refused(judge(keys.mint(dict(CLAIMS, exp=NOW - 60)), lenient), "exp", "with 60 s leeway")


@pytest.mark.parametrize(("nbf", "accepted"), [(NOW, True), (NOW + 1, False)])
def test_nbf_boundary(nbf: int, accepted: bool, keys: KeyPair, settings: ChatAuthSettings) -> None:
    verdict = judge(keys.mint(dict(CLAIMS, nbf=nbf)), settings)
    assert verdict.accepted is accepted, verdict.reason
    if not accepted:
        refused(verdict, "nbf", "not valid before nbf")


def test_nbf_with_leeway(keys: KeyPair) -> None:
    lenient = ChatAuthSettings(keys=keys.public_keys(), leeway=30)
    assert judge(keys.mint(dict(CLAIMS, nbf=NOW + 30, iat=NOW)), lenient).accepted
    refused(judge(keys.mint(dict(CLAIMS, nbf=NOW + 31, iat=NOW)), lenient), "nbf", "30 s leeway")


def test_iat_in_the_future_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    refused(judge(keys.mint(dict(CLAIMS, iat=NOW + 5)), settings), "iat", "issued in the future")
    assert judge(keys.mint(dict(CLAIMS, iat=NOW)), settings).accepted


def test_exp_in_milliseconds_is_refused(keys: KeyPair, settings: ChatAuthSettings) -> None:
    token = keys.mint(dict(CLAIMS, exp=(NOW + 3600) * 1000))
    refused(judge(token, settings), "exp", "looks like milliseconds")
    # Past the year 5000 as milliseconds too, a value is no moment at all: not "milliseconds".
    for huge in (1e300, 2**64):
        verdict = judge(keys.mint(dict(CLAIMS, exp=huge)), settings)
        refused(verdict, "exp", "is past the year 5000 read as seconds or as milliseconds;")
        verdict = judge(keys.mint(dict(CLAIMS, nbf=-huge)), settings)
        refused(verdict, "nbf", "is before the year -1000 read as seconds or as milliseconds;")
    with pytest.raises(ValueError, match=r"expiry 1e\+300 is past the year 5000 read as"):
        [entry] = keys.key_array()
        load_public_keys(json.dumps([dict(entry, expiry=1e300)]))


@pytest.mark.parametrize("value", ["1542625672", True, None, [1]])
def test_non_numeric_dates_are_refused(
    value: object, keys: KeyPair, settings: ChatAuthSettings
) -> None:
    refused(judge(keys.mint(dict(CLAIMS, exp=value)), settings), "exp", "must be a NumericDate")


def test_issuer(keys: KeyPair, settings: ChatAuthSettings) -> None:
    refused(judge(keys.mint(dict(CLAIMS, iss="evil.com")), settings), "iss", "'evil.com' is not")
    no_iss = {k: v for k, v in CLAIMS.items() if k != "iss"}
    refused(judge(keys.mint(no_iss), settings), "iss", "this work stream expects 'contosohelp.com'")
    # iss is a documented minimum claim: a work stream that names no issuer takes any issuer,
    # but still no token without one.
    anyone = ChatAuthSettings(keys=keys.public_keys())
    assert judge(keys.mint(dict(CLAIMS, iss="someone.else")), anyone).accepted
    refused(judge(keys.mint(no_iss), anyone), "iss", "minimum claims: sub, iat, exp, iss")
    for wrong in ("", "  ", 5, None, ["contosohelp.com"]):
        refused(judge(keys.mint(dict(CLAIMS, iss=wrong)), anyone), "iss", "non-empty string")


def test_key_array_selects_by_kid_and_honours_expiry() -> None:
    old, new = KeyPair.generate(kid="2018"), KeyPair.generate(kid="2019")
    array = old.key_array(expiry=NOW - 1) + new.key_array(expiry=NOW + 86400)
    settings = ChatAuthSettings(keys=load_public_keys(json.dumps(array)))
    assert judge(new.mint(CLAIMS, with_kid=True), settings).accepted
    refused(judge(old.mint(CLAIMS, with_kid=True), settings), "kid", "public key '2018' expired")
    refused(judge(new.mint(CLAIMS), settings), "kid", "the token header has no kid")
    blank = new.mint(CLAIMS, headers={"kid": ""})
    refused(judge(blank, settings), "kid", "the token header has an empty kid (known:")
    ghost = KeyPair(new.private_key, kid="2020")
    refused(
        judge(ghost.mint(CLAIMS, with_kid=True), settings), "kid", "no public key with kid '2020'"
    )


def test_a_jwks_key_for_encryption_never_verifies_a_signature(keys: KeyPair) -> None:
    # As .NET's JsonWebKeySet.GetSigningKeys: only keys with no use or use "sig" sign.
    signing, encrypting = keys.jwks()["keys"][0], dict(keys.jwks()["keys"][0], use="enc")
    with pytest.raises(ValueError, match=r"holds no RSA signing key .JWKS key 0: use .enc. is not"):
        load_public_keys(json.dumps({"keys": [encrypting]}))
    other = KeyPair.generate(kid="other")
    mixed = load_public_keys(
        json.dumps({"keys": [dict(encrypting, kid="x"), other.jwks()["keys"][0]]})
    )
    assert [key.kid for key in mixed] == ["other"]
    assert [key.kid for key in load_public_keys(json.dumps({"keys": [signing]}))] == [keys.kid]


def test_a_jwks_key_that_cannot_sign_here_is_passed_over_not_fatal(keys: KeyPair) -> None:
    # jose's exportJWK beside an EC key or an encryption key: the token names its key by kid.
    ec = {
        "kty": "EC",
        "crv": "P-256",
        "kid": "ec",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }
    oaep = dict(KeyPair.generate(kid="enc").jwks()["keys"][0], alg="RSA-OAEP-256", kid="enc")
    del oaep["use"]
    document = {"keys": [ec, oaep, keys.jwks()["keys"][0]]}
    assert [key.kid for key in load_public_keys(json.dumps(document))] == [keys.kid]
    with pytest.raises(ValueError, match=r"holds no RSA signing key .JWKS key 0: .*RSA"):
        load_public_keys(json.dumps({"keys": [ec]}))


def test_a_key_array_takes_base64_wrapped_at_76_and_a_document_with_a_bom(keys: KeyPair) -> None:
    [entry] = keys.key_array()
    wrapped = "\n".join(
        entry["publicKey"][i : i + 76] for i in range(0, len(entry["publicKey"]), 76)
    )
    [key] = load_public_keys(json.dumps([dict(entry, publicKey=wrapped)]))
    assert key.kid == keys.kid
    assert load_public_keys("\ufeff" + keys.public_pem)[0].pem == keys.public_pem
    assert load_public_keys("\ufeff" + json.dumps(keys.jwks()))[0].kid == keys.kid


@pytest.mark.parametrize("use", [None, "", "  "])
def test_a_jwks_key_with_no_use_or_a_blank_one_signs(keys: KeyPair, use: object) -> None:
    jwk = dict(keys.jwks()["keys"][0], use=use)
    assert [key.kid for key in load_public_keys(json.dumps({"keys": [jwk]}))] == [keys.kid]


def test_a_naive_datetime_claim_is_minted_as_utc(
    keys: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As jwt.encode: whatever the machine's time zone.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        token = keys.mint({"sub": "c", "iss": "x", "exp": dt.datetime(2020, 1, 1)})
    finally:
        monkeypatch.undo()
        time.tzset()
    assert jwt.decode(token, options={"verify_signature": False})["exp"] == 1577836800


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_key_document_holding_nan_is_refused(keys: KeyPair, constant: str) -> None:
    # NaN compares false with everything: an expiry of NaN would never pass.
    text = json.dumps(keys.key_array(expiry=1.5)).replace("1.5", constant)
    with pytest.raises(ValueError, match=f"the key document is not JSON: it holds {constant}"):
        load_public_keys(text)


def test_kid_must_match_the_signing_key() -> None:
    first, second = KeyPair.generate(kid="a"), KeyPair.generate(kid="b")
    jwks = {"keys": first.jwks()["keys"] + second.jwks()["keys"]}
    settings = ChatAuthSettings(keys=load_public_keys(json.dumps(jwks)))
    lying = KeyPair(second.private_key, kid="a")  # signed by b, claims to be a
    refused(judge(lying.mint(CLAIMS, with_kid=True), settings), "signature", "kid 'a'")
    assert judge(second.mint(CLAIMS, with_kid=True), settings).accepted


def test_hs256_demo_secret() -> None:
    secret = "contoso-demo-secret-at-least-32-bytes!"
    settings = ChatAuthSettings(algorithms=("HS256",), secret=secret)
    assert judge(mint_token(CLAIMS, secret, algorithm="HS256"), settings).accepted
    wrong = mint_token(CLAIMS, "another-secret-that-is-32-bytes-long", algorithm="HS256")
    refused(judge(wrong, settings), "signature", "does not verify")


def test_hs256_signed_with_the_public_key_is_refused_even_when_hs256_is_allowed(
    keys: KeyPair,
) -> None:
    # Algorithm confusion: the HMAC key is only ever the configured secret.
    settings = ChatAuthSettings(
        algorithms=("RS256", "HS256"), keys=keys.public_keys(), secret="s" * 32
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(CLAIMS).encode()).rstrip(b"=")
    signing_input = header + b"." + payload
    mac = hmac.new(keys.public_pem.encode(), signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    refused(judge(token, settings), "signature", "does not verify")


class TestKeyForms:
    def test_pem(self, keys: KeyPair) -> None:
        [key] = load_public_keys(keys.public_pem)
        assert key.kid is None and key.pem == keys.public_pem

    def test_key_array_takes_base64_pem_and_iso_expiry(self, keys: KeyPair) -> None:
        [entry] = keys.key_array()
        [key] = load_public_keys(json.dumps([dict(entry, expiry="2030-01-01T00:00:00Z")]))
        assert key.kid == entry["kid"] and key.expiry == 1893456000

    def test_key_array_refuses_the_pem_text_itself(self, keys: KeyPair) -> None:
        # The reference: publicKey is base64 PEM. Forgetting to encode it is the likely
        # mistake, and a service that decodes it would not read the key.
        plain = [{"kid": "x", "publicKey": keys.public_pem, "expiry": None}]
        with pytest.raises(ValueError, match="holds the PEM text itself; the documented key"):
            load_public_keys(json.dumps(plain))

    @pytest.mark.parametrize("expiry", [1700000000000, 1.7e12, -1e11])
    def test_key_array_refuses_an_expiry_in_milliseconds(
        self, keys: KeyPair, expiry: float
    ) -> None:
        [entry] = keys.key_array()
        with pytest.raises(ValueError, match=r"looks like milliseconds; it counts seconds"):
            load_public_keys(json.dumps([dict(entry, expiry=expiry)]))

    def test_jwks(self, keys: KeyPair) -> None:
        [key] = load_public_keys(json.dumps(keys.jwks()))
        assert key.kid == "k1" and key.pem == keys.public_pem

    @pytest.mark.parametrize(
        ("text", "why"),
        [
            ("hello", "expected a PEM public key"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a readable PEM"),
            ("[]", "holds no keys"),
            ('[{"publicKey": "x"}]', "'kid' must be a non-empty string"),
            ('[{"kid": "a", "publicKey": "%%%"}]', "not base64 PEM"),
            ('{"keys": [{"kty": "oct", "k": "AAAA"}]}', "RSA public keys"),
            ('{"nope": 1}', "key array [...] or a JWKS document"),
        ],
    )
    def test_unreadable_forms_say_why(self, text: str, why: str) -> None:
        with pytest.raises(ValueError, match=re.escape(why)):
            load_public_keys(text)

    def test_duplicate_kids_are_refused(self, keys: KeyPair) -> None:
        with pytest.raises(ValueError, match="kid values must be unique; repeated: k1"):
            load_public_keys(json.dumps(keys.key_array() + keys.key_array()))


def test_settings_say_what_is_missing(keys: KeyPair) -> None:
    with pytest.raises(ValueError, match="need a public key"):
        ChatAuthSettings()
    with pytest.raises(ValueError, match="need a shared secret"):
        ChatAuthSettings(algorithms=("HS256",))
    with pytest.raises(ValueError, match="unknown: ES999"):
        ChatAuthSettings(algorithms=("ES999",), keys=keys.public_keys())


def test_a_minted_token_is_valid_for_all_of_its_lifetime(keys: KeyPair) -> None:
    # Whole seconds: iat rounded down, exp rounded up, never a second short of the lifetime.
    clock = VirtualClock(start=1_700_000_000.9)
    tokens: list[str] = []
    minted_token(keys, {"sub": "c", "iss": "x"}, clock=clock, lifetime=60)(tokens.append)
    claims = jwt.decode(tokens[0], options={"verify_signature": False})
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (
        1_700_000_000,
        1_700_000_000,
        1_700_000_061,
    )
    settings = ChatAuthSettings(keys=keys.public_keys())
    assert validate_token(tokens[0], settings, 1_700_000_000.9 + 59.99).accepted


def test_minted_tokens_are_standard_jwts(keys: KeyPair) -> None:
    token = keys.mint(CLAIMS, with_kid=True)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    decoded = jwt.decode(
        token, keys.private_key.public_key(), algorithms=["RS256"], options={"verify_exp": False}
    )
    assert decoded == CLAIMS


@pytest.mark.parametrize("expiry", ["1e400", "9" * 400, "9" * 5000])
def test_a_key_expiry_past_any_double_is_refused(expiry: str, keys: KeyPair) -> None:
    # Read as infinity (or, past 4,300 digits, not at all by Python); it would never expire.
    entry = json.dumps(keys.key_array()[0])[:-1].replace('"expiry": null', f'"expiry": {expiry}')
    with pytest.raises(ValueError, match="expiry must be a finite number of epoch seconds"):
        load_public_keys(f"[{entry}}}]")


def test_time_claims_refuse_a_moment_no_numericdate_can_hold() -> None:
    # Each finite, their sum is not (the token verb refuses such an --at before it gets here).
    with pytest.raises(ValueError, match="expires at inf s, which no NumericDate can hold"):
        time_claims(1e308, 1e308)
    assert time_claims(1542622100.5, 60) == {
        "iat": 1542622100,
        "nbf": 1542622100,
        "exp": 1542622161,
    }
    # Past the clocks' end, or already expired: minted, for the service to refuse (code 4).
    assert time_claims(0, 1e11)["exp"] == 100_000_000_000
    assert time_claims(1542622100, -3600)["exp"] == 1542618500


def test_checking_with_a_short_secret_warns_nothing_and_leaves_the_filters_alone() -> None:
    # PyJWT warns on a short HMAC secret at every check; silencing it with catch_warnings
    # would rewrite the process's filters (unsafely across threads) and reset which of the
    # application's own warnings were already shown. A chat start notes it instead.
    secret = "your-256-bit-secret"  # the documentation's sample: 19 bytes
    settings = ChatAuthSettings(algorithms=("HS256",), secret=secret)

    def app_warning() -> None:
        warnings.warn("the application's own", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        token = mint_token(CLAIMS, secret, algorithm="HS256")  # minting is quiet too
        # And a token signed with another short secret, which only the full decode path
        # (jwt.decode's) judges, to word its refusal.
        other = mint_token(CLAIMS, "another-short-one", algorithm="HS256")
        warnings.simplefilter("default")  # each warning once per place
        before = list(warnings.filters)
        app_warning()
        verdicts = [judge(token, settings) for _ in range(3)]
        refusal = judge(other, settings)
        app_warning()  # already shown: not again
        assert list(warnings.filters) == before
    assert [str(warning.message) for warning in shown] == ["the application's own"]
    assert all(verdict.accepted for verdict in verdicts)
    refused(refusal, "signature", "does not verify")
    assert short_secret(settings) == "the work stream's HMAC secret is 19 bytes, short for HS256"


def test_a_published_private_key_is_named_as_one(keys: KeyPair) -> None:
    # The one key-endpoint mistake that matters most: anyone could then sign tokens.
    private_pem = keys.private_pem
    [entry] = keys.key_array()
    private_entry = dict(entry, publicKey=base64.b64encode(private_pem.encode()).decode())
    private_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys.private_key))
    for document in (
        private_pem,
        json.dumps([private_entry]),
        json.dumps([dict(entry, publicKey=private_pem)]),
        json.dumps({"keys": [private_jwk]}),
        json.dumps({"keys": [keys.jwks()["keys"][0], private_jwk]}),  # beside a public one
    ):
        with pytest.raises(ValueError, match="this is a private key, which must never be"):
            load_public_keys(document)


def test_an_expiry_written_as_a_string_of_digits_says_to_unquote_it(keys: KeyPair) -> None:
    [entry] = keys.key_array()
    with pytest.raises(ValueError, match=r"expiry '1900000000' is a string; epoch seconds are a"):
        load_public_keys(json.dumps([dict(entry, expiry="1900000000")]))


def _json_says(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    raise AssertionError(f"{text!r} is valid JSON")


_TRAILING = _json_says('[{"kid": "a", "publicKey": "x",}]')


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the key document is empty"),
        ("\ufeff \n", "the key document is empty"),
        # json's own words for a trailing comma changed in 3.13; the position is ours to give
        ('[{"kid": "a", "publicKey": "x",}]', f"the key document is not valid JSON: {_TRAILING}"),
        ('{"keys": [\n', "the key document is not valid JSON: Expecting value (line 2, column 1)"),
        ("not a key", "expected a PEM public key, a JSON key array"),
    ],
)
def test_a_key_document_that_cannot_be_read_says_why_and_where(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_public_keys(text)
    assert str(caught.value) == problem or str(caught.value).startswith(problem)


def test_falsy_in_javascript_reads_values_as_javascript_does() -> None:
    class Elementwise:  # like an array type: == answers something that is no bool
        def __eq__(self, other: object) -> bool:
            raise TypeError("ambiguous")

        __hash__ = object.__hash__

    falsy = [None, False, "", 0, 0.0, -0.0, float("nan")]
    truthy = [True, " ", "0", 1, -1, [], {}, b"", Elementwise()]
    assert [falsy_in_javascript(value) for value in falsy] == [True] * len(falsy)
    assert [falsy_in_javascript(value) for value in truthy] == [False] * len(truthy)
