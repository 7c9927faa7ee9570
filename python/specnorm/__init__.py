"""specnorm: correctly normalized spectrograms for PyTorch, from a Rust core.

The front end (:class:`FeatureExtractor`), the exact statistics
(:class:`StatsAccumulator`, :class:`Stats`) and the
normalizers (:class:`Normalizer`) are the Rust crates of the specnorm workspace,
bound with PyO3; this package adds no computation of its own. Optional parts:

* ``specnorm.torch`` (needs torch): a ``Dataset`` of normalized ``[1, F, T]``
  tensors from an ESC-50-layout folder, for ``DataLoader`` workers.
"""

from ._specnorm import (
    AudioDecodeError,
    ConfigError,
    DatasetError,
    FeatureExtractor,
    LeakageError,
    NormalizationError,
    Normalizer,
    SpecnormError,
    Stats,
    StatsAccumulator,
    StatsError,
    __version__,
    list_clips,
    num_threads,
    set_num_threads,
)

__all__ = [
    "AudioDecodeError",
    "ConfigError",
    "DatasetError",
    "FeatureExtractor",
    "LeakageError",
    "NormalizationError",
    "Normalizer",
    "SpecnormError",
    "Stats",
    "StatsAccumulator",
    "StatsError",
    "__version__",
    "list_clips",
    "num_threads",
    "set_num_threads",
]
