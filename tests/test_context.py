"""Context rules: lwicontexts parsing, coercion to declared types, drops, creation, limits."""

from __future__ import annotations

import json

import pytest

from lcw_emulator.context import (
    MAX_VALUE_LENGTH,
    ContextRefusal,
    ContextVariable,
    VariableType,
    coerce,
    parse_lwicontexts,
    resolve_context,
)

DECLARED = (
    ContextVariable("msdyn_cartvalue", VariableType.NUMBER),
    ContextVariable("msdyn_isvip", VariableType.BOOLEAN),
    ContextVariable("msdyn_page", VariableType.TEXT),
)


@pytest.mark.parametrize(
    ("value", "to", "expected"),
    [
        ("10000", VariableType.NUMBER, 10000),
        (" 42 ", VariableType.NUMBER, 42),
        ("-3.5", VariableType.NUMBER, -3.5),
        ("1e3", VariableType.NUMBER, 1000.0),
        # Past 2**53 a JavaScript number is a rounded double, and so is the typed value.
        ("12345678901234567890", VariableType.NUMBER, 12345678901234567890.0),
        (2**53 + 1, VariableType.NUMBER, float(2**53)),
        (7, VariableType.NUMBER, 7),
        (2.5, VariableType.NUMBER, 2.5),
        ("false", VariableType.BOOLEAN, False),
        ("TRUE", VariableType.BOOLEAN, True),
        (True, VariableType.BOOLEAN, True),
        (True, VariableType.TEXT, "true"),
        (10000, VariableType.TEXT, "10000"),
        (10.0, VariableType.TEXT, "10"),
        (0.5, VariableType.TEXT, "0.5"),
        ("cart", VariableType.TEXT, "cart"),
        # Text is what JavaScript's String() shows (values checked against Node 20).
        (0.00001, VariableType.TEXT, "0.00001"),
        (0.000001, VariableType.TEXT, "0.000001"),
        (1e-7, VariableType.TEXT, "1e-7"),
        (-1.23e-18, VariableType.TEXT, "-1.23e-18"),
        (1e20, VariableType.TEXT, "100000000000000000000"),
        (1e21, VariableType.TEXT, "1e+21"),
        (1.5e300, VariableType.TEXT, "1.5e+300"),
        (0.1 + 0.2, VariableType.TEXT, "0.30000000000000004"),
        (-0.0, VariableType.TEXT, "0"),
        (2**53 + 1, VariableType.TEXT, "9007199254740992"),  # every JS number is a double
        (12345678901234567890123, VariableType.TEXT, "1.2345678901234568e+22"),
    ],
)
def test_coerce_to_declared_type(value: object, to: VariableType, expected: object) -> None:
    result = coerce(value, to)  # type: ignore[arg-type]
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "to", "why"),
    [
        ("abc", VariableType.NUMBER, "not a number"),
        ("NaN", VariableType.NUMBER, "not a number"),
        ("Infinity", VariableType.NUMBER, "not a number"),
        ("1e400", VariableType.NUMBER, "beyond the largest number"),
        ("-1e400", VariableType.NUMBER, "beyond the largest number"),
        ("\u0661\u0660\u0660", VariableType.NUMBER, "not a number"),  # Arabic-Indic: NaN in JS
        ("\uff11\uff12\uff13", VariableType.NUMBER, "not a number"),  # full-width: NaN in JS
        ("", VariableType.NUMBER, "not a number"),
        (True, VariableType.NUMBER, "boolean, not a number"),
        ("yes", VariableType.BOOLEAN, "not a boolean"),
        (1, VariableType.BOOLEAN, "not a boolean"),
    ],
)
def test_coerce_refuses_with_reason(value: object, to: VariableType, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        coerce(value, to)  # type: ignore[arg-type]


def test_documented_sample_resolves_typed() -> None:
    parsed = parse_lwicontexts('{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}')
    assert not isinstance(parsed, ContextRefusal)
    resolution = resolve_context(parsed, DECLARED)
    assert resolution.values == {"msdyn_cartvalue": 10000, "msdyn_isvip": False}
    assert resolution.dropped == ()
    assert resolution.created == ()


def test_uncoercible_value_is_dropped_with_reason_and_the_rest_kept() -> None:
    resolution = resolve_context({"msdyn_cartvalue": "lots", "msdyn_isvip": "true"}, DECLARED)
    assert resolution.values == {"msdyn_isvip": True}
    [dropped] = resolution.dropped
    assert dropped.key == "msdyn_cartvalue"
    assert "declared Number" in dropped.reason
    assert "'lots' is not a number" in dropped.reason


@pytest.mark.parametrize("text", ["0x1A", "0b11", "0o17", "  ", "1_000", "١٢"])
def test_number_text_is_decimal_as_json_is(text: str) -> None:
    # JavaScript's Number() reads hex, binary, octal and blank text; the service types the
    # page's text as decimal, as a number's JSON would be written (the README says so).
    resolution = resolve_context({"msdyn_cartvalue": text}, DECLARED)
    assert resolution.values == {}
    [dropped] = resolution.dropped
    assert f"{text!r} is not a number" in dropped.reason


def test_unknown_key_is_created_as_text() -> None:
    resolution = resolve_context({"Page": 3, "msdyn_page": "checkout"}, DECLARED)
    assert resolution.values == {"Page": "3", "msdyn_page": "checkout"}
    assert resolution.created == ("Page",)
    assert resolution.variables[0].type is VariableType.TEXT


def test_keys_are_case_sensitive() -> None:
    resolution = resolve_context({"MSDYN_CARTVALUE": "abc"}, DECLARED)
    # not the declared Number: created as Text, so "abc" survives
    assert resolution.values == {"MSDYN_CARTVALUE": "abc"}
    assert resolution.created == ("MSDYN_CARTVALUE",)


def test_custom_context_object_form_and_displayable() -> None:
    resolution = resolve_context(
        {
            "msdyn_cartvalue": {"value": "250", "isDisplayable": True},
            "msdyn_isvip": {"Value": False, "IsDisplayable": False},
            "msdyn_page": "home",
        },
        DECLARED,
    )
    assert resolution.values == {"msdyn_cartvalue": 250, "msdyn_isvip": False, "msdyn_page": "home"}
    displayable = {v.name: v.is_displayable for v in resolution.variables}
    assert displayable == {"msdyn_cartvalue": True, "msdyn_isvip": False, "msdyn_page": False}


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"isDisplayable": True}, "needs a 'value' field"),
        (None, "null or empty"),
        ("", "null or empty"),
        ({"value": None}, "null or empty"),
        ([1, 2], "an array"),
        ({"value": {"nested": 1}}, "an object"),
        ("x" * (MAX_VALUE_LENGTH + 1), "4001 characters; the limit is 4000"),
    ],
)
def test_custom_context_entries_that_are_dropped(entry: object, why: str) -> None:
    resolution = resolve_context({"msdyn_page": entry}, DECLARED)
    assert resolution.values == {}
    [dropped] = resolution.dropped
    assert why in dropped.reason


