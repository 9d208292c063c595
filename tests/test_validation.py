"""Input checks: bad input raises `ValidationError` before anything is sent."""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx
from hypothesis import assume, given
from hypothesis import strategies as st

from clubsmtp_async import AsyncClient, NewAlias, NewMailbox, ValidationError
from clubsmtp_async._models import MailboxUpdate
from clubsmtp_async._validation import (
    checked_alias,
    checked_mailbox,
    checked_mailbox_update,
    domain_name,
    local_part,
    path_id,
)

D = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
PASSWORD = "Tr0ub4dor&3-secret"
UNRESERVED = set(string.ascii_letters + string.digits + "-._~")


# --- unit checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  example.com ", "example.com"),
        ("mail.sub-domain.example.co.uk", "mail.sub-domain.example.co.uk"),
        ("a1.b2", "a1.b2"),
        ("x" * 63 + ".example", "x" * 63 + ".example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        # IDNA 2008 (UTS 46, non-transitional), as browsers: ß (and the final sigma) are
        # kept, not mapped as Python's IDNA 2003 codec does (to another domain).
        ("faß.de", "xn--fa-hia.de"),
        ("FAß.DE", "xn--fa-hia.de"),
        ("βόλος.gr", "xn--nxasmm1c.gr"),
        ("ascii.example。com", "ascii.example.com"),  # an ideographic full stop
        ("ⅫⅫ.example", "xiixii.example"),  # UTS 46 maps compatibility characters
        ("xn--ls8h.la", "xn--ls8h.la"),  # an A-label as given is never re-judged
    ],
)
def test_domain_name_accepts(value: str, expected: str) -> None:
    assert domain_name(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "", "   ", ".", "..", "localhost", "example", "-example.com", "example-.com",
        "ex ample.com", "example .com", "exa_mple.com", "a..b.com", ".example.com",
        "x" * 64 + ".com", ".".join(["a" * 63] * 4) + ".com", "example.123",
        "example\n.com", "example.com\n.", "example.com/x", "user@example.com",
        "http://example.com", None, 42, b"example.com", ["example.com"],
        "\ud800.example", "exa\udcffmple.com", "☃.net", "a\u200db.example", "x" * 2000,
        "\x00.example", {"name": "example.com"},
    ],
)
def test_domain_name_rejects(value: Any) -> None:
    with pytest.raises(ValidationError, match="name"):
        domain_name(value)


@pytest.mark.parametrize(
    "value",
    ["alice", "a", "first.last", "x+tag", "o'brien", "a_b-c", "ALICE", "x" * 64, "#!$%&*=?^`{|}~"],
)
def test_local_part_accepts(value: str) -> None:
    assert local_part(value) == value


@pytest.mark.parametrize(
    "value",
    ["", " ", "a b", ".alice", "alice.", "al..ice", "a@b", "a,b", 'a"b', "a(b)", "a\\b", "ä",
     "x" * 65, "alice\n", "\nalice", "alice\r\n", None, 5, ["alice"]],
)
def test_local_part_rejects(value: Any) -> None:
    with pytest.raises(ValidationError, match="local part"):
        local_part(value)


def test_python_idna_2003_would_send_another_domain() -> None:
    # The reason for the `idna` package: the built-in codec maps ß to ss.
    assert "faß.de".encode("idna") == b"fass.de"
    assert domain_name("faß.de") != "fass.de"
    assert domain_name("fass.de") == "fass.de"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("x/" * 100, repr("x/" * 40) + "…"), (5, "5"), (None, "None"), ({"password": "p"}, "a dict"),
     (b"abc", "a bytes"), (["a"], "a list")],
)
def test_rejected_values_are_shown_only_when_short_and_plain(value: Any, shown: str) -> None:
    with pytest.raises(ValidationError) as info:
        path_id(value, "mailbox_uuid")
    assert str(info.value) == f"mailbox_uuid must be an identifier such as a UUID, got {shown}"


@pytest.mark.parametrize("value", [D, "abc", "A-b_c.d~e", "x" * 128, "...a", "a.."])
def test_path_id_accepts(value: str) -> None:
    assert path_id(value, "x") == value


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "...", "../domains", "x/y", "/", "%2e%2e", "a b", "a?b", "a#b", "a\n",
     "x" * 129, "é", None, 7, b"abc", ["abc"]],
)
def test_path_id_rejects(value: Any) -> None:
    with pytest.raises(ValidationError, match="domain_uuid"):
        path_id(value, "domain_uuid")


