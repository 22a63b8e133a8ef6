"""The OpenAPI document describes exactly the routes the app serves, and is served itself."""

from __future__ import annotations

import schemathesis

from handoff.web import openapi
from tests.app.conftest import AppFactory


async def test_every_route_is_in_the_openapi_document_and_nothing_else(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    served = openapi.app_routes(client.server.app)
    documented = set(openapi.operations())
    missing = sorted(served - documented)
    stale = sorted(documented - served)
    assert not missing, f"routes missing from handoff/openapi.yaml: {missing}"
    assert not stale, f"handoff/openapi.yaml describes routes the app does not serve: {stale}"


async def test_the_document_is_valid_openapi_and_served_as_json(make_client: AppFactory) -> None:
    client = await make_client()
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    served = await response.json()
    assert served == openapi.document()
    schema = schemathesis.openapi.from_dict(served)
    schema.validate()  # against the OpenAPI 3.0 meta-schema
    assert not list(schema.iter_schema_warnings())


def test_every_console_operation_says_who_may_call_it() -> None:
    for (method, path), operation in openapi.operations().items():
        needs_session = any("session" in s for s in operation.get("security", []))
        if needs_session and path not in {"/api/logout", "/api/me", "/api/password"}:
            assert operation.get("x-roles"), f"{method} {path} names no roles"
