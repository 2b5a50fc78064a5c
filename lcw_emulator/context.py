"""Context variables: how Omnichannel types, keeps and drops what the page sends.

Pure rules, no I/O and no clock. Two entry points:

* :func:`parse_lwicontexts` checks the token's ``lwicontexts`` claim (a JSON
  *string* of an object with primitive values) and returns the mapping or a
  :class:`ContextRefusal` saying which rule it broke;
* :func:`resolve_context` types a raw mapping against a work stream's declared
  variables: values coerce to the declared type, values that cannot are
  dropped with a reason, unknown keys are created as Text.

Where the documentation is silent (what a wrong type does), we drop the value
and say so; the README lists each such choice.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping

import attrs

from .errors import wrong_type
from .events import json_kind

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_VALUE_LENGTH",
    "MAX_VARIABLES",
    "ContextRefusal",
    "ContextResolution",
    "ContextVariable",
    "DroppedContext",
    "NotJson",
    "PackedResolution",
    "Primitive",
    "ResolvedVariable",
    "VariableType",
    "case_mismatch_note",
    "case_mismatches",
    "coerce",
    "context_outside_lwicontexts",
    "javascript_length",
    "javascript_text",
    "json_value",
    "parse_lwicontexts",
    "resolve_context",
]

MAX_VARIABLES = 100
MAX_NAME_LENGTH = 100
MAX_VALUE_LENGTH = 4000

Primitive = str | int | float | bool


class VariableType(enum.StrEnum):
    """A work stream context variable's declared type."""

    TEXT = "Text"
    NUMBER = "Number"
    BOOLEAN = "Boolean"

    @classmethod
    def parse(cls, value: str) -> VariableType:
        """The type named ``value``, in any case (``"number"``); :class:`ValueError` if none."""
        if not isinstance(value, str):
            raise wrong_type("a context variable type", _TYPE_NAMES, value)
        for member in cls:
            if member.value.lower() == value.strip().lower():
                return member
        allowed = ", ".join(member.value for member in cls)
        raise ValueError(f"unknown context variable type {value!r} (expected {allowed})")


_TYPE_NAMES = 'a VariableType or its name ("Text", "Number" or "Boolean")'


def _variable_type(value: VariableType | str) -> VariableType:
    # The documentation and the files name types as text ("Number"): taken as the type.
    return value if isinstance(value, VariableType) else VariableType.parse(value)


@attrs.frozen
class ContextVariable:
    """A context variable declared on a work stream; ``type`` may be named (``"Number"``)."""

    name: str
    type: VariableType = attrs.field(default=VariableType.TEXT, converter=_variable_type)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise wrong_type("a context variable's name", "a string", self.name)
        if not self.name:
            raise ValueError("a context variable needs a name")
        if javascript_length(self.name) > MAX_NAME_LENGTH:
            raise ValueError(
                f"context variable name {self.name[:20]!r}... is {javascript_length(self.name)} "
                f"characters; the limit is {MAX_NAME_LENGTH}"
            )


@attrs.frozen
class ResolvedVariable:
    """A value Omnichannel kept, typed, for one chat session."""

    name: str
    value: Primitive
    type: VariableType
    is_displayable: bool = False
    created: bool = False  # not declared on the work stream; created at run time as Text


@attrs.frozen
class DroppedContext:
    """A key the session did not keep, and why."""

    key: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """``{key, reason}``, as the timeline and ``verify --json`` show it."""
        return {"key": self.key, "reason": self.reason}


@attrs.frozen
class ContextResolution:
    """The outcome of resolving raw context against a work stream."""

    variables: tuple[ResolvedVariable, ...] = ()
    dropped: tuple[DroppedContext, ...] = ()

    @property
    def values(self) -> dict[str, Primitive]:
        """Name to typed value, the shape most callers want."""
        return {variable.name: variable.value for variable in self.variables}

    @property
    def created(self) -> tuple[str, ...]:
        """Names created at run time because the work stream does not declare them."""
        return tuple(variable.name for variable in self.variables if variable.created)

    def pack(self) -> PackedResolution:
        """The same facts as plain tuples of strings, numbers and booleans (see unpack)."""
        variables = [
            (v.name, v.value, v.type._value_, v.is_displayable, v.created) for v in self.variables
        ]
        dropped = [(item.key, item.reason) for item in self.dropped]
        return tuple(variables), tuple(dropped)

    @staticmethod
    def packed_values(packed: PackedResolution) -> dict[str, Primitive]:
        """:attr:`values` read straight from a packed resolution."""
        return {variable[0]: variable[1] for variable in packed[0]}

    @staticmethod
    def packed_created(packed: PackedResolution) -> tuple[str, ...]:
        """:attr:`created` read straight from a packed resolution."""
        return tuple(name for name, *_, created in packed[0] if created)

    @staticmethod
    def packed_dropped(packed: PackedResolution) -> tuple[DroppedContext, ...]:
        """:attr:`dropped` read straight from a packed resolution."""
        return (
            tuple([DroppedContext(key, reason) for key, reason in packed[1]]) if packed[1] else ()
        )

    @classmethod
    def unpack(cls, packed: PackedResolution) -> ContextResolution:
        """The resolution :meth:`pack` made ``packed`` from."""
        variables, dropped = packed
        return cls(
            tuple(
                ResolvedVariable(name, value, VariableType(type_), displayable, created)
                for name, value, type_, displayable, created in variables
            ),
            tuple(DroppedContext(key, reason) for key, reason in dropped),
        )


