"""Five-finger 0/1 labels ("thumb, index and middle closed") and their description in the text space.

A prompt-based recording often labels a trial by which fingers are closed,
stored as five 0/1 states in the order thumb, index, middle, ring, little.
:func:`parse_finger_states` reads the common spellings of such a label:

- five numbers: ``"11100"``, ``"1,1,1,0,0"``, ``"1 1 1 0 0"``, ``"[1, 1, 1, 0, 0]"``, ``(1, 1, 1, 0, 0)``;
- a prompt: ``"thumb, index and middle closed"``, ``"index flexed"``, ``"all fingers closed"``,
  ``"all open"`` (``pinky`` = little, ``pointer`` / ``forefinger`` = index).

:func:`finger_of` reads the same aliases in a column name (``pinky``, ``Pinkie``,
``little_finger`` -> little), so a table of five 0/1 finger columns is read
whichever names the exporting software gave them.

:func:`describe` turns a state into a sentence for the text encoder
(``"close the thumb, index and middle fingers"``). Every state has one class
key, ``fingers/<bits>`` (bits as an integer, thumb the highest bit), the same in
every recording, so windows of two files with the same prompt share a class.
All fingers open is the relaxed hand, read as rest (label 0).
"""

from __future__ import annotations

import re
from typing import Iterable

from .catalog import EXTRA_NAMES
from .sensors import FINGERS

PREFIX = "fingers"  # class prefix: class key = f"fingers/{bits}"
_ALIASES = {"pinky": "little", "pinkie": "little", "small": "little", "pointer": "index", "forefinger": "index",
            "long": "middle"}
_FINGER_WORD = re.compile(r"[\s_\-]*finger$")
_CLOSED = ("closed", "close", "flexed", "flex", "bent", "bend", "curled", "down")
_OPEN = ("open", "opened", "extended", "straight", "relaxed", "rest")


def parse_finger_states(value) -> tuple[int, int, int, int, int] | None:
    """Five 0/1 states (thumb..little) of a label, or ``None`` if the label is not a finger-state form."""
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and not isinstance(value, str)):
        states = [int(v) for v in value] if all(str(v).strip() in ("0", "1") for v in value) else None
        return tuple(states) if states is not None and len(states) == 5 else None
    text = str(value).strip().lower()
    digits = re.sub(r"[\s,;\[\]()]", "", text)
    if re.fullmatch(r"[01]{5}", digits):
        return tuple(int(c) for c in digits)
    words = re.findall(r"[a-z]+", text)
    if not words:
        return None
    words = [_ALIASES.get(w, w) for w in words]
    closed, opened = any(w in _CLOSED for w in words), any(w in _OPEN for w in words)
    named = [f for f in FINGERS if f in words]
    if "fist" in words:
        return (1, 1, 1, 1, 1)
    if "all" in words and not named:
        if closed != opened:
            return (1, 1, 1, 1, 1) if closed else (0, 0, 0, 0, 0)
        return None
    if text in ("rest", "relaxed", "open hand", "hand open"):
        return (0, 0, 0, 0, 0)
    if not named or closed == opened:  # no finger, or both / neither verb: not this form
        return None
    known = set(FINGERS) | set(_CLOSED) | set(_OPEN) | {"and", "the", "finger", "fingers", "only", "thumbs"}
    if any(w not in known for w in words):  # e.g. "thumb up": a different movement, keep as text
        return None
    state = tuple(int(f in named) for f in FINGERS)
    return state if closed else tuple(1 - s for s in state)


def finger_of(name) -> str | None:
    """The finger a column name denotes (``"pinky"``, ``"Pinkie"``, ``"little_finger"`` -> ``"little"``), else ``None``."""
    word = str(name).strip().lower()
    word = _ALIASES.get(word, _FINGER_WORD.sub("", word))  # "forefinger" is an alias, "little_finger" a suffix
    word = _ALIASES.get(word, word)
    return word if word in FINGERS else None


def bits(states: Iterable[int]) -> int:
    """The class number of a state: thumb is the highest of five bits (``11100`` -> 28)."""
    out = 0
    for s in states:
        out = (out << 1) | int(bool(s))
    return out


def from_bits(n: int) -> tuple[int, int, int, int, int]:
    return tuple((int(n) >> (4 - i)) & 1 for i in range(5))


def class_key(states) -> str:
    return f"{PREFIX}/{bits(states)}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def label_name(states) -> str:
    """Short name: ``"thumb, index and middle closed"``; ``"all fingers open"`` for rest."""
    closed = [f for f, s in zip(FINGERS, states) if s]
    if not closed:
        return "all fingers open"
    if len(closed) == 5:
        return "all fingers closed"
    return f"{_join(closed)} closed"


def describe(states) -> str:
    """A sentence for the text space: ``(1, 1, 1, 0, 0)`` -> ``"close the thumb, index and middle fingers"``."""
    closed = [f for f, s in zip(FINGERS, states) if s]
    if not closed:
        return "relax the hand with every finger open"
    if len(closed) == 5:
        return "close every finger and the thumb into a fist"
    if closed == ["thumb"]:
        return "close the thumb toward the palm"
    noun = "finger" if len(closed) == 1 else "fingers"
    return f"close the {_join(closed)} {noun}"


# class_name("fingers/28") -> "thumb, index and middle closed"
EXTRA_NAMES[PREFIX] = {str(n): label_name(from_bits(n)) for n in range(32)}
