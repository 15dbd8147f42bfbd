"""The process view follows the pose data: direction, finger, strength and order change the sentence."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.data import Recording, make_windows
from myosem_core.data.sensors import SENSOR_MAPS, Sensor
from myosem_core.data.synthetic import Gesture, dof_trajectory, glove_from_dofs
from myosem_core.data.windows import WindowConfig
from myosem_core.errors import DataError
from myosem_core.text.process import (
    ProcessConfig,
    class_motions,
    moving_sensors,
    process_descriptions,
)

FS = 100.0


def _recording(gestures: list[Gesture], reps: int = 3, subject: int = 1, rest_s: float = 1.0, move_s: float = 3.0):
    """A recording whose glove stream follows the given gestures (label i+1 = gestures[i])."""
    rng = np.random.default_rng(subject)
    n_move, n_rest = int(move_s * FS), int(rest_s * FS)
    qs, labels, repet = [np.zeros((n_rest, 8))], [np.zeros(n_rest, int)], [np.zeros(n_rest, int)]
    for g_i, g in enumerate(gestures, start=1):
        for r in range(1, reps + 1):
            qs += [dof_trajectory(g, n_move), np.zeros((n_rest, 8))]
            labels += [np.full(n_move, g_i), np.zeros(n_rest, int)]
            repet += [np.full(n_move, r), np.zeros(n_rest, int)]
    q = np.concatenate(qs)
    glove = glove_from_dofs(q, rng.uniform(40, 160, 22), rng.uniform(0.7, 1.3, 22)) + rng.normal(0, 0.3, (len(q), 22))
    return Recording(emg=rng.random((len(q), 4)), fs=FS, label=np.concatenate(labels), repetition=np.concatenate(repet),
                     subject=f"S{subject}", dataset="synthetic", exercise="T", class_prefix="toy/T", signal_kind="rms",
                     pose=glove, pose_kind="cyberglove22")


def _describe(gestures: list[Gesture]) -> list[str]:
    ws = make_windows([_recording(gestures, subject=s) for s in (1, 2)], WindowConfig(1.0, 0.25))
    out = process_descriptions(ws)
    return [out[f"toy/T/{i}"] for i in range(1, len(gestures) + 1)]


def test_direction_and_finger_follow_the_pose():
    flex, ext, ring = _describe([Gesture("a", {"index_flex": 1.0}), Gesture("b", {"index_flex": -1.0}),
                                 Gesture("c", {"ring_flex": 1.0})])
    assert flex.startswith("The index finger flexes strongly at the base, middle and distal joints")
    assert ext.startswith("The index finger extends strongly at the base, middle and distal joints")
    assert ring.startswith("The ring finger flexes strongly")
    assert "index" not in ring.split(".")[0]
    assert "The thumb and the middle, ring and little fingers stay still." in flex


def test_strength_is_relative_to_the_sensor_range_across_classes():
    strong, weak = _describe([Gesture("a", {"middle_flex": 1.0}), Gesture("b", {"middle_flex": 0.3})])
    assert "flexes strongly" in strong
    assert "flexes slightly" in weak


def test_onset_order_is_told():
    thumb_first, index_first = _describe([
        Gesture("a", {"thumb_flex": 1.0, "index_flex": 1.0}, {"index_flex": 0.4}),
        Gesture("b", {"thumb_flex": 1.0, "index_flex": 1.0}, {"thumb_flex": 0.4}),
    ])
    assert thumb_first.startswith("The thumb") and "followed by the index finger flexing" in thumb_first
    assert index_first.startswith("The index finger") and "followed by the thumb" in index_first
    together = _describe([Gesture("a", {"thumb_flex": 1.0, "index_flex": 1.0}), Gesture("b", {"wrist_flex": 1.0})])[0]
    assert "followed by" not in together and "while" in together


def test_editing_the_pose_array_changes_the_sentence():
    ws = make_windows([_recording([Gesture("a", {"index_flex": 1.0}), Gesture("b", {"little_flex": 1.0})])],
                      WindowConfig(1.0, 0.25))
    before = process_descriptions(ws)["toy/T/1"]
    pose = ws.pose.copy()
    sel = ws.y == 0
    for col in (4, 5, 6):  # index MCP/PIP/DIP: mirror the class's motion (flexion becomes extension)
        pose[sel, :, col] = 2 * np.median(pose[:, :, col]) - pose[sel, :, col]
    ws.pose = pose
    after = process_descriptions(ws)["toy/T/1"]
    assert "index finger flexes" in before and "index finger extends" in after


def test_only_given_windows_shape_the_description():
    ws = make_windows([_recording([Gesture("a", {"index_flex": 1.0}), Gesture("b", {"little_flex": 1.0})])],
                      WindowConfig(1.0, 0.25))
    only_a = process_descriptions(ws, np.flatnonzero(ws.y == 0))
    assert set(only_a) == {"toy/T/1"}


def test_any_sensor_map_is_used(monkeypatch):
    """A pose kind is told through its own map: a stand-in map for joint_angles20 with 3 columns."""
    toy = (Sensor(0, "a", "index", "MCP", "flexion"), Sensor(1, "b", "thumb", "abduction", "abduction"),
           Sensor(2, "c", "wrist", "flexion", "flexion"))
    monkeypatch.setitem(SENSOR_MAPS, "joint_angles20", toy)
    t = np.linspace(0, 1, 200)
    rise = np.clip((t - 0.1) / 0.3, 0, 1)
    pose_a = np.stack([rise, 0 * t, 0 * t], 1)
    pose_b = np.stack([0 * t, -rise, 0.5 * np.clip((t - 0.5) / 0.2, 0, 1)], 1)
    pose = np.concatenate([pose_a, np.zeros((50, 3)), pose_b, np.zeros((50, 3))])
    lab = np.r_[np.ones(200), np.zeros(50), 2 * np.ones(200), np.zeros(50)].astype(int)
    rec = Recording(emg=np.ones((500, 2)), fs=FS, label=lab, repetition=(lab > 0).astype(int), subject="S1",
                    dataset="toy", exercise="T", class_prefix="toy/T", pose=pose, pose_kind="joint_angles20")
    out = process_descriptions(make_windows([rec], WindowConfig(1.0, 0.5)))
    assert out["toy/T/1"].startswith("The index finger flexes strongly at the base joint")
    assert out["toy/T/2"].startswith("The thumb moves strongly in toward the palm, followed by the wrist flexing")


def test_moving_sensors_are_the_large_ones():
    ws = make_windows([_recording([Gesture("a", {"index_flex": 1.0}), Gesture("b", {"wrist_flex": -1.0})])],
                      WindowConfig(1.0, 0.25))
    moves = moving_sensors(class_motions(ws, np.arange(len(ws))), ws.pose_kind, ProcessConfig())
    assert {m.sensor.name for m in moves["toy/T/1"]} == {"IM", "IP", "ID"}
    assert [(m.sensor.name, m.displacement < 0) for m in moves["toy/T/2"]] == [("WF", True)]


def test_no_pose_stream_is_a_clear_error():
    rec = _recording([Gesture("a", {"index_flex": 1.0})])
    rec.pose, rec.pose_kind = None, "none"
    ws = make_windows([rec], WindowConfig(1.0, 0.5))
    with pytest.raises(DataError, match="pose"):
        process_descriptions(ws)