# A resolution as tuples that hold only strings, numbers and booleans, which CPython's cyclic
# garbage collector stops tracking: a session keeps its resolution all its life, a suite
# keeps thousands of sessions, and every object tracked is walked on every full collection.
# (name, value, type, is_displayable, created) for each variable; (key, reason) for each drop.
PackedResolution = tuple[
    tuple[tuple[str, Primitive, str, bool, bool], ...], tuple[tuple[str, str], ...]
]


@attrs.frozen
class ContextRefusal:
    """Why an ``lwicontexts`` claim cannot be used at all (the token is invalid)."""

    reason: str


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and math.isinf(value):
        # A literal such as 1e400 is valid JSON, read as Infinity; NaN is not JSON at all.
        return "a number beyond a double (Infinity in JavaScript)"
    if isinstance(value, float) and math.isnan(value):
        return "NaN, not a number JSON can carry"
    if isinstance(value, int) and not isinstance(value, bool) and _beyond_a_double(value):
        # Not str(value): Python refuses to print integers of more than 4,300 digits.
        return "a number beyond a double (Infinity in JavaScript)"
    return json_kind(value)


def _is_unicode(text: str) -> bool:
    if text.isascii():  # the usual case, spared an encoding
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def javascript_length(text: str) -> int:
    """The length JavaScript and .NET give ``text``: UTF-16 code units (an emoji is 2)."""
    if text.isascii():  # the usual case, spared an encoding on every chat start
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _beyond_a_double(value: int) -> bool:
    # JavaScript reads such an integer as Infinity, which JSON cannot carry; the test is the
    # conversion itself, since integers just below 2**1024 round up past the largest double.
    try:
        float(value)
    except OverflowError:
        return True
    return False


def _is_primitive(value: object) -> bool:
    if type(value) is str:  # the usual case first
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not _beyond_a_double(value)
    return isinstance(value, str | bool)


