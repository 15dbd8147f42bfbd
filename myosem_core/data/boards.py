"""What BrainFlow knows about a board: its rate, which rows of a sample are EMG, and which is the clock.

BrainFlow (``brainflow`` on PyPI) reads several hundred EMG/EEG boards through one
API, ``BoardShim``; every board delivers each sample as a column of
``num_rows`` numbers whose meaning (EMG rows, timestamp row, marker row) the
board's id determines. :func:`board` asks BrainFlow for that description, so a
file or stream of any board is read with the board's id alone::

    b = board("cyton")               # or 0, "CYTON_BOARD", "synthetic", -1
    b.sampling_rate, b.emg_rows      # 250.0, (1, ..., 8)

An unknown id or name is a :class:`~myosem_core.errors.ConfigError` naming it.
The playback board (``playback``, -3) replays a file of another board: it has no
layout of its own, so it is described by that *master* board.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from ..errors import ConfigError

#: The playback-file board: it replays a BrainFlow file of a master board.
PLAYBACK = -3
SYNTHETIC = -1


def brainflow():
    """The ``brainflow`` package (``BoardShim``, ``BoardIds``, ``DataFilter``, ...), imported quietly, logger off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BrainFlow loads its libraries through the deprecated pkg_resources
        import brainflow as bf

        bf.BoardShim.disable_board_logger()  # the first call of each part loads its library: do it here
        bf.DataFilter.disable_data_logger()
    return bf


@dataclass(frozen=True)
class Board:
    """One BrainFlow board's sample layout."""

    id: int
    name: str
    sampling_rate: float
    emg_rows: tuple[int, ...]  # rows of a sample that hold EMG (BrainFlow's EMG rows, else its EXG rows)
    timestamp_row: int | None  # Unix seconds
    marker_row: int | None  # inserted markers, 0 where none
    num_rows: int  # numbers per sample

    @property
    def channel_names(self) -> tuple[str, ...]:
        """``exg_1 .. exg_N``, the names OpenBCI's and BrainFlow's exports give the EMG rows."""
        return tuple(f"exg_{i + 1}" for i in range(len(self.emg_rows)))


def board_id(value) -> int:
    """The BrainFlow id of ``value``: an id (``0``, ``"-1"``) or a name (``"cyton"``, ``"CYTON_BOARD"``)."""
    ids = brainflow().BoardIds
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        key = text.upper().replace("-", "_").replace(" ", "_")
        for name in (key, f"{key}_BOARD", f"{key}_FILE_BOARD"):  # "playback" -> PLAYBACK_FILE_BOARD
            if name in ids.__members__:
                return int(ids[name].value)
        raise ConfigError(f"unknown BrainFlow board {value!r}; expected a board id or a name of "
                          f"brainflow.board_shim.BoardIds such as cyton, ganglion, synthetic or playback") from None
    if number not in {int(b.value) for b in ids}:
        raise ConfigError(f"unknown BrainFlow board id {number}; expected one of brainflow.board_shim.BoardIds "
                          f"(e.g. 0 = cyton, -1 = synthetic, -3 = playback)")
    return number


def board(value) -> Board:
    """The :class:`Board` of an id or name; the playback board has none (describe its master board)."""
    bid = board_id(value)
    if bid == PLAYBACK:
        raise ConfigError("the playback board replays another board's file: give that (master) board's id "
                          "to describe its layout")
    shim = brainflow().BoardShim
    err = brainflow().BrainFlowError
    try:
        descr = shim.get_board_descr(bid)
        name = str(descr.get("name", bid))
        rate = float(shim.get_sampling_rate(bid))
        num_rows = int(shim.get_num_rows(bid))
    except err as exc:
        raise ConfigError(f"BrainFlow has no description of board {value!r} (id {bid}): {exc}") from exc
    rows = tuple(descr.get("emg_channels") or ()) or tuple(descr.get("exg_channels") or ()) or \
        tuple(sorted({r for k in ("eeg_channels", "ecg_channels", "eog_channels") for r in descr.get(k, ())}))
    if not rows:
        raise ConfigError(f"board {name!r} (id {bid}) has no EMG or EXG rows; expected a board that records EMG")
    return Board(id=bid, name=name, sampling_rate=rate, emg_rows=tuple(int(r) for r in rows),
                 timestamp_row=descr.get("timestamp_channel"), marker_row=descr.get("marker_channel"),
                 num_rows=num_rows)
