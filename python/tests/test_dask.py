"""specnorm.dask on a real LocalCluster (2 worker processes, 1 thread each)."""

import os
import signal
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="dask/distributed are not installed in this venv")

import specnorm  # noqa: E402
import specnorm.dask  # noqa: E402
from conftest import make_dataset  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """40 clips of 2 s: enough work per shard to kill a worker while the job runs."""
    return make_dataset(tmp_path_factory.mktemp("esc50big"), per_fold=8, seconds=2.0)


def close(a, b):
    # 1e-12 of the values' scale: a mean that happens to be near 0 dB (one bin of the CSV test
    # at -0.0013) differs by rounding that is 1e-12 of itself but 1e-16 of the data.
    scale = float(np.abs(b.mean).max())
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12, atol=0)
    assert a.count == b.count and a.shape == b.shape


@pytest.mark.parametrize("axes,partitions", [("channel", 5), ("global", None), ("channel", 12)])
def test_equals_dataset_stats(client, esc50, axes, partitions):
    ours = specnorm.dask.dataset_stats(esc50, valid_fold=2, axes=axes, client=client, partitions=partitions, seconds=1.0)
    ref = specnorm.dataset_stats(esc50, valid_fold=2, axes=axes, seconds=1.0)
    close(ours, ref)
    assert ours.provenance["folds"] == ref.provenance["folds"]
    assert ours.provenance["clips"] == 12


def test_killed_worker_mid_job_is_still_exact(client, big):
    ref = specnorm.dataset_stats(big, valid_fold=1, seconds=2.0)
    before = set(client.scheduler_info()["workers"])
    job = specnorm.dask.submit_stats(big, valid_fold=1, client=client, partitions=16, seconds=2.0)
    first = next(iter(distributed.as_completed(job.shards)))
    holder = next(iter(client.who_has(first)[first.key]))
    pid = client.run(os.getpid, workers=[holder])[holder]
    assert not job.merged.done(), "the job finished before a worker could be killed"
    os.kill(pid, signal.SIGKILL)  # the nanny restarts it; its results are recomputed
    stats = job.result(timeout=300)
    close(stats, ref)
    shards = stats.provenance["shards"]
    assert shards["merged"] == list(range(1, 17)) and shards["missing"] == []
    assert stats.provenance["clips"] == ref.provenance["clips"] == 32
    deadline = time.time() + 60
    while len(client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
        time.sleep(0.2)
    after = set(client.scheduler_info()["workers"])
    assert holder in before and holder not in after  # the worker really died




def test_any_layout_on_the_cluster(client, esc50):
    """The layout keywords travel with the graph (default partition count included)."""
    csv = dict(layout="csv", metadata="meta/esc50.csv", label_col="category", audio_dir="audio")
    ours = specnorm.dask.dataset_stats(esc50, valid_fold=3, client=client, seconds=1.0, **csv)
    ref = specnorm.dataset_stats(esc50, valid_fold=3, seconds=1.0, **csv)
    close(ours, ref)
    assert ours.provenance["layout"] == ref.provenance["layout"]
    assert ours.provenance["layout"]["layout"] == "csv"
