"""Validate, Charge and Record: the three steps of order processing (seed 002)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.business_metrics import count
from activities.payment_provider import (
    PaymentDeclined,
    PaymentProvider,
    ProviderUnavailable,
    payment_id_for,
)
from core.db import SessionFactory
from core.models import OrderRecordRow, PaymentRow
from workflows.contracts import (
    INVALID_ORDER,
    PAYMENT_CONFLICT,
    PAYMENT_DECLINED,
    PROVIDER_UNAVAILABLE,
    ChargedOrder,
    PaymentOrder,
    ProcessedOrder,
    RecordRequest,
    ValidatedOrder,
)


class PaymentActivities:
    """Holds the session factory and the payment provider the steps need."""

    def __init__(self, sessions: SessionFactory, provider: PaymentProvider) -> None:
        self._sessions = sessions
        self._provider = provider

    @activity.defn(name="validate_order")
    async def validate_order(self, order: PaymentOrder) -> ValidatedOrder:
        """The business rule lives here, not in the API: the amount must be positive."""
        if order.amount <= 0:
            raise ApplicationError(
                "amount must be greater than 0", type=INVALID_ORDER, non_retryable=True
            )
        return ValidatedOrder(**order.model_dump(), validated=True)

    @activity.defn(name="charge_payment")
    async def charge_payment(self, order: ValidatedOrder) -> ChargedOrder:
        """Charge at most once per order, however often this runs.

        The payment row is unique per order. A crash after the provider charged but before the
        row was written is safe too: the retry sends the same idempotency key (the payment
        id), and the provider returns the first charge.
        """
        async with self._sessions() as session:
            existing = await session.get(PaymentRow, order.order_id)
        if existing is None:
            payment_id = payment_id_for(order.order_id)
            try:
                charge = await self._provider.charge(order.order_id, order.amount, payment_id)
            except PaymentDeclined as err:
                count("statewright_payments_declined")
                raise ApplicationError(str(err), type=PAYMENT_DECLINED, non_retryable=True) from err
            except ProviderUnavailable as err:
                raise ApplicationError(str(err), type=PROVIDER_UNAVAILABLE) from err
            async with self._sessions.begin() as session:
                written = await session.scalar(
                    insert(PaymentRow)
                    .values(
                        order_id=order.order_id, payment_id=charge.payment_id, amount=charge.amount
                    )
                    .on_conflict_do_nothing()
                    .returning(PaymentRow.order_id)
                )
                existing = await session.get(PaymentRow, order.order_id)
            assert existing is not None
            if written is not None:
                count("statewright_payments_charged")
                count("statewright_payments_charged_cents", int(charge.amount * 100))
        if existing.amount != order.amount:
            raise ApplicationError(
                f"order {order.order_id} was already charged {existing.amount}; "
                f"refusing a second charge of {order.amount}",
                type=PAYMENT_CONFLICT,
                non_retryable=True,
            )
        return ChargedOrder(**order.model_dump(), payment_id=existing.payment_id, charged=True)

    @activity.defn(name="record_order")
    async def record_order(self, request: RecordRequest) -> ProcessedOrder:
        """Save the processed order once; a retry returns the first record's time."""
        order = request.order
        async with self._sessions.begin() as session:
            await session.execute(
                insert(OrderRecordRow)
                .values(
                    order_id=order.order_id,
                    amount=order.amount,
                    payment_id=order.payment_id,
                    workflow_id=request.workflow_id,
                )
                .on_conflict_do_nothing()
            )
            recorded_at = await session.scalar(
                select(OrderRecordRow.recorded_at).where(OrderRecordRow.order_id == order.order_id)
            )
        assert recorded_at is not None
        return ProcessedOrder(**order.model_dump(), recorded_at=recorded_at)
