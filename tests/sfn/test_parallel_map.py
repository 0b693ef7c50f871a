"""Parallel and Map states, as AWS documents them: results in branch and item order whatever
order they finish in, a branch's or an iteration's failure failing the whole state with its
error, MaxConcurrency, ItemsPath and ItemSelector with `$$.Map.Item`, ItemBatcher, tolerated
failures, and the history events each writes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.sfn.handlers import SEEN, TRACE
from tests.sfn.harness import Executor, details, events_of, lambda_arn


def key() -> str:
    return uuid.uuid4().hex


def single(state: dict[str, Any], **more: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "It", "States": {"It": {"End": True, **state}, **more}}


def branch(name: str, state: dict[str, Any]) -> dict[str, Any]:
    if state["Type"] not in ("Succeed", "Fail", "Choice"):
        state = {"End": True, **state}
    return {"StartAt": name, "States": {name: state}}


def record(seconds: float) -> dict[str, Any]:
    """A Task calling `record` with the state's input, sleeping `seconds`."""
    return {
        "Type": "Task",
        "Resource": lambda_arn("record"),
        "Parameters": {"key.$": "$.key", "value.$": "$.value", "seconds": seconds},
    }


# --- Parallel. ---


async def test_parallel_results_are_in_branch_order(sfn: Executor) -> None:
    name = key()

    def recorded(value: str, seconds: float) -> dict[str, Any]:
        return {**record(seconds), "Parameters": {"key": name, "value": value, "seconds": seconds}}

    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch("Slow", recorded("slow", 0.8)),
                branch("Fast", recorded("fast", 0)),
                branch("Fixed", {"Type": "Pass", "Result": "fixed"}),
            ],
        }
    )
    out = await sfn.run(definition, {})
    assert (out.status, out.output) == ("SUCCEEDED", ["slow", "fast", "fixed"])
    # The branches ran at once, and the fast one ended first.
    assert [value for phase, value in TRACE[name] if phase == "end"] == ["fast", "slow"]
    types = out.types()
    assert types[1:3] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    # Each branch's first event follows ParallelStateStarted.
    started = events_of(out, "ParallelStateStarted")[0]["id"]
    firsts = [e for e in out.events if e["type"] in ("TaskStateEntered", "PassStateEntered")]
    assert [e["previousEventId"] for e in firsts] == [started] * 3


async def test_every_branch_gets_the_same_input(sfn: Executor) -> None:
    definition = single(
        {
            "Type": "Parallel",
            "InputPath": "$.numbers",
            "Branches": [
                branch("Add", {"Type": "Task", "Resource": lambda_arn("add")}),
                branch("Echo", {"Type": "Pass"}),
            ],
            "ResultSelector": {"sum.$": "$[0]", "echo.$": "$[1]"},
            "ResultPath": "$.results",
        }
    )
    out = await sfn.run(definition, {"numbers": {"a": 3, "b": 2}})
    assert out.output == {
        "numbers": {"a": 3, "b": 2},
        "results": {"sum": 5, "echo": {"a": 3, "b": 2}},
    }


async def test_a_failed_branch_fails_the_parallel_state_and_stops_the_others(
    sfn: Executor,
) -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch("Long", {"Type": "Wait", "Seconds": 30}),
                branch("Broken", {"Type": "Fail", "Error": "Branch.Broke", "Cause": "on purpose"}),
            ],
        }
    )
    began = time.monotonic()
    out = await sfn.run(definition)
    assert time.monotonic() - began < 10
    assert (out.status, out.error, out.cause) == ("FAILED", "Branch.Broke", "on purpose")
    types = out.types()
    assert types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]
    assert "WaitStateEntered" in types and "WaitStateExited" not in types
    assert "ParallelStateExited" not in types


# --- Map. ---


def map_machine(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    state = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Each", "States": {"Each": {"End": True, **processor}}},
        **fields,
    }
    return single(state)


async def test_map_runs_the_processor_for_each_item_of_items_path(sfn: Executor) -> None:
    definition = map_machine(
        {"Type": "Task", "Resource": lambda_arn("add")},
        InputPath="$.order",
        ItemsPath="$.pairs",
        ResultPath="$.sums",
    )
    order = {"pairs": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}
    out = await sfn.run(definition, {"order": order})
    # ResultPath writes into the state's raw input, not into what InputPath selected.
    assert out.output == {"order": order, "sums": [3, 7]}


