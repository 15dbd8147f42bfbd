"""The CyberGlove sensor map's signs agree with the real DB1 recordings and the synthetic glove."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.data.sensors import CYBERGLOVE22
from myosem_core.data.stats import pose_trajectories
from myosem_core.data.synthetic import SyntheticConfig, generate_subject

# DB1 exercise 1: flexion and extension movement numbers per finger
PAIRS = {"index": (1, 2), "middle": (3, 4), "ring": (5, 6), "little": (7, 8), "thumb": (11, 12)}
CLEAR = [0, 1, 2, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16]  # sensors whose direction is unambiguous on DB1


def _mid_displacement(traj: np.ndarray) -> np.ndarray:
    return traj[40:70].mean(0) - traj[:10].mean(0)


@pytest.fixture(scope="module")
def db1_pose(db1_recordings):
    return pose_trajectories(db1_recordings)


@pytest.mark.parametrize("col", CLEAR)
def test_flexion_moves_each_clear_sensor_the_way_its_sign_says(db1_pose, col):
    s = CYBERGLOVE22[col]
    flex, ext = PAIRS[s.finger]
    d_flex = _mid_displacement(db1_pose[f"ninapro/A/{flex}"])[col] * s.sign
    d_ext = _mid_displacement(db1_pose[f"ninapro/A/{ext}"])[col] * s.sign
    assert d_flex > d_ext, f"{s.finger} {s.joint} (column {col}, sign {s.sign})"
    assert d_flex > 0


def test_synthetic_glove_follows_the_same_signs():
    rec = generate_subject(SyntheticConfig(n_subjects=1, n_repetitions=2), 1)
    traj = pose_trajectories([rec])
    thumb = _mid_displacement(traj["synthetic/S/5"])  # thumb flexion
    index = _mid_displacement(traj["synthetic/S/1"])  # index flexion
    assert thumb[2] < 0 and thumb[1] < 0  # thumb IP and MCP fall, like the real glove
    assert index[5] > 0 and index[6] < 0  # index PIP rises, DIP falls