@given(st.text(max_size=200))
def test_path_id_never_lets_another_path_through(value: str) -> None:
    try:
        result = path_id(value, "x")
    except ValidationError:
        return
    assert result == value
    assert set(result) <= UNRESERVED
    assert "/" not in result
    assert result.strip(".") != ""  # never "." or ".."
    assert 1 <= len(result) <= 128


@given(st.text(alphabet=sorted(UNRESERVED), min_size=1, max_size=128))
def test_path_id_accepts_unreserved_identifiers(value: str) -> None:
    assume(value.strip(".") != "")
    assert path_id(value, "x") == value


LABEL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?\Z")


@given(st.lists(LABEL, min_size=1, max_size=5), st.from_regex(r"\A[a-z]{2,10}\Z"))
def test_domain_name_round_trips(labels: list[str], tld: str) -> None:
    name = ".".join([*labels, tld])
    assume(not any(label.startswith("xn--") for label in labels))
    assert domain_name(name) == name
    assert domain_name(name.upper() + ".") == name


@given(st.text(max_size=80))
def test_domain_name_is_ascii_and_idempotent(value: str) -> None:
    try:
        result = domain_name(value)
    except ValidationError:
        return
    assert result.isascii()
    assert result == result.lower()
    assert "." in result
    assert domain_name(result) == result


@pytest.mark.parametrize("storage_gb", [0, -1, True, False, "10", 1.5, 10.0])
def test_storage_gb_rejects(storage_gb: Any) -> None:
    with pytest.raises(ValidationError, match="storage_gb"):
        checked_mailbox(NewMailbox(domain_uuid=D, local_part="a", password="p",
                                   storage_gb=storage_gb))
    with pytest.raises(ValidationError, match="storage_gb"):
        checked_mailbox_update(MailboxUpdate(storage_gb=storage_gb))


def test_checked_bodies_pass_good_input_through() -> None:
    new = NewMailbox(domain_uuid=D, local_part="alice", password=PASSWORD, storage_gb=1)
    assert checked_mailbox(new) == new
    alias = checked_alias(NewAlias(domain_uuid=D, local_part="info", mailbox_uuids=(M,)))  # type: ignore[arg-type]
    assert alias.mailbox_uuids == [M]
    assert checked_mailbox_update(MailboxUpdate(enabled=False)) == MailboxUpdate(enabled=False)


@pytest.mark.parametrize("password", ["", None, b"bytes", 12345])
def test_password_must_be_a_non_empty_string(password: Any) -> None:
    with pytest.raises(ValidationError, match="password must be a non-empty string"):
        checked_mailbox(NewMailbox(domain_uuid=D, local_part="a", password=password))


def test_validation_messages_never_echo_the_password() -> None:
    bad = NewMailbox(domain_uuid="../x", local_part="a", password=PASSWORD)
    for item in (bad, NewMailbox(domain_uuid=D, local_part="a b", password=PASSWORD),
                 NewMailbox(domain_uuid=D, local_part="a", password=PASSWORD, storage_gb=0)):
        with pytest.raises(ValidationError) as info:
            checked_mailbox(item)
        assert PASSWORD not in str(info.value)
        assert PASSWORD not in repr(info.value)


# --- through the client: nothing is sent ----------------------------------------------------

Call = Callable[[AsyncClient], Awaitable[Any]]


