"""specnorm: correctly normalized spectrograms for PyTorch, from a Rust core.

The front end (:class:`FeatureExtractor`), the exact statistics
(:class:`StatsAccumulator`, :class:`Stats`, :func:`dataset_stats`) and the
normalizers (:class:`Normalizer`) are the Rust crates of the specnorm workspace,
bound with PyO3; this package adds no computation of its own. Optional parts:

* ``specnorm.torch`` (needs torch): a ``Dataset`` of normalized ``[1, F, T]``
  tensors from a dataset folder (any layout of :func:`list_clips`), for ``DataLoader`` workers.
* ``specnorm.dask`` (needs dask + distributed): :func:`dataset_stats` as a Dask
  graph, exact on any number of workers.
"""

from ._specnorm import (
    AudioDecodeError,
    ConfigError,
    DatasetError,
    FeatureExtractor,
    LAYOUT_KEYWORDS,
    LeakageError,
    NormalizationError,
    Normalizer,
    PartialStats,
    SpecnormError,
    Stats,
    StatsAccumulator,
    StatsError,
    __version__,
    dataset_stats,
    list_clips,
    num_threads,
    set_num_threads,
    shard_stats,
)

__all__ = [
    "AudioDecodeError",
    "ConfigError",
    "DatasetError",
    "FeatureExtractor",
    "LAYOUT_KEYWORDS",
    "LeakageError",
    "NormalizationError",
    "Normalizer",
    "PartialStats",
    "SpecnormError",
    "Stats",
    "StatsAccumulator",
    "StatsError",
    "__version__",
    "dataset_stats",
    "list_clips",
    "num_threads",
    "set_num_threads",
    "shard_stats",
]
