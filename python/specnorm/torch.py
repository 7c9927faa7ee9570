"""PyTorch glue: a ``Dataset`` of normalized spectrograms (needs ``torch``).

Every sample is one call into the Rust front end (``FeatureExtractor.extract_file``,
GIL released) and one into the normalizer; this module only wraps the results in
tensors. It works in ``DataLoader`` worker processes (fork, spawn or forkserver).
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.data

from ._specnorm import FeatureExtractor, Normalizer, list_clips

__all__ = ["Dataset", "pad_collate"]

PathLike = Union[str, "os.PathLike[str]"]


class Dataset(torch.utils.data.Dataset):
    """Normalized ``[1, F, T]`` float32 tensors and integer labels from a dataset folder,
    ESC-50's layout (``meta/esc50.csv``, ``audio/``) unless ``layout`` says otherwise.

    Args:
        root: dataset folder.
        folds: the folds to serve (e.g. all but the validation fold); ``None`` = all.
        normalizer: applied to each ``[1, F, T]`` spectrogram; ``None`` = raw dB.
        extractor: the front end; by default ``FeatureExtractor(**feature_config)``.
        allow_outside_root: accept metadata entries that resolve outside the audio folder.
        layout: ``"esc50"``, ``"csv"``, ``"urbansound8k"`` or ``"folders"``.
        esc10, metadata, filename_col, label_col, fold_col, target_col, audio_dir, n_folds,
            fold_seed, fold_file: the layout's options, as for ``specnorm.list_clips`` (an
            option of another layout raises ``ConfigError``).
        **feature_config: keys of ``FeatureExtractor.config`` (when ``extractor`` is None).

    Example: ``Dataset("words", folds=[2, 3, 4, 5], layout="folders", n_folds=5, fold_seed=0)``.
    """

    def __init__(
        self,
        root: PathLike,
        folds: Optional[Sequence[int]] = None,
        normalizer: Optional[Normalizer] = None,
        extractor: Optional[FeatureExtractor] = None,
        allow_outside_root: bool = False,
        *,
        layout: str = "esc50",
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
        **feature_config: Any,
    ) -> None:
        if extractor is not None and feature_config:
            raise TypeError("pass either extractor= or feature configuration keywords, not both")
        self.clips = list_clips(
            root,
            None if folds is None else list(folds),
            allow_outside_root=allow_outside_root,
            layout=layout,
            esc10=esc10,
            metadata=metadata,
            filename_col=filename_col,
            label_col=label_col,
            fold_col=fold_col,
            target_col=target_col,
            audio_dir=audio_dir,
            n_folds=n_folds,
            fold_seed=fold_seed,
            fold_file=fold_file,
        )
        self.extractor = extractor if extractor is not None else FeatureExtractor(**feature_config)
        self.normalizer = normalizer

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        path, _fold, target, _category = self.clips[index]
        spec = self.extractor.extract_file(path)[None]
        if self.normalizer is not None:
            spec = self.normalizer(spec)
        return torch.from_numpy(spec), target

    @property
    def targets(self) -> list:
        """The label of every clip, in order."""
        return [c[2] for c in self.clips]


def pad_collate(
    batch: List[Tuple[torch.Tensor, int]],
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``collate_fn`` for clips kept at their own lengths (``seconds=None``): the batch's
    ``[C, F, T_i]`` tensors padded with zeros after their last frame to the longest, as
    ``specnorm experiment --seconds 0`` builds its training batches (normalize first: the
    ``Dataset``'s normalizer sees each clip at its own length).

    Returns ``(x [B, C, F, T], y [B] int64, frames [B] int64)``; ``frames`` holds each clip's
    own length, for masking or for evaluating clips of one length together.

    Example: ``DataLoader(Dataset(root, seconds=None), batch_size=32, collate_fn=pad_collate)``.
    """
    if not batch:
        raise ValueError("pad_collate: empty batch")
    xs = [x for x, _ in batch]
    head = tuple(xs[0].shape[:-1])
    for x in xs:
        if tuple(x.shape[:-1]) != head:
            raise ValueError(
                f"pad_collate: a sample of shape {tuple(x.shape)}, the first is {tuple(xs[0].shape)}"
            )
    frames = [int(x.shape[-1]) for x in xs]
    out = xs[0].new_zeros((len(xs),) + head + (max(frames),))
    for i, x in enumerate(xs):
        out[i, ..., : frames[i]] = x
    return out, torch.tensor([int(y) for _, y in batch]), torch.tensor(frames)
