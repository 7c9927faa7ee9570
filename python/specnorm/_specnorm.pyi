"""Type stubs of the Rust extension ``specnorm._specnorm`` (re-exported by ``specnorm``)."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, "os.PathLike[str]"]
Axes = Union[Literal["global", "channel"], Sequence[int]]

class SpecnormError(Exception):
    """Base class of every error specnorm raises (except ``FileNotFoundError``)."""

class AudioDecodeError(SpecnormError):
    """An audio file could not be read, decoded or resampled; the message names the file."""

class ConfigError(SpecnormError):
    """An invalid feature configuration or argument value."""

class StatsError(SpecnormError):
    """Statistics that cannot be computed, merged or read."""

class NormalizationError(SpecnormError):
    """A normalizer that cannot be built or applied to this batch."""

class LeakageError(NormalizationError):
    """Statistics whose provenance includes the validation fold (or records no folds)."""

class DatasetError(SpecnormError):
    """Dataset metadata (ESC-50 layout CSV) that cannot be used."""

class FeatureExtractor:
    """The specnorm front end: decode, mono, resample, waveform norm, pad/trim, STFT, mel, dB.

    Keywords (defaults in brackets; the keys of ``specnorm.toml``'s ``[features]`` table and of
    the CLI's flags, one definition in Rust): ``sample_rate`` [16000], ``seconds`` [5.0; None
    or 0 keeps each clip's length], ``waveform_norm`` [True], ``n_fft`` [400], ``win_length`` [n_fft],
    ``hop`` [200], ``window`` ["hann" | "hamming" | "rectangular"], ``center`` [True],
    ``pad_mode`` ["reflect" | "constant"], ``power`` [2.0], ``n_mels`` [None or 0 = linear
    STFT bins], ``f_min`` [0.0], ``f_max`` [None = Nyquist], ``mel_scale`` ["htk" | "slaney"],
    ``mel_norm`` ["none" | "slaney"], ``scale`` ["db" | "power" | "ln" (or "log")], ``top_db`` [None],
    ``ln_eps`` [1e-6].
    """

    def __init__(self, **config: Any) -> None: ...
    @staticmethod
    def from_json(path: PathLike) -> "FeatureExtractor":
        """From a feature-configuration JSON file or a specnorm stats file."""
    def to_json(self, path: Optional[PathLike] = None) -> Optional[str]:
        """The configuration as specnorm JSON; written to ``path`` when given."""
    @property
    def config(self) -> Dict[str, Any]:
        """Keyword arguments that rebuild this extractor."""
    @property
    def n_bins(self) -> int:
        """Frequency (or mel) bins per frame."""
    @property
    def n_frames(self) -> Optional[int]:
        """Frames per clip; ``None`` when ``seconds=None``."""
    def extract(self, paths: Sequence[PathLike]) -> npt.NDArray[np.float32]:
        """``[B, F, T]`` float32 features of many files, on all cores, GIL released."""
    def extract_file(self, path: PathLike) -> npt.NDArray[np.float32]:
        """``[F, T]`` float32 features of one file."""
    def extract_waveform(self, x: npt.ArrayLike, sample_rate: int) -> npt.NDArray[np.float32]:
        """``[F, T]`` features of a ``[N]`` or ``[channels, N]`` waveform at ``sample_rate``."""

class Stats:
    """Finalized statistics: the document ``specnorm stats`` writes (stats.json)."""

    @property
    def mean(self) -> npt.NDArray[np.float64]:
        """Mean per group, keep-dims shape (``(1, 1, F, 1)`` per channel, ``(1, 1, 1, 1)`` global)."""
    @property
    def std(self) -> npt.NDArray[np.float64]:
        """Population standard deviation per group, keep-dims shape."""
    @property
    def sample_std(self) -> npt.NDArray[np.float64]:
        """Sample (n - 1) standard deviation per group, keep-dims shape."""
    @property
    def count(self) -> int:
        """Elements each group rests on."""
    @property
    def axes(self) -> Tuple[int, ...]: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def provenance(self) -> Dict[str, Any]:
        """dataset, folds, clips, sample_fraction, features, note."""
    def to_json(self, path: Optional[PathLike] = None) -> Optional[str]:
        """Write the stats JSON atomically to ``path``, or return it."""
    @staticmethod
    def from_json(path: PathLike) -> "Stats":
        """Read and validate a stats JSON file."""
    def save_npy(self, mean_path: PathLike, std_path: PathLike) -> None:
        """Mean and std as float32 ``.npy`` (keep-dims shape), like the CLI."""

class StatsAccumulator:
    """Streaming, exact (float64, Chan merge), picklable mean/std accumulator."""

    def __init__(self, axes: Optional[Axes] = "channel") -> None: ...
    def update(self, batch: npt.ArrayLike) -> None:
        """Add a float32/float64 ``[B, F, T]`` or ``[B, 1, F, T]`` batch."""
    def merge(self, other: "StatsAccumulator") -> None:
        """Merge ``other`` into this accumulator (in place)."""
    def finalize(self) -> Stats: ...
    @property
    def count(self) -> int: ...
    @property
    def axes(self) -> Tuple[int, ...]: ...
    @property
    def shape(self) -> Optional[Tuple[int, ...]]: ...
    def __len__(self) -> int: ...

class Normalizer:
    """A spectrogram normalization of ``[..., F, T]`` batches with encode (call) / decode."""

    @staticmethod
    def from_stats(stats: Stats) -> "Normalizer": ...
    @staticmethod
    def for_validation_fold(stats: Stats, valid_fold: int) -> "Normalizer":
        """``from_stats`` that raises ``LeakageError`` if the stats saw ``valid_fold``."""
    @staticmethod
    def per_instance(eps: float = 1e-5) -> "Normalizer": ...
    @staticmethod
    def pcen(
        sample_rate: Optional[int] = None,
        hop_length: Optional[int] = None,
        gain: Optional[float] = None,
        bias: Optional[float] = None,
        power: Optional[float] = None,
        time_constant: Optional[float] = None,
        eps: Optional[float] = None,
    ) -> "Normalizer":
        """PCEN of power spectrograms (librosa defaults); not invertible."""
    @staticmethod
    def none() -> "Normalizer": ...
    @property
    def name(self) -> str: ...
    @overload
    def __call__(self, batch: npt.ArrayLike, return_info: Literal[False] = False) -> npt.NDArray[np.float32]: ...
    @overload
    def __call__(
        self, batch: npt.ArrayLike, return_info: Literal[True]
    ) -> Tuple[npt.NDArray[np.float32], Optional[Dict[str, npt.NDArray[np.float32]]]]: ...
    def decode(
        self, batch: npt.ArrayLike, info: Optional[Dict[str, npt.NDArray[np.float32]]] = None
    ) -> npt.NDArray[np.float32]: ...
    def to_json(self) -> str:
        """The ``NormSpec`` JSON that checkpoints and ONNX metadata (``normalization``) hold."""
    @staticmethod
    def from_json(text: str) -> "Normalizer":
        """Parse and validate a ``NormSpec`` JSON (raises ``NormalizationError``)."""
    def __eq__(self, other: object) -> bool: ...

LAYOUT_KEYWORDS: List[str]
"""The keyword arguments of :func:`list_clips` that choose a dataset's layout; ``dataset_stats``,
``shard_stats`` and ``specnorm.dask`` take them beside the feature keys."""

def list_clips(
    root: PathLike,
    folds: Optional[Sequence[int]] = None,
    allow_outside_root: bool = False,
    *,
    layout: Literal["esc50", "csv", "urbansound8k", "folders"] = "esc50",
    esc10: bool = False,
    metadata: Optional[PathLike] = None,
    filename_col: Optional[str] = None,
    label_col: Optional[str] = None,
    fold_col: Optional[str] = None,
    target_col: Optional[str] = None,
    audio_dir: Optional[PathLike] = None,
    n_folds: Optional[int] = None,
    fold_seed: Optional[int] = None,
    fold_file: Optional[PathLike] = None,
) -> List[Tuple[str, int, int, str]]:
    """``(path, fold, target, category)`` of every clip of a dataset folder, in metadata order
    (only those of ``folds`` when given).

    ``layout`` says how ``root`` is laid out:

    * ``"esc50"`` (default): ``meta/esc50.csv``, ``audio/``; ``esc10=True`` keeps the rows whose
      ``esc10`` column is ``True`` (targets stay ESC-50's).
    * ``"csv"``: ``metadata=`` (a CSV, relative to ``root`` or absolute) with the columns
      ``filename_col`` (default ``"filename"``), ``label_col`` (``"label"``) and ``fold_col``
      (``"fold"``); files relative to ``audio_dir`` (relative to ``root``; default ``root``).
      Targets are the labels' ranks in sorted order (numeric order if every label is an
      integer) unless ``target_col`` names an integer column.
    * ``"urbansound8k"``: ``metadata/UrbanSound8K.csv``, clips in ``audio/fold{N}/``.
    * ``"folders"``: ``<class>/<clip>.wav|flac|ogg|mp3``; ``n_folds`` (default 5) stratified
      folds drawn with ``fold_seed`` (default 0) are written to ``fold_file`` (default
      ``<root>/specnorm-folds-k<n>-seed<s>.csv``) and reused by every later call; files added
      or removed since then raise ``DatasetError`` naming them (delete the fold file to draw
      again).

    Errors name the file and the row. Entries that resolve outside the audio folder (``..``,
    absolute paths, symbolic links pointing out) raise ``DatasetError`` unless
    ``allow_outside_root``; a keyword of another layout raises ``ConfigError``."""

def num_threads() -> int:
    """Threads the extractor uses in this process."""

def set_num_threads(threads: int) -> None:
    """Threads the extractor uses in this process (0: ``RAYON_NUM_THREADS`` or all cores)."""

class PartialStats:
    """Exact state of a statistics run over some shards (the partial file of ``specnorm stats --shard``)."""

    @staticmethod
    def merge(parts: Sequence["PartialStats"]) -> "PartialStats":
        """Merge partial results of disjoint shards (order-independent, bit for bit)."""
    def finish(self, allow_partial: bool = False) -> Stats: ...
    @property
    def shards(self) -> List[int]: ...
    @property
    def shard_count(self) -> int: ...
    @property
    def clips(self) -> int: ...
    def save(self, path: PathLike) -> None: ...
    @staticmethod
    def load(path: PathLike) -> "PartialStats": ...

def dataset_stats(
    data: PathLike,
    valid_fold: int = 1,
    axes: Literal["global", "channel"] = "channel",
    *,
    sample: Optional[float] = None,
    seed: int = 0,
    skip_bad: bool = False,
    layout: Literal["esc50", "csv", "urbansound8k", "folders"] = "esc50",
    esc10: bool = False,
    metadata: Optional[PathLike] = None,
    filename_col: Optional[str] = None,
    label_col: Optional[str] = None,
    fold_col: Optional[str] = None,
    target_col: Optional[str] = None,
    audio_dir: Optional[PathLike] = None,
    n_folds: Optional[int] = None,
    fold_seed: Optional[int] = None,
    fold_file: Optional[PathLike] = None,
    allow_outside_root: bool = False,
    **feature_config: Any,
) -> Stats:
    """Exact statistics of the training folds; the same library call as ``specnorm stats``.

    The dataset is read in ESC-50's layout unless the layout keywords (those of
    :func:`list_clips`, listed in ``LAYOUT_KEYWORDS``) say otherwise; ``stats.provenance["layout"]``
    records the layout. The other keywords are feature keys (``FeatureExtractor.config``).
    """

def shard_stats(
    data: PathLike,
    shard: int,
    shards: int,
    valid_fold: int = 1,
    axes: Literal["global", "channel"] = "channel",
    *,
    sample: Optional[float] = None,
    seed: int = 0,
    skip_bad: bool = False,
    layout: Literal["esc50", "csv", "urbansound8k", "folders"] = "esc50",
    esc10: bool = False,
    metadata: Optional[PathLike] = None,
    filename_col: Optional[str] = None,
    label_col: Optional[str] = None,
    fold_col: Optional[str] = None,
    target_col: Optional[str] = None,
    audio_dir: Optional[PathLike] = None,
    n_folds: Optional[int] = None,
    fold_seed: Optional[int] = None,
    fold_file: Optional[PathLike] = None,
    allow_outside_root: bool = False,
    **feature_config: Any,
) -> PartialStats:
    """Shard ``shard`` of ``shards`` of the ``dataset_stats`` run (clip i -> shard i % N + 1);
    the same layout and feature keywords."""
