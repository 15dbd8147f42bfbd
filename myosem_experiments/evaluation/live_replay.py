"""A device's session replayed live: through BrainFlow's playback board and :mod:`myosem_core.live`, beside
:meth:`~myosem_core.cross_device.CrossDevice.describe` on the same file (the chapter's "replay live" step).

    res = replay_session(xd, rec, folder, board="cyton", watch="close the index finger")
    res["live"], res["offline"]            # per-window DataFrames
    replay_findings(res)                   # the chapter's sentences

The session is written as BrainFlow's own file of ``board`` (``replay.csv``, its prompts in
``replay_prompts.csv``) and played back in real time (its duration in wall time), so the windows
arrive as a board delivers them; the offline reading of the same file gives each window's prompt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def replay_session(xd, rec, folder: str | Path, board: str = "cyton", watch: str | None = None) -> dict:
    """Play ``rec`` back through BrainFlow and describe it live; the file read offline for comparison."""
    from myosem_core.data.brainflow_files import read_brainflow_file
    from myosem_core.data.device_files import write_recording_files
    from myosem_core.live import BoardStream, LiveRetriever, stream_windows

    path = write_recording_files(folder, rec, "brainflow", stem="replay", board=board)  # + replay_prompts.csv
    stream = BoardStream("playback", file=path, master_board=board)
    live = LiveRetriever(xd, stream.spec.sampling_rate, len(stream.spec.emg_rows), rec.signal_kind, k=3, watch=watch)
    with stream:
        windows = list(stream_windows(stream, live))
    table = pd.DataFrame([w.to_dict() for w in windows])
    offline = xd.describe(read_brainflow_file(path, board, events=Path(folder) / "replay_prompts.csv"), k=3)
    n = min(len(table), len(offline))
    latency = [w.latency_ms for w in windows if not w.backlog]
    watched = None  # the prompt whose description is the watched sentence, if one is
    names = rec.meta.get("label_names", {})
    for key, text in (xd.sentences or {}).items():
        if text == watch and key in names:
            watched = names[key]
    inside = offline["true"][:n].to_numpy() == watched if watched else np.zeros(n, bool)
    match = table["match"][:n].to_numpy(bool) if watch else np.zeros(n, bool)
    return {"live": table, "offline": offline, "windows": windows, "samples": stream.received,
            "file_samples": rec.n_samples, "agree_top1": float(np.mean(table["top1"][:n].to_numpy()
                                                                       == offline["top1"][:n].to_numpy())),
            "same_count": len(table) == len(offline), "latency_median_ms": float(np.median(latency)),
            "latency_max_ms": float(np.max(latency)),
            "cpu_max_ms": float(np.max([w.cpu_ms for w in windows if not w.backlog])), "watch": watch,
            "matches": int(table["match"].sum()) if watch else None, "normalizer": live.normalizer_source,
            "watched_prompt": watched, "inside": int(inside.sum()), "matched_inside": int((match & inside).sum()),
            "matched_outside": int((match & ~inside).sum())}


def replay_findings(res: dict, calibration_info: dict) -> list[str]:
    """The chapter's sentences on a calibration and its live replay, every number read from them."""
    out = []
    if calibration_info.get("held_out_repetitions"):
        out.append(f"- **Calibration**: leaving each of its {calibration_info['held_out_repetitions']} repetitions "
                   f"out in turn, the few-shot map fitted on the others ranks the held-out windows' prompt first "
                   f"{100 * calibration_info['held_out_R@1']:.0f} % of the time, against "
                   f"{100 * calibration_info['zero_shot_R@1']:.0f} % zero-shot (chance "
                   f"{100 * calibration_info['chance_R@1']:.0f} %).")
    out.append(f"- **Live**: BrainFlow's playback board delivered {res['samples']:,} of the file's "
               f"{res['file_samples']:,} samples; {len(res['live'])} windows were described as they completed, "
               f"{100 * res['agree_top1']:.0f} % of them with the same best description as the offline reading of the "
               f"file" + ("" if res["same_count"] else " (the two readings cut a different number of windows)")
               + f", normalised by the {res['normalizer']}.")
    out.append(f"- From the arrival of a window's last sample to its descriptions: median "
               f"{res['latency_median_ms']:.1f} ms, at most {res['latency_max_ms']:.1f} ms (waiting for a core "
               f"included, when other jobs share the machine; computing took at most {res['cpu_max_ms']:.1f} ms of "
               "one thread), against a hop of 250 ms.")
    if res["watch"]:
        line = (f"- Watching *{res['watch']}*: {res['matches']} of {len(res['live'])} windows matched (sentence score "
                "of 0.5 or more)")
        if res.get("watched_prompt"):
            outside = len(res["live"]) - res["inside"]
            line += (f": {res['matched_inside']} of the {res['inside']} windows inside an *{res['watched_prompt']}* "
                     f"prompt and {res['matched_outside']} of the {outside} others. The candidates are the prompts, "
                     "with no sentence for the relaxed hand, so a window at rest takes the nearest prompt"
                     + (" and can match." if res["matched_outside"] else "."))
        out.append(line + ("" if line.endswith(".") else "."))
    return out
