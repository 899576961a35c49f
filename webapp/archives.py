"""ZIP files of recordings, streamed from storage as they are read (zipstream-ng).

Nothing is held whole, in memory or in a temporary file: each recording is opened when
its turn comes, copied into the archive a chunk at a time and closed, so a download of
a gigabyte takes the memory of one chunk and the list of names. Entries are stored, not
compressed: images and clips are compressed already, and storing them costs no CPU.

Entries are named by device and capture time, in the service's time zone:
``正門カメラ/2026-11-20_15-30-12.jpg``. A recording whose object is missing (a device
deleted meanwhile, an upload cut off) is left out and logged; the rest still arrive.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote
from zipfile import ZIP_STORED

from flask import Response, current_app
from zipstream import ZipStream

from . import clock, storage

log = logging.getLogger(__name__)

# File name extensions by media type; anything else is kept as .bin.
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
# Characters that some file system refuses in a name (Windows is the strictest).
UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# Names Windows keeps for devices: a folder called "CON" cannot be created there.
RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in "123456789"
}


@dataclass(frozen=True)
class ArchivedRecording:
    """What an archive needs of a recording: whose it is, when it was taken, where it lies."""

    device_id: int
    device_name: str
    device_domain: str
    captured_at: dt.datetime  # naive UTC, as stored
    content_type: str
    storage_key: str


@dataclass(frozen=True)
class ArchiveEntry:
    name: str  # the path inside the ZIP
    storage_key: str


def safe_file_name(text: str, fallback: str) -> str:
    """*text* as a file or folder name that every common file system accepts."""
    name = UNSAFE_IN_NAMES.sub("_", text).strip().rstrip(".").strip()
    if not name:
        return fallback
    if name.split(".")[0].upper() in RESERVED_NAMES:
        name = f"_{name}"
    return name


def _unique(name: str, taken: set[str], alternatives: Iterable[str] = ()) -> str:
    """*name*, or an alternative, or *name* numbered: never one in *taken* (ignoring case).

    Case is ignored because Windows and macOS would make two such entries one file.
    """
    for candidate in (name, *alternatives):
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    number = 2
    while True:
        candidate = f"{stem}_{number}{dot}{extension}"
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
        number += 1


def entries(recordings: Iterable[ArchivedRecording]) -> Iterator[ArchiveEntry]:
    """Name each recording in the archive: a folder per device, a file per capture time.

    Two devices of the same name get folders told apart by their domain names; two
    recordings of the same second are numbered (``…_2.jpg``).
    """
    folders: dict[int, str] = {}
    folder_names: set[str] = set()
    file_names: dict[int, set[str]] = {}
    for recording in recordings:
        folder = folders.get(recording.device_id)
        if folder is None:
            domain = safe_file_name(recording.device_domain, f"device-{recording.device_id}")
            name = safe_file_name(recording.device_name, domain)
            folder = folders[recording.device_id] = _unique(
                name, folder_names, [f"{name} ({domain})"]
            )
            file_names[recording.device_id] = set()
        taken = clock.local(recording.captured_at).strftime("%Y-%m-%d_%H-%M-%S")
        extension = EXTENSIONS.get(recording.content_type, "bin")
        file_name = _unique(f"{taken}.{extension}", file_names[recording.device_id])
        yield ArchiveEntry(f"{folder}/{file_name}", recording.storage_key)


def zip_chunks(backend: storage.Storage, items: Iterable[ArchiveEntry]) -> Iterator[bytes]:
    """Yield a ZIP of *items*, each read from *backend* only when its turn comes.

    One object is open at a time. Closing the generator (a download cut off) closes it.
    """
    archive = ZipStream(compress_type=ZIP_STORED)
    for item in items:
        try:
            source = backend.stream(item.storage_key)
        except storage.RecordingMissing:
            log.warning("recording object %s is missing; left out of the archive", item.storage_key)
            continue
        with source:
            archive.add(source, item.name, size=source.size)
            yield from archive.all_files()
    yield from archive.footer()


def attachment(file_name: str, fallback: str) -> str:
    """A Content-Disposition that saves the download as *file_name*.

    Browsers read the UTF-8 name (RFC 6266); *fallback*, in ASCII, is for the others.
    """
    plain = fallback.encode("ascii", "replace").decode("ascii").replace('"', "")
    if file_name == plain:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def zip_download(
    recordings: Iterable[ArchivedRecording], file_name: str, fallback: str
) -> Response:
    """A response that streams a ZIP of *recordings* from storage as the browser reads it.

    The storage backend is resolved now: the stream needs neither the request nor the
    database, whose transaction ends with the request.
    """
    backend = storage.current()
    body = zip_chunks(backend, list(entries(recordings)))
    response = current_app.response_class(body, mimetype="application/zip")
    response.headers["Content-Disposition"] = attachment(file_name, fallback)
    return response


def recording_download(recording: ArchivedRecording, source: storage.ObjectStream) -> Response:
    """A response that streams one recording, opened as *source*, as a file to keep."""
    entry = next(entries([recording]))
    device_folder, _, taken = entry.name.partition("/")
    file_name = f"{device_folder}_{taken}"
    fallback = f"{safe_file_name(recording.device_domain, 'recording')}_{taken}"
    response = current_app.response_class(source, mimetype=recording.content_type)
    response.content_length = source.size
    response.headers["Content-Disposition"] = attachment(file_name, fallback)
    return response
