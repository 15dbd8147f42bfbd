"""The ``myosem`` commands for a person's own device: ``query --recording``, ``calibrate`` and ``live``.

Each takes ``--run``: an index folder (or a Stage-3 run holding ``index-<split>``, as
``myosem index`` writes it), which names the model and its text space, or a
calibration run (``myosem calibrate``), which adds the device's normalizer,
few-shot map and prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from myosem_core.errors import ConfigError
from myosem_core.paths import runs_root

from .cli_commands import MissingArtifact, resolve_index


@dataclass
class DeviceModel:
    """The model a device command runs: the cross-device wrapper and where it came from."""

    xd: object  # myosem_core.cross_device.CrossDevice
    stage3: Path
    stage1: Path
    synthetic: bool | None
    calibration: Path | None


def load_device_model(run: str, runs: str | None, split: str = "test", hop_s: float | None = None) -> DeviceModel:
    """Resolve ``--run`` (index, Stage-3 run or calibration run) to a :class:`DeviceModel`."""
    from myosem_core.cross_device import CrossDevice, Layout
    from myosem_core.device_calibration import is_calibration, load_calibration
    from myosem_core.search import load_index
    from myosem_core.text.stage1 import load_stage1
    from myosem_core.training.stage3 import load_stage3

    p = Path(run).expanduser()
    if not p.exists():
        p = runs_root(runs) / run
    cal = load_calibration(p) if is_calibration(p) else None
    info = cal.info if cal is not None else load_index(resolve_index(run, runs, split)).info
    folders = {"stage3": Path(cal.stage3_run if cal is not None else info["stage3_run"]),
               "stage1": Path(cal.stage1_run if cal is not None else info["stage1_run"])}
    if info.get("stage1_query_run"):  # Stage 1's query encoder, a run of its own where free text is read
        folders["stage1 query"] = Path(info["stage1_query_run"])
    synthetic = info.get("synthetic")
    for name, folder in folders.items():
        if not (folder / "results.json").is_file():
            raise MissingArtifact(f"{folder}: the {name} run that {p} was built with is missing")
    stage3 = load_stage3(folders["stage3"])
    enc = stage3.model.encoder.cfg
    layout = Layout(n_channels=enc.n_channels, window_s=enc.window_len / Layout.fs)
    if hop_s is not None:
        if hop_s <= 0:
            raise ConfigError(f"--hop must be positive seconds, got {hop_s}")
        layout = Layout(n_channels=layout.n_channels, window_s=layout.window_s, hop_s=hop_s)
    xd = CrossDevice(stage3, load_stage1(folders["stage1"], query_folder=folders.get("stage1 query")), layout,
                     calibration=cal)
    return DeviceModel(xd, folders["stage3"], folders["stage1"], synthetic, p if cal is not None else None)


def read_device_recording(args):
    """The recording ``--recording`` names: a sidecar-described file, or a BrainFlow file with ``--board``."""
    from myosem_core.data.own_recordings import read_recording

    path = Path(args.recording).expanduser()
    if not path.is_file():
        raise MissingArtifact(f"{path}: recording file not found")
    if getattr(args, "board", None) is not None:
        return read_recording(path, board=args.board, events=args.events)
    if getattr(args, "events", None) is not None:
        raise ConfigError("--events goes with --board (a BrainFlow file); a sidecar names its own events file")
    return read_recording(path, args.sidecar)


def cmd_query(args) -> dict:
    """``myosem query``: a device's recording here (``--recording``), the index's sentences and windows in
    :func:`~myosem_experiments.cli_commands.cmd_query`."""
    from myosem_core import distributed as ddp

    from .cli_commands import cmd_query as query_index

    if args.recording is None:
        return query_index(args)
    if args.window is not None:
        raise ConfigError("query takes --window FILE or --recording FILE, not both")
    return query_recording(args) if ddp.is_main() else {}


def query_recording(args) -> dict:
    """Slide over a recording of any device: per-window top descriptions, or a sentence's best time spans."""
    rec = read_device_recording(args)
    m = load_device_model(args.run, args.runs, args.split, args.hop)
    xd = m.xd
    head = {"recording": str(args.recording), "run": str(m.stage3), "calibration": str(m.calibration or ""),
            "device": {"fs": rec.fs, "channels": rec.n_channels, "signal": rec.signal_kind},
            "model_layout": xd.layout.__dict__.copy(), "synthetic": m.synthetic}
    sentences = xd.sentences  # a calibration's prompts, else the recording's own labels, else the model's classes
    if sentences is None and rec.meta.get("descriptions"):
        sentences = rec.meta["descriptions"]
    if args.text is not None:  # read first, as every sentence is: one naming no hand movement is refused
        reading = xd.read_sentence(args.text)
        if not reading.known:
            return {**head, "query": args.text, "known": False, "message": reading.message(), "spans": []}
        spans = xd.find(rec, args.text, args.k, sentences)
        return {**head, "query": args.text, "known": True, "spans": spans.round(4).to_dict(orient="records")}
    table = xd.describe(rec, min(args.k, len(sentences) if sentences else args.k), sentences)
    source = "calibration prompts" if xd.sentences is not None else (
        "recording labels" if sentences is not None else "model classes")
    return {**head, "candidates": source, "windows": table.round(4).to_dict(orient="records")}


def cmd_calibrate(args) -> dict:
    """Fit the device calibration on one labelled recording and save it as a run."""
    from myosem_core.device_calibration import calibrate_device, recording_digest, save_calibration

    rec = read_device_recording(args)
    m = load_device_model(args.run, args.runs, args.split)
    if m.calibration is not None:
        raise ConfigError(f"{args.run} is already a calibration run; calibrate from the model's run (its index)")
    from myosem_core.cross_device import FEW_SHOT_LAM

    cal = calibrate_device(m.xd, rec, shots=args.shots, lam=FEW_SHOT_LAM if args.lam is None else args.lam,
                           seed=args.seed)
    cal.info["synthetic"] = m.synthetic
    query_dir = getattr(m.xd.text_space, "query_dir", None)
    cal.info["stage1_query_run"] = str(query_dir) if query_dir else None
    events = args.events if getattr(args, "board", None) is not None else rec.meta.get("events")
    digest = recording_digest(args.recording, rec.meta.get("sidecar"), events)
    folder = save_calibration(cal, runs_root(args.runs), digest)
    return {"calibration": str(folder), "model": str(m.stage3), "prompts": cal.sentences,
            "windows_per_prompt": cal.info["windows_per_prompt"],
            **{k: cal.info[k] for k in ("held_out_repetitions", "held_out_R@1", "zero_shot_R@1", "chance_R@1")
               if k in cal.info}}


def cmd_live(args) -> dict:
    from .live_view import run_live

    return run_live(args, load_device_model(args.run, args.runs, args.split, args.hop))
