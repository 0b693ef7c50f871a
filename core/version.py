"""The version this code is released as: the installed package's, from `pyproject.toml`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed() -> str:
    try:
        return version("statewright")
    except PackageNotFoundError:  # a source tree used without installing it
        return "0+unknown"


VERSION = _installed()