async def test_iterations_run_concurrently_but_results_keep_item_order(sfn: Executor) -> None:
    name = key()
    items = [{"key": name, "value": i, "seconds": s} for i, s in enumerate([1.0, 0.5, 0])]
    processor = {
        "Type": "Task",
        "Resource": lambda_arn("record"),
        "Parameters": {"key.$": "$.key", "value.$": "$.value", "seconds.$": "$.seconds"},
    }
    out = await sfn.run(map_machine(processor), items)
    assert out.output == [0, 1, 2]
    ends = [value for phase, value in TRACE[name] if phase == "end"]
    assert ends == [2, 1, 0]


async def test_max_concurrency_one_runs_the_items_one_after_another_in_order(
    sfn: Executor,
) -> None:
    name = key()
    items = [{"key": name, "value": i, "seconds": s} for i, s in enumerate([0.3, 0.2, 0])]
    processor = {
        "Type": "Task",
        "Resource": lambda_arn("record"),
        "Parameters": {"key.$": "$.key", "value.$": "$.value", "seconds.$": "$.seconds"},
    }
    out = await sfn.run(map_machine(processor, MaxConcurrency=1), items)
    assert out.output == [0, 1, 2]
    assert TRACE[name] == [
        ("start", 0),
        ("end", 0),
        ("start", 1),
        ("end", 1),
        ("start", 2),
        ("end", 2),
    ]
    iterations = [
        (e["type"], details(e)["index"])
        for e in events_of(out, "MapIterationStarted", "MapIterationSucceeded")
    ]
    assert iterations == [
        ("MapIterationStarted", 0),
        ("MapIterationSucceeded", 0),
        ("MapIterationStarted", 1),
        ("MapIterationSucceeded", 1),
        ("MapIterationStarted", 2),
        ("MapIterationSucceeded", 2),
    ]


async def test_max_concurrency_path(sfn: Executor) -> None:
    name = key()
    items = [{"key": name, "value": i, "seconds": 0.1} for i in range(3)]
    processor = {
        "Type": "Task",
        "Resource": lambda_arn("record"),
        "Parameters": {"key.$": "$.key", "value.$": "$.value", "seconds.$": "$.seconds"},
    }
    definition = map_machine(processor, ItemsPath="$.items", MaxConcurrencyPath="$.limit")
    out = await sfn.run(definition, {"items": items, "limit": 1})
    assert out.output == [0, 1, 2]
    assert [phase for phase, _ in TRACE[name]] == ["start", "end"] * 3


async def test_map_events(sfn: Executor) -> None:
    out = await sfn.run(map_machine({"Type": "Pass"}), ["a", "b"])
    assert out.types() == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert details(events_of(out, "MapStateStarted")[0]) == {"length": 2}
    started = [details(e) for e in events_of(out, "MapIterationStarted")]
    assert started == [{"name": "It", "index": 0}, {"name": "It", "index": 1}]
    succeeded = [details(e) for e in events_of(out, "MapIterationSucceeded")]
    assert succeeded == started


async def test_item_selector_reads_the_map_item_and_the_state_input(sfn: Executor) -> None:
    definition = map_machine(
        {"Type": "Pass"},
        InputPath="$.detail",
        ItemsPath="$.shipped",
        ItemSelector={
            "parcel.$": "$$.Map.Item.Value",
            "index.$": "$$.Map.Item.Index",
            "courier.$": "$.delivery-partner",
            "fixed": 1,
        },
        ResultPath="$.detail.shipped",
    )
    value = {"detail": {"delivery-partner": "UQS", "shipped": [{"prod": "R31"}, {"prod": "S39"}]}}
    out = await sfn.run(definition, value)
    assert out.output == {
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"parcel": {"prod": "R31"}, "index": 0, "courier": "UQS", "fixed": 1},
                {"parcel": {"prod": "S39"}, "index": 1, "courier": "UQS", "fixed": 1},
            ],
        }
    }


async def test_the_legacy_iterator_and_parameters_fields(sfn: Executor) -> None:
    definition = single(
        {
            "Type": "Map",
            "Parameters": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "Iterator": {
                "StartAt": "Add",
                "States": {
                    "Add": {
                        "Type": "Task",
                        "Resource": lambda_arn("add"),
                        "Parameters": {"a.$": "$.n", "b.$": "$.i"},
                        "End": True,
                    }
                },
            },
        }
    )
    out = await sfn.run(definition, [10, 20, 30])
    assert out.output == [10, 21, 32]


