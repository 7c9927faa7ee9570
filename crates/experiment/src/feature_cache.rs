//! The experiment's features on disk ([`specnorm_cache`]): one file per feature variant, keyed
//! by the variant's full feature configuration and the dataset's fingerprint (metadata,
//! generated-data marker, every clip's name, size and mtime). [`open_or_build`] reuses the
//! files that are valid and computes the others in **one streaming pass** — each clip decoded,
//! its variants extracted and appended to the files, then dropped — so memory is bounded by a
//! chunk of clips, not by the dataset. `specnorm features` and `specnorm experiment --cache`
//! both go through it (no libtorch needed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use specnorm_cache::{
    CacheError, CacheFile, CacheKey, CacheWriter, DatasetFingerprint, Dtype, Skipped, Verify,
};
use specnorm_features::{FeatureConfig, FeatureError};

use crate::extract;
use crate::settings::{FeatureVariant, Setting};

/// Clips decoded and featurized at once (in parallel) before their rows are written.
pub const CHUNK_CLIPS: usize = 64;

/// The variant the report's plots and distributions read besides the settings' own.
const REPORT_VARIANT: FeatureVariant = FeatureVariant {
    waveform_norm: true,
    power: false,
};

/// Errors of the feature cache.
#[derive(Debug, thiserror::Error)]
pub enum FeatureCacheError {
    /// The dataset could not be read.
    #[error("dataset {root}: {detail}")]
    Dataset {
        /// Dataset root.
        root: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A cache file could not be read or written (not the recomputable cases, which are
    /// handled by recomputing).
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The front end could not be built.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Feature extraction of one decoded clip failed.
    #[error("{path}: {source}")]
    ClipFeatures {
        /// The clip.
        path: PathBuf,
        /// Underlying error.
        source: FeatureError,
    },
    /// Valid files of one dataset state disagree on which clips are bad (a decoder that
    /// changed without a version change).
    #[error(
        "feature cache {dir}: the files disagree on which clips cannot be decoded; delete the \
         folder to recompute"
    )]
    Inconsistent {
        /// The cache folder.
        dir: PathBuf,
    },
}

/// Progress of [`open_or_build`].
#[derive(Debug, Clone, Copy)]
pub enum CacheEvent<'a> {
    /// Free text (what is reused, what is computed and why).
    Stage(&'a str),
    /// Clips featurized so far.
    Clips {
        /// Clips done.
        done: usize,
        /// Clips in total.
        total: usize,
    },
}

/// The cache files of the requested variants, all valid for the dataset's current state.
#[derive(Debug)]
pub struct CachedFeatures {
    /// One mapped file per variant (rows: the usable clips, in metadata order).
    pub files: BTreeMap<FeatureVariant, CacheFile>,
    /// Clips of the metadata without a row (missing or undecodable), in metadata order.
    pub skipped: Vec<Skipped>,
    /// The variants computed now (the others were reused).
    pub computed: Vec<FeatureVariant>,
    /// The folder the clip names are relative to.
    pub audio_dir: PathBuf,
}

/// The variants an experiment with `settings` reads: each setting's, plus the
/// waveform-normalized dB features of the report's plots and distributions.
pub fn experiment_variants(settings: &[Setting]) -> BTreeSet<FeatureVariant> {
    let mut v: BTreeSet<FeatureVariant> = settings.iter().map(|s| s.variant()).collect();
    v.insert(REPORT_VARIANT);
    v
}

/// The cache key of every variant: configuration of the variant, f32, and the fingerprint of
/// `ds` (rooted at `root`).
fn keys(
    ds: &specnorm_folds::Dataset,
    root: &Path,
    base: &FeatureConfig,
    variants: &BTreeSet<FeatureVariant>,
) -> Result<BTreeMap<FeatureVariant, CacheKey>, FeatureCacheError> {
    let clips: Vec<(String, PathBuf)> = ds
        .items()
        .iter()
        .map(|it| (clip_name(ds, &it.path), it.path.clone()))
        .collect();
    let identity = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let metadata = [
        ds.csv_path().to_path_buf(),
        root.join(crate::synth::MARKER_FILE),
    ];
    let fingerprint = DatasetFingerprint::of(&identity.display().to_string(), &metadata, &clips)?;
    let names: Vec<String> = clips.into_iter().map(|(n, _)| n).collect();
    variants
        .iter()
        .map(|v| {
            let config = serde_json::to_value(v.feature_config(base)).map_err(|e| {
                FeatureCacheError::Dataset {
                    root: root.to_path_buf(),
                    detail: format!("feature configuration: {e}"),
                }
            })?;
            let key = CacheKey::new(config, Dtype::F32, fingerprint.clone(), names.clone());
            Ok((*v, key))
        })
        .collect()
}

