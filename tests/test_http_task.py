"""The HTTP Task's call (activities.http_task) against a real loopback HTTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from activities.http_task import USER_AGENT, HttpTaskError, invoke_http

HUGE = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    """Echoes the request as JSON, except on the special paths below."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str, *extra: tuple[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        if url.path == "/missing":
            self.reply(404, b'{"message": "no such thing"}', "application/json")
        elif url.path == "/text":
            self.reply(200, b"hello, world", "text/plain; charset=utf-8")
        elif url.path == "/not-json":
            self.reply(200, b"{oops", "application/json")
        elif url.path == "/redirect":
            self.reply(302, b"", "text/plain", ("Location", "/echo"))
        elif url.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            for _ in range(HUGE // 65536):
                self.wfile.write(b"x" * 65536)
        elif url.path == "/slow":
            time.sleep(3)
            self.reply(200, b"{}", "application/json")
        elif url.path == "/trickle":
            # Each byte arrives well inside a read timeout; only a total deadline stops it.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "10")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        else:
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            seen = {
                "method": self.command,
                "path": url.path,
                "query": parse_qsl(url.query, keep_blank_values=True),
                "headers": headers,
                "body": body.decode(),
            }
            repeated = (("X-Multi", "1"), ("x-multi", "2"))
            self.reply(200, json.dumps(seen).encode(), "application/json", *repeated)

    def handle_one_request(self) -> None:
        # A client that gives up early (limits, timeouts) leaves a broken pipe; that is expected.
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_one


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_url() -> str:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def failure(parameters: Any, client: httpx.AsyncClient, **kwargs: Any) -> HttpTaskError:
    with pytest.raises(HttpTaskError) as info:
        await invoke_http(parameters, client=client, **kwargs)
    return info.value


async def test_get_with_query_parameters(base_url: str, http_client: httpx.AsyncClient) -> None:
    output = await invoke_http(
        {
            "ApiEndpoint": f"{base_url}/echo?fixed=1",
            "Method": "GET",
            "QueryParameters": {"q": "a b&c", "tag": ["x", "y"]},
        },
        client=http_client,
    )
    assert output["StatusCode"] == 200
    assert output["StatusText"] == "OK"
    assert output["Headers"]["Content-Type"] == ["application/json"]
    assert output["Headers"]["X-Multi"] == ["1", "2"]
    seen = output["ResponseBody"]
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo"
    assert seen["query"] == [["fixed", "1"], ["q", "a b&c"], ["tag", "x"], ["tag", "y"]]
    assert seen["headers"]["user-agent"] == [USER_AGENT]
    assert seen["body"] == ""


async def test_post_json_body_with_headers(base_url: str, http_client: httpx.AsyncClient) -> None:
    body = {"order": 7, "items": ["a", "b"], "note": "größe", "gift": None}
    output = await invoke_http(
        {
            "ApiEndpoint": f"{base_url}/orders",
            "Method": "POST",
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/c/x"},
            "Headers": {"X-Request-Id": "abc-123", "user-agent": "mine/1.0"},
            "RequestBody": body,
        },
        client=http_client,
    )
    seen = output["ResponseBody"]
    assert seen["method"] == "POST"
    assert seen["headers"]["content-type"] == ["application/json"]
    assert seen["headers"]["x-request-id"] == ["abc-123"]
    assert seen["headers"]["user-agent"] == ["mine/1.0"]
    assert "authorization" not in seen["headers"]
    assert json.loads(seen["body"]) == body


@pytest.mark.parametrize(
    ("array_format", "expected"),
    [
        ("INDICES", [["name", "Ann Lee"], ["tags[0]", "a"], ["tags[1]", "b,&c"]]),
        ("REPEAT", [["name", "Ann Lee"], ["tags", "a"], ["tags", "b,&c"]]),
        ("COMMAS", [["name", "Ann Lee"], ["tags", "a,b,&c"]]),
        ("BRACKETS", [["name", "Ann Lee"], ["tags[]", "a"], ["tags[]", "b,&c"]]),
        (None, [["name", "Ann Lee"], ["tags[]", "a"], ["tags[]", "b,&c"]]),
    ],
)
async def test_url_encoded_body(
    base_url: str, http_client: httpx.AsyncClient, array_format: str | None, expected: Any
) -> None:
    transform: dict[str, Any] = {"RequestBodyEncoding": "URL_ENCODED"}
    if array_format is not None:
        transform["RequestEncodingOptions"] = {"ArrayFormat": array_format}
    output = await invoke_http(
        {
            "ApiEndpoint": f"{base_url}/form",
            "Method": "POST",
            "RequestBody": {"name": "Ann Lee", "tags": ["a", "b,&c"]},
            "Transform": transform,
        },
        client=http_client,
    )
    seen = output["ResponseBody"]
    assert seen["headers"]["content-type"] == ["application/x-www-form-urlencoded"]
    assert [list(pair) for pair in parse_qsl(seen["body"])] == expected
    if array_format == "COMMAS":
        # The separator stays a bare comma; a comma inside an item is escaped.
        assert seen["body"].endswith("tags=a,b%2C%26c")


async def test_non_2xx_fails_with_the_output_as_cause(
    base_url: str, http_client: httpx.AsyncClient
) -> None:
    error = await failure({"ApiEndpoint": f"{base_url}/missing", "Method": "GET"}, http_client)
    assert error.error == "States.Http.StatusCode.404"
    cause = json.loads(error.cause)
    assert cause["StatusCode"] == 404
    assert cause["StatusText"] == "Not Found"
    assert cause["ResponseBody"] == {"message": "no such thing"}
    assert cause["Headers"]["Content-Type"] == ["application/json"]


async def test_redirects_are_not_followed(base_url: str, http_client: httpx.AsyncClient) -> None:
    error = await failure({"ApiEndpoint": f"{base_url}/redirect", "Method": "GET"}, http_client)
    assert error.error == "States.Http.StatusCode.302"
    assert json.loads(error.cause)["Headers"]["Location"] == ["/echo"]


@pytest.mark.parametrize(("path", "body"), [("/text", "hello, world"), ("/not-json", "{oops")])
async def test_non_json_body_stays_text(
    base_url: str, http_client: httpx.AsyncClient, path: str, body: str
) -> None:
    parameters = {"ApiEndpoint": f"{base_url}{path}", "Method": "GET"}
    output = await invoke_http(parameters, client=http_client)
    assert output["ResponseBody"] == body


async def test_head_has_an_empty_body(base_url: str, http_client: httpx.AsyncClient) -> None:
    parameters = {"ApiEndpoint": f"{base_url}/echo", "Method": "HEAD"}
    output = await invoke_http(parameters, client=http_client)
    assert (output["StatusCode"], output["ResponseBody"]) == (200, "")


async def test_response_size_limit(base_url: str, http_client: httpx.AsyncClient) -> None:
    text = {"ApiEndpoint": f"{base_url}/text", "Method": "GET"}
    exact = await invoke_http(text, client=http_client, max_response_bytes=len("hello, world"))
    assert exact["ResponseBody"] == "hello, world"
    error = await failure(text, http_client, max_response_bytes=len("hello, world") - 1)
    assert error.error == "States.DataLimitExceeded"
    error = await failure({"ApiEndpoint": f"{base_url}/huge", "Method": "GET"}, http_client)
    assert error.error == "States.DataLimitExceeded"
    assert "too large" in error.cause


async def test_connection_refused(closed_url: str, http_client: httpx.AsyncClient) -> None:
    parameters = {"ApiEndpoint": f"{closed_url}/x?api_key=SECRET", "Method": "GET"}
    error = await failure(parameters, http_client)
    assert error.error == "States.Http.Socket"
    assert closed_url in error.cause
    assert "SECRET" not in error.cause


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
async def test_timeout(base_url: str, http_client: httpx.AsyncClient, path: str) -> None:
    started = time.monotonic()
    parameters = {"ApiEndpoint": f"{base_url}{path}", "Method": "GET"}
    error = await failure(parameters, http_client, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert error.error == "States.Http.Socket"
    assert path in error.cause
    assert "0.5s" in error.cause


CLOSED = "http://closed.test/x"
GOOD = {"ApiEndpoint": CLOSED, "Method": "POST"}


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ("GET http://x", "Parameters"),
        ({"Method": "GET"}, "ApiEndpoint"),
        ({**GOOD, "ApiEndpoint": "ftp://example.com/x"}, "ApiEndpoint"),
        ({**GOOD, "ApiEndpoint": "/relative"}, "ApiEndpoint"),
        ({"ApiEndpoint": GOOD["ApiEndpoint"]}, "Method"),
        ({**GOOD, "Method": "FETCH"}, "Method"),
        ({**GOOD, "Method": ["GET"]}, "Method"),
        ({**GOOD, "Headers": {"Host": "evil.example"}}, "Headers.Host"),
        ({**GOOD, "Headers": {"content-length": "5"}}, "Headers.content-length"),
        ({**GOOD, "Headers": {"X-Count": 3}}, "Headers.X-Count"),
        ({**GOOD, "Headers": {"X-Evil": "a\r\nHost: b"}}, "Headers.X-Evil"),
        ({**GOOD, "Headers": {"Bad Name": "a"}}, "Headers"),
        ({**GOOD, "Headers": ["X-A: 1"]}, "Headers"),
        ({**GOOD, "QueryParameters": {"n": 1}}, "QueryParameters.n"),
        ({**GOOD, "QueryParameters": {"n": ["a", 2]}}, "QueryParameters.n"),
        ({**GOOD, "Transform": {"RequestBodyEncoding": "XML"}}, "RequestBodyEncoding"),
        (
            {**GOOD, "Transform": {"RequestEncodingOptions": {"ArrayFormat": "SEMICOLONS"}}},
            "ArrayFormat",
        ),
        (
            {
                **GOOD,
                "RequestBody": {"a": {"b": 1}},
                "Transform": {"RequestBodyEncoding": "URL_ENCODED"},
            },
            "RequestBody.a",
        ),
        (
            {**GOOD, "RequestBody": [1], "Transform": {"RequestBodyEncoding": "URL_ENCODED"}},
            "RequestBody",
        ),
        ({**GOOD, "RequestBody": float("nan")}, "RequestBody"),
    ],
)
async def test_invalid_parameters(
    http_client: httpx.AsyncClient, closed_url: str, parameters: Any, field: str
) -> None:
    # Were any request sent to the closed port, this would be States.Http.Socket instead.
    if isinstance(parameters, dict) and parameters.get("ApiEndpoint") == CLOSED:
        parameters = {**parameters, "ApiEndpoint": f"{closed_url}/x"}
    error = await failure(parameters, http_client)
    assert error.error == "States.Runtime"
    assert field in error.cause


def test_error_carries_error_and_cause() -> None:
    error = HttpTaskError("States.Runtime", "Method must be one of GET")
    assert (error.error, error.cause) == ("States.Runtime", "Method must be one of GET")
    assert str(error) == "States.Runtime: Method must be one of GET"
