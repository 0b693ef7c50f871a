"""ORM rows. The schema itself is created only by the Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID_LENGTH = 64


class Base(DeclarativeBase):
    pass


class StoreItemRow(Base):
    __tablename__ = "store_items"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    stock: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StockAdjustmentRow(Base):
    """A stock change made by hand (create or replace), kept so the ledger can be reconciled."""

    __tablename__ = "stock_adjustments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("store_items.item_id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    stock_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderRow(Base):
    __tablename__ = "orders"
    # `status` holds a `workflows.contracts.OrderStatus`; migration 0001 constrains it to them
    # (tests/test_migrations.py checks the two agree).

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines: Mapped[list[OrderLineRow]] = relationship(
        order_by="OrderLineRow.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="line_quantity_positive"),
        UniqueConstraint("order_id", "item_id", name="uq_order_lines_item"),
    )

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("store_items.item_id"))
    quantity: Mapped[int] = mapped_column(Integer)


class StockLedgerRow(Base):
    """One row per (order, item): the key that makes a decrement and its compensation idempotent.

    ``reserved`` means the stock was taken; ``released`` means it was given back, or that the
    compensation ran first and so a late decrement for this order must not take it at all.
    """

    __tablename__ = "stock_ledger"
    __table_args__ = (
        CheckConstraint("state IN ('reserved', 'released')", name="ledger_state"),
        CheckConstraint("quantity > 0", name="ledger_quantity_positive"),
    )

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("store_items.item_id"), primary_key=True, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    stock_after: Mapped[int | None] = mapped_column(Integer)
    reserved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PaymentRow(Base):
    """One row per charged order: the unique key that stops a second charge."""

    __tablename__ = "payments"

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    charged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderRecordRow(Base):
    """The Record step's row: the processed order, as the seed saves it."""

    __tablename__ = "order_records"

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    payment_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    workflow_id: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class WebhookEventRow(Base):
    """A received webhook payload, one row per run."""

    __tablename__ = "webhook_events"

    workflow_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SupportCaseRow(Base):
    """A support case as it stands now; `case_events` holds how it got here."""

    __tablename__ = "support_cases"
    # `status` holds a `workflows.contracts.CaseStatus`; migration 0005 constrains it to them
    # (tests/test_migrations.py checks the two agree).
    __table_args__ = (
        Index(
            "ix_support_cases_awaiting_tier2",
            "updated_at",
            postgresql_where=text("status = 'AWAITING_TIER2'"),
        ),
    )

    case_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    workflow_id: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CaseEventRow(Base):
    """One status change of a case, written once per (run, step) however often a step retries."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_case_events_run_step"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("support_cases.case_id"), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportRow(Base):
    """A request to the reporting API: generated once it is due, then kept as CSV."""

    __tablename__ = "reports"
    # `status` holds a `workflows.contracts.ReportState`; migration 0004 constrains it to them.

    report_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ready_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    generated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    row_count: Mapped[int | None] = mapped_column(Integer)
    csv: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


NAME_LENGTH = 80
"""AWS's limit on the name of a state machine, an execution or an activity."""


class StateMachineRow(Base):
    """A state machine of the Step Functions API, with its current definition."""

    __tablename__ = "state_machines"
    __table_args__ = (
        CheckConstraint("type IN ('STANDARD', 'EXPRESS')", name="state_machine_type"),
    )

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    definition: Mapped[str] = mapped_column(Text)
    role_arn: Mapped[str] = mapped_column(Text)
    revision_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    logging_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tracing_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StateMachineRevisionRow(Base):
    """Every definition a state machine has had; executions name theirs by revision id."""

    __tablename__ = "state_machine_revisions"

    name: Mapped[str] = mapped_column(
        String(NAME_LENGTH),
        ForeignKey("state_machines.name", ondelete="CASCADE"),
        primary_key=True,
    )
    revision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)
    role_arn: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SfnActivityRow(Base):
    """An activity (`CreateActivity`): a queue of tasks that outside workers poll."""

    __tablename__ = "sfn_activities"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SfnActivityTaskRow(Base):
    """A task offered to an activity's workers; claimed by `GetActivityTask`."""

    __tablename__ = "sfn_activity_tasks"
    __table_args__ = (
        Index(
            "sfn_activity_tasks_waiting",
            "activity_name",
            "created_at",
            postgresql_where=text("claimed_at IS NULL"),
        ),
    )

    token: Mapped[str] = mapped_column(String(1024), primary_key=True)
    activity_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    input: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker_name: Mapped[str | None] = mapped_column(Text)
