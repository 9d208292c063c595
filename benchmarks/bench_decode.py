"""Decode of a 1,000-mailbox list: the SDK vs bare typed msgspec vs pydantic v2.

Run: python -m benchmarks.bench_decode
"""

from __future__ import annotations

import json
import timeit
from datetime import datetime

import httpx
import msgspec

from clubsmtp_async import Mailbox
from clubsmtp_async._resources import Mailboxes

N_ITEMS = 1000


def _body() -> bytes:
    items = [
        {
            "uuid": f"019a2b3c-4d5e-7f6a-b7c8-{i:012d}",
            "address": f"user{i}@example.com",
            "domain_uuid": "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3",
            "domain": "example.com",
            "storage_gb": 10 + i % 5,
            "enabled": i % 7 != 0,
            "created_at": "2026-04-21T14:30:00.000000Z",
            "updated_at": "2026-04-21T14:30:00.000000Z",
        }
        for i in range(N_ITEMS)
    ]
    return json.dumps({"data": items, "errors": []}).encode()


class _BareMailbox(msgspec.Struct, frozen=True, kw_only=True):
    uuid: str
    address: str
    domain_uuid: str
    domain: str
    storage_gb: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class _BareEnvelope(msgspec.Struct):
    data: list[_BareMailbox]
    errors: list[dict[str, str]]


def run(number: int = 200) -> dict[str, float]:
    """Seconds per decode for each contender, best of 7 interleaved rounds."""
    import pydantic

    body = _body()
    response = httpx.Response(200, content=body)
    sdk = Mailboxes._LIST.decode
    bare = msgspec.json.Decoder(_BareEnvelope)

    class PMailbox(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True)
        uuid: str
        address: str
        domain_uuid: str
        domain: str
        storage_gb: int
        enabled: bool
        created_at: datetime
        updated_at: datetime

    class PEnvelope(pydantic.BaseModel):
        data: list[PMailbox]
        errors: list[dict[str, str]]

    assert isinstance(sdk(response)[0], Mailbox)
    contenders = {
        "sdk": lambda: sdk(response),
        "msgspec": lambda: bare.decode(body),
        "pydantic": lambda: PEnvelope.model_validate_json(body),
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(7):  # interleaved rounds, so warm-up and drift hit every contender
        for name, fn in contenders.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number) / number)
    return best


def main() -> None:
    """Print the figures and the ratios DESIGN §7 sets targets for."""
    t = run()
    print(f"decode of a {N_ITEMS}-mailbox list (best of 7 rounds, per decode)")
    for name, seconds in t.items():
        print(f"  {name:9s} {seconds * 1e3:8.3f} ms")
    print(f"  sdk / bare msgspec = {t['sdk'] / t['msgspec']:.3f}   (target <= 1.10)")
    print(f"  pydantic / sdk     = {t['pydantic'] / t['sdk']:.2f}    (target >= 1.7)")


if __name__ == "__main__":
    main()
