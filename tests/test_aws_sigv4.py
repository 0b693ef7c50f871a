"""SigV4 verification against requests signed by botocore's own signer, the one boto3 and the
AWS CLI use, so a pass here means real clients get through and a failure says what AWS would."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from api.sfn.sigv4 import (
    Credential,
    SignatureError,
    load_credentials,
    verify_request,
)

REGION = "us-east-1"
HOST = "127.0.0.1:8000"
BODY = json.dumps({"name": "x"}).encode()
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
ALICE = Credential("AKIDALICE0000000", SECRET, ("sfn:read", "sfn:write"))
BOB = Credential("AKIDBOB000000000", OTHER_SECRET, ("admin",))
KEYS = {ALICE.access_key_id: ALICE, BOB.access_key_id: BOB}
MISMATCH = "The request signature we calculated does not match the signature you provided."


def sign(
    *,
    key_id: str = ALICE.access_key_id,
    secret: str = SECRET,
    token: str | None = None,
    url: str = f"http://{HOST}/",
    params: dict[str, str] | None = None,
    body: bytes = BODY,
    service: str = "states",
    region: str = REGION,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request signed by botocore, as the server would receive it: the keyword arguments
    for verify_request (without credentials, region and now) plus the signing time."""
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
        **(extra_headers or {}),
    }
    request = AWSRequest(method="POST", url=url, data=body, headers=headers, params=params or {})
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    # The HTTP client adds Host on the wire; botocore signed the same value from the URL.
    wire_headers = [("Host", parts.netloc), *prepared.headers.items()]
    signed_at = datetime.strptime(prepared.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    return {
        "method": prepared.method,
        "path": parts.path,
        "query": parts.query,
        "headers": wire_headers,
        "body": prepared.body or b"",
        "signed_at": signed_at.replace(tzinfo=UTC),
    }


def verify(request: dict[str, Any], *, skew: timedelta = timedelta(), **overrides: Any):
    args = {key: value for key, value in request.items() if key != "signed_at"}
    args.update(credentials=KEYS, region=REGION, now=request["signed_at"] + skew)
    args.update(overrides)
    return verify_request(**args)


def rejected(request: dict[str, Any], code: str, **overrides: Any) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verify(request, **overrides)
    assert caught.value.code == code
    assert SECRET not in caught.value.message and SECRET not in str(caught.value)
    assert OTHER_SECRET not in caught.value.message
    return caught.value


def replace_header(request: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    headers = [(n, v) for n, v in request["headers"] if n.lower() != name.lower()]
    if value is not None:
        headers.append((name, value))
    return {**request, "headers": headers}


def authorization(request: dict[str, Any]) -> str:
    value: str = next(v for n, v in request["headers"] if n.lower() == "authorization")
    return value


# Valid requests


def test_valid_signature_returns_the_credential():
    assert verify(sign()) == ALICE
    assert verify(sign(key_id=BOB.access_key_id, secret=OTHER_SECRET)) == BOB


def test_valid_with_session_token():
    request = sign(token="FQoGZXIvYXdzEXAMPLETOKEN")
    assert "x-amz-security-token" in authorization(request)
    assert verify(request) == ALICE


def test_valid_with_query_string_and_path():
    request = sign(url=f"http://{HOST}/some/path%20x/./y/", params={"b": "2", "a": "x y~z"})
    assert request["path"] == "/some/path%20x/./y/"
    assert request["query"]
    assert verify(request) == ALICE


def test_valid_with_raw_query_in_url():
    request = sign(url=f"http://{HOST}/a/b?z=1&a=2&m")
    assert request["query"] == "z=1&a=2&m"
    assert verify(request) == ALICE


def test_empty_body():
    assert verify(sign(body=b"")) == ALICE


def test_header_names_in_any_case_and_as_a_mapping():
    request = sign()
    as_mapping = {name.upper(): value for name, value in request["headers"]}
    assert verify(request, headers=as_mapping) == ALICE
    mixed = [(name.swapcase(), value) for name, value in request["headers"]]
    assert verify(request, headers=mixed) == ALICE


def test_header_values_are_trimmed_and_spaces_collapsed():
    request = sign(extra_headers={"X-Custom": "a   b"})
    assert verify(replace_header(request, "X-Custom", "  a b  ")) == ALICE


def test_repeated_signed_header_values_are_joined():
    request = sign(extra_headers={"X-Custom": "a,b"})
    headers = [(n, v) for n, v in request["headers"] if n != "X-Custom"]
    headers += [("x-custom", "a"), ("X-Custom", "b")]
    assert verify({**request, "headers": headers}) == ALICE
    swapped = [(n, v) for n, v in request["headers"] if n != "X-Custom"]
    swapped += [("x-custom", "b"), ("X-Custom", "a")]
    rejected({**request, "headers": swapped}, "InvalidSignatureException")


def test_signed_content_sha256_header():
    digest = hashlib.sha256(BODY).hexdigest()
    assert verify(sign(extra_headers={"X-Amz-Content-SHA256": digest})) == ALICE
    assert verify(sign(extra_headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})) == ALICE
    wrong = sign(extra_headers={"X-Amz-Content-SHA256": "0" * 64})
    error = rejected(wrong, "InvalidSignatureException")
    assert "x-amz-content-sha256" in error.message


def test_unsigned_content_sha256_header_is_ignored():
    request = sign()
    forged = replace_header(request, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")
    assert verify(forged) == ALICE
    rejected({**forged, "body": b'{"name": "y"}'}, "InvalidSignatureException")


# Signature mismatches


def test_wrong_secret():
    error = rejected(sign(secret="x" * 40), "InvalidSignatureException")
    assert error.message.startswith(MISMATCH)


def test_unknown_access_key():
    error = rejected(sign(key_id="AKIDNOBODY000000"), "UnrecognizedClientException")
    assert error.message == "The security token included in the request is invalid."


def test_tampered_body():
    rejected({**sign(), "body": b'{"name": "y"}'}, "InvalidSignatureException")


def test_tampered_signed_header():
    request = replace_header(sign(), "X-Amz-Target", "AWSStepFunctions.DeleteStateMachine")
    error = rejected(request, "InvalidSignatureException")
    assert error.message.startswith(MISMATCH)


def test_tampered_method_path_and_query():
    request = sign(url=f"http://{HOST}/a", params={"k": "v"})
    rejected(request, "InvalidSignatureException", method="PUT")
    rejected(request, "InvalidSignatureException", path="/b")
    rejected(request, "InvalidSignatureException", query="k=w")


def test_signed_header_missing_from_request():
    request = replace_header(sign(), "X-Amz-Target", None)
    error = rejected(request, "InvalidSignatureException")
    assert "x-amz-target" in error.message


def test_non_ascii_signature_is_a_mismatch_not_a_crash():
    auth = authorization(sign())
    request = replace_header(sign(), "Authorization", auth[:-1] + "é")
    rejected(request, "InvalidSignatureException")


# Missing or malformed authentication


def test_missing_authorization():
    error = rejected(
        replace_header(sign(), "Authorization", None), "MissingAuthenticationTokenException"
    )
    assert error.message == "Missing Authentication Token"
    rejected(
        replace_header(sign(), "Authorization", "Bearer abc"), "MissingAuthenticationTokenException"
    )


@pytest.mark.parametrize("drop", ["Credential", "SignedHeaders", "Signature"])
def test_authorization_missing_a_part(drop):
    auth = authorization(sign())
    head, params = auth.split(" ", 1)
    kept = [p for p in params.split(", ") if not p.startswith(drop + "=")]
    request = replace_header(sign(), "Authorization", f"{head} {', '.join(kept)}")
    error = rejected(request, "IncompleteSignatureException")
    assert f"'{drop}'" in error.message


@pytest.mark.parametrize(
    "credential",
    [
        "AKIDALICE0000000/20261124/us-east-1/states",
        "AKIDALICE0000000/20261124/us-east-1/states/aws4_request/x",
        "AKIDALICE0000000/20261124/us-east-1/states/aws5_request",
        "/20261124/us-east-1/states/aws4_request",
    ],
)
def test_malformed_credential_scope(credential):
    request = sign()
    auth = authorization(request)
    start = auth.index("Credential=") + len("Credential=")
    end = auth.index(",", start)
    bad = auth[:start] + credential + auth[end:]
    rejected(replace_header(request, "Authorization", bad), "IncompleteSignatureException")


def test_missing_or_malformed_amz_date():
    request = sign()
    error = rejected(replace_header(request, "X-Amz-Date", None), "IncompleteSignatureException")
    assert "X-Amz-Date" in error.message
    for bad in ("2026-11-24T12:00:00Z", "2026112T120000Z", "20261324T120000Z", "x" * 16):
        rejected(replace_header(request, "X-Amz-Date", bad), "IncompleteSignatureException")


def test_repeated_amz_date_is_malformed():
    request = sign()
    date = next(v for n, v in request["headers"] if n == "X-Amz-Date")
    repeated = {**request, "headers": [*request["headers"], ("x-amz-date", date)]}
    rejected(repeated, "IncompleteSignatureException")


def test_host_must_be_signed():
    request = sign()
    bad = authorization(request).replace("host;", "")
    assert "host" not in bad.split("SignedHeaders=")[1].split(",")[0]
    error = rejected(replace_header(request, "Authorization", bad), "IncompleteSignatureException")
    assert "Host" in error.message


def test_scope_date_must_match_amz_date():
    request = sign()
    date = next(v for n, v in request["headers"] if n == "X-Amz-Date")
    next_day = (request["signed_at"] + timedelta(days=1)).strftime("%Y%m%d")
    bad = authorization(request).replace(f"/{date[:8]}/", f"/{next_day}/")
    rejected(replace_header(request, "Authorization", bad), "InvalidSignatureException")


def test_wrong_region_in_scope():
    error = rejected(sign(region="eu-west-1"), "InvalidSignatureException")
    assert "region" in error.message and "eu-west-1" in error.message
    # The same request against a server configured for that region passes.
    assert verify(sign(region="eu-west-1"), region="eu-west-1") == ALICE


def test_wrong_service_in_scope():
    error = rejected(sign(service="lambda"), "InvalidSignatureException")
    assert "'states'" in error.message


# Clock skew


def test_signature_expired_after_fifteen_minutes():
    request = sign()
    error = rejected(request, "InvalidSignatureException", skew=timedelta(minutes=16))
    sent = request["signed_at"]
    fmt = "%Y%m%dT%H%M%SZ"
    now = sent + timedelta(minutes=16)
    assert error.message == (
        f"Signature expired: {sent.strftime(fmt)} is now earlier than "
        f"{(now - timedelta(minutes=15)).strftime(fmt)} ({now.strftime(fmt)} - 15 min.)"
    )


def test_signature_not_yet_current_fifteen_minutes_ahead():
    request = sign()
    error = rejected(request, "InvalidSignatureException", skew=-timedelta(minutes=16))
    sent = request["signed_at"]
    fmt = "%Y%m%dT%H%M%SZ"
    now = sent - timedelta(minutes=16)
    assert error.message == (
        f"Signature not yet current: {sent.strftime(fmt)} is still later than "
        f"{(now + timedelta(minutes=15)).strftime(fmt)} ({now.strftime(fmt)} + 15 min.)"
    )


@pytest.mark.parametrize("minutes", [14, -14, 15, -15])
def test_skew_within_fifteen_minutes_is_accepted(minutes):
    assert verify(sign(), skew=timedelta(minutes=minutes)) == ALICE


def test_naive_and_other_timezone_now():
    request = sign()
    naive = request["signed_at"].replace(tzinfo=None)
    assert verify(request, now=naive) == ALICE
    elsewhere = request["signed_at"].astimezone(timezone(timedelta(hours=9)))
    assert verify(request, now=elsewhere) == ALICE


# The credentials file


def write_keys(tmp_path: Path, content: Any, mode: int = 0o600) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.chmod(path, mode)
    return path


def entry(
    key_id: str = "AKIDALICE0000000", secret: str = SECRET, scopes: Any = None
) -> dict[str, Any]:
    return {"access_key_id": key_id, "secret_access_key": secret, "scopes": scopes or ["sfn:read"]}


def refused(path: Path, *words: str) -> str:
    with pytest.raises(ValueError) as caught:
        load_credentials(path)
    message = str(caught.value)
    assert str(path) in message
    assert SECRET not in message and "tooshort" not in message
    for word in words:
        assert word in message
    return message


def test_load_credentials(tmp_path):
    path = write_keys(
        tmp_path,
        {
            "credentials": [
                entry(scopes=["sfn:read", "sfn:write"]),
                entry("AKIDBOB000000000", OTHER_SECRET, ["admin"]),
            ]
        },
    )
    loaded = load_credentials(path)
    assert loaded == {
        "AKIDALICE0000000": Credential("AKIDALICE0000000", SECRET, ("sfn:read", "sfn:write")),
        "AKIDBOB000000000": BOB,
    }
    assert load_credentials(str(path)) == loaded


def test_loaded_credentials_verify_a_botocore_request(tmp_path):
    keys = load_credentials(write_keys(tmp_path, {"credentials": [entry()]}))
    assert verify(sign(), credentials=keys).scopes == ("sfn:read",)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_refuses_file_open_to_group_or_others(tmp_path, mode):
    path = write_keys(tmp_path, {"credentials": [entry()]}, mode)
    refused(path, oct(mode), "chmod 600")


def test_refuses_malformed_json(tmp_path):
    refused(write_keys(tmp_path, '{"credentials": [{"secret_access_key": "' + SECRET), "JSON")
    refused(write_keys(tmp_path, '{"credentials": [}'), "JSON")


def test_refuses_bad_shapes(tmp_path):
    refused(write_keys(tmp_path, []), "credentials")
    refused(write_keys(tmp_path, {"keys": []}), "credentials")
    refused(write_keys(tmp_path, {"credentials": ["x"]}), "credentials[0]")


@pytest.mark.parametrize("field", ["access_key_id", "secret_access_key", "scopes"])
def test_refuses_missing_field(tmp_path, field):
    item = entry()
    del item[field]
    refused(write_keys(tmp_path, {"credentials": [item]}), field)


def test_refuses_empty_or_bad_values(tmp_path):
    refused(write_keys(tmp_path, {"credentials": [entry(key_id="")]}), "access_key_id")
    refused(write_keys(tmp_path, {"credentials": [entry(key_id="AKID/X")]}), "access_key_id")
    refused(write_keys(tmp_path, {"credentials": [entry(secret="")]}), "secret_access_key")
    refused(write_keys(tmp_path, {"credentials": [entry(scopes="admin")]}), "scopes")


def test_refuses_duplicate_key_ids(tmp_path):
    path = write_keys(tmp_path, {"credentials": [entry(), entry(secret=OTHER_SECRET)]})
    message = refused(path, "AKIDALICE0000000", "repeated")
    assert OTHER_SECRET not in message


def test_refuses_short_secret(tmp_path):
    path = write_keys(tmp_path, {"credentials": [entry(secret="tooshort")]})
    refused(path, "shorter than 16")


# Secrets never show


def test_repr_hides_the_secret():
    assert SECRET not in repr(ALICE)
    assert SECRET not in str(ALICE)
    assert "AKIDALICE0000000" in repr(ALICE)
