"""The JSON Schema of tenant files, generated from the specs and shipped in the package.

Editors use it to complete and check TOML, YAML and JSON tenant files (e.g.
``"$schema": "..."`` in JSON, or the ``# yaml-language-server: $schema=...``
comment in YAML). ``tenant.schema.json`` beside this module is the generated
file; a test keeps it equal to `tenant_schema()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from ._spec import TenantSpec

__all__ = ["SCHEMA_PATH", "render_schema", "tenant_schema"]

SCHEMA_PATH = Path(__file__).with_name("tenant.schema.json")
"""The shipped schema file."""

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def tenant_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a tenant file, from the `TenantSpec` structs."""
    schema = msgspec.json.schema(TenantSpec)
    # What PasswordSource.__post_init__ checks: exactly one of env and file.
    schema["$defs"]["PasswordSource"].update(minProperties=1, maxProperties=1)
    return {
        "$schema": _DIALECT,
        "title": "ClubSMTP tenant file",
        "description": "The desired state of a tenant for clubsmtp plan / apply.",
        **schema,
    }


def render_schema() -> bytes:
    """The schema as the shipped file holds it (indented, ending in a newline)."""
    return msgspec.json.format(msgspec.json.encode(tenant_schema()), indent=2) + b"\n"
