"""Conversations made straight through the service's store, for tests about what happens to a
conversation after it exists (archive, erasure) rather than how a customer starts one."""

from __future__ import annotations

from handoff.state import AppState


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
