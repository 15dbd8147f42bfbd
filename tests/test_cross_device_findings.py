"""The chapter's sentences on cross-device results and a live replay, from hand-made result dicts."""

from __future__ import annotations

import pandas as pd

from myosem_experiments.evaluation.cross_device import findings
from myosem_experiments.evaluation.live_replay import replay_findings


def result(few, floor, lr, zero=0.14, db1=None):
    def rows(f, n, l):
        return {"MyoSem zero-shot": {"R@1": zero}, "MyoSem few-shot (1/class)": {"R@1": 0.4},
                "nearest class mean (1/class)": {"R@1": 0.55}, "MyoSem few-shot (5/class)": {"R@1": f},
                "nearest class mean (5/class)": {"R@1": n}, "per-finger logistic (5/class)": {"R@1": l}}
    devs = {"board8": {"device": {"n_channels": 8, "fs": 250.0}, "chance_R@1": 0.125,
                       "rows": rows(few[0], floor[0], lr[0]), "db1_prototypes": db1},
            "db1-layout": {"device": {"n_channels": 10, "fs": 100.0}, "chance_R@1": 0.125,
                           "rows": rows(few[1], floor[1], lr[1]), "db1_prototypes": db1}}
    return {"config": {"shots": [1, 5]}, "devices": devs}


def test_few_shot_above_both_floors_on_every_device():
    lines = findings(result((0.93, 0.91), (0.66, 0.70), (0.90, 0.89)), 12, 10, 100.0)
    assert "R@1 0.91–0.93" in lines[2] and "nearest class mean gets 0.66–0.70" in lines[2]
    assert "logistic regression 0.89–0.90" in lines[2] and "beats both on every device" in lines[2]
    assert "no better than guessing" in lines[0] and "db1-layout" in lines[0]  # the same-layout control is named
    assert "not scored" in lines[1]
    assert lines[3] == "- With 1 window per prompt the few-shot map averages 0.40 against the floor's 0.55: one " \
                       "example is too few for the map, the floor is the better choice there."


def test_few_shot_below_the_logistic_regression_on_one_device_says_so():
    lines = findings(result((0.88, 0.93), (0.66, 0.70), (0.90, 0.89), zero=0.5, db1={"R@1": 0.2}), 12, 10, 100.0)
    assert "beats both on 1 of 2 devices (db1-layout)" in lines[2] and "adds little" in lines[2]
    assert "guessing" not in lines[0] and "R@1 0.20 (chance 0.083)" in lines[1]


def test_replay_sentences_read_every_number():
    res = {"samples": 2000, "file_samples": 2000, "live": pd.DataFrame({"top1": ["a"] * 29}), "agree_top1": 1.0,
           "same_count": True, "latency_median_ms": 3.21, "latency_max_ms": 9.87, "cpu_max_ms": 4.56, "watch": "close the index finger",
           "matches": 4, "normalizer": "calibration"}
    cal = {"held_out_repetitions": 3, "held_out_R@1": 0.875, "zero_shot_R@1": 0.15, "chance_R@1": 0.125}
    lines = replay_findings(res, cal)
    assert "3 repetitions" in lines[0] and "88 %" in lines[0] and "15 % zero-shot (chance 12 %)" in lines[0]
    assert "2,000 of the file's 2,000 samples; 29 windows" in lines[1] and "100 % of them" in lines[1]
    assert "median 3.2 ms, at most 9.9 ms" in lines[2] and "at most 4.6 ms of one thread" in lines[2] and lines[3].endswith("4 of 29 windows matched (sentence "
                                                                              "score of 0.5 or more).")
    assert len(replay_findings({**res, "watch": None, "same_count": False}, {})) == 2
    inside = replay_findings({**res, "watched_prompt": "index closed", "inside": 10, "matched_inside": 3,
                              "matched_outside": 1}, cal)[3]
    assert "3 of the 10 windows inside an *index closed* prompt and 1 of the 19 others" in inside
    assert inside.endswith("takes the nearest prompt and can match.")


def test_the_live_table_shows_the_latest_windows_and_their_matches():
    from myosem_core.live import LiveWindow
    from myosem_experiments.live_view import LiveTable

    view = LiveTable("myosem live · test", 2, "close the index finger", rows=3)
    for i in range(5):
        view.add(LiveWindow(i, 0.25 * i, 0.25 * i + 1, [("close the index finger", 0.8), ("close the fist", 0.5)],
                            watch=0.9 if i == 4 else 0.1, match=i == 4, latency_ms=2.0 + i))
    text = view.text(width=160)
    assert "myosem live · test" in text and "MATCH 0.90" in text and text.count("close the fist") == 3  # last 3 rows
    assert "   0.25 " not in text and "   0.50 " in text  # window 1 (t = 0.25 s) scrolled off, window 2 shown
    assert "5 windows · latency median 4.0 ms, max 6.0 ms · 1 matches" in text
