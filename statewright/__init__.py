"""Statewright's launchers: the `statewright` command, the supervisor behind `statewright up`,
the embedded Postgres and Temporal server, and the benchmark. Nothing else imports this
package: it sits on top and wires the rest together."""
