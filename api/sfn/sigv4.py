"""Verifying AWS Signature Version 4 on requests to the Step Functions-compatible API.

Clients such as boto3 and the AWS CLI sign `POST /` requests (AWS JSON 1.0) for the service
`states`; this module recomputes the signature from the request as received and returns the
matching credential, or raises `SignatureError` carrying the code AWS itself would return.
Secrets come from an owner-only JSON file (see `load_credentials`), never from the
environment or the main configuration, which only names that file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote_plus

SERVICE = "states"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MIN_SECRET_LENGTH = 16
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Credential:
    """An access key pair and the scopes it grants (carried here, checked by the caller)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    scopes: tuple[str, ...]


class SignatureError(Exception):
    """A request that fails SigV4 verification; `code` is the AWS error type to return."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _incomplete(message: str) -> SignatureError:
    return SignatureError("IncompleteSignatureException", message)


def _invalid(message: str = _MISMATCH) -> SignatureError:
    return SignatureError("InvalidSignatureException", message)


def _header_lists(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    # HTTP header names are case-insensitive and may repeat; SigV4 joins repeats in order.
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.strip().lower(), []).append(value)
    return grouped


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    """(credential, signed header names, signature) from a SigV4 Authorization header."""
    params: dict[str, str] = {}
    for part in value[len(ALGORITHM) :].split(","):
        name, sep, param = part.strip().partition("=")
        if sep and name in params:
            raise _incomplete(f"Authorization header has more than one '{name}' parameter.")
        if sep:
            params[name] = param.strip()
    missing = [
        name for name in ("Credential", "Signature", "SignedHeaders") if not params.get(name)
    ]
    if missing:
        raise _incomplete(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        )
    signed = params["SignedHeaders"].lower().split(";")
    if any(not name for name in signed):
        raise _incomplete("SignedHeaders contains an empty header name.")
    return params["Credential"], signed, params["Signature"]


def _parse_amz_date(values: list[str] | None) -> tuple[str, datetime]:
    """The X-Amz-Date header as sent (it goes into the string to sign) and as a time."""
    if not values:
        raise _incomplete("Authorization header requires existence of an 'X-Amz-Date' header.")
    value = ",".join(values)
    # strptime alone accepts one-digit fields; the signed string must be the exact 16 chars.
    digits = value[:8] + value[9:15]
    well_formed = len(value) == 16 and digits.isascii() and digits.isdigit()
    well_formed = well_formed and value[8] == "T" and value[15] == "Z"
    try:
        if well_formed:
            return value, datetime.strptime(value, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        pass
    raise _incomplete(f"X-Amz-Date must be in ISO 8601 basic format (YYYYMMDDTHHMMSSZ): {value!r}.")


def _check_clock(request_time: datetime, now: datetime) -> None:
    # A naive `now` is taken as UTC, as X-Amz-Date always is.
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    sent, current = request_time.strftime(_AMZ_DATE), now.strftime(_AMZ_DATE)
    if request_time < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(_AMZ_DATE)
        raise _invalid(
            f"Signature expired: {sent} is now earlier than {earliest} ({current} - 15 min.)"
        )
    if request_time > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(_AMZ_DATE)
        raise _invalid(
            f"Signature not yet current: {sent} is still later than {latest} ({current} + 15 min.)"
        )


def _canonical_uri(path: str) -> str:
    # botocore's rule for every service but S3: drop empty and '.' segments, resolve '..',
    # then percent-encode the already-encoded path once more.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return quote("/" + "/".join(segments) + trailing, safe="/~")


def _canonical_query(query: str) -> str:
    # Decode then re-encode so any client's escaping lands on the one canonical form; '+' is
    # a space because botocore sends params with urlencode (quote_plus) but signs them as %20.
    pairs = []
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        pairs.append(
            (quote(unquote_plus(name), safe="-_.~"), quote(unquote_plus(value), safe="-_.~"))
        )
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _payload_hash(headers: dict[str, list[str]], signed: list[str], body: bytes) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    if "x-amz-content-sha256" not in signed:
        # An unsigned declaration could be forged, so the body itself is what gets signed.
        return body_hash
    declared = ",".join(headers.get("x-amz-content-sha256", [])).strip()
    if declared in (UNSIGNED_PAYLOAD, body_hash):
        return declared
    raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    body: bytes,
    credentials: Mapping[str, Credential],
    region: str,
    now: datetime,
) -> Credential:
    """Check the request's SigV4 signature and return the credential that made it.

    `path` and `query` are as sent on the wire (still percent-encoded, no '?'); `headers` is
    a mapping with names in any case or a list of (name, value) pairs for repeated headers.
    Raises `SignatureError` with the AWS error code on any failure.
    """
    lists = _header_lists(headers)
    authorization = lists.get("authorization", [])
    if not authorization or not authorization[0].startswith(ALGORITHM + " "):
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    if len(authorization) > 1:
        raise _incomplete("The request has more than one Authorization header.")
    credential_param, signed, signature = _parse_authorization(authorization[0])
    amz_date, request_time = _parse_amz_date(lists.get("x-amz-date"))
    if "host" not in signed:
        raise _incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")

    scope = credential_param.split("/")
    if len(scope) != 5 or not scope[0]:
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/aws4_request."
        )
    key_id, scope_date, scope_region, scope_service, terminator = scope
    if terminator != "aws4_request":
        raise _incomplete(
            f"Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{terminator}'."
        )
    if scope_date != amz_date[:8]:
        raise _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from 'X-Amz-Date'."
        )
    if scope_service != SERVICE:
        raise _invalid(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if scope_region != region:
        raise _invalid(f"Credential should be scoped to a valid region, not '{scope_region}'.")
    _check_clock(request_time, now)

    credential = credentials.get(key_id)
    if credential is None:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    missing = [name for name in signed if name not in lists]
    if missing:
        # The signer saw these headers and we cannot, so the signature cannot be recomputed.
        raise _invalid(f"Signed header(s) missing from the request: {', '.join(missing)}.")

    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(value.split()) for value in lists[name])}\n" for name in signed
    )
    uri, canonical_query = _canonical_uri(path), _canonical_query(query)
    payload_hash = _payload_hash(lists, signed, body)
    canonical_request = "\n".join(
        [method.upper(), uri, canonical_query, canonical_headers, ";".join(signed), payload_hash]
    )
    request_hash = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = "\n".join([ALGORITHM, amz_date, "/".join(scope[1:]), request_hash])
    key = _signing_key(credential.secret_access_key, scope_date, region)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    # Bytes, because compare_digest refuses str holding non-ASCII (a hostile signature may).
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise _invalid()
    return credential


def _entry(source: str, index: int, raw: Any) -> Credential:
    where = f"{source}: credentials[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not a JSON object")
    for name in ("access_key_id", "secret_access_key", "scopes"):
        if name not in raw:
            raise ValueError(f"{where} has no {name!r}")
    key_id, secret, scopes = raw["access_key_id"], raw["secret_access_key"], raw["scopes"]
    if not isinstance(key_id, str) or not key_id:
        raise ValueError(f"{where}: access_key_id must be a non-empty string")
    # These characters would break the Credential=keyid/date/... parameter a client sends.
    if not key_id.isprintable() or any(c in key_id for c in "/, ") or not key_id.isascii():
        raise ValueError(f"{where}: access_key_id {key_id!r} has a character not allowed")
    if not isinstance(secret, str) or not secret:
        raise ValueError(f"{where} ({key_id}): secret_access_key must be a non-empty string")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{where} ({key_id}): secret_access_key is shorter than {MIN_SECRET_LENGTH} characters"
        )
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"{where} ({key_id}): scopes must be a list of strings")
    return Credential(key_id, secret, tuple(scopes))


def load_credentials(path: str | os.PathLike[str]) -> dict[str, Credential]:
    """Read access keys from an owner-only JSON file into a map by access key id.

    The file holds `{"credentials": [{"access_key_id", "secret_access_key", "scopes"}]}`.
    Raises `ValueError` naming the file and the problem (never a secret) if the file is open
    to group or others, is not valid JSON, or has a missing, empty, short or repeated value.
    """
    source = os.fspath(path)
    # Check the mode on the descriptor we read, so the file cannot be swapped in between.
    with open(source, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{source}: not a regular file")
        if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
            raise ValueError(
                f"{source}: mode {oct(stat.S_IMODE(mode))} lets group or others read or write "
                "the secrets; make it owner-only (chmod 600)"
            )
        raw = handle.read()
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        # Its message quotes a byte of the file, which may be part of a secret.
        raise ValueError(f"{source}: not valid UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        # The decoder's message gives only a position, never the text, so no secret leaks.
        raise ValueError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("credentials"), list):
        raise ValueError(f'{source}: expected an object with a "credentials" list')
    loaded: dict[str, Credential] = {}
    for index, raw_entry in enumerate(document["credentials"]):
        credential = _entry(source, index, raw_entry)
        if credential.access_key_id in loaded:
            raise ValueError(f"{source}: access_key_id {credential.access_key_id!r} is repeated")
        loaded[credential.access_key_id] = credential
    return loaded
