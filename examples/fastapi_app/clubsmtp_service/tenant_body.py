"""A tenant spec from a request body: the tenant file's JSON form, checked like a file.

A spec sent over HTTP may not name a password source: ``{ env = "VAR" }`` or
``{ file = "path" }`` would make the service read its own environment or
files on the caller's behalf (its API key is in that environment). Every
mailbox password is generated instead, and reported once in the answer.
"""

from __future__ import annotations

from clubsmtp_async.onboarding import TenantFileError, TenantSpec, parse_tenant

__all__ = ["SOURCE", "parse_tenant_body"]

SOURCE = "request body"
"""What error messages call the body."""


def parse_tenant_body(body: bytes) -> TenantSpec:
    """Decode, validate and normalise a tenant spec sent as JSON.

    Raises:
        TenantFileError: (a `ValidationError`) naming the place and the
            problem, e.g. ``request body: domains[0].mailboxes[1].storage_gb: …``.

    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TenantFileError(SOURCE, "", f"not UTF-8 text (byte {exc.start})") from None
    spec = parse_tenant(text, "json", source=SOURCE, check_sources=False)
    for d, domain in enumerate(spec.domains):
        for m, mailbox in enumerate(domain.mailboxes):
            if mailbox.password is not None:
                raise TenantFileError(
                    SOURCE, f"domains[{d}].mailboxes[{m}].password",
                    "password sources are not accepted over HTTP: omit it, and the "
                    "generated password is returned once in the answer")
    return spec
