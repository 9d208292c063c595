"""The shipped JSON Schema is the one generated from the specs, and it describes the file."""

from __future__ import annotations

import json

from clubsmtp_async.onboarding import SCHEMA_PATH, tenant_schema
from clubsmtp_async.onboarding._schema import render_schema


def test_the_shipped_schema_is_up_to_date() -> None:
    # Regenerate with: python -c "from clubsmtp_async.onboarding._schema import *;
    # SCHEMA_PATH.write_bytes(render_schema())"
    assert SCHEMA_PATH.read_bytes() == render_schema()


def test_the_schema_describes_the_tenant_file() -> None:
    schema = tenant_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    mailbox = defs["MailboxSpec"]
    assert mailbox["required"] == ["local_part"]
    assert mailbox["additionalProperties"] is False
    assert set(mailbox["properties"]) == {"local_part", "storage_gb", "enabled", "password",
                                          "whitelist", "blacklist"}
    quota = mailbox["properties"]["storage_gb"]["anyOf"][0]
    assert (quota["type"], quota["minimum"]) == ("integer", 1)
    assert set(defs["PasswordSource"]["properties"]) == {"env", "file"}
    assert defs["AliasSpec"]["properties"]["forward_to"]["minItems"] == 1
    assert "$schema" in defs["TenantSpec"]["properties"]
    json.dumps(schema)  # plain JSON values only
