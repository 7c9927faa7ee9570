//! Stage 4, the features: every requested [`FeatureVariant`] of every clip, either computed
//! in memory from the waveforms the dataset stage decoded ([`FeatureCache::compute`]; the
//! per-clip work is `crate::extract`), or read from the on-disk cache
//! ([`FeatureCache::from_files`], `crate::feature_cache`), memory-mapped.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use specnorm_cache::CacheFile;
use specnorm_features::FeatureConfig;

use super::dataset::{DataIndex, Waveforms};
use super::error::ExperimentError;
use super::Progress;
use crate::extract;
use crate::settings::FeatureVariant;

/// Features of every clip for one variant, in dataset order.
#[derive(Debug)]
pub(crate) enum FeatureSet {
    /// Computed in this process, held in memory.
    Memory(Vec<Array2<f32>>),
    /// A memory-mapped cache file (rows in dataset order).
    Mapped(Box<CacheFile>),
}

impl FeatureSet {
    /// The features of clip `k`, without copying.
    pub fn view(&self, k: usize) -> Result<ArrayView2<'_, f32>, ExperimentError> {
        match self {
            FeatureSet::Memory(v) => v.get(k).map(|a| a.view()).ok_or_else(|| {
                ExperimentError::Config(format!("internal: clip {k} of {}", v.len()))
            }),
            FeatureSet::Mapped(f) => Ok(f.view(k)?),
        }
    }

    /// The features of clip `k` as an array (borrowed in memory, copied from a map).
    pub fn array(&self, k: usize) -> Result<Cow<'_, Array2<f32>>, ExperimentError> {
        match self {
            FeatureSet::Memory(v) => v.get(k).map(Cow::Borrowed).ok_or_else(|| {
                ExperimentError::Config(format!("internal: clip {k} of {}", v.len()))
            }),
            FeatureSet::Mapped(f) => Ok(Cow::Owned(f.view(k)?.to_owned())),
        }
    }

    /// `[F, T]` of clip `k` (`T` differs between clips kept at their own durations).
    pub fn dim(&self, k: usize) -> Result<(usize, usize), ExperimentError> {
        match self {
            FeatureSet::Memory(_) => Ok(self.view(k)?.dim()),
            FeatureSet::Mapped(f) => {
                let [rows, cols] = f.row_shape(k)?;
                Ok((rows, cols))
            }
        }
    }

    /// `F` of the clips `rows` of `index` and the frames of each: clips of one front end
    /// share `F` (an error names the clip that does not), `T` differs between clips kept at
    /// their own durations.
    pub fn rows_and_frames(
        &self,
        rows: &[usize],
        index: &DataIndex,
    ) -> Result<(usize, Vec<usize>), ExperimentError> {
        let n_freq = match rows.first() {
            Some(&k) => self.dim(k)?.0,
            None => 0,
        };
        let mut frames = Vec::with_capacity(rows.len());
        for &k in rows {
            let (f, t) = self.dim(k)?;
            if f != n_freq {
                let clip = index.clips.get(k).ok_or_else(|| {
                    ExperimentError::Config(format!("internal: clip {k} of {}", index.clips.len()))
                })?;
                return Err(ExperimentError::Dataset {
                    root: clip.path.clone(),
                    detail: format!("{f} feature rows, the other clips' have {n_freq}"),
                });
            }
            frames.push(t);
        }
        Ok((n_freq, frames))
    }

    /// Copies the features of clip `k` (`F*T` values, row-major, its [`FeatureSet::dim`])
    /// into `out`, which has exactly that length.
    pub fn read_into(&self, k: usize, out: &mut [f32]) -> Result<(), ExperimentError> {
        match self {
            FeatureSet::Memory(_) => {
                let a = self.view(k)?;
                if a.len() != out.len() {
                    return Err(ExperimentError::Config(format!(
                        "internal: clip {k} has {} values, the buffer {}",
                        a.len(),
                        out.len()
                    )));
                }
                for (o, v) in out.iter_mut().zip(a.iter()) {
                    *o = *v;
                }
                Ok(())
            }
            FeatureSet::Mapped(f) => Ok(f.read_row(k, out)?),
        }
    }

    /// Drops the pages of a mapped set that were read from the process's resident memory
    /// (nothing for a set in memory): called after each pass over a set.
    pub fn release(&self) {
        if let FeatureSet::Mapped(f) = self {
            f.release_pages();
        }
    }

    /// Whether the set is memory-mapped.
    pub fn is_mapped(&self) -> bool {
        matches!(self, FeatureSet::Mapped(_))
    }
}

/// The features of each computed variant.
#[derive(Debug, Default)]
pub(crate) struct FeatureCache {
    sets: BTreeMap<FeatureVariant, FeatureSet>,
}

impl FeatureCache {
    /// The mapped cache files (one per variant).
    pub fn from_files(files: BTreeMap<FeatureVariant, CacheFile>) -> Self {
        Self {
            sets: files
                .into_iter()
                .map(|(v, f)| (v, FeatureSet::Mapped(Box::new(f))))
                .collect(),
        }
    }

    /// Computes `variants` (relative to `base`) of every clip of `index` from
    /// its decoded waveform; `waves` is consumed (freed when done).
    pub fn compute(
        index: &DataIndex,
        waves: Waveforms,
        variants: &BTreeSet<FeatureVariant>,
        base: &FeatureConfig,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<Self, ExperimentError> {
        if variants.is_empty() {
            return Ok(Self::default());
        }
        let label = variants
            .iter()
            .map(|v| v.label())
            .collect::<Vec<_>>()
            .join(", ");
        progress(Progress::Stage(&format!("extracting features ({label})")));
        let extractors = extract::power_extractors(variants, base)?;
        let total = index.clips.len();
        let done = AtomicUsize::new(0);
        progress(Progress::Features {
            variant: &label,
            done: 0,
            total,
        });
        let per_clip: Vec<_> = index
            .clips
            .par_iter()
            .zip(waves.0.into_par_iter())
            .map(|(clip, wave)| {
                let r =
                    extract::clip_variants(&wave, base, &extractors, variants).map_err(|source| {
                        ExperimentError::ClipFeatures {
                            path: clip.path.clone(),
                            source,
                        }
                    });
                drop(wave);
                progress(Progress::Features {
                    variant: &label,
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                });
                r
            })
            .collect();
        let mut sets: BTreeMap<FeatureVariant, Vec<Array2<f32>>> = variants
            .iter()
            .map(|v| (*v, Vec::with_capacity(total)))
            .collect();
        for clip in per_clip {
            for (v, a) in clip? {
                sets.entry(v).or_default().push(a);
            }
        }
        Ok(Self {
            sets: sets
                .into_iter()
                .map(|(v, s)| (v, FeatureSet::Memory(s)))
                .collect(),
        })
    }

    /// The features of `variant`, if it was computed.
    pub fn get(&self, variant: FeatureVariant) -> Option<&FeatureSet> {
        self.sets.get(&variant)
    }

    /// The features of `variant`, or an internal error naming it.
    pub fn require(&self, variant: FeatureVariant) -> Result<&FeatureSet, ExperimentError> {
        self.get(variant).ok_or_else(|| {
            ExperimentError::Config(format!("internal: features of {} missing", variant.label()))
        })
    }
}
