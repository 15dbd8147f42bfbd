"""Presets as files: myosem_core/presets/<name>.yaml gives typed configs, bad files give one clear error."""

from __future__ import annotations

import pytest
import yaml

from myosem_core import presets
from myosem_core.baselines.forest import RandomForestRetriever
from myosem_core.errors import ConfigError
from myosem_core.presets import make_config, report_seeds
from myosem_core.training.aemg import AEMGConfig
from myosem_core.presets import deep_config, preset_section


@pytest.fixture
def preset_dir(tmp_path, monkeypatch):
    """Preset files in a temporary folder (the packaged ones untouched)."""
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    presets._read.cache_clear()
    yield tmp_path
    presets._read.cache_clear()


def write(folder, name, doc) -> None:
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))


def test_every_packaged_preset_builds_every_section_it_names():
    assert {"quick", "full", "paper"} <= set(presets.preset_names())
    for name in presets.preset_names():
        doc = yaml.safe_load((presets.PRESET_DIR / f"{name}.yaml").read_text())
        for section, cls in presets.SECTION_TYPES.items():
            if section in doc:
                assert isinstance(presets.preset_section(name, section), cls)


def test_each_section_reaches_the_config_that_reads_it(preset_dir):
    """A preset written here with hand-chosen values: every reader sees them, the rest stays at the defaults."""
    (preset_dir / "hand.yaml").write_text(
        "data: {window: {length_s: 2.0, hop_s: 0.75}}\n"
        "stage1: {query_synonyms: 7}\n"
        "stage2: &s2 {max_epochs: 9, patience: 4, augment: &aug {noise: 0.3}}\n"
        "stage3: {phase1_epochs: 5, augment: *aug}\n"
        "deep: {width: 12}\n"
        "forest: {n_estimators: 11}\n"
        "embridge: {fractions: [0.25, 1]}\n"
        "aemg: {epochs: 2}\n"
        "aemg_eval: {max_targets: null}\n"
        "report: {seeds: [4, 5]}\n")
    s2 = preset_section("hand", "stage2")
    assert (s2.preset, s2.max_epochs, s2.patience, s2.augment.noise) == ("hand", 9, 4, 0.3)
    assert s2.lr == preset_section("hand", "stage2").__class__().lr  # not named: the dataclass default
    assert preset_section("hand", "stage3").augment == s2.augment  # the YAML anchor shares it
    assert preset_section("hand", "stage1").query_synonyms == 7
    d = deep_config("hand")  # the deep rows: their width on MyoSem's Stage-2/3 budgets
    assert (d.width, d.pretrain_epochs, d.pretrain_patience, d.align.phase1_epochs) == (12, 9, 4, 5)
    assert RandomForestRetriever(config=preset_section("hand", "forest")).n_estimators == 11
    assert preset_section("hand", "embridge").fractions == (0.25, 1.0)
    assert preset_section("hand", "aemg_eval").max_targets is None  # YAML null
    assert isinstance(preset_section("hand", "aemg"), AEMGConfig) and preset_section("hand", "aemg").epochs == 2
    assert report_seeds("hand") == (4, 5)
    assert (make_config("hand").data.window.length_s, make_config("hand").data.window.hop_s) == (2.0, 0.75)


def test_a_preset_without_a_section_says_which_presets_have_it():
    assert preset_section("paper", "embridge").emg.d_model == 256
    with pytest.raises(ConfigError, match=r"preset 'paper' .*paper.yaml.* has no 'stage2' section.*'full'"):
        preset_section("paper", "stage2")


def test_an_unknown_preset_names_the_files_there_are():
    with pytest.raises(ConfigError, match=r"unknown preset 'huge'.*huge.yaml.*'quick'"):
        make_config("huge")


