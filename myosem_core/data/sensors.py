"""What each pose-stream column measures: finger, joint and motion.

The CyberGlove II has 22 resistive bend sensors; NinaPro stores them in the
glove's standard order below. Raw values are uncalibrated: the scale differs per
sensor and per subject, so comparisons are made per sensor. ``sign`` says which
way a sensor's raw value goes for flexion / abduction: +1 rises, -1 falls. The
-1 signs were read off the real DB1 recordings (18 subjects; see
``tests/test_sensor_signs.py``): the thumb's CMC, MCP and IP sensors and the
distal (DIP) sensors fall when their finger flexes and rise when it extends.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sensor:
    index: int
    name: str  # short code
    finger: str  # thumb, index, middle, ring, little, palm, wrist
    joint: str  # e.g. "MCP", "PIP", "DIP", "IP", "CMC", "abduction", "arch", "flexion"
    motion: str  # "flexion" or "abduction": what the sensor measures
    sign: int = 1  # +1: the raw value rises with flexion / abduction; -1: it falls


def _s(i, name, finger, joint, motion="flexion", sign=1):
    return Sensor(i, name, finger, joint, motion, sign)


CYBERGLOVE22: tuple[Sensor, ...] = (
    _s(0, "TR", "thumb", "CMC", "rotation", sign=-1),
    _s(1, "TM", "thumb", "MCP", sign=-1),
    _s(2, "TI", "thumb", "IP", sign=-1),
    _s(3, "TA", "thumb", "abduction", "abduction"),
    _s(4, "IM", "index", "MCP"),
    _s(5, "IP", "index", "PIP"),
    _s(6, "ID", "index", "DIP", sign=-1),
    _s(7, "MM", "middle", "MCP"),
    _s(8, "MP", "middle", "PIP"),
    _s(9, "MD", "middle", "DIP", sign=-1),
    _s(10, "MIA", "index", "abduction", "abduction"),  # middle-index spread
    _s(11, "RM", "ring", "MCP"),
    _s(12, "RP", "ring", "PIP"),
    _s(13, "RD", "ring", "DIP", sign=-1),
    _s(14, "RMA", "ring", "abduction", "abduction"),  # ring-middle spread
    _s(15, "LM", "little", "MCP"),
    _s(16, "LP", "little", "PIP"),
    _s(17, "LD", "little", "DIP", sign=-1),
    _s(18, "LRA", "little", "abduction", "abduction"),  # little-ring spread
    _s(19, "PA", "palm", "arch"),
    _s(20, "WF", "wrist", "flexion"),
    _s(21, "WA", "wrist", "abduction", "abduction"),
)

FINGERS = ("thumb", "index", "middle", "ring", "little")

# emg2pose joint angles (radians): UmeTrack's 22-DoF hand model without its two wrist
# DoFs (emg2pose.kinematics.forward_kinematics appends two zero wrist angles before
# skinning). Order read from UmeTrack's dataset/generic_hand_model.json: five chains of
# four (thumb, index, middle, ring, little); per finger [MCP spread, MCP, PIP, DIP] (the
# first joint has no frame and an axis orthogonal to the three flexion axes), thumb
# [CMC, CMC, MCP, IP]. Signs inferred from the generic model's geometry (not checked on
# recordings): positive = flexion for the flexion DoFs; positive spread = towards the
# thumb side (abduction for index, adduction for ring/little); the thumb's second CMC
# DoF moves it towards the back of the hand.
JOINT_ANGLES20: tuple[Sensor, ...] = (
    _s(0, "T_CMC1", "thumb", "CMC", "flexion"),
    _s(1, "T_CMC2", "thumb", "CMC", "abduction"),
    _s(2, "T_MCP", "thumb", "MCP"),
    _s(3, "T_IP", "thumb", "IP"),
    _s(4, "I_ABD", "index", "abduction", "abduction"),
    _s(5, "I_MCP", "index", "MCP"),
    _s(6, "I_PIP", "index", "PIP"),
    _s(7, "I_DIP", "index", "DIP"),
    _s(8, "M_ABD", "middle", "abduction", "abduction"),
    _s(9, "M_MCP", "middle", "MCP"),
    _s(10, "M_PIP", "middle", "PIP"),
    _s(11, "M_DIP", "middle", "DIP"),
    _s(12, "R_ABD", "ring", "abduction", "abduction"),
    _s(13, "R_MCP", "ring", "MCP"),
    _s(14, "R_PIP", "ring", "PIP"),
    _s(15, "R_DIP", "ring", "DIP"),
    _s(16, "L_ABD", "little", "abduction", "abduction"),
    _s(17, "L_MCP", "little", "MCP"),
    _s(18, "L_PIP", "little", "PIP"),
    _s(19, "L_DIP", "little", "DIP"),
)

SENSOR_MAPS: dict[str, tuple[Sensor, ...]] = {"cyberglove22": CYBERGLOVE22, "joint_angles20": JOINT_ANGLES20}


def sensor_map(pose_kind: str) -> tuple[Sensor, ...]:
    """The column meanings of a pose stream kind (see :data:`SENSOR_MAPS`)."""
    try:
        return SENSOR_MAPS[pose_kind]
    except KeyError:
        raise KeyError(f"no sensor map for pose kind {pose_kind!r}; known: {sorted(SENSOR_MAPS)}") from None
