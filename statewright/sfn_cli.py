"""`statewright sfn`: the Step Functions API from the shell, by state machine name.

A thin convenience over boto3's real client, for what people do most: create or update a
state machine from a file, start an execution and wait for it, read its history. Anything
else is one `aws stepfunctions ... --endpoint-url` away (README: Step Functions).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings

DEV_ROLE = "arn:aws:iam::{account}:role/statewright"
"""The role ARN a state machine gets when none is given: Statewright does not use it."""


def add_parser(sub: Any, handler: Any) -> None:
    """Register `sfn` and its actions on the `statewright` parser."""
    sfn = sub.add_parser(
        "sfn",
        help="create, run and inspect state machines through the Step Functions API",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    sfn.add_argument(
        "--endpoint-url",
        help="the API (default: this machine's, at STATEWRIGHT_API_HOST:STATEWRIGHT_API_PORT)",
    )
    actions = sfn.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        parser.set_defaults(handler=handler, sfn_action=name)
        return parser

    deploy = action("deploy", "create a state machine from a JSON file, or update it")
    deploy.add_argument("name")
    deploy.add_argument("definition", type=Path, help="the ASL definition, a JSON file")
    deploy.add_argument("--type", choices=["STANDARD", "EXPRESS"], default="STANDARD")
    deploy.add_argument("--role-arn", help="kept and shown, as AWS keeps it; not used here")
    validate = action("validate", "check a definition as CreateStateMachine would")
    validate.add_argument("definition", type=Path)
    action("list", "list the state machines")
    action(
        "seed",
        "register the seeds' five state machines (create, update or leave each as it is)",
    )
    start = action("start", "start an execution; with --wait, print how it ended")
    start.add_argument("name", help="the state machine's name")
    start.add_argument("--input", default="{}", help="JSON text, or @FILE")
    start.add_argument("--execution-name", help="idempotent while the execution runs")
    start.add_argument(
        "--wait", action="store_true", help="wait for the end (exit 1 unless it succeeds)"
    )
    executions = action("executions", "list a state machine's executions, newest first")
    executions.add_argument("name")
    executions.add_argument(
        "--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    )
    describe = action("describe", "show an execution")
    describe.add_argument("execution", help="its ARN, or MACHINE:NAME")
    history = action("history", "print an execution's events, one line each")
    history.add_argument("execution", help="its ARN, or MACHINE:NAME")
    stop = action("stop", "stop a running execution")
    stop.add_argument("execution", help="its ARN, or MACHINE:NAME")
    stop.add_argument("--error")
    stop.add_argument("--cause")


class Sfn:
    """boto3's client for this deployment, and its ARNs."""

    def __init__(self, settings: Settings, endpoint_url: str | None) -> None:
        import boto3
        from botocore.config import Config

        host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
        self.endpoint = endpoint_url or f"http://{host}:{settings.api_port}"
        self.region, self.account = settings.aws_region, settings.aws_account
        self.client = boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoint,
            region_name=self.region,
            # A dev stack takes any signature; with credentials on, set AWS_ACCESS_KEY_ID and
            # AWS_SECRET_ACCESS_KEY (or a profile) as for AWS.
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "statewright-dev"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "statewright-dev"),
            config=Config(inject_host_prefix=False, retries={"max_attempts": 3}),
        )

    def machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def execution_arn(self, text: str) -> str:
        if text.startswith("arn:"):
            return text
        machine, _, name = text.partition(":")
        if not name:
            raise SystemExit(f"name an execution by its ARN or as MACHINE:NAME, not {text!r}")
        return f"arn:aws:states:{self.region}:{self.account}:execution:{machine}:{name}"


