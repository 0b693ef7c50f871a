"""Plumbing: settings, the database engine and ORM rows, the Temporal client and data
converter. Imports nothing of the project above it."""
