//! What a statistics run reduces: the training clips of a validation fold, optionally sampled, then
//! sharded, with the digests that let a merge check that partial results belong together.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use specnorm_features::{DecodeOptions, FeatureConfig};
use specnorm_folds::{Dataset, Item, Layout};

use crate::{Axes, PipelineError, Shard};

/// A seeded random fraction of the training clips (`--sample`, `--seed`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Fraction in `(0, 1]`.
    pub fraction: f64,
    /// Seed of the shuffle.
    pub seed: u64,
}

impl Sample {
    /// Chooses `round(fraction * len)` (at least one) of `items` with a seeded ChaCha8 shuffle and
    /// returns them sorted by file name.
    pub fn choose(&self, mut items: Vec<Item>) -> Result<Vec<Item>, PipelineError> {
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(PipelineError::Sample(format!(
                "--sample must be in (0, 1], got {}",
                self.fraction
            )));
        }
        let n =
            ((items.len() as f64 * self.fraction).round() as usize).clamp(1, items.len().max(1));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        items.shuffle(&mut rng);
        items.truncate(n);
        items.sort_by(|a, b| a.filename.cmp(&b.filename));
        Ok(items)
    }
}

/// Options of a dataset statistics run (`specnorm stats`). `Default` is the CLI's default.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsRequest {
    /// The held-out fold; statistics come from all other folds.
    pub valid_fold: u32,
    /// Axes of the written statistics.
    pub axes: Axes,
    /// Use a seeded fraction of the training clips.
    pub sample: Option<Sample>,
    /// The share of the (sampled) training clips to reduce.
    pub shard: Shard,
    /// Clips decoded in parallel per step (bounds memory; does not change the result).
    pub batch_size: usize,
    /// Leave out clips that fail to decode (they are listed) instead of failing.
    pub skip_bad: bool,
    /// Accept truncated clips (header declares more data than the file holds): their present
    /// part contributes, they are listed, and the provenance counts them (`--allow-truncated`).
    pub allow_truncated: bool,
    /// The feature front end.
    pub features: FeatureConfig,
}

impl Default for StatsRequest {
    fn default() -> Self {
        Self {
            valid_fold: 1,
            axes: Axes::Channel,
            sample: None,
            shard: Shard::FULL,
            batch_size: 64,
            skip_bad: false,
            allow_truncated: false,
            features: FeatureConfig::default(),
        }
    }
}

/// What must agree for partial results to be merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSource {
    /// The dataset root as given (informational; not compared, nodes may mount it elsewhere).
    pub dataset: String,
    /// The layout the dataset was read in (ESC-50 for partial files written before layouts).
    #[serde(default)]
    pub layout: Layout,
    /// [`dataset_fingerprint`] of the metadata.
    pub fingerprint: String,
    /// The held-out fold.
    pub valid_fold: u32,
    /// The folds the statistics come from.
    pub train_folds: Vec<u32>,
    /// Axes of the written statistics.
    pub axes: Axes,
    /// Sampling, if any.
    pub sample: Option<Sample>,
    /// The feature front end.
    pub features: FeatureConfig,
    /// Digest of the whole (sampled) training clip list, before sharding.
    pub clips_digest: String,
}

/// A resolved run: the clips of one shard and the source description it will record.
#[derive(Clone, Debug)]
pub struct StatsPlan {
    /// What the result will say about its origin.
    pub source: StatsSource,
    /// The shard.
    pub shard: Shard,
    /// The clips of this shard, in reduction order.
    pub clips: Vec<Item>,
    /// [`clip_list_digest`] of `clips`.
    pub shard_digest: String,
    /// Clips decoded in parallel per step.
    pub batch_size: usize,
    /// Leave out bad clips instead of failing.
    pub skip_bad: bool,
    /// How clips are decoded (`allow_truncated`).
    pub decode: DecodeOptions,
}

/// SHA-256 (hex, `sha256:` prefix) of `parts` with separators, so no two lists collide by
/// concatenation.
fn digest<'a>(domain: &str, rows: impl Iterator<Item = String> + 'a) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update(b"\n");
    for r in rows {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
    let bytes = h.finalize();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Fingerprint of a dataset: SHA-256 over every metadata row (file name, fold, target, category)
/// in CSV order and each audio file's size in bytes. Independent of where the dataset is mounted;
/// changes when a clip is added, removed, relabelled, moved to another fold or rewritten with a
/// different length. Errors name a file that cannot be read.
pub fn dataset_fingerprint(ds: &Dataset) -> Result<String, PipelineError> {
    let mut rows = Vec::with_capacity(ds.items().len());
    for it in ds.items() {
        let len = std::fs::metadata(&it.path)
            .map_err(|source| PipelineError::Io {
                path: it.path.clone(),
                source,
            })?
            .len();
        rows.push(format!(
            "{}\t{}\t{}\t{}\t{len}",
            it.filename, it.fold, it.target, it.category
        ));
    }
    Ok(digest("specnorm-dataset-v1", rows.into_iter()))
}

/// Digest of a clip list: SHA-256 over the file names in order.
pub fn clip_list_digest(items: &[Item]) -> String {
    digest(
        "specnorm-clips-v1",
        items.iter().map(|i| i.filename.clone()),
    )
}

impl StatsPlan {
    /// Resolves `req` against `ds`: checks that every listed file exists (all missing files are
    /// reported at once), holds out the validation fold, samples, and selects the shard. The
    /// extractor that runs the plan must decode with [`StatsPlan::decode`]
    /// ([`FeatureExtractor::with_decode_options`](specnorm_features::FeatureExtractor::with_decode_options)).
    pub fn new(ds: &Dataset, req: &StatsRequest) -> Result<StatsPlan, PipelineError> {
        ds.check_files()?;
        let split = ds.split(req.valid_fold)?;
        let train = match &req.sample {
            Some(s) => s.choose(split.train)?,
            None => split.train,
        };
        let clips = req.shard.select(&train);
        let source = StatsSource {
            dataset: ds.root().display().to_string(),
            layout: ds.layout().clone(),
            fingerprint: dataset_fingerprint(ds)?,
            valid_fold: req.valid_fold,
            train_folds: split.train_folds,
            axes: req.axes,
            sample: req.sample,
            features: req.features.clone(),
            clips_digest: clip_list_digest(&train),
        };
        Ok(StatsPlan {
            source,
            shard: req.shard,
            shard_digest: clip_list_digest(&clips),
            clips,
            batch_size: req.batch_size.max(1),
            skip_bad: req.skip_bad,
            decode: DecodeOptions {
                allow_truncated: req.allow_truncated,
            },
        })
    }
}
