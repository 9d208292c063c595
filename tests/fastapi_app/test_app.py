"""The assembled app: its routes, its OpenAPI document, the worker header."""

from __future__ import annotations

import os

from .conftest import TestClient


def test_every_answer_names_the_worker(service: TestClient) -> None:
    for path in ("/healthz", "/nowhere"):
        assert service.get(path).headers["x-worker-pid"] == str(os.getpid())


def test_the_openapi_document_describes_the_routes(service: TestClient) -> None:
    document = service.get("/openapi.json").json()
    assert set(document["paths"]) == {"/healthz", "/tenants", "/webhooks/clubsmtp"}
    body = document["paths"]["/tenants"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TenantSpec"}
    schemas = document["components"]["schemas"]
    assert "domains" in schemas["TenantSpec"]["properties"]
    assert "#/$defs/" not in str(schemas)
    parameters = {p["name"] for p in document["paths"]["/tenants"]["post"]["parameters"]}
    assert parameters == {"dry_run", "prune"}


def test_importing_the_app_reads_no_environment() -> None:
    from clubsmtp_service.app import app

    assert app.title == "ClubSMTP provisioning service"