def bad_id_calls(bad: Any) -> list[Call]:
    calls: list[Call] = [
        lambda c: c.domains.get(bad),
        lambda c: c.domains.delete(bad),
        lambda c: c.mailboxes.list(domain_uuid=bad),
        lambda c: c.mailboxes.get(bad),
        lambda c: c.mailboxes.update(bad, enabled=True),
        lambda c: c.mailboxes.delete(bad),
        lambda c: c.mailboxes.whitelist.list(bad),
        lambda c: c.mailboxes.whitelist.add(bad, pattern="*@x.example"),
        lambda c: c.mailboxes.whitelist.remove(bad, M),
        lambda c: c.mailboxes.whitelist.remove(M, bad),
        lambda c: c.mailboxes.blacklist.list(bad),
        lambda c: c.mailboxes.blacklist.add(bad, pattern="*@x.example"),
        lambda c: c.mailboxes.blacklist.remove(bad, M),
        lambda c: c.mailboxes.blacklist.remove(M, bad),
        lambda c: c.aliases.get(bad),
        lambda c: c.aliases.delete(bad),
        lambda c: c.mailboxes.create(domain_uuid=bad, local_part="a", password=PASSWORD),
        lambda c: c.aliases.create(domain_uuid=bad, local_part="a", mailbox_uuids=[M]),
        lambda c: c.aliases.create(domain_uuid=D, local_part="a", mailbox_uuids=[M, bad]),
    ]
    # mailboxes.list(domain_uuid=None) legitimately means "all mailboxes"
    return calls if bad is not None else calls[:2] + calls[3:]


BAD_IDS = ["../domains", "x/y", "..", ".", "", "a/../../v1/domains", "%2F", "a?b=c", "a\n",
           None, 5, b"abc"]


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", BAD_IDS)
async def test_bad_identifiers_never_reach_the_server(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, bad: Any
) -> None:
    catch_all = sdk_router.route().respond(200, json={"errors": []})
    for call in bad_id_calls(bad):
        with pytest.raises(ValidationError):
            await call(sdk_client)
    assert catch_all.call_count == 0
    assert sdk_router.calls.call_count == 0


