"""Choice and Wait states end to end, as AWS documents them: rules in order, Default, and
States.NoChoiceMatched; Wait by Seconds, Timestamp, SecondsPath and TimestampPath, where a time
already past does not wait. Short waits run on the real server; an hour-long one on the
time-skipping server, checked on the workflow's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.sfn.harness import Executor, details, events_of, gaps

# --- Choice. ---

ROUTER: dict[str, Any] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.kind", "StringEquals": "refund", "Next": "Refund"},
                {
                    "And": [
                        {"Variable": "$.amount", "IsPresent": True},
                        {"Variable": "$.amount", "NumericGreaterThanEquals": 100},
                        {"Not": {"Variable": "$.vip", "BooleanEquals": True}},
                    ],
                    "Next": "Review",
                },
                {"Variable": "$.amount", "NumericLessThanPath": "$.limit", "Next": "Approve"},
                {"Variable": "$.kind", "StringMatches": "gift*", "Next": "Approve"},
            ],
            "Default": "Hold",
        },
        "Refund": {"Type": "Pass", "Result": "refund", "ResultPath": "$.route", "End": True},
        "Review": {"Type": "Pass", "Result": "review", "ResultPath": "$.route", "End": True},
        "Approve": {"Type": "Pass", "Result": "approve", "ResultPath": "$.route", "End": True},
        "Hold": {"Type": "Pass", "Result": "hold", "ResultPath": "$.route", "End": True},
    },
}


@pytest.mark.parametrize(
    ("value", "route"),
    [
        ({"kind": "refund", "amount": 500}, "refund"),  # the first matching rule wins
        ({"kind": "sale", "amount": 150, "vip": False}, "review"),
        ({"kind": "sale", "amount": 150, "vip": True, "limit": 200}, "approve"),
        ({"kind": "gift-card", "amount": 10, "limit": 5}, "approve"),
        ({"kind": "sale", "amount": 50, "limit": 10}, "hold"),
        ({"kind": "sale", "amount": "50", "limit": 100}, "hold"),  # a string is not a number
    ],
)
async def test_choice_takes_the_first_matching_rule_or_the_default(
    sfn: Executor, value: dict[str, Any], route: str
) -> None:
    out = await sfn.run(ROUTER, value)
    assert out.status == "SUCCEEDED"
    # A Choice passes its input on unchanged.
    assert out.output == {**value, "route": route}
    assert out.types()[1:4] == ["ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered"]
    entered = details(events_of(out, "PassStateEntered")[0])
    assert entered["name"] == route.capitalize()


async def test_no_matching_rule_and_no_default_is_no_choice_matched(sfn: Executor) -> None:
    definition = {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}],
            },
            "One": {"Type": "Succeed"},
        },
    }
    out = await sfn.run(definition, {"n": 2})
    assert (out.status, out.error) == ("FAILED", "States.NoChoiceMatched")
    assert out.types() == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    out = await sfn.run(definition, {"n": 1})
    assert out.status == "SUCCEEDED"


async def test_choice_input_and_output_paths(sfn: Executor) -> None:
    definition = {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "InputPath": "$.order",
                "OutputPath": "$.lines",
                "Choices": [{"Variable": "$.total", "NumericGreaterThan": 10, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "End": True},
            "Small": {"Type": "Fail", "Error": "TooSmall"},
        },
    }
    out = await sfn.run(definition, {"order": {"total": 20, "lines": [1, 2]}})
    assert (out.status, out.output) == ("SUCCEEDED", [1, 2])


async def test_a_choice_on_a_missing_variable_fails_with_states_runtime(sfn: Executor) -> None:
    definition = {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.absent", "StringEquals": "x", "Next": "End"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        },
    }
    out = await sfn.run(definition, {})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")


async def test_a_choice_loop_runs_until_a_rule_matches(sfn: Executor) -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Done"}],
                "Default": "Increment",
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    out = await sfn.run(definition, {"n": 0})
    assert out.output == {"n": 3}
    assert out.types().count("ChoiceStateEntered") == 4


# --- Wait. ---


def wait_machine(wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Next": "Done", **wait}, "Done": {"Type": "Succeed"}},
    }


def waited(out: Any) -> float:
    (gap,) = gaps(out, "WaitStateEntered", "WaitStateExited")
    return gap


async def test_wait_seconds(sfn: Executor) -> None:
    out = await sfn.run(wait_machine({"Seconds": 1}), {"keep": True})
    assert (out.status, out.output) == ("SUCCEEDED", {"keep": True})
    assert 1.0 <= waited(out) < 1.9


async def test_wait_seconds_path_reads_the_effective_input(sfn: Executor) -> None:
    definition = wait_machine({"InputPath": "$.timer", "SecondsPath": "$.delay"})
    out = await sfn.run(definition, {"timer": {"delay": 1}, "other": 0})
    assert out.output == {"delay": 1}
    assert 1.0 <= waited(out) < 1.9


@pytest.mark.parametrize("delay", [-1, "1", 1.5, None])
async def test_seconds_path_must_name_a_non_negative_integer(sfn: Executor, delay: Any) -> None:
    out = await sfn.run(wait_machine({"SecondsPath": "$.delay"}), {"delay": delay})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")


async def test_wait_seconds_zero_does_not_wait(sfn: Executor) -> None:
    out = await sfn.run(wait_machine({"Seconds": 0}))
    assert waited(out) < 0.5


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def test_wait_until_a_timestamp_path(sfn: Executor) -> None:
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    out = await sfn.run(wait_machine({"TimestampPath": "$.until"}), {"until": stamp(until)})
    assert out.status == "SUCCEEDED"
    exited = events_of(out, "WaitStateExited")[0]["timestamp"]
    assert exited >= until.timestamp()
    assert waited(out) < 1.9


async def test_a_timestamp_with_an_offset_names_the_same_instant(sfn: Executor) -> None:
    until = datetime.now(UTC) + timedelta(seconds=1)
    local = until.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+02:00"
    out = await sfn.run(wait_machine({"Timestamp": text}))
    assert events_of(out, "WaitStateExited")[0]["timestamp"] >= until.timestamp()
    assert waited(out) < 1.9


@pytest.mark.parametrize(
    "wait",
    [
        {"Timestamp": "2016-03-14T01:59:00Z"},
        {"TimestampPath": "$.until"},
    ],
)
async def test_a_timestamp_in_the_past_does_not_wait(sfn: Executor, wait: dict[str, Any]) -> None:
    out = await sfn.run(wait_machine(wait), {"until": "2020-01-01T00:00:00.123456789+01:00"})
    assert out.status == "SUCCEEDED"
    assert waited(out) < 0.5


@pytest.mark.parametrize("until", ["tomorrow", "2020-01-01 00:00:00Z", 1700000000])
async def test_timestamp_path_must_name_a_timestamp(sfn: Executor, until: Any) -> None:
    out = await sfn.run(wait_machine({"TimestampPath": "$.until"}), {"until": until})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")


async def test_an_hour_long_wait_is_a_durable_timer(sfn_skipping: Executor) -> None:
    out = await sfn_skipping.run(wait_machine({"Seconds": 3600}), {"v": 1})
    assert (out.status, out.output) == ("SUCCEEDED", {"v": 1})
    assert waited(out) == pytest.approx(3600, abs=1)
