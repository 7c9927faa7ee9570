//! The exact result of a (possibly partial) statistics run, its file form, and the exact merge.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specnorm_stats::{Provenance, ShardProvenance, Stats};

use crate::{Axes, PipelineError, SpectrogramStats, StatsSource};

/// Value of the `"format"` field of a partial statistics file.
pub const PARTIAL_FORMAT: &str = "specnorm-stats-partial";
/// Version of the partial file format this crate writes and reads.
pub const PARTIAL_VERSION: u32 = 1;

/// One shard's contribution to a [`DatasetStats`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardPart {
    /// 1-based shard number.
    pub shard: u32,
    /// Clips the shard reduced.
    pub clips: u64,
    /// [`clip_list_digest`](crate::clip_list_digest) of the shard's clip list.
    pub digest: String,
    /// Clips the shard left out as bad (`--skip-bad`).
    pub bad: u64,
    /// Truncated clips the shard accepted (`--allow-truncated`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The exact state of a dataset statistics run over some shards of the training clips (all of
/// them for a single run): where it came from, which shards it holds, the bad clips it left out,
/// and the accumulator. [`save`](Self::save)/[`load`](Self::load) round-trip it bit for bit;
/// [`merge`] combines runs over disjoint shards; [`finish`](Self::finish) gives the statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetStats {
    /// What must agree for runs to merge.
    pub source: StatsSource,
    /// Number of shards the training clips were split into.
    pub shard_count: u32,
    /// The shards held, ascending.
    pub parts: Vec<ShardPart>,
    /// Every clip left out as bad, with its reason (in shard order).
    pub bad: Vec<String>,
    /// Every clip accepted although truncated (`--allow-truncated`), with the declared and present
    /// lengths (in shard order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// The exact accumulator.
    pub spectrogram: SpectrogramStats,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialDoc<S> {
    format: String,
    version: u32,
    partial: S,
}

/// The statistics a run writes: the requested axes and per channel (for the plot).
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedStats {
    /// Statistics of the requested [`Axes`], with provenance.
    pub stats: Stats,
    /// Per-channel statistics, with the same provenance.
    pub channel: Stats,
}

impl DatasetStats {
    /// Checks the bookkeeping a loaded file could get wrong (the accumulator validates itself).
    fn validate(&self) -> Result<(), String> {
        if self.shard_count == 0 {
            return Err("shard_count is 0".into());
        }
        if self.parts.is_empty() {
            return Err("holds no shard".into());
        }
        for w in self.parts.windows(2) {
            if w[0].shard >= w[1].shard {
                return Err(format!(
                    "shards are not ascending and distinct: {} then {}",
                    w[0].shard, w[1].shard
                ));
            }
        }
        if let Some(p) = self
            .parts
            .iter()
            .find(|p| p.shard == 0 || p.shard > self.shard_count)
        {
            return Err(format!(
                "shard {} is outside 1..={}",
                p.shard, self.shard_count
            ));
        }
        let clips: u64 = self.parts.iter().map(|p| p.clips).sum();
        if clips != self.spectrogram.clips() {
            return Err(format!(
                "the shards list {clips} clips but the accumulator holds {}",
                self.spectrogram.clips()
            ));
        }
        let bad: u64 = self.parts.iter().map(|p| p.bad).sum();
        if bad != self.bad.len() as u64 {
            return Err(format!(
                "the shards list {bad} bad clips but {} are named",
                self.bad.len()
            ));
        }
        let truncated: u64 = self.parts.iter().map(|p| p.truncated).sum();
        if truncated != self.truncated.len() as u64 {
            return Err(format!(
                "the shards list {truncated} truncated clips but {} are named",
                self.truncated.len()
            ));
        }
        Ok(())
    }

    /// The partial file: JSON with `"format": "specnorm-stats-partial"`, the version, and this
    /// state (floats in shortest round-trip form: loading gives back the same bits).
    pub fn to_json(&self) -> Result<String, PipelineError> {
        serde_json::to_string_pretty(&PartialDoc {
            format: PARTIAL_FORMAT.to_string(),
            version: PARTIAL_VERSION,
            partial: self,
        })
        .map_err(|e| PipelineError::Partial {
            path: None,
            message: e.to_string(),
        })
    }

