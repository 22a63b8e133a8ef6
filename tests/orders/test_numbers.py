"""Which order numbers a conversation mentions."""

from __future__ import annotations

from orders.numbers import is_order_number, order_numbers_in


def test_prefixed_numbers_are_found_in_any_spelling_once_each_in_order() -> None:
    texts = ["my order hg 10042 and HG10007", "still HG-10042?", "Order HG-10001 has shipped."]
    assert order_numbers_in(texts) == ["HG-10042", "HG-10007", "HG-10001"]


def test_bare_numbers_and_longer_numbers_are_not_orders() -> None:
    assert order_numbers_in(["zip 94110", "card 4111111111111111", "HG-100423", "xhg10042"]) == []


def test_only_the_canonical_form_is_an_order_number() -> None:
    assert is_order_number("HG-10042")
    assert not any(is_order_number(v) for v in ("hg-10042", "HG10042", "HG-1004", "HG-10042 "))
