//! Finalized statistics, their provenance, and JSON / `.npy` persistence.

use crate::{check_keep_dims, StatsError};
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Value of the `"format"` field of a stats JSON document.
pub const FORMAT_NAME: &str = "specnorm-stats";
/// Value of the `"version"` field of a stats JSON document written by this crate.
pub const FORMAT_VERSION: u32 = 1;

/// Where a set of statistics came from. Used by the normalization crate's leakage guard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Dataset name or root.
    pub dataset: String,
    /// Folds the statistics were computed on (must not include the validation fold).
    pub folds: Vec<u32>,
    /// Number of clips that contributed.
    pub clips: u64,
    /// Fraction of the eligible clips that was sampled (1.0 = all).
    pub sample_fraction: f64,
    /// Feature-extraction configuration, opaque to this crate.
    pub features: serde_json::Value,
    /// The dataset layout the clips were listed with (e.g. `{"layout":"esc50","esc10":false}`),
    /// opaque to this crate; `null` in files written before layouts were recorded.
    #[serde(default)]
    pub layout: serde_json::Value,
    /// Free-form note.
    pub note: Option<String>,
    /// How the statistics were assembled from shards; `None` for a single run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardProvenance>,
    /// Clips whose header declared more audio data than the file held, accepted with
    /// `--allow-truncated` (their present part contributed); 0, and absent from the file, unless
    /// that flag was given.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated_accepted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Which shards of a sharded statistics run were merged (see `specnorm stats merge`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProvenance {
    /// Number of shards the training clips were split into.
    pub count: u32,
    /// The shards whose clips contributed (1-based, ascending).
    pub merged: Vec<u32>,
    /// Shards that were absent and accepted with `--allow-partial` (empty for a complete merge).
    pub missing: Vec<u32>,
    /// Digest of each merged shard's clip list, in the order of `merged`.
    pub clip_digests: Vec<String>,
}

impl Default for Provenance {
    fn default() -> Self {
        Self {
            dataset: String::new(),
            folds: Vec::new(),
            clips: 0,
            sample_fraction: 1.0,
            features: serde_json::Value::Null,
            layout: serde_json::Value::Null,
            note: None,
            shards: None,
            truncated_accepted: 0,
        }
    }
}

/// Finalized per-group statistics. All arrays have the keep-dims [`shape`](Self::shape)
/// (e.g. `[1,1,1,1]` global, `[1,1,201,1]` per frequency bin), so they broadcast against batches.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Mean per group.
    pub mean: ArrayD<f64>,
    /// Population standard deviation (divides by n).
    pub std: ArrayD<f64>,
    /// Sample standard deviation (divides by n-1; defined as 0 when a group has a single element).
    pub sample_std: ArrayD<f64>,
    /// Element count per group, row-major over `shape`.
    pub count: Vec<u64>,
    /// Reduced axes, sorted.
    pub axes: Vec<usize>,
    /// Keep-dims shape (reduced axes are 1).
    pub shape: Vec<usize>,
    /// Where the statistics came from.
    pub provenance: Provenance,
}

/// On-disk JSON layout (flat row-major arrays; readable from Python with `json` + `numpy.reshape`).
#[derive(Serialize, Deserialize)]
struct StatsDoc {
    format: String,
    version: u32,
    axes: Vec<usize>,
    shape: Vec<usize>,
    count: Vec<u64>,
    mean: Vec<f64>,
    std: Vec<f64>,
    sample_std: Vec<f64>,
    #[serde(default)]
    provenance: Provenance,
}

impl Stats {
    /// Replaces the provenance (builder style).
    pub fn with_provenance(mut self, provenance: Provenance) -> Self {
        self.provenance = provenance;
        self
    }

    /// Number of groups (product of `shape`).
    pub fn groups(&self) -> usize {
        self.shape.iter().product()
    }

    /// Mean as `f32` (keep-dims shape).
    pub fn mean_f32(&self) -> ArrayD<f32> {
        self.mean.mapv(|v| v as f32)
    }

    /// Population std as `f32` (keep-dims shape).
    pub fn std_f32(&self) -> ArrayD<f32> {
        self.std.mapv(|v| v as f32)
    }

    /// Serializes to pretty JSON (see [`FORMAT_NAME`]).
    pub fn to_json(&self) -> Result<String, StatsError> {
        let doc = StatsDoc {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            axes: self.axes.clone(),
            shape: self.shape.clone(),
            count: self.count.clone(),
            mean: self.mean.iter().copied().collect(),
            std: self.std.iter().copied().collect(),
            sample_std: self.sample_std.iter().copied().collect(),
            provenance: self.provenance.clone(),
        };
        serde_json::to_string_pretty(&doc).map_err(|source| StatsError::Json { source, path: None })
    }

