"""What the activities need from the outside world: handed in by the worker, never looked up."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from activities.payment_provider import PaymentProvider
from core.db import SessionFactory
from core.publisher import PagePublisher


@dataclass
class Dependencies:
    """Everything the activities need from the outside world, handed in, never looked up."""

    sessions: SessionFactory
    provider: PaymentProvider
    reports_api_url: str
    publisher: PagePublisher
    rng: random.Random = field(default_factory=random.Random)
    reports_api_key: str | None = None
