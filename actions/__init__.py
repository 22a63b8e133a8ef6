"""Harbor Assist's custom actions: FAQ fallback, order status with verification, handoff.

Thin action classes (faq_fallback, order_status, handoff) over pure helpers (parsing, replies,
faq_topics) and one storage module (order_store). Imports rasa_sdk, never rasa.
"""
