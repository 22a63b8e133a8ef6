"""The service's sweeper (every 2 s: bot turns left behind, agents gone, response targets,
follow-ups…) runs each job on its own: one that fails does not stop the others, nor later
rounds."""

from __future__ import annotations

import asyncio

from handoff.state import app_state
from tests.app.conftest import AppFactory


async def test_a_failing_sweeper_job_stops_neither_the_others_nor_the_next_round(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    rounds: list[int] = []
    two_rounds = asyncio.Event()

    async def broken() -> None:
        raise ValueError("a defect in one job")

    async def counting() -> None:
        rounds.append(len(rounds))
        if len(rounds) >= 2:
            two_rounds.set()

    state.sweep_hooks[:0] = [broken]  # before every other job of the round
    state.sweep_hooks.append(counting)
    await asyncio.wait_for(two_rounds.wait(), timeout=15)