/// A clip's name in the cache: its path below the audio folder.
fn clip_name(ds: &specnorm_folds::Dataset, path: &Path) -> String {
    path.strip_prefix(ds.audio_dir())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Opens the cache file of each of `variants` in `dir`, computing (in one pass over the
/// clips) those that are missing, stale or corrupt. Bad clips (missing, undecodable) get no
/// row and are listed in [`CachedFeatures::skipped`]; whether they are acceptable is the
/// caller's decision.
pub fn open_or_build(
    dir: &Path,
    ds: &specnorm_folds::Dataset,
    root: &Path,
    base: &FeatureConfig,
    variants: &BTreeSet<FeatureVariant>,
    progress: &(dyn Fn(CacheEvent<'_>) + Sync),
) -> Result<CachedFeatures, FeatureCacheError> {
    let keys = keys(ds, root, base, variants)?;
    let mut files = BTreeMap::new();
    let mut missing = BTreeMap::new();
    for (v, key) in keys {
        let path = dir.join(key.file_name());
        match CacheFile::open(&path, &key, Verify::Checksum) {
            Ok(f) => {
                progress(CacheEvent::Stage(&format!(
                    "feature cache: reusing {} ({})",
                    v.label(),
                    path.display()
                )));
                files.insert(v, f);
            }
            Err(e) if e.is_recomputable() => {
                progress(CacheEvent::Stage(&format!("{e}; computing {}", v.label())));
                missing.insert(v, key);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let computed: Vec<FeatureVariant> = missing.keys().copied().collect();
    if !missing.is_empty() {
        let written = build(dir, ds, base, &missing, progress)?;
        for (v, path) in written {
            let key = &missing[&v];
            files.insert(v, CacheFile::open(&path, key, Verify::Header)?);
        }
    }
    let skipped = match files.values().next() {
        Some(f) => f.header().skipped.clone(),
        None => Vec::new(),
    };
    if files.values().any(|f| f.header().skipped != skipped) {
        return Err(FeatureCacheError::Inconsistent {
            dir: dir.to_path_buf(),
        });
    }
    Ok(CachedFeatures {
        files,
        skipped,
        computed,
        audio_dir: ds.audio_dir().to_path_buf(),
    })
}

/// One clip's outcome in the streaming pass.
type ClipRows = Result<Vec<(FeatureVariant, ndarray::Array2<f32>)>, String>;

/// Computes the variants of `keys` for every clip of `ds`, [`CHUNK_CLIPS`] clips at a time,
/// writing one file per variant; returns the files written.
fn build(
    dir: &Path,
    ds: &specnorm_folds::Dataset,
    base: &FeatureConfig,
    keys: &BTreeMap<FeatureVariant, CacheKey>,
    progress: &(dyn Fn(CacheEvent<'_>) + Sync),
) -> Result<Vec<(FeatureVariant, PathBuf)>, FeatureCacheError> {
    let variants: BTreeSet<FeatureVariant> = keys.keys().copied().collect();
    let loader = extract::waveform_loader(base)?;
    let extractors = extract::power_extractors(&variants, base)?;
    let mut writers = keys
        .iter()
        .map(|(v, key)| Ok((*v, CacheWriter::create(dir, key)?)))
        .collect::<Result<Vec<_>, CacheError>>()?;
    let items = ds.items();
    let total = items.len();
    let done = AtomicUsize::new(0);
    progress(CacheEvent::Clips { done: 0, total });
    let mut skipped = Vec::new();
    for (c, chunk) in items.chunks(CHUNK_CLIPS).enumerate() {
        let rows: Vec<Result<ClipRows, FeatureCacheError>> = chunk
            .par_iter()
            .map(|it| {
                let r = match loader.load_waveform(&it.path) {
                    Err(e) => Ok(Err(e.to_string())),
                    Ok(wave) => extract::clip_variants(&wave, base, &extractors, &variants)
                        .map(Ok)
                        .map_err(|source| FeatureCacheError::ClipFeatures {
                            path: it.path.clone(),
                            source,
                        }),
                };
                progress(CacheEvent::Clips {
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                });
                r
            })
            .collect();
        for (j, (it, r)) in chunk.iter().zip(rows).enumerate() {
            let name = clip_name(ds, &it.path);
            match r? {
                Err(error) => skipped.push(Skipped {
                    index: c * CHUNK_CLIPS + j,
                    name,
                    error,
                }),
                Ok(arrays) => {
                    for (v, a) in arrays {
                        let w = writers
                            .iter_mut()
                            .find(|(wv, _)| *wv == v)
                            .map(|(_, w)| w)
                            .ok_or_else(|| FeatureCacheError::Inconsistent {
                                dir: dir.to_path_buf(),
                            })?;
                        let (f, t) = a.dim();
                        let values = a.as_standard_layout();
                        let values = values.as_slice().unwrap_or(&[]);
                        w.push(&name, [f, t], values)?;
                    }
                }
            }
        }
    }
    writers
        .into_iter()
        .map(|(v, w)| Ok((v, w.finish(skipped.clone())?)))
        .collect()
}