def run(settings: Settings, args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    sfn = Sfn(settings, args.endpoint_url)
    try:
        return ACTIONS[args.sfn_action](sfn, args)
    except ClientError as err:
        error = err.response.get("Error", {})
        print(f"{error.get('Code', 'Error')}: {error.get('Message', err)}", file=sys.stderr)
        return 1
    except BotoCoreError as err:
        print(f"cannot reach the Step Functions API at {sfn.endpoint}: {err}", file=sys.stderr)
        return 1


def _definition(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as err:
        raise SystemExit(f"cannot read {path}: {err.strerror}") from None


def _show(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def deploy(sfn: Sfn, args: argparse.Namespace) -> int:
    definition = _definition(args.definition)
    role = args.role_arn or DEV_ROLE.format(account=sfn.account)
    arn = sfn.machine_arn(args.name)
    try:
        sfn.client.describe_state_machine(stateMachineArn=arn)
    except sfn.client.exceptions.StateMachineDoesNotExist:
        created = sfn.client.create_state_machine(
            name=args.name, definition=definition, roleArn=role, type=args.type
        )
        print(f"created {created['stateMachineArn']}")
        return 0
    updated = sfn.client.update_state_machine(stateMachineArn=arn, definition=definition)
    print(f"updated {arn} (revision {updated['revisionId']})")
    return 0


@dataclass(frozen=True)
class Registered:
    """What registering one seed's state machine did."""

    name: str
    outcome: str
    """created, updated or unchanged; or refused, with the reason in `detail`."""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "refused"

    def line(self) -> str:
        return f"{self.outcome:<9} {self.name}" + (f": {self.detail}" if self.detail else "")


def register_seeds(sfn: Sfn) -> list[Registered]:
    """Register every seed's state machine (`workflows.seeds`) under its name, with its type
    and its definition unmodified: create it if it is missing, update its definition if it
    differs, leave it be if it is the same. Running it again changes nothing.

    A machine of that name but of the other type cannot be updated (AWS does not change a
    machine's type): it is left as it is and reported refused. A client error (the API
    unreachable, access refused) is raised, for the caller to report.
    """
    from workflows.seeds import SEEDS

    return [_register(sfn, seed.name, seed.type, seed.definition_text()) for seed in SEEDS]


def _register(sfn: Sfn, name: str, kind: str, definition: str) -> Registered:
    arn = sfn.machine_arn(name)
    client = sfn.client
    try:
        current = client.describe_state_machine(stateMachineArn=arn)
    except client.exceptions.StateMachineDoesNotExist:
        role = DEV_ROLE.format(account=sfn.account)
        try:
            client.create_state_machine(name=name, definition=definition, roleArn=role, type=kind)
            return Registered(name, "created")
        except client.exceptions.StateMachineAlreadyExists:
            # Created meanwhile by someone else (another `up`): compare with theirs.
            current = client.describe_state_machine(stateMachineArn=arn)
    if current["type"] != kind:
        return Registered(
            name,
            "refused",
            f"it exists as a {current['type']} machine and the seed is {kind}; "
            "delete it to register the seed",
        )
    if current["definition"] == definition:
        return Registered(name, "unchanged")
    client.update_state_machine(stateMachineArn=arn, definition=definition)
    return Registered(name, "updated")


def seed(sfn: Sfn, _: argparse.Namespace) -> int:
    registered = register_seeds(sfn)
    for each in registered:
        print(each.line())
    return 0 if all(each.ok for each in registered) else 1


def validate(sfn: Sfn, args: argparse.Namespace) -> int:
    answer = sfn.client.validate_state_machine_definition(definition=_definition(args.definition))
    for diagnostic in answer["diagnostics"]:
        print(f"{diagnostic['code']}: {diagnostic['message']} at {diagnostic['location']}")
    print("valid" if answer["result"] == "OK" else "invalid")
    return 0 if answer["result"] == "OK" else 1


def list_machines(sfn: Sfn, _: argparse.Namespace) -> int:
    for page in sfn.client.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            print(f"{machine['name']}  {machine['type']}  {machine['stateMachineArn']}")
    return 0


def start(sfn: Sfn, args: argparse.Namespace) -> int:
    text = args.input
    if text.startswith("@"):
        text = _definition(Path(text[1:]))
    params: dict[str, Any] = {"stateMachineArn": sfn.machine_arn(args.name), "input": text}
    if args.execution_name:
        params["name"] = args.execution_name
    started = sfn.client.start_execution(**params)
    arn = started["executionArn"]
    print(arn)
    if not args.wait:
        return 0
    while True:
        described = sfn.client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.2)
    _show({k: described.get(k) for k in ("status", "output", "error", "cause") if k in described})
    return 0 if described["status"] == "SUCCEEDED" else 1


def executions(sfn: Sfn, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"stateMachineArn": sfn.machine_arn(args.name)}
    if args.status:
        params["statusFilter"] = args.status
    for page in sfn.client.get_paginator("list_executions").paginate(**params):
        for execution in page["executions"]:
            print(f"{execution['name']}  {execution['status']}  {execution['startDate']}")
    return 0


def describe(sfn: Sfn, args: argparse.Namespace) -> int:
    _show(sfn.client.describe_execution(executionArn=sfn.execution_arn(args.execution)))
    return 0


def history(sfn: Sfn, args: argparse.Namespace) -> int:
    arn = sfn.execution_arn(args.execution)
    for page in sfn.client.get_paginator("get_execution_history").paginate(executionArn=arn):
        for event in page["events"]:
            details: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            print(f"{event['id']:>4}  {event['type']:<28} {json.dumps(details, default=str)}")
    return 0


def stop(sfn: Sfn, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"executionArn": sfn.execution_arn(args.execution)}
    for key in ("error", "cause"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    sfn.client.stop_execution(**params)
    print("stopped")
    return 0


ACTIONS = {
    "deploy": deploy,
    "validate": validate,
    "list": list_machines,
    "seed": seed,
    "start": start,
    "executions": executions,
    "describe": describe,
    "history": history,
    "stop": stop,
}
