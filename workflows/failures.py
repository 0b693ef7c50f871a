"""Kept only for `worker.interceptors`, which imports `expected` from here. The vocabulary it
belongs to lives in `workflows.step_functions`; delete this module once that import moves
there (worker/ was outside the 0.1.0 release cut)."""

from __future__ import annotations

from workflows.step_functions import expected

__all__ = ["expected"]
