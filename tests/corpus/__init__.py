"""The attack corpus: hostile tokens and misbehaving providers, each with the verdict it must get.

Every case names the work stream it is judged by, how to build it from a :class:`Forge` (the
trusted and untrusted keys, plus hand-built JWT pieces for what PyJWT refuses to produce), the
documented code it must be refused with (``None`` for a positive control that must be accepted),
the claim or header field at fault, and a fragment the reason must contain.

Anchors: RFC 8725 (JWT BCP) sections 2.1-2.8 and 3.1-3.11, the OWASP JWT cheat sheet (none
algorithm, algorithm confusion, kid injection, embedded jwk/jku), and PyJWT's own tests
(tests/test_api_jwt.py, tests/test_api_jws.py: exp/nbf/iat with leeway, invalid claims,
malformed segments). Boundaries are proven both ways: each refused boundary has an accepted
neighbour.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from lcw_emulator import ChatAuthSettings, KeyPair, VirtualClock, WorkStream, load_public_keys
from lcw_emulator.providers import AuthTokenCallback, AuthTokenProvider, ContextProvider
from lcw_emulator.token_providers import (
    answering_twice,
    answering_with,
    delayed,
    never_answering,
    raising,
    returning_token,
)

__all__ = [
    "CONTEXT_PROVIDER_CASES",
    "HS_SECRET",
    "ISSUER",
    "NOW",
    "PROVIDER_CASES",
    "TOKEN_CASES",
    "ContextProviderCase",
    "Forge",
    "ProviderCase",
    "TokenCase",
    "work_streams",
]

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NOW = 1542622100  # the clock fixture's start, inside the documentation's sample window
ISSUER = "contosohelp.com"
LEEWAY = 30
HS_SECRET = "contoso-shared-secret-for-hs256-tokens"  # >= 32 bytes (RFC 7518 section 3.2)
SUB = "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
CONTEXT = '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}'


def b64(data: bytes) -> str:
    """base64url without padding, as a compact JWS segment."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: Mapping[str, Any] | bytes) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(dict(value)).encode("utf-8")


@dataclass(frozen=True)
class Forge:
    """Builds tokens: the trusted demo key, an untrusted stranger, and raw JWS pieces."""

    demo: KeyPair  # trusted; kid "contoso-2018"
    stranger: KeyPair  # trusted by no work stream, except as expired keys of the key array

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid claims at NOW; a value of ``...`` removes the claim."""
        payload: dict[str, Any] = {
            "sub": SUB,
            "lwicontexts": CONTEXT,
            "iat": NOW - 60,
            "nbf": NOW - 60,
            "exp": NOW + 3600,
            "iss": ISSUER,
        }
        for name, value in overrides.items():
            if value is ...:
                payload.pop(name, None)
            else:
                payload[name] = value
        return payload

    def mint(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        signer: KeyPair | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        algorithm: str = "RS256",
    ) -> str:
        """A properly signed token (PyJWT), RS* by ``signer`` (default: demo)."""
        header = dict(headers or {})
        if kid is not None:
            header["kid"] = kid
        key = (signer or self.demo).private_key
        payload = dict(claims if claims is not None else self.claims())
        return jwt.encode(payload, key, algorithm=algorithm, headers=header or None)

    def raw(
        self,
        header: Mapping[str, Any] | bytes,
        payload: Mapping[str, Any] | bytes,
        *,
        rsa: KeyPair | None = None,
        hmac_key: bytes | None = None,
        signature: str | None = None,
    ) -> str:
        """A token built by hand: RS256 by ``rsa``, HS256 with ``hmac_key``, or a given signature.

        PyJWT refuses to build several of these (HS256 keyed with a PEM public key, non-JSON
        payloads, non-UTF-8 bytes), so the signing is done here with hmac and cryptography.
        """
        signing_input = f"{b64(_json(header))}.{b64(_json(payload))}"
        if rsa is not None:
            raw_sig = rsa.private_key.sign(
                signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
            )
            signature = b64(raw_sig)
        elif hmac_key is not None:
            signature = b64(hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest())
        return f"{signing_input}.{signature or ''}"

    def valid(self, stream: str) -> str:
        """A token the named work stream accepts at NOW."""
        return self.mint(kid=self.demo.kid if stream == "keyring" else None)


def work_streams(forge: Forge) -> dict[str, WorkStream]:
    """The work streams the corpus is judged by, keyed by the name cases use."""
    contoso = WorkStream.from_toml(SCENARIOS / "contoso.toml")
    assert contoso.auth is not None
    auth = contoso.auth

    def variant(name: str, settings: ChatAuthSettings) -> WorkStream:
        return WorkStream(
            f"Contoso help ({name})",
            contoso.context_variables,
            settings,
            contoso.queues,
            contoso.routing_rules,
        )

    # The documented key array: the current key, a retired one (expired a day ago) and one
    # whose expiry is exactly NOW (expiry is exclusive: now >= expiry is expired).
    legacy = KeyPair(forge.stranger.private_key, kid="contoso-2017")
    edge = KeyPair(forge.stranger.private_key, kid="contoso-edge")
    key_array = (
        forge.demo.key_array(expiry=NOW + 365 * 86400)
        + legacy.key_array(expiry=NOW - 86400)
        + edge.key_array(expiry=NOW)
    )
    return {
        "pem": contoso,
        "leeway": variant("leeway", ChatAuthSettings(keys=auth.keys, issuer=ISSUER, leeway=LEEWAY)),
        "keyring": variant(
            "key array",
            ChatAuthSettings(keys=load_public_keys(json.dumps(key_array)), issuer=ISSUER),
        ),
        # Both families allowed: where algorithm confusion would bite a careless verifier.
        "mixed": variant(
            "RS256+HS256",
            ChatAuthSettings(
                algorithms=("RS256", "HS256"), keys=auth.keys, secret=HS_SECRET, issuer=ISSUER
            ),
        ),
        "open": WorkStream("Contoso open", contoso.context_variables),
    }


@dataclass(frozen=True)
class TokenCase:
    """A token handed over by a well-behaved provider; the service must judge it so."""

    id: str
    make: Callable[[Forge], str]
    claim: str | None  # the claim or header field at fault; None for a positive control
    reason: str  # a fragment of the refusal reason ("" for a positive control)
    stream: str = "pem"
    code: int | None = 4

    @property
    def accepted(self) -> bool:
        return self.code is None


def ok(id: str, make: Callable[[Forge], str], stream: str = "pem") -> TokenCase:
    """A positive control: the token must be accepted."""
    return TokenCase(id, make, None, "", stream, None)


def _claims(stream: str = "pem", **overrides: Any) -> Callable[[Forge], str]:
    def make(forge: Forge) -> str:
        kid = forge.demo.kid if stream == "keyring" else None
        return forge.mint(forge.claims(**overrides), kid=kid)

    return make


def _header(
    header: Mapping[str, Any] | bytes, signature: str = "c2lnbmF0dXJl"
) -> Callable[[Forge], str]:
    def make(forge: Forge) -> str:
        return forge.raw(header, forge.claims(), signature=signature)

    return make


def _with_signature_of(other: Callable[[Forge], str]) -> Callable[[Forge], str]:
    def make(forge: Forge) -> str:
        head, body, _ = forge.valid("pem").split(".")
        return f"{head}.{body}.{other(forge).split('.')[2]}"

    return make


def _tamper(segment: int, change: Callable[[dict[str, Any]], None]) -> Callable[[Forge], str]:
    """Re-encode one JSON segment of a valid token after ``change``, keeping the signature."""

    def make(forge: Forge) -> str:
        parts = forge.valid("pem").split(".")
        decoded = json.loads(base64.urlsafe_b64decode(parts[segment] + "=="))
        change(decoded)
        parts[segment] = b64(json.dumps(decoded).encode())
        return ".".join(parts)

    return make


def _signature(edit: Callable[[str], str]) -> Callable[[Forge], str]:
    def make(forge: Forge) -> str:
        head, body, sig = forge.valid("pem").split(".")
        return f"{head}.{body}.{edit(sig)}"

    return make


def _flip(sig: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[len(raw) // 2] ^= 0x01
    return b64(bytes(raw))


def _confusion(forge: Forge, kid: str | None = None) -> str:
    """HS256 keyed with the RS256 public key PEM: the classic algorithm confusion."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    return forge.raw(header, forge.claims(), hmac_key=forge.demo.public_pem.encode("ascii"))


