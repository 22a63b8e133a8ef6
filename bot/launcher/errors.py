"""The one exception the launcher reports to the user."""


class LaunchError(Exception):
    """A problem the user can fix; the message is the one sentence we print."""
