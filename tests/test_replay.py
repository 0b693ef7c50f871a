"""Every recorded history must replay against today's workflow code, with the production
data converter. A failure here means a change would strand running workflows."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core.temporal import DATA_CONVERTER
from statewright.flows import FLOWS
from tests.nondeterministic_workflow import ClockReadingNoop
from tests.record_histories import FROZEN, SCENARIOS
from worker.flows import workflows_of
from worker.main import WORKFLOW_RUNNER

HISTORIES = Path(__file__).parent / "histories"


def test_every_branch_has_a_history() -> None:
    """Every scenario and every frozen history has its file, and every file is one of them:
    a history nobody can record again is either frozen, on purpose, or gone."""
    recorded = {path.stem for path in HISTORIES.glob("*.json")}
    expected = set(SCENARIOS) | set(FROZEN)
    assert expected <= recorded, f"missing histories: {expected - recorded}"
    assert recorded <= expected, f"histories of no scenario: {recorded - expected}"


SANDBOX = SandboxedWorkflowRunner(
    # jsonata-python keeps per-thread state (threading.local); its evaluation is deterministic
    # given its bindings (workflows/asl/jsonata_eval.py), so it runs as it is, like the SDK.
    restrictions=SandboxRestrictions.default.with_passthrough_modules("jsonata")
)
RUNNERS = {"production": WORKFLOW_RUNNER, "sandboxed": SANDBOX}
"""Production runs workflows unsandboxed; the sandbox also refuses non-deterministic calls
(the clock, random, I/O) that a plain replay of a recorded history would not notice."""


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_history_replays(path: Path, runner: str) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())  # noqa: ASYNC240
    replayer = Replayer(
        workflows=workflows_of(FLOWS),
        data_converter=DATA_CONVERTER,
        workflow_runner=RUNNERS[runner],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_history_carries_no_stack_traces(path: Path) -> None:
    """Stack traces hold the recording machine's paths; the recorder leaves them out."""
    assert '"stackTrace"' not in path.read_text()


async def test_the_sandboxed_replay_catches_what_the_plain_one_cannot() -> None:
    path = HISTORIES / "bench_noop.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    outcomes = {}
    for name, runner in RUNNERS.items():
        replayer = Replayer(
            workflows=[ClockReadingNoop], data_converter=DATA_CONVERTER, workflow_runner=runner
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        outcomes[name] = result.replay_failure
    assert outcomes["production"] is None
    assert outcomes["sandboxed"] is not None
    assert "datetime.datetime.now" in str(outcomes["sandboxed"])