def _raw_payload(payload: bytes) -> Callable[[Forge], str]:
    def make(forge: Forge) -> str:
        return forge.raw({"alg": "RS256", "typ": "JWT"}, payload, rsa=forge.demo)

    return make


def _raw_claims(text: str) -> Callable[[Forge], str]:
    """Claims spliced in as JSON text (NaN, Infinity), signed by the trusted key."""
    base = json.dumps(_claims_without_dates())[:-1]
    return _raw_payload(f"{base}, {text}}}".encode())


def _claims_without_dates() -> dict[str, Any]:
    return {"sub": SUB, "iss": ISSUER, "lwicontexts": CONTEXT}


def _nested(levels: int) -> list[Any]:
    """A list ``levels`` deep: inside the payload object, one level more."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _context(text: object) -> Callable[[Forge], str]:
    return _claims(lwicontexts=text)


def _many(count: int) -> str:
    return json.dumps({f"var{i}": i for i in range(count)})


def _jwk_of(pair: KeyPair) -> dict[str, Any]:
    jwk: dict[str, Any] = pair.jwks()["keys"][0]
    return jwk


_RS = {"alg": "RS256", "typ": "JWT"}

TOKEN_CASES: tuple[TokenCase, ...] = (
    # -- alg: none in any casing (RFC 8725 2.1, 3.1; OWASP "none" algorithm) ---------------
    TokenCase(
        "alg-none-unsigned",
        lambda f: f.raw({"alg": "none", "typ": "JWT"}, f.claims()),
        "signature",
        "no signature (unsigned JWT)",
    ),
    *(
        TokenCase(
            f"alg-{alg}-with-signature",
            _header({"alg": alg, "typ": "JWT"}),
            "alg",
            "unsigned tokens are never accepted",
        )
        for alg in ("none", "None", "NONE", "nOnE")
    ),
    TokenCase("alg-missing", _header({"typ": "JWT"}), "alg", "names no algorithm"),
    TokenCase("alg-empty", _header({"alg": ""}), "alg", "names no algorithm"),
    TokenCase("alg-not-a-string", _header({"alg": 256}), "alg", "names no algorithm"),
    TokenCase("alg-lowercase-rs256", _header({"alg": "rs256"}), "alg", "is not allowed"),
    TokenCase(
        "alg-rs512-not-configured",
        lambda f: f.mint(algorithm="RS512"),
        "alg",
        "'RS512' is not allowed",
    ),
    # -- algorithm confusion (RFC 8725 2.1, 3.1; OWASP) ------------------------------------
    TokenCase(
        "alg-confusion-hs256-keyed-with-public-pem",
        _confusion,
        "alg",
        "'HS256' is not allowed",
    ),
    TokenCase(
        "alg-confusion-hs256-on-mixed-stream",
        _confusion,
        "signature",
        "HS256 signature does not verify",
        stream="mixed",
    ),
    TokenCase(
        "alg-confusion-hs256-with-trusted-kid",
        lambda f: _confusion(f, kid="contoso-2018"),
        "alg",
        "'HS256' is not allowed",
        stream="keyring",
    ),
    TokenCase(
        "hs256-signed-with-another-secret",
        lambda f: f.raw({"alg": "HS256"}, f.claims(), hmac_key=b"not-the-shared-secret-at-all!!!!"),
        "signature",
        "HS256 signature does not verify",
        stream="mixed",
    ),
    ok(
        "hs256-signed-with-the-shared-secret",
        lambda f: f.raw({"alg": "HS256"}, f.claims(), hmac_key=HS_SECRET.encode()),
        stream="mixed",
    ),
    # -- a token signed by another key -------------------------------------------------------
    TokenCase(
        "signed-by-another-key",
        lambda f: f.mint(signer=f.stranger),
        "signature",
        "RS256 signature does not verify",
    ),
    TokenCase(
        "signed-by-another-key-claiming-trusted-kid",
        lambda f: f.mint(signer=f.stranger, kid="contoso-2018"),
        "signature",
        "with the public key with kid 'contoso-2018'",
        stream="keyring",
    ),
    TokenCase(
        "embedded-jwk-header-is-not-trusted",  # CVE-2018-0114 style self-signed key
        lambda f: f.mint(signer=f.stranger, headers={"jwk": _jwk_of(f.stranger)}),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "jku-header-is-not-fetched",
        lambda f: f.mint(signer=f.stranger, headers={"jku": "https://attacker.example/jwks.json"}),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "x5u-header-is-not-fetched",
        lambda f: f.mint(signer=f.stranger, headers={"x5u": "https://attacker.example/c.pem"}),
        "signature",
        "does not verify",
    ),
    # -- tampered header or payload -----------------------------------------------------------
    TokenCase(
        "tampered-payload-sub",
        _tamper(1, lambda c: c.update(sub="00000000-0000-0000-0000-000000000000")),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "tampered-payload-lwicontexts-vip",
        _tamper(1, lambda c: c.update(lwicontexts='{"msdyn_isvip":"true"}')),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "tampered-payload-exp-extended",
        _tamper(1, lambda c: c.update(exp=c["exp"] + 86400)),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "tampered-header-typ",
        _tamper(0, lambda h: h.update(typ="JOSE")),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "tampered-header-alg-to-rs384",
        _tamper(0, lambda h: h.update(alg="RS384")),
        "alg",
        "'RS384' is not allowed",
    ),
    TokenCase(
        "signature-of-another-token",
        _with_signature_of(lambda f: f.mint(f.claims(sub="someone-else"))),
        "signature",
        "does not verify",
    ),
    # -- stripped or truncated signature -----------------------------------------------------
    TokenCase(
        "signature-stripped",
        _signature(lambda sig: ""),
        "signature",
        "no signature (unsigned JWT)",
    ),
    TokenCase(
        "signature-and-dot-stripped",
        lambda f: f.valid("pem").rsplit(".", 1)[0],
        "token",
        "three dot-separated parts",
    ),
    TokenCase(
        "signature-truncated-by-2",  # still canonical base64url: a short signature
        _signature(lambda sig: sig[:-2]),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "signature-truncated-by-4",
        _signature(lambda sig: sig[:-4]),
        "signature",
        "cannot decode the token signature: 338 characters are not canonical base64url",
    ),
    TokenCase(
        "signature-truncated-to-one-char",
        _signature(lambda sig: sig[:1]),
        "signature",
        "cannot decode the token signature",
    ),
    TokenCase(
        "signature-bit-flipped",
        _signature(_flip),
        "signature",
        "does not verify",
    ),
    TokenCase(
        "signature-with-base64-padding",
        _signature(lambda sig: sig + "=="),
        "signature",
        "'=' at position",
    ),
    TokenCase(
        "token-with-trailing-newline",
        _signature(lambda sig: sig + "\n"),
        "signature",
        "not a base64url character",
    ),
    TokenCase(
        "four-segments",
        lambda f: f.valid("pem") + ".AAAA",
        "token",
        "got 4",
    ),
    TokenCase(
        "jwe-five-segments",
        lambda f: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
        "token",
        "got 5",
    ),
    # -- kid (RFC 8725 3.10; OWASP kid injection) ---------------------------------------------
    TokenCase(
        "kid-unknown",
        lambda f: f.mint(kid="contoso-2099"),
        "kid",
        "no public key with kid 'contoso-2099'",
        stream="keyring",
    ),
    TokenCase(
        "kid-missing",
        lambda f: f.mint(),
        "kid",
        "header has no kid",
        stream="keyring",
    ),
    TokenCase(
        "kid-of-expired-key",
        lambda f: f.mint(signer=f.stranger, kid="contoso-2017"),
        "kid",
        "public key 'contoso-2017' expired at",
        stream="keyring",
    ),
    TokenCase(
        "kid-of-key-expiring-exactly-now",
        lambda f: f.mint(signer=f.stranger, kid="contoso-edge"),
        "kid",
        "public key 'contoso-edge' expired at",
        stream="keyring",
    ),
    TokenCase(
        "kid-path-traversal",
        lambda f: f.mint(kid="../../../../dev/null"),
        "kid",
        "no public key with kid '../../../../dev/null'",
        stream="keyring",
    ),
    TokenCase(
        "kid-sql-injection",
        lambda f: f.mint(kid="x' OR '1'='1"),
        "kid",
        "no public key with kid",
        stream="keyring",
    ),
    TokenCase(
        "kid-not-a-string",
        lambda f: f.raw({"alg": "RS256", "kid": 2018}, f.claims(), rsa=f.demo),
        "kid",
        "the header's kid must be a string (Key ID header parameter must be a string)",
        stream="keyring",
    ),
    ok("kid-of-current-key", lambda f: f.mint(kid="contoso-2018"), stream="keyring"),
    # -- crit (RFC 7515 4.1.11) ----------------------------------------------------------------
    TokenCase(
        "crit-header",
        lambda f: f.mint(headers={"crit": ["exp"], "exp": NOW + 60}),
        "crit",
        "RFC 7515 section 4.1.11",
    ),
    TokenCase(
        "crit-header-b64-false",
        lambda f: f.raw({"alg": "RS256", "b64": False, "crit": ["b64"]}, f.claims(), rsa=f.demo),
        "header",
        "'b64' is false",
    ),
    TokenCase(
        "crit-header-empty-list",
        lambda f: f.raw({"alg": "RS256", "crit": []}, f.claims(), rsa=f.demo),
        "header",
        "Invalid 'crit' header",
    ),
    # -- malformed header or payload ------------------------------------------------------------
    TokenCase("header-not-json", _header(b"alg=RS256"), "header", "cannot decode the token header"),
    TokenCase("header-json-array", _header(b'["RS256"]'), "header", "cannot decode"),
    TokenCase(
        "header-non-ascii",
        lambda f: "\u00e9" + f.valid("pem"),
        "header",
        "'\u00e9' at position 0 is not a base64url character",
    ),
    TokenCase(
        "payload-lone-surrogate",
        lambda f: f.valid("pem").replace(".", ".\ud800", 1),
        "token",
        "cannot decode the token payload",
    ),
    TokenCase(
        "payload-not-json",
        _raw_payload(b"sub=87b4d06c"),
        "token",
        "cannot be decoded",
    ),
    TokenCase(
        "payload-json-array",
        _raw_payload(b'["sub", "iat", "exp"]'),
        "token",
        "cannot be decoded",
    ),
    TokenCase(
        "payload-non-utf8-bytes",
        _raw_payload(
            b'{"sub": "\xff\xfe", "iat": 1542622040, "exp": 1542625700, "iss": "contosohelp.com"}'
        ),
        "token",
        "bytes that are not UTF-8",
    ),
    # What Python's json (and so PyJWT) reads and a strict reader (.NET's Utf8JsonReader)
    # refuses: JSON in a JWT is UTF-8 without a byte order mark (RFC 7519 section 7.2).
    TokenCase(
        "payload-utf16",
        lambda f: f.raw(_RS, json.dumps(f.claims()).encode("utf-16"), rsa=f.demo),
        "token",
        "bytes that are not UTF-8",
    ),
    TokenCase(
        "payload-utf8-bom",
        lambda f: f.raw(_RS, b"\xef\xbb\xbf" + json.dumps(f.claims()).encode(), rsa=f.demo),
        "token",
        "a UTF-8 byte order mark",
    ),
    TokenCase(
        "header-utf16",
        lambda f: f.raw(json.dumps(_RS).encode("utf-16-le"), f.claims(), rsa=f.demo),
        "header",
        "bytes that are not UTF-8",
    ),
    TokenCase(
        "sub-lone-surrogate-escape",
        lambda f: f.raw(_RS, json.dumps(f.claims(sub="\ud800")).encode(), rsa=f.demo),
        "token",
        "a lone UTF-16 surrogate",
    ),
    TokenCase(
        "sub-encoded-surrogate-bytes",
        lambda f: f.raw(
            _RS, json.dumps(f.claims(sub="@")).encode().replace(b"@", b"\xed\xa0\x80"), rsa=f.demo
        ),
        "token",
        "bytes that are not UTF-8",
    ),
    TokenCase(
        "payload-nested-65-deep",
        lambda f: f.raw(_RS, f.claims(deep=_nested(64)), rsa=f.demo),
        "token",
        "nested more than 64 levels deep",
    ),
    ok("payload-nested-64-deep", lambda f: f.raw(_RS, f.claims(deep=_nested(63)), rsa=f.demo)),
    TokenCase(
        "payload-nested-5000-deep",  # past Python's recursion limit: still our words, not its
        _raw_claims('"deep": ' + "[" * 5000 + "]" * 5000),
        "token",
        "it holds values nested more than 64 levels deep",
    ),
    TokenCase(
        "header-5000-digit-number",  # Python's int-parsing guard, whose message names sys calls
        lambda f: f.raw(
            b'{"alg": "RS256", "typ": "JWT", "x": ' + b"7" * 5000 + b"}", f.claims(), rsa=f.demo
        ),
        "header",
        "it holds a number of 5000 digits, more than any JSON reader here takes",
    ),
    TokenCase(
        "lwicontexts-non-utf8-bytes",
        _raw_payload(
            b'{"sub": "x", "iat": 1542622040, "exp": 1542625700, "iss": "contosohelp.com", '
            b'"lwicontexts": "{\\"msdyn_cartvalue\\": \\"\xc3\\"}"}'
        ),
        "token",
        "bytes that are not UTF-8",
    ),
    TokenCase(
        "oversize-token",
        _claims(padding="x" * 70_000),
        "token",
        "the limit is 65536",
    ),
    # -- exp: at, just before, just after the boundary, with and without leeway ----------------
    TokenCase("exp-at-now", _claims(exp=NOW), "exp", "the token expired at exp 1542622100"),
    TokenCase("exp-a-second-before-now", _claims(exp=NOW - 1), "exp", "expired"),
    TokenCase("exp-a-millisecond-before-now", _claims(exp=NOW - 0.001), "exp", "expired"),
    ok("exp-a-second-after-now", _claims(exp=NOW + 1)),
    ok("exp-a-millisecond-after-now", _claims(exp=NOW + 0.001)),
    TokenCase(
        "exp-leeway-at-boundary", _claims(exp=NOW - LEEWAY), "exp", "with 30 s leeway", "leeway"
    ),
    TokenCase(
        "exp-leeway-past-boundary", _claims(exp=NOW - LEEWAY - 1), "exp", "expired", "leeway"
    ),
    ok("exp-leeway-inside-boundary", _claims(exp=NOW - LEEWAY + 1), "leeway"),
    ok("exp-leeway-at-now", _claims(exp=NOW), "leeway"),
    # -- nbf ---------------------------------------------------------------------------------
    TokenCase("nbf-a-second-after-now", _claims(nbf=NOW + 1), "nbf", "not valid before nbf"),
    TokenCase("nbf-a-millisecond-after-now", _claims(nbf=NOW + 0.001), "nbf", "not valid before"),
    ok("nbf-exactly-now", _claims(nbf=NOW)),
    ok("nbf-a-second-before-now", _claims(nbf=NOW - 1)),
    ok("nbf-absent", _claims(nbf=...)),
    ok("nbf-leeway-at-boundary", _claims(nbf=NOW + LEEWAY), "leeway"),
    TokenCase(
        "nbf-leeway-past-boundary",
        _claims(nbf=NOW + LEEWAY + 1),
        "nbf",
        "with 30 s leeway",
        "leeway",
    ),
    # -- iat ---------------------------------------------------------------------------------
    TokenCase("iat-in-the-future", _claims(iat=NOW + 1), "iat", "issued in the future"),
    TokenCase("iat-far-future", _claims(iat=NOW + 86400 * 365), "iat", "issued in the future"),
    ok("iat-exactly-now", _claims(iat=NOW, nbf=NOW)),
    ok("iat-leeway-at-boundary", _claims(iat=NOW + LEEWAY, nbf=...), "leeway"),
    TokenCase(
        "iat-leeway-past-boundary",
        _claims(iat=NOW + LEEWAY + 1, nbf=...),
        "iat",
        "issued in the future",
        "leeway",
    ),
    # -- required claims (RFC 8725 3.9 audience is N/A; Omnichannel: sub, iat, exp, iss) -------
    TokenCase("missing-sub", _claims(sub=...), "sub", "the sub claim is required"),
    TokenCase("missing-iat", _claims(iat=...), "iat", "the iat claim is required"),
    TokenCase("missing-exp", _claims(exp=...), "exp", "the exp claim is required"),
    TokenCase("missing-iss", _claims(iss=...), "iss", "the iss claim is required"),
    TokenCase("sub-empty", _claims(sub=""), "sub", "non-empty string"),
    TokenCase("sub-number", _claims(sub=42), "sub", "non-empty string"),
    TokenCase("sub-null", _claims(sub=None), "sub", "non-empty string"),
    # -- issuer (RFC 8725 3.8) -----------------------------------------------------------------
    TokenCase("wrong-issuer", _claims(iss="evil.example"), "iss", "not the configured issuer"),
    TokenCase("issuer-other-casing", _claims(iss="ContosoHelp.com"), "iss", "not the configured"),
    TokenCase("issuer-trailing-space", _claims(iss=ISSUER + " "), "iss", "not the configured"),
    TokenCase(
        "issuer-as-list",  # PyJWT will not mint it; signed by hand
        lambda f: f.raw(_RS, f.claims(iss=[ISSUER]), rsa=f.demo),
        "iss",
        "non-empty string",
    ),
    TokenCase("issuer-empty", _claims(iss=""), "iss", "non-empty string"),
    TokenCase(
        "issuer-number",
        lambda f: f.raw(_RS, f.claims(iss=5), rsa=f.demo),
        "iss",
        "non-empty string",
    ),
    # -- NumericDate: milliseconds, non-numeric ------------------------------------------------
    TokenCase("exp-in-milliseconds", _claims(exp=(NOW + 3600) * 1000), "exp", "milliseconds"),
    TokenCase("iat-in-milliseconds", _claims(iat=(NOW - 60) * 1000), "iat", "milliseconds"),
    TokenCase("nbf-in-milliseconds", _claims(nbf=(NOW - 60) * 1000), "nbf", "milliseconds"),
    TokenCase("exp-numeric-string", _claims(exp=str(NOW + 3600)), "exp", "got a string"),
    TokenCase("exp-iso-date", _claims(exp="2018-11-19T11:07:52Z"), "exp", "NumericDate"),
    TokenCase("exp-boolean", _claims(exp=True), "exp", "NumericDate"),
    TokenCase("exp-null", _claims(exp=None), "exp", "NumericDate"),
    TokenCase("exp-array", _claims(exp=[NOW + 3600]), "exp", "NumericDate"),
    TokenCase("iat-string", _claims(iat="now"), "iat", "NumericDate"),
    TokenCase("nbf-object", _claims(nbf={"$date": NOW}), "nbf", "NumericDate"),
    # NaN and Infinity are not JSON (RFC 8259), though Python's json and PyJWT read them.
    TokenCase("exp-nan", _raw_claims(f'"iat": {NOW - 60}, "exp": NaN'), "token", "holds NaN"),
    TokenCase(
        "exp-infinity", _raw_claims(f'"iat": {NOW - 60}, "exp": Infinity'), "token", "Infinity"
    ),
    TokenCase(
        "iat-minus-infinity",
        _raw_claims(f'"iat": -Infinity, "exp": {NOW + 3600}'),
        "token",
        "holds -Infinity",
    ),
    TokenCase("exp-overflowing", _raw_claims(f'"iat": {NOW - 60}, "exp": 1e400'), "exp", "finite"),
    # More digits than Python reads as an int (4,300): still the exp claim's fault.
    TokenCase(
        "exp-5000-digits", _raw_claims(f'"iat": {NOW - 60}, "exp": {"9" * 5000}'), "exp", "finite"
    ),
    TokenCase("exp-null-shown-as-json", _claims(exp=None), "exp", "got null"),
    TokenCase("exp-true-shown-as-json", _claims(exp=True), "exp", "got true"),
    TokenCase("sub-a-number", _claims(sub=12345), "sub", "got 12345"),
    TokenCase(
        "header-nan",
        lambda f: f.raw(b'{"alg": "RS256", "typ": "JWT", "x5": NaN}', f.claims(), rsa=f.demo),
        "header",
        "holds NaN",
    ),
    TokenCase(
        "exp-huge-integer",
        _claims(exp=10**40),
        "exp",
        "milliseconds",
    ),
    # -- lwicontexts --------------------------------------------------------------------------
    TokenCase(
        "lwicontexts-object-not-string",
        _context({"msdyn_cartvalue": "10000"}),
        "lwicontexts",
        "must be a JSON-serialised string, got an object",
    ),
    TokenCase("lwicontexts-number", _context(10000), "lwicontexts", "JSON-serialised string"),
    TokenCase(
        "lwicontexts-integer-rounding-past-a-double",  # 2**1024 - 1 rounds up to infinity
        _context(json.dumps({"msdyn_cartvalue": 2**1024 - 1})),
        "lwicontexts",
        "beyond a double",
    ),
    TokenCase(
        "lwicontexts-value-of-2001-emoji",  # 4002 UTF-16 code units, as JavaScript counts
        _context(json.dumps({"msdyn_cartvalue": "\U0001f600" * 2001})),
        "lwicontexts",
        "is 4002 characters; the limit is 4000",
    ),
    TokenCase("lwicontexts-null", _context(None), "lwicontexts", "got null"),
    TokenCase(
        "lwicontexts-not-json",
        _context("{msdyn_cartvalue: 10000}"),
        "lwicontexts",
        "not valid JSON",
    ),
    TokenCase(
        "lwicontexts-empty-string",
        _context(""),
        "lwicontexts",
        'lwicontexts is an empty string; it must hold a JSON object ("{}" for none)',
    ),
    TokenCase(
        "lwicontexts-with-a-bom",
        _context("\ufeff{}"),
        "lwicontexts",
        "lwicontexts starts with a byte order mark (U+FEFF)",
    ),
    TokenCase("lwicontexts-json-array", _context("[1, 2]"), "lwicontexts", "got an array"),
    TokenCase("lwicontexts-json-string", _context('"10000"'), "lwicontexts", "got a string"),
    TokenCase("lwicontexts-json-null", _context("null"), "lwicontexts", "got null"),
    TokenCase("lwicontexts-json-number", _context("42"), "lwicontexts", "got a number"),
    TokenCase(
        "lwicontexts-nested-object",
        _context('{"msdyn_cartvalue": {"value": 10000}}'),
        "lwicontexts",
        "is an object; only primitive values",
    ),
    TokenCase(
        "lwicontexts-nested-array",
        _context('{"msdyn_cartvalue": [10000]}'),
        "lwicontexts",
        "is an array; only primitive values",
    ),
    # null is one of JSON's (and JavaScript's) primitives: the token stands, the entry is
    # dropped, as the chat SDK deletes a custom context entry whose value is null.
    ok("lwicontexts-null-value", _context('{"msdyn_cartvalue": null}')),
    # 1e400 and a 500-digit integer are valid JSON; no double holds them (JavaScript's
    # Infinity), so the value is no primitive the page could have sent.
    TokenCase(
        "lwicontexts-overflowing-literal",
        _context('{"msdyn_cartvalue": 1e400}'),
        "lwicontexts",
        "is a number beyond a double (Infinity in JavaScript)",
    ),
    TokenCase(
        "lwicontexts-5000-digit-integer",
        _context('{"msdyn_cartvalue": ' + "9" * 5000 + "}"),
        "lwicontexts",
        "is a number beyond a double (Infinity in JavaScript)",
    ),
    TokenCase(
        "lwicontexts-infinity-literal",
        _context('{"msdyn_cartvalue": -Infinity}'),
        "lwicontexts",
        "-Infinity is not a JSON value",
    ),
    TokenCase(
        "lwicontexts-nan-value",
        _context('{"msdyn_cartvalue": NaN}'),
        "lwicontexts",
        "NaN is not a JSON value",
    ),
    TokenCase(
        "lwicontexts-deeply-nested",
        _context('{"a": ' + "[" * 20_000 + "]" * 20_000 + "}"),
        "lwicontexts",
        "nested too deeply",
    ),
    TokenCase(
        "lwicontexts-lone-surrogate",
        _context('{"msdyn_cartvalue": "\\ud800"}'),
        "lwicontexts",
        "lone UTF-16 surrogate",
    ),
    TokenCase(
        "lwicontexts-101-keys",
        _context(_many(101)),
        "lwicontexts",
        "has 101 keys; at most 100",
    ),
    ok("lwicontexts-100-keys", _context(_many(100))),
    TokenCase(
        "lwicontexts-name-101-chars",
        _context(json.dumps({"n" * 101: 1})),
        "lwicontexts",
        "is 101 characters; the limit is 100",
    ),
    ok("lwicontexts-name-100-chars", _context(json.dumps({"n" * 100: 1}))),
    TokenCase(
        "lwicontexts-value-4001-chars",
        _context(json.dumps({"msdyn_note": "v" * 4001})),
        "lwicontexts",
        "is 4001 characters; the limit is 4000",
    ),
    ok("lwicontexts-value-4000-chars", _context(json.dumps({"msdyn_note": "v" * 4000}))),
    ok("lwicontexts-absent", _claims(lwicontexts=...)),
    ok("lwicontexts-empty-object", _context("{}")),
    # The documentation's own sample, minted at NOW: the baseline every case departs from.
    ok("documented-sample", _claims()),
)


# -- providers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderCase:
    """An auth token provider's behaviour and the refusal it must get."""

    id: str
    make: Callable[[Forge, VirtualClock], AuthTokenProvider]
    code: int | None  # None: a positive control, the chat must start
    reason: str
    note: str | None = None  # a fragment of a timeline note the widget must record
    elapsed: float = 0.0  # virtual seconds the start must take (the provider timeout)
    after: float = 0.0  # virtual seconds to run on after the start, for late callbacks
    stream: str = "pem"


