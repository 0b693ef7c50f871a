"""Where the report page is published: a local folder (default) or an S3 bucket.

The report runner's steps hand each other references, not documents: a downloaded CSV and a
rendered page are staged here (`stage`, `read_staged`) under names of their own, and a run's
history only carries those names. A publisher's staging area is never published.

Publishing never shows a reader half a page. The local publisher writes a temporary file and
renames it over the old one (atomic on POSIX); S3 replaces an object whole on PUT. The page it
replaces is kept as `<name>.previous.html` first, so the last good page is never lost.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

if TYPE_CHECKING:
    from core.settings import Settings

PAGE_NAMES = ("report.html", "report.previous.html")
STAGING = ".staging"


class PagePublisher(Protocol):
    def describe(self) -> str: ...

    async def publish(self, name: str, content: bytes) -> str:
        """Replace `name` atomically, keeping the version it replaces; return its location."""
        ...

    async def read(self, name: str) -> bytes | None:
        """The published bytes, or None when nothing is published under `name`."""
        ...

    async def stage(self, name: str, content: bytes) -> None:
        """Keep a working file under `name`, out of sight; writing it again is harmless."""
        ...

    async def read_staged(self, name: str) -> bytes | None:
        """A working file, or None if there is none under `name`."""
        ...

    async def discard_staged(self, name: str) -> None:
        """Forget a working file; forgetting one that is gone is harmless."""
        ...

    def url(self, name: str, site_base_url: str) -> str:
        """Where a reader finds the published `name`: under the API's `/site/`, or in S3."""
        ...


def previous_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.previous.{ext}" if dot else f"{name}.previous"


class LocalPagePublisher:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return str(self.folder)

    async def publish(self, name: str, content: bytes) -> str:
        return await asyncio.to_thread(self._publish, name, content)

    def _publish(self, name: str, content: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        staging = self.folder / f".{name}.{uuid.uuid4().hex}.tmp"
        with staging.open("wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            previous = self.folder / previous_name(name)
            backup = self.folder / f".{previous.name}.{uuid.uuid4().hex}.tmp"
            os.link(target, backup)
            os.replace(backup, previous)
        os.replace(staging, target)
        return str(target)

    async def read(self, name: str) -> bytes | None:
        path = self.folder / name
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    @property
    def _staging(self) -> Path:
        return self.folder / STAGING

    async def stage(self, name: str, content: bytes) -> None:
        await asyncio.to_thread(self._stage, name, content)

    def _stage(self, name: str, content: bytes) -> None:
        self._staging.mkdir(parents=True, exist_ok=True)
        partial = self._staging / f".{name}.{uuid.uuid4().hex}.tmp"
        partial.write_bytes(content)
        os.replace(partial, self._staging / name)

    async def read_staged(self, name: str) -> bytes | None:
        try:
            return await asyncio.to_thread((self._staging / name).read_bytes)
        except FileNotFoundError:
            return None

    async def discard_staged(self, name: str) -> None:
        (self._staging / name).unlink(missing_ok=True)

    def url(self, name: str, site_base_url: str) -> str:
        return f"{site_base_url.rstrip('/')}/site/{name}"


class S3PagePublisher:
    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None = None) -> None:
        import boto3  # only a deployment that publishes to S3 needs it loaded

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._s3: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    async def publish(self, name: str, content: bytes) -> str:
        return await asyncio.to_thread(self._publish, name, content)

    def _publish(self, name: str, content: bytes) -> str:
        key = self._key(name)
        try:
            self._s3.copy_object(
                Bucket=self.bucket,
                Key=self._key(previous_name(name)),
                CopySource={"Bucket": self.bucket, "Key": key},
            )
        except self._s3.exceptions.ClientError as err:
            if err.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=content, ContentType="text/html; charset=utf-8"
        )
        return f"s3://{self.bucket}/{key}"

    async def read(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._read, name)

    def _read(self, name: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self._key(name))
        except self._s3.exceptions.NoSuchKey:
            return None
        body: bytes = response["Body"].read()
        return body

    async def stage(self, name: str, content: bytes) -> None:
        key = self._key(f"{STAGING}/{name}")
        await asyncio.to_thread(self._s3.put_object, Bucket=self.bucket, Key=key, Body=content)

    async def read_staged(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._read, f"{STAGING}/{name}")

    async def discard_staged(self, name: str) -> None:
        key = self._key(f"{STAGING}/{name}")
        await asyncio.to_thread(self._s3.delete_object, Bucket=self.bucket, Key=key)

    def url(self, name: str, site_base_url: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"


def publisher_for(
    url: str | None, data_path: Path, endpoint_url: str | None = None
) -> PagePublisher:
    """The publisher a URL names: `s3://bucket/prefix`, a folder, or the data folder's `site/`."""
    if not url:
        return LocalPagePublisher(data_path / "site")
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"page publisher URL {url!r} names no bucket: use s3://bucket/prefix")
        return S3PagePublisher(parsed.netloc, parsed.path, endpoint_url)
    if parsed.scheme in ("", "file"):
        return LocalPagePublisher(Path(parsed.path).expanduser().resolve())
    raise ValueError(f"page publisher URL {url!r}: use s3://bucket/prefix or a folder path")


def configured_publisher(settings: Settings) -> PagePublisher:
    return publisher_for(settings.publish_url, settings.data_path, settings.s3_endpoint_url)
