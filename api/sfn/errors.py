"""Errors in AWS's shape: `{"__type": CODE, "message": ...}`, HTTP 400 unless said."""

from __future__ import annotations

from typing import Any


class SfnError(Exception):
    """An error the Step Functions API answers with; `code` is AWS's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message}


def validation(message: str) -> SfnError:
    return SfnError("ValidationException", message)
