"""Protocols: no leakage on real DB1 windows, cross-dataset, empty splits, manifest round-trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import write_emg2pose_dir

from myosem_core.data import (
    WindowConfig,
    load_recordings,
    load_split,
    make_split,
    make_windows,
)
from myosem_core.data.protocols import DEFAULTS
from myosem_core.data.synthetic import SyntheticConfig, generate
from myosem_core.errors import ConfigError, DataError

DB1 = DEFAULTS["ninapro-db1"]


def _splits_per_group(manifest: pd.DataFrame, cols) -> pd.Series:
    used = manifest[manifest["split"] != "unused"]
    return used.groupby(list(cols))["split"].nunique()


def test_rand_no_repetition_in_two_splits(db1_windows):
    split = make_split(db1_windows, "rand")
    m = split.manifest
    assert len(m) == len(db1_windows)
    assert (_splits_per_group(m, ["subject", "class_key", "repetition"]) == 1).all()
    assert set(m.loc[split.test, "repetition"]) == {2, 5, 7}
    assert set(m.loc[split.val, "repetition"]) == {10}
    assert set(m.loc[split.train, "repetition"]) == {1, 3, 4, 6, 8, 9}
    # every subject and class is in every split
    for idx in (split.train, split.val, split.test):
        assert m.loc[idx, "subject"].nunique() == 18 and m.loc[idx, "class_key"].nunique() == 12


def test_user_subjects_disjoint_and_default(db1_windows):
    split = make_split(db1_windows, "user")
    m = split.manifest
    train_subj = set(m.loc[split.train, "subject"]) | set(m.loc[split.val, "subject"])
    test_subj = set(m.loc[split.test, "subject"])
    assert not train_subj & test_subj
    assert train_subj == set(DB1["train_subjects"]) and test_subj == set(DB1["test_subjects"])
    assert split.extra["test_subjects"] == sorted(DB1["test_subjects"])
    assert set(m.loc[split.val, "repetition"]) == {10}
    assert split.extra["val_subjects"] == []
    assert (m["split"] == "unused").sum() == 0  # DB1 has no subject outside the defaults


def test_user_val_subjects_hold_out_whole_people(db1_windows):
    split = make_split(db1_windows, "user", val_subjects=["S15", "S16"])
    m = split.manifest
    assert set(m.loc[split.val, "subject"]) == {"S15", "S16"}
    assert set(m.loc[split.val, "repetition"]) == set(range(1, 11))  # every repetition of them
    assert not set(m.loc[split.train, "subject"]) & {"S15", "S16"}
    assert split.extra["val_subjects"] == ["S15", "S16"]
    assert split.config.key()["val_subjects"] == ["S15", "S16"]  # a different split keys different runs
    assert "val_subjects" not in make_split(db1_windows, "user").config.key()
    with pytest.raises(ConfigError, match="validation subjects"):
        make_split(db1_windows, "user", val_subjects=["S18"])  # a test subject


def test_user_overlapping_subjects_rejected(db1_windows):
    with pytest.raises(ConfigError, match="both train and test"):
        make_split(db1_windows, "user", train_subjects=["S1", "S2"], test_subjects=["S2"])


def test_class_heldout_never_in_train_or_val(db1_windows):
    split = make_split(db1_windows, "class")
    m = split.manifest
    held = DB1["heldout_classes"]
    assert split.heldout_classes == held
    seen_part = m.loc[np.r_[split.train, split.val]]
    assert not seen_part["class_key"].isin(held).any()
    test_classes = set(m.loc[split.test, "class_key"])
    assert set(held) <= test_classes
    # every window of a held-out class is in test (all repetitions)
    assert (m.loc[m["class_key"].isin(held), "split"] == "test").all()
    # seen classes are tested on their test repetitions only
    seen_test = m.loc[split.test][~m.loc[split.test, "class_key"].isin(held)]
    assert set(seen_test["repetition"]) == {2, 5, 7}
    assert (_splits_per_group(m, ["subject", "class_key", "repetition"]) == 1).all()


def test_class_unknown_heldout_rejected(db1_windows):
    with pytest.raises(ConfigError, match="not in the data"):
        make_split(db1_windows, "class", heldout_classes=["ninapro/B/3"])


def _two_synthetic_datasets():
    a = generate(SyntheticConfig(n_subjects=2, n_repetitions=10))
    b = generate(SyntheticConfig(n_subjects=2, n_repetitions=10, seed=7))
    for r in b:
        r.dataset = "synthetic-b"
    return make_windows(a + b, WindowConfig(1.0, 0.5))


def test_cross_dataset_train_on_a_test_on_b():
    ws = _two_synthetic_datasets()
    split = make_split(ws, "cross-dataset", train_dataset="synthetic", test_dataset="synthetic-b")
    m = split.manifest
    assert set(m.loc[split.train, "dataset"]) == {"synthetic"}
    assert set(m.loc[split.val, "dataset"]) == {"synthetic"}
    assert set(m.loc[split.test, "dataset"]) == {"synthetic-b"}
    assert (m["split"] != "unused").all()


def test_cross_dataset_with_emg2pose_fixture(tmp_path):
    folder = write_emg2pose_dir(tmp_path, [dict(stage="FingerFreeform", user="u1", n=8000),
                                           dict(stage="PlayBlocksChess", user="u2", n=8000)])
    e2p = load_recordings("emg2pose", folder, progress=False)
    syn = generate(SyntheticConfig(n_subjects=1, n_repetitions=10, gestures=("fist", "pinch"), output="raw",
                                   n_channels=16))
    with pytest.warns(UserWarning, match="pose streams"):
        ws = make_windows(syn + e2p, WindowConfig(0.2, 0.1))
    split = make_split(ws, "cross-dataset", train_dataset="synthetic", test_dataset="emg2pose")
    m = split.manifest
    assert set(m.loc[split.train, "dataset"]) == {"synthetic"}
    assert set(m.loc[split.test, "dataset"]) == {"emg2pose"}
    assert set(m.loc[split.test, "class_key"]) == {"emg2pose/stage/8", "emg2pose/stage/22"}


def test_cross_dataset_needs_both_names_and_present_datasets():
    ws = _two_synthetic_datasets()
    with pytest.raises(ConfigError):
        make_split(ws, "cross-dataset", train_dataset="synthetic")
    with pytest.raises(DataError, match="no window of 'emg2pose'"):
        make_split(ws, "cross-dataset", train_dataset="synthetic", test_dataset="emg2pose")


def test_empty_test_split_is_a_data_error(db1_windows):
    with pytest.raises(DataError, match="empty test split"):
        make_split(db1_windows, "rand", test_repetitions=(99,))
    with pytest.raises(DataError, match="none of the test subjects"):
        make_split(db1_windows, "user", train_subjects=["S1"], test_subjects=["S5"])  # S5 is not in DB1


def test_manifest_round_trip(tmp_path, db1_windows):
    split = make_split(db1_windows, "class")
    path = split.save(tmp_path)
    assert path == tmp_path / "class.csv" and (tmp_path / "class.json").is_file()
    back = load_split(tmp_path, "class")
    pd.testing.assert_frame_equal(split.manifest, back.manifest, check_names=False)
    assert back.config == split.config
    assert back.heldout_classes == split.heldout_classes
    np.testing.assert_array_equal(back.test, split.test)


def test_manifest_round_trip_keeps_numeric_looking_subjects_as_text(tmp_path):
    recs = generate(SyntheticConfig(n_subjects=2, n_repetitions=10))
    for i, r in enumerate(recs):
        r.subject = f"00{4711 + i}"  # e.g. an emg2pose user id made of digits only
    split = make_split(make_windows(recs, WindowConfig(1.0, 0.5)), "user")
    split.save(tmp_path)
    back = load_split(tmp_path, "user")
    assert set(back.manifest["subject"]) == {"004711", "004712"}
    pd.testing.assert_frame_equal(split.manifest, back.manifest, check_names=False)


def test_missing_manifest_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as e:
        load_split(tmp_path, "rand")
    assert str(tmp_path / "rand.csv") in str(e.value)