class NotJson(ValueError):
    """JSON Python reads and a strict reader refuses (NaN, UTF-16...); ``problem`` says what."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _refuse_constant(constant: str) -> object:
    raise NotJson(constant)  # NaN, Infinity, -Infinity: Python's json takes them


def _json_integer(digits: str) -> int | float:
    # Python refuses to read an integer of more than 4,300 digits; any of more than 400 is
    # beyond the largest double, and so Infinity to the page's JavaScript.
    return math.inf if len(digits.lstrip("-")) > 400 else int(digits)


# One decoder for every call (json.loads with a keyword builds a new one each time), and one
# for the rare text with an integer longer than Python reads: a hook on every integer would
# cost every chat start.
_JSON = json.JSONDecoder(parse_constant=_refuse_constant)
_LONG_INTEGER_JSON = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_json_integer)


def json_value(text: str) -> object:
    """JSON ``text`` read as JavaScript would hold it; :class:`NotJson` for NaN or Infinity.

    An integer past any double reads as infinity (JavaScript's Infinity), where Python would
    refuse one of more than 4,300 digits with an error about its own limits.
    """
    try:
        return _JSON.decode(text)
    except ValueError as exc:
        if "int_max_str_digits" not in str(exc):
            raise
    return _LONG_INTEGER_JSON.decode(text)


def case_mismatches(
    created: Iterable[str], declared: Iterable[ContextVariable], kept: Iterable[str]
) -> dict[str, str]:
    """Each created key that differs only in case from a declared variable left unset.

    Keys are case-sensitive ("must match exactly"), so ``Msdyn_CartValue`` sets no
    ``msdyn_cartvalue``: it is created as Text, and routing on the declared variable
    silently falls through. The easiest context bug to ship, and the hardest to see.
    ``kept`` names the variables the context did set: one set under its own name as well
    is no mismatch.
    """
    unset = {variable.name for variable in declared}.difference(kept)
    by_folded = {name.casefold(): name for name in unset}
    return {key: by_folded[key.casefold()] for key in created if key.casefold() in by_folded}


def case_mismatch_note(key: str, declared: str) -> str:
    """How a key that differs from a declared variable only in case is told."""
    return (
        f"{key} differs from the declared {declared} only in case: keys are case-sensitive, "
        f"so {key} is created as Text and {declared} is not set"
    )


def context_outside_lwicontexts(
    claims: Mapping[str, object], declared: Iterable[ContextVariable]
) -> str | None:
    """Why a token with no ``lwicontexts`` claim seems to carry context elsewhere, or ``None``.

    Such a token is valid and starts a chat with no context, which is easy to miss: the
    likely mistakes are the claim's name in another casing and the variables put at the
    top level of the payload.
    """
    if "lwicontexts" in claims:
        return None
    for name in claims:
        if "".join(filter(str.isalnum, name.casefold())) in ("lwicontexts", "lwicontext"):
            return (
                f"the token has no lwicontexts claim but has {name!r}: Omnichannel reads "
                "the claim named exactly lwicontexts, so its context is not read"
            )
    top_level = [variable.name for variable in declared if variable.name in claims]
    if top_level:
        return (
            f"the token carries {', '.join(top_level)} as top-level claims: Omnichannel reads "
            "context variables only from inside lwicontexts, a JSON string"
        )
    return None


def parse_lwicontexts(claim: object) -> dict[str, Primitive | None] | ContextRefusal:
    """Check the ``lwicontexts`` claim and return its key/values.

    The documentation asks for "the serialized custom context": a JSON string
    of an object whose values are primitives. Anything else makes the token
    invalid (code 4), as do the documented limits.
    """
    if not isinstance(claim, str):
        return ContextRefusal(
            f"lwicontexts must be a JSON-serialised string, got {_describe(claim)} "
            "(serialise the context object with JSON.stringify / json.dumps)"
        )
    try:
        parsed = json_value(claim)
    except NotJson as exc:
        return ContextRefusal(f"lwicontexts is not valid JSON: {exc.problem} is not a JSON value")
    except ValueError as exc:
        if not claim.strip():
            return ContextRefusal(
                'lwicontexts is an empty string; it must hold a JSON object ("{}" for none)'
            )
        if claim.startswith("\ufeff"):
            return ContextRefusal(
                "lwicontexts starts with a byte order mark (U+FEFF), which JSON text does not"
            )
        return ContextRefusal(f"lwicontexts is not valid JSON: {exc}")
    except RecursionError:
        return ContextRefusal("lwicontexts is not valid JSON here: nested too deeply to parse")
    if not isinstance(parsed, dict):
        return ContextRefusal(
            f"lwicontexts must serialise a JSON object of key/values, got {_describe(parsed)}"
        )
    if len(parsed) > MAX_VARIABLES:
        return ContextRefusal(
            f"lwicontexts has {len(parsed)} keys; at most {MAX_VARIABLES} context "
            "variables are allowed per session"
        )
    for key, value in parsed.items():
        if not _is_unicode(key) or (isinstance(value, str) and not _is_unicode(value)):
            return ContextRefusal(
                f"lwicontexts[{key!r}] holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape "
                "without its pair); that is not Unicode text and has no UTF-8 form"
            )
        if javascript_length(key) > MAX_NAME_LENGTH:
            return ContextRefusal(
                f"lwicontexts key {key[:20]!r}... is {javascript_length(key)} characters; "
                f"the limit is {MAX_NAME_LENGTH}"
            )
        if value is None:
            continue  # null is a primitive too: the entry carries no value and is dropped
        if not _is_primitive(value):
            # A number that is no finite double is of the right kind: saying "only primitive
            # values" of it would read as a contradiction.
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            rule = (
                "a number must be one a double holds, finite, as JavaScript reads it"
                if numeric
                else "only primitive values (string, number, boolean, null) are allowed"
            )
            return ContextRefusal(f"lwicontexts[{key!r}] is {_describe(value)}; {rule}")
        if javascript_length(javascript_text(value)) > MAX_VALUE_LENGTH:
            return ContextRefusal(
                f"lwicontexts[{key!r}] is {javascript_length(javascript_text(value))} characters; "
                f"the limit is {MAX_VALUE_LENGTH}"
            )
    return parsed


# ASCII digits only: JavaScript's Number("١٢٣") is NaN, where Python's \d and int() take it.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_MAX_SAFE_INTEGER = 2**53 - 1


def _js_number_text(value: float) -> str:
    """``String(value)`` for a finite JavaScript number (ECMAScript Number::toString)."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that read back as the same double, as JavaScript does.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    shown = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{shown}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def _as_javascript_number(value: int | float) -> int | float:
    # Every JavaScript number is a double: an integer past 2**53 is held rounded, as it is.
    if isinstance(value, int) and abs(value) > _MAX_SAFE_INTEGER:
        return float(value)
    return value


def javascript_text(value: Primitive) -> str:
    """``value`` as JavaScript's ``String()`` shows it, since the page is JavaScript."""
    if type(value) is str:  # the usual case first
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int) and abs(value) <= _MAX_SAFE_INTEGER:
        return str(value)
    # Every JavaScript number is a double: a larger integer is one too, and shows as one.
    return _js_number_text(float(value))


