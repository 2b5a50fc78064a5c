"""Chat authentication: public keys, token minting and the token verdict.

Pure rules over values and an explicit ``now``: :func:`validate_token` never
reads a clock and does no I/O. PyJWT checks the signature and the token's
structure; the time claims (``exp``, ``nbf``, ``iat``) are judged here against
the caller's ``now`` because PyJWT only knows the real clock.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import codecs
import datetime as dt
import json
import math
import re
import sys
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .clock import MILLISECONDS_THRESHOLD, describe_instant, describe_seconds, finite_seconds
from .context import NotJson, json_value
from .errors import ErrorCode, LcwError, printable, whole_number, wrong_type
from .events import json_kind

__all__ = [
    "DEFAULT_ISSUER",
    "DEFAULT_MAX_TOKEN_BYTES",
    "DEFAULT_PROVIDER_TIMEOUT",
    "HMAC_KEY_BYTES",
    "SHORT_SECRET_NOTE",
    "ChatAuthSettings",
    "KeyPair",
    "PublicKey",
    "TokenVerdict",
    "describe_token",
    "falsy_in_javascript",
    "load_public_keys",
    "mint_token",
    "require_token",
    "short_secret",
    "sub_link_hint",
    "time_claims",
    "validate_token",
]

DEFAULT_PROVIDER_TIMEOUT = 10.0  # "must answer within 10 s" (send-auth-token-starting-chat)
# A longer wait is no test of a page: and far enough, it would move a virtual clock past
# the moments it can hold.
MAX_PROVIDER_TIMEOUT = 86_400.0
# Omnichannel documents no size limit; 64 KiB holds 100 variables of a few
# hundred characters each and stops a runaway token long before it costs much.
DEFAULT_MAX_TOKEN_BYTES = 64 * 1024
# The iss of tokens our tools mint when none is asked for: iss is one of the documented
# minimum claims, so a minted token always names an issuer.
DEFAULT_ISSUER = "lcw-emulator"

_SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})
# RFC 7518 section 3.2: an HMAC key at least as long as the hash it is used with.
HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
SHORT_SECRET_NOTE = (
    "fine for a demo, too short for real use (RFC 7518 section 3.2 asks for at least the hash's "
    "size: 32 bytes for HS256, 48 for HS384, 64 for HS512)"
)
_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
SUPPORTED_ALGORITHMS = _SYMMETRIC | _ASYMMETRIC
_NOT_BASE64URL = re.compile(r"[^A-Za-z0-9_\-]")
_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BASE64URL_AND_DOTS = (_BASE64URL_ALPHABET + ".").encode("ascii")
_SEGMENTS = ("header", "payload", "signature")


@attrs.frozen
class PublicKey:
    """One RSA public key the work stream trusts, with its ``kid`` and expiry."""

    # Compared by its numbers: two loads of one PEM are the same key, two keys are not.
    key: rsa.RSAPublicKey = attrs.field(
        eq=attrs.cmp_using(eq=lambda a, b: a.public_numbers() == b.public_numbers()),
        hash=False,
        repr=False,
    )
    kid: str | None = None
    expiry: float | None = None  # epoch seconds; None never expires

    def __attrs_post_init__(self) -> None:
        # Keys built in code too, not only those read from a work stream or key document.
        if not isinstance(self.key, rsa.RSAPublicKey):
            raise ValueError(f"a public key must be an RSA public key, got {type(self.key)}")
        _documented_size(self.key, f"public key{f' {self.kid!r}' if self.kid else ''}")
        if self.kid == "":
            object.__setattr__(self, "kid", None)  # as .NET reads an empty kid: none
        # NaN compares false with everything: it would never expire, or always have.
        if self.expiry is not None and math.isnan(self.expiry):
            raise ValueError("a public key's expiry must be a time or None, got NaN")

    @property
    def pem(self) -> str:
        """The key as PEM text (SubjectPublicKeyInfo), as a work stream file holds it."""
        return _pem_of(self.key)


def _pem_of(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _load_pem(text: str, where: str) -> rsa.RSAPublicKey:
    if "PRIVATE KEY-----" in text:
        # A key endpoint serving this would hand every visitor the power to sign tokens.
        raise ValueError(
            f"{where}: this is a private key, which must never be published; serve its "
            "public key (lcw-emulator keys writes both, or openssl rsa -pubout)"
        )
    try:
        key = serialization.load_pem_public_key(text.encode("utf-8"))
    except ValueError as exc:
        raise ValueError(f"{where}: not a readable PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{where}: Omnichannel takes RSA keys, got {type(key).__name__}")
    return _documented_size(key, where)


# The chat authentication settings take "RSA256, 2048-bit" keys; a larger one is taken too.
MIN_RSA_BITS = 2048


def _documented_size(key: rsa.RSAPublicKey, where: str) -> rsa.RSAPublicKey:
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(
            f"{where}: a {key.key_size}-bit RSA key; Omnichannel takes RSA keys of "
            f"{MIN_RSA_BITS} bits (the documented size) or more"
        )
    return key


def _parse_expiry(value: object, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer past any double
            seconds = math.inf
        if not math.isfinite(seconds):
            raise ValueError(f"{where}: expiry must be a finite number of epoch seconds")
        if abs(seconds) >= MILLISECONDS_THRESHOLD:
            # As for a token's NumericDate: read as seconds, a JavaScript Date.getTime() would
            # put the key's expiry some 50,000 years away and let an expired key pass.
            raise ValueError(
                f"{where}: expiry {value!r} {_too_far(seconds)}; it counts seconds since the epoch"
            )
        return seconds
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            raise ValueError(
                f"{where}: expiry {value!r} is a string; epoch seconds are a JSON number "
                f"({value.strip()}, unquoted), or give an ISO 8601 date"
            )
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{where}: expiry {value!r} is neither epoch seconds nor an ISO 8601 date"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    raise ValueError(f"{where}: expiry must be epoch seconds or an ISO 8601 date")


def _key_array_entry(entry: object, index: int) -> PublicKey:
    where = f"key array entry {index}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected an object {{kid, publicKey, expiry}}")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError(f"{where}: 'kid' must be a non-empty string")
    material = entry.get("publicKey")
    if not isinstance(material, str) or not material.strip():
        raise ValueError(f"{where} (kid {kid!r}): 'publicKey' must be a string")
    if "PRIVATE KEY-----" in material:
        _load_pem(material, f"{where} (kid {kid!r})")  # says what is wrong with it
    if "-----BEGIN" in material:
        # The documented form is the PEM text base64-encoded once more; a service decoding
        # it would fail on the PEM itself, so an endpoint serving this would not work.
        raise ValueError(
            f"{where} (kid {kid!r}): 'publicKey' holds the PEM text itself; the documented "
            "key array holds it base64-encoded (the whole PEM, header lines included, "
            "as 'LS0tLS1CRUdJTi...')"
        )
    try:
        # Line breaks allowed: base64 tools wrap at 76 characters, and .NET's
        # Convert.FromBase64String ignores whitespace.
        compact = "".join(material.split())
        material = base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"{where} (kid {kid!r}): 'publicKey' is not base64 PEM") from None
    key = _load_pem(material, f"{where} (kid {kid!r})")
    return PublicKey(key, kid, _parse_expiry(entry.get("expiry"), f"{where} (kid {kid!r})"))


def _jwks_entry(entry: object, index: int) -> PublicKey:
    where = f"JWKS key {index}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a JWK object")
    try:
        jwk = jwt.PyJWK(dict(entry))
    except jwt.PyJWTError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not isinstance(jwk.key, rsa.RSAPublicKey):
        raise ValueError(f"{where}: Omnichannel takes RSA public keys (kty RSA)")
    kid = entry.get("kid")
    return PublicKey(
        _documented_size(jwk.key, where), kid if isinstance(kid, str) and kid else None
    )


def _jwks_signing_keys(entries: list[Any]) -> tuple[PublicKey, ...]:
    """The RSA signing keys of a JWKS, the others skipped; ValueError when none is left.

    As .NET's JsonWebKeySet.GetSigningKeys: a key whose use is other than "sig" (say "enc")
    never verifies a signature, no use or a blank one is a signing key, and a key that
    cannot sign here (EC, an encryption algorithm) is passed over, not a reason to refuse
    the set: a token names its key by kid.
    """
    usable: list[PublicKey] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Mapping) and "d" in entry:
            # Not a key to pass over: whatever else the set holds, it must not be published.
            raise ValueError(
                f"JWKS key {index}: this is a private key, which must never be published"
            )
        if _for_another_use(entry):
            skipped.append(f'JWKS key {index}: use {entry["use"]!r} is not "sig"')
            continue
        try:
            usable.append(_jwks_entry(entry, index))
        except ValueError as exc:
            skipped.append(str(exc))
    if entries and not usable:
        raise ValueError(f"the JWKS holds no RSA signing key ({'; '.join(skipped)})")
    return tuple(usable)


def _for_another_use(entry: object) -> bool:
    use = entry.get("use") if isinstance(entry, Mapping) else None
    return isinstance(use, str) and bool(use.strip()) and use != "sig"


_PEM_BLOCK = re.compile(r"-----BEGIN [^-]+-----.*?-----END [^-]+-----", re.DOTALL)


def load_public_keys(text: str) -> tuple[PublicKey, ...]:
    """Read the public key endpoint's answer in any accepted form.

    Accepts a PEM public key, the documented key array
    ``[{"kid", "publicKey", "expiry"}]`` and a JWKS document ``{"keys": [...]}``.
    Raises :class:`ValueError` saying what is wrong; :class:`TypeError` for what is not text
    (a path: read the file first).
    """
    if not isinstance(text, str):
        hint = ": read the file first, path.read_text()" if isinstance(text, PurePath) else ""
        raise TypeError(f"the key document must be text, got {type(text).__name__}{hint}")
    # A byte order mark is the endpoint's text encoding, not the document (.NET strips it).
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise ValueError("the key document is empty")
    if stripped.startswith("-----BEGIN"):
        # Several PEM keys one after another are several keys, none with a kid.
        blocks = _PEM_BLOCK.findall(stripped) or [stripped]
        begun = stripped.count("-----BEGIN")
        if begun != max(len(blocks), 1):
            raise ValueError(
                f"the PEM text begins {begun} blocks and ends {len(blocks)}: a key is cut short"
            )
        return tuple(
            PublicKey(
                _load_pem(block, f"PEM public key {i}" if len(blocks) > 1 else "PEM public key")
            )
            for i, block in enumerate(blocks, start=1)
        )
    try:
        # Not the stripped text: JSON allows the whitespace, and a syntax error's line and
        # column must point into the document as served.
        document = json_value(text.lstrip("\ufeff"))
    except NotJson as exc:
        # NaN compares false with everything: an expiry of NaN would never pass.
        raise ValueError(f"the key document is not JSON: it holds {exc.problem}") from None
    except json.JSONDecodeError as exc:
        if stripped.startswith(("[", "{")):  # meant as JSON: say where it breaks
            raise ValueError(
                f"the key document is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})"
            ) from None
        raise ValueError(
            "expected a PEM public key, a JSON key array [{kid, publicKey, expiry}] "
            'or a JWKS document {"keys": [...]}'
        ) from None
    if isinstance(document, list):
        keys = tuple(_key_array_entry(entry, i) for i, entry in enumerate(document))
    elif isinstance(document, Mapping) and isinstance(document.get("keys"), list):
        keys = _jwks_signing_keys(document["keys"])
    else:
        raise ValueError('JSON keys must be a key array [...] or a JWKS document {"keys": [...]}')
    if not keys:
        raise ValueError("the key document holds no keys")
    _require_unique_kids(keys)
    return keys


def _require_unique_kids(keys: Iterable[PublicKey]) -> None:
    """Refuse two keys with one kid: a token naming it would be checked with the first only."""
    kids = [key.kid for key in keys if key.kid is not None]
    repeated = sorted({kid for kid in kids if kids.count(kid) > 1})
    if repeated:
        raise ValueError(f"kid values must be unique; repeated: {', '.join(repeated)}")


def _key_tuple(keys: Iterable[PublicKey] | None) -> tuple[PublicKey, ...]:
    # A list the caller keeps would go stale in the key lists worked out below; None is none.
    return () if keys is None else tuple(keys)


def _algorithm_tuple(algorithms: Iterable[str]) -> tuple[str, ...]:
    # A list is taken as the tuple it stands for; a lone "RS256" would read as five letters.
    if isinstance(algorithms, str) or not isinstance(algorithms, Iterable):
        raise wrong_type("algorithms", 'a tuple of algorithm names, like ("RS256",)', algorithms)
    return tuple(algorithms)


# Converters: any number float() or operator.index takes is kept as the float or int it
# stands for, so a Decimal or numpy value cannot reach the checks and the JSON of a chat.


def _leeway(value: float) -> float:
    return finite_seconds(value, "leeway")


def _provider_timeout(value: float) -> float:
    try:
        return finite_seconds(value, "provider timeout")
    except ValueError:  # NaN or infinity: refused by _check, with the range it must be in
        return float(value)


def _max_token_bytes(value: int) -> int:
    return whole_number(value, "max_token_bytes")


@attrs.frozen
class ChatAuthSettings:
    """A work stream's chat authentication settings."""

    algorithms: tuple[str, ...] = attrs.field(default=("RS256",), converter=_algorithm_tuple)
    keys: tuple[PublicKey, ...] = attrs.field(default=(), converter=_key_tuple)
    secret: str | None = attrs.field(default=None, repr=False)
    issuer: str | None = None
    leeway: float = attrs.field(default=0.0, converter=_leeway)
    provider_timeout: float = attrs.field(
        default=DEFAULT_PROVIDER_TIMEOUT, converter=_provider_timeout
    )
    max_token_bytes: int = attrs.field(default=DEFAULT_MAX_TOKEN_BYTES, converter=_max_token_bytes)
    public_key_url: str | None = None
    # Worked out once from keys, for every token judged: the keys with a kid, those without,
    # and the latter's key objects when none of them expires (so none is ever left out).
    _identified: tuple[PublicKey, ...] = attrs.field(init=False, eq=False, repr=False)
    _kid_less: tuple[PublicKey, ...] = attrs.field(init=False, eq=False, repr=False)
    _kid_less_keys: tuple[Any, ...] | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._check()
        kid_less = tuple(key for key in self.keys if key.kid is None)
        object.__setattr__(self, "_identified", tuple(k for k in self.keys if k.kid is not None))
        object.__setattr__(self, "_kid_less", kid_less)
        never_expire = all(key.expiry is None for key in kid_less)
        object.__setattr__(
            self, "_kid_less_keys", tuple(key.key for key in kid_less) if never_expire else None
        )

    def _check(self) -> None:
        strays = [repr(alg) for alg in self.algorithms if not isinstance(alg, str)]
        if strays:
            raise TypeError(f"algorithms must be names (strings), got {', '.join(strays)}")
        if self.secret is not None and not isinstance(self.secret, str):
            # Its value is not shown: a secret stays out of logs, as it stays out of repr.
            raise TypeError(f"secret must be a string (or None), got {type(self.secret).__name__}")
        strays = [type(key).__name__ for key in self.keys if not isinstance(key, PublicKey)]
        if strays:
            raise ValueError(f"keys must be PublicKey values, got {', '.join(strays)}")
        _require_unique_kids(self.keys)
        if self.public_key_url is not None:
            _check_key_url(self.public_key_url)
        unknown = [alg for alg in self.algorithms if alg not in SUPPORTED_ALGORITHMS]
        if not self.algorithms or unknown:
            raise ValueError(
                f"algorithms must be chosen from {', '.join(sorted(SUPPORTED_ALGORITHMS))}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        if any(alg in _SYMMETRIC for alg in self.algorithms) and not self.secret:
            raise ValueError("HS* algorithms need a shared secret")
        if (
            any(alg in _ASYMMETRIC for alg in self.algorithms)
            and not self.keys
            and not self.public_key_url
        ):
            raise ValueError("RS*/PS* algorithms need a public key (PEM, key array or JWKS)")
        # NaN compares false with everything: a NaN leeway would pass every time check.
        if not math.isfinite(self.leeway):
            raise ValueError(f"leeway must be a finite number of seconds, got {self.leeway!r}")
        if self.leeway < 0:
            raise ValueError("leeway cannot be negative")
        if not 0 < self.provider_timeout <= MAX_PROVIDER_TIMEOUT:  # NaN fails this too
            raise ValueError(
                "provider timeout must be a number of seconds above 0 and at most "
                f"{MAX_PROVIDER_TIMEOUT:g} (a day; the real widget waits 10), "
                f"got {self.provider_timeout!r}"
            )
        # Settings no token could pass, refused here rather than blamed on every token.
        if self.issuer is not None and not (isinstance(self.issuer, str) and self.issuer.strip()):
            raise ValueError("issuer must name the issuer (the token's iss), or be left out")
        if self.max_token_bytes <= 0:
            raise ValueError(f"max_token_bytes must be above 0, got {self.max_token_bytes}")


@attrs.frozen
class TokenVerdict:
    """The outcome of judging one token: its claims, or the rule it broke."""

    claims: Mapping[str, Any] | None = None
    reason: str | None = None
    claim: str | None = None  # the claim or header field at fault

    @property
    def accepted(self) -> bool:
        """True when Omnichannel would take the token (its claims are then in ``claims``)."""
        return self.claims is not None

    @classmethod
    def refuse(cls, claim: str, reason: str) -> TokenVerdict:
        """A refusal: ``claim`` names the claim or header field at fault, ``reason`` why."""
        return cls(None, reason, claim)


_INFINITIES = (math.inf, -math.inf)


def _shown(value: object) -> str:
    """A claim's value as the JSON it came from: null, true, a string "...", an object."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > 40:
            shown = shown[:36] + '..."'
        return f"a string {shown}"
    if isinstance(value, Mapping | list):
        return json_kind(value)  # "an object", "an array"
    if isinstance(value, float) and not math.isfinite(value):
        return "a number beyond a double (Infinity in JavaScript)"
    return repr(value)[:40]


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | str:
    """The claim as seconds, or a refusal reason."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a NumericDate (seconds since the epoch), got {_shown(value)}"
    if value != value or value in _INFINITIES:
        return f"{name} must be a finite number"
    if abs(value) >= MILLISECONDS_THRESHOLD:
        return f"{name} {value!r} {_too_far(value)}; a NumericDate counts seconds since the epoch"
    return float(value)


def _too_far(value: float) -> str:
    """What a moment over 5,000 years from 1970 in seconds is: milliseconds, or no moment."""
    if abs(value) < MILLISECONDS_THRESHOLD * 1000:
        return "looks like milliseconds"
    # 1e300 or 2**64: as far out read as milliseconds too, so no Date.getTime() either.
    era = "past the year 5000" if value > 0 else "before the year -1000"
    return f"is {era} read as seconds or as milliseconds"


def _canonical_base64url(segment: str) -> bool:
    """Whether ``segment`` (base64url characters only) is what an encoder would write.

    Read from its length and last character rather than by decoding and encoding again (a
    few microseconds for a token's three segments): a segment of 4k+1 characters is
    truncated, and the last character of one of 4k+2 (4k+3) carries 2 (4) bits of data,
    whose unused low bits an encoder leaves zero (RFC 4648 section 3.5).
    """
    rest = len(segment) % 4
    if rest == 1:
        return False
    if rest == 0:
        return True
    unused_bits = 4 if rest == 2 else 2
    return _BASE64URL_ALPHABET.index(segment[-1]) % (1 << unused_bits) == 0


def _select_keys(
    header: Mapping[str, Any], alg: str, settings: ChatAuthSettings, now: float
) -> tuple[Any, ...] | TokenVerdict:
    # The keys to try, in order. A token naming no kid (or any kid, when no key has one) is
    # tried with every key without a kid, as .NET's token handler tries every signing key
    # for a token that names none (the reference is silent).
    if alg in _SYMMETRIC:
        return (settings.secret,)
    if not settings.keys:
        return TokenVerdict.refuse("kid", "the work stream has no public key loaded")
    identified = settings._identified
    kid = header.get("kid") or None  # an empty kid names no key, as .NET reads it
    if not identified or (kid is None and settings._kid_less):
        return settings._kid_less_keys or _unexpired(settings._kid_less, now)
    known = ", ".join(repr(key.kid) for key in identified)
    if kid is None:
        named = "an empty kid" if "kid" in header else "no kid"
        return TokenVerdict.refuse(
            "kid",
            "the work stream's public keys are identified by kid, and the token header has "
            f"{named} (known: {known})",
        )
    match = next((key for key in identified if key.kid == kid), None)
    if match is None:
        return TokenVerdict.refuse("kid", f"no public key with kid {kid!r} (known: {known})")
    if match.expiry is not None and now >= match.expiry:
        return TokenVerdict.refuse(
            "kid",
            f"public key {kid!r} expired at {describe_instant(match.expiry)}; "
            f"now is {describe_instant(now)}",
        )
    return (match.key,)


def _unexpired(keys: tuple[PublicKey, ...], now: float) -> tuple[Any, ...] | TokenVerdict:
    live = tuple(key.key for key in keys if key.expiry is None or now < key.expiry)
    if live:
        return live
    last = max(key.expiry for key in keys if key.expiry is not None)
    return TokenVerdict.refuse(
        "kid",
        f"every public key without a kid has expired, the last at {describe_instant(last)}; "
        f"now is {describe_instant(now)}",
    )


_CRIT_REFUSAL = (
    "the header marks extensions as critical and none are supported, so the token must be "
    "refused (RFC 7515 section 4.1.11)"
)

_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


class _SegmentsCheckedJWS(jwt.PyJWS):
    """PyJWT's JWS decoder, for tokens whose segments :func:`validate_token` has checked.

    PyJWT 2.15 reads every character of every segment against the base64url alphabet in
    a Python loop, which is about half of a decode's time. :func:`validate_token` only
    calls this after refusing any character outside that alphabet (one ``bytes.translate``
    of the whole token, so no ``=`` either) and any segment that is not canonical base64url,
    where that loop and the re-encoding check after it can only pass; so each segment goes
    straight to PyJWT's own base64url decoder. Everything else (the header, the algorithm,
    the signature) is PyJWT's code, unchanged.
    """

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        return jwt.utils.base64url_decode(segment)


class _QuietHMAC(jwt.algorithms.HMACAlgorithm):
    """PyJWT's HMAC, less its warning on a short secret at every check.

    A chat start notes a short secret once instead (:func:`short_secret`); PyJWT's warning
    points deep into this package, and silencing it with ``warnings.catch_warnings`` around
    each check would change the process's warning filters (and not safely across threads).
    """

    def check_key_length(self, key: bytes) -> str | None:
        return None


def _quiet(jws: jwt.PyJWS) -> jwt.PyJWS:
    for name, digest in (
        ("HS256", jwt.algorithms.HMACAlgorithm.SHA256),
        ("HS384", jwt.algorithms.HMACAlgorithm.SHA384),
        ("HS512", jwt.algorithms.HMACAlgorithm.SHA512),
    ):
        jws.unregister_algorithm(name)
        jws.register_algorithm(name, _QuietHMAC(digest))
    return jws


_JWS = _quiet(_SegmentsCheckedJWS())
# jwt.decode, with the same quiet HMAC: PyJWT reads its JWS decoder from _jws.
_JWT = jwt.PyJWT()
_JWT._jws = _quiet(_JWT._jws)


class _Accepted:
    """What PyJWT found in a token it accepted: its header, its claims, and the keys."""

    __slots__ = ("claims", "header", "keys", "nested", "payload")

    def __init__(self, header: dict[str, Any], claims: dict[str, Any], payload: str) -> None:
        self.header = header
        self.claims = claims
        self.payload = payload
        # Whether the claims hold objects or lists; found out on the first reuse, since
        # most tokens a suite mints are used once.
        self.nested: bool | None = None
        self.keys: tuple[object, ...] = ()  # each key its signature verified with

    def claims_for_caller(self) -> dict[str, Any]:
        # Nested claims are parsed again for each caller, who may change them; flat claims
        # (the usual kind) are copied by _judge_claims on the way out.
        if self.nested is None:
            self.nested = any(isinstance(value, dict | list) for value in self.claims.values())
        if not self.nested:
            return self.claims
        return _parse_segment(self.payload)  # type: ignore[no-any-return]


# Strict JSON, as .NET's reader (System.Text.Json's Utf8JsonReader) is, where Python's json
# (and so PyJWT) is lenient: UTF-8 only, no byte order mark, no NaN or Infinity (json_value),
# no lone surrogate escape, at most 64 levels deep.
MAX_JSON_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONG_NUMBER = re.compile(r"integer string conversion: value has (\d+) digits")


def _strict_json(data: bytes) -> Any:
    """``json.loads(data)`` as a strict reader takes it; :class:`NotJson` saying why not."""
    if data.startswith(codecs.BOM_UTF8):
        raise NotJson("a UTF-8 byte order mark")
    try:
        text = data.decode("utf-8")  # strict: UTF-16, UTF-32 and encoded surrogates fail
    except UnicodeDecodeError as exc:
        raise NotJson(f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start})") from None
    value = json_value(text)
    # Cheap tests first: a walk only for the rare text that could fail it.
    deep = text.count("{") + text.count("[") > MAX_JSON_DEPTH
    if deep or _SURROGATE_ESCAPE.search(text):
        _check_tree(value, 1)
    return value


