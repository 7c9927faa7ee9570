//! Stage 2, the dataset index: the metadata table read, every clip decoded and
//! resampled **once** (the waveforms are kept for the feature stage, so no clip
//! is decoded twice in an experiment), bad clips listed or left out, and the
//! fingerprint that ties run files to this clip set.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use specnorm_features::TruncatedClip;

use super::config::{fnv1a_hex, ExperimentConfig};
use super::error::ExperimentError;
use super::Progress;

/// A clip that is missing or cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadClip {
    /// Its path.
    pub path: PathBuf,
    /// Why (the decoder's message, which names the file).
    pub error: String,
}

/// The bad clips, one per line (indented), for messages.
pub(crate) fn list_bad(bad: &[BadClip]) -> String {
    bad.iter().map(|b| format!("\n  {}", b.error)).collect()
}

/// One clip of the dataset.
#[derive(Debug, Clone)]
pub(crate) struct Clip {
    /// Audio file.
    pub path: PathBuf,
    /// Its fold.
    pub fold: u32,
    /// The model's label (rank of the dataset's target).
    pub target: usize,
}

/// The dataset as the runner needs it.
#[derive(Debug, Clone)]
pub(crate) struct DataIndex {
    /// The usable clips, in metadata order.
    pub clips: Vec<Clip>,
    /// Class names, by label.
    pub classes: Vec<String>,
    /// The folds of the usable clips, sorted.
    pub folds: Vec<u32>,
    /// Hash of the metadata, the synthetic-data marker and the clips left out.
    pub fingerprint: String,
    /// Clips of the metadata left out (`skip_bad`).
    pub skipped: Vec<BadClip>,
    /// Clips accepted although truncated (`allow_truncated`).
    pub truncated: Vec<TruncatedClip>,
}

/// Every usable clip decoded, mixed to mono and resampled to the feature
/// sample rate (neither normalized nor padded), in [`DataIndex::clips`] order.
pub(crate) struct Waveforms(pub Vec<Vec<f32>>);

