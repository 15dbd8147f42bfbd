"""A forward model that generates NinaPro-like EMG with a glove stream.

Named gestures are finger-joint trajectories -> muscle activations (an agonist
and an antagonist per degree of freedom) -> subject-specific electrode mixing
(a band of electrodes around the forearm, rotated and widened per subject) ->
EMG: band-limited noise modulated by activation (raw, with mains hum) or its
RMS envelope at 100 Hz like NinaPro DB1. The glove stream uses the CyberGlove-22
layout of :mod:`myosem_core.data.sensors`, so every pose-based tool treats it
like the real glove. Deterministic per seed. Results on it are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from .sensors import CYBERGLOVE22
from .session import Recording

#: Degrees of freedom of the hand model; +1 = flexion / abduction, -1 = extension / adduction.
DOFS = ("thumb_flex", "thumb_abd", "index_flex", "middle_flex", "ring_flex", "little_flex", "spread", "wrist_flex")


@dataclass(frozen=True)
class Gesture:
    """A named movement: target DOF values and when each DOF starts moving."""

    name: str
    targets: dict  # dof -> target in [-1, 1]
    onsets: dict = field(default_factory=dict)  # dof -> onset as a fraction of the movement (default 0)


GESTURES: tuple[Gesture, ...] = (
    Gesture("index flexion", {"index_flex": 1.0}),
    Gesture("middle flexion", {"middle_flex": 1.0}),
    Gesture("ring flexion", {"ring_flex": 1.0, "middle_flex": 0.25, "little_flex": 0.25}),
    Gesture("little finger flexion", {"little_flex": 1.0, "ring_flex": 0.2}),
    Gesture("thumb flexion", {"thumb_flex": 1.0}),
    Gesture("fist", {"index_flex": 1.0, "middle_flex": 1.0, "ring_flex": 1.0, "little_flex": 1.0, "thumb_flex": 0.7},
            {"thumb_flex": 0.25}),
    Gesture("open hand", {"index_flex": -0.6, "middle_flex": -0.6, "ring_flex": -0.6, "little_flex": -0.6,
                          "thumb_abd": 0.6, "spread": 1.0}),
    Gesture("pinch", {"thumb_flex": 0.6, "thumb_abd": -0.3, "index_flex": 0.6}, {"index_flex": 0.15}),
    Gesture("point", {"middle_flex": 1.0, "ring_flex": 1.0, "little_flex": 1.0, "thumb_flex": 0.6, "index_flex": -0.3}),
    Gesture("wrist flexion", {"wrist_flex": 1.0}),
    Gesture("wrist extension", {"wrist_flex": -1.0}),
    Gesture("thumb abduction", {"thumb_abd": 1.0}),
)

# Forearm angle (radians) of each DOF's agonist (+) and antagonist (-) muscle.
_MUSCLE_ANGLE = {dof: (2 * np.pi * i / len(DOFS), 2 * np.pi * i / len(DOFS) + np.pi * 0.9) for i, dof in enumerate(DOFS)}

# Glove sensor columns each DOF bends, with weights (CyberGlove-22 order).
_GLOVE_MAP = {
    "thumb_flex": {0: 0.4, 1: 0.8, 2: 1.0},
    "thumb_abd": {3: 1.0, 0: 0.3},
    "index_flex": {4: 0.7, 5: 1.0, 6: 0.6},
    "middle_flex": {7: 0.7, 8: 1.0, 9: 0.6},
    "ring_flex": {11: 0.7, 12: 1.0, 13: 0.6},
    "little_flex": {15: 0.7, 16: 1.0, 17: 0.6},
    "spread": {10: 1.0, 14: 0.8, 18: 0.8},
    "wrist_flex": {20: 1.0},
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Size and realism knobs of the generator; defaults take a few seconds."""

    n_subjects: int = 8
    n_repetitions: int = 10
    n_channels: int = 10
    movement_s: float = 3.0
    rest_s: float = 2.0
    output: str = "rms"  # "rms" (100 Hz envelope, like DB1) or "raw"
    raw_fs: float = 2000.0  # any rate above ~60 Hz; not only multiples of the 100 Hz envelope
    mains_hz: float = 50.0
    gestures: tuple[str, ...] = tuple(g.name for g in GESTURES)
    subject_rotation_rad: float = 0.6  # spread of electrode-band rotation across subjects
    noise: float = 0.05
    seed: int = 0


