"""Privacy and retention from the command line, for admins with access to the servers:

    python -m handoff.archive export (--email ADDRESS | --order HG-10042) [--out FILE]
    python -m handoff.archive erase (--email ADDRESS | --order HG-10042) --actor NAME --yes
    python -m handoff.archive purge          # apply ARCHIVE_RETENTION_DAYS now

It reads the service's settings (REDIS_URL, REDIS_PREFIX, ARCHIVE_DATABASE_URL, ...) from the
environment, as the service does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis

from handoff.archive.database import migrate, open_engine
from handoff.archive.privacy import Privacy
from handoff.archive.service import ARCHIVE_OFF
from handoff.archive.store import ArchiveStore, Subject
from handoff.conversations.keys import Keys
from handoff.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handoff.archive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("export", "write everything held about a customer as one JSON document"),
        ("erase", "erase everything held about a customer, everywhere"),
    ):
        command = commands.add_parser(name, help=help_text)
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--email")
        who.add_argument("--order", help="an order number, like HG-10042")
        if name == "export":
            command.add_argument("--out", help="file to write (default: standard output)")
        else:
            command.add_argument("--actor", required=True, help="who erases (recorded)")
            command.add_argument("--yes", action="store_true", help="confirm the erasure")
    commands.add_parser("purge", help="delete archived conversations past ARCHIVE_RETENTION_DAYS")
    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    archive = None
    if settings.archive_database_url != ARCHIVE_OFF:
        engine = open_engine(settings.archive_database_url)
        await asyncio.to_thread(migrate, engine)
        archive = ArchiveStore(engine)
    if args.command == "purge":
        if archive is None or settings.archive_retention_days <= 0:
            print("nothing to purge: no archive, or ARCHIVE_RETENTION_DAYS=0")
            return 0
        purged = await asyncio.to_thread(archive.purge, settings.archive_retention_days)
        print(f"{purged} archived conversations deleted")
        return 0
    subject = Subject.of(email=args.email, order_number=args.order)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        privacy = Privacy(redis, Keys(settings.redis_prefix), archive, settings.teams)
        if args.command == "export":
            document = json.dumps(await privacy.export(subject), indent=2, sort_keys=True)
            if args.out:
                await asyncio.to_thread(Path(args.out).write_text, document + "\n", "utf-8")
            else:
                print(document)
            return 0
        if not args.yes:
            print("error: erasing cannot be undone; add --yes to confirm", file=sys.stderr)
            return 2
        print(json.dumps(await privacy.erase(subject, actor=args.actor), sort_keys=True))
        return 0
    finally:
        await redis.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
