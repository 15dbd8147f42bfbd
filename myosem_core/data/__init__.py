"""Data layer: readers, the synthetic generator, windows and protocols."""

from .catalog import class_name, database_info, exercise_letter, movement_names
from .loading import READERS, dataset_names, load_recordings, load_windows
from .ninapro import FilterConfig, read_ninapro
from .normalize import ChannelNormalizer
from .protocols import PROTOCOLS, ProtocolConfig, Split, load_split, make_split
from .session import Recording
from .synthetic import SyntheticConfig
from .windows import WindowConfig, WindowSet, make_windows

__all__ = [
    "READERS", "PROTOCOLS", "class_name", "ChannelNormalizer", "FilterConfig", "ProtocolConfig", "Recording", "Split",
    "SyntheticConfig", "WindowConfig", "WindowSet", "database_info", "dataset_names", "exercise_letter",
    "load_recordings", "load_split", "load_windows", "make_split", "make_windows", "movement_names", "read_ninapro",
]
from . import finger_states  # registers the names of the fingers/<bits> classes
from .own_recordings import Sidecar, read_recording, read_sidecar

__all__ += ["Sidecar", "finger_states", "read_recording", "read_sidecar"]
