"""The middleware that turns API failures into JSON errors a client can act on."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """API errors as JSON with a clear message; Redis trouble is a 503, never a 500 page."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if (
            request.path.startswith("/api/")
            and error.status >= 400
            and not (error.text or "").startswith("{")
        ):
            return web.json_response(
                {"error": error.reason, "message": error.text}, status=error.status
            )
        raise
    except RedisError:
        return web.json_response(
            {"error": "unavailable", "message": "Storage is unavailable; try again shortly."},
            status=503,
        )
    except json.JSONDecodeError:
        return web.json_response(
            {"error": "bad_json", "message": "The request body is not valid JSON."}, status=400
        )
    except RecursionError:
        # json.loads of "[[[[..." a few thousand deep, well within the body size limit.
        return web.json_response(
            {"error": "bad_json", "message": "The request body is nested too deeply."}, status=400
        )
    except UnicodeEncodeError:
        # JSON can carry an escaped lone surrogate ("\ud800") that cannot be stored as UTF-8.
        return web.json_response(
            {"error": "bad_text", "message": "The request contains invalid Unicode text."},
            status=400,
        )