impl DataIndex {
    /// Reads the dataset at `cfg.data_root` and decodes each clip once. Bad
    /// clips are all listed in one [`ExperimentError::BadClips`], or left out
    /// with `cfg.skip_bad`.
    pub fn load(
        cfg: &ExperimentConfig,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<(Self, Waveforms), ExperimentError> {
        let ds = open(cfg)?;
        let total = ds.items().len();
        progress(Progress::Stage(&format!(
            "decoding all {total} clips (once; the waveforms feed every feature variant)"
        )));
        let (decoded, truncated) = decode_all(ds.items(), cfg)?;
        if !truncated.is_empty() {
            progress(Progress::Stage(&format!(
                "accepted {} truncated clip(s) (allow_truncated; only the part present is used):\n  {}",
                truncated.len(),
                truncated
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )));
        }
        let mut skipped = Vec::new();
        let mut waves = Vec::with_capacity(total);
        for (item, r) in ds.items().iter().zip(decoded) {
            match r {
                Ok(w) => waves.push(w),
                Err(bad) => skipped.push(BadClip {
                    path: item.path.clone(),
                    error: bad.error,
                }),
            }
        }
        let index = Self::with_skipped(cfg, &ds, skipped, truncated, progress)?;
        Ok((index, Waveforms(waves)))
    }

    /// The index of `ds` without the clips `skipped` (found bad by whoever decoded them):
    /// they are an [`ExperimentError::BadClips`] unless `cfg.skip_bad`. `truncated`: the clips
    /// accepted although truncated (`cfg.allow_truncated`).
    pub fn with_skipped(
        cfg: &ExperimentConfig,
        ds: &specnorm_folds::Dataset,
        skipped: Vec<BadClip>,
        truncated: Vec<TruncatedClip>,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<Self, ExperimentError> {
        let root = &cfg.data_root;
        let total = ds.items().len();
        if !skipped.is_empty() {
            if !cfg.skip_bad {
                return Err(ExperimentError::BadClips {
                    csv: ds.csv_path().to_path_buf(),
                    bad: skipped,
                    total,
                });
            }
            progress(Progress::Stage(&format!(
                "skipping {} of {total} clip(s) that are missing or cannot be decoded (skip_bad):{}",
                skipped.len(),
                list_bad(&skipped)
            )));
        }
        let bad: HashSet<&Path> = skipped.iter().map(|b| b.path.as_path()).collect();
        let kept: Vec<&specnorm_folds::Item> = ds
            .items()
            .iter()
            .filter(|it| !bad.contains(it.path.as_path()))
            .collect();
        // Targets may be sparse (e.g. an ESC-10 subset): the model's labels are
        // their ranks.
        let class_list = ds.classes();
        let rank: HashMap<u32, usize> = class_list
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (*t, i))
            .collect();
        let classes: Vec<String> = class_list.into_iter().map(|(_, name)| name).collect();
        let clips: Vec<Clip> = kept
            .iter()
            .map(|it| Clip {
                path: it.path.clone(),
                fold: it.fold,
                target: rank.get(&it.target).copied().unwrap_or(0),
            })
            .collect();
        if clips.is_empty() {
            return Err(ExperimentError::Dataset {
                root: root.clone(),
                detail: "no clips in the metadata".into(),
            });
        }
        let folds = clips
            .iter()
            .map(|c| c.fold)
            .collect::<BTreeSet<u32>>()
            .into_iter()
            .collect();
        let fingerprint = fingerprint(ds, root, &skipped, &truncated);
        Ok(Self {
            clips,
            classes,
            folds,
            fingerprint,
            skipped,
            truncated,
        })
    }

    /// Indices of the clips in `fold` (`in_fold`) or in every other fold.
    pub fn indices(&self, fold: u32, in_fold: bool) -> Vec<usize> {
        (0..self.clips.len())
            .filter(|&k| (self.clips[k].fold == fold) == in_fold)
            .collect()
    }
}

/// Reads the metadata of the dataset at `cfg.data_root` with `cfg.layout` (no audio).
pub(crate) fn open(cfg: &ExperimentConfig) -> Result<specnorm_folds::Dataset, ExperimentError> {
    let root = &cfg.data_root;
    let opts = specnorm_folds::DatasetOptions {
        allow_outside_root: cfg.allow_outside_root,
    };
    specnorm_folds::Dataset::open_layout(root, &cfg.layout, opts).map_err(|e| dataset_err(root, e))
}

fn dataset_err(root: &Path, e: impl ToString) -> ExperimentError {
    ExperimentError::Dataset {
        root: root.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Decodes and resamples every item in parallel (the front end's length guard
/// included); a clip that fails is a [`BadClip`] naming the file.
/// Each clip's waveform (or why not), and the truncated clips accepted under
/// `cfg.allow_truncated`, sorted by path.
#[allow(clippy::type_complexity)]
fn decode_all(
    items: &[specnorm_folds::Item],
    cfg: &ExperimentConfig,
) -> Result<(Vec<Result<Vec<f32>, BadClip>>, Vec<TruncatedClip>), ExperimentError> {
    let loader = crate::extract::waveform_loader(&cfg.features)?.with_decode_options(
        specnorm_features::DecodeOptions {
            allow_truncated: cfg.allow_truncated,
        },
    );
    let decoded = items
        .par_iter()
        .map(|it| {
            loader.load_waveform(&it.path).map_err(|e| BadClip {
                path: it.path.clone(),
                error: e.to_string(),
            })
        })
        .collect();
    let mut truncated = loader.take_truncated();
    truncated.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((decoded, truncated))
}

/// Fingerprint: the metadata table, for generated data its marker, and the
/// clips left out (none normally, so `skip_bad` alone changes nothing).
fn fingerprint(
    ds: &specnorm_folds::Dataset,
    root: &Path,
    skipped: &[BadClip],
    truncated: &[TruncatedClip],
) -> String {
    let mut bytes = Vec::new();
    // The layout decides which rows and columns count; ESC-50's adds nothing, so existing
    // ESC-50 fingerprints (and config hashes) stay as they were.
    if ds.layout() != &specnorm_folds::Layout::default() {
        bytes.extend_from_slice(b"\0layout:");
        bytes.extend_from_slice(
            serde_json::to_string(ds.layout())
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    for f in [
        ds.csv_path().to_path_buf(),
        root.join(crate::synth::MARKER_FILE),
    ] {
        if let Ok(b) = std::fs::read(&f) {
            bytes.extend_from_slice(&b);
        }
    }
    // Clips accepted although truncated are different data from the full clips.
    for t in truncated {
        bytes.extend_from_slice(b"\0truncated:");
        let name = t.path.strip_prefix(ds.audio_dir()).unwrap_or(&t.path);
        bytes.extend_from_slice(name.to_string_lossy().as_bytes());
        bytes.extend_from_slice(t.truncation.to_string().as_bytes());
    }
    for b in skipped {
        bytes.extend_from_slice(b"\0skipped:");
        let name = b.path.strip_prefix(ds.audio_dir()).unwrap_or(&b.path);
        bytes.extend_from_slice(name.to_string_lossy().as_bytes());
    }
    fnv1a_hex(&bytes)
}

/// The folds of `cfg`'s dataset (sorted), e.g. to cross-validate over all of them.
pub fn dataset_folds(cfg: &ExperimentConfig) -> Result<Vec<u32>, ExperimentError> {
    open(cfg).map(|d| d.folds())
}
