"""The durable conversation archive: every conversation's transcript, handoff packet, outcome,
tags, notes and rating in SQL (SQLite by default, PostgreSQL by URL; Alembic owns the schema),
kept after Redis lets the live conversation go. Agents search it, the dashboard's long-range
figures come from it, and an admin exports or erases a customer's data in it.
"""
