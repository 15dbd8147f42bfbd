"""Presets as files: myosem_core/presets/<name>.yaml gives typed configs, bad files give one clear error."""

from __future__ import annotations

import pytest
import yaml

from myosem_core import presets
from myosem_core.baselines.deep import DeepConfig
from myosem_core.baselines.forest import RandomForestRetriever
from myosem_core.config import make_config, report_seeds
from myosem_core.errors import ConfigError
from myosem_core.evaluation.aemg_config import AEMGEvalConfig
from myosem_core.text.stage1 import Stage1Config
from myosem_core.training import Stage2Config, Stage3Config
from myosem_core.training.aemg import AEMGConfig
from myosem_core.training.augment import AugmentConfig
from myosem_core.training.embridge import EMBridgeConfig


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
        for section, cls in presets.section_types().items():
            if section in doc:
                assert isinstance(presets.preset_section(name, section), cls)


def quick_or_full(name: str) -> dict:
    return yaml.safe_load((presets.PRESET_DIR / f"{name}.yaml").read_text())


def test_each_config_class_reads_its_section():
    quick = yaml.safe_load((presets.PRESET_DIR / "quick.yaml").read_text())
    s2 = Stage2Config.preset_named("quick")
    assert (s2.preset, s2.max_epochs, s2.patience) == ("quick", quick["stage2"]["max_epochs"], quick["stage2"]["patience"])
    assert s2.augment == AugmentConfig(**quick["stage2"]["augment"])
    assert Stage3Config.preset_named("quick").augment == s2.augment  # the YAML anchor shares it
    assert Stage1Config.preset("quick").query_synonyms == quick["stage1"]["query_synonyms"]
    assert DeepConfig.preset_named("quick").width == quick["deep"]["width"]
    assert DeepConfig.preset_named("full").width != DeepConfig.preset_named("quick").width
    assert RandomForestRetriever(preset="full").n_estimators == quick_or_full("full")["forest"]["n_estimators"]
    assert EMBridgeConfig.preset_named("quick").fractions == tuple(quick["embridge"]["fractions"])
    assert AEMGEvalConfig.preset_named("full").max_targets is None  # YAML null
    assert isinstance(AEMGConfig.preset_named("quick"), AEMGConfig)
    assert report_seeds("full") == tuple(quick_or_full("full")["report"]["seeds"]) and len(report_seeds("full")) == 3
    assert make_config("full").data.window.hop_s == 0.25 and make_config("quick").data.window.hop_s == 0.5


def test_a_preset_without_a_section_says_which_presets_have_it():
    assert EMBridgeConfig.preset_named("paper").emg.d_model == 256
    with pytest.raises(ConfigError, match=r"preset 'paper' .*paper.yaml.* has no 'stage2' section.*'full'"):
        Stage2Config.preset_named("paper")


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
    assert Stage2Config.preset_named("mine").lr == pytest.approx(1e-3)
    assert EMBridgeConfig.preset_named("mine").fractions == (0.5, 1.0)
    assert Stage2Config.preset_named("mine").preset == "mine"


def test_overrides_are_checked_like_the_files():
    s2 = Stage2Config.preset_named("quick")
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
    assert Stage2Config.preset_named("tiny").max_epochs == 2


def test_command_line_values_read_like_the_files():
    data = make_config("quick").data
    assert presets.with_overrides(data, ["subject_calibration={repetitions: [1]}"]).subject_calibration == \
        {"repetitions": [1]}
    assert presets.with_overrides(data, ["subject_calibration=true"]).subject_calibration is True
    e = EMBridgeConfig.preset_named("quick")
    assert presets.with_overrides(e, ["fractions=0.2,1"]).fractions == (0.2, 1.0)
    assert presets.with_overrides(e, ["fractions=[0.5]"]).fractions == (0.5,)
    s3 = Stage3Config.preset_named("quick")
    assert presets.with_overrides(s3, ["grad_clip=none"]).grad_clip is None
    with pytest.raises(ConfigError, match="'augment' is a section; set one of its fields"):
        presets.with_overrides(s3, ["augment=0.1"])


def test_one_run_key_names_every_run_folder(tmp_path):
    from myosem_core.config import run_directory, run_key
    from myosem_core.io import read_json

    cfg = make_config("quick")
    plain, staged = run_directory(tmp_path, cfg, name="x"), run_directory(tmp_path, cfg, name="x", stage="s2", k=1)
    assert plain != staged and staged.name == f"x-quick-{run_key(cfg, stage='s2', k=1)}"
    assert read_json(staged / "config.json")["key"] == {"stage": "s2", "k": 1}
    assert "key" not in read_json(plain / "config.json") and plain.name.endswith(cfg.hash())
    calibrated = presets.with_overrides(cfg.data, ["subject_calibration=true"])
    from dataclasses import replace
    assert run_key(replace(cfg, data=calibrated), stage="s2", k=1) != run_key(cfg, stage="s2", k=1)


def test_overrides_in_the_environment_reach_every_read_of_a_section(monkeypatch):
    base = Stage2Config.preset_named("quick")
    monkeypatch.setenv("MYOSEM_SET", "stage2.max_epochs=7; stage2.augment.noise=0.2 ;deep.width=8")
    s2 = Stage2Config.preset_named("quick")
    assert (s2.max_epochs, s2.augment.noise, s2.patience) == (7, 0.2, base.patience)
    assert DeepConfig.preset_named("quick").width == 8 and DeepConfig.preset_named("quick").pretrain_epochs == 7
    assert Stage3Config.preset_named("quick") == Stage3Config.preset_named("quick")  # untouched sections as before
    monkeypatch.setenv("MYOSEM_SET", "stage9.x=1")
    with pytest.raises(ConfigError, match=r"\$MYOSEM_SET 'stage9.x=1': expected SECTION.FIELD=VALUE"):
        Stage2Config.preset_named("quick")
    monkeypatch.setenv("MYOSEM_SET", "stage2.max_epochs=soon")
    with pytest.raises(ConfigError, match=r"\$MYOSEM_SET 'max_epochs=soon'.*expected an integer"):
        Stage2Config.preset_named("quick")
