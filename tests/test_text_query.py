"""Reading free text: bad input is one DataError in the library itself, text without letters and what the
off-topic detector rejects are refused with their nearest candidates, the threshold rule, and the search that
every caller (index, explorer) answers with."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from myosem_core.errors import DataError
from myosem_core.retrieval import RetrievalIndex, free_text_to_emg
from myosem_core.text.benchmark import FreeText
from myosem_core.text.query import MAX_QUERY_CHARS, QueryReader, check_query, choose_threshold
from myosem_core.viz.explorer import answers, search_html

KEYS = ("ninapro/A/1", "ninapro/A/2")


class Words:
    """A stand-in text space: "bend" -> class 1, "lift" -> class 2, anything else halfway."""

    class_keys = KEYS
    prototypes = np.eye(2, dtype=np.float32)

    def encode_text(self, texts):
        return np.array([[1.0, 0.0] if "bend" in t else [0.0, 1.0] if "lift" in t else [0.7, 0.7] for t in texts])


class KneeDetector:
    """A stand-in packaged encoder for the detector: one feature, 1 when the sentence names a finger."""

    def encode(self, texts):
        return np.array([[1.0] if "finger" in t else [0.0] for t in texts])


def _index(reader=None):
    y = np.repeat([0, 1], 6)
    X = np.zeros((12, 5, 2), np.float32)
    X[:, 0, 0] = y
    windows = SimpleNamespace(X=X, y=y, labels=np.array([KEYS[i] for i in y]), subject=np.repeat(["S1", "S2", "S3"], 4),
                              repetition=np.tile([1, 1, 2, 2], 3), fs=100.0, channel_names=["a", "b"])
    embed = lambda X: np.eye(2, dtype=np.float32)[X[:, 0, 0].astype(int)]  # noqa: E731
    return RetrievalIndex(embed, windows, np.eye(2, dtype=np.float32), KEYS, Words(), reader=reader)


@pytest.mark.parametrize("bad, needle", [
    ("", "empty"), ("   ", "empty"), ("\t\n \r\n", "empty"), ("\u200b\u200b", "empty"),
    ("\x00\x01", "control characters U+0000, U+0001"), ("bend\x07it", "U+0007"), ("\x1b[31mred", "U+001B"),
    ("\ud800", "U+D800"), ("x" * (MAX_QUERY_CHARS + 1), f"more than the {MAX_QUERY_CHARS}"),
    (None, "expected a sentence (str), got NoneType"), (42, "got int"),
])
def test_bad_input_is_one_data_error_naming_the_field(bad, needle):
    with pytest.raises(DataError, match="field 'text'") as err:
        check_query(bad)
    assert needle in str(err.value)
    # the library's own search refuses it the same way (not only the command line)
    with pytest.raises(DataError) as err2:
        _index().search_text(bad)
    assert needle in str(err2.value)


def test_good_input_is_kept_with_its_whitespace_collapsed():
    assert check_query("  bend\tthe\n ring finger ") == "bend the ring finger"
    assert check_query("x" * MAX_QUERY_CHARS) == "x" * MAX_QUERY_CHARS  # the limit itself is allowed
    assert check_query("👍 ✊ 🤙") == "👍 ✊ 🤙"  # emoji are text (not bad input), refused later for having no letters
    assert check_query("thumb\u200dup") == "thumb\u200dup"  # a zero-width joiner is no control character


def test_text_without_letters_is_refused_with_its_nearest_candidates():
    reader = QueryReader(Words(), KEYS, prototypes=np.eye(2))
    for text in ("42", "👍 ✊ 🤙", "3.14 + 2 = ?"):
        r = reader.read(text)
        assert not r.known and r.reason == "no words"
        msg = r.message()
        assert msg.startswith(f'no known hand movement in "{text}"') and "nearest candidates, not matches" in msg
        assert "index flexion" in msg and "index extension" in msg
    assert reader.read("bend it").known  # without a detector every sentence with words is read as known


def test_the_detector_decides_and_its_score_is_measured_from_the_threshold():
    detector = {"coef": np.array([4.0]), "intercept": -1.0, "threshold": 0.5}  # on topic: 4 * x - 1 >= 0.5
    reader = QueryReader(Words(), KEYS, detector, 0.05, KneeDetector(), prototypes=np.eye(2))
    finger, knee = reader.read_many(["bend the index finger", "bend your knee"])
    assert finger.known and finger.on_topic == pytest.approx(2.5) and finger.nearest(1)[0][0] == KEYS[0]
    assert not knee.known and knee.on_topic == pytest.approx(-1.5) and knee.reason == "reads as off-topic"
    # class probabilities: a softmax of the class cosines at the reader's temperature (hand-computed)
    e = np.exp(np.array([1.0, 0.0]) / 0.05)
    np.testing.assert_allclose(finger.probabilities, e / e.sum(), rtol=1e-6)


def test_refused_sentences_return_no_windows_and_say_so():
    detector = {"coef": np.array([4.0]), "intercept": -1.0, "threshold": 0.5}
    idx = _index(QueryReader(Words(), KEYS, detector, 0.05, KneeDetector(), prototypes=np.eye(2)))
    knee = idx.search_text("bend your knee", k=3)
    assert not knee.known and knee.hits.empty and "no known hand movement" in str(knee)
    assert list(knee.candidates()["class_key"]) == [KEYS[0], KEYS[1]]
    finger = idx.search_text("bend the index finger", k=3)
    assert finger.known and (finger.hits["class_key"] == KEYS[0]).all()
    html = search_html(idx, "bend your knee")
    assert 'class="myosem-query myosem-abstained"' in html and "myosem-candidates" in html
    assert 'class="myosem-query-error"' in search_html(idx, "bend\x00")
    table = answers(idx, ["bend your knee", "", "bend the index finger"])
    assert table["answer"].str.startswith("no known").iloc[0] and table["answer"].iloc[1].startswith("error: ")
    # free text end to end: the refused sentence is counted, the others measured
    r = free_text_to_emg(idx, [FreeText("bend your knee", KEYS[0], "casual"),
                               FreeText("bend the index finger", KEYS[0], "casual"),
                               FreeText("lift the index finger", KEYS[1], "direction")], k=3)
    assert r["n_sentences"] == 3 and r["n_abstained"] == 1 and r["abstained"] == ["bend your knee"]
    assert r["top3_right"] == pytest.approx(1.0) and len(r["shown_probability"]) == 6


def test_threshold_rule_on_hand_made_scores():
    # separated sets: the middle of the gap between the highest off-topic and the lowest known score
    t, cost = choose_threshold([2.0, 3.0, 5.0], [-4.0, -1.0, 0.0])
    assert t == pytest.approx(1.0) and cost == 0.0
    # overlapping: one known sentence at -2 among off-topic scores. Refusing it costs 1/4 / 2 % = 12.5;
    # keeping the off-topic text at -1 and 0 above it costs 2/4 / 5 % = 10: the rule keeps the known one
    t, cost = choose_threshold([-2.0, 2.0, 3.0, 5.0], [-4.0, -3.0, -1.0, 0.0])
    assert -3.0 < t < -2.0 and cost == pytest.approx(10.0)
