"""Normalizer: encode against numpy, decode inverts, leakage guard, PCEN."""

import numpy as np
import pytest

import specnorm
from test_stats import batches, fill


def channel_stats():
    return fill(batches(2, f=6), "channel").finalize()


def test_per_channel_encode_decode():
    s = channel_stats()
    norm = specnorm.Normalizer.from_stats(s)
    assert norm.name == "per_channel"
    x = batches(7, f=6)[0][:, None]  # [B, 1, F, T]
    y = norm(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    ref = (x.astype(np.float64) - s.mean.astype(np.float32)) / s.std.astype(np.float32)
    np.testing.assert_allclose(y, ref, rtol=0, atol=2e-6)
    np.testing.assert_allclose(norm.decode(y), x, rtol=0, atol=1e-4)
    assert not np.shares_memory(x, y)  # the input is untouched


def test_global_stats_give_scalar_normalizer():
    s = fill(batches(2, f=6), "global").finalize()
    norm = specnorm.Normalizer.from_stats(s)
    assert norm.name == "global"
    x = batches(8, f=6)[0]
    y = norm(x)
    np.testing.assert_allclose(y, (x - s.mean.item()) / s.std.item(), atol=2e-5)
    all_train = np.concatenate([b.ravel() for b in batches(2, f=6)])
    z = norm(all_train.reshape(1, 1, -1))
    assert abs(z.mean()) < 1e-4 and abs(z.std() - 1) < 1e-4


def test_per_instance_needs_its_info_to_decode():
    x = batches(3, f=6)[0]
    norm = specnorm.Normalizer.per_instance()
    y, info = norm(x, return_info=True)
    for i in range(x.shape[0]):
        assert abs(y[i].mean()) < 1e-5 and abs(y[i].std() - 1) < 1e-3
    assert info["mean"].shape == (x.shape[0],)
    np.testing.assert_allclose(norm.decode(y, info), x, atol=1e-4)
    with pytest.raises(specnorm.NormalizationError, match="not invertible"):
        norm.decode(y)


def test_pcen_runs_on_power_and_is_not_invertible():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 10, (2, 1, 5, 30)).astype(np.float32)
    norm = specnorm.Normalizer.pcen(sample_rate=16_000, hop_length=200)
    y = norm(p)
    assert y.shape == p.shape and np.isfinite(y).all()
    with pytest.raises(specnorm.NormalizationError, match="not invertible"):
        norm.decode(y)
    with pytest.raises(specnorm.NormalizationError):
        specnorm.Normalizer.pcen(gain=-1.0)


def test_leakage_guard():
    s = channel_stats()  # no folds in provenance: leakage cannot be ruled out
    with pytest.raises(specnorm.LeakageError, match="no folds"):
        specnorm.Normalizer.for_validation_fold(s, 1)
    assert issubclass(specnorm.LeakageError, specnorm.NormalizationError)


def test_shape_mismatch_raises():
    norm = specnorm.Normalizer.from_stats(channel_stats())
    with pytest.raises(specnorm.NormalizationError, match="frequency bins"):
        norm(np.zeros((2, 1, 5, 4), np.float32))


def every_kind():
    return [
        specnorm.Normalizer.none(),
        specnorm.Normalizer.from_stats(fill(batches(2, f=6), "global").finalize()),
        specnorm.Normalizer.from_stats(channel_stats()),
        specnorm.Normalizer.per_instance(eps=1e-3),
        specnorm.Normalizer.pcen(sample_rate=8000, hop_length=80, gain=0.9),
    ]


def test_pickle_and_json_round_trip_every_kind_exactly():
    import pickle

    x = np.abs(batches(4, f=6)[0]) + 1e-3  # positive: valid PCEN input too
    for norm in every_kind():
        for back in (pickle.loads(pickle.dumps(norm)), specnorm.Normalizer.from_json(norm.to_json())):
            assert back == norm and back.name == norm.name
            np.testing.assert_array_equal(back(x), norm(x))
    assert specnorm.Normalizer.none() != specnorm.Normalizer.per_instance()


def test_from_json_refuses_invalid_specs():
    for bad in ['{"kind":"global","mean":0.0,"std":0.0}', '{"kind":"nope"}', "not json"]:
        with pytest.raises(specnorm.NormalizationError):
            specnorm.Normalizer.from_json(bad)
