"""`python -m bot <area> ...`: the assistant's command line (today: `faq`)."""

from __future__ import annotations

import signal
import sys

from bot.faq.cli import main as faq_main

USAGE = "usage: bot faq {list,show,add,edit,remove,validate,publish,rollback,history} [--help]"


def main(argv: list[str]) -> int:
    # `bot faq list | head` should stop quietly, like other command-line tools.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    if argv[0] == "faq":
        return faq_main(argv[1:])
    print(f"bot: unknown area '{argv[0]}'\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
