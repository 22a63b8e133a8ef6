"""The shop's order store, shared by the assistant's actions and the handoff service.

The actions look an order up for a customer once they prove it is theirs; the agent console looks
the same order up for staff (handoff/console/orders.py). Both read one database through one
module, so what an agent sees is what the assistant told the customer. It needs SQLAlchemy only
(1.4 in the Rasa environment, 2.0 in the service's), never rasa or aiohttp.
"""
