"""Conversations made straight through the service's store, for tests about what happens to a
conversation after it exists (archive, erasure) rather than how a customer starts one; the
service's archive once open, and an admin to ask the privacy API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.archive.store import ArchiveStore
from handoff.console.accounts import Accounts
from handoff.state import AppState, app_state
from tests.support.clients import PASSWORD, login


async def live_chat(state: AppState, *texts: str) -> str:
    """A conversation with the assistant, holding the customer's `texts`; its id."""
    settings = state.settings
    cid = str(
        await state.store.create(
            settings.default_team,
            lifetime=settings.resume_token_ttl,
            max_entries=settings.max_transcript_entries,
        )
    )
    for text in texts:
        await state.store.append(cid, "customer", text)
    return cid


async def opened_archive(state: AppState) -> ArchiveStore:
    """The service's archive, once it has opened it (it does so in the background)."""
    deadline = time.monotonic() + 15
    while state.archive is None:
        assert time.monotonic() < deadline, "the archive never opened"
        await asyncio.sleep(0.05)
    return state.archive


async def admin_of(client: TestClient, *, archive_open: bool = True) -> dict[str, str]:
    """An admin's session headers (once the archive is open, when it is to be: an erasure
    records itself there)."""
    state = app_state(client.server.app)
    if archive_open:
        await opened_archive(state)
    await Accounts(state.redis, state.keys).create("ops", PASSWORD, role="admin")
    return dict((await login(client, "ops"))["headers"])


async def post(client: TestClient, path: str, headers: dict[str, str], **body: str) -> Any:
    """POST `body` as JSON; the answer, which must be a 200."""
    response = await client.post(path, json=body, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()
