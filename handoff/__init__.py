"""Harbor Assist handoff service."""
