"""The Amazon States Language, interpreted as workflow code: pure and deterministic, so it
can run inside a Temporal workflow and replay. Built on `workflows.step_functions`."""