    /// Parses and validates a JSON document written by [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Stats, StatsError> {
        Self::from_json_impl(text, None)
    }

    fn from_json_impl(text: &str, path: Option<&Path>) -> Result<Stats, StatsError> {
        let path = path.map(Path::to_path_buf);
        let doc: StatsDoc = serde_json::from_str(text).map_err(|source| StatsError::Json {
            source,
            path: path.clone(),
        })?;
        let invalid = |message: String| StatsError::Invalid {
            message,
            path: path.clone(),
        };
        if doc.format != FORMAT_NAME {
            return Err(invalid(format!(
                "format is {:?}, expected {FORMAT_NAME:?}",
                doc.format
            )));
        }
        if doc.version != FORMAT_VERSION {
            return Err(invalid(format!(
                "unsupported version {} (this build reads {FORMAT_VERSION})",
                doc.version
            )));
        }
        let (axes, g) = check_keep_dims(&doc.axes, &doc.shape, "elements").map_err(invalid)?;
        if axes != doc.axes {
            return Err(invalid(format!("axes {:?} are not sorted", doc.axes)));
        }
        for (name, len) in [
            ("count", doc.count.len()),
            ("mean", doc.mean.len()),
            ("std", doc.std.len()),
            ("sample_std", doc.sample_std.len()),
        ] {
            if len != g {
                return Err(invalid(format!(
                    "{name} has {len} values, shape {:?} needs {g}",
                    doc.shape
                )));
            }
        }
        if let Some(i) = doc.mean.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!("mean[{i}] is not finite")));
        }
        for (name, v) in [("std", &doc.std), ("sample_std", &doc.sample_std)] {
            if let Some(i) = v.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(invalid(format!(
                    "{name}[{i}] = {} is not a finite value >= 0",
                    v[i]
                )));
            }
        }
        let arr = |v: Vec<f64>| {
            // lengths were checked against the shape product above
            ArrayD::from_shape_vec(IxDyn(&doc.shape), v).expect("length checked")
        };
        Ok(Stats {
            mean: arr(doc.mean),
            std: arr(doc.std),
            sample_std: arr(doc.sample_std),
            count: doc.count,
            axes,
            shape: doc.shape,
            provenance: doc.provenance,
        })
    }

    /// Writes JSON atomically (temporary file in the same directory, then rename).
    pub fn save_json(&self, path: &Path) -> Result<(), StatsError> {
        let text = self.to_json()?;
        specnorm_atomic::write(path, text.as_bytes()).map_err(|source| StatsError::Io {
            source,
            path: path.to_path_buf(),
        })
    }

    /// Reads and validates a JSON stats file.
    pub fn load_json(path: &Path) -> Result<Stats, StatsError> {
        let text = std::fs::read_to_string(path).map_err(|source| StatsError::Io {
            source,
            path: path.to_path_buf(),
        })?;
        Self::from_json_impl(&text, Some(path))
    }

    /// Writes mean and population std as little-endian `f32` `.npy` files with the keep-dims
    /// shape (e.g. `(1, 1, 201, 1)`), loadable with `numpy.load` / `torch.from_numpy`.
    /// Each file is written atomically.
    pub fn save_npy(&self, mean_path: &Path, std_path: &Path) -> Result<(), StatsError> {
        write_npy_atomic(mean_path, &self.mean_f32())?;
        write_npy_atomic(std_path, &self.std_f32())
    }
}

/// Why writing one `.npy`/`.npz` file failed.
pub(crate) enum NpyWriteError {
    Io(std::io::Error),
    Npy(String),
}

impl From<std::io::Error> for NpyWriteError {
    fn from(e: std::io::Error) -> Self {
        NpyWriteError::Io(e)
    }
}

/// Runs `f` on a temporary sibling of `path` and renames it into place (see `specnorm-atomic`).
pub(crate) fn write_numpy_atomic(
    path: &Path,
    f: impl FnOnce(&Path) -> Result<(), NpyWriteError>,
) -> Result<(), StatsError> {
    specnorm_atomic::write_with(path, f).map_err(|e| match e {
        NpyWriteError::Io(source) => StatsError::Io {
            source,
            path: path.to_path_buf(),
        },
        NpyWriteError::Npy(message) => StatsError::Npy {
            message,
            path: path.to_path_buf(),
        },
    })
}

fn write_npy_atomic(path: &Path, arr: &ArrayD<f32>) -> Result<(), StatsError> {
    use ndarray_npy::WriteNpyExt;
    write_numpy_atomic(path, |tmp| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(tmp)?);
        arr.write_npy(&mut w)
            .map_err(|e| NpyWriteError::Npy(e.to_string()))?;
        w.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    })
}