BAD_CALLS: list[tuple[str, Call]] = [
    ("empty mailbox_uuids",
     lambda c: c.aliases.create(domain_uuid=D, local_part="info", mailbox_uuids=[])),
    ("empty tuple mailbox_uuids",
     lambda c: c.aliases.create(domain_uuid=D, local_part="info", mailbox_uuids=())),
    ("string mailbox_uuids",
     lambda c: c.aliases.create(domain_uuid=D, local_part="info", mailbox_uuids=M)),
    ("None mailbox_uuids",
     lambda c: c.aliases.create(domain_uuid=D, local_part="info", mailbox_uuids=None)),
    ("alias local part",
     lambda c: c.aliases.create(domain_uuid=D, local_part="in fo", mailbox_uuids=[M])),
    ("storage_gb 0",
     lambda c: c.mailboxes.create(domain_uuid=D, local_part="a", password=PASSWORD, storage_gb=0)),
    ("storage_gb -1",
     lambda c: c.mailboxes.create(domain_uuid=D, local_part="a", password=PASSWORD, storage_gb=-1)),
    ("storage_gb True",
     lambda c: c.mailboxes.create(domain_uuid=D, local_part="a", password=PASSWORD,
                                  storage_gb=True)),
    ("storage_gb '10'",
     lambda c: c.mailboxes.create(domain_uuid=D, local_part="a", password=PASSWORD,
                                  storage_gb="10")),
    ("update storage_gb 0", lambda c: c.mailboxes.update(M, storage_gb=0)),
    ("update storage_gb True", lambda c: c.mailboxes.update(M, storage_gb=True)),
    ("update no fields", lambda c: c.mailboxes.update(M)),
    ("update enabled 'yes'", lambda c: c.mailboxes.update(M, enabled="yes")),
    ("mailbox local part", lambda c: c.mailboxes.create(domain_uuid=D, local_part="a@b",
                                                        password=PASSWORD)),
    ("mailbox empty local part", lambda c: c.mailboxes.create(domain_uuid=D, local_part="",
                                                              password=PASSWORD)),
    ("mailbox empty password", lambda c: c.mailboxes.create(domain_uuid=D, local_part="a",
                                                            password="")),
    ("create_from bad", lambda c: c.mailboxes.create_from(
        NewMailbox(domain_uuid=D, local_part=".a", password=PASSWORD))),
    ("alias create_from bad", lambda c: c.aliases.create_from(
        NewAlias(domain_uuid=D, local_part="info", mailbox_uuids=[]))),
    ("domain no dot", lambda c: c.domains.create(name="example")),
    ("domain leading hyphen", lambda c: c.domains.create(name="-bad.example")),
    ("domain long label", lambda c: c.domains.create(name="a" * 64 + ".example")),
    ("domain spaces", lambda c: c.domains.create(name="my domain.example")),
    ("domain empty", lambda c: c.domains.create(name="")),
    ("domain None", lambda c: c.domains.create(name=None)),
    ("pattern empty", lambda c: c.mailboxes.whitelist.add(M, pattern="")),
    ("pattern whitespace", lambda c: c.mailboxes.whitelist.add(M, pattern="   ")),
    ("pattern tab", lambda c: c.mailboxes.blacklist.add(M, pattern="\t")),
    ("pattern with space", lambda c: c.mailboxes.blacklist.add(M, pattern="a@b c")),
    ("pattern too long", lambda c: c.mailboxes.whitelist.add(M, pattern="x" * 321)),
    ("pattern None", lambda c: c.mailboxes.whitelist.add(M, pattern=None)),
    ("pattern lone surrogate", lambda c: c.mailboxes.whitelist.add(M, pattern="*@\ud800.x")),
    ("pattern control character", lambda c: c.mailboxes.whitelist.add(M, pattern="*@a\x00.x")),
    ("password lone surrogate", lambda c: c.mailboxes.create(
        domain_uuid=D, local_part="a", password="pw\udc80" + PASSWORD)),
    ("password not a string", lambda c: c.mailboxes.create(
        domain_uuid=D, local_part="a", password=12345678)),
    ("domain lone surrogate", lambda c: c.domains.create(name="ex\ud800.com")),
    ("create_from a dict", lambda c: c.mailboxes.create_from(
        {"domain_uuid": D, "local_part": "a", "password": PASSWORD})),
    ("create_from None", lambda c: c.mailboxes.create_from(None)),
    ("create_from a NewAlias", lambda c: c.mailboxes.create_from(
        NewAlias(domain_uuid=D, local_part="a", mailbox_uuids=[M]))),
    ("alias create_from a dict", lambda c: c.aliases.create_from(
        {"domain_uuid": D, "local_part": "a", "mailbox_uuids": [M]})),
    ("alias mailbox_uuids None", lambda c: c.aliases.create(
        domain_uuid=D, local_part="a", mailbox_uuids=None)),
    ("alias mailbox_uuids of ints", lambda c: c.aliases.create(
        domain_uuid=D, local_part="a", mailbox_uuids=[1, 2])),
    ("mailbox field of the wrong type", lambda c: c.mailboxes.create_from(
        NewMailbox(domain_uuid=123, local_part="a", password=PASSWORD))),
    ("get a dict", lambda c: c.mailboxes.get({"uuid": M})),
    ("list domain_uuid int", lambda c: c.mailboxes.list(7)),
    ("remove entry None", lambda c: c.mailboxes.blacklist.remove(M, None)),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("call", [c for _, c in BAD_CALLS], ids=[n for n, _ in BAD_CALLS])
async def test_bad_input_raises_before_sending(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, call: Call
) -> None:
    catch_all = sdk_router.route().respond(200, json={"errors": []})
    with pytest.raises(ValidationError) as info:
        await call(sdk_client)
    assert isinstance(info.value, ValueError)
    assert PASSWORD not in str(info.value)
    assert catch_all.call_count == 0


@pytest.mark.asyncio
async def test_empty_iterator_of_mailbox_uuids_is_rejected(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    route = sdk_router.post("/v1/aliases").respond(400, json={"errors": [
        {"message": "Mailbox not found.", "type": "invalid_request_error"}]})
    with pytest.raises(ValidationError):
        await sdk_client.aliases.create(domain_uuid=D, local_part="i", mailbox_uuids=iter([]))
    assert route.call_count == 0


@pytest.mark.parametrize("name", ["xn--zz.example", "xn--a.example", "xn--Zz.example",
                                  "xn--zz.bücher.example"])
def test_an_invalid_a_label_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="not a valid internationalised domain name"):
        domain_name(name)


@pytest.mark.parametrize(("name", "expected"), [
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.Example", "xn--bcher-kva.example"),
    ("ab--cd.example", "ab--cd.example"),  # a DNS label, not an A-label
    ("xn--ls8h.la", "xn--ls8h.la"),  # an issued emoji domain: its text is not re-judged
])
def test_valid_ascii_names_pass_as_they_are(name: str, expected: str) -> None:
    assert domain_name(name) == expected
