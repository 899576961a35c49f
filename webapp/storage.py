"""Recording objects, in a local folder or in an S3-compatible bucket (STORAGE_BACKEND).

A storage key names one object relative to the portal's storage: `c<contract>/d<device>/…`.
Rows are deleted in the database transaction; objects are removed only after it has
committed, so a failed transaction never loses an object that a row still names. Removing
is idempotent in both backends, and a failure to remove is logged rather than raised: what
is left behind is swept by gc-recordings.

Callers use the module functions (`write`, `read`, `stream`, `remove`, `remove_tree`,
`remove_trees`, `iter_objects`), which act on the current app's backend; `remove_trees`
(a bulk deletion's folders) runs beside the request instead of within it. `stream` reads
an object a chunk at a time, so that a download of any size never holds a recording whole.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from flask import Flask, current_app

from .config import ConfigError, check_storage

log = logging.getLogger(__name__)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# The most keys S3's DeleteObjects takes in one call.
DELETE_BATCH = 1000
# How much of an object `stream` reads at a time.
CHUNK_SIZE = 256 * 1024


class RecordingMissing(KeyError):
    """No object is stored under this key."""


class Readable(Protocol):
    """An open source of an object's bytes: a file, or the body of an S3 answer."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class ObjectStream(Iterator[bytes]):
    """One stored object, read a chunk at a time as it is iterated, never whole.

    `size` is the object's length in bytes. The source is closed once it is read to the
    end, or by close() (a download cut off half-way), whichever comes first.
    """

    def __init__(self, source: Readable, size: int, chunk_size: int = CHUNK_SIZE) -> None:
        self.size = size
        self._source: Readable | None = source
        self._chunk_size = chunk_size

    def __iter__(self) -> ObjectStream:
        return self

    def __next__(self) -> bytes:
        if self._source is None:
            raise StopIteration
        chunk = self._source.read(self._chunk_size)
        if not chunk:
            self.close()
            raise StopIteration
        return bytes(chunk)

    def close(self) -> None:
        if self._source is not None:
            source, self._source = self._source, None
            source.close()

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class StoredObject:
    """One stored object: its key, its size and when it was last written (POSIX seconds)."""

    key: str
    size: int
    modified: float


