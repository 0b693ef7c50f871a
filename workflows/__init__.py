"""Deterministic orchestration only. Nothing here performs I/O or reads settings."""
