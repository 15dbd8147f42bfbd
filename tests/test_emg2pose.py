"""emg2pose reader: layout, class keys, pseudo-repetitions, filtering, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from fixtures import emg2pose_timeseries, write_emg2pose_dir, write_emg2pose_session

from myosem_core.data import (
    FilterConfig,
    WindowConfig,
    class_name,
    load_recordings,
    make_split,
    make_windows,
)
from myosem_core.data.emg2pose import (
    _STAGES_FILE,
    pseudo_repetitions,
    read_emg2pose,
    stage_names,
)
from myosem_core.data.ninapro import filter_raw_emg
from myosem_core.data.sensors import sensor_map
from myosem_core.errors import DataError


@pytest.fixture
def e2p_dir(tmp_path):
    return write_emg2pose_dir(tmp_path / "e2p", [
        dict(stage="FingerFreeform", user="u1", session="a"),
        dict(stage="WristFlexionAbduction", user="u1", session="b", split="val"),
        dict(stage="FingerFreeform", user="u2", session="c", side="left", split="test"),
    ])


def test_stage_list_is_the_29_emg2pose_stages():
    raw = yaml.safe_load(_STAGES_FILE.read_text())
    assert len(raw) == 29 and len(set(raw)) == 29
    assert stage_names() == tuple(raw)


def test_class_key_and_name_follow_the_stage_file(e2p_dir):
    recs = load_recordings("emg2pose", e2p_dir, progress=False)
    n = stage_names().index("WristFlexionAbduction") + 1
    wrist = [r for r in recs if r.exercise == "WristFlexionAbduction"][0]
    assert set(wrist.label.tolist()) == {n}
    assert wrist.class_key(n) == f"emg2pose/stage/{n}"
    assert class_name(f"emg2pose/stage/{n}") == "WristFlexionAbduction"
    assert class_name("emg2pose/stage/1") == stage_names()[0]


def test_reader_fields_match_the_file(tmp_path):
    ts = emg2pose_timeseries(5000, seed=3)
    path = write_emg2pose_session(tmp_path / "s_right.hdf5", "ShakaVulcanPeace", user="u9", session="s", timeseries=ts)
    rec = read_emg2pose(path)
    assert rec.dataset == "emg2pose" and rec.subject == "u9" and rec.exercise == "ShakaVulcanPeace"
    assert rec.class_prefix == "emg2pose/stage" and rec.pose_kind == "joint_angles20" and rec.signal_kind == "raw"
    assert rec.fs == 2000.0 and rec.emg.shape == (5000, 16) and rec.pose.shape == (5000, 20)
    np.testing.assert_allclose(rec.pose, ts["joint_angles"].astype(np.float32))
    # same band-pass + notch as NinaPro raw data
    np.testing.assert_allclose(rec.emg, filter_raw_emg(ts["emg"].astype(np.float64), 2000.0, FilterConfig()), atol=1e-5)
    assert not np.allclose(rec.emg, ts["emg"])
    assert rec.meta["attrs"]["session"] == "s" and rec.meta["side"] == "right"


def test_notch_removes_the_mains_hum(tmp_path):
    path = write_emg2pose_session(tmp_path / "s.hdf5", "FingerFreeform", n=8000)
    raw = emg2pose_timeseries(8000, seed=0)["emg"][:, 0]
    rec = read_emg2pose(path)
    freqs = np.fft.rfftfreq(8000, 1 / 2000)
    at50 = np.argmin(np.abs(freqs - 50))
    power = lambda x: np.abs(np.fft.rfft(x - x.mean())) ** 2  # noqa: E731
    assert power(rec.emg[:, 0])[at50] < 1e-3 * power(raw)[at50]


def test_pseudo_repetitions_are_ten_equal_contiguous_chunks(e2p_dir):
    rec = load_recordings("emg2pose", e2p_dir, progress=False)[0]
    rep = rec.repetition
    assert list(np.unique(rep)) == list(range(1, 11))
    assert np.all(np.diff(rep) >= 0)  # contiguous, in time order
    sizes = np.bincount(rep)[1:]
    assert sizes.max() - sizes.min() <= 1
    assert list(np.unique(pseudo_repetitions(1003, 4))) == [1, 2, 3, 4]


def test_metadata_row_is_kept_and_filters_select_files(e2p_dir):
    recs = load_recordings("emg2pose", e2p_dir, progress=False)
    assert [r.meta["metadata"]["split"] for r in recs] == ["train", "val", "test"]
    assert {"held_out_user", "held_out_stage", "generalization"} <= set(recs[0].meta["metadata"])
    only = load_recordings("emg2pose", e2p_dir, split="test", progress=False)
    assert [r.subject for r in only] == ["u2"] and only[0].meta["side"] == "left"
    assert len(load_recordings("emg2pose", e2p_dir, subjects=["u1"], progress=False)) == 2


def test_rand_protocol_splits_by_pseudo_repetition(e2p_dir):
    ws = make_windows(load_recordings("emg2pose", e2p_dir, progress=False), WindowConfig(length_s=0.05, hop_s=0.025))
    split = make_split(ws, "rand")
    m = split.manifest
    groups = m.groupby(["subject", "class_key", "repetition"])["split"].nunique()
    assert (groups == 1).all()
    assert set(m.loc[split.test, "repetition"]) == {2, 5, 7}
    # every window stays inside one chunk: its start and end fall in the same pseudo-repetition
    L = 100
    rec_len = 4000
    assert np.all((ws.start * 10) // rec_len == ((ws.start + L - 1) * 10) // rec_len)


def test_joint_angle_sensor_map_has_20_finger_dofs():
    m = sensor_map("joint_angles20")
    assert [s.index for s in m] == list(range(20))
    assert [s.finger for s in m[::4]] == ["thumb", "index", "middle", "ring", "little"]
    assert [s.joint for s in m[4:8]] == ["abduction", "MCP", "PIP", "DIP"]


# ---- bad input: one clear DataError naming file and field ----

def _expect(exc_info, path, field):
    msg = str(exc_info.value)
    assert str(path) in msg, msg
    if field:
        assert field in msg, msg


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as e:
        read_emg2pose(tmp_path / "nope.hdf5")
    _expect(e, tmp_path / "nope.hdf5", None)


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.hdf5"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, None)
    assert "HDF5" in str(e.value)


def test_missing_group(tmp_path):
    path = write_emg2pose_session(tmp_path / "g.hdf5", "FingerFreeform", group="other")
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "'emg2pose'")


def test_missing_dataset(tmp_path):
    path = write_emg2pose_session(tmp_path / "d.hdf5", "FingerFreeform", dataset="series")
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "emg2pose/timeseries")


def test_missing_field(tmp_path):
    ts = emg2pose_timeseries(1000)
    dtype = np.dtype([("time", "<f8"), ("emg", "<f4", (16,))])
    cut = np.empty(1000, dtype=dtype)
    cut["time"], cut["emg"] = ts["time"], ts["emg"]
    path = write_emg2pose_session(tmp_path / "f.hdf5", "FingerFreeform", timeseries=cut)
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "timeseries.joint_angles")


def test_missing_attribute(tmp_path):
    path = write_emg2pose_session(tmp_path / "a.hdf5", "FingerFreeform", attrs={"sample_rate": None})
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "sample_rate")


def test_wrong_channel_count(tmp_path):
    ts = emg2pose_timeseries(1000, n_emg=8)
    path = write_emg2pose_session(tmp_path / "c.hdf5", "FingerFreeform", timeseries=ts, attrs={"num_channels": 8})
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "timeseries.emg")
    assert "16" in str(e.value)


def test_num_channels_attribute_disagreeing_with_data(tmp_path):
    path = write_emg2pose_session(tmp_path / "n.hdf5", "FingerFreeform", attrs={"num_channels": 32})
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "num_channels")


def test_wrong_joint_angle_count(tmp_path):
    path = write_emg2pose_session(tmp_path / "j.hdf5", "FingerFreeform", timeseries=emg2pose_timeseries(1000, n_angles=22))
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "timeseries.joint_angles")


@pytest.mark.parametrize("field", ["emg", "joint_angles"])
def test_nan_or_inf(tmp_path, field):
    ts = emg2pose_timeseries(1000)
    ts[field][123, 2] = np.nan if field == "emg" else np.inf
    path = write_emg2pose_session(tmp_path / "x.hdf5", "FingerFreeform", timeseries=ts)
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, f"timeseries.{field}")
    assert "sample 123" in str(e.value)


def test_unknown_stage(tmp_path):
    path = write_emg2pose_session(tmp_path / "u.hdf5", "JugglingChainsaws")
    with pytest.raises(DataError) as e:
        read_emg2pose(path)
    _expect(e, path, "stage")


def test_metadata_missing(tmp_path):
    write_emg2pose_session(tmp_path / "s.hdf5", "FingerFreeform")
    with pytest.raises(DataError) as e:
        load_recordings("emg2pose", tmp_path, progress=False)
    _expect(e, tmp_path / "metadata.csv", None)


def test_metadata_missing_column(tmp_path):
    folder = write_emg2pose_dir(tmp_path, [dict(stage="FingerFreeform")], drop_columns=("held_out_stage",))
    with pytest.raises(DataError) as e:
        load_recordings("emg2pose", folder, progress=False)
    _expect(e, folder / "metadata.csv", "held_out_stage")


def test_file_listed_in_metadata_but_absent(e2p_dir):
    (e2p_dir / "b_right.hdf5").unlink()
    with pytest.raises(DataError) as e:
        load_recordings("emg2pose", e2p_dir, progress=False)
    _expect(e, e2p_dir / "b_right.hdf5", None)