def test_name_over_100_characters_is_dropped() -> None:
    long_name = "k" * 101
    resolution = resolve_context({long_name: "v", "ok": "v"}, DECLARED)
    assert resolution.values == {"ok": "v"}
    assert "101 characters; the limit is 100" in resolution.dropped[0].reason


def test_more_than_100_variables_keeps_the_first_100() -> None:
    raw = {f"key{i:03d}": i for i in range(105)}
    resolution = resolve_context(raw, DECLARED)
    assert len(resolution.values) == 100
    assert [d.key for d in resolution.dropped] == [f"key{i:03d}" for i in range(100, 105)]
    assert "limit of 100 context variables" in resolution.dropped[0].reason


@pytest.mark.parametrize(
    ("claim", "why"),
    [
        ({"msdyn_cartvalue": "1"}, "must be a JSON-serialised string, got an object"),
        (42, "got a number"),
        ("{not json", "not valid JSON"),
        ('["a", "b"]', "got an array"),
        ('"text"', "got a string"),
        ('{"a": {"b": 1}}', "lwicontexts['a'] is an object"),
        ('{"a": [1]}', "lwicontexts['a'] is an array"),
        (json.dumps({f"k{i}": i for i in range(101)}), "101 keys; at most 100"),
        (json.dumps({"k" * 101: 1}), "101 characters; the limit is 100"),
        (json.dumps({"k": "v" * 4001}), "4001 characters; the limit is 4000"),
    ],
)
def test_lwicontexts_refusals(claim: object, why: str) -> None:
    refusal = parse_lwicontexts(claim)
    assert isinstance(refusal, ContextRefusal)
    assert why in refusal.reason


