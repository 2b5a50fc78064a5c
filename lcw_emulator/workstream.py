"""Work streams: what an admin configures in Omnichannel, as values.

A :class:`WorkStream` holds its context variables, chat authentication
settings, queues and routing rules. It is built in code or loaded from a TOML
file (see :meth:`WorkStream.from_toml`); every problem with a file is a
:class:`~lcw_emulator.errors.ConfigurationError` naming the file and the key.
"""

from __future__ import annotations

import decimal
import difflib
import fractions
import json
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .auth import (
    DEFAULT_MAX_TOKEN_BYTES,
    DEFAULT_PROVIDER_TIMEOUT,
    ChatAuthSettings,
    PublicKey,
    load_public_keys,
)
from .clock import finite_seconds
from .context import (
    MAX_VALUE_LENGTH,
    ContextVariable,
    Primitive,
    VariableType,
    javascript_length,
    javascript_text,
)
from .errors import ConfigurationError, whole_number, wrong_type
from .events import json_kind, typed_equal
from .files import UnreadableFile, read_text, shown_path

__all__ = ["Queue", "RoutingRule", "WorkStream", "read_toml", "unknown_keys"]


def unknown_keys(table: Mapping[str, Any], allowed: set[str]) -> str | None:
    """``unknown key 'x' (known: a, b)`` when ``table`` has keys outside ``allowed``."""
    unknown = sorted(set(table) - allowed)
    if not unknown:
        return None
    known = ", ".join(sorted(allowed)) or "none"
    named = ", ".join(repr(key) + _key_hint(key, allowed) for key in unknown)
    return f"unknown key {named} (known: {known})"