def _async_raising(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    async def async_raising_provider(callback: AuthTokenCallback) -> None:
        await clock.sleep(2)
        raise ConnectionError("token service reset the connection")

    return async_raising_provider


def _async_cancelled(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    async def async_cancelled_provider(callback: AuthTokenCallback) -> None:
        await clock.sleep(1)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    return async_cancelled_provider


def _async_awaiting_cancelled_fetch(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    async def fetch_cancelled_provider(callback: AuthTokenCallback) -> None:
        fetch: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        clock.call_later(3, fetch.cancel)  # e.g. an HTTP client aborting the request
        callback(await fetch)

    return fetch_cancelled_provider


def _async_never(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    async def async_never_provider(callback: AuthTokenCallback) -> None:
        await asyncio.get_running_loop().create_future()

    return async_never_provider


def _sync_cancelled(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    def sync_cancelled_provider(callback: AuthTokenCallback) -> None:
        raise asyncio.CancelledError()

    return sync_cancelled_provider


def _callback_then_raise_async(forge: Forge, clock: VirtualClock) -> AuthTokenProvider:
    async def answered_then_raised(callback: AuthTokenCallback) -> None:
        callback(forge.valid("pem"))
        raise RuntimeError("telemetry failed after the token was sent")

    return answered_then_raised


PROVIDER_CASES: tuple[ProviderCase, ...] = (
    ProviderCase(
        "provider-raises",
        lambda f, c: raising("token service unavailable"),
        2,
        "the provider raised RuntimeError: token service unavailable",
    ),
    ProviderCase(
        "provider-raises-cancelled-error",
        _sync_cancelled,
        2,
        "the provider raised CancelledError",
    ),
    ProviderCase(
        "async-provider-raises",
        _async_raising,
        2,
        "the provider raised ConnectionError",
        elapsed=2,
    ),
    ProviderCase(
        "async-provider-cancelled",
        _async_cancelled,
        2,
        "cancelled before it called back",
        elapsed=1,
    ),
    ProviderCase(
        "async-provider-awaits-cancelled-fetch",
        _async_awaiting_cancelled_fetch,
        2,
        "cancelled before it called back",
        elapsed=3,
    ),
    ProviderCase(
        "provider-never-answers",
        lambda f, c: never_answering(),
        3,
        "did not call back within 10 s",
        elapsed=10,
    ),
    ProviderCase(
        "async-provider-never-answers",
        _async_never,
        3,
        "did not call back within 10 s",
        elapsed=10,
    ),
    ProviderCase(
        "provider-returns-instead-of-calling-back",
        lambda f, c: returning_token(f.valid("pem")),
        3,
        "only takes the token passed to callback(token)",
        elapsed=10,
    ),
    ProviderCase(
        "answers-none", lambda f, c: answering_with(None), 3, "called back with null: no token"
    ),
    ProviderCase("answers-empty", lambda f, c: answering_with(""), 3, "with '': no token"),
    # Truthy in JavaScript: handed over, so refused as a token (code 4), not as none.
    ProviderCase("answers-blank", lambda f, c: answering_with("   "), 4, "three dot-separated"),
    ProviderCase(
        "answers-number", lambda f, c: answering_with(12345), 4, "a token is a JWT string"
    ),
    ProviderCase(
        "answers-bytes",
        lambda f, c: answering_with(f.valid("pem").encode()),
        4,
        "bytes b'eyJ",
    ),
    ProviderCase(
        "answers-object",
        lambda f, c: answering_with({"token": f.valid("pem")}),
        4,
        "a token is a JWT string",
    ),
    ProviderCase(
        "answers-non-utf8-bytes",
        lambda f, c: answering_with(b"\xff\xfe\xfd"),
        4,
        "a token is a JWT string",
    ),
    ProviderCase(
        "answers-twice-nothing-then-token",
        lambda f, c: answering_twice(None, f.valid("pem")),  # type: ignore[arg-type]
        3,
        "no token",
        note="only the first callback counts",
    ),
    ProviderCase(
        "answers-twice-expired-then-valid",
        lambda f, c: answering_twice(f.mint(f.claims(exp=NOW - 1)), f.valid("pem")),
        4,
        "the token expired at exp",
        note="called back a second time",
    ),
    ProviderCase(
        "answers-twice-valid-then-garbage",
        lambda f, c: answering_twice(f.valid("pem"), "garbage"),
        None,
        "",
        note="called back a second time",
    ),
    ProviderCase(
        "answers-after-the-timeout",
        lambda f, c: delayed(f.valid("pem"), 10.5, clock=c),
        3,
        "did not call back within 10 s",
        note="called back after the timeout",
        elapsed=10,
        after=5,
    ),
    ProviderCase(
        "answers-at-exactly-the-timeout",
        lambda f, c: delayed(f.valid("pem"), 10, clock=c),
        None,
        "",
        elapsed=10,
    ),
    ProviderCase(
        "answers-just-before-the-timeout",
        lambda f, c: delayed(f.valid("pem"), 9.999, clock=c),
        None,
        "",
        elapsed=9.999,
    ),
    ProviderCase(
        "answers-invalid-token-late-but-in-time",
        lambda f, c: delayed(f.mint(signer=f.stranger), 9, clock=c),
        4,
        "signature does not verify",
        elapsed=9,
    ),
    ProviderCase(
        "async-provider-calls-back-then-raises",
        _callback_then_raise_async,
        None,
        "",
        note="provider raised after calling back",
    ),
)


@dataclass(frozen=True)
class ContextProviderCase:
    """A context provider's behaviour on an unauthenticated work stream (code 1)."""

    id: str
    make: Callable[[VirtualClock], ContextProvider]
    reason: str
    elapsed: float = 0.0
    code: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


def _ctx_raising(clock: VirtualClock) -> ContextProvider:
    def context_provider() -> object:
        raise KeyError("msdyn_cartvalue")

    return context_provider


def _ctx_async_raising(clock: VirtualClock) -> ContextProvider:
    async def context_provider() -> object:
        await clock.sleep(1)
        raise TimeoutError("CRM lookup timed out")

    return context_provider


def _ctx_async_never(clock: VirtualClock) -> ContextProvider:
    async def context_provider() -> object:
        return await asyncio.get_running_loop().create_future()

    return context_provider


def _ctx_async_cancelled(clock: VirtualClock) -> ContextProvider:
    async def context_provider() -> object:
        fetch: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        clock.call_later(2, fetch.cancel)
        return await fetch

    return context_provider


def _ctx_sync_cancelled(clock: VirtualClock) -> ContextProvider:
    def context_provider() -> object:
        raise asyncio.CancelledError()

    return context_provider


def _ctx_returning(value: object) -> Callable[[VirtualClock], ContextProvider]:
    def make(clock: VirtualClock) -> ContextProvider:
        return lambda: value

    return make


CONTEXT_PROVIDER_CASES: tuple[ContextProviderCase, ...] = (
    ContextProviderCase("context-provider-raises", _ctx_raising, "raised KeyError"),
    ContextProviderCase(
        "context-provider-raises-cancelled-error", _ctx_sync_cancelled, "raised CancelledError"
    ),
    ContextProviderCase(
        "async-context-provider-raises",
        _ctx_async_raising,
        "raised TimeoutError: CRM lookup timed out",
        elapsed=1,
    ),
    ContextProviderCase(
        "async-context-provider-never-answers",
        _ctx_async_never,
        "did not answer within 10 s",
        elapsed=10,
    ),
    ContextProviderCase(
        "async-context-provider-cancelled",
        _ctx_async_cancelled,
        "cancelled before it answered",
        elapsed=2,
    ),
    ContextProviderCase(
        "context-provider-returns-list",
        _ctx_returning([("msdyn_cartvalue", 1)]),
        "it must return an object",
    ),
    ContextProviderCase(
        "context-provider-returns-json-string",
        _ctx_returning('{"msdyn_cartvalue": 1}'),
        "it must return an object",
    ),
    ContextProviderCase(
        "context-provider-returns-none", _ctx_returning(None), "it must return an object"
    ),
)
