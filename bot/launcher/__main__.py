"""`python -m bot.launcher` (what `make run` runs)."""

from bot.launcher.main import run

raise SystemExit(run())
