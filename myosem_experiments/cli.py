"""The ``myosem`` command: the notebooks' work on a server, without Jupyter.

    myosem prepare --dataset ninapro-db1 --data-dir ../shared/data/ninapro-db1
    myosem train-stage3 --dataset ninapro-db1 --data-dir ... --protocol user --preset full
    myosem index --dataset ninapro-db1 --data-dir ... --protocol user          # prints the run folder
    myosem query "bend the ring finger" --run RUN -k 5
    myosem query --window window.npy --run RUN                     # its descriptions, and the most similar stored windows
    myosem query --recording session1.csv --run RUN --json         # any device: per-window descriptions
    myosem calibrate --recording prompts.csv --run RUN               # a person's device -> a calibration run
    myosem live --board synthetic --run RUN --watch "close the index finger"   # a board's stream, described live
    myosem live --board playback --file cyton.csv --master-board cyton --run CALIBRATION
    torchrun --nproc_per_node=4 -m myosem_experiments.cli train-stage2 ...           # data-parallel

Every subcommand has ``--help``. Tests call :func:`main` with a list of
arguments; it returns the exit code instead of exiting.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_USAGE, EXIT_DATA, EXIT_MISSING, EXIT_INTERRUPTED = 0, 2, 3, 4, 130

EPILOG = """\
exit codes:
  0    success
  2    usage or configuration error (bad option, unknown dataset/preset/protocol, bad --set)
  3    data error: a data file or window is missing fields, malformed or inconsistent
  4    missing run or artifact: the run, index or file named on the command line does not exist
  130  interrupted (Ctrl-C); the last epoch's checkpoint is kept: run the same command again to resume
Errors are reported as one line on stderr: "myosem: error: ...".

Results go to stdout (a short summary; --json for JSON). Runs are stored under
--runs (default $MYOSEM_RUNS or <repo>/runs), keyed by a hash of the configuration,
and reused: a command whose run already exists reads it instead of training again.
A training run that was killed resumes from its last epoch checkpoint.

Distributed training (PyTorch DDP; gloo on CPU, nccl on GPUs):
  torchrun --nproc_per_node=N -m myosem_experiments.cli train-stage3 [options]
