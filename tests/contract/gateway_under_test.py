"""The shape every gateway in the contract suite is handed to the tests in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sunap.application.ports.gateway import PaymentGateway
from sunap.domain.payment import PaymentMethod

# `await pay_in_window(order_id, amount, method, fail_with)` → the paymentKey to confirm.
PayInWindow = Callable[[str, int, PaymentMethod, str | None], Awaitable[str]]
GatewayUnderTest = tuple[PaymentGateway, PayInWindow]
