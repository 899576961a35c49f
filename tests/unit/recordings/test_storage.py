"""Recording storage: one interface, a local folder and an S3-compatible bucket behind it.

The S3 backend talks to a real S3 server (moto in server mode, on loopback), so requests,
paging and batched deletions go over HTTP as they would against MinIO, Ceph or AWS. The
fixtures that give the app each backend are in this folder's conftest.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from tests.support.client import Account
from tests.support.factories import DeviceFactory, add_recordings
from tests.support.s3server import S3Server
from webapp import create_app, storage
from webapp.config import ConfigError
from webapp.enums import RecordingKind
from webapp.extensions import db
from webapp.models import Contract, Device, Recording, utcnow
from webapp.services.account import withdraw_contract
from webapp.services.devices import delete_device
from webapp.services.recordings import collect_garbage

UNSAFE_KEYS = ("", "/c1/d2/x.png", "../x.png", "c1/../../x.png", "c1//x.png", "c1/./x.png", "c1/")


def stored(app: Flask, prefix: str = "") -> list[str]:
    with app.app_context():
        return sorted(item.key for item in storage.iter_objects(prefix))


def put(app: Flask, *keys: str) -> None:
    with app.app_context():
        for key in keys:
            storage.write(key, f"data of {key}".encode())


def test_write_read_and_list(store: Flask) -> None:
    before = time.time()
    with store.app_context():
        storage.write("c1/d2/a.png", b"first", content_type="image/png")
        storage.write("c1/d2/a.png", b"second", content_type="image/png")
        storage.write("c1/d2/20261126/b.jpg", b"nested", content_type="image/jpeg")
        storage.write("c10/d3/c.png", b"neighbour")
        assert storage.read("c1/d2/a.png") == b"second"
        assert storage.read("c1/d2/20261126/b.jpg") == b"nested"
        listed = {item.key: item for item in storage.iter_objects("c1")}
        with pytest.raises(storage.RecordingMissing) as missing:
            storage.read("c1/d2/none.png")
        assert isinstance(missing.value, KeyError)
    assert sorted(listed) == ["c1/d2/20261126/b.jpg", "c1/d2/a.png"]
    assert listed["c1/d2/a.png"].size == len(b"second")
    # S3 keeps whole seconds; both clocks are this machine's.
    assert all(before - 2 <= item.modified <= time.time() + 2 for item in listed.values())
    assert stored(store) == ["c1/d2/20261126/b.jpg", "c1/d2/a.png", "c10/d3/c.png"]


def test_unsafe_keys_are_refused(store: Flask) -> None:
    with store.app_context():
        for key in UNSAFE_KEYS:
            with pytest.raises(ValueError, match="unsafe storage key"):
                storage.write(key, b"x")
            with pytest.raises(ValueError, match="unsafe storage key"):
                storage.read(key)
            with pytest.raises(ValueError, match="unsafe storage key"):
                storage.remove(["c1/d2/fine.png", key])
            with pytest.raises(ValueError, match="unsafe storage key"):
                storage.remove_tree(key)
    assert stored(store) == []


def test_removing_what_is_gone_is_fine(store: Flask) -> None:
    put(store, "c1/d2/a.png", "c1/d2/b.png")
    with store.app_context():
        assert storage.remove(["c1/d2/a.png"]) == 1
        storage.remove(["c1/d2/a.png", "c1/d9/never.png"])  # S3 cannot tell; neither raises
        assert storage.remove([]) == 0
        assert storage.remove_tree("c7") == 0
        assert storage.remove_tree("c1/d2") == 1
        assert storage.remove_tree("c1/d2") == 0
        with pytest.raises(storage.RecordingMissing):
            storage.read("c1/d2/b.png")
    assert stored(store) == []


def test_remove_tree_leaves_neighbouring_prefixes(store: Flask) -> None:
    put(store, "c1/d1/a.png", "c1/d2/b.png", "c10/d3/c.png", "c1-notes/d.txt", "c1.txt")
    with store.app_context():
        assert storage.remove_tree("c1") == 2
    assert stored(store) == ["c1-notes/d.txt", "c1.txt", "c10/d3/c.png"]
    if store.config["STORAGE_BACKEND"] == "local":
        assert not (Path(store.config["RECORDINGS_DIR"]) / "c1").exists()


def test_the_local_backend_removes_emptied_folders(app: Flask) -> None:
    root = Path(app.config["RECORDINGS_DIR"])
    put(app, "c1/d2/20261126/a.png", "c1/d3/b.png")
    with app.app_context():
        assert storage.path_for("c1/d2/20261126/a.png") == root / "c1/d2/20261126/a.png"
        storage.remove(["c1/d2/20261126/a.png"])
    assert not (root / "c1" / "d2").exists()
    assert (root / "c1" / "d3" / "b.png").is_file()


def test_deleting_a_device_removes_its_objects(store: Flask, contractor: Account) -> None:
    with store.app_context():
        camera = DeviceFactory(contract_id=contractor.contract_id)
        other = DeviceFactory(contract_id=contractor.contract_id)
        add_recordings(camera, 3)
        kept = sorted(r.storage_key for r in add_recordings(other, 2))
        delete_device(camera)
    assert stored(store) == kept


def test_withdrawal_removes_the_contracts_objects(
    store: Flask, contractor: Account, stranger: Account
) -> None:
    with store.app_context():
        camera = DeviceFactory(contract_id=contractor.contract_id)
        add_recordings(camera, 2)
        delete_device(camera)
        kept = sorted(
            r.storage_key
            for r in add_recordings(DeviceFactory(contract_id=stranger.contract_id), 2)
        )
    # Left behind by an earlier process that died after its commit.
    put(store, f"c{contractor.contract_id}/d{camera.id}/stray.png")
    with store.app_context():
        withdraw_contract(db.session.get(Contract, contractor.contract_id))
    assert stored(store) == kept


def test_gc_removes_orphans_and_spares_named_young_and_foreign_objects(
    store: Flask, contractor: Account
) -> None:
    with store.app_context():
        camera = DeviceFactory(contract_id=contractor.contract_id)
        named = [r.storage_key for r in add_recordings(camera, 2)]
        prefix = storage.device_prefix(contractor.contract_id, camera.id)
        gone_device = db.session.scalar(select(func.max(Device.id))) + 100
        gone_contract = contractor.contract_id + 100
    c = f"c{contractor.contract_id}"
    orphan = f"{prefix}/20261126/orphan.png"
    foreign = ["notes/readme.txt", f"{c}/loose.bin", f"c{gone_contract + 1}", "c/d1/x.png"]
    put(
        store,
        orphan,
        f"{c}/d{gone_device}/old-1.png",
        f"{c}/d{gone_device}/sub/old-2.png",
        f"c{gone_contract}/d1/old-3.png",
        *foreign,
    )

    with store.app_context():
        # Young objects are spared; folders of gone devices and contracts go whole.
        sweep = collect_garbage()
    assert (sweep.files, sweep.folders) == (3, 2)
    assert stored(store) == sorted([*named, orphan, *foreign])

    result = store.test_cli_runner().invoke(args=["gc-recordings", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "1 file(s) and 0 folder(s) removed" in result.output
    assert stored(store) == sorted([*named, *foreign])
    with store.app_context():
        assert storage.read(named[0]).startswith(b"\x89PNG")


def add_many_recordings(device: Device, count: int) -> None:
    """Like add_recordings, with the objects written by several threads at once."""
    prefix = storage.device_prefix(device.contract_id, device.id)
    keys = [f"{prefix}/{n // 100:02d}/rec-{n}.png" for n in range(count)]
    backend = storage.current()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: backend.write(key, b"\x89PNG", "image/png"), keys))
    db.session.execute(
        insert(Recording),
        [
            {
                "device_id": device.id,
                "kind": RecordingKind.IMAGE,
                "captured_at": utcnow(),
                "content_type": "image/png",
                "size_bytes": 4,
                "storage_key": key,
            }
            for key in keys
        ],
    )
    db.session.commit()


def test_a_device_with_many_recordings_goes_in_batches(store: Flask, contractor: Account) -> None:
    calls: list[int] = []
    with store.app_context():
        backend = storage.current()
        if isinstance(backend, storage.S3Storage):

            def count(params: dict[str, Any], **kwargs: Any) -> None:
                calls.append(len(params["Delete"]["Objects"]))

            backend.client.meta.events.register("before-parameter-build.s3.DeleteObjects", count)
        camera = DeviceFactory(contract_id=contractor.contract_id)
        add_many_recordings(camera, 2500)
        delete_device(camera)
    assert stored(store) == []
    if store.config["STORAGE_BACKEND"] == "s3":
        # One request per thousand objects, never one per object.
        assert calls == [1000, 1000, 500]


def test_s3_prefix_keeps_portals_apart(s3_app: Flask, s3_server: S3Server) -> None:
    bucket = s3_app.config["S3_BUCKET"]
    s3_app.config["S3_PREFIX"] = "/portal-a/"
    storage.init_app(s3_app)
    put(s3_app, "c1/d2/a.png")
    # Another portal's objects, and objects outside any prefix, in the same bucket.
    raw = s3_server.client()
    for name in ("portal-b/c1/d2/a.png", "portal-b/c999/d1/b.png", "c999/d1/c.png"):
        raw.put_object(Bucket=bucket, Key=name, Body=b"not ours")

    assert stored(s3_app) == ["c1/d2/a.png"]
    with s3_app.app_context():
        assert storage.read("c1/d2/a.png") == b"data of c1/d2/a.png"
        with pytest.raises(storage.RecordingMissing):
            storage.read("c999/d1/b.png")
        # No contract 1 here: the sweep removes this portal's c1, and only that.
        sweep = collect_garbage(min_age_seconds=0)
    assert (sweep.files, sweep.folders) == (1, 1)
    assert sorted(s3_server.keys(bucket)) == [
        "c999/d1/c.png",
        "portal-b/c1/d2/a.png",
        "portal-b/c999/d1/b.png",
    ]


def test_s3_stores_the_content_type(s3_app: Flask, s3_server: S3Server) -> None:
    with s3_app.app_context():
        storage.write("c1/d2/a.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
        storage.write("c1/d2/b.bin", b"?")
    head = s3_server.client().head_object
    bucket = s3_app.config["S3_BUCKET"]
    assert head(Bucket=bucket, Key="c1/d2/a.jpg")["ContentType"] == "image/jpeg"
    assert head(Bucket=bucket, Key="c1/d2/b.bin")["ContentType"] == "application/octet-stream"


def test_the_s3_client_is_made_once_on_first_use(s3_app: Flask) -> None:
    with s3_app.app_context():
        backend = storage.current()
        assert isinstance(backend, storage.S3Storage)
        assert backend._client is None  # creating the app contacted nothing
        storage.write("c1/d2/a.png", b"x")
        client = backend.client
        storage.read("c1/d2/a.png")
        assert backend.client is client
    with s3_app.app_context():
        assert storage.current() is backend


def test_path_for_is_for_the_local_backend_only(s3_app: Flask) -> None:
    with s3_app.app_context(), pytest.raises(TypeError, match="STORAGE_BACKEND=local"):
        storage.path_for("c1/d2/a.png")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND=s3 requires S3_BUCKET"),
        ({"STORAGE_BACKEND": "s3", "S3_BUCKET": " "}, "STORAGE_BACKEND=s3 requires S3_BUCKET"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be 'local' or 's3'"),
    ],
)
def test_a_storage_misconfiguration_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app(instance_path=tmp_path)


def test_a_storage_misconfiguration_given_to_the_factory_is_refused(app: Flask) -> None:
    app.config.update(STORAGE_BACKEND="s3", S3_BUCKET=None)
    with pytest.raises(ConfigError, match="requires S3_BUCKET"):
        storage.init_app(app)  # what create_app runs: the portal does not start


def test_an_unusable_s3_prefix_is_refused(app: Flask) -> None:
    app.config.update(STORAGE_BACKEND="s3", S3_BUCKET="recordings", S3_PREFIX="a/../b")
    with pytest.raises(ConfigError, match="S3_PREFIX"):
        storage.init_app(app)


def test_the_environment_chooses_s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "S3")
    monkeypatch.setenv("S3_BUCKET", "portal-recordings")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("S3_PREFIX", "tokyo/")
    app = create_app(instance_path=tmp_path)
    backend = storage.create_storage(app.config)
    assert isinstance(backend, storage.S3Storage)
    assert (backend.bucket, backend.prefix, backend.region) == ("portal-recordings", "tokyo/", None)
    assert backend.endpoint_url == "http://127.0.0.1:9000"
    assert backend.object_name("c1/d2/a.png") == "tokyo/c1/d2/a.png"


def test_an_object_streams_in_chunks_never_whole(store: Flask) -> None:
    data = bytes(range(256)) * 2500  # 640,000 bytes: two whole chunks and a part
    with store.app_context():
        storage.write("c1/d2/clip.mp4", data, content_type="video/mp4")
        with storage.stream("c1/d2/clip.mp4") as source:
            assert source.size == len(data)
            chunks = list(source)
    assert [len(chunk) for chunk in chunks] == [
        storage.CHUNK_SIZE,
        storage.CHUNK_SIZE,
        len(data) - 2 * storage.CHUNK_SIZE,
    ]
    assert b"".join(chunks) == data


def test_a_missing_object_is_known_before_anything_is_read(store: Flask) -> None:
    with store.app_context(), pytest.raises(storage.RecordingMissing):
        storage.stream("c1/d2/none.png")


def test_a_stream_closed_half_way_releases_its_source(app: Flask) -> None:
    with app.app_context():
        storage.write("c1/d2/clip.mp4", b"x" * (storage.CHUNK_SIZE + 1))
        source = storage.stream("c1/d2/clip.mp4")
        assert len(next(source)) == storage.CHUNK_SIZE
        handle = source._source
        source.close()
        assert handle is not None and handle.closed  # type: ignore[attr-defined]
        assert list(source) == []
        source.close()  # twice is fine
