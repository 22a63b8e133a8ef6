"""How long a closed chat stays in Redis is a deployment's choice (CLOSED_CONVERSATION_TTL_SECONDS):
a cluster sized for its memory keeps closed chats as long as it set, not 30 days; a value that
would lose what a person relies on is refused at start."""

from __future__ import annotations

import pytest

from handoff.settings import Settings, SettingsError
from handoff.state import app_state
from tests.app.conftest import SECRET, AppFactory

HOURS = 3600


async def test_a_closed_chat_expires_after_the_configured_lifetime(
    make_client: AppFactory,
) -> None:
    client = await make_client(closed_conversation_ttl=2 * HOURS)
    state = app_state(client.server.app)
    cid = await state.store.create("support", lifetime=HOURS, max_entries=100)
    result = await state.store.move(
        cid, allowed=["bot"], new_state="closed", event_text="The chat was closed."
    )
    assert result.ok
    held = [state.keys.conversation(cid), state.keys.log(cid), state.keys.seen(cid)]
    for key in held:
        if await state.redis.exists(key):
            assert 2 * HOURS - 5 < await state.redis.ttl(key) <= 2 * HOURS, key
    # A later write (an agent's note on the closed chat, a follow-up) starts it again.
    await state.store.append(cid, "system", "Follow-up email sent.", kind="event")
    assert 2 * HOURS - 5 < await state.redis.ttl(state.keys.log(cid)) <= 2 * HOURS


def settings(**env: str) -> Settings:
    return Settings.from_env({"HANDOFF_SECRET": SECRET, **env})


def test_the_default_keeps_closed_chats_30_days() -> None:
    assert settings().closed_conversation_ttl == 30 * 24 * HOURS


def test_less_than_an_hour_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="CLOSED_CONVERSATION_TTL_SECONDS='600' must be at"):
        settings(CLOSED_CONVERSATION_TTL_SECONDS="600")


def test_with_email_on_it_must_outlast_the_follow_up() -> None:
    one_day = str(24 * HOURS)
    # Email off (the cluster's configuration): a day is fine.
    assert settings(CLOSED_CONVERSATION_TTL_SECONDS=one_day).closed_conversation_ttl == 86400
    with pytest.raises(SettingsError, match="must be at least FOLLOW_UP_DAYS"):
        settings(CLOSED_CONVERSATION_TTL_SECONDS=one_day, SMTP_URL="smtp://mail.example:25")
    shorter_follow_up = settings(
        CLOSED_CONVERSATION_TTL_SECONDS=one_day,
        SMTP_URL="smtp://mail.example:25",
        FOLLOW_UP_DAYS="1",
    )
    assert shorter_follow_up.closed_conversation_ttl == 86400