def coerce(value: Primitive, to: VariableType) -> Primitive:
    """Coerce ``value`` to the declared type or raise :class:`ValueError` saying why."""
    if to is VariableType.TEXT:
        return javascript_text(value)
    if to is VariableType.NUMBER:
        if isinstance(value, bool):
            raise ValueError(f"{javascript_text(value)} is a boolean, not a number")
        if isinstance(value, int | float):
            return _as_javascript_number(value)
        text = value.strip()
        if _INTEGER.fullmatch(text):
            whole = int(text)
            if _beyond_a_double(whole):
                raise ValueError(
                    f"{value[:20]!r}... is beyond the largest number (it would be Infinity)"
                )
            return _as_javascript_number(whole)
        if _NUMBER.fullmatch(text):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(f"{value!r} is beyond the largest number (it would be Infinity)")
            return number
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not a boolean (expected true or false)")


def _unwrap(raw: object) -> tuple[object, bool, str | None]:
    """Split a custom context entry into (value, is_displayable, problem)."""
    if isinstance(raw, str | int | float | None):  # the usual case, spared the Mapping ABC
        return raw, False, None
    if isinstance(raw, Mapping):
        keys = {key.lower(): key for key in raw if isinstance(key, str)}
        if "value" not in keys:
            return None, False, ("an object entry needs a 'value' field ({value, isDisplayable})")
        displayable = raw.get(keys["isdisplayable"], False) if "isdisplayable" in keys else False
        return raw[keys["value"]], bool(displayable), None
    return raw, False, None


def resolve_context(
    raw: Mapping[str, object],
    declared: Iterable[ContextVariable],
) -> ContextResolution:
    """Type ``raw`` context against the ``declared`` work stream variables.

    ``raw`` is what the page sent: the parsed ``lwicontexts`` claim, or a
    custom context whose entries are bare primitives or ``{value,
    isDisplayable}`` objects. Keys are case-sensitive and must match exactly.
    """
    by_name = {variable.name: variable for variable in declared}
    kept: list[ResolvedVariable] = []
    dropped: list[DroppedContext] = []
    for key, entry in raw.items():
        if not isinstance(key, str) or not key:
            dropped.append(DroppedContext(str(key), "a context key must be a non-empty string"))
            continue
        if javascript_length(key) > MAX_NAME_LENGTH:
            dropped.append(
                DroppedContext(
                    key,
                    f"name is {javascript_length(key)} characters; the limit is {MAX_NAME_LENGTH}",
                )
            )
            continue
        value, displayable, problem = _unwrap(entry)
        if problem:
            dropped.append(DroppedContext(key, problem))
            continue
        if value is None or value == "":
            # omnichannel-chat-sdk deletes such custom context entries before the request; a
            # null in lwicontexts carries no value either.
            dropped.append(DroppedContext(key, "value is null or empty, so no variable is set"))
            continue
        if not _is_primitive(value):
            dropped.append(
                DroppedContext(
                    key, f"value is {_describe(value)}; only string, number or boolean is allowed"
                )
            )
            continue
        assert isinstance(value, str | int | float | bool)
        if javascript_length(javascript_text(value)) > MAX_VALUE_LENGTH:
            dropped.append(
                DroppedContext(
                    key,
                    f"value is {javascript_length(javascript_text(value))} characters; "
                    f"the limit is {MAX_VALUE_LENGTH}",
                )
            )
            continue
        if len(kept) >= MAX_VARIABLES:
            dropped.append(
                DroppedContext(
                    key, f"over the limit of {MAX_VARIABLES} context variables per session"
                )
            )
            continue
        variable = by_name.get(key)
        if variable is None:
            kept.append(
                ResolvedVariable(
                    key, javascript_text(value), VariableType.TEXT, displayable, created=True
                )
            )
            continue
        try:
            typed = coerce(value, variable.type)
        except ValueError as exc:
            dropped.append(DroppedContext(key, f"declared {variable.type.value}: {exc}"))
            continue
        kept.append(ResolvedVariable(key, typed, variable.type, displayable))
    return ContextResolution(tuple(kept), tuple(dropped))