def _check_tree(value: Any, depth: int) -> None:
    if isinstance(value, dict | list):
        if depth > MAX_JSON_DEPTH:
            raise NotJson(f"values nested more than {MAX_JSON_DEPTH} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_tree(key, depth)
            _check_tree(item, depth + 1)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise NotJson("a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)") from None


def _parse_segment(segment: str) -> Any:
    return _strict_json(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _worded(exc: Exception) -> str:
    """PyJWT's words for a token it cannot read, less advice meant for Python programmers.

    In one line: PyJWT quotes what the token holds (a crit name) as it is.
    """
    digits = _LONG_NUMBER.search(str(exc))
    if digits is not None:  # Python's guard against slow int parsing, which names sys calls
        count = digits.group(1)
        return f"it holds a number of {count} digits, more than any JSON reader here takes"
    return printable(str(exc))


def _not_strict_json(segment: str) -> str | None:
    """What a segment's JSON holds that a strict reader refuses, or ``None``."""
    try:
        _parse_segment(segment)
    except NotJson as exc:
        return exc.problem
    except RecursionError:  # nested some thousand levels, far past what a strict reader takes
        return f"values nested more than {MAX_JSON_DEPTH} levels deep"
    except ValueError:
        # Not JSON at all, which PyJWT words; unless PyJWT's lenient reader would take it.
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return f"bytes that are not UTF-8 (they read as {json.detect_encoding(raw)})"
    return None


# Tokens PyJWT accepted, least recently used first. What PyJWT checks (the token's structure
# and header, the signature) is a pure function of the token, the algorithm (named in the
# token's header) and the key: the options are fixed and judge no time. So a suite that hands
# the same token to many chats pays that check once per key (it is most of a chat start's
# cost). Holding the key keeps identity comparison honest. Everything that depends on the
# work stream's settings or on ``now`` (size, algorithm allowed, ``crit``, kid and key
# expiry, ``exp``/``nbf``/``iat`` with leeway, required claims, issuer) is judged on every
# call. A refusal is never remembered, nor is a token longer than any real one, so that
# 1,024 of them hold a few megabytes at most however large the tokens a suite tries.
VERIFIED_CACHE_SIZE = 1024
REMEMBERED_TOKEN_CHARS = 8192
_verified: OrderedDict[str, _Accepted] = OrderedDict()
_verified_lock = threading.Lock()  # the package runs on one loop, but its callers may not


def _remembered(token: str) -> _Accepted | None:
    with _verified_lock:
        known = _verified.get(token)
        if known is not None:
            _verified.move_to_end(token)
    return known


def _remember(token: str, header: dict[str, Any], claims: dict[str, Any], key: object) -> None:
    if len(token) > REMEMBERED_TOKEN_CHARS:
        return
    with _verified_lock:
        known = _verified.get(token)
        if known is None:
            known = _verified[token] = _Accepted(header, claims, token.split(".")[1])
            if len(_verified) > VERIFIED_CACHE_SIZE:
                _verified.popitem(last=False)
        if all(seen is not key for seen in known.keys):
            known.keys = (*known.keys, key)


def short_secret(settings: ChatAuthSettings) -> str | None:
    """What is short about the work stream's HMAC secret, or ``None`` (long enough, or none).

    PyJWT warns on every check with a short secret, from deep in this package; a chat start
    notes this once instead (the documentation's own HS256 sample secret is 19 bytes).
    """
    if settings.secret is None:
        return None
    size = len(settings.secret.encode("utf-8"))
    short = [name for name in settings.algorithms if size < HMAC_KEY_BYTES.get(name, 0)]
    if not short:
        return None
    return f"the work stream's HMAC secret is {size} bytes, short for {', '.join(short)}"


def _verified_claims(token: str, header: dict[str, Any], key: Any) -> dict[str, Any]:
    """``jwt.decode`` of ``token`` with ``key`` for the header's ``alg`` (the full path).

    Raises PyJWT's errors; a token it accepts is remembered for :func:`validate_token`.
    """
    claims: dict[str, Any] = _JWT.decode(
        token, key, algorithms=[header["alg"]], options=_DECODE_OPTIONS
    )
    _remember(token, header, claims, key)
    return claims


def _judge_header(
    header: Mapping[str, Any], settings: ChatAuthSettings, now: float
) -> tuple[Any, ...] | TokenVerdict:
    """The keys to verify the signature with, in order, or the verdict refusing the header."""
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        return TokenVerdict.refuse("alg", "the token header names no algorithm (alg)")
    if alg.lower() == "none":
        return TokenVerdict.refuse("alg", f"alg {alg!r}: unsigned tokens are never accepted")
    if alg not in settings.algorithms:
        allowed = ", ".join(settings.algorithms)
        return TokenVerdict.refuse(
            "alg", f"alg {alg!r} is not allowed for this work stream (allowed: {allowed})"
        )
    if "crit" in header:
        return TokenVerdict.refuse("crit", f"{_CRIT_REFUSAL} (crit: {header['crit']!r})")
    return _select_keys(header, alg, settings, now)


def _claims_in_one_parse(
    token: str, header_segment: str, settings: ChatAuthSettings, now: float
) -> dict[str, Any] | None:
    """The verified claims of a token that passes every header rule, or ``None``.

    ``jwt.decode`` parses the whole token once for ``get_unverified_header`` and again
    for the decode, and that parsing costs more than the RSA check. A token on its way to
    acceptance only needs its header segment read to pick the key, so this reads that
    segment and lets PyJWT's JWS decoder do the single full parse, then reads the payload
    as ``jwt.decode`` would (JSON, an object; its claim checks are all off here). It never
    refuses: on ``None`` the full procedure in :func:`validate_token` judges the token with
    ``jwt.decode`` itself and words the refusal, so no verdict depends on this shortcut.
    """
    try:
        header = _parse_segment(header_segment)
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    keys = _judge_header(header, settings, now)
    if isinstance(keys, TokenVerdict):
        return None
    for key in keys:
        try:
            decoded = _JWS.decode_complete(token, key, algorithms=[header["alg"]])
            claims = _strict_json(decoded["payload"])
        except jwt.InvalidSignatureError:
            continue  # perhaps the next key's
        except (jwt.PyJWTError, ValueError, RecursionError):
            return None
        if not isinstance(claims, dict):
            return None
        _remember(token, header, claims, key)
        return claims
    return None


def validate_token(token: object, settings: ChatAuthSettings, now: float) -> TokenVerdict:
    """Judge ``token`` the way Omnichannel would at time ``now`` (epoch seconds)."""
    if not isinstance(token, str):
        return TokenVerdict.refuse("token", f"a JWT is a string; got {type(token).__name__}")
    encoded = token.encode("utf-8", "surrogatepass")
    size = len(encoded)
    if size > settings.max_token_bytes:
        return TokenVerdict.refuse(
            "token", f"token is {size} bytes; the limit is {settings.max_token_bytes}"
        )
    known = _remembered(token)
    if known is not None:
        # Accepted before, so it passes every rule that reads the token alone.
        keys = _judge_header(known.header, settings, now)
        if isinstance(keys, TokenVerdict):
            return keys
        if any(seen is key for key in keys for seen in known.keys):
            return _judge_claims(known.claims_for_caller(), settings, now)
    parts = token.split(".")
    if len(parts) != 3:
        return TokenVerdict.refuse(
            "token",
            f"a signed JWT has three dot-separated parts (header.payload.signature); "
            f"got {len(parts)}",
        )
    if not parts[2]:
        return TokenVerdict.refuse("signature", "the token has no signature (unsigned JWT)")
    # Deleting the alphabet and the dots from a clean token leaves nothing: one pass in C,
    # where a regex search of each segment costs a few microseconds. Only a token with a
    # stray character is searched, to say where it is.
    clean = token.isascii() and not encoded.translate(None, _BASE64URL_AND_DOTS)
    for part, segment, claim in zip(
        _SEGMENTS, parts, ("header", "token", "signature"), strict=True
    ):
        stray = None if clean else _NOT_BASE64URL.search(segment)
        if stray is not None:
            # PyJWT crashes on a lone surrogate and decodes some strays leniently; a compact
            # JWS is base64url only (RFC 7515 section 7.1), as .NET's reader checks.
            edges = (
                "; the token starts or ends with whitespace (a trailing newline?), which the "
                "widget hands over as the page gave it"
                if token != token.strip()
                else ""
            )
            return TokenVerdict.refuse(
                claim,
                f"cannot decode the token {part}: {stray.group()!r} at position {stray.start()} "
                f"is not a base64url character (A-Z a-z 0-9 - _){edges}",
            )
        if not _canonical_base64url(segment):
            # PyJWT refuses these too, but names every segment's failure as the header's.
            return TokenVerdict.refuse(
                claim,
                f"cannot decode the token {part}: {len(segment)} characters are not canonical "
                "base64url (truncated or altered)",
            )
    claims = _claims_in_one_parse(token, parts[0], settings, now)
    if claims is not None:
        return _judge_claims(claims, settings, now)
    for part, segment, claim in zip(_SEGMENTS[:2], parts, ("header", "token"), strict=False):
        problem = _not_strict_json(segment)
        if problem is not None:
            return TokenVerdict.refuse(
                claim,
                f"the token {part} is not JSON as a strict reader takes it (RFC 8259, RFC 7519 "
                f"section 7.2: UTF-8, no NaN or Infinity): it holds {problem}",
            )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        if "critical" in str(exc).lower():
            # PyJWT refuses crit extensions it does not know before we see the header.
            return TokenVerdict.refuse("crit", f"{_CRIT_REFUSAL} ({_worded(exc)})")
        if "Key ID" in str(exc):  # PyJWT's words for a kid that is not a string
            return TokenVerdict.refuse("kid", f"the header's kid must be a string ({_worded(exc)})")
        return TokenVerdict.refuse("header", f"cannot decode the token header: {_worded(exc)}")
    keys = _judge_header(header, settings, now)
    if isinstance(keys, TokenVerdict):
        return keys
    for key in keys:
        try:
            claims = _verified_claims(token, header, key)
        except jwt.InvalidSignatureError:
            continue  # perhaps the next key's
        except jwt.PyJWTError as exc:
            return TokenVerdict.refuse("token", f"the token cannot be decoded: {_worded(exc)}")
        return _judge_claims(claims, settings, now)
    alg = header["alg"]
    return TokenVerdict.refuse(
        "signature", f"the {alg} signature does not verify with {_tried(header, keys, settings)}"
    )


def _tried(header: Mapping[str, Any], keys: tuple[Any, ...], settings: ChatAuthSettings) -> str:
    """The keys a signature was checked with, as a refusal names them."""
    if header.get("alg") in _SYMMETRIC:
        return "the work stream's shared secret"
    kid = header.get("kid") or None
    if kid is not None and any(key.kid == kid for key in settings.keys):  # chosen by its kid
        return f"the public key with kid {kid!r}"
    if settings._identified:  # a mixed set: the token named no kid, so only these were tried
        return f"the work stream's {len(keys)} public key(s) without a kid"
    if len(keys) > 1:
        return f"any of the work stream's {len(keys)} public keys (none has a kid)"
    return "the work stream's public key"


# A GUID as .NET's Guid.TryParse reads it: 32 hex digits, bare or in 8-4-4-4-12 groups
# (optionally in braces or parentheses).
_GUID = re.compile(
    r"[0-9a-fA-F]{32}|([({]?)[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}([)}]?)",
    re.ASCII,
)
_GUID_CLOSERS = {"": "", "{": "}", "(": ")"}


def sub_link_hint(claims: Mapping[str, Any]) -> str | None:
    """Why an accepted token's ``sub`` links the chat to no record, or ``None``.

    ``sub`` is documented as the contact or account GUID the chat is linked to; a token
    whose ``sub`` is an e-mail address or a user name is accepted, but no record can be
    linked (the reference is silent on more, so the chat still starts).
    """
    sub = claims.get("sub")
    if not isinstance(sub, str):
        return None
    match = _GUID.fullmatch(sub)
    if match is not None and _GUID_CLOSERS[match.group(1) or ""] == (match.group(2) or ""):
        return None
    return (
        f"sub {sub!r} is not a GUID: Omnichannel links the chat to the contact or "
        "account whose id sub is, so this chat would be linked to no record"
    )


def _check_key_url(url: object) -> None:
    """Refuse a public key URL no request could be made to, before any chat needs it."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"public_key_url must be an http:// or https:// URL, got {url!r}")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - read for its check: a port past 65535 raises
    except ValueError as exc:
        raise ValueError(f"public_key_url {url!r} is not a usable URL: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"public_key_url {url!r} names no host")


def _judge_claims(claims: dict[str, Any], settings: ChatAuthSettings, now: float) -> TokenVerdict:
    # The documented minimum claims; Omnichannel has no setting that makes any of them optional.
    for required in ("sub", "iat", "exp", "iss"):
        if required not in claims:
            expected = (
                f"; this work stream expects {settings.issuer!r}"
                if required == "iss" and settings.issuer is not None
                else ""
            )
            return TokenVerdict.refuse(
                required,
                f"the {required} claim is required (minimum claims: sub, iat, exp, iss){expected}",
            )
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip():
        return TokenVerdict.refuse(
            "sub", f"sub must be a non-empty string (the contact's id), got {_shown(sub)}"
        )
    issuer = claims["iss"]
    if not isinstance(issuer, str) or not issuer.strip():
        return TokenVerdict.refuse(
            "iss", f"iss must be a non-empty string (who issued the token), got {_shown(issuer)}"
        )
    dates: dict[str, float] = {}
    for name in ("exp", "iat", "nbf"):
        if name in claims:
            value = _numeric_date(claims, name)
            if isinstance(value, str):
                return TokenVerdict.refuse(name, value)
            dates[name] = value
    leeway = settings.leeway
    slack = f" with {describe_seconds(leeway)} s leeway" if leeway else ""
    if now >= dates["exp"] + leeway:
        return TokenVerdict.refuse(
            "exp",
            f"the token expired at exp {describe_instant(dates['exp'])}; "
            f"now is {describe_instant(now)}{slack}",
        )
    if "nbf" in dates and now < dates["nbf"] - leeway:
        return TokenVerdict.refuse(
            "nbf",
            f"the token is not valid before nbf {describe_instant(dates['nbf'])}; "
            f"now is {describe_instant(now)}{slack}",
        )
    if dates["iat"] > now + leeway:
        return TokenVerdict.refuse(
            "iat",
            f"the token was issued in the future: iat {describe_instant(dates['iat'])}; "
            f"now is {describe_instant(now)}{slack}",
        )
    if settings.issuer is not None and issuer != settings.issuer:
        return TokenVerdict.refuse(
            "iss", f"issuer {issuer!r} is not the configured issuer {settings.issuer!r}"
        )
    # Each chat session keeps its token's claims, and JSON decoding makes new strings for the
    # claim names of every token: interned, all sessions share one copy (~400 bytes a chat).
    return TokenVerdict({sys.intern(name): value for name, value in claims.items()})


def describe_token(token: object) -> str:
    """A short, safe rendering of what a provider handed over."""
    if isinstance(token, str):
        if len(token) <= 24:
            return repr(token)
        return f"{token[:16]}... ({len(token)} chars)"
    if token is None:
        return "null"  # JavaScript's null or undefined, as the page gave it
    shown = f"{type(token).__name__} {token!r}"
    return shown if len(shown) <= 60 else f"{shown[:57]}..."


def falsy_in_javascript(value: object) -> bool:
    """True for what JavaScript reads as false: null, false, 0, NaN and the empty string.

    An empty list or object is truthy there, unlike in Python.
    """
    # Only types JavaScript has are compared: == on anything else (an array type) may not
    # even answer a bool.
    if value is None or isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value == ""
    if isinstance(value, int | float):
        return value == 0 or (isinstance(value, float) and math.isnan(value))
    return False


def require_token(token: object) -> str:
    """The token a provider called back with, or :class:`LcwError` when it is no JWT string.

    What JavaScript reads as false (``None``, ``""``, ``0``, ``False``) is no token, code 3,
    as the SDK's ``UndefinedAuthToken``; anything else that is not a string was handed over
    and is refused as an invalid token, code 4, as the widget refuses a token it cannot
    decode. ``verify`` applies the same rule, so it judges an empty token as a chat start does.
    """
    if falsy_in_javascript(token):
        raise LcwError(
            ErrorCode.NO_AUTH_TOKEN,
            f"the provider called back with {describe_token(token)}: no token",
        )
    if not isinstance(token, str):
        raise LcwError(
            ErrorCode.INVALID_AUTH_TOKEN,
            f"the provider called back with {describe_token(token)}; a token is a JWT string",
        )
    return token


# How long a token minted here lives unless told otherwise: an hour, as token services give.
DEFAULT_TOKEN_LIFETIME = 3600.0


def time_claims(now: float, lifetime: float) -> dict[str, int]:
    """``iat``, ``nbf`` and ``exp`` for a token minted at ``now`` to live ``lifetime`` seconds.

    Whole seconds, as token services write them: ``iat`` and ``nbf`` never after ``now``,
    ``exp`` never before ``now + lifetime``, so the token is valid for all of its lifetime.
    Raises :class:`ValueError` when either is not a finite number of seconds.
    """
    expires = now + lifetime
    if not (math.isfinite(now) and math.isfinite(expires)):
        raise ValueError(
            f"a token minted at {now!r} s to live {lifetime!r} s expires at {expires!r} s, "
            "which no NumericDate can hold"
        )
    issued = math.floor(now)
    return {"iat": issued, "nbf": issued, "exp": math.ceil(expires)}


def mint_token(
    claims: Mapping[str, Any],
    key: str | bytes | rsa.RSAPrivateKey,
    *,
    algorithm: str = "RS256",
    kid: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` as a compact JWT with PyJWT (RSA private key or HS secret).

    Claim values JSON can hold are signed as given, wrong types too (an ``iss`` that is a
    number, an ``exp`` that is text), so that a test can see Omnichannel refuse them;
    ``datetime`` values of ``exp``/``iat``/``nbf`` become epoch seconds, as in
    ``jwt.encode``. What JSON cannot hold no token service could send: NaN or infinity
    raises :class:`ValueError` naming the claims, a set or bytes json's :class:`TypeError`.
    An unknown algorithm, or a key it cannot sign with, is a :class:`ValueError` too.
    """
    if not isinstance(algorithm, str):
        raise wrong_type("algorithm", 'an algorithm name, like "RS256"', algorithm)
    if algorithm not in _JWS.get_algorithms():
        known = {name.upper(): name for name in _JWS.get_algorithms()}
        hint = (
            f" (names are case-sensitive: {known[algorithm.upper()]}?)"
            if algorithm.upper() in known
            else ""
        )
        raise ValueError(
            f"cannot sign with algorithm {algorithm!r}: PyJWT has none by that name{hint}"
        )
    header = dict(headers or {})
    if kid is not None:
        header["kid"] = kid
    if algorithm.startswith(("RS", "PS")) and not isinstance(key, rsa.RSAPrivateKey):
        key = _private_signing_key(key, algorithm)
    payload = {
        # As jwt.encode: a naive datetime is UTC, whatever the machine's time zone.
        name: calendar.timegm(value.utctimetuple())
        if name in ("exp", "iat", "nbf") and isinstance(value, dt.datetime)
        else value
        for name, value in claims.items()
    }
    # jwt.encode would refuse the wrong types a test mints on purpose; PyJWS signs the JSON,
    # with the quiet HMAC: a short secret is noted where the token is checked, not warned of
    # at every mint (the documentation's own HS256 sample has a 19-byte secret).
    try:
        encoded = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError:
        named = [str(name) for name, value in payload.items() if not _json_finite(value)]
        if not named:
            raise  # not a NaN (a circular reference): json's own words say what
        which = f"claim{'s' if len(named) > 1 else ''} {', '.join(named)}"
        raise ValueError(
            f"cannot sign {which}: NaN and infinity are not JSON, so no token service could "
            "send them"
        ) from None
    # The key is read first, on its own, so that what is said of it is said of the key
    # alone: a header PyJWS cannot write is its own error, below.
    try:
        _JWS.get_algorithm_by_name(algorithm).prepare_key(key)
    except jwt.InvalidKeyError:
        # PyJWT's own words here name a generator object, not the key it wanted.
        raise ValueError(
            f"cannot sign {algorithm} with this key ({type(key).__name__}): it is not a key "
            f"{algorithm} signs with"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot sign {algorithm} with this key ({type(key).__name__}): {exc}"
        ) from None
    return _JWS.encode(encoded, key, algorithm=algorithm, headers=header or None)


def _json_finite(value: object, seen: frozenset[int] = frozenset()) -> bool:
    """False when ``value`` holds a NaN or infinite float, at any depth (cycles skipped)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if id(value) in seen:  # a cycle: json reports it in its own words
        return True
    if isinstance(value, Mapping):
        return all(_json_finite(item, seen | {id(value)}) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_json_finite(item, seen | {id(value)}) for item in value)
    return True


def _private_signing_key(key: object, algorithm: str) -> rsa.RSAPrivateKey:
    """``key`` read as PyJWT reads it for ``algorithm``; a public key is refused, saying so.

    Left to PyJWT, a public key fails deep in signing with an ``AttributeError``.
    """
    try:
        prepared = jwt.get_algorithm_by_name(algorithm).prepare_key(key)
    except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot sign {algorithm} with this key: {exc}") from None
    if isinstance(prepared, rsa.RSAPublicKey):
        raise ValueError(
            f"cannot sign {algorithm} with a public key: tokens are signed with the private key "
            "(KeyPair.private_key or private_pem); the work stream holds the public one"
        )
    if not isinstance(prepared, rsa.RSAPrivateKey):
        raise ValueError(f"cannot sign {algorithm} with {_key_kind(prepared)}")
    return prepared


def _key_kind(key: object) -> str:
    return f"a key of type {type(key).__name__}"  # e.g. ECPrivateKey


class KeyPair:
    """An RSA key pair for signing test tokens, with the public key in every accepted form."""

    def __init__(self, private_key: rsa.RSAPrivateKey, kid: str = "key-1") -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            hint = (
                ": for PEM text, KeyPair.from_private_pem(pem)"
                if isinstance(private_key, str | bytes)
                else ""
            )
            raise TypeError(
                f"private_key must be an RSA private key, got {type(private_key).__name__}{hint}"
            )
        if kid is not None and not isinstance(kid, str):  # None: a pair with no kid, as before
            raise wrong_type("kid", "a string (a token's header carries it as one)", kid)
        self.private_key = private_key
        self.kid = kid

    @classmethod
    def generate(cls, kid: str = "key-1", *, bits: int = 2048) -> KeyPair:
        """Make a fresh pair (RSA, 2048 bits as the documentation asks)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits), kid)

    @classmethod
    def from_private_pem(cls, pem: str | bytes, kid: str = "key-1") -> KeyPair:
        """Load an unencrypted RSA private key from PEM; :class:`ValueError` for any other key.

        :class:`TypeError` for what is not text or bytes (a path: read the file first).

        PKCS#8 and PKCS#1 PEM as OpenSSL writes them, and ``ssh-keygen``'s own format
        (``-----BEGIN OPENSSH PRIVATE KEY-----``), which is the same RSA key.
        """
        if not isinstance(pem, str | bytes):
            hint = (
                ": read the file first, pem = path.read_text()" if isinstance(pem, PurePath) else ""
            )
            raise TypeError(f"pem must be the key's PEM text, got {type(pem).__name__}{hint}")
        if isinstance(pem, str) and not pem.isascii():
            raise ValueError("pem is not PEM: PEM text is ASCII, and this holds other characters")
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        openssh = b"-----BEGIN OPENSSH PRIVATE KEY-----" in data
        try:
            if openssh:
                key: object = serialization.load_ssh_private_key(data, password=None)
            else:
                key = serialization.load_pem_private_key(data, password=None)
        except TypeError:  # cryptography's word for a key that needs a password
            # OpenSSL cannot read ssh-keygen's format, so each format has its own tool.
            how = (
                "ssh-keygen -p -N '' -f COPY_OF_KEY"
                if openssh
                else "openssl pkey -in KEY -out plain.pem"
            )
            raise ValueError(
                "the private key is encrypted (it needs a password): write it out unencrypted "
                f"for the test, e.g. {how}"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"expected an RSA private key, got {_key_kind(key)}")
        return cls(key, kid)

    @property
    def private_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM, for the token service that signs."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @property
    def public_pem(self) -> str:
        """The public key as PEM, for the work stream's chat authentication settings."""
        # Written out directly: a key too small for Omnichannel still has a PEM form.
        return _pem_of(self.private_key.public_key())

    def key_array(self, expiry: float | None = None) -> list[dict[str, Any]]:
        """The documented key array form: ``[{kid, publicKey (base64 PEM), expiry}]``."""
        encoded = base64.b64encode(self.public_pem.encode("ascii")).decode("ascii")
        return [{"kid": self.kid, "publicKey": encoded, "expiry": expiry}]

    def jwks(self) -> dict[str, Any]:
        """A JWKS document holding this key with its ``kid``."""
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key())
        )
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def public_keys(self, *, with_kid: bool = False) -> tuple[PublicKey, ...]:
        """This pair's public key as the work stream's trusted keys."""
        return (PublicKey(self.private_key.public_key(), self.kid if with_kid else None),)

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        with_kid: bool = False,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign ``claims`` as an RS256 token (:func:`mint_token`); ``with_kid`` names the key."""
        return mint_token(
            claims, self.private_key, kid=self.kid if with_kid else None, headers=headers
        )
