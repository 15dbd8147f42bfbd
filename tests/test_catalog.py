"""Description catalogs: coverage of every class the data layer knows, and validation errors."""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from myosem_core.data.catalog import movement_names
from myosem_core.data.synthetic import gesture_names
from myosem_core.errors import DataError
from myosem_core.text.catalog import (
    CATALOG_DIR,
    ClassDescriptions,
    descriptions_for,
    families,
    load_catalog,
    normalize_text,
)


def test_every_ninapro_movement_of_exercises_a_to_d_has_descriptions_with_its_name_as_label():
    cat = load_catalog("ninapro")
    expected = {f"ninapro/{ex}/{n}": name for ex in "ABCD" for n, name in movement_names(ex).items()}
    assert len(expected) == 12 + 17 + 23 + 9
    assert sorted(cat) == sorted(expected)
    for key, name in expected.items():
        assert cat[key].label == name


def test_every_class_key_a_ninapro_database_produces_is_covered():
    """DB1 exercises 1-3 are A-C, DB2/DB3/DB7 hold B-D: each of their movements resolves."""
    from myosem_core.data.catalog import database_info, ninapro_databases

    keys = [f"ninapro/{letter}/{n}" for db in ninapro_databases()
            for letter in database_info(db)["exercises"].values() for n in movement_names(letter)]
    assert [d.key for d in descriptions_for(keys)] == keys


def test_every_synthetic_gesture_has_descriptions_with_its_name_as_label():
    cat = load_catalog("synthetic")
    keys = [f"synthetic/S/{n}" for n in gesture_names()]
    assert sorted(cat) == sorted(keys)
    for n, name in gesture_names().items():
        assert cat[f"synthetic/S/{n}"].label == name


def test_every_emg2pose_stage_has_descriptions_under_its_reader_class_key():
    from myosem_core.data.emg2pose import CLASS_PREFIX, stage_names, stage_number

    cat = load_catalog("emg2pose")
    names = stage_names()
    assert len(names) == 29
    assert sorted(cat) == sorted(f"{CLASS_PREFIX}/{i + 1}" for i in range(len(names)))
    for stage in names:
        cd = cat[f"{CLASS_PREFIX}/{stage_number(stage)}"]
        assert cd.source_name == stage, f"{cd.key} describes {cd.source_name!r}, the data layer calls it {stage!r}"
        assert cd.label != stage  # a readable label, not the CamelCase stage string


def test_descriptions_for_keeps_order_and_names_file_and_key_when_missing():
    got = descriptions_for(["synthetic/S/2", "synthetic/S/1"])
    assert [d.key for d in got] == ["synthetic/S/2", "synthetic/S/1"]
    assert all(isinstance(d, ClassDescriptions) for d in got)
    with pytest.raises(DataError) as e:
        descriptions_for(["synthetic/S/1", "synthetic/S/99"])
    assert "synthetic.yaml" in str(e.value) and "synthetic/S/99" in str(e.value)
    with pytest.raises(DataError, match="nosuchfamily"):
        descriptions_for(["nosuchfamily/X/1"])


def test_loaded_lists_are_copies_so_edits_do_not_leak_into_the_cache():
    first = load_catalog("synthetic")["synthetic/S/1"]
    first.paraphrases.append("mutated")
    assert "mutated" not in load_catalog("synthetic")["synthetic/S/1"].paraphrases


def test_view_counts_in_every_shipped_catalog():
    for fam in families():
        for key, cd in load_catalog(fam).items():
            assert key.startswith(f"{fam}/")
            assert len(cd.paraphrases) >= 5 and len(cd.heldout_paraphrases) == 3
            assert all(t.strip() for t in cd.trainable_texts() + cd.heldout_paraphrases)


