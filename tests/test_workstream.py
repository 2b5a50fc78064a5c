"""Work streams from TOML: every accepted form, and a clear error for every bad one."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from lcw_emulator import (
    ChatAuthSettings,
    ConfigurationError,
    ContextVariable,
    KeyPair,
    Omnichannel,
    VariableType,
    WorkStream,
)
from lcw_emulator.workstream import Queue, RoutingRule

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def write(tmp_path: Path, text: str, name: str = "ws.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_contoso_sample_work_stream(contoso: WorkStream) -> None:
    assert contoso.name == "Contoso help"
    assert [(v.name, v.type) for v in contoso.context_variables] == [
        ("msdyn_cartvalue", VariableType.NUMBER),
        ("msdyn_isvip", VariableType.TEXT),  # the admin UI offers Text or Number
    ]
    assert contoso.auth is not None
    assert contoso.auth.issuer == "contosohelp.com"
    assert contoso.auth.provider_timeout == 10
    assert contoso.requires_authentication
    assert contoso.route({"msdyn_isvip": "true"}).name == "VIP"
    assert contoso.route({"msdyn_isvip": "false"}).name == "General"
    assert contoso.route({"msdyn_isvip": True}).name == "General"  # typed: true is not "true"


def test_routing_on_a_boolean_variable_is_typed() -> None:
    # The emulator's Boolean type (an extension): its rule compares booleans.
    vip_flag = WorkStream.from_dict(
        {
            "name": "VIP flag declared Boolean",
            "context_variables": [{"name": "msdyn_isvip", "type": "Boolean"}],
            "queues": [{"name": "General"}, {"name": "VIP"}],
            "routing_rules": [{"variable": "msdyn_isvip", "equals": True, "queue": "VIP"}],
        }
    )
    assert vip_flag.route({"msdyn_isvip": True}).name == "VIP"
    assert vip_flag.route({"msdyn_isvip": False}).name == "General"
    assert vip_flag.route({"msdyn_isvip": 1}).name == "General"  # typed: 1 is not true


@pytest.mark.parametrize("key_file", ["public.pem", "keys.json", "jwks.json"])
def test_every_public_key_form_loads(key_file: str, tmp_path: Path, demo_keys: KeyPair) -> None:
    key_path = SCENARIOS / "keys" / key_file
    path = write(tmp_path, f'name = "x"\n[auth]\npublic_key = "{key_path}"\n')
    work_stream = WorkStream.from_toml(path)
    assert work_stream.auth is not None
    [key] = work_stream.auth.keys
    assert key.pem == demo_keys.public_pem
    assert key.kid == (None if key_file == "public.pem" else "contoso-2018")


def test_inline_pem_hs256_and_options(tmp_path: Path, demo_keys: KeyPair) -> None:
    inline = write(
        tmp_path,
        f'name = "x"\n[auth]\npublic_key = """{demo_keys.public_pem}"""\n'
        "leeway = 30\ntimeout = 2.5\nmax_token_bytes = 4096\n",
    )
    auth = WorkStream.from_toml(inline).auth
    assert auth is not None and (auth.leeway, auth.provider_timeout) == (30, 2.5)
    assert auth.max_token_bytes == 4096
    hs = write(
        tmp_path, 'name = "x"\n[auth]\nalgorithms = ["HS256"]\nsecret = "s3cret"\n', "hs.toml"
    )
    auth = WorkStream.from_toml(hs).auth
    assert auth is not None and auth.algorithms == ("HS256",) and auth.secret == "s3cret"


def test_single_queue_table_and_defaults(tmp_path: Path) -> None:
    ws = WorkStream.from_toml(write(tmp_path, 'name = "x"\n[queue]\nagents_available = 0\n'))
    assert ws.queues[0].agents_available == 0 and ws.queues[0].name == "Default"
    assert not ws.requires_authentication
    assert WorkStream.from_dict({"name": "y"}).queues[0].name == "Default"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("name = ", "not valid TOML"),
        ("title = 'x'", "unknown key 'title'"),
        ("[auth]\npublic_key='k.pem'", "a work stream needs a name"),
        (
            'name = "x"\n[[context_variables]]\nname = "a"\ntype = "Date"',
            "unknown context variable type 'Date'",
        ),
        ('name = "x"\n[[context_variables]]\ntype = "Text"', "context_variables[0] needs a name"),
        (
            'name = "x"\n[[context_variables]]\nname="a"\n[[context_variables]]\nname="a"',
            "declared twice: a",
        ),
        ('name = "x"\n[auth]\npublic_key = "missing.pem"', "cannot read"),
        ('name = "x"\n[auth]\npublic_key = "[]"', "holds no keys"),
        ('name = "x"\n[auth]\nalgorithms = ["HS256"]', "need a shared secret"),
        ('name = "x"\n[auth]\nalgorithms = "RS256"', "must be a list of strings"),
        (
            'name = "x"\n[auth]\nsecret = "s"\nalgorithms = ["HS256"]\nleeway = -1',
            "leeway cannot be negative",
        ),
        (
            'name = "x"\n[auth]\nsecret = "s"\nalgorithms = ["HS256"]\ntimeout = true',
            "must be a number",
        ),
        # NaN compares false with everything: a NaN leeway would pass every time check.
        (
            'name = "x"\n[auth]\nsecret = "s"\nalgorithms = ["HS256"]\nleeway = nan',
            "[auth].leeway must be a finite number, got nan",
        ),
        (
            'name = "x"\n[auth]\nsecret = "s"\nalgorithms = ["HS256"]\ntimeout = inf',
            "[auth].timeout must be a finite number, got inf",
        ),
        ('name = "x"\n[queue]\naverage_wait_minutes = -nan', "must be a finite number"),
        ('name = "x"\n[queue]\naverage_wait_minutes = -5', "[queue].average_wait_minutes cannot"),
        (
            'name = "x"\n[[queues]]\nname = "a"\n[[queues]]\nname = "b"\nagents_available = -1',
            "queues[1].agents_available cannot be negative, got -1",
        ),
        # Rules compare typed: one whose value the variable never takes is dead, and a
        # scenario routing by it would quietly land in the first queue.
        (
            'name = "x"\n[[context_variables]]\nname = "vip"\ntype = "Text"\n'
            '[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            '[[routing_rules]]\nvariable = "vip"\nequals = true\nqueue = "V"',
            "routing_rules[0] can never match: vip is declared Text, and equals = true is a "
            'boolean: rules compare typed (equals = "true")',
        ),
        (
            'name = "x"\n[[context_variables]]\nname = "n"\ntype = "Number"\n'
            '[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            '[[routing_rules]]\nvariable = "n"\nequals = "5"\nqueue = "V"',
            'routing_rules[0] can never match: n is declared Number, and equals = "5" is a '
            "string: rules compare typed (equals = 5)",
        ),
        (
            'name = "x"\n[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            '[[routing_rules]]\nvariable = "tier"\nequals = 2\nqueue = "V"',
            "tier is undeclared, so created at run time as Text, and equals = 2 is a number",
        ),
        ('name = "x"\n[auth]\nsecrte = "s"', "unknown key 'secrte'"),
        (
            'name = "x"\n[[queues]]\nname = "G"\n'
            '[[routing_rules]]\nvariable = "v"\nequals = "a"\nqueue = "VIP"',
            "routing_rules[0] sends to unknown queue 'VIP' (queues: 'G')",
        ),
        (
            'name = "x"\n[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            '[[routing_rules]]\nvariable = "v"\nequals = ""\nqueue = "V"',
            "routing_rules[0] can never match: v is never set to an empty value",
        ),
        (
            'name = "x"\n[[context_variables]]\nname = "n"\ntype = "Number"\n'
            '[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            '[[routing_rules]]\nvariable = "n"\nequals = inf\nqueue = "V"',
            "routing_rules[0] can never match: n is never set to inf",
        ),
        (
            'name = "x"\n[[queues]]\nname = "G"\n[[queues]]\nname = "V"\n'
            f'[[routing_rules]]\nvariable = "v"\nequals = "{"x" * 4001}"\nqueue = "V"',
            "v is never set to a value over 4000 characters",
        ),
        (
            'name = "x"\n[auth]\nsecret = "s"\nalgorithms = ["HS256"]\ntimeout = "10"',
            '[auth].timeout must be a number, got the string "10"',
        ),
        ('name = "x"\n[queue]\nis_open = "yes"', "[queue].is_open must be true or false"),
        # Settings no token could pass: refused here, not blamed on every token.
        ('name = "x"\n[auth]\npublic_key_url = "https://k"\nissuer = " "', "issuer must name"),
        (
            'name = "x"\n[auth]\npublic_key_url = "https://k"\nmax_token_bytes = 0',
            "max_token_bytes must be above 0, got 0",
        ),
        ('name = "x"\n[auth]\npublic_key_url = ""', "must be an http:// or https:// URL"),
        ('name = "x"\n[auth]\npublic_key_url = "ftp://k"', "must be an http:// or https://"),
        (
            'name = "x"\n[auth]\npublic_key_url = "https://k"\npublic_key = "k.pem"',
            "give public_key or public_key_url, not both",
        ),
        (
            'name = "x"\n[[routing_rules]]\nvariable = "a"\nequals = 1\nqueue = "Nope"',
            "unknown queue 'Nope'",
        ),
        ('name = "x"\n[[routing_rules]]\nvariable = "a"', "needs equals, queue"),
        ('name = "x"\n[queue]\nname="a"\n[[queues]]\nname="b"', "not both"),
        # Routing and getAgentAvailability tell queues apart by name and by queueId.
        ('name = "x"\n[[queues]]\nname="A"\n[[queues]]\nname="A"', "same name or queueId: A"),
        (
            'name = "x"\n[[queues]]\nname="Gold club"\n[[queues]]\nname="gold-club"',
            "same name or queueId: Gold club, gold-club",
        ),
    ],
)
def test_bad_files_say_what_is_wrong(text: str, why: str, tmp_path: Path) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        WorkStream.from_toml(path)
    assert why in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("field", "why"),
    [("secret = 5", "[auth].secret"), ("leeway = inf", "[auth].leeway"), ("issuer = 1", "issuer")],
)
def test_a_field_of_the_wrong_type_names_the_file_once(
    field: str, why: str, tmp_path: Path
) -> None:
    path = write(tmp_path, f'name = "x"\n[auth]\nalgorithms = ["HS256"]\n{field}')
    with pytest.raises(ConfigurationError) as caught:
        WorkStream.from_toml(path)
    message = str(caught.value)
    assert message.count(str(path)) == 1 and why in message, message


def test_settings_in_code_say_what_is_wrong_and_take_any_url_case() -> None:
    with pytest.raises(ValueError, match="issuer must name the issuer"):
        ChatAuthSettings(public_key_url="https://k.example/keys", issuer=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be an http:// or https:// URL, got 5"):
        ChatAuthSettings(public_key_url=5)  # type: ignore[arg-type]
    assert ChatAuthSettings(public_key_url="HTTPS://K.example/keys").public_key_url


HS = {"algorithms": ("HS256",), "secret": "x" * 32}
WRONG_IN_CODE: list[tuple[Callable[[], object], str]] = [
    (lambda: ContextVariable(5), "a context variable's name must be a string, got int 5"),
    (lambda: ContextVariable("v", None), "type must be a VariableType or its name"),
    (lambda: ContextVariable("v", "Numbr"), "unknown context variable type 'Numbr'"),
    (lambda: VariableType.parse(None), "type must be a VariableType or its name"),
    (lambda: Queue(None), "a queue's name must be a string, got NoneType None"),
    (lambda: Queue("G", agents_available="3"), "a queue's agents_available must be a whole"),
    (lambda: Queue("G", agents_available=2.5), "agents_available must be a whole number, got 2.5"),
    (lambda: Queue("G", agents_available=True), "agents_available must be a whole number"),
    (lambda: Queue("G", agents_available=-1), "queue 'G': agents_available cannot be negative"),
    (lambda: Queue("G", is_open="no"), "queue 'G': is_open must be True or False"),
    (lambda: Queue("G", average_wait_minutes=math.nan), "must be a finite number of minutes"),
    (lambda: RoutingRule(None, "x", "G"), "a routing rule's variable must be a string"),
    (lambda: RoutingRule("v", [1], "G"), "equals must be a string, number or boolean"),
    (lambda: WorkStream(None), "a work stream's name must be a string"),
    (lambda: WorkStream("w", auth={"secret": "s"}), "auth must be a ChatAuthSettings"),
    (lambda: WorkStream("w", queues=["General"]), "queues[0] must be a Queue, got str"),
    (lambda: WorkStream("w", queues=Queue("G")), "queues must be a tuple of Queue values"),
    (lambda: WorkStream("w", context_variables="v"), "context_variables must be a tuple of"),
    (lambda: ChatAuthSettings(algorithms="HS256"), "algorithms must be a tuple of algorithm"),
    (lambda: ChatAuthSettings(algorithms=(5,)), "algorithms must be names (strings), got 5"),
    (lambda: ChatAuthSettings(algorithms=("HS256",), secret=5), "secret must be a string"),
    (lambda: ChatAuthSettings(**HS, leeway="5"), "leeway must be a number of seconds, got str"),
    (lambda: ChatAuthSettings(**HS, provider_timeout=None), "provider timeout must be a number"),
    (lambda: ChatAuthSettings(**HS, max_token_bytes=2.5), "max_token_bytes must be a whole"),
]


@pytest.mark.parametrize(("build", "why"), WRONG_IN_CODE)
def test_values_built_in_code_refuse_what_the_files_refuse_naming_it(
    build: Callable[[], object], why: str
) -> None:
    # Refused where the value is built, not met later inside a chat start as an AttributeError.
    with pytest.raises((TypeError, ValueError)) as caught:
        build()
    assert why in str(caught.value)


def test_any_number_python_takes_is_kept_as_the_int_or_float_it_stands_for() -> None:
    # Decimal and Fraction (and numpy's numbers) are numbers, as the clocks take them.
    settings = ChatAuthSettings(
        **HS, leeway=Decimal(5), provider_timeout=Fraction(15, 2), max_token_bytes=8192.0
    )
    assert (settings.leeway, settings.provider_timeout, settings.max_token_bytes) == (5, 7.5, 8192)
    assert type(settings.leeway) is float and type(settings.max_token_bytes) is int
    queue = Queue("G", agents_available=Decimal(3), average_wait_minutes=Decimal("2.5"))
    assert (queue.agents_available, queue.average_wait_minutes) == (3, 2.5)
    assert type(queue.average_wait_minutes) is float  # getAgentAvailability's JSON holds it


def test_a_secret_of_the_wrong_type_is_named_without_its_value() -> None:
    with pytest.raises(TypeError) as caught:
        ChatAuthSettings(algorithms=("HS256",), secret=b"do-not-print-me-1234567890123456")
    assert str(caught.value) == "secret must be a string (or None), got bytes"


async def test_a_type_named_as_in_the_files_types_the_variable_in_a_chat() -> None:
    assert ContextVariable("n", "number").type is VariableType.NUMBER
    work_stream = WorkStream(
        "Code", [ContextVariable("msdyn_cartvalue", "Number")], queues=[Queue("General")]
    )
    assert isinstance(work_stream.queues, tuple)  # a list is taken as the tuple it stands for
    widget = Omnichannel().widget(work_stream)
    await widget.load()
    session = await widget.sdk.startChat({"customContext": {"msdyn_cartvalue": "10000"}})
    assert session.context == {"msdyn_cartvalue": 10000}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read work stream file"):
        WorkStream.from_toml(tmp_path / "nope.toml")


def test_key_array_file_with_expiry_is_kept(tmp_path: Path, demo_keys: KeyPair) -> None:
    (tmp_path / "keys.json").write_text(json.dumps(demo_keys.key_array(expiry=1600000000)))
    ws = WorkStream.from_toml(write(tmp_path, 'name = "x"\n[auth]\npublic_key = "keys.json"'))
    assert ws.auth is not None and ws.auth.keys[0].expiry == 1600000000


def test_routing_compares_numbers_by_value_and_never_true_with_1() -> None:
    # A token service writing "10000.00" (toFixed) routes as one writing "10000" does.
    rule = RoutingRule(variable="cart", equals=10000, queue="BigCart")
    assert rule.applies({"cart": 10000}) and rule.applies({"cart": 10000.0})
    assert RoutingRule(variable="cart", equals=10000.0, queue="BigCart").applies({"cart": 10000})
    assert not RoutingRule(variable="vip", equals=1, queue="VIP").applies({"vip": True})
    assert not RoutingRule(variable="vip", equals=True, queue="VIP").applies({"vip": 1})
    # Past 2**53 the page holds a rounded double; the digits it sent still name that number.
    big = RoutingRule(variable="account", equals=12345678901234567890, queue="Big")
    assert big.applies({"account": 12345678901234567890.0})


def test_a_public_key_file_that_is_not_text_says_so(tmp_path: Path) -> None:
    (tmp_path / "key.der").write_bytes(b"\x30\x82\x01\x22\xff\xfe")
    path = write(tmp_path, 'name = "x"\n[auth]\npublic_key = "key.der"')
    with pytest.raises(ConfigurationError, match=r"\[auth\]\.public_key: .*key\.der is not PEM"):
        WorkStream.from_toml(path)


@pytest.mark.parametrize("form", ["pem", "key array", "jwks"])
def test_a_key_smaller_than_the_documented_2048_bits_is_refused(form: str, tmp_path: Path) -> None:
    small = KeyPair.generate(kid="small", bits=1024)
    text = {
        "pem": small.public_pem,
        "key array": json.dumps(small.key_array()),
        "jwks": json.dumps(small.jwks()),
    }[form]
    (tmp_path / "key.txt").write_text(text, encoding="utf-8")
    path = write(tmp_path, 'name = "x"\n[auth]\npublic_key = "key.txt"')
    with pytest.raises(ConfigurationError, match="a 1024-bit RSA key; Omnichannel takes RSA keys"):
        WorkStream.from_toml(path)


def test_a_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    # Windows Notepad's "UTF-8 with BOM": the BOM is no TOML, and token files take it too.
    text = (SCENARIOS / "contoso.toml").read_text(encoding="utf-8")
    with_bom = tmp_path / "contoso.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + text.replace("keys/", f"{SCENARIOS}/keys/").encode())
    assert WorkStream.from_toml(with_bom).name == "Contoso help"


def test_a_scenario_file_given_as_a_work_stream_says_so() -> None:
    with pytest.raises(ConfigurationError) as caught:
        WorkStream.from_toml(SCENARIOS / "vip_routing.toml")
    assert "this looks like a scenario file, not a work stream" in str(caught.value)


def test_a_work_stream_finds_its_variables_and_queues_by_exact_name(contoso: WorkStream) -> None:
    variable = contoso.variable("msdyn_cartvalue")
    assert variable is not None and variable.type is VariableType.NUMBER
    assert contoso.variable("MSDYN_CARTVALUE") is None  # names are case-sensitive
    assert contoso.queue("General").name == "General"
    with pytest.raises(KeyError):
        contoso.queue("general")


def test_a_single_queue_table_is_named_as_written_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\[queue\]: unknown key 'nmae'"):
        WorkStream.from_toml(write(tmp_path, 'name = "x"\n[queue]\nnmae = "VIP"\n'))
    with pytest.raises(ConfigurationError, match=r"queues\[1\]: unknown key 'nmae'"):
        WorkStream.from_toml(
            write(tmp_path, 'name = "x"\n[[queues]]\nname = "A"\n[[queues]]\nnmae = "B"\n')
        )


def test_a_rule_value_is_measured_in_utf_16_units_as_the_context_rules_measure_it() -> None:
    # A lone surrogate is one unit, as in JavaScript; it no longer fails to encode.
    assert WorkStream("w", routing_rules=(RoutingRule("v", "\ud800", "Default"),)).name == "w"
    with pytest.raises(ValueError, match="never set to a value over 4000 characters"):
        WorkStream("w", routing_rules=(RoutingRule("v", "\U0001f600" * 2001, "Default"),))
    assert WorkStream("w", routing_rules=(RoutingRule("v", "\U0001f600" * 2000, "Default"),))


async def test_what_is_no_work_stream_is_named_wherever_one_is_asked_for() -> None:
    with pytest.raises(TypeError, match="a work stream file's path must be a path, got NoneType"):
        WorkStream.from_toml(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="an empty path names no work stream file"):
        WorkStream.from_toml("")
    org = Omnichannel()
    for call in (
        lambda: org.judge_token(None, "t"),  # type: ignore[arg-type]
        lambda: org.agent_availability("contoso.toml"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="a work stream must be a WorkStream, got"):
            call()
    with pytest.raises(TypeError, match=r"got str: build one with WorkStream\.from_toml"):
        await org.judge("contoso.toml", "t")  # type: ignore[arg-type]


def test_a_service_caller_s_context_that_is_no_mapping_is_named() -> None:
    org = Omnichannel()
    work_stream = WorkStream("Open", [ContextVariable("tier")])
    for call in (
        lambda: org.start_chat(work_stream, context="gold"),  # type: ignore[arg-type]
        lambda: org.agent_availability(work_stream, "gold"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="context must be a mapping of names to values"):
            call()
    assert org.start_chat(work_stream, context={"tier": "gold"}).context == {"tier": "gold"}


def test_a_judgement_carries_the_claims_it_read(
    org: Omnichannel, contoso: WorkStream, sample_token: Callable[..., str]
) -> None:
    judgement = org.judge_token(contoso, sample_token())
    assert judgement.claims is judgement.verdict.claims and judgement.claims is not None
    assert org.judge_token(contoso, "not.a.token").claims is None


def test_a_mapping_built_in_python_reads_as_its_toml_would(tmp_path: Path) -> None:
    # None for "not given", a Path for a key file, tuples for arrays, a Decimal for a number.
    (tmp_path / "public.pem").write_text((SCENARIOS / "keys" / "public.pem").read_text())
    work_stream = WorkStream.from_dict(
        {
            "name": "Built",
            "auth": {
                "algorithms": ("RS256",),
                "public_key": tmp_path / "public.pem",
                "public_key_url": None,
                "issuer": None,
                "timeout": Decimal("7.5"),
            },
            "context_variables": ({"name": "cart", "type": "Number"},),
            "queues": [{"name": "General"}, {"name": "Big", "agents_available": Decimal(2)}],
            "routing_rules": [{"variable": "cart", "equals": Decimal("1000"), "queue": "Big"}],
        }
    )
    assert work_stream.auth is not None and work_stream.auth.provider_timeout == 7.5
    assert work_stream.auth.issuer is None and len(work_stream.auth.keys) == 1
    assert work_stream.queue("Big").agents_available == 2
    assert work_stream.route({"cart": 1000}).name == "Big"
    with pytest.raises(ConfigurationError, match="agents_available must be an integer, got the"):
        WorkStream.from_dict({"name": "w", "queue": {"agents_available": Decimal("2.5")}})
    with pytest.raises(ConfigurationError, match=r"\[auth\].secret must be a string"):
        WorkStream.from_dict({"name": "w", "auth": {"algorithms": ["HS256"], "secret": Path("k")}})