"""


def _common(p: argparse.ArgumentParser, data: bool = True) -> None:
    g = p.add_argument_group("data and run options")
    if data:
        g.add_argument("--dataset", default="synthetic",
                       help="synthetic (default, the embedded generator), ninapro-db1, ninapro-db2, ... ")
        g.add_argument("--data-dir", default=None, help="folder of the dataset files (real datasets)")
        g.add_argument("--preset", default="quick", help="quick (CI, minutes on CPU) or full (the book)")
        g.add_argument("--seed", type=int, default=0)
        g.add_argument("--protocol", default="rand", help="rand, user, class or cross-dataset")
        g.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                       help="override a setting, e.g. stage2.max_epochs=3, data.window.hop_s=0.25, "
                            "stage1.epochs=0 (repeatable; sections: data, stage1, stage2, stage3)")
        g.add_argument("--threads", type=int, default=None, help="torch threads per process")
    g.add_argument("--runs", default=None, help="runs folder (default $MYOSEM_RUNS or <repo>/runs)")
    g.add_argument("--json", action="store_true", help="print the summary as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    from . import cli_commands as c

    ap = argparse.ArgumentParser(prog="myosem", description="MyoSem: EMG <-> text retrieval from the command line.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("prepare", help="window the data and save every protocol's manifest",
                       description="Window the dataset, split it under each protocol and save the manifests "
                                   "and data_summary.json into a run folder.")
    _common(p)
    p.add_argument("--protocols", nargs="+", default=None, help="protocols to save (default: rand user class)")
    p.set_defaults(func=c.cmd_prepare)

    helps = {1: "fine-tune the text space (Stage 1)", 2: "train the activation-aware EMG encoder (Stage 2)",
             3: "align EMG to the Stage-1 prototypes (Stage 3; trains Stages 1-2 first if needed)"}
    for n, text in helps.items():
        p = sub.add_parser(f"train-stage{n}", help=text, description=text[0].upper() + text[1:] + ". "
                           "Reuses the run if it exists; resumes a killed run from its last epoch.")
        _common(p)
        p.set_defaults(func=c.cmd_train, stage=n)
    p = sub.add_parser("train", help="train one stage: train --stage N", description="Train Stage 1, 2 or 3.")
    p.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
    _common(p)
    p.set_defaults(func=c.cmd_train)

    p = sub.add_parser("evaluate", help="retrieval metrics of MyoSem and baselines on the test split",
                       description="Train (or reuse) Stages 1-3, evaluate EMG->text and text->EMG retrieval of "
                                   "MyoSem and the baselines on the protocol's test split; write result JSONs.")
    _common(p)
    p.add_argument("--baselines", nargs="*", default=["lda"], help="baseline retrievers (default: lda)")
    p.set_defaults(func=c.cmd_evaluate)

    p = sub.add_parser("index", help="embed windows with the Stage-3 run into a searchable index",
                       description="Embed the windows of one split with the Stage-3 run these options name "
                                   "(trained first if needed) and store them as <run>/index-<split>/.")
    _common(p)
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"),
                   help="which windows to index (default: test)")
    p.add_argument("--ann", default="auto", choices=("auto", "none", "ivf-flat", "ivf-pq"),
                   help="approximate index (faiss) of the embeddings: auto = past 100,000 windows, IVF-Flat while "
                        "the vectors fit 2 GiB, else IVF-PQ (default auto)")
    p.set_defaults(func=c.cmd_index)

    p = sub.add_parser("query", help='"free text" -> top EMG windows, --window FILE -> ranked descriptions, '
                                     '--recording FILE -> descriptions over time',
                       description="Search an index built by `myosem index`. With a sentence: the k windows whose "
                                   "embedding is closest, with their true labels. With --window: the class "
                                   "descriptions ranked for one window (.npy, shape (samples, channels)). With "
                                   "--recording: a file of any device (channels, rate; see the README) is "
                                   "converted to the run's layout and every window's top descriptions are "
                                   "printed; with a sentence too, the best-matching time spans. A sentence that "
                                   "names no known hand movement gets that answer and its nearest candidates; "
                                   "empty text, control characters or more than 500 characters are an error.")
    p.add_argument("text", nargs="?", default=None, help="free-text description of a hand action")
    p.add_argument("--window", default=None, metavar="FILE", help=".npy file with one EMG window")
    p.add_argument("--recording", default=None, metavar="FILE",
                   help="a recording of any device (.csv/.tsv/.npy/.edf with a sidecar <stem>.yaml): slide over it "
                        "and print the top descriptions per window, or with a sentence its best-matching time spans")
    _recording_options(p)
    p.add_argument("--hop", type=float, default=0.5, help="--recording: seconds between windows (default 0.5)")
    p.add_argument("--run", required=True, help="Stage-3 run folder (or its name under --runs), an index folder, "
                                                "or a calibration run (myosem calibrate)")
    p.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    p.add_argument("--varied", action="store_true",
                   help="a sentence's top windows spread over subjects, at most one per repetition")
    p.add_argument("--split", default="test", help="which index of the run (default: test)")
    p.add_argument("--exact", action="store_true", help="--window: search the stored windows exactly, never through "
                                                        "the approximate index")
    _common(p, data=False)
    from . import cli_devices as d

    p.set_defaults(func=d.cmd_query)

    p = sub.add_parser("calibrate", help="fit a person's device: normalizer + few-shot map from one labelled recording",
                       description="Read one labelled recording of a device (prompts such as 'index closed' or five "
                                   "0/1 finger states), fit the normalizer on all its windows and the few-shot map "
                                   "from its labelled windows to their descriptions, check the map leaving one "
                                   "repetition out, and save the result as a calibration run that `query --run` and "
                                   "`live --run` take in place of the model run. Prints the run folder.")
    p.add_argument("--recording", required=True, metavar="FILE", help="the labelled calibration recording")
    _recording_options(p)
    p.add_argument("--run", required=True, help="the model: an index folder or a Stage-3 run holding one "
                                                "(myosem index)")
    p.add_argument("--shots", type=int, default=None, help="labelled windows per prompt to fit on (default: all)")
    p.add_argument("--lam", type=float, default=None,
                   help="ridge strength of the few-shot map (default: the book's, chosen on development sessions)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --shots draw")
    p.add_argument("--split", default="test", help="which index of the run (default: test)")
    _common(p, data=False)
    p.set_defaults(func=d.cmd_calibrate)

    p = sub.add_parser("live", help="describe a board's EMG stream window by window, as it arrives (BrainFlow)",
                       description="Stream EMG from a BrainFlow board (a real board, `synthetic`, or `playback` "
                                   "replaying a BrainFlow file), window it at the model's rate, embed every window "
                                   "and show its top descriptions in a refreshing table (or --json: one line per "
                                   "window). Ctrl-C stops it cleanly. With a calibration run the device's normalizer, "
                                   "map and prompts are used; without, the first --warmup seconds set the normalizer.")
    p.add_argument("--board", required=True, help="BrainFlow board id or name: synthetic, playback, cyton, 0, ...")
    p.add_argument("--file", default=None, metavar="FILE", help="--board playback: the BrainFlow file to replay")
    p.add_argument("--master-board", default=None,
                   help="--board playback: the board that recorded --file (default: the calibration's board, "
                        "else synthetic)")
    p.add_argument("--serial-port", default=None, help="serial port of a real board (e.g. /dev/ttyUSB0)")
    p.add_argument("--signal", default="raw", choices=("raw", "rms"), help="what the board's EMG rows hold")
    p.add_argument("--run", required=True, help="an index folder / Stage-3 run holding one, or a calibration run")
    p.add_argument("-k", type=int, default=3, help="descriptions shown per window (default 3)")
    p.add_argument("--watch", default=None, metavar="SENTENCE", help='mark windows that match a sentence, e.g. '
                                                                     '"close the index finger"')
    p.add_argument("--hop", type=float, default=0.25, help="seconds between windows (default 0.25)")
    p.add_argument("--warmup", type=float, default=5.0,
                   help="uncalibrated: seconds of stream that set the normalizer before the first window (default 5)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--max-windows", type=int, default=None, help="stop after this many windows")
    p.add_argument("--stall", type=float, default=3.0, help="seconds without a sample that count as a stalled "
                                                            "stream (an error; default 3)")
    p.add_argument("--record", default=None, metavar="FILE",
                   help="also save the received samples as a BrainFlow file (written whole on exit, also on Ctrl-C)")
    p.add_argument("--split", default="test", help="which index of the run (default: test)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the latency target is per core)")
    _common(p, data=False)
    p.set_defaults(func=d.cmd_live)
    return ap


def _recording_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sidecar", default=None, metavar="FILE", help="sidecar of --recording (default: <stem>.yaml beside it)")
    p.add_argument("--board", default=None, help="--recording is a BrainFlow file of this board (id or name, e.g. "
                                                 "cyton): no sidecar needed")
    p.add_argument("--events", default=None, metavar="FILE",
                   help="with --board: a prompt/events file on the file's clock (default: its markers, if any)")


def _print_summary(args, summary: dict) -> None:
    if not summary:
        return
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return
    import pandas as pd

    for key, value in summary.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key}:")
            print(pd.DataFrame(value).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        else:
            print(f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (usage errors from argparse exit with 2)."""
    from myosem_core import distributed as ddp
    from myosem_core.errors import ConfigError, DataError
    from myosem_core.threads import set_threads
    from myosem_core.training.resume import SimulatedInterrupt

    from .cli_commands import MissingArtifact

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse already printed
        return int(exc.code or 0)
    set_threads(getattr(args, "threads", None))
    code = EXIT_OK
    try:
        ddp.init_from_env()
        summary = args.func(args)
        if ddp.is_main():
            _print_summary(args, summary)
    except ConfigError as exc:
        code = _fail(EXIT_USAGE, exc)
    except DataError as exc:
        code = _fail(EXIT_DATA, exc)
    except (MissingArtifact, FileNotFoundError) as exc:
        code = _fail(EXIT_MISSING, exc)
    except (KeyboardInterrupt, SimulatedInterrupt) as exc:
        code = _fail(EXIT_INTERRUPTED, f"interrupted ({exc or 'Ctrl-C'}); run the same command again to resume")
    finally:
        if code == EXIT_OK:
            ddp.shutdown()
    return code


def _fail(code: int, exc) -> int:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    print(f"myosem: error: {msg}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
