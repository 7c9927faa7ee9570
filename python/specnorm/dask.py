"""Dataset statistics on a Dask cluster (needs ``dask`` and ``distributed``).

The training clips are dealt into ``partitions`` shards (the assignment of
``specnorm stats --shard K/N``: clip ``i`` goes to shard ``i % N + 1``). Each task runs
the Rust dataset pass on one shard and returns its exact accumulator state
(:class:`specnorm.PartialStats`, pickled as the partial-file JSON, floats bit for bit);
partial results are merged in a tree with the exact Chan merge. Tasks are pure: a task
lost with a worker is simply recomputed by Dask, and the merge refuses a shard given
twice, so nothing is counted twice. The result equals :func:`specnorm.dataset_stats`
within rounding (~1e-15 relative).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Union

import distributed

from ._specnorm import LAYOUT_KEYWORDS, PartialStats, Stats, list_clips, num_threads, set_num_threads, shard_stats

__all__ = ["StatsJob", "dataset_stats", "submit_stats"]

FAN_IN = 8


def _shard(*args: Any, **kwargs: Any) -> PartialStats:
    """One task: the Rust pass over one shard, on as many threads as the worker has."""
    worker = distributed.get_worker()
    threads = getattr(worker, "nthreads", None) or worker.state.nthreads
    if num_threads() != threads:
        set_num_threads(threads)
    return shard_stats(*args, **kwargs)


def _merge(parts: List[PartialStats]) -> PartialStats:
    return PartialStats.merge(list(parts))


class StatsJob:
    """A submitted statistics graph: one future per shard and one for the merged result."""

    def __init__(self, shards: List["distributed.Future"], merged: "distributed.Future") -> None:
        self.shards = shards
        self.merged = merged

    def result(self, timeout: Optional[float] = None) -> Stats:
        """Waits for the merged partial result and finishes it into :class:`specnorm.Stats`."""
        return self.merged.result(timeout=timeout).finish()


def _default_partitions(client: "distributed.Client", data: Any, valid_fold: int, kwargs: Dict[str, Any]) -> int:
    threads = sum(client.nthreads().values()) or 1
    layout = {k: v for k, v in kwargs.items() if k in LAYOUT_KEYWORDS}
    n_train = sum(1 for c in list_clips(data, **layout) if c[1] != valid_fold)
    return max(1, min(4 * threads, n_train))


def submit_stats(
    data: Union[str, "os.PathLike[str]"],
    valid_fold: int = 1,
    axes: str = "channel",
    client: Optional["distributed.Client"] = None,
    partitions: Optional[int] = None,
    **feature_config: Any,
) -> StatsJob:
    """Submits the graph of :func:`dataset_stats` and returns at once (see ``StatsJob``)."""
    client = client if client is not None else distributed.get_client()
    data = os.fspath(data)
    n = partitions if partitions is not None else _default_partitions(client, data, valid_fold, feature_config)
    if n < 1:
        raise ValueError(f"partitions must be >= 1, got {n}")
    token = os.urandom(8).hex()
    shards = [
        client.submit(
            _shard, data, k, n, valid_fold, axes,
            key=f"specnorm-shard-{k}-of-{n}-{token}", pure=False, **feature_config,
        )
        for k in range(1, n + 1)
    ]
    level, depth = shards, 0
    while len(level) > 1:
        depth += 1
        level = [
            client.submit(_merge, level[i : i + FAN_IN], key=f"specnorm-merge-{depth}-{i}-{token}", pure=False)
            for i in range(0, len(level), FAN_IN)
        ]
    return StatsJob(shards, level[0])


def dataset_stats(
    data: Union[str, "os.PathLike[str]"],
    valid_fold: int = 1,
    axes: str = "channel",
    client: Optional["distributed.Client"] = None,
    partitions: Optional[int] = None,
    **feature_config: Any,
) -> Stats:
    """:func:`specnorm.dataset_stats` on a Dask cluster.

    Args:
        data: dataset folder, at the same path on every worker (ESC-50's layout unless the
            layout keywords of :func:`specnorm.list_clips` in ``**feature_config`` say otherwise).
        valid_fold: held out; statistics come from all other folds.
        axes: ``"channel"`` or ``"global"``.
        client: a ``distributed.Client``; default: the current one (``distributed.get_client()``).
        partitions: number of shards (tasks); default: 4 per worker thread, at most one per clip.
        **feature_config: keys of ``FeatureExtractor.config`` and the layout keywords
            (``specnorm.LAYOUT_KEYWORDS``: ``layout=``, ``metadata=``, ``n_folds=``, ...).
    """
    return submit_stats(data, valid_fold, axes, client, partitions, **feature_config).result()
