"""The bot section: the whole stack through bot/launcher/ with the real Rasa, and one bot turn
measured straight to Rasa's REST webhook and through the gateway's customer websocket."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.serving.peers import Frame, open_customer
from bench.serving.processes import (
    CURRENT,
    RASA_PYTHON,
    Code,
    Service,
    free_port,
    spawn,
    start_service,
    stop,
)
from bench.serving.report import Sample, emit, machine_note, ms, ratio, summarise, table
from bench.serving.scale import Scale

# Routine questions the assistant answers itself (FAQ topics), asked in turn.
ROUTINE_QUESTIONS = (
    "what are your hours",
    "what payment methods do you accept",
    "do you have a physical store",
    "how long does shipping take",
    "hello",
    "can I pay with paypal",
)


@dataclass
class Stack:
    launcher: subprocess.Popen[bytes]
    url: str
    rasa_url: str
    redis_url: str
    var_dir: Path


async def start_stack(var_dir: Path) -> Stack:
    ports = {
        name: free_port()
        for name in ("HANDOFF_PORT", "RASA_PORT", "ACTIONS_PORT", "PRIVATE_REDIS_PORT")
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(
        {
            "HARBOR_VAR_DIR": str(var_dir),
            "ORDERS_DATABASE_URL": f"sqlite:///{var_dir / 'orders.sqlite3'}",
            "IP_CONNECTIONS_PER_MINUTE": "1000000",
            "CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
            "SOCKET_FRAMES_PER_SECOND": "1000000",
            "BOT_TURN_TIMEOUT_SECONDS": "60",
        }
    )
    output = var_dir / "launcher.out"
    launcher = spawn([str(RASA_PYTHON), "-m", "bot.launcher"], env, output)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise RuntimeError(f"the launcher exited: {output.read_text()[-2000:]}")
        if "Harbor Assist is running." in output.read_text():
            return Stack(
                launcher,
                f"http://127.0.0.1:{ports['HANDOFF_PORT']}",
                f"http://127.0.0.1:{ports['RASA_PORT']}",
                f"redis://127.0.0.1:{ports['PRIVATE_REDIS_PORT']}/0",
                var_dir,
            )
        await asyncio.sleep(0.5)
    stop(launcher, signal.SIGINT)
    raise RuntimeError("the stack did not start in time")


def is_answer(frame: Frame) -> bool:
    # The bot answered, or the turn ended in an escalation instead of an answer.
    return frame.get("type") == "event" and (
        frame.get("from") == "bot"
        or frame.get("event") in {"offer_leave_message"}
        or (frame.get("event") == "state" and frame.get("state") == "queued")
    )


async def direct_conversation(
    session: aiohttp.ClientSession, rasa_url: str, turns: int, sample: Sample
) -> None:
    sender = secrets.token_hex(16)
    for turn in range(turns):
        text = ROUTINE_QUESTIONS[turn % len(ROUTINE_QUESTIONS)]
        t0 = time.perf_counter()
        try:
            async with session.post(
                f"{rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                timeout=aiohttp.ClientTimeout(total=120),
            ) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        if ok:
            sample.latencies.append(time.perf_counter() - t0)
        else:
            sample.failures += 1


async def gateway_conversation(
    session: aiohttp.ClientSession, base: str, turns: int, sample: Sample
) -> None:
    customer, _ = await open_customer(session, base)
    try:
        for turn in range(turns):
            text = ROUTINE_QUESTIONS[turn % len(ROUTINE_QUESTIONS)]
            answered = customer.expect(is_answer)
            t0 = time.perf_counter()
            await customer.send({"type": "message", "id": f"t{turn}", "text": text})
            try:
                frame = await asyncio.wait_for(answered, 120)
            except asyncio.TimeoutError:
                sample.failures += 1
                continue
            if frame.get("from") == "bot" and "trouble answering" not in frame.get("text", ""):
                sample.latencies.append(time.perf_counter() - t0)
            else:
                sample.failures += 1  # escalated or apologised: not a bot turn
                return
    finally:
        await customer.close()


async def gateway_at(url: str, session: aiohttp.ClientSession, turns: int, sample: Sample) -> None:
    await gateway_conversation(session, url, turns, sample)


async def bot_turns(scale: Scale, tmp: Path, codes: Sequence[Code]) -> None:
    emit("### Bot turn: gateway websocket vs Rasa's REST webhook (real Rasa, trained model)")
    emit()
    started = time.monotonic()
    stack = await start_stack(tmp / "stack")
    services: list[Service] = []
    try:
        emit(f"_stack started by bot/launcher in {time.monotonic() - started:.0f} s_")
        secret = (stack.var_dir / "handoff-secret").read_text().strip()
        token = (stack.var_dir / "rasa-token").read_text().strip()
        no_triage = await start_service(
            stack.redis_url,
            stack.rasa_url,
            tmp / "no-triage",
            secret,
            RASA_TOKEN=token,
            TRIAGE_ENABLED="0",
        )
        services.append(no_triage)
        paths: dict[str, Callable[[aiohttp.ClientSession, int, Sample], Awaitable[None]]] = {
            "Rasa REST webhook (baseline)": lambda s, n, out: direct_conversation(
                s, stack.rasa_url, n, out
            ),
            "gateway websocket, triage on": lambda s, n, out: gateway_conversation(
                s, stack.url, n, out
            ),
            "gateway websocket, triage off": lambda s, n, out: gateway_conversation(
                s, no_triage.url, n, out
            ),
        }
        # The other codes' gateways, triage on, beside the stack's on the same Rasa and Redis.
        for code in codes:
            if code is CURRENT:
                continue
            other = await start_service(
                stack.redis_url,
                stack.rasa_url,
                tmp / code.name.replace(" ", "-"),
                secret,
                code,
                RASA_TOKEN=token,
            )
            services.append(other)
            paths[f"gateway websocket, triage on, {code.name}"] = functools.partial(
                gateway_at, other.url
            )
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for run in paths.values():  # warm up Rasa's graph and each path
                await run(session, 4, Sample())
            rows = []
            by_level: dict[int, dict[str, tuple[Sample, Sample]]] = {}
            for level in scale.levels:
                turns = scale.turns_at[level]
                results: dict[str, Sample] = {}
                for name, run in paths.items():
                    sample = Sample(expected=level * turns)
                    t0 = time.perf_counter()
                    await asyncio.gather(*[run(session, turns, sample) for _ in range(level)])
                    sample.elapsed = time.perf_counter() - t0
                    results[name] = sample
                base = next(iter(results.values()))
                by_level[level] = {name: (sample, base) for name, sample in results.items()}
                for name, sample in results.items():
                    rows.append(
                        [
                            str(level),
                            name,
                            f"{len(sample.latencies)}/{sample.expected}",
                            ms(sample.p50_ms),
                            ms(sample.p99_ms),
                            f"{sample.rate:.1f}",
                            ratio(sample.p50_ms, base.p50_ms),
                            ratio(sample.p99_ms, base.p99_ms),
                            ratio(base.rate, sample.rate),
                        ]
                    )
        emit()
        emit(
            table(
                [
                    "concurrent conversations",
                    "path",
                    "turns ok",
                    "p50 ms",
                    "p99 ms",
                    "messages/s",
                    "p50 ÷ baseline",
                    "p99 ÷ baseline",
                    "time per message ÷ baseline",
                ],
                rows,
            )
        )
        emit()
        emit(
            "Closed loop: each conversation sends its next question when the answer arrived. "
            "Through the gateway a turn is the customer's send until the first bot message on "
            "the socket (stored in the transcript first); the baseline is the webhook's whole "
            "HTTP answer. Aim: gateway ÷ baseline ≤ 1.1×. "
            + machine_note()
            + " Rasa, the action server and Redis share them too."
        )
        emit()
        summarise_bot_turns(by_level, codes)
    finally:
        for service in services:
            stop(service.process)
        stop(stack.launcher, signal.SIGINT)


def summarise_bot_turns(
    by_level: dict[int, dict[str, tuple[Sample, Sample]]], codes: Sequence[Code]
) -> None:
    """The issue's bot-turn rows: the gateway (triage on) of each code ÷ the webhook."""

    def path_of(code: Code) -> str:
        suffix = "" if code is CURRENT else f", {code.name}"
        return f"gateway websocket, triage on{suffix}"

    def figure(level: int, code: Code, what: str) -> str:
        found = by_level.get(level, {}).get(path_of(code))
        if found is None:
            return "–"
        sample, base = found
        if what == "p50":
            return ratio(sample.p50_ms, base.p50_ms)
        if what == "p99":
            return ratio(sample.p99_ms, base.p99_ms)
        return ratio(base.rate, sample.rate)

    levels = sorted(by_level)
    for what, label, goal in (
        ("p50", "p50", "≤ 1.1×"),
        ("rate", "time per message", "≤ 1.1×"),
        ("p99", "p99", "≤ 1.2×"),
    ):
        summarise(
            f"bot turn, gateway ÷ Rasa webhook, {label}, {' / '.join(map(str, levels))} "
            "conversations",
            goal,
            {code.name: " / ".join(figure(n, code, what) for n in levels) for code in codes},
        )
