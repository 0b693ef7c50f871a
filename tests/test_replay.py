"""Every recorded history must replay against today's workflow code, with the production
data converter. A failure here means a change would strand running workflows."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import DATA_CONVERTER
from statewright.flows import FLOWS
from tests.record_histories import FROZEN, SCENARIOS
from worker.flows import workflows_of

HISTORIES = Path(__file__).parent / "histories"


def test_every_branch_has_a_history() -> None:
    """Every scenario and every frozen history has its file, and every file is one of them:
    a history nobody can record again is either frozen, on purpose, or gone."""
    recorded = {path.stem for path in HISTORIES.glob("*.json")}
    expected = set(SCENARIOS) | set(FROZEN)
    assert expected <= recorded, f"missing histories: {expected - recorded}"
    assert recorded <= expected, f"histories of no scenario: {recorded - expected}"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())  # noqa: ASYNC240
    replayer = Replayer(workflows=workflows_of(FLOWS), data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_history_carries_no_stack_traces(path: Path) -> None:
    """Stack traces hold the recording machine's paths; the recorder leaves them out."""
    assert '"stackTrace"' not in path.read_text()