def test_a_null_in_lwicontexts_is_dropped_not_refused() -> None:
    # null is one of JSON's primitives: the token stands and the entry sets no variable.
    parsed = parse_lwicontexts('{"msdyn_cartvalue": "10000", "msdyn_coupon": null}')
    assert parsed == {"msdyn_cartvalue": "10000", "msdyn_coupon": None}
    resolution = resolve_context(parsed, DECLARED)
    assert "msdyn_coupon" not in resolution.values
    assert [item.key for item in resolution.dropped] == ["msdyn_coupon"]
    assert "null or empty" in resolution.dropped[0].reason


def test_a_number_beyond_a_double_is_refused_not_a_crash() -> None:
    # JavaScript reads such a literal as Infinity, which JSON cannot carry.
    refusal = parse_lwicontexts(json.dumps({"a": 10**400}))
    assert isinstance(refusal, ContextRefusal)
    assert "a number beyond a double" in refusal.reason
    # Of the right kind, only too large: the rule it breaks is said, not "only primitives".
    assert refusal.reason.endswith(
        "a number must be one a double holds, finite, as JavaScript reads it"
    )
    assert "only primitive" not in refusal.reason
    dropped = resolve_context({"a": 10**400}, DECLARED).dropped
    assert [item.key for item in dropped] == ["a"] and "beyond a double" in dropped[0].reason
    assert coerce(10**300, VariableType.TEXT) == "1e+300"


def test_limits_count_characters_as_javascript_does() -> None:
    # UTF-16 code units: an emoji is two, so 2,001 of them pass the 4,000 limit.
    emoji = "\U0001f600"
    refusal = parse_lwicontexts(json.dumps({"a": emoji * 2001}))
    assert isinstance(refusal, ContextRefusal)
    assert "is 4002 characters; the limit is 4000" in refusal.reason
    assert parse_lwicontexts(json.dumps({"a": emoji * 2000})) == {"a": emoji * 2000}
    dropped = resolve_context({emoji * 51: "x"}, DECLARED).dropped
    assert "name is 102 characters; the limit is 100" in dropped[0].reason


def test_numbers_javascript_reads_as_infinity_are_dropped_whatever_their_form() -> None:
    for text in ("1e400", "1" + "0" * 400):
        with pytest.raises(ValueError, match="beyond the largest number"):
            coerce(text, VariableType.NUMBER)
    # Past 4,300 digits Python will not even print the integer: still a reason, not a crash.
    dropped = resolve_context({"n": 10**5000}, DECLARED).dropped
    assert [item.key for item in dropped] == ["n"] and "beyond a double" in dropped[0].reason


def test_an_integer_that_rounds_past_the_largest_double_is_refused() -> None:
    refusal = parse_lwicontexts(json.dumps({"a": 2**1024 - 1}))
    assert isinstance(refusal, ContextRefusal) and "beyond a double" in refusal.reason
    assert resolve_context({"a": 2**1024 - 1}, DECLARED).dropped[0].key == "a"


def test_lwicontexts_accepts_primitive_values() -> None:
    parsed = parse_lwicontexts('{"a": "x", "b": 1, "c": 2.5, "d": true}')
    assert parsed == {"a": "x", "b": 1, "c": 2.5, "d": True}


def test_variable_type_parse_and_limits() -> None:
    assert VariableType.parse("number") is VariableType.NUMBER
    with pytest.raises(ValueError, match="expected Text, Number, Boolean"):
        VariableType.parse("Date")
    with pytest.raises(ValueError, match="the limit is 100"):
        ContextVariable("x" * 101)