def gesture_by_name(name: str) -> Gesture:
    for g in GESTURES:
        if g.name == name:
            return g
    raise KeyError(f"unknown synthetic gesture {name!r}; known: {[g.name for g in GESTURES]}")


def gesture_names() -> dict[int, str]:
    """Label number (1-based, generator order) -> gesture name."""
    return {i + 1: g.name for i, g in enumerate(GESTURES)}


def dof_trajectory(gesture: Gesture, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """(n, len(DOFS)) joint trajectory: smooth rise, hold, smooth return, with per-DOF onsets."""
    t = np.linspace(0.0, 1.0, n)
    out = np.zeros((n, len(DOFS)))
    jitter = 0.0 if rng is None else rng.uniform(-0.03, 0.03)
    for j, dof in enumerate(DOFS):
        target = gesture.targets.get(dof, 0.0)
        if target == 0.0:
            continue
        on = gesture.onsets.get(dof, 0.0) + 0.05 + jitter
        rise = _smoothstep((t - on) / 0.2)
        fall = _smoothstep((t - 0.8) / 0.15)
        amp = target * (1.0 if rng is None else rng.uniform(0.85, 1.15))
        out[:, j] = amp * rise * (1.0 - fall)
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def muscle_activations(q: np.ndarray) -> np.ndarray:
    """(n, 2*len(DOFS)) activations: agonist follows positive, antagonist negative joint values,
    plus a velocity burst and a little co-contraction."""
    dq = np.gradient(q, axis=0) * q.shape[0] / 20.0
    ago = np.maximum(q, 0) + 0.3 * np.maximum(dq, 0)
    ant = np.maximum(-q, 0) + 0.3 * np.maximum(-dq, 0)
    co = 0.15 * np.abs(q)
    return np.concatenate([ago + co, ant + co], axis=1) + 0.03


def mixing_matrix(n_channels: int, rng: np.random.Generator, rotation_sd: float) -> np.ndarray:
    """(2*len(DOFS), n_channels) gains of a subject's electrode band: rotated, widened, gain-jittered."""
    rot = rng.normal(0.0, rotation_sd)
    width = rng.uniform(0.45, 0.75)
    phi = 2 * np.pi * np.arange(n_channels) / n_channels + rot
    angles = np.array([_MUSCLE_ANGLE[d][0] for d in DOFS] + [_MUSCLE_ANGLE[d][1] for d in DOFS])
    diff = np.angle(np.exp(1j * (angles[:, None] - phi[None, :])))
    depth = rng.uniform(0.6, 1.4, size=(len(angles), 1))
    return depth * np.exp(-(diff**2) / (2 * width**2)) * rng.uniform(0.8, 1.2, size=(1, n_channels))


def glove_from_dofs(q: np.ndarray, offsets: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """(n, 22) raw-like glove values: per-sensor offset + gain * bend."""
    bend = np.zeros((q.shape[0], 22))
    for j, dof in enumerate(DOFS):
        for col, w in _GLOVE_MAP[dof].items():
            bend[:, col] += w * q[:, j]
    bend[:, 19] += 0.3 * q[:, DOFS.index("thumb_abd")] - 0.2 * q[:, DOFS.index("thumb_flex")]  # palm arch
    signs = np.array([s.sign for s in CYBERGLOVE22])  # like the real glove, some sensors fall with flexion
    return offsets + gains * signs * bend * 60.0


def generate_subject(cfg: SyntheticConfig, subject: int) -> Recording:
    """One synthetic session: every gesture ``n_repetitions`` times, NinaPro order (all reps of 1, then 2, ...)."""
    rng = np.random.default_rng([cfg.seed, subject])
    env_fs = 100.0
    gestures = [gesture_by_name(n) for n in cfg.gestures]
    n_move, n_rest = int(cfg.movement_s * env_fs), int(cfg.rest_s * env_fs)
    qs, labels, reps = [np.zeros((n_rest, len(DOFS)))], [np.zeros(n_rest, int)], [np.zeros(n_rest, int)]
    names = gesture_names()
    inv = {v: k for k, v in names.items()}
    for g in gestures:
        for r in range(1, cfg.n_repetitions + 1):
            qs += [dof_trajectory(g, n_move, rng), np.zeros((n_rest, len(DOFS)))]
            labels += [np.full(n_move, inv[g.name]), np.zeros(n_rest, int)]
            reps += [np.full(n_move, r), np.zeros(n_rest, int)]
    q = np.concatenate(qs)
    label, rep = np.concatenate(labels), np.concatenate(reps)
    act = muscle_activations(q)  # 100 Hz
    mix = mixing_matrix(cfg.n_channels, rng, cfg.subject_rotation_rad)
    glove = glove_from_dofs(q, rng.uniform(40, 160, 22), rng.uniform(0.7, 1.3, 22)) + rng.normal(0, 0.5, (len(q), 22))

    if cfg.output == "rms":
        power = (act**2) @ (mix**2)
        flicker = 1.0 + 0.15 * _lowpass_noise(rng, power.shape, env_fs, 8.0)
        emg = np.sqrt(power) * np.clip(flicker, 0.2, None) + cfg.noise * np.abs(rng.normal(size=power.shape)) * 0.2
        fs = env_fs
    elif cfg.output == "raw":
        fs = cfg.raw_fs
        # sample i of the raw stream holds envelope sample floor(i * 100 / fs): np.repeat for a multiple
        # of 100 Hz, and any other rate (an armband's 250 Hz) keeps real time
        src = np.floor(np.arange(int(round(len(act) * fs / env_fs))) * env_fs / fs + 1e-9).astype(int)
        act_hi = act[src]
        act_hi = scipy.signal.sosfiltfilt(scipy.signal.butter(2, 10, fs=fs, output="sos"), act_hi, axis=0)
        carrier = _bandlimited_noise(rng, (act_hi.shape[0], act_hi.shape[1]), fs)
        t = np.arange(act_hi.shape[0]) / fs
        emg = (act_hi * carrier) @ mix
        emg += cfg.noise * rng.normal(size=emg.shape) + 0.2 * np.sin(2 * np.pi * cfg.mains_hz * t)[:, None]
        label, rep, glove = label[src], rep[src], glove[src]
    else:
        raise ValueError(f"SyntheticConfig.output must be 'rms' or 'raw', got {cfg.output!r}")

    return Recording(
        emg=emg,
        fs=fs,
        label=label,
        repetition=rep,
        subject=f"S{subject}",
        dataset="synthetic",
        exercise="S",
        class_prefix="synthetic/S",
        signal_kind=cfg.output,
        pose=glove,
        pose_kind="cyberglove22",
        channel_names=tuple(f"emg{i + 1}" for i in range(cfg.n_channels)),
        source=f"<synthetic seed={cfg.seed} subject={subject}>",
        meta={"synthetic": True},
    )


def generate(cfg: SyntheticConfig = SyntheticConfig()) -> list[Recording]:
    """All subjects of a synthetic dataset (subjects numbered from 1)."""
    return [generate_subject(cfg, s) for s in range(1, cfg.n_subjects + 1)]


def _lowpass_noise(rng, shape, fs, cutoff):
    sos = scipy.signal.butter(2, cutoff, fs=fs, output="sos")
    x = scipy.signal.sosfiltfilt(sos, rng.normal(size=shape), axis=0)
    return x / (x.std() + 1e-9)


def _bandlimited_noise(rng, shape, fs):
    sos = scipy.signal.butter(4, [20, min(450, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    x = scipy.signal.sosfilt(sos, rng.normal(size=shape), axis=0)
    return x / (x.std() + 1e-9)
