"""The payment provider, behind a small interface a real one (Stripe, Adyen...) could fill.

The simulated provider is the one fake in this project: the provider is external by design.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class PaymentDeclined(Exception):
    """The provider refused the charge. Retrying will not change its mind."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or failed transiently. Worth retrying."""


@dataclass(frozen=True)
class Charge:
    payment_id: str
    order_id: str
    amount: Decimal


class PaymentProvider(Protocol):
    async def charge(self, order_id: str, amount: Decimal, idempotency_key: str) -> Charge:
        """Charge once per idempotency key; a repeat returns the first charge."""
        ...


def payment_id_for(order_id: str) -> str:
    """Stable per order, so every retry and every repeat names the same payment."""
    return "pay_" + hashlib.sha256(order_id.encode()).hexdigest()[:24]


class SimulatedPaymentProvider:
    """Declines amounts over a limit; can fail the first N calls per order, to exercise retries.

    Like a real provider it honours idempotency keys: a repeated key returns the first charge
    and moves no money. `money_moved` counts real charges, so tests can prove none repeats.
    """

    def __init__(self, decline_above: Decimal, transient_failures: int = 0) -> None:
        self.decline_above = decline_above
        self.transient_failures = transient_failures
        self.money_moved: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._charges: dict[str, Charge] = {}
        self._lock = asyncio.Lock()

    async def charge(self, order_id: str, amount: Decimal, idempotency_key: str) -> Charge:
        async with self._lock:
            self._calls[order_id] += 1
            if self._calls[order_id] <= self.transient_failures:
                raise ProviderUnavailable(
                    f"simulated provider outage (call {self._calls[order_id]} "
                    f"of {self.transient_failures} set to fail)"
                )
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
            if amount > self.decline_above:
                raise PaymentDeclined(
                    f"payment declined: {amount} is over the limit of {self.decline_above}"
                )
            charge = Charge(payment_id=idempotency_key, order_id=order_id, amount=amount)
            self._charges[idempotency_key] = charge
            self.money_moved[order_id] += 1
            return charge