@pytest.mark.parametrize("doc, message", [
    ({"stage2": {"max_epoch": 3}}, r"bad.yaml: stage2: unknown field\(s\) \['max_epoch'\] of Stage2Config"),
    ({"stage2": {"max_epochs": "many"}}, r"bad.yaml: stage2.max_epochs: expected an integer, got 'many'"),
    ({"stage2": {"augment": {"noise": "loud"}}}, r"bad.yaml: stage2.augment.noise: expected a number"),
    ({"stage2": {"augment": [1, 2]}}, r"bad.yaml: stage2.augment: expected a mapping of AugmentConfig fields"),
    ({"stage3": {"grad_clip": "x"}}, r"bad.yaml: stage3.grad_clip: expected float or null"),
    ({"stage4": {}}, r"bad.yaml: unknown section\(s\) \['stage4'\]"),
])
def test_a_bad_preset_file_is_one_error_naming_file_and_field(preset_dir, doc, message):
    write(preset_dir, "bad", doc)
    section = next(iter(doc))
    with pytest.raises(ConfigError, match=message):
        presets.preset_section("bad", section if section != "stage4" else "stage2")


def test_yaml_numbers_without_a_dot_and_lists_become_the_field_types(preset_dir):
    (preset_dir / "mine.yaml").write_text("stage2: {lr: 1e-3}\nembridge: {fractions: [0.5, 1]}\n")
    assert preset_section("mine", "stage2").lr == pytest.approx(1e-3)
    assert preset_section("mine", "embridge").fractions == (0.5, 1.0)
    assert preset_section("mine", "stage2").preset == "mine"


def test_overrides_are_checked_like_the_files():
    s2 = preset_section("quick", "stage2")
    changed = presets.with_overrides(s2, ["max_epochs=3", "augment.noise=0.2", "grad_clip=null"])
    assert (changed.max_epochs, changed.augment.noise, changed.grad_clip) == (3, 0.2, None)
    assert changed.augment.time_shift == s2.augment.time_shift
    with pytest.raises(ConfigError, match=r"Stage2Config has no field 'epochs'"):
        presets.with_overrides(s2, ["epochs=3"])
    with pytest.raises(ConfigError, match=r"Stage2Config.max_epochs: expected an integer, got 'lots'"):
        presets.with_overrides(s2, ["max_epochs=lots"])


def test_a_new_preset_file_is_a_new_preset(preset_dir):
    write(preset_dir, "tiny", {"stage2": {"max_epochs": 2, "patience": 1}})
    assert "tiny" in presets.preset_names()
    assert preset_section("tiny", "stage2").max_epochs == 2


def test_command_line_values_read_like_the_files():
    data = make_config("quick").data
    assert presets.with_overrides(data, ["subject_calibration={repetitions: [1]}"]).subject_calibration == \
        {"repetitions": [1]}
    assert presets.with_overrides(data, ["subject_calibration=true"]).subject_calibration is True
    e = preset_section("quick", "embridge")
    assert presets.with_overrides(e, ["fractions=0.2,1"]).fractions == (0.2, 1.0)
    assert presets.with_overrides(e, ["fractions=[0.5]"]).fractions == (0.5,)
    s3 = preset_section("quick", "stage3")
    assert presets.with_overrides(s3, ["grad_clip=none"]).grad_clip is None
    with pytest.raises(ConfigError, match="'augment' is a section; set one of its fields"):
        presets.with_overrides(s3, ["augment=0.1"])


def test_overrides_in_the_environment_reach_every_read_of_a_section(monkeypatch):
    base = preset_section("quick", "stage2")
    monkeypatch.setenv("MYOSEM_SET", "stage2.max_epochs=7; stage2.augment.noise=0.2 ;deep.width=8")
    s2 = preset_section("quick", "stage2")
    assert (s2.max_epochs, s2.augment.noise, s2.patience) == (7, 0.2, base.patience)
    assert deep_config("quick").width == 8 and deep_config("quick").pretrain_epochs == 7
    assert preset_section("quick", "stage3") == preset_section("quick", "stage3")  # untouched sections as before
    monkeypatch.setenv("MYOSEM_SET", "stage9.x=1")
    with pytest.raises(ConfigError, match=r"\$MYOSEM_SET 'stage9.x=1': expected SECTION.FIELD=VALUE"):
        preset_section("quick", "stage2")
    monkeypatch.setenv("MYOSEM_SET", "stage2.max_epochs=soon")
    with pytest.raises(ConfigError, match=r"\$MYOSEM_SET 'max_epochs=soon'.*expected an integer"):
        preset_section("quick", "stage2")
