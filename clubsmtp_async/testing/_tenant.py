"""Pre-populating an emulator from a tenant file, through the onboarding engine.

The tenant is applied as a client would apply it, over the in-process
transport, with a temporary key that the rate limit never slows (removed
afterwards, statistics reset), so the emulator ends up exactly as ``clubsmtp
apply`` would leave a real account. Applying onto a loaded state file
converges: what already exists is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clubsmtp_async.onboarding import ApplyReport, TenantSpec

    from ._emulator import Emulator

__all__ = ["seed_tenant"]

_UNLIMITED_RPM = 1e9


async def seed_tenant(emulator: Emulator, spec: TenantSpec, *,
                      account: str | None = None) -> ApplyReport:
    """Make the emulator's account hold what a tenant spec declares.

    Example:
        ```python
        report = await seed_tenant(emulator, load_tenant("tenant.toml"))
        ```

    Args:
        emulator: The emulator.
        spec: The tenant, e.g. from `clubsmtp_async.onboarding.load_tenant`.
        account: The account to fill (default: the default account).

    Returns:
        The apply report (`report.ok` tells whether everything was created;
        generated passwords are in `report.passwords`).

    """
    from clubsmtp_async.onboarding import apply

    from ._keys import DEFAULT_ACCOUNT

    key = emulator.create_key(account=account or DEFAULT_ACCOUNT,
                              requests_per_minute=_UNLIMITED_RPM, burst=1_000_000)
    try:
        async with emulator.client(key.token, requests_per_minute=None) as client:
            return await apply(client, spec)
    finally:
        emulator.remove_key(key.token)
        emulator.stats.reset()