class Storage(Protocol):
    """What every recording storage backend offers."""

    def write(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store *data* under *key*, replacing any object already there."""
        ...

    def read(self, key: str) -> bytes:
        """Return the object under *key*; raise RecordingMissing when there is none."""
        ...

    def stream(self, key: str, chunk_size: int = CHUNK_SIZE) -> ObjectStream:
        """Open the object under *key* to be read in chunks; RecordingMissing when there is none.

        The object is opened now (so a missing one is known before anything is sent) and
        read only as the stream is iterated.
        """
        ...

    def remove(self, keys: Iterable[str]) -> int:
        """Remove objects by key, missing ones included; return how many were removed."""
        ...

    def remove_tree(self, prefix: str) -> int:
        """Remove every object under *prefix* (a folder); return how many were removed."""
        ...

    def remove_trees(self, prefixes: list[str]) -> None:
        """Remove every object under each of *prefixes*, without counting them (many folders)."""
        ...

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Yield the objects under *prefix* (every object when empty)."""
        ...


def check_key(key: str) -> str:
    """Return *key* if it is a safe storage key, else raise ValueError.

    A key is relative, made of non-empty segments, none of them `.` or `..`: it can
    neither leave the storage folder nor name one object in two spellings.
    """
    parts = key.split("/")
    if not key or any(part in {"", ".", ".."} for part in parts) or "\x00" in key:
        raise ValueError(f"unsafe storage key {key!r}")
    return key


def contract_prefix(contract_id: int) -> str:
    return f"c{contract_id}"


def device_prefix(contract_id: int, device_id: int) -> str:
    return f"{contract_prefix(contract_id)}/d{device_id}"


class LocalStorage:
    """Objects as files under one folder (RECORDINGS_DIR), one sub-folder per key segment."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """Return the file of a storage key, refusing keys that would leave the folder."""
        return self.root.joinpath(*PurePosixPath(check_key(key)).parts)

    def write(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file. A file left by a
        # crash is named by no row, and gc-recordings removes it.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise RecordingMissing(key) from exc

    def stream(self, key: str, chunk_size: int = CHUNK_SIZE) -> ObjectStream:
        path = self.path_for(key)
        try:
            handle = path.open("rb", buffering=0)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise RecordingMissing(key) from exc
        try:
            size = os.fstat(handle.fileno()).st_size
        except BaseException:
            handle.close()
            raise
        return ObjectStream(handle, size, chunk_size)

    def remove(self, keys: Iterable[str]) -> int:
        removed = 0
        parents: set[str] = set()
        root = os.fspath(self.root)
        # Plain strings, not Path objects: the retention job removes keys by the million,
        # and building two paths per key took longer than the unlinking. A checked key is
        # a relative path of safe segments, so joining it stays under the folder.
        for path in [os.path.join(root, check_key(key)) for key in keys]:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                log.exception("could not remove recording file %s", path)
            parents.add(os.path.dirname(path))
        for parent in parents:
            self._remove_empty_dirs(Path(parent))
        return removed

    def remove_tree(self, prefix: str) -> int:
        path = self.path_for(prefix)
        count = sum(1 for _ in self.iter_objects(prefix))
        shutil.rmtree(path, ignore_errors=True)
        self._remove_empty_dirs(path.parent)
        return count

    def remove_trees(self, prefixes: list[str]) -> None:
        # Thousands of folders at once (a bulk deletion): listing each file to count it
        # would cost several times the removal itself.
        parents = set()
        for prefix in prefixes:
            path = self.path_for(prefix)
            shutil.rmtree(path, ignore_errors=True)
            parents.add(path.parent)
        for parent in parents:
            self._remove_empty_dirs(parent)

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        top = self.path_for(prefix) if prefix else self.root
        for folder, dirnames, filenames in os.walk(top):
            dirnames.sort()
            base = Path(folder)
            for name in sorted(filenames):
                path = base / name
                try:
                    status = path.lstat()
                except FileNotFoundError:  # removed while the folder was being read
                    continue
                if not path.is_symlink():
                    key = path.relative_to(self.root).as_posix()
                    yield StoredObject(key, status.st_size, status.st_mtime)

    def _remove_empty_dirs(self, path: Path) -> None:
        while path != self.root and self.root in path.parents:
            try:
                os.rmdir(path)
            except OSError:
                return
            path = path.parent


class S3Storage:
    """Objects in an S3 bucket, on AWS or any S3-compatible server (MinIO, Ceph, …).

    Credentials come from boto3's usual sources (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role). The client is made on first
    use and shared by the threads of the process.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{check_key(prefix)}/" if prefix else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "connect_timeout": 5,
            "read_timeout": 30,
            "retries": {"max_attempts": 5, "mode": "standard"},
            "max_pool_connections": 20,
        }
        if self.endpoint_url:
            # Other servers answer on one host name, and not all of them check the
            # checksums that boto3 now sends by default.
            options["s3"] = {"addressing_style": "path"}
            options["request_checksum_calculation"] = "when_required"
            options["response_checksum_validation"] = "when_required"
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(**options),
        )

    def object_name(self, key: str) -> str:
        """Return the name in the bucket of a storage key."""
        return self.prefix + check_key(key)

    def write(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.object_name(key), Body=data, ContentType=content_type
        )

    def read(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def stream(self, key: str, chunk_size: int = CHUNK_SIZE) -> ObjectStream:
        answer = self._get(key)
        return ObjectStream(answer["Body"], int(answer["ContentLength"]), chunk_size)

    def _get(self, key: str) -> dict[str, Any]:
        """GetObject: the answer, whose body is still to be read; RecordingMissing if none."""
        from botocore.exceptions import ClientError

        try:
            answer: dict[str, Any] = self.client.get_object(
                Bucket=self.bucket, Key=self.object_name(key)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise RecordingMissing(key) from exc
            raise
        return answer

    def remove(self, keys: Iterable[str]) -> int:
        """Remove objects, up to 1000 a call; S3 counts a missing object as removed."""
        names = [self.object_name(key) for key in keys]
        iterator = iter(names)
        removed = 0
        while batch := list(islice(iterator, DELETE_BATCH)):
            removed += self._delete(batch)
        return removed

    def remove_tree(self, prefix: str) -> int:
        removed = 0
        for page in self._pages(self.object_name(prefix) + "/"):
            removed += self._delete([item["Key"] for item in page])
        return removed

    def remove_trees(self, prefixes: list[str]) -> None:
        for prefix in prefixes:
            self.remove_tree(prefix)

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        start = self.object_name(prefix) + "/" if prefix else self.prefix
        for page in self._pages(start):
            for item in page:
                key = item["Key"][len(self.prefix) :]
                try:
                    check_key(key)
                except ValueError:  # not written by the portal: never ours to remove
                    continue
                modified = item["LastModified"].timestamp()
                yield StoredObject(key, int(item["Size"]), modified)

    def _pages(self, prefix: str) -> Iterator[list[dict[str, Any]]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield page.get("Contents", [])

    def _delete(self, names: list[str]) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        if not names:
            return 0
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
            )
        except (BotoCoreError, ClientError):
            log.exception("could not remove %s recording objects from %s", len(names), self.bucket)
            return 0
        errors = answer.get("Errors", [])
        for error in errors:
            log.error(
                "could not remove recording object %s: %s %s",
                error.get("Key"),
                error.get("Code"),
                error.get("Message"),
            )
        return len(names) - len(errors)


def create_storage(config: Mapping[str, Any]) -> Storage:
    """Build the backend that *config* describes (raises ConfigError when it cannot work)."""
    check_storage(config)
    if config.get("STORAGE_BACKEND", "local") != "s3":
        return LocalStorage(config["RECORDINGS_DIR"])
    prefix = config.get("S3_PREFIX") or ""
    try:
        return S3Storage(
            config["S3_BUCKET"],
            prefix=prefix,
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region=config.get("S3_REGION") or None,
        )
    except ValueError as exc:
        message = f"S3_PREFIX must be a folder-like prefix such as 'portal-a/', not {prefix!r}"
        raise ConfigError(message) from exc


def init_app(app: Flask) -> Storage:
    """Create the app's storage backend from its configuration, replacing any earlier one."""
    backend = create_storage(app.config)
    app.extensions["storage"] = backend
    return backend


def current() -> Storage:
    """Return the current app's storage backend, creating it on first use."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions.get("storage")
    if backend is None:
        # Two threads may both get here: the first backend stored is the one kept.
        backend = app.extensions.setdefault("storage", create_storage(app.config))
    return backend


def path_for(storage_key: str) -> Path:
    """Return the file of a storage key (local storage only)."""
    backend = current()
    if not isinstance(backend, LocalStorage):
        raise TypeError("path_for needs STORAGE_BACKEND=local: objects in S3 have no path")
    return backend.path_for(storage_key)


def write(storage_key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
    current().write(storage_key, data, content_type)


def read(storage_key: str) -> bytes:
    """Return a recording's bytes; raise RecordingMissing when it is not stored."""
    return current().read(storage_key)


def stream(storage_key: str) -> ObjectStream:
    """Open a recording to be read in chunks; raise RecordingMissing when it is not stored."""
    return current().stream(storage_key)


def remove(storage_keys: Iterable[str]) -> int:
    """Remove objects by key; one already gone is not an error. Return how many were removed.

    Callers remove after their transaction has committed, so this never raises: what
    cannot be removed now (storage unreachable) is logged and left to gc-recordings.
    """
    try:
        return current().remove(storage_keys)
    except ValueError:  # an unsafe key is a mistake in the caller, not an outage
        raise
    except Exception:
        log.exception("could not remove recording objects; gc-recordings will")
        return 0


# Removals of many folders running beside the requests (see remove_trees).
_removals: list[threading.Thread] = []
_removals_lock = threading.Lock()


def remove_trees(prefixes: list[str]) -> None:
    """Remove everything under several prefixes (deleted devices' folders); never raises.

    The removal runs in a thread of its own and the caller does not wait for it: the rows
    are gone already, so nothing serves these objects any more, and unlinking a bulk
    deletion's tens of thousands of files can take minutes on a busy disk, longer than a
    request may last. What a stopped process leaves behind belongs to no device, and
    gc-recordings removes it.
    """
    for prefix in prefixes:
        check_key(prefix)
    backend = current()

    def remove() -> None:
        try:
            backend.remove_trees(prefixes)
        except Exception:
            log.exception(
                "could not remove %s folders of objects; gc-recordings will", len(prefixes)
            )

    removal = threading.Thread(target=remove, name="remove-recordings", daemon=True)
    with _removals_lock:
        _removals[:] = [each for each in _removals if each.is_alive()]
        _removals.append(removal)
    removal.start()


def wait_for_removals() -> None:
    """Wait until every removal started by remove_trees has finished (tests, benchmarks)."""
    with _removals_lock:
        running = list(_removals)
    for removal in running:
        removal.join()


def remove_tree(prefix: str) -> int:
    """Remove everything under a prefix (a withdrawn contract's folder); never raises."""
    try:
        return current().remove_tree(prefix)
    except ValueError:
        raise
    except Exception:
        log.exception("could not remove the recording objects under %s; gc-recordings will", prefix)
        return 0


def iter_objects(prefix: str = "") -> Iterator[StoredObject]:
    """Yield the stored objects under *prefix*, with their sizes and modification times."""
    return current().iter_objects(prefix)
