"""Task handlers for state machines: `@task("NAME")` makes a Python function the Lambda
function NAME, for `arn:aws:lambda:...:function:NAME` and `lambda:invoke` tasks.

    from statewright.tasks import task

    @task("greet")
    def greet(event):
        return {"greeting": f"Hello, {event['name']}!"}

List the module in `STATEWRIGHT_TASK_MODULES` so the worker imports it.
"""

from activities.task_handlers import task

__all__ = ["task"]