    /// Parses and validates a partial file's text; `path` names it in errors.
    pub fn from_json(text: &str, path: Option<&Path>) -> Result<DatasetStats, PipelineError> {
        let err = |message: String| PipelineError::Partial {
            path: path.map(Path::to_path_buf),
            message,
        };
        let doc: PartialDoc<DatasetStats> =
            serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        if doc.format != PARTIAL_FORMAT {
            return Err(err(format!(
                "format is {:?}, expected {PARTIAL_FORMAT:?}",
                doc.format
            )));
        }
        if doc.version != PARTIAL_VERSION {
            return Err(err(format!(
                "unsupported version {} (this build reads {PARTIAL_VERSION})",
                doc.version
            )));
        }
        doc.partial.validate().map_err(err)?;
        Ok(doc.partial)
    }

    /// Writes the partial file atomically.
    pub fn save(&self, path: &Path) -> Result<(), PipelineError> {
        specnorm_atomic::write(path, self.to_json()?.as_bytes()).map_err(|source| {
            PipelineError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Reads and validates a partial file.
    pub fn load(path: &Path) -> Result<DatasetStats, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, Some(path))
    }

    /// Shards of `1..=shard_count` this state does not hold.
    pub fn missing_shards(&self) -> Vec<u32> {
        (1..=self.shard_count)
            .filter(|k| !self.parts.iter().any(|p| p.shard == *k))
            .collect()
    }

    /// The statistics of the requested axes and per channel, with provenance (folds, clips,
    /// sampling, features, bad clips, and for sharded runs which shards were merged). Refuses a
    /// state that lacks shards unless `allow_partial`, which is then recorded in the provenance.
    pub fn finish(&self, allow_partial: bool) -> Result<FinishedStats, PipelineError> {
        let missing = self.missing_shards();
        if !missing.is_empty() && !allow_partial {
            return Err(PipelineError::MissingShards {
                missing,
                count: self.shard_count,
            });
        }
        let src = &self.source;
        let mut note = format!("{} bad files skipped", self.bad.len());
        if let Some(s) = &src.sample {
            note = format!("seed {}; {note}", s.seed);
        }
        if !missing.is_empty() {
            note += &format!(
                "; --allow-partial: shards {missing:?} of {} missing",
                self.shard_count
            );
        }
        if !self.truncated.is_empty() {
            note += &format!(
                "; --allow-truncated: {} truncated clips accepted",
                self.truncated.len()
            );
        }
        let provenance = Provenance {
            dataset: src.dataset.clone(),
            folds: src.train_folds.clone(),
            clips: self.spectrogram.clips(),
            sample_fraction: src.sample.map_or(1.0, |s| s.fraction),
            features: serde_json::to_value(&src.features).map_err(|e| {
                PipelineError::Config(format!("feature configuration to JSON: {e}"))
            })?,
            layout: serde_json::to_value(&src.layout)
                .map_err(|e| PipelineError::Config(format!("dataset layout to JSON: {e}")))?,
            note: Some(note),
            shards: (self.shard_count > 1).then(|| ShardProvenance {
                count: self.shard_count,
                merged: self.parts.iter().map(|p| p.shard).collect(),
                missing,
                clip_digests: self.parts.iter().map(|p| p.digest.clone()).collect(),
            }),
            truncated_accepted: self.truncated.len() as u64,
        };
        Ok(FinishedStats {
            stats: self
                .spectrogram
                .stats(src.axes)?
                .with_provenance(provenance.clone()),
            channel: self
                .spectrogram
                .stats(Axes::Channel)?
                .with_provenance(provenance),
        })
    }
}

/// The first field in which two sources differ, as a phrase for "come from different ...".
fn difference(a: &StatsSource, b: &StatsSource) -> Option<&'static str> {
    if a.features != b.features {
        Some("feature configurations")
    } else if a.layout != b.layout {
        Some("dataset layouts")
    } else if a.fingerprint != b.fingerprint {
        Some("datasets (metadata or file sizes differ)")
    } else if a.valid_fold != b.valid_fold || a.train_folds != b.train_folds {
        Some("validation folds")
    } else if a.axes != b.axes {
        Some("axes (global vs channel)")
    } else if a.sample != b.sample {
        Some("sampling (--sample/--seed)")
    } else if a.clips_digest != b.clips_digest {
        Some("training clip lists")
    } else {
        None
    }
}

