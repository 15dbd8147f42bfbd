"""The ``process`` view: how the hand moves, read from the pose stream and told in English.

For each class, from the pose stream (CyberGlove or joint angles) of the windows
it is given (the training split's, so no test data shapes a description):

1. every movement repetition's pose trajectory is rebuilt from its windows;
2. each sensor is normalised per recording by its spread (5th-95th percentile)
   over all the given windows of that recording, because raw glove values are
   uncalibrated per sensor and subject;
3. displacement = normalised pose minus the onset baseline (the first
   ``baseline_s`` of the movement), taken at the apex, the moment the hand is
   furthest from its baseline; onset = when a sensor first covers
   ``onset_fraction`` of its apex displacement;
4. per class: the median over repetitions. A sensor *moves* when its
   displacement is large in absolute terms and relative to the class's largest;
   its strength (slightly / moderately / strongly) is its displacement relative
   to the largest displacement that sensor shows in any class;
5. the sensor map (:func:`myosem_core.data.sensors.sensor_map`) turns columns into
   finger, joint and motion, and the movers are told finger by finger in onset order.

Classes without windows get no process view (e.g. held-out classes of the
``class`` protocol, whose pose data training never sees).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..data.sensors import FINGERS, Sensor, sensor_map
from ..data.windows import WindowSet
from ..errors import DataError


@dataclass(frozen=True)
class ProcessConfig:
    """Thresholds of the pose -> sentence rules (displacements in units of a sensor's spread)."""

    baseline_s: float = 0.1  # onset baseline: mean pose over the first samples of a repetition
    smooth_s: float = 0.1  # moving-average width before finding the apex and onsets
    onset_fraction: float = 0.3  # a sensor has started when it covers this fraction of its apex displacement
    move_threshold: float = 0.12  # smallest |displacement| (in sensor spreads) that counts as movement
    relative_threshold: float = 0.3  # ... and at least this fraction of the class's largest displacement
    strength_edges: tuple[float, float] = (0.4, 0.7)  # of the sensor's largest class displacement: slightly|moderately|strongly
    together_s: float = 0.15  # onsets closer than this are told as simultaneous
    scale_floor: float = 0.1  # spread floor, as a fraction of the recording's largest sensor spread (keeps still sensors' noise small)


@dataclass
class ClassMotion:
    """Per-sensor motion statistics of one class (medians over its repetitions)."""

    key: str
    displacement: np.ndarray  # (P,) signed, in units of the sensor's spread
    onset_s: np.ndarray  # (P,) seconds from movement start (NaN where the sensor does not move)
    n_repetitions: int


@dataclass(frozen=True)
class Movement:
    """One moving sensor of a class, ready to be told."""

    sensor: Sensor
    displacement: float
    strength: str  # "slightly", "moderately", "strongly"
    onset_s: float


# ---------------------------------------------------------------- statistics

def repetition_trajectories(ws: WindowSet, idx: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(class index, recording, (T, P) pose) of every movement repetition covered by windows ``idx``.

    Windows of one repetition are placed at their start sample; samples no window
    covers (when the hop exceeds the window) are dropped, keeping time order.
    """
    if ws.pose is None:
        raise DataError("<windows>", "pose", "the process view needs a pose stream (glove or joint angles); this data has none")
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for i in np.asarray(idx):
        groups[(int(ws.recording[i]), int(ws.y[i]), int(ws.repetition[i]))].append(int(i))
    out = []
    L = ws.pose.shape[1]
    for (rec, y, _rep), members in sorted(groups.items()):
        members.sort(key=lambda i: ws.start[i])
        first = int(ws.start[members[0]])
        T = int(ws.start[members[-1]]) + L - first
        traj = np.full((T, ws.pose.shape[2]), np.nan, dtype=np.float32)
        for i in members:
            a = int(ws.start[i]) - first
            traj[a:a + L] = ws.pose[i]
        out.append((y, rec, traj[~np.isnan(traj[:, 0])]))
    return out


def sensor_spread(ws: WindowSet, idx: np.ndarray, cfg: ProcessConfig = ProcessConfig()) -> dict[int, np.ndarray]:
    """Recording -> (P,) spread (95th minus 5th percentile) of each sensor over the windows ``idx``."""
    out = {}
    idx = np.asarray(idx)
    for rec in np.unique(ws.recording[idx]):
        sel = idx[ws.recording[idx] == rec]
        values = ws.pose[sel][:, :: max(1, ws.pose.shape[1] // 10)].reshape(-1, ws.pose.shape[2])
        spread = np.percentile(values, 95, axis=0) - np.percentile(values, 5, axis=0)
        floor = cfg.scale_floor * max(float(np.max(spread)), 1e-6)
        out[int(rec)] = np.maximum(spread, floor).astype(np.float64)
    return out


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < n:
        return x
    kernel = np.ones(n) / n
    pad = np.pad(x, ((n // 2, n - 1 - n // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(pad[:, j], kernel, mode="valid") for j in range(x.shape[1])], axis=1)


def repetition_motion(traj: np.ndarray, spread: np.ndarray, fs: float, cfg: ProcessConfig) -> tuple[np.ndarray, np.ndarray]:
    """Apex displacement (P,) in sensor spreads and onset time (P,) in seconds of one repetition."""
    z = _smooth((traj - traj[: max(1, int(round(cfg.baseline_s * fs)))].mean(axis=0)) / spread,
                int(round(cfg.smooth_s * fs)))
    apex = int(np.argmax(np.abs(z).sum(axis=1)))
    disp = z[apex]
    reached = np.abs(z[: apex + 1]) >= cfg.onset_fraction * np.abs(disp)[None, :]
    reached &= np.sign(z[: apex + 1]) == np.sign(disp)[None, :]
    onset = np.where(reached.any(axis=0), reached.argmax(axis=0), apex) / fs
    return disp, onset


def class_motions(ws: WindowSet, idx: np.ndarray, cfg: ProcessConfig = ProcessConfig()) -> dict[str, ClassMotion]:
    """Class key -> :class:`ClassMotion` from the windows ``idx`` (classes with windows only)."""
    idx = np.asarray(idx)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    if ws.pose is None:
        raise DataError("<windows>", "pose", "the process view needs a pose stream (glove or joint angles); this data has none")
    if idx.size == 0:
        raise DataError("<windows>", "pose", "no window given to derive process descriptions from")
    spreads = sensor_spread(ws, idx, cfg)
    per_class: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for y, rec, traj in repetition_trajectories(ws, idx):
        per_class[y].append(repetition_motion(traj.astype(np.float64), spreads[rec], ws.fs, cfg))
    out = {}
    for y in sorted(per_class):
        disp = np.stack([d for d, _ in per_class[y]])
        onset = np.stack([o for _, o in per_class[y]])
        med = np.median(disp, axis=0)
        agree = (np.sign(disp) == np.sign(med)[None, :]) & (np.abs(disp) >= 0.5 * np.abs(med)[None, :])
        onset_med = np.array([np.median(onset[agree[:, j], j]) if agree[:, j].any() else np.nan
                              for j in range(disp.shape[1])])
        out[ws.class_keys[y]] = ClassMotion(ws.class_keys[y], med, onset_med, len(per_class[y]))
    return out


def moving_sensors(motions: dict[str, ClassMotion], pose_kind: str,
                   cfg: ProcessConfig = ProcessConfig()) -> dict[str, list[Movement]]:
    """Class key -> the sensors that move, with strength relative to each sensor's largest class displacement."""
    sensors = sensor_map(pose_kind)
    if not motions:
        return {}
    D = np.stack([m.displacement for m in motions.values()])
    if D.shape[1] != len(sensors):
        raise DataError("<windows>", "pose", f"pose kind {pose_kind!r} maps {len(sensors)} sensors, data has {D.shape[1]} columns")
    largest = np.abs(D).max(axis=0)
    lo, hi = cfg.strength_edges
    out = {}
    for key, m in motions.items():
        a = np.abs(m.displacement)
        moves = (a >= cfg.move_threshold) & (a >= cfg.relative_threshold * a.max())
        items = []
        for j in np.flatnonzero(moves):
            rel = a[j] / largest[j]
            strength = "slightly" if rel < lo else "moderately" if rel < hi else "strongly"
            items.append(Movement(sensors[j], float(m.displacement[j]), strength, float(m.onset_s[j])))
        out[key] = sorted(items, key=lambda mv: (mv.onset_s, mv.sensor.index))
    return out


# ---------------------------------------------------------------- language

_JOINT_WORDS = {"MCP": "base", "PIP": "middle", "DIP": "distal", "IP": "distal", "CMC": "carpometacarpal"}
_NEIGHBOUR = {"index": "the middle finger", "ring": "the middle finger", "little": "the ring finger",
              "middle": "the index finger"}
_STRENGTH_ORDER = {"slightly": 0, "moderately": 1, "strongly": 2}
#: base verb -> (third person singular, gerund)
_FORMS = {"flex": ("flexes", "flexing"), "extend": ("extends", "extending"), "spread": ("spreads", "spreading"),
          "close": ("closes", "closing"), "move": ("moves", "moving"), "bend": ("bends", "bending"),
          "rotate": ("rotates", "rotating"), "arch": ("arches", "arching"), "flatten": ("flattens", "flattening")}


def _verb(sensor: Sensor, positive: bool) -> tuple[str, str, bool]:
    """(base verb, rest of the phrase, whether it names a joint) of one sensor's motion.

    Positive means a rise of the sensor's value, i.e. the sensor map's ``motion``
    (flexion, abduction, rotation, arch); a ``sign`` of -1 on a sensor inverts it.
    """
    motion, joint, finger = sensor.motion, sensor.joint, sensor.finger
    if motion == "abduction":
        if finger == "wrist":
            return "bend", ("sideways outward" if positive else "sideways inward"), False
        if finger == "thumb":
            return "move", ("away from the palm" if positive else "in toward the palm"), False
        other = _NEIGHBOUR.get(finger, "its neighbour")
        return ("spread", f"away from {other}", False) if positive else ("close", f"toward {other}", False)
    if motion == "rotation":
        return "rotate", ("across the palm" if positive else "away from the palm"), False
    if joint == "arch":
        return ("arch" if positive else "flatten"), "", False
    named = finger != "wrist" and joint not in ("flexion", "", None)
    return ("flex" if positive else "extend"), "", named


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _subject(parts: list[str]) -> str:
    """'the thumb and the index and middle fingers' from body-part names."""
    fingers = [f for f in FINGERS if f in parts and f != "thumb"]
    nouns = [f"the {p}" for p in parts if p not in fingers]
    if fingers:
        nouns.append(f"the {_join(fingers)} finger" + ("s" if len(fingers) > 1 else ""))
    return _join(nouns)


def _body(moves: list[Movement]) -> list[tuple[str, str, str, list[str]]]:
    """A body part's verb phrases: (verb, strength, rest, joint words), joints moving alike sharing one verb."""
    groups: dict[tuple[str, str], dict] = {}
    for mv in sorted(moves, key=lambda m: m.sensor.index):
        sign = getattr(mv.sensor, "sign", 1)
        verb, rest, at_joint = _verb(mv.sensor, mv.displacement * sign > 0)
        g = groups.setdefault((verb, rest), {"strength": mv.strength, "joints": []})
        if _STRENGTH_ORDER[mv.strength] > _STRENGTH_ORDER[g["strength"]]:
            g["strength"] = mv.strength
        if at_joint:
            g["joints"].append(_JOINT_WORDS.get(mv.sensor.joint, mv.sensor.joint))
    return [(verb, g["strength"], rest, g["joints"]) for (verb, rest), g in groups.items()]


def _clause(parts: list[str], body, form: str) -> str:
    """'the index finger flexes strongly at the base and middle joints and spreads slightly away from ...'."""
    plural = len(parts) > 1
    phrases = []
    for verb, strength, rest, joints in body:
        word = _FORMS[verb][1] if form == "gerund" else (verb if plural else _FORMS[verb][0])
        text = f"{word} {strength}" + (f" {rest}" if rest else "")
        if joints:
            text += f" at the {_join(joints)} joint" + ("s" if len(joints) > 1 else "")
        phrases.append(text)
    return f"{_subject(parts)} {_join(phrases)}"


def _phase_clauses(phase: list[str], by_part: dict[str, list[Movement]], form: str) -> list[str]:
    """Clauses of one phase; body parts that move identically share a clause."""
    merged: dict[tuple, list[str]] = {}
    for part in phase:
        body = _body(by_part[part])
        key = tuple((v, s, r, tuple(j)) for v, s, r, j in body)
        merged.setdefault(key, []).append(part)
    return [_clause(parts, [(v, s, r, list(j)) for v, s, r, j in key], form) for key, parts in merged.items()]


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def describe_movements(moves: list[Movement], together_s: float = 0.15) -> str:
    """English sentences for one class's moving sensors: body parts in onset order.

    Parts whose onsets lie within ``together_s`` of a phase's first onset form
    that phase and are told as moving together; later phases follow in order.
    """
    if not moves:
        return "The hand barely moves; every finger stays near its resting position."
    by_part: dict[str, list[Movement]] = {}
    for mv in moves:
        by_part.setdefault(mv.sensor.finger, []).append(mv)
    onset = {p: min(mv.onset_s for mv in ms) for p, ms in by_part.items()}
    order = sorted(by_part, key=lambda p: (onset[p], -max(abs(mv.displacement) for mv in by_part[p])))
    phases: list[list[str]] = []
    for part in order:
        if phases and onset[part] - onset[phases[-1][0]] < together_s:
            phases[-1].append(part)
        else:
            phases.append([part])
    sentences = []
    for i, phase in enumerate(phases):
        if i == 1:
            sentences[-1] += ", followed by " + _join(_phase_clauses(phase, by_part, "gerund"))
            continue
        clauses = _phase_clauses(phase, by_part, "present")
        text = clauses[0] + (", while " + _join(clauses[1:]) if len(clauses) > 1 else "")
        sentences.append(_capital(text) if i == 0 else "Then " + text)
    still = [f for f in FINGERS if f not in by_part]
    if still and len(still) < len(FINGERS):
        sentences.append(_capital(_subject(still)) + (" stays" if len(still) == 1 else " stay") + " still")
    return ". ".join(sentences) + "."


def process_descriptions(ws: WindowSet, idx: np.ndarray | None = None,
                         cfg: ProcessConfig = ProcessConfig()) -> dict[str, str]:
    """Class key -> process sentence, derived from the pose of windows ``idx`` (default: all).

    Pass the training split's indices so no test repetition shapes a description.
    """
    idx = np.arange(len(ws)) if idx is None else np.asarray(idx)
    motions = class_motions(ws, idx, cfg)
    return {key: describe_movements(moves, cfg.together_s)
            for key, moves in moving_sensors(motions, ws.pose_kind, cfg).items()}
