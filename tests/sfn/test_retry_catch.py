"""Retry and Catch, as the AWS developer guide documents them ("Handling errors in Step
Functions workflows"): retrier defaults (IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0),
MaxAttempts 0, MaxDelaySeconds, JitterStrategy FULL, counts kept per retrier across all of a
state's errors, catchers scanned in order, the error output and a catcher's ResultPath,
States.TaskFailed and States.ALL as wildcards, and the errors nothing catches.

Backoff is checked to the second on Temporal's time-skipping server (`sfn_skipping`): the gaps
between a failed attempt and the next one are read from the history's timestamps."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.sfn.handlers import CALLS, SEEN
from tests.sfn.harness import Executor, details, events_of, gaps, lambda_arn


def key() -> str:
    return uuid.uuid4().hex


def task(
    function: str,
    retry: list[dict[str, Any]] | None = None,
    catch: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": lambda_arn(function), **fields}
    if retry is not None:
        state["Retry"] = retry
    if catch is not None:
        state["Catch"] = catch
    if "Next" not in state:
        state["End"] = True
    return state


def machine(first: dict[str, Any], **more: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Try", "States": {"Try": first, **more}}


def retry_gaps(outcome: Any) -> list[float]:
    return [
        round(gap, 1) for gap in gaps(outcome, "LambdaFunctionFailed", "LambdaFunctionScheduled")
    ]


FLAKY_WITH_CONTEXT = {
    "key.$": "$.key",
    "failures.$": "$.failures",
    "retry.$": "$$.State.RetryCount",
    "entered.$": "$$.State.EnteredTime",
}


# --- Retry. ---


async def test_retrier_defaults_are_three_retries_one_second_apart_doubling(
    sfn_skipping: Executor,
) -> None:
    name = key()
    definition = machine(
        task("flaky", [{"ErrorEquals": ["States.ALL"]}], Parameters=FLAKY_WITH_CONTEXT)
    )
    out = await sfn_skipping.run(definition, {"key": name, "failures": 3})
    assert (out.status, out.output) == ("SUCCEEDED", {"calls": 4})
    assert retry_gaps(out) == [1.0, 2.0, 4.0]
    # Each attempt sees how many retries came before it; the state was entered only once.
    assert [event["retry"] for event in SEEN[name]] == [0, 1, 2, 3]
    assert len({event["entered"] for event in SEEN[name]}) == 1
    assert out.types().count("TaskStateEntered") == 1
    assert out.types().count("LambdaFunctionScheduled") == 4


async def test_after_max_attempts_the_error_is_the_states(sfn_skipping: Executor) -> None:
    name = key()
    definition = machine(task("flaky", [{"ErrorEquals": ["CustomError"]}]))
    out = await sfn_skipping.run(definition, {"key": name, "failures": 10})
    assert (out.status, out.error) == ("FAILED", "CustomError")
    assert json.loads(out.cause or "")["errorMessage"] == "call 4 fails"
    assert CALLS[name] == 4  # one try and the default three retries


async def test_interval_backoff_and_max_delay(sfn_skipping: Executor) -> None:
    retrier = {
        "ErrorEquals": ["CustomError"],
        "IntervalSeconds": 2,
        "BackoffRate": 3,
        "MaxAttempts": 4,
        "MaxDelaySeconds": 10,
    }
    out = await sfn_skipping.run(machine(task("flaky", [retrier])), {"key": key(), "failures": 4})
    assert out.status == "SUCCEEDED"
    assert retry_gaps(out) == [2.0, 6.0, 10.0, 10.0]  # 2, 6, 18 -> 10, 54 -> 10


async def test_a_fractional_backoff_rate(sfn_skipping: Executor) -> None:
    # The guide's example: "makes 2 retry attempts after waiting for 3 and 4.5 seconds".
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "BackoffRate": 1.5}
    retrier["MaxAttempts"] = 2
    out = await sfn_skipping.run(machine(task("flaky", [retrier])), {"key": key(), "failures": 2})
    assert out.status == "SUCCEEDED"
    assert retry_gaps(out) == [3.0, 4.5]


async def test_full_jitter_waits_between_zero_and_the_backoff(sfn_skipping: Executor) -> None:
    retrier = {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 100,
        "BackoffRate": 1,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    }
    out = await sfn_skipping.run(machine(task("flaky", [retrier])), {"key": key(), "failures": 5})
    assert out.status == "SUCCEEDED"
    waits = retry_gaps(out)
    assert len(waits) == 5
    assert all(0 <= wait <= 100 for wait in waits), waits
    assert len(set(waits)) > 1, waits  # random, not the computed 100 s each time


async def test_max_attempts_zero_never_retries_and_ends_the_scan(sfn: Executor) -> None:
    # From the guide: this pair "retries any error except States.Timeout". The first retrier
    # that matches decides, even with nothing left to give.
    retry: list[dict[str, Any]] = [
        {"ErrorEquals": ["ErrorA"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"]},
    ]
    name = key()
    out = await sfn.run(machine(task("scripted", retry)), {"key": name, "errors": ["ErrorA"]})
    assert (out.status, out.error) == ("FAILED", "ErrorA")
    assert len(SEEN[name]) == 1


async def test_the_complex_retry_scenario(sfn_skipping: Executor) -> None:
    # The ASL spec's example (the developer guide's 2022 text contradicts itself on it): a task
    # fails with ErrorA, ErrorB, ErrorC and ErrorB. The first two errors match the first
    # retrier (waits of 1 and 2 s), the third the second one (5 s); the fourth matches the
    # first retrier again, whose two retries are spent on ErrorA and ErrorB together, so the
    # Catch takes it. A retrier's attempts count across every error it matches.
    state = task(
        "scripted",
        [
            {
                "ErrorEquals": ["ErrorA", "ErrorB"],
                "IntervalSeconds": 1,
                "BackoffRate": 2.0,
                "MaxAttempts": 2,
            },
            {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
        ],
        [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
        Next="Y",
    )
    definition = machine(
        state, Y={"Type": "Succeed"}, Z={"Type": "Pass", "ResultPath": "$.caught", "End": True}
    )
    name = key()
    errors = ["ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorA"]
    out = await sfn_skipping.run(definition, {"key": name, "errors": errors})
    assert out.status == "SUCCEEDED"
    assert out.output["caught"]["Error"] == "ErrorB"
    assert retry_gaps(out) == [1.0, 2.0, 5.0]
    assert len(SEEN[name]) == 4
    failed = [details(e)["error"] for e in events_of(out, "LambdaFunctionFailed")]
    assert failed == errors[:4]


async def test_a_retriers_backoff_counts_its_own_retries(sfn_skipping: Executor) -> None:
    # ErrorC's retries in between do not advance ErrorA's backoff: waits 1, 5, 5, 2.
    retry = [
        {"ErrorEquals": ["ErrorA"], "IntervalSeconds": 1, "BackoffRate": 2.0},
        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5, "BackoffRate": 1.0},
    ]
    errors = ["ErrorA", "ErrorC", "ErrorC", "ErrorA"]
    out = await sfn_skipping.run(machine(task("scripted", retry)), {"key": key(), "errors": errors})
    assert (out.status, out.output) == ("SUCCEEDED", {"calls": 5})
    assert retry_gaps(out) == [1.0, 5.0, 5.0, 2.0]


async def test_a_retried_state_keeps_its_input(sfn: Executor) -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    name = key()
    definition = machine(
        task("flaky", retry, InputPath="$.call", ResultPath="$.result"),
    )
    out = await sfn.run(definition, {"call": {"key": name, "failures": 1}, "keep": 1})
    assert out.output == {"call": {"key": name, "failures": 1}, "keep": 1, "result": {"calls": 2}}
    assert SEEN[name] == [{"key": name, "failures": 1}] * 2


async def test_a_parallel_state_is_retried_as_a_whole(sfn: Executor) -> None:
    name = key()
    definition = machine(
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": task("flaky")}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}},
            ],
            "Retry": [{"ErrorEquals": ["CustomError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "End": True,
        }
    )
    out = await sfn.run(definition, {"key": name, "failures": 1})
    assert (out.status, out.output) == ("SUCCEEDED", [{"calls": 2}, "b"])
    assert out.types().count("ParallelStateStarted") == 2
    assert out.types().count("ParallelStateFailed") == 1


# --- Catch. ---


def catching(*catchers: dict[str, Any]) -> dict[str, Any]:
    """`fail`, with `catchers` routing to the states First and Second (those they name)."""
    targets = {catcher["Next"] for catcher in catchers}
    routes = {
        target: {"Type": "Pass", "Result": target.lower(), "ResultPath": "$.route", "End": True}
        for target in ("First", "Second")
        if target in targets
    }
    return machine(task("fail", catch=list(catchers)), **routes)


async def test_catchers_are_scanned_in_order(sfn: Executor) -> None:
    out = await sfn.run(
        catching(
            {"ErrorEquals": ["Other"], "Next": "First"},
            {"ErrorEquals": ["Other", "CustomError"], "Next": "Second"},
            {"ErrorEquals": ["States.ALL"], "Next": "First"},
        ),
        {"message": "m"},
    )
    assert out.output["route"] == "second"
    out = await sfn.run(
        catching(
            {"ErrorEquals": ["States.TaskFailed"], "Next": "First"},
            {"ErrorEquals": ["CustomError"], "Next": "Second"},
        ),
        {"message": "m"},
    )
    assert out.output["route"] == "first"


async def test_the_error_output_replaces_the_input_by_default(sfn: Executor) -> None:
    out = await sfn.run(
        catching({"ErrorEquals": ["CustomError"], "Next": "First"}), {"message": "bad"}
    )
    assert set(out.output) == {"Error", "Cause", "route"}
    assert out.output["Error"] == "CustomError"
    assert json.loads(out.output["Cause"])["errorMessage"] == "bad"
    # The state exits with the error output; the next state enters with it.
    exited = json.loads(details(events_of(out, "TaskStateExited")[0])["output"])
    assert exited == {"Error": "CustomError", "Cause": out.output["Cause"]}
    assert out.types()[2:6] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "TaskStateExited",
    ]


async def test_a_catcher_result_path_adds_the_error_to_the_input(sfn: Executor) -> None:
    out = await sfn.run(
        catching({"ErrorEquals": ["CustomError"], "ResultPath": "$.error-info", "Next": "First"}),
        {"message": "bad", "order": 7},
    )
    assert out.output["order"] == 7
    assert out.output["message"] == "bad"
    assert out.output["error-info"]["Error"] == "CustomError"
    assert out.output["route"] == "first"


async def test_a_null_catcher_result_path_passes_the_input_on(sfn: Executor) -> None:
    out = await sfn.run(
        catching({"ErrorEquals": ["CustomError"], "ResultPath": None, "Next": "First"}),
        {"message": "bad", "order": 7},
    )
    assert out.output == {"message": "bad", "order": 7, "route": "first"}


async def test_retriers_run_before_catchers(sfn: Executor) -> None:
    name = key()
    definition = machine(
        task(
            "flaky",
            [{"ErrorEquals": ["CustomError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            [{"ErrorEquals": ["CustomError"], "Next": "Caught"}],
        ),
        Caught={"Type": "Pass", "End": True},
    )
    out = await sfn.run(definition, {"key": name, "failures": 2})
    assert out.output["Error"] == "CustomError"
    assert json.loads(out.output["Cause"])["errorMessage"] == "call 2 fails"
    assert CALLS[name] == 2


async def test_task_failed_matches_everything_but_a_timeout(sfn: Executor) -> None:
    definition = machine(
        task(
            "sleep",
            catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
            TimeoutSeconds=1,
        ),
        Caught={"Type": "Pass", "End": True},
    )
    out = await sfn.run(definition, {"seconds": 2})
    assert (out.status, out.error) == ("FAILED", "States.Timeout")
    # ...while States.ALL does match it.
    definition["States"]["Try"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    out = await sfn.run(definition, {"seconds": 2})
    assert (out.status, out.output["Error"]) == ("SUCCEEDED", "States.Timeout")


@pytest.mark.parametrize("wildcard", ["States.TaskFailed", "States.ALL"])
async def test_wildcards_match_a_handlers_own_error_names(sfn: Executor, wildcard: str) -> None:
    name = key()
    retry = [{"ErrorEquals": [wildcard], "IntervalSeconds": 1, "MaxAttempts": 1}]
    definition = machine(task("scripted", retry))
    out = await sfn.run(definition, {"key": name, "errors": ["Lambda.ServiceException"]})
    assert (out.status, out.output) == ("SUCCEEDED", {"calls": 2})


@pytest.mark.parametrize("named", ["States.ALL", "States.Runtime"])
async def test_states_runtime_is_never_retried_nor_caught(sfn: Executor, named: str) -> None:
    # The guide: "A States.Runtime error isn't retriable, and will always cause the execution
    # to fail." Here ResultSelector reads a field the result does not have.
    name = key()
    definition = machine(
        task(
            "flaky",
            [{"ErrorEquals": [named], "IntervalSeconds": 1}],
            [{"ErrorEquals": [named], "Next": "Caught"}],
            ResultSelector={"missing.$": "$.nothing.here"},
        ),
        Caught={"Type": "Pass", "End": True},
    )
    out = await sfn.run(definition, {"key": name, "failures": 0})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")
    assert CALLS[name] == 1
    assert "Caught" not in json.dumps(out.events)


async def test_data_limit_exceeded_is_not_retried_by_states_all(sfn: Executor) -> None:
    definition = machine(
        task("huge", [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]),
    )
    out = await sfn.run(definition, {"bytes": 256 * 1024 + 1})
    assert (out.status, out.error) == ("FAILED", "States.DataLimitExceeded")
    assert out.types().count("LambdaFunctionScheduled") == 1


async def test_an_error_in_a_branch_is_caught_by_the_parallel_state(sfn: Executor) -> None:
    definition = machine(
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E", "Cause": "c"}}},
            ],
            "Catch": [{"ErrorEquals": ["E"], "ResultPath": "$.failure", "Next": "Caught"}],
            "End": True,
        },
        Caught={"Type": "Pass", "End": True},
    )
    out = await sfn.run(definition, {"in": 1})
    assert out.output == {"in": 1, "failure": {"Error": "E", "Cause": "c"}}