def _key_hint(key: str, allowed: set[str]) -> str:
    # The slips people make: the SDK's JavaScript spelling (customContext), or a typo.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    close = [snake] if snake in allowed else difflib.get_close_matches(key, sorted(allowed), n=1)
    # errorCode for code: the name a JavaScript reader knows, around the key meant.
    close = close or [name for name in sorted(allowed) if len(name) > 2 and name in snake]
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_toml(file: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file, or raise :class:`ConfigurationError` naming it and what is wrong."""
    source = shown_path(file)
    try:
        # utf-8-sig: a byte order mark (Windows Notepad's "UTF-8 with BOM") is no TOML.
        return tomllib.loads(read_text(file, "utf-8-sig"))
    except UnreadableFile as exc:
        raise ConfigurationError(f"cannot read {what} file: {exc.reason}", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"not valid TOML: {exc}", source=source) from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ConfigurationError(
            "not valid TOML here: arrays or tables nested hundreds deep", source=source
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError("not UTF-8 text", source=source) from None


# Converters: any number float() or operator.index takes is kept as the float or int it
# stands for (a Decimal would reach getAgentAvailability's JSON as it is).


def _agents_available(value: int) -> int:
    return whole_number(value, "a queue's agents_available")


def _wait_minutes(value: float) -> float:
    return finite_seconds(value, "a queue's average_wait_minutes", unit="minutes")


@attrs.frozen
class Queue:
    """A queue behind the work stream, with what getAgentAvailability reports of it."""

    name: str = "Default"
    agents_available: int = attrs.field(default=1, converter=_agents_available)
    is_open: bool = True  # inside operating hours
    average_wait_minutes: float = attrs.field(default=0.0, converter=_wait_minutes)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise wrong_type("a queue's name", "a string", self.name)
        where = f"queue {self.name!r}"
        if not isinstance(self.is_open, bool):
            raise wrong_type(f"{where}: is_open", "True or False", self.is_open)
        for key, value in (
            ("agents_available", self.agents_available),
            ("average_wait_minutes", self.average_wait_minutes),
        ):
            if value < 0:
                raise ValueError(f"{where}: {key} cannot be negative, got {value}")

    @property
    def queue_id(self) -> str:
        """The ``queueId`` getAgentAvailability reports: the name lower-cased, spaces as hyphens."""
        return self.name.lower().replace(" ", "-")


@attrs.frozen
class RoutingRule:
    """Send a chat to ``queue`` when context variable ``variable`` equals ``equals``."""

    variable: str
    equals: Primitive
    queue: str

    def __attrs_post_init__(self) -> None:
        for key in ("variable", "queue"):
            if not isinstance(getattr(self, key), str):
                raise wrong_type(f"a routing rule's {key}", "a string", getattr(self, key))
        if not isinstance(self.equals, str | int | float | bool):
            raise wrong_type("a routing rule's equals", "a string, number or boolean", self.equals)

    def applies(self, context: Mapping[str, Primitive]) -> bool:
        """True when ``context`` has ``variable`` typed-equal to ``equals`` (``true`` is not 1)."""
        if self.variable not in context:
            return False
        # Typed: true is not 1, but 10000 is 10000.0, as JavaScript has one number type.
        return typed_equal(context[self.variable], self.equals)


_TOML_KINDS: dict[object, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    (int, float): "a number",
}


def _toml_kind(value: object) -> str:
    """``value``'s type as TOML names it (a TOML table reads as a dict)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, Mapping):
        return "a table"
    return "an array" if isinstance(value, list) else type(value).__name__


def _value_never_kept(equals: Primitive, variable: str) -> str | None:
    # Values of the right type that no chat keeps: dropped, or the token refused.
    if equals == "":
        return f"{variable} is never set to an empty value (it is dropped: no variable is set)"
    if isinstance(equals, float) and not math.isfinite(equals):
        return f"{variable} is never set to {equals} (a number past a double is dropped)"
    if isinstance(equals, str) and javascript_length(equals) > MAX_VALUE_LENGTH:
        return (
            f"{variable} is never set to a value over {MAX_VALUE_LENGTH} characters "
            "(such a value makes the token or context invalid)"
        )
    return None


def _example(kind: VariableType, equals: Primitive) -> str:
    """The rule's value written as ``kind`` takes it, when it reads as one; else a sample."""
    if kind is VariableType.TEXT:
        return f"equals = {json.dumps(javascript_text(equals))}"
    text = str(equals).strip()
    if kind is VariableType.NUMBER:
        try:
            number = float(text)
        except ValueError:
            return "equals = 5"
        return f"equals = {javascript_text(number)}" if math.isfinite(number) else "equals = 5"
    return f"equals = {text.lower()}" if text.lower() in ("true", "false") else "equals = true"


def _default_queues() -> tuple[Queue, ...]:
    return (Queue(),)


def _tuple_of(values: Iterable[Any], kind: type, what: str) -> tuple[Any, ...]:
    # A list is taken as the tuple it stands for; a lone value or a string is a mistake.
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise wrong_type(what, f"a tuple of {kind.__name__} values", values)
    items = tuple(values)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise wrong_type(f"{what}[{index}]", f"a {kind.__name__}", item)
    return items


def _variables(values: Iterable[ContextVariable]) -> tuple[ContextVariable, ...]:
    return _tuple_of(values, ContextVariable, "context_variables")


def _queues(values: Iterable[Queue]) -> tuple[Queue, ...]:
    return _tuple_of(values, Queue, "queues")


def _rules(values: Iterable[RoutingRule]) -> tuple[RoutingRule, ...]:
    return _tuple_of(values, RoutingRule, "routing_rules")


@attrs.frozen
class WorkStream:
    """A live chat work stream: variables, authentication, queues and routing."""

    name: str
    context_variables: tuple[ContextVariable, ...] = attrs.field(default=(), converter=_variables)
    auth: ChatAuthSettings | None = None
    queues: tuple[Queue, ...] = attrs.field(factory=_default_queues, converter=_queues)
    routing_rules: tuple[RoutingRule, ...] = attrs.field(default=(), converter=_rules)
    source: str | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise wrong_type("a work stream's name", "a string", self.name)
        if self.auth is not None and not isinstance(self.auth, ChatAuthSettings):
            raise wrong_type(
                "auth", "a ChatAuthSettings (or None for no authentication)", self.auth
            )
        if not self.queues:
            raise ValueError("a work stream needs at least one queue")
        names = [variable.name for variable in self.context_variables]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"context variable declared twice: {', '.join(repeated)}")
        ids = [queue.queue_id for queue in self.queues]
        repeated = sorted({q.name for q in self.queues if ids.count(q.queue_id) > 1})
        if repeated:
            # Routing and getAgentAvailability tell queues apart by name and queueId.
            raise ValueError(f"queues with the same name or queueId: {', '.join(repeated)}")
        queue_names = {queue.name for queue in self.queues}
        for index, rule in enumerate(self.routing_rules):
            if rule.queue not in queue_names:
                raise ValueError(
                    f"routing_rules[{index}] sends to unknown queue {rule.queue!r} "
                    f"(queues: {', '.join(repr(queue.name) for queue in self.queues)})"
                )
            dead = self._never_matches(rule)
            if dead is not None:
                raise ValueError(f"routing_rules[{index}] can never match: {dead}")

    def _never_matches(self, rule: RoutingRule) -> str | None:
        # Rules compare typed, so a rule whose value the variable's type never takes is dead;
        # an undeclared variable arrives as Text (created at run time).
        declared = self.variable(rule.variable)
        kind = declared.type if declared is not None else VariableType.TEXT
        equals = rule.equals
        if kind is VariableType.BOOLEAN:
            fits = isinstance(equals, bool)
        elif kind is VariableType.NUMBER:
            fits = isinstance(equals, int | float) and not isinstance(equals, bool)
        else:
            fits = isinstance(equals, str)
        if fits:
            return _value_never_kept(equals, rule.variable)
        what = "declared" if declared is not None else "undeclared, so created at run time as"
        shown = json.dumps(equals)
        return (
            f"{rule.variable} is {what} {kind.value}, and equals = {shown} is "
            f"{json_kind(equals)}: rules compare typed ({_example(kind, equals)})"
        )

    @property
    def requires_authentication(self) -> bool:
        """True when chat authentication is set (``[auth]``): a chat start needs a token."""
        return self.auth is not None

    def variable(self, name: str) -> ContextVariable | None:
        """The declared context variable named exactly ``name`` (case-sensitive), or ``None``."""
        return next((v for v in self.context_variables if v.name == name), None)

    def route(self, context: Mapping[str, Primitive]) -> Queue:
        """The queue a chat with this typed context lands in (first rule wins)."""
        for rule in self.routing_rules:
            if rule.applies(context):
                return next(queue for queue in self.queues if queue.name == rule.queue)
        return self.queues[0]

    def queue(self, name: str) -> Queue:
        """The queue named exactly ``name``; raises :class:`KeyError` when there is none."""
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(name)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> WorkStream:
        """Load a work stream file; key files are found relative to it."""
        if not isinstance(path, str | os.PathLike):
            raise wrong_type("a work stream file's path", "a path", path)
        if not os.fspath(path):
            # Path("") is the current directory, which would be refused as one.
            raise ValueError("an empty path names no work stream file")
        file = Path(path)
        data = read_toml(file, "work stream")
        return cls.from_dict(data, base_dir=file.parent, source=str(file))

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        base_dir: str | Path = ".",
        source: str | None = None,
    ) -> WorkStream:
        """Build a work stream from the TOML file's structure (already parsed)."""
        reader = _Reader(Path(base_dir), source)
        try:
            return reader.work_stream(data)
        except ConfigurationError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(str(exc), source=source) from None