/// Merges runs over disjoint shards of the same training clips, each labelled (a file name, a task
/// id) for the messages. Refuses, naming both labels, runs of different feature configurations,
/// dataset layouts, datasets, validation folds, axes, sampling or shard counts, and a shard held twice. Missing
/// shards are not an error here (merges may be done in a tree); [`DatasetStats::finish`] checks
/// completeness.
///
/// The merge is exact in the sense of the accumulator (Chan et al. in f64: mean/std equal a single
/// pass within rounding, ~1e-15 relative). The runs are merged in ascending order of their first
/// shard whatever order they are given in, so the result is bit-for-bit reproducible for the same
/// set of inputs. It is not bit-for-bit equal to a single pass (the association of the sums
/// differs).
pub fn merge(parts: &[(String, DatasetStats)]) -> Result<DatasetStats, PipelineError> {
    let mut order: Vec<&(String, DatasetStats)> = parts.iter().collect();
    order.sort_by_key(|(_, p)| p.parts.first().map_or(0, |s| s.shard));
    let Some(((first_label, first), rest)) = order.split_first().map(|(f, r)| (*f, r)) else {
        return Err(PipelineError::Merge("nothing to merge".into()));
    };
    for (label, p) in rest {
        if let Some(what) = difference(&first.source, &p.source) {
            return Err(PipelineError::Merge(format!(
                "{first_label} and {label} come from different {what}"
            )));
        }
        if p.shard_count != first.shard_count {
            return Err(PipelineError::Merge(format!(
                "{first_label} is a shard of {} but {label} of {}",
                first.shard_count, p.shard_count
            )));
        }
    }
    for (i, (la, a)) in order.iter().enumerate() {
        for (lb, b) in &order[i + 1..] {
            if let Some(k) = a
                .parts
                .iter()
                .find(|x| b.parts.iter().any(|y| y.shard == x.shard))
            {
                return Err(PipelineError::Merge(format!(
                    "shard {}/{} is given twice: in {la} and in {lb}",
                    k.shard, a.shard_count
                )));
            }
        }
    }
    let mut merged = first.clone();
    for (_, p) in rest {
        merged.spectrogram.merge(&p.spectrogram)?;
        merged.parts.extend(p.parts.iter().cloned());
        merged.bad.extend(p.bad.iter().cloned());
        merged.truncated.extend(p.truncated.iter().cloned());
    }
    merged.parts.sort_by_key(|p| p.shard);
    Ok(merged)
}

/// Loads partial files and [`merge`]s them; with `allow_partial` false, also refuses a set that
/// lacks shards, naming the shards and the files given. Every error names the file(s).
pub fn merge_files(paths: &[PathBuf], allow_partial: bool) -> Result<DatasetStats, PipelineError> {
    let parts = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), DatasetStats::load(p)?)))
        .collect::<Result<Vec<_>, PipelineError>>()?;
    let merged = merge(&parts)?;
    let missing = merged.missing_shards();
    if !missing.is_empty() && !allow_partial {
        let names: Vec<&str> = parts.iter().map(|(l, _)| l.as_str()).collect();
        return Err(PipelineError::Merge(format!(
            "shard(s) {missing:?} of {} are missing from {} (pass --allow-partial to accept \
             statistics of the shards given; it is recorded in the provenance)",
            merged.shard_count,
            names.join(", ")
        )));
    }
    Ok(merged)
}
