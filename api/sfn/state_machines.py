"""State machine operations: create, describe, update (every revision kept), delete, list,
and validate a definition. Definitions are checked as `CreateStateMachine` checks them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.sfn import shapes
from api.sfn.arns import check_role
from api.sfn.context import Sfn
from api.sfn.errors import SfnError, validation
from core.models import StateMachineRevisionRow, StateMachineRow
from workflows.asl.validate import InvalidDefinition, check_definition, validate_definition

MAX_DEFINITION = 1024 * 1024
TYPES = ("STANDARD", "EXPRESS")
LOGGING_OFF = {"level": "OFF", "includeExecutionData": False}
TRACING_OFF = {"enabled": False}


def _definition(params: dict[str, Any]) -> str:
    text = shapes.required(params, "definition", max_length=MAX_DEFINITION)
    try:
        check_definition(text)
    except InvalidDefinition as err:
        raise SfnError("InvalidDefinition", str(err)) from None
    return text


def _type(params: dict[str, Any]) -> str:
    kind = shapes.string(params, "type") or "STANDARD"
    if kind not in TYPES:
        raise validation(
            f"1 validation error detected: Value '{kind}' at 'type' failed to satisfy "
            "constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        )
    return kind


async def load(sfn: Sfn, arn: str) -> StateMachineRow:
    """The state machine `arn` names; `StateMachineDoesNotExist` if there is none."""
    name = sfn.arns.state_machine_name(arn)
    async with sfn.sessions() as session:
        row = await session.get(StateMachineRow, name)
    if row is None:
        raise SfnError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    return row


async def load_for_start(sfn: Sfn, arn: str) -> tuple[StateMachineRow, dict[str, Any]]:
    """The machine and its parsed definition, from the cache when a start read it just now."""
    name = sfn.arns.state_machine_name(arn)
    cached = sfn.machines.get(name)
    if cached is not None:
        return cached
    row = await load(sfn, arn)
    definition: dict[str, Any] = json.loads(row.definition)
    sfn.machines.put(name, row, definition)
    return row, definition


async def create(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    name = shapes.check_name(shapes.required(params, "name"), "state machine")
    definition = _definition(params)
    role = check_role(shapes.required(params, "roleArn"))
    kind = _type(params)
    now = datetime.now(UTC)
    row = StateMachineRow(
        name=name,
        type=kind,
        definition=definition,
        role_arn=role,
        revision_id=str(uuid.uuid4()),
        description=None,
        logging_configuration=params.get("loggingConfiguration"),
        tracing_configuration=params.get("tracingConfiguration"),
        created_at=now,
        updated_at=now,
    )
    arn = sfn.arns.state_machine(name)
    try:
        async with sfn.sessions.begin() as session:
            session.add(row)
            await session.flush()
            session.add(_revision(row))
    except IntegrityError:
        async with sfn.sessions() as session:
            existing = await session.get(StateMachineRow, name)
        # AWS: creating the same machine again is idempotent; a different one is refused.
        if existing is not None and (existing.definition, existing.role_arn, existing.type) == (
            definition,
            role,
            kind,
        ):
            return {"stateMachineArn": arn, "creationDate": shapes.epoch(existing.created_at)}
        raise SfnError(
            "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
        ) from None
    return {"stateMachineArn": arn, "creationDate": shapes.epoch(now)}


def _revision(row: StateMachineRow) -> StateMachineRevisionRow:
    return StateMachineRevisionRow(
        name=row.name,
        revision_id=row.revision_id,
        definition=row.definition,
        role_arn=row.role_arn,
        created_at=row.updated_at,
    )


def described(sfn: Sfn, row: StateMachineRow) -> dict[str, Any]:
    return {
        "stateMachineArn": sfn.arns.state_machine(row.name),
        "name": row.name,
        "status": "ACTIVE",
        "definition": row.definition,
        "roleArn": row.role_arn,
        "type": row.type,
        "creationDate": shapes.epoch(row.created_at),
        "loggingConfiguration": row.logging_configuration or LOGGING_OFF,
        "tracingConfiguration": row.tracing_configuration or TRACING_OFF,
        "revisionId": row.revision_id,
    }


async def describe(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    return described(sfn, await load(sfn, shapes.required(params, "stateMachineArn")))


async def update(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "stateMachineArn")
    changes = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
    if not any(params.get(member) is not None for member in changes):
        raise SfnError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the "
            "TracingConfiguration must be specified",
        )
    definition = _definition(params) if params.get("definition") is not None else None
    role = check_role(shapes.required(params, "roleArn")) if params.get("roleArn") else None
    name = sfn.arns.state_machine_name(arn)
    now = datetime.now(UTC)
    async with sfn.sessions.begin() as session:
        row = await session.get(StateMachineRow, name, with_for_update=True)
        if row is None:
            raise SfnError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        sfn.machines.forget(name)
        if definition is not None:
            row.definition = definition
        if role is not None:
            row.role_arn = role
        if params.get("loggingConfiguration") is not None:
            row.logging_configuration = params["loggingConfiguration"]
        if params.get("tracingConfiguration") is not None:
            row.tracing_configuration = params["tracingConfiguration"]
        row.revision_id = str(uuid.uuid4())
        row.updated_at = now
        session.add(_revision(row))
    return {"updateDate": shapes.epoch(now), "revisionId": row.revision_id}


async def delete(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "stateMachineArn")
    name = sfn.arns.state_machine_name(arn)
    async with sfn.sessions.begin() as session:
        row = await session.get(StateMachineRow, name)
        # AWS: deleting a machine that is gone already succeeds; running executions go on.
        sfn.machines.forget(name)
        if row is not None:
            await session.delete(row)
    return {}


async def list_machines(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    limit, after = shapes.page_after(params)
    async with sfn.sessions() as session:
        rows = (
            await session.scalars(
                select(StateMachineRow)
                .where(StateMachineRow.name > after)
                .order_by(StateMachineRow.name)
                .limit(limit + 1)
            )
        ).all()
    return {
        "stateMachines": [
            {
                "stateMachineArn": sfn.arns.state_machine(row.name),
                "name": row.name,
                "type": row.type,
                "creationDate": shapes.epoch(row.created_at),
            }
            for row in rows[:limit]
        ],
        **shapes.next_token([row.name for row in rows], limit),
    }


async def validate(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    text = shapes.required(params, "definition", max_length=MAX_DEFINITION)
    _type(params)
    problems = validate_definition(text)
    return {
        "result": "FAIL" if problems else "OK",
        "diagnostics": [
            {
                "severity": "ERROR",
                "code": problem.code,
                "message": problem.message,
                "location": problem.location,
            }
            for problem in problems
        ],
        "truncated": False,
    }
