import json

import numpy as np
import pytest

from circuitsim.errors import ArtifactError
from circuitsim.store import (
    atomic_write_bytes,
    json_bytes,
    load_artifact,
    npz_bytes,
    read_npz,
    run_date,
    write_artifact,
)


def test_npz_bytes_are_deterministic_and_loadable(tmp_path):
    arrays = {"b": np.arange(5.0), "a": np.eye(2), "s": np.array("ngspice-39")}
    first, second = npz_bytes(arrays), npz_bytes(dict(reversed(list(arrays.items()))))
    assert first == second
    path = tmp_path / "x.npz"
    path.write_bytes(first)
    loaded = read_npz(path)
    assert np.array_equal(loaded["a"], np.eye(2)) and str(loaded["s"]) == "ngspice-39"


def test_object_arrays_refused():
    with pytest.raises(ArtifactError, match="dtype object"):
        npz_bytes({"x": np.array([{"a": 1}], dtype=object)})


def _write(tmp_path, value=1.0):
    return write_artifact(tmp_path / "art", {"model.npz": npz_bytes({"v": np.array([value])}),
                                             "energy.json": json_bytes({"energy_J": 1e-15})},
                          {"block": "x", "date": run_date()})


def test_roundtrip_and_hash_check(tmp_path):
    record = _write(tmp_path)
    art = load_artifact(tmp_path / "art")
    assert art.provenance["content_sha256"] == record["content_sha256"]
    assert art.arrays("model.npz")["v"][0] == 1.0
    assert art.table("energy.json")["energy_J"] == 1e-15


def test_tampered_file_is_detected(tmp_path):
    _write(tmp_path)
    (tmp_path / "art" / "energy.json").write_text(json.dumps({"energy_J": 2e-15}))
    with pytest.raises(ArtifactError, match="energy.json does not match its recorded hash"):
        load_artifact(tmp_path / "art")


def test_missing_file_is_detected(tmp_path):
    _write(tmp_path)
    (tmp_path / "art" / "model.npz").unlink()
    with pytest.raises(ArtifactError, match="incomplete: model.npz is missing"):
        load_artifact(tmp_path / "art")


def test_not_an_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="not a calibration artifact"):
        load_artifact(tmp_path)


def test_rewrite_replaces_whole_directory_and_leaves_no_temp(tmp_path):
    _write(tmp_path, 1.0)
    _write(tmp_path, 2.0)
    assert load_artifact(tmp_path / "art").arrays("model.npz")["v"][0] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_failed_write_keeps_previous_artifact(tmp_path, monkeypatch):
    _write(tmp_path, 1.0)

    class Boom(Exception):
        pass

    def explode(*a, **k):
        raise Boom()

    monkeypatch.setattr("circuitsim.store.json_bytes", explode)
    with pytest.raises(Boom):
        _write(tmp_path, 2.0)
    monkeypatch.undo()
    assert load_artifact(tmp_path / "art").arrays("model.npz")["v"][0] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_atomic_write_leaves_no_temp_on_success(tmp_path):
    atomic_write_bytes(tmp_path / "f.bin", b"abc")
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_source_date_epoch_fixes_the_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run_date() == "2023-11-14T22:13:20+00:00"
