"""specnorm.torch.Dataset in a DataLoader with 2 worker processes."""

import numpy as np
import pytest

# `.venv` has libtorch without its CUDA libraries (for tch), so `import torch` there fails with
# an ImportError, not ModuleNotFoundError: skip on either; `.venv-bench` runs these tests.
torch = pytest.importorskip(
    "torch", reason="torch is not importable in this environment", exc_type=ImportError
)

import specnorm  # noqa: E402
import specnorm.torch  # noqa: E402


def test_dataset_in_two_worker_dataloader(esc50):
    fx = specnorm.FeatureExtractor(seconds=1.0)
    train = [2, 3, 4, 5]
    acc = specnorm.StatsAccumulator("channel")
    clips = specnorm.list_clips(esc50, train)
    acc.update(fx.extract([c[0] for c in clips]))
    norm = specnorm.Normalizer.from_stats(acc.finalize())
    # the parent uses the thread pool before forking: workers must not inherit a dead pool
    ds = specnorm.torch.Dataset(esc50, folds=train, normalizer=norm, extractor=fx)
    assert len(ds) == 12 and ds.targets == [c[2] for c in clips]
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    xs, ys = zip(*loader)
    x, y = torch.cat(xs), torch.cat(ys)
    assert x.shape == (12, 1, 201, 81) and x.dtype == torch.float32
    assert y.tolist() == ds.targets
    expected = norm(fx.extract([c[0] for c in clips])[:, None])
    np.testing.assert_array_equal(x.numpy(), expected)
    # per-channel normalized training data: each bin has mean 0, std 1
    flat = x.numpy().transpose(2, 0, 1, 3).reshape(201, -1)
    assert np.abs(flat.mean(axis=1)).max() < 1e-4
    assert np.abs(flat.std(axis=1) - 1).max() < 1e-3


def test_workers_can_call_extract_after_parent_used_the_pool(esc50):
    """fork() after the parent's rayon pool started: each worker builds its own pool."""
    fx = specnorm.FeatureExtractor(seconds=1.0)
    paths = [c[0] for c in specnorm.list_clips(esc50)]
    parent = fx.extract(paths)

    class Batches(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.from_numpy(fx.extract(paths[i * 5 : i * 5 + 5]))

    loader = torch.utils.data.DataLoader(Batches(), batch_size=None, num_workers=2, timeout=120)
    out = torch.cat(list(loader)).numpy()
    np.testing.assert_array_equal(out, parent)


def test_dataset_with_spawned_workers(esc50):
    """spawn pickles the dataset: extractor config and normalizer travel, clips are re-read."""
    fx = specnorm.FeatureExtractor(seconds=1.0)
    acc = specnorm.StatsAccumulator("channel")
    acc.update(fx.extract([c[0] for c in specnorm.list_clips(esc50, [2, 3])]))
    norm = specnorm.Normalizer.from_stats(acc.finalize())
    ds = specnorm.torch.Dataset(esc50, folds=[1], normalizer=norm, seconds=1.0)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=3, num_workers=2, multiprocessing_context="spawn", timeout=300
    )
    (x, y), = list(loader)
    assert x.shape == (3, 1, 201, 81)
    want = norm(ds.extractor.extract([c[0] for c in ds.clips])[:, None])
    np.testing.assert_array_equal(x.numpy(), want)


def test_dataset_takes_a_layout(tmp_path):
    from conftest import clip, write_wav

    root = tmp_path / "words"
    for k, name in enumerate(["no", "yes"]):
        (root / name).mkdir(parents=True)
        for i in range(2):
            write_wav(root / name / f"{name}{i}.wav", clip(10 * k + i, 16_000, 0.5), 16_000)
    ds = specnorm.torch.Dataset(root, layout="folders", n_folds=2, fold_seed=1, seconds=0.5)
    assert len(ds) == 4 and sorted(ds.targets) == [0, 0, 1, 1]
    assert (root / "specnorm-folds-k2-seed1.csv").is_file()
    x, y = ds[0]
    assert x.shape == (1, 201, 41) and y == ds.targets[0]
    with pytest.raises(specnorm.ConfigError, match="esc10 applies to"):
        specnorm.torch.Dataset(root, layout="folders", esc10=True)


def test_pad_collate_pads_clips_of_their_own_lengths(tmp_path):
    from conftest import clip, write_wav

    root = tmp_path / "words"
    lengths = {"no": [0.3, 0.7], "yes": [0.5, 0.9]}
    for name, secs in lengths.items():
        (root / name).mkdir(parents=True)
        for i, s in enumerate(secs):
            write_wav(root / name / f"{name}{i}.wav", clip(7 * i + len(name), 16_000, s), 16_000)
    norm = specnorm.Normalizer.per_instance()
    ds = specnorm.torch.Dataset(
        root, layout="folders", n_folds=2, fold_seed=0, seconds=None, normalizer=norm
    )
    loader = torch.utils.data.DataLoader(
        ds, batch_size=4, shuffle=False, collate_fn=specnorm.torch.pad_collate
    )
    ((x, y, frames),) = list(loader)
    own = [ds[i][0] for i in range(4)]
    assert frames.tolist() == [t.shape[-1] for t in own]
    assert sorted(frames.tolist()) == [25, 41, 57, 73]  # 1 + 16000 s / 200
    assert x.shape == (4, 1, 201, 73) and y.tolist() == ds.targets
    for i, t in enumerate(own):
        n = t.shape[-1]
        assert torch.equal(x[i, ..., :n], t)
        assert torch.count_nonzero(x[i, ..., n:]) == 0
        # per-instance normalization saw the clip's own frames only
        assert abs(float(x[i, ..., :n].mean())) < 1e-4
    with pytest.raises(ValueError, match="empty batch"):
        specnorm.torch.pad_collate([])
