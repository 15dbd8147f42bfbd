"""Serve notebook 09's retrieval explorer as a web app on localhost with Voilà (``make explore``).

    python scripts/explore.py [--data-dir ../shared/data/ninapro-db1] [--preset quick] [--protocol rand] [--port 8866]

1. reads the trained MyoSem runs of the dataset, preset and protocol (training Stages 1-3 first when a
   run is absent, as the notebooks do);
2. writes ``notebooks/09_retrieval_explorer.md`` as a notebook with these parameters injected to
   ``build/explore/09_retrieval_explorer.ipynb`` (papermill, not executed);
3. serves it with Voilà at http://127.0.0.1:PORT: the code is hidden, the widgets are live, so a person
   types a sentence (Enter) or moves the window slider and sees ranked results beside the signal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import KERNEL, REPO, executed_name, make_parameters, prepare  # noqa: E402


def voila_command(notebook: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser", "--Voila.ip=127.0.0.1",
            "--show_tracebacks=True"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--protocol", default="rand")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", default=None)
    ap.add_argument("--port", type=int, default=8866)
    ap.add_argument("--kernel", default=KERNEL)
    ap.add_argument("--notebook", default=str(REPO / "notebooks" / "09_retrieval_explorer.md"))
    ap.add_argument("--no-train", action="store_true", help="do not train missing runs before serving")
    args = ap.parse_args(argv)
    params = make_parameters(args.preset, args.seed, args.data_dir, args.dataset, args.run_dir)
    params["protocol"] = args.protocol
    if not args.no_train:
        from myosem_core.presets import make_config
        from myosem_core.threads import set_threads
        from myosem_experiments.pipeline import run_myosem

        set_threads(1)
        cfg = make_config(params["preset"], params["dataset"], params["data_dir"], params["seed"])
        print(f"explore: reading (or training) the {params['dataset']} `{args.protocol}` runs, preset {args.preset}")
        run_myosem(cfg, args.protocol, runs=params["run_dir"], baselines=())
    target = REPO / "build" / "explore" / executed_name(Path(args.notebook))
    target.parent.mkdir(parents=True, exist_ok=True)
    prepare(Path(args.notebook), target, params, args.kernel)
    print(f"explore: serving {target.relative_to(REPO)} at http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    cmd = voila_command(target, args.port)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
