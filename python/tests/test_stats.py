"""StatsAccumulator / Stats: exactness, merge laws, pickling, the stats.json format."""

import pickle

import numpy as np
import pytest

import specnorm

REL = 1e-12


def batches(seed, n=4, f=7, frames=(9, 3, 12, 5)):
    """Batches of different sizes and frame counts, dB-like values."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(-40, 12, (b, f, frames[i % len(frames)])) + rng.normal(0, 5, (1, f, 1))).astype(np.float32)
        for i, b in enumerate(rng.integers(1, 6, n))
    ]


def reference(bs, axes):
    """float64 two-pass mean/std over the reduced axes (per channel: over B and T)."""
    if axes == "global":
        flat = np.concatenate([b.astype(np.float64).ravel() for b in bs])
        return flat.mean(), flat.std()
    per_f = np.concatenate([b.astype(np.float64).transpose(1, 0, 2).reshape(b.shape[1], -1) for b in bs], axis=1)
    return per_f.mean(axis=1), per_f.std(axis=1)


def close(a, b, rel=REL):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    assert np.all(np.abs(a - b) <= rel * np.maximum(np.abs(b), 1.0)), np.abs(a - b).max()


def fill(bs, axes):
    acc = specnorm.StatsAccumulator(axes)
    for b in bs:
        acc.update(b)
    return acc


@pytest.mark.parametrize("axes", ["global", "channel"])
@pytest.mark.parametrize("seed", range(5))
def test_matches_float64_reference_and_keep_dims(axes, seed):
    bs = batches(seed)
    s = fill(bs, axes).finalize()
    mean, std = reference(bs, axes)
    assert s.shape == ((1, 1, 1, 1) if axes == "global" else (1, 1, 7, 1))
    assert s.mean.shape == s.shape and s.std.dtype == np.float64
    close(s.mean, mean)
    close(s.std, std)
    n = sum(b.size for b in bs) // (1 if axes == "global" else 7)
    assert s.count == n


@pytest.mark.parametrize("seed", range(5))
def test_merge_laws(seed):
    bs = batches(seed, n=6)
    a, b, c = fill(bs[:2], "channel"), fill(bs[2:3], "channel"), fill(bs[3:], "channel")
    whole = fill(bs, "channel").finalize()

    def merged(*accs):
        out = specnorm.StatsAccumulator("channel")
        for x in accs:
            out.merge(x)
        return out.finalize()

    ab_c = merged(merged_acc(a, b), c)
    a_bc = merged(a, merged_acc(b, c))
    cba = merged(c, b, a)
    for s in (ab_c, a_bc, cba):  # associativity, commutativity, = single pass
        close(s.mean, whole.mean)
        close(s.std, whole.std)
        assert s.count == whole.count
    # the empty accumulator is the identity, bit for bit
    e = specnorm.StatsAccumulator("channel")
    e.merge(a)
    assert e == a
    a2 = pickle.loads(pickle.dumps(a))
    a2.merge(specnorm.StatsAccumulator("channel"))
    assert a2 == a
    # batch order does not matter either
    rev = fill(bs[::-1], "channel").finalize()
    close(rev.mean, whole.mean)
    close(rev.std, whole.std)


def merged_acc(x, y):
    out = pickle.loads(pickle.dumps(x))
    out.merge(y)
    return out


def test_merge_refuses_different_axes_and_shapes():
    g, c = fill(batches(0), "global"), fill(batches(0), "channel")
    with pytest.raises(specnorm.StatsError, match="axes"):
        g.merge(c)
    other = fill(batches(1, f=5), "channel")
    with pytest.raises(specnorm.StatsError, match="shape"):
        c.merge(other)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip_is_exact(protocol):
    acc = fill(batches(3), "channel")
    back = pickle.loads(pickle.dumps(acc, protocol=protocol))
    assert back == acc and back.axes == (0, 1, 3) and back.count == acc.count
    s1, s2 = acc.finalize(), back.finalize()
    assert s1 == s2
    np.testing.assert_array_equal(s1.mean, s2.mean)
    np.testing.assert_array_equal(s1.std, s2.std)
    # continuing after the round trip equals never having pickled
    extra = batches(9)[0]
    acc.update(extra)
    back.update(extra)
    assert back == acc
    st = pickle.loads(pickle.dumps(s1))
    assert st == s1


def test_explicit_axes_and_layouts():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4, 5, 6))
    acc = specnorm.StatsAccumulator([0, 3])
    acc.update(x)
    s = acc.finalize()
    assert s.shape == (1, 4, 5, 1)
    close(s.mean, x.mean(axis=(0, 3), keepdims=True))
    close(s.std, x.std(axis=(0, 3), keepdims=True))
    # a non-contiguous (transposed) float64 view gives the same result
    t = specnorm.StatsAccumulator([0, 3])
    t.update(np.ascontiguousarray(x.transpose(3, 1, 2, 0)).transpose(3, 1, 2, 0))
    close(t.finalize().mean, s.mean)
    # [B, F, T] and [B, 1, F, T] are the same for the presets
    b3, b4 = specnorm.StatsAccumulator("channel"), specnorm.StatsAccumulator("channel")
    b3.update(x[:, 0])
    b4.update(x[:, :1])
    assert b3 == b4
    with pytest.raises(specnorm.StatsError, match="more than once"):
        specnorm.StatsAccumulator([0, 0])
    with pytest.raises(specnorm.ConfigError):
        specnorm.StatsAccumulator("per_bin")


def test_json_round_trip_and_npy(tmp_path):
    s = fill(batches(4), "channel").finalize()
    s.to_json(tmp_path / "stats.json")
    back = specnorm.Stats.from_json(tmp_path / "stats.json")
    assert back == s
    np.testing.assert_array_equal(back.std, s.std)
    s.save_npy(tmp_path / "m.npy", tmp_path / "s.npy")
    m = np.load(tmp_path / "m.npy")
    assert m.shape == (1, 1, 7, 1) and m.dtype == np.float32
    np.testing.assert_array_equal(m, s.mean.astype(np.float32))
    assert s.provenance["folds"] == [] and s.provenance["sample_fraction"] == 1.0
