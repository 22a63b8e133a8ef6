"""Reading the FAQ editor's requests: bounded text fields, lists, ids, and tool errors as JSON.

Only bounds are checked here (a request the tool should never see); the content rules of a
topic are the FAQ tool's, and its refusals reach the page unchanged (`handles_tool_errors`).
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web

from handoff.editor.faq_tool import FaqToolError, faq_error

# Bounds on what the page may send; the content rules themselves are the FAQ tool's.
MAX_KEY = 80
MAX_PHRASING = 500
MAX_PHRASINGS = 200
MAX_ANSWER = 5000


async def json_body(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise faq_error(400, "bad_request", "Send a JSON object.")
    return cast(dict[str, Any], body)


def text_field(value: Any, what: str, limit: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise faq_error(400, "bad_request", f"The {what} must be text.")
    text = value.strip()
    if len(text) > limit:
        raise faq_error(400, "too_long", f"The {what} is longer than {limit} characters.")
    if "\x00" in text:
        raise faq_error(400, "bad_request", f"The {what} contains a character that is not allowed.")
    return text


def text_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PHRASINGS:
        raise faq_error(
            400, "bad_request", f"Send the {what} as a list of at most {MAX_PHRASINGS}."
        )
    return [t for t in (text_field(v, what, MAX_PHRASING) for v in value) if t]


def question_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise faq_error(400, "bad_request", "Send the question ids as a list.")
    # Stream ids only: digits-digits.
    return [v for v in value if v.replace("-", "").isdigit() and v.count("-") == 1][:500]


def topic_key(request: web.Request) -> str:
    return text_field(request.match_info["key"], "topic key", MAX_KEY)


def tool_error_response(error: FaqToolError) -> web.Response:
    return web.json_response(error.body, status=error.status)


def handles_tool_errors(handler: Any) -> Any:
    """Map FaqToolError to its JSON answer in one place."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return cast(web.StreamResponse, await handler(request))
        except FaqToolError as error:
            return tool_error_response(error)

    wrapped.__name__ = handler.__name__
    return wrapped
