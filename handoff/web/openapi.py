"""The OpenAPI 3 document of the handoff service's HTTP API (handoff/openapi.yaml).

It is served at `/api/openapi.json`, drives the schemathesis run in tests/app/test_fuzz.py, and
says which roles may call each operation (`x-roles`), which the security tests check against
the running app. A test fails when a route of the app is missing from it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

DOCUMENT = Path(__file__).resolve().parent / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@functools.cache
def document() -> dict[str, Any]:
    """The parsed document (read once per process)."""
    loaded = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path template) -> operation object, for every operation in the document."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in document()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found[(method.upper(), path)] = item[method]
    return found


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the app serves, in the document's spelling.

    HEAD routes aiohttp adds beside GET are left out; a static folder is `/static/{filename}`;
    a path variable with a regex (`{name:.*}`) is written without it, as OpenAPI does.
    """
    routes: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        if "prefix" in info:
            path = str(info["prefix"]).rstrip("/") + "/{filename}"
        else:
            path = str(info.get("path") or info.get("formatter") or "")
            path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)
        routes.add((route.method, path))
    return routes


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())
