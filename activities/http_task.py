"""The side effect of an HTTP Task (``arn:aws:states:::http:invoke``): one HTTP call, from
the task's resolved ``Parameters`` to the output object AWS documents, or an
:class:`HttpTaskError` carrying the ASL error name a Retry or Catch matches on."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Final, NoReturn
from urllib.parse import quote_plus

import httpx

METHODS: Final = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"})
# fmt: off
FORBIDDEN_HEADERS: Final = frozenset({
    "host", "content-length", "connection", "transfer-encoding", "upgrade", "expect",
    "keep-alive", "proxy-authorization", "te", "trailer",
})
# fmt: on
"""Headers the transport owns; letting a state set them could smuggle or break requests."""
USER_AGENT: Final = "Statewright-HttpTask"
_ARRAY_KEYS: Final = {"INDICES": "{key}[{i}]", "REPEAT": "{key}", "BRACKETS": "{key}[]"}
_ENCODINGS: Final = frozenset({"NONE", "URL_ENCODED"})
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_VALUE: Final = re.compile(r"[\r\n\x00]")


class HttpTaskError(Exception):
    """The task failed with ASL error name ``error`` (e.g. ``States.Http.StatusCode.404``)
    and a human- or JSON-readable ``cause``."""

    def __init__(self, error: str, cause: str) -> None:
        # Both in args, so the exception survives pickling across process boundaries.
        super().__init__(error, cause)
        self.error = error
        self.cause = cause

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}"


def _runtime(cause: str) -> NoReturn:
    raise HttpTaskError("States.Runtime", cause)


def _object(container: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    value = container.get(key, {})
    if not isinstance(value, dict):
        _runtime(f"{field} must be an object")
    return value


def _scalar(field: str, value: Any) -> str:
    if isinstance(value, dict | list):
        _runtime(f"{field}: nested objects and arrays cannot be URL-encoded")
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def _form(body: Any, array_format: str) -> str:
    if not isinstance(body, dict):
        _runtime("RequestBody must be an object when RequestBodyEncoding is URL_ENCODED")

    def q(text: str) -> str:
        return quote_plus(text, safe="")

    pairs: list[str] = []
    for key, value in body.items():
        field = f"RequestBody.{key}"
        if not isinstance(value, list):
            pairs.append(f"{q(key)}={q(_scalar(field, value))}")
        elif array_format == "COMMAS":
            # Items are escaped one by one, so a comma inside an item stays distinguishable.
            pairs.append(f"{q(key)}=" + ",".join(q(_scalar(field, v)) for v in value))
        else:
            template = _ARRAY_KEYS[array_format]
            pairs.extend(
                f"{q(template.format(key=key, i=i))}={q(_scalar(field, v))}"
                for i, v in enumerate(value)
            )
    return "&".join(pairs)


def _build(parameters: Any, client: httpx.AsyncClient, timeout: float) -> httpx.Request:
    """Validate everything before any I/O, so a bad state never reaches the network."""
    if not isinstance(parameters, dict):
        _runtime("Parameters must be an object")
    endpoint = parameters.get("ApiEndpoint")
    if not isinstance(endpoint, str):
        _runtime("ApiEndpoint is required and must be a string")
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL:
        _runtime("ApiEndpoint is not a valid URL")
    if url.scheme not in ("http", "https") or not url.host:
        _runtime("ApiEndpoint must be an absolute http:// or https:// URL")
    method = parameters.get("Method")
    if not isinstance(method, str) or method not in METHODS:
        _runtime(f"Method must be one of {', '.join(sorted(METHODS))}")
    # Authentication.ConnectionArn names an EventBridge connection, which does not exist here.
    headers = httpx.Headers({"User-Agent": USER_AGENT})
    for name, value in _object(parameters, "Headers", "Headers").items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            _runtime(f"Headers: {name!r} is not a valid header name")
        if name.lower() in FORBIDDEN_HEADERS:
            _runtime(f"Headers.{name} may not be set by a state")
        if not isinstance(value, str) or _UNSAFE_VALUE.search(value):
            _runtime(f"Headers.{name} must be a string without line breaks")
        headers[name] = value
    params: list[tuple[str, str]] = []
    for key, value in _object(parameters, "QueryParameters", "QueryParameters").items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            _runtime(f"QueryParameters.{key} must be a string or an array of strings")
        params.extend((key, v) for v in values)
    transform = _object(parameters, "Transform", "Transform")
    encoding = transform.get("RequestBodyEncoding", "NONE")
    if encoding not in _ENCODINGS:
        _runtime("Transform.RequestBodyEncoding must be NONE or URL_ENCODED")
    options = _object(transform, "RequestEncodingOptions", "Transform.RequestEncodingOptions")
    array_format = options.get("ArrayFormat", "BRACKETS")
    if array_format != "COMMAS" and array_format not in _ARRAY_KEYS:
        _runtime(
            "Transform.RequestEncodingOptions.ArrayFormat must be"
            " INDICES, REPEAT, COMMAS or BRACKETS"
        )
    content: bytes | None = None
    if "RequestBody" in parameters and encoding == "URL_ENCODED":
        content = _form(parameters["RequestBody"], array_format).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif "RequestBody" in parameters:
        try:
            text = json.dumps(parameters["RequestBody"], ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            _runtime("RequestBody is not a JSON value")
        content = text.encode()
        headers.setdefault("Content-Type", "application/json")
    # httpx's params= drops the endpoint's own query, so keep it by passing it along.
    query = (*url.params.multi_items(), *params) if params else None
    return client.build_request(
        method, url, params=query, headers=headers, content=content, timeout=timeout
    )


def _where(request: httpx.Request) -> str:
    # Query strings and userinfo often carry API keys; causes end up in run histories.
    return f"{request.method} {request.url.copy_with(userinfo=b'', query=None, fragment=None)}"


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(name)  # NaN/Infinity would make the state's output invalid JSON


def _response_body(response: httpx.Response, content: bytes) -> Any:
    try:
        text = content.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        text = content.decode("utf-8", errors="replace")
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            pass
    return text


async def invoke_http(
    parameters: Any,
    *,
    client: httpx.AsyncClient,
    timeout: float = 60.0,  # noqa: ASYNC109 - also sets httpx's per-operation timeouts
    max_response_bytes: int = 256 * 1024,
) -> dict[str, Any]:
    """Make the HTTP Task's call and return its output object.

    ``timeout`` bounds the whole exchange, body included. Redirects are not followed.
    Raises :class:`HttpTaskError`: ``States.Runtime`` for bad parameters,
    ``States.Http.Socket`` for connection failures and timeouts,
    ``States.DataLimitExceeded`` for a body over ``max_response_bytes``, and
    ``States.Http.StatusCode.<code>`` for any non-2xx status (cause: the output as JSON).
    """
    request = _build(parameters, client, timeout)
    content = bytearray()
    try:
        # httpx's timeouts are per operation; a server trickling bytes would never trip them.
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > max_response_bytes:
                        raise HttpTaskError(
                            "States.DataLimitExceeded",
                            f"{_where(request)}: response body is too large "
                            f"(over {max_response_bytes} bytes)",
                        )
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        raise HttpTaskError(
            "States.Http.Socket", f"{_where(request)}: no complete response within {timeout:g}s"
        ) from None
    except httpx.RequestError as exc:
        raise HttpTaskError(
            "States.Http.Socket", f"{_where(request)}: {type(exc).__name__}: {exc}"
        ) from None
    headers: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}  # first spelling seen, so repeats of a header share a key
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        key = spelling.setdefault(name.lower(), name)
        headers.setdefault(key, []).append(raw_value.decode("latin-1"))
    status = response.status_code
    output = {
        "Headers": headers,
        "ResponseBody": _response_body(response, bytes(content)),
        "StatusCode": status,
        "StatusText": response.reason_phrase or httpx.codes.get_reason_phrase(status),
    }
    if not 200 <= status < 300:
        raise HttpTaskError(f"States.Http.StatusCode.{status}", json.dumps(output))
    return output
