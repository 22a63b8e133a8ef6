"""Harbor Assist's custom actions: FAQ fallback, order status with verification, handoff.

Thin action classes (faq_fallback, order_status, handoff) over pure helpers (parsing, replies,
faq_topics); orders come from the shared order store (orders/store.py). Imports rasa_sdk, never
rasa.
"""
