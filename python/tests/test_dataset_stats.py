"""dataset_stats equals `specnorm stats` (the CLI's stats.json) on the same inputs."""

import pickle
import subprocess

import numpy as np
import pytest

import specnorm
from conftest import specnorm_bin


def cli_stats(data, out, *args):
    exe = specnorm_bin()
    if exe is None:
        pytest.skip("the specnorm CLI is not built (cargo build -p specnorm, or set SPECNORM_BIN)")
    subprocess.run([exe, "stats", "--data", str(data), "--out", str(out), *args], check=True, capture_output=True)
    return specnorm.Stats.from_json(out)


def test_cli_config_print_has_the_keys_of_python(tmp_path):
    """`specnorm config --print` writes the same flat keys, with the same values, as FeatureExtractor.config."""
    tomllib = pytest.importorskip("tomllib")
    exe = specnorm_bin()
    if exe is None:
        pytest.skip("the specnorm CLI is not built (cargo build -p specnorm, or set SPECNORM_BIN)")
    conf = tmp_path / "specnorm.toml"
    conf.write_text("[features]\nsample_rate = 8000\nn_mels = 40\nf_min = 20.0\n")
    out = subprocess.run([exe, "config", "--print", "--config", str(conf), "--seconds", "1", "--top-db", "80"], check=True, capture_output=True, text=True).stdout
    printed = tomllib.loads(out)["features"]
    cfg = specnorm.FeatureExtractor(sample_rate=8000, n_mels=40, f_min=20.0, seconds=1.0, top_db=80.0).config
    assert printed == {k: v for k, v in cfg.items() if v is not None}
    assert specnorm.FeatureExtractor(**printed).config == cfg


@pytest.mark.parametrize(
    "axes,valid_fold,cli_args,kwargs",
    [
        ("channel", 1, ["--seconds", "1"], dict(seconds=1.0)),
        ("global", 3, ["--seconds", "1", "--mel", "40", "--n-fft", "512", "--hop", "160"], dict(seconds=1.0, n_mels=40, n_fft=512, hop=160)),
    ],
)
def test_dataset_stats_equals_cli(esc50, tmp_path, axes, valid_fold, cli_args, kwargs):
    ours = specnorm.dataset_stats(esc50, valid_fold=valid_fold, axes=axes, **kwargs)
    theirs = cli_stats(esc50, tmp_path / "stats.json", "--axes", axes, "--valid-fold", str(valid_fold), *cli_args)
    np.testing.assert_array_equal(ours.mean, theirs.mean)
    np.testing.assert_array_equal(ours.std, theirs.std)
    assert ours.count == theirs.count and ours.shape == theirs.shape
    assert ours.provenance == theirs.provenance
    assert ours == theirs
    assert ours.provenance["folds"] == [f for f in range(1, 6) if f != valid_fold]
    assert ours.provenance["clips"] == 12
    # the stats file carries its feature configuration
    fx = specnorm.FeatureExtractor.from_json(tmp_path / "stats.json")
    assert fx.config == specnorm.FeatureExtractor(**kwargs).config


def test_dataset_stats_equal_accumulating_extract(esc50):
    """The dataset pass equals extract() + StatsAccumulator over the training clips."""
    s = specnorm.dataset_stats(esc50, valid_fold=2, seconds=1.0)
    fx = specnorm.FeatureExtractor(seconds=1.0)
    acc = specnorm.StatsAccumulator("channel")
    acc.update(fx.extract([c[0] for c in specnorm.list_clips(esc50, [1, 3, 4, 5])]))
    ref = acc.finalize()
    np.testing.assert_allclose(s.mean, ref.mean, rtol=1e-12)
    np.testing.assert_allclose(s.std, ref.std, rtol=1e-12)
    assert s.count == ref.count


def test_leakage_guard_uses_provenance(esc50):
    s = specnorm.dataset_stats(esc50, valid_fold=1, seconds=1.0)
    specnorm.Normalizer.for_validation_fold(s, 1)  # computed without fold 1: fine
    with pytest.raises(specnorm.LeakageError, match="validation fold 2"):
        specnorm.Normalizer.for_validation_fold(s, 2)


