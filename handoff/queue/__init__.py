"""The live-agent queue: escalations, the handoff packet, waiting and the wait estimate, tickets."""