def test_no_text_is_shared_between_classes_or_with_heldout():
    """Within a catalog no string names two classes; across catalogs only labels may coincide
    (the synthetic gestures carry the NinaPro names of the same movements)."""
    owner: dict[str, str] = {}
    for fam in families():
        for key, cd in load_catalog(fam).items():
            texts = [cd.canonical, *cd.paraphrases, *cd.heldout_paraphrases]
            normed = [normalize_text(t) for t in texts] + [f"{fam}::label::{normalize_text(cd.label)}"]
            for text, n in zip(texts + [cd.label], normed):
                assert owner.setdefault(n, key) == key, f"{text!r} in {key} and {owner[n]}"
            held = {normalize_text(t) for t in cd.heldout_paraphrases}
            assert not held & {normalize_text(t) for t in cd.trainable_texts()}
            assert normalize_text(cd.label) not in held


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_heldout_paraphrases_are_not_near_copies_of_training_views():
    """Word overlap (Jaccard) of every held-out text with every training view of its class < 0.5."""
    for fam in families():
        for key, cd in load_catalog(fam).items():
            for held in cd.heldout_paraphrases:
                for seen in cd.trainable_texts():
                    a, b = _words(held), _words(seen)
                    assert len(a & b) / len(a | b) < 0.5, f"{key}: {held!r} is too close to {seen!r}"


# --- validation on hand-made bad files ------------------------------------------------------

GOOD = {
    "label": "index flexion",
    "canonical": "The index finger bends.",
    "paraphrases": ["a one", "a two", "a three", "a four", "a five"],
    "heldout_paraphrases": ["h one", "h two", "h three"],
}


def _write(tmp_path, classes, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"family": "test", "classes": classes}, sort_keys=False))
    return path


def _error(path) -> str:
    with pytest.raises(DataError) as e:
        load_catalog(path)
    return str(e.value)


def test_a_good_hand_made_catalog_loads(tmp_path):
    path = _write(tmp_path, {"test/X/1": GOOD})
    cat = load_catalog(path)
    assert cat["test/X/1"].paraphrases == GOOD["paraphrases"]


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"label": None}, "label", "missing"),
        ({"canonical": "   "}, "canonical", "empty"),
        ({"paraphrases": ["a", "b", "c", "d"]}, "paraphrases", "at least 5"),
        ({"paraphrases": ["a", "b", "", "d", "e"]}, "paraphrases[2]", "empty"),
        ({"heldout_paraphrases": ["x", "y"]}, "heldout_paraphrases", "exactly 3"),
        ({"heldout_paraphrases": ["x", "y", "z", "w"]}, "heldout_paraphrases", "exactly 3"),
        ({"heldout_paraphrases": ["x", "  A   TWO ", "z"]}, "heldout_paraphrases[1]", "paraphrases[1]"),
        ({"heldout_paraphrases": ["Index Flexion.", "y", "z"]}, "heldout_paraphrases[0]", "label"),
        ({"heldout_paraphrases": ["x", "y", "the index finger BENDS"]}, "heldout_paraphrases[2]", "canonical"),
        ({"paraphrases": ["a", "b", "c", "d", 5]}, "paraphrases[4]", "string"),
        ({"paraphrases": "a, b, c, d, e"}, "paraphrases", "list"),
        ({"process": "the finger bends over time"}, "process", "derived from pose"),
    ],
)
def test_each_bad_entry_names_file_key_and_field(tmp_path, change, field, words):
    entry = {**GOOD, **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    msg = _error(_write(tmp_path, {"test/X/7": entry}))
    assert "bad.yaml" in msg and f"test/X/7.{field}'" in msg and words in msg, msg


def test_text_shared_by_two_classes_is_rejected_naming_both(tmp_path):
    other = {**GOOD, "label": "middle flexion", "canonical": "The middle finger bends.",
             "paraphrases": ["b one", "b two", "A THREE", "b four", "b five"],
             "heldout_paraphrases": ["i one", "i two", "i three"]}
    msg = _error(_write(tmp_path, {"test/X/1": GOOD, "test/X/2": other}))
    assert "bad.yaml" in msg and "test/X/2.paraphrases[2]" in msg and "test/X/1" in msg, msg


def test_malformed_files_name_the_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("classes: [unclosed\n")
    assert "broken.yaml" in _error(p) and "YAML" in _error(p)
    p.write_text("family: x\n")
    assert "broken.yaml" in _error(p) and "classes" in _error(p)
    p.write_text(textwrap.dedent("""
        classes:
          nokey:
            label: x
    """))
    assert "'nokey'" in _error(p) and "<family>/<group>/<label>" in _error(p)
    assert "missing.yaml" in _error(tmp_path / "missing.yaml")


def test_catalog_dir_holds_only_known_families():
    assert set(families()) <= {"ninapro", "synthetic", "emg2pose"}
    assert (CATALOG_DIR / "synthetic.yaml").exists()
