"""Shared plumbing: settings, database, Temporal client, embedded dev services and the CLI."""
