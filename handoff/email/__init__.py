"""Email as a second channel of a conversation.

Outbound mail (an outbox in Redis, sent by a background sender with
aiosmtplib and retried with backoff), inbound mail (an aiosmtpd server
inside the service), and the signed reply addresses that thread a
customer's email reply back into the same conversation.
"""