def test_shards_merge_to_the_single_pass(esc50, tmp_path):
    whole = specnorm.dataset_stats(esc50, valid_fold=1, seconds=1.0)
    parts = [specnorm.shard_stats(esc50, k, 4, valid_fold=1, seconds=1.0) for k in (1, 2, 3, 4)]
    assert sum(p.clips for p in parts) == 12
    merged = specnorm.PartialStats.merge(parts[::-1])
    assert merged == specnorm.PartialStats.merge(parts)  # order-independent, bit for bit
    s = merged.finish()
    np.testing.assert_allclose(s.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(s.std, whole.std, rtol=1e-12)
    back = pickle.loads(pickle.dumps(parts[0]))
    assert back == parts[0]
    parts[1].save(tmp_path / "p2.json")
    assert specnorm.PartialStats.load(tmp_path / "p2.json") == parts[1]
    with pytest.raises(specnorm.StatsError, match="twice"):
        specnorm.PartialStats.merge([parts[0], back])
    with pytest.raises(specnorm.SpecnormError, match="missing"):
        specnorm.PartialStats.merge(parts[:3]).finish()


def test_bad_clip_names_the_file(esc50, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(esc50, bad)
    victim = sorted((bad / "audio").glob("2-*.wav"))[0]
    victim.write_bytes(b"RIFF garbage")
    with pytest.raises(specnorm.AudioDecodeError, match=victim.name):
        specnorm.dataset_stats(bad, valid_fold=1, seconds=1.0)
    s = specnorm.dataset_stats(bad, valid_fold=1, seconds=1.0, skip_bad=True)
    assert s.provenance["clips"] == 11


def as_class_folders(esc50, root):
    """The clips of the ESC-50 fixture as a folder-per-class tree (`root/<category>/<file>`)."""
    import shutil

    for path, _, _, category in specnorm.list_clips(esc50):
        (root / category).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / category)
    return root


def test_any_layout_equals_cli_and_is_recorded(esc50, tmp_path):
    """dataset_stats reads the layouts of list_clips (keywords beside the feature keys), equals
    `specnorm stats --layout ...`, and the stats record the layout in their provenance."""
    tree = as_class_folders(esc50, tmp_path / "tree")
    kw = dict(layout="folders", n_folds=3, fold_seed=7)
    ours = specnorm.dataset_stats(tree, valid_fold=2, seconds=1.0, **kw)
    theirs = cli_stats(tree, tmp_path / "tree.json", "--layout", "folders", "--folds", "3", "--fold-seed", "7", "--valid-fold", "2", "--seconds", "1")
    assert ours == theirs
    assert ours.provenance["layout"] == {"layout": "folders", "folds": 3, "seed": 7, "fold_file": None}
    train = [c for c in specnorm.list_clips(tree, **kw) if c[1] != 2]
    assert ours.provenance["clips"] == len(train) and 0 < len(train) < 15
    # The ESC-50 metadata read as a plain CSV: the same clips, the same statistics, another layout.
    csv = dict(layout="csv", metadata="meta/esc50.csv", label_col="category", audio_dir="audio")
    as_csv = specnorm.dataset_stats(esc50, valid_fold=1, seconds=1.0, **csv)
    as_esc50 = specnorm.dataset_stats(esc50, valid_fold=1, seconds=1.0)
    np.testing.assert_array_equal(as_csv.mean, as_esc50.mean)
    np.testing.assert_array_equal(as_csv.std, as_esc50.std)
    assert as_esc50.provenance["layout"] == {"layout": "esc50", "esc10": False}
    assert as_csv.provenance["layout"]["layout"] == "csv"
    parts = [specnorm.shard_stats(esc50, k, 2, valid_fold=1, seconds=1.0, **csv) for k in (1, 2)]
    merged = specnorm.PartialStats.merge(parts).finish()
    np.testing.assert_allclose(merged.mean, as_csv.mean, rtol=1e-12)
    assert merged.provenance["layout"] == as_csv.provenance["layout"]
    assert set(specnorm.LAYOUT_KEYWORDS) >= set(kw) | set(csv) | {"allow_outside_root"}


def test_layout_keywords_are_checked(esc50):
    with pytest.raises(specnorm.ConfigError, match=r'n_folds applies to layout="folders", not layout="esc50"'):
        specnorm.dataset_stats(esc50, seconds=1.0, n_folds=3)
    with pytest.raises(specnorm.ConfigError, match=r"n_folds= has the wrong type"):
        specnorm.dataset_stats(esc50, seconds=1.0, layout="folders", n_folds="three")
    with pytest.raises(TypeError, match="n_fold"):
        specnorm.dataset_stats(esc50, seconds=1.0, n_fold=3)