async def test_a_parallel_state_nested_in_a_map(sfn: Executor) -> None:
    processor = {
        "Type": "Parallel",
        "Branches": [
            branch("Add", {"Type": "Task", "Resource": lambda_arn("add")}),
            branch("Echo", {"Type": "Task", "Resource": lambda_arn("local-echo")}),
        ],
        "ResultSelector": {"sum.$": "$[0]", "pair.$": "$[1]"},
    }
    out = await sfn.run(map_machine(processor), [{"a": 1, "b": 2}, {"a": 5, "b": 5}])
    assert out.output == [
        {"sum": 3, "pair": {"a": 1, "b": 2}},
        {"sum": 10, "pair": {"a": 5, "b": 5}},
    ]
    assert out.types().count("ParallelStateSucceeded") == 2
    assert out.types().count("MapIterationSucceeded") == 2


async def test_map_over_an_empty_array(sfn: Executor) -> None:
    out = await sfn.run(map_machine({"Type": "Pass"}, ItemsPath="$.none"), {"none": []})
    assert (out.status, out.output) == ("SUCCEEDED", [])
    assert details(events_of(out, "MapStateStarted")[0]) == {"length": 0}
    assert out.types()[1:5] == [
        "MapStateEntered",
        "MapStateStarted",
        "MapStateSucceeded",
        "MapStateExited",
    ]


@pytest.mark.parametrize("items", [{"a": 1}, "abc", 3, None])
async def test_items_that_are_not_an_array_fail_with_states_runtime(
    sfn: Executor, items: Any
) -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": branch("Each", {"Type": "Pass"}),
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        },
        Caught={"Type": "Pass", "End": True},
    )
    out = await sfn.run(definition, {"items": items})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")
    assert "MapStateStarted" not in out.types()


async def test_a_failed_iteration_fails_the_map_with_its_error(sfn: Executor) -> None:
    processor = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.ok", "BooleanEquals": False, "Next": "Broken"}],
        "Default": "Slow",
    }
    definition = single(
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": processor,
                    "Broken": {
                        "Type": "Task",
                        "Resource": lambda_arn("fail"),
                        "Parameters": {"message.$": "States.Format('item {}', $.n)"},
                        "End": True,
                    },
                    "Slow": {"Type": "Wait", "Seconds": 30, "End": True},
                },
            },
        }
    )
    began = time.monotonic()
    out = await sfn.run(definition, [{"ok": True, "n": 0}, {"ok": False, "n": 1}])
    assert time.monotonic() - began < 10
    assert (out.status, out.error) == ("FAILED", "CustomError")
    assert out.cause_json()["errorMessage"] == "item 1"
    assert [details(e)["index"] for e in events_of(out, "MapIterationFailed")] == [1]
    assert [details(e)["index"] for e in events_of(out, "MapIterationAborted")] == [0]
    assert out.types()[-2:] == ["MapStateFailed", "ExecutionFailed"]


def checked(**fields: Any) -> dict[str, Any]:
    """A Map whose iteration fails with Bad.Item when the item's `ok` is false."""
    return single(
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.ok", "BooleanEquals": False, "Next": "Bad"}],
                        "Default": "Good",
                    },
                    "Bad": {"Type": "Fail", "Error": "Bad.Item", "Cause": "not ok"},
                    "Good": {"Type": "Pass", "End": True},
                },
            },
            **fields,
        }
    )


def oks(*flags: bool) -> list[dict[str, bool]]:
    return [{"ok": flag} for flag in flags]


