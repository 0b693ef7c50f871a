"""The HTTP API: starts runs and answers at once with a run reference."""
