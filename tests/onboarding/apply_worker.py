"""Apply a tenant file over real sockets, in a process of its own (killed by the tests).

    python -m tests.onboarding.apply_worker BASE_URL API_KEY TENANT PASSWORDS_FILE

Prints ``started`` once planning is done, then one line per finished action.
"""

from __future__ import annotations

import sys

import anyio

from clubsmtp_async import AsyncClient
from clubsmtp_async.onboarding import ApplyProgress, PasswordFile, apply, load_tenant


async def main(base_url: str, api_key: str, tenant: str, passwords: str) -> int:
    def progress(p: ApplyProgress) -> None:
        print(p.outcome.status, p.outcome.action.describe(), flush=True)

    async with AsyncClient(api_key, base_url=base_url, requests_per_minute=None) as client:
        with PasswordFile(passwords) as password_file:
            report = await apply(client, load_tenant(tenant), on_progress=progress,
                                 on_password=password_file)
    print("ok" if report.ok else "not ok", report.counts, flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(anyio.run(main, *sys.argv[1:5]))
