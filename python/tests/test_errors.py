"""Bad inputs raise Python exceptions that name the file and the reason."""

import numpy as np
import pytest

import specnorm
from conftest import clip, write_wav


def test_missing_file_is_file_not_found(tmp_path):
    fx = specnorm.FeatureExtractor(seconds=1.0)
    missing = tmp_path / "nope" / "clip.wav"
    with pytest.raises(FileNotFoundError) as e:
        fx.extract([missing])
    assert str(missing) in str(e.value)
    assert e.value.filename == str(missing)
    with pytest.raises(FileNotFoundError, match="clip.wav"):
        fx.extract_file(missing)


def test_junk_and_truncated_files_name_the_path(tmp_path):
    fx = specnorm.FeatureExtractor(seconds=1.0)
    good = tmp_path / "good.wav"
    write_wav(good, clip(1, 16_000), 16_000)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all, just text" * 10)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    for bad in (junk, empty, truncated):
        with pytest.raises(specnorm.AudioDecodeError) as e:
            fx.extract([good, bad, good])
        assert str(bad) in str(e.value), str(e.value)
        assert isinstance(e.value, specnorm.SpecnormError)
    # The good file alone still works.
    assert fx.extract([good]).shape == (1, 201, 81)


def test_stats_errors():
    acc = specnorm.StatsAccumulator("channel")
    with pytest.raises(specnorm.StatsError, match="empty"):
        acc.finalize()
    bad = np.zeros((2, 4, 5), np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(specnorm.StatsError, match="non-finite"):
        acc.update(bad)
    assert acc.count == 0  # unchanged on error
    with pytest.raises(TypeError, match="float32 or float64"):
        acc.update(np.zeros((2, 4, 5), np.int32))
    acc.update(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(specnorm.StatsError, match="shape"):
        acc.update(np.zeros((2, 3, 5), np.float32))


def test_missing_dataset_and_stats_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="esc50.csv"):
        specnorm.list_clips(tmp_path)
    with pytest.raises(FileNotFoundError, match="stats.json"):
        specnorm.Stats.from_json(tmp_path / "stats.json")
    (tmp_path / "stats.json").write_text("{not json")
    with pytest.raises(specnorm.StatsError, match="stats.json"):
        specnorm.Stats.from_json(tmp_path / "stats.json")