_TOP_KEYS = {"name", "auth", "context_variables", "queue", "queues", "routing_rules"}
_AUTH_KEYS = {
    "algorithms",
    "public_key",
    "public_key_url",
    "secret",
    "issuer",
    "leeway",
    "timeout",
    "max_token_bytes",
}
_QUEUE_KEYS = {"name", "agents_available", "is_open", "average_wait_minutes"}


def _plain_number(value: decimal.Decimal | fractions.Fraction, *, whole: bool = False) -> Any:
    """A Decimal or a Fraction (a mapping built in Python) as the int or float it stands for."""
    finite = not isinstance(value, decimal.Decimal) or value.is_finite()
    if whole and finite and value == int(value):
        return int(value)
    try:
        return float(value)  # a count that is not whole is then refused as the number it is
    except OverflowError:  # a Fraction past a double
        return math.inf if value > 0 else -math.inf
    except ValueError:  # a signaling NaN
        return math.nan


class _Reader:
    def __init__(self, base_dir: Path, source: str | None) -> None:
        self.base_dir = base_dir
        self.source = source

    def fail(self, reason: str) -> ConfigurationError:
        return ConfigurationError(reason, source=self.source)

    def table(self, value: object, where: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"{where} must be a table")
        problem = unknown_keys(value, allowed)
        if problem:
            raise self.fail(f"{where}: {problem}")
        # TOML has no null; a mapping built in Python says "not given" with None.
        return {key: item for key, item in value.items() if item is not None}

    def typed(
        self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str
    ) -> Any:
        value = table[key]
        if isinstance(value, os.PathLike) and key == "public_key":
            value = os.fspath(value)  # a key file's path, built in Python
        if isinstance(value, decimal.Decimal | fractions.Fraction) and kind in (int, (int, float)):
            value = _plain_number(value, whole=kind is int)
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(f"{where}.{key} must be a number, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(
                f"{where}.{key} must be {_TOML_KINDS.get(kind, 'of another type')}, "
                f"got {_toml_kind(value)}"
            )
        if isinstance(value, float) and not math.isfinite(value):  # TOML has nan and inf
            raise self.fail(f"{where}.{key} must be a finite number, got {value}")
        return value

    def work_stream(self, data: Mapping[str, Any]) -> WorkStream:
        if isinstance(data, Mapping) and "steps" in data and "workstream" in data:
            raise self.fail(
                "this looks like a scenario file, not a work stream: it has [[steps]] and a "
                "workstream; run it with lcw-emulator run"
            )
        data = self.table(data, "work stream", _TOP_KEYS)
        if "name" not in data:
            raise self.fail("a work stream needs a name")
        name = self.typed(data, "name", str, "work stream")
        variables = tuple(
            self.variable(entry, i) for i, entry in enumerate(self.array(data, "context_variables"))
        )
        auth = self.auth(data["auth"]) if "auth" in data else None
        if "queue" in data and "queues" in data:
            raise self.fail("give either [queue] or [[queues]], not both")
        raw_queues = [data["queue"]] if "queue" in data else self.array(data, "queues")
        queues = (
            tuple(
                self.queue(entry, "[queue]" if "queue" in data else f"queues[{i}]")
                for i, entry in enumerate(raw_queues)
            )
            or _default_queues()
        )
        rules = tuple(
            self.routing_rule(entry, i) for i, entry in enumerate(self.array(data, "routing_rules"))
        )
        return WorkStream(name, variables, auth, queues, rules, source=self.source)

    def array(self, data: Mapping[str, Any], key: str) -> list[Any]:
        value = data.get(key, [])
        if isinstance(value, tuple):  # a mapping built in Python
            value = list(value)
        if not isinstance(value, list):
            raise self.fail(f"{key} must be an array of tables ([[{key}]])")
        return value

    def variable(self, entry: object, index: int) -> ContextVariable:
        where = f"context_variables[{index}]"
        table = self.table(entry, where, {"name", "type"})
        if "name" not in table:
            raise self.fail(f"{where} needs a name")
        kind = self.typed(table, "type", str, where) if "type" in table else "Text"
        try:
            return ContextVariable(self.typed(table, "name", str, where), VariableType.parse(kind))
        except ValueError as exc:
            raise self.fail(f"{where}: {exc}") from None

    def queue(self, entry: object, where: str) -> Queue:
        table = self.table(entry, where, _QUEUE_KEYS)
        for key in ("agents_available", "average_wait_minutes"):
            if key in table and isinstance(table[key], int | float) and table[key] < 0:
                raise self.fail(f"{where}.{key} cannot be negative, got {table[key]}")
        return Queue(
            name=self.typed(table, "name", str, where) if "name" in table else "Default",
            agents_available=self.typed(table, "agents_available", int, where)
            if "agents_available" in table
            else 1,
            is_open=self.typed(table, "is_open", bool, where) if "is_open" in table else True,
            average_wait_minutes=float(
                self.typed(table, "average_wait_minutes", (int, float), where)
            )
            if "average_wait_minutes" in table
            else 0.0,
        )

    def routing_rule(self, entry: object, index: int) -> RoutingRule:
        where = f"routing_rules[{index}]"
        table = self.table(entry, where, {"variable", "equals", "queue"})
        missing = sorted({"variable", "equals", "queue"} - set(table))
        if missing:
            raise self.fail(f"{where} needs {', '.join(missing)}")
        equals = table["equals"]
        if isinstance(equals, decimal.Decimal | fractions.Fraction):
            equals = _plain_number(equals)
        if not isinstance(equals, str | int | float | bool):
            raise self.fail(f"{where}.equals must be a string, number or boolean")
        return RoutingRule(
            self.typed(table, "variable", str, where),
            equals,
            self.typed(table, "queue", str, where),
        )

    def auth(self, entry: object) -> ChatAuthSettings:
        table = self.table(entry, "[auth]", _AUTH_KEYS)
        algorithms = table.get("algorithms", ["RS256"])
        if isinstance(algorithms, tuple):  # a mapping built in Python
            algorithms = list(algorithms)
        if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
            raise self.fail('[auth].algorithms must be a list of strings, like ["RS256"]')
        if "public_key" in table and "public_key_url" in table:
            # A chat start takes the URL's keys only, so the file's would be silently unused.
            raise self.fail("[auth]: give public_key or public_key_url, not both")
        keys: tuple[PublicKey, ...] = ()
        if "public_key" in table:
            keys = self.public_keys(self.typed(table, "public_key", str, "[auth]"))
        try:
            return ChatAuthSettings(
                algorithms=tuple(algorithms),
                keys=keys,
                secret=self.typed(table, "secret", str, "[auth]") if "secret" in table else None,
                issuer=self.typed(table, "issuer", str, "[auth]") if "issuer" in table else None,
                leeway=float(self.typed(table, "leeway", (int, float), "[auth]"))
                if "leeway" in table
                else 0.0,
                provider_timeout=float(self.typed(table, "timeout", (int, float), "[auth]"))
                if "timeout" in table
                else DEFAULT_PROVIDER_TIMEOUT,
                max_token_bytes=self.typed(table, "max_token_bytes", int, "[auth]")
                if "max_token_bytes" in table
                else DEFAULT_MAX_TOKEN_BYTES,
                public_key_url=self.typed(table, "public_key_url", str, "[auth]")
                if "public_key_url" in table
                else None,
            )
        except ConfigurationError:
            raise  # a field of the wrong type, already saying which
        except ValueError as exc:
            raise self.fail(f"[auth]: {exc}") from None

    def public_keys(self, value: str) -> tuple[PublicKey, ...]:
        if not value.strip():
            raise self.fail(
                "[auth].public_key is empty: name a key file, or give the PEM, key array or "
                "JWKS itself"
            )
        inline = value.lstrip().startswith(("-----BEGIN", "[", "{"))
        if inline:
            text, where = value, "[auth].public_key"
        else:
            path = self.base_dir / value
            try:
                text = read_text(path)
            except UnreadableFile as exc:
                raise self.fail(
                    f"[auth].public_key: cannot read {shown_path(path)}: {exc.reason}"
                ) from None
            except UnicodeDecodeError:
                raise self.fail(
                    f"[auth].public_key: {path} is not PEM or JSON text (it is not UTF-8)"
                ) from None
            where = f"[auth].public_key ({path})"
        try:
            return load_public_keys(text)
        except ValueError as exc:
            raise self.fail(f"{where}: {exc}") from None
