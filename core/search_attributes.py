"""The search attributes that index runs by business id, in the API and the Temporal UI.

`OrderId` (an order's runs), `PaymentOrderId` (the payment runs of an order), `CaseId`
(a case's runs), and `StateMachineName` and `ExecutionName` (a state machine's executions)
are set when a run starts. A Temporal server must know them first: the dev
server is started with them, and `ensure_search_attributes` registers them on any other
(the worker, `statewright up` and `statewright schedules apply` all call it).
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

log = logging.getLogger(__name__)

ORDER_ID = SearchAttributeKey.for_keyword("OrderId")
PAYMENT_ORDER_ID = SearchAttributeKey.for_keyword("PaymentOrderId")
CASE_ID = SearchAttributeKey.for_keyword("CaseId")
STATE_MACHINE = SearchAttributeKey.for_keyword("StateMachineName")
"""The state machine an execution runs (`ListExecutions`; the Temporal UI's filter)."""
EXECUTION_NAME = SearchAttributeKey.for_keyword("ExecutionName")
"""An execution's name, as given to `StartExecution`."""
ALL: tuple[SearchAttributeKey[str], ...] = (
    ORDER_ID,
    PAYMENT_ORDER_ID,
    CASE_ID,
    STATE_MACHINE,
    EXECUTION_NAME,
)


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that register them at start."""
    return [flag for key in ALL for flag in ("--search-attribute", f"{key.name}=Keyword")]


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register whichever are missing on the client's namespace; returns their names."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = [key.name for key in ALL if key.name not in known]
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing
                },
            )
        )
        log.info("registered search attributes %s", ", ".join(missing))
    return missing