async def test_tolerated_failure_count(sfn: Executor) -> None:
    out = await sfn.run(checked(ToleratedFailureCount=1), oks(True, False, True))
    assert out.status == "SUCCEEDED"
    assert out.output[0] == {"ok": True} and out.output[2] == {"ok": True}
    assert out.output[1] == {"Error": "Bad.Item", "Cause": "not ok"}
    assert out.types().count("MapIterationFailed") == 1
    assert "MapStateSucceeded" in out.types()

    out = await sfn.run(checked(ToleratedFailureCount=1), oks(False, True, False))
    assert (out.status, out.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert out.types()[-2:] == ["MapStateFailed", "ExecutionFailed"]


async def test_tolerated_failure_count_path(sfn: Executor) -> None:
    definition = checked(ItemsPath="$.items", ToleratedFailureCountPath="$.tolerate")
    out = await sfn.run(definition, {"items": oks(False, False), "tolerate": 2})
    assert out.status == "SUCCEEDED"
    out = await sfn.run(definition, {"items": oks(False, False), "tolerate": 1})
    assert out.error == "States.ExceedToleratedFailureThreshold"


async def test_tolerated_failure_percentage(sfn: Executor) -> None:
    out = await sfn.run(checked(ToleratedFailurePercentage=50), oks(True, False, True, False))
    assert out.status == "SUCCEEDED"
    out = await sfn.run(checked(ToleratedFailurePercentage=50), oks(False, False, True, False))
    assert (out.status, out.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


async def test_the_threshold_error_is_caught_by_the_map_state(sfn: Executor) -> None:
    definition = checked(
        ItemsPath="$.items",
        ToleratedFailureCount=0,
        Catch=[
            {
                "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
                "ResultPath": "$.failure",
                "Next": "Caught",
            }
        ],
    )
    definition["States"]["It"]["Next"] = "Caught"
    del definition["States"]["It"]["End"]
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    out = await sfn.run(definition, {"items": oks(True, False)})
    assert out.status == "SUCCEEDED"
    assert out.output["items"] == oks(True, False)
    assert out.output["failure"]["Error"] == "States.ExceedToleratedFailureThreshold"


async def test_item_batcher_groups_items_with_the_batch_input(sfn: Executor) -> None:
    definition = map_machine(
        {"Type": "Pass"},
        ItemsPath="$.items",
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run", "fixed": True}},
    )
    out = await sfn.run(definition, {"items": [1, 2, 3, 4, 5], "run": "r1"})
    batch_input = {"run": "r1", "fixed": True}
    assert out.output == [
        {"BatchInput": batch_input, "Items": [1, 2]},
        {"BatchInput": batch_input, "Items": [3, 4]},
        {"BatchInput": batch_input, "Items": [5]},
    ]
    assert details(events_of(out, "MapStateStarted")[0]) == {"length": 3}


async def test_item_batcher_batches_what_the_item_selector_made(sfn: Executor) -> None:
    definition = map_machine(
        {"Type": "Pass"},
        ItemSelector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        ItemBatcher={"MaxItemsPerBatch": 3},
    )
    out = await sfn.run(definition, ["a", "b", "c", "d"])
    assert out.output == [
        {"Items": [{"v": "a", "i": 0}, {"v": "b", "i": 1}, {"v": "c", "i": 2}]},
        {"Items": [{"v": "d", "i": 3}]},
    ]


async def test_a_stopped_branch_does_not_catch_its_own_stop(sfn: Executor) -> None:
    # The running Task of the other branch is cancelled; neither its Retry nor its Catch may
    # take that for an error and carry the stopped branch on.
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch("Broken", {"Type": "Task", "Resource": lambda_arn("fail")}),
                {
                    "StartAt": "Slow",
                    "States": {
                        "Slow": {
                            "Type": "Task",
                            "Resource": lambda_arn("sleep"),
                            "Parameters": {"seconds": 2},
                            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}],
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "AfterCatch"}],
                            "End": True,
                        },
                        "AfterCatch": {"Type": "Wait", "Seconds": 3, "End": True},
                    },
                },
            ],
        }
    )
    began = time.monotonic()
    out = await sfn.run(definition)
    assert time.monotonic() - began < 2.5
    assert (out.status, out.error) == ("FAILED", "CustomError")
    assert "WaitStateEntered" not in out.types()
    assert out.types().count("LambdaFunctionScheduled") == 2  # no retry of the stopped task
    errors = [details(e)["error"] for e in events_of(out, "LambdaFunctionFailed")]
    assert errors == ["CustomError"]


async def test_no_iteration_starts_after_one_failed(sfn: Executor) -> None:
    name = key()
    processor = {
        "Type": "Task",
        "Resource": lambda_arn("scripted"),
        "Parameters": {"key": name, "errors": ["Boom"]},
    }
    out = await sfn.run(map_machine(processor, MaxConcurrency=1), [1, 2, 3])
    assert (out.status, out.error) == ("FAILED", "Boom")
    assert out.types().count("MapIterationStarted") == 1
    assert len(SEEN[name]) == 1
