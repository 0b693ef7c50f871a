"""ARNs shaped like AWS's, with the region and account this deployment is configured with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from api.sfn.errors import SfnError

_ROLE: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


@dataclass(frozen=True)
class Arns:
    region: str
    account: str

    @property
    def _prefix(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}"

    def state_machine(self, name: str) -> str:
        return f"{self._prefix}:stateMachine:{name}"

    def execution(self, machine: str, name: str) -> str:
        return f"{self._prefix}:execution:{machine}:{name}"

    def activity(self, name: str) -> str:
        return f"{self._prefix}:activity:{name}"

    def state_machine_name(self, arn: str) -> str:
        """The name in a state machine's ARN; `InvalidArn` for anything else."""
        kind, parts = self._split(arn)
        if kind != "stateMachine" or len(parts) != 1:
            raise SfnError(
                "InvalidArn",
                f"Invalid Arn: 'Resource type not valid in this context: {kind}'"
                if kind
                else f"Invalid Arn: '{arn}'",
            )
        return parts[0]

    def execution_names(self, arn: str) -> tuple[str, str]:
        """`(state machine, execution)` named by an execution's ARN."""
        kind, parts = self._split(arn)
        if kind != "execution" or len(parts) != 2:
            raise SfnError("InvalidArn", f"Invalid Arn: '{arn}'")
        return parts[0], parts[1]

    def activity_name(self, arn: str) -> str:
        kind, parts = self._split(arn)
        if kind != "activity" or len(parts) != 1:
            raise SfnError("InvalidArn", f"Invalid Arn: '{arn}'")
        return parts[0]

    def _split(self, arn: str) -> tuple[str, list[str]]:
        fields = arn.split(":")
        if len(fields) < 7 or fields[:3] != ["arn", "aws", "states"] or not all(fields):
            raise SfnError("InvalidArn", f"Invalid Arn: '{arn}'")
        if fields[3] != self.region or fields[4] != self.account:
            # Another region's or account's resource cannot be here.
            raise SfnError("InvalidArn", f"Invalid Arn: 'Unknown region or account: {arn}'")
        return fields[5], fields[6:]


def check_role(arn: str) -> str:
    if not _ROLE.fullmatch(arn):
        raise SfnError("InvalidArn", f"Invalid Arn: 'Role ARN is not valid: {arn}'")
    return arn
