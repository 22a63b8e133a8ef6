"""What the console offers an agent to write a reply faster: canned responses and suggested answers.

    GET /api/canned                         {responses: [{title, text}]}
    GET /api/conversations/{id}/suggestions {message, suggestions: [{key, answer, confidence}]}

Canned responses come from a YAML file (`CANNED_RESPONSES_FILE`, default
`handoff/canned_responses.yml`), read on every request so an edit needs no restart.

Suggested answers are the assistant's best FAQ answers for the customer's last message: the
message is parsed by Rasa (`/model/parse`, its ResponseSelector ranking) and the answer texts are
taken from the served model's domain (`/domain`), so they always match what the bot would say.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from handoff.console.access import CONSOLE_ROLES, viewable_conversation
from handoff.console.sessions import require_agent
from handoff.state import AppState, app_state

MAX_SUGGESTIONS = 3
MAX_CANNED = 100


def read_canned(path: Path) -> list[dict[str, str]]:
    """The canned responses in `path`; a missing or malformed file gives none, never an error."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    responses = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            title = item.get("title") if isinstance(item.get("title"), str) else item["text"]
            responses.append({"title": str(title).strip()[:60], "text": item["text"].strip()})
    return responses[:MAX_CANNED]


async def get_canned(request: web.Request) -> web.Response:
    state = app_state(request.app)
    await require_agent(request, roles=CONSOLE_ROLES)
    return web.json_response({"responses": read_canned(state.settings.canned_responses_file)})


async def _domain_responses(state: AppState) -> dict[str, str]:
    """Response name -> first text, from the domain of the model Rasa serves."""
    domain = await state.rasa.domain()
    texts: dict[str, str] = {}
    responses = domain.get("responses") if domain else None
    for name, variants in (responses or {}).items():
        for variant in variants if isinstance(variants, list) else []:
            if isinstance(variant, dict) and isinstance(variant.get("text"), str):
                texts[str(name)] = variant["text"]
                break
    return texts


def ranked_answers(parse: dict[str, Any], texts: dict[str, str]) -> list[dict[str, Any]]:
    """The best FAQ answers of a Rasa parse result, highest confidence first."""
    selector = parse.get("response_selector")
    if not isinstance(selector, dict):
        return []
    found: dict[str, dict[str, Any]] = {}
    for retrieval in selector.get("all_retrieval_intents") or []:
        result = selector.get(retrieval)
        if not isinstance(result, dict):
            continue
        top = result.get("response") or {}
        top_key = str(top.get("intent_response_key") or "")
        top_texts = [r.get("text") for r in top.get("responses") or [] if isinstance(r, dict)]
        for rank in result.get("ranking") or []:
            key = str(rank.get("intent_response_key") or "")
            if not key:
                continue
            answer = texts.get(f"utter_{key}")
            if answer is None and key == top_key and top_texts and isinstance(top_texts[0], str):
                answer = top_texts[0]
            if answer and key not in found:
                found[key] = {
                    "key": key,
                    "answer": answer,
                    "confidence": round(float(rank.get("confidence") or 0.0), 4),
                }
    ordered = sorted(found.values(), key=lambda s: s["confidence"], reverse=True)
    return ordered[:MAX_SUGGESTIONS]


async def get_suggestions(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, _ = await viewable_conversation(request)
    last = ""
    for entry in reversed(await state.store.read_all(cid)):
        if entry.kind == "message" and entry.sender == "customer":
            last = entry.text
            break
    if not last:
        return web.json_response({"message": "", "suggestions": []})
    parse, texts = await asyncio.gather(state.rasa.parse(last), _domain_responses(state))
    suggestions = ranked_answers(parse or {}, texts)
    return web.json_response({"message": last, "suggestions": suggestions})
