//! The dataset pass: decode and featurize clips in parallel, reduce them in a fixed order.

use rayon::prelude::*;
use specnorm_features::FeatureExtractor;
use specnorm_folds::Dataset;

use crate::{DatasetStats, PipelineError, ShardPart, SpectrogramStats, StatsPlan, StatsRequest};

impl StatsPlan {
    /// Reduces this plan's clips with `fx` (which must be planned for `source.features`).
    ///
    /// Clips are processed `batch_size` at a time: each clip is featurized and reduced to its own
    /// [`SpectrogramStats`] in parallel (rayon), then the per-clip results are merged in clip order,
    /// so the result is the same, bit for bit, for any thread count or batch size, and equals
    /// pushing the clips' spectrograms into one [`SpectrogramStats`] in order. `progress` is called
    /// once per finished clip. A clip that fails is listed with its file name and reason; without
    /// `skip_bad` the run goes on to list every bad clip, then fails with all of them. Clips
    /// accepted although truncated (`allow_truncated`) are listed in [`DatasetStats::truncated`].
    pub fn run(
        &self,
        fx: &FeatureExtractor,
        progress: &(dyn Fn() + Sync),
    ) -> Result<DatasetStats, PipelineError> {
        if fx.config() != &self.source.features {
            return Err(PipelineError::Config(
                "the feature extractor is not planned for the request's feature configuration"
                    .into(),
            ));
        }
        if fx.decode_options() != self.decode {
            return Err(PipelineError::Config(format!(
                "the feature extractor decodes with {:?} but the plan asks for {:?}",
                fx.decode_options(),
                self.decode
            )));
        }
        // Forget what an earlier run of this extractor accepted.
        fx.take_truncated();
        let mut acc = SpectrogramStats::new();
        let mut bad = Vec::new();
        for chunk in self.clips.chunks(self.batch_size) {
            let per_clip: Vec<Result<SpectrogramStats, String>> = chunk
                .par_iter()
                .map(|item| {
                    let r = fx
                        .extract_file(&item.path)
                        .map_err(|e| e.to_string())
                        .and_then(|spec| {
                            SpectrogramStats::of_clip(spec.view())
                                .map_err(|e| format!("{}: {e}", item.path.display()))
                        });
                    progress();
                    r
                })
                .collect();
            for r in per_clip {
                match r {
                    Ok(s) if bad.is_empty() || self.skip_bad => acc.merge(&s)?,
                    Ok(_) => {}
                    Err(e) => bad.push(e),
                }
            }
        }
        if !bad.is_empty() && !self.skip_bad {
            return Err(PipelineError::BadFiles(bad));
        }
        let truncated: Vec<String> = fx
            .take_truncated()
            .into_iter()
            .filter(|t| {
                let prefix = format!("{}:", t.path.display());
                !bad.iter().any(|b| b.starts_with(&prefix))
            })
            .map(|t| t.to_string())
            .collect();
        Ok(DatasetStats {
            source: self.source.clone(),
            shard_count: self.shard.count(),
            parts: vec![ShardPart {
                shard: self.shard.index(),
                clips: acc.clips(),
                digest: self.shard_digest.clone(),
                bad: bad.len() as u64,
                truncated: truncated.len() as u64,
            }],
            bad,
            truncated,
            spectrogram: acc,
        })
    }
}

/// Statistics of a dataset's training clips (or of one shard of them): the one library function
/// behind `specnorm stats`, the experiment's file-based statistics and the Python package.
///
/// Resolves `req` ([`StatsPlan::new`]: files checked, validation fold held out, `--sample`,
/// `--shard`), plans the front end and reduces the clips ([`StatsPlan::run`]). The result holds the
/// exact accumulator state; [`DatasetStats::finish`] turns it into the [`Stats`](specnorm_stats::Stats)
/// to write, [`DatasetStats::save`] writes it as a partial file for `specnorm stats merge`.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # std::fs::create_dir_all(dir.path().join("meta"))?;
/// # std::fs::create_dir_all(dir.path().join("audio"))?;
/// # let mut csv = String::from("filename,fold,target,category\n");
/// # for (i, fold) in [1, 2, 2, 3].iter().enumerate() {
/// #     let name = format!("{fold}-{i}.wav");
/// #     let tone: Vec<f32> = (0..8000).map(|n| (n as f32 * 0.05 * (i + 1) as f32).sin() * 0.3).collect();
/// #     specnorm_audio::write_wav(&dir.path().join("audio").join(&name), &tone, 16_000, 1, specnorm_audio::WavFormat::Pcm16)?;
/// #     csv += &format!("{name},{fold},0,tone\n");
/// # }
/// # std::fs::write(dir.path().join("meta/esc50.csv"), csv)?;
/// use specnorm_folds::Dataset;
/// use specnorm_pipeline::{dataset_stats, Axes, StatsRequest};
///
/// let ds = Dataset::open(dir.path())?; // ESC-50 layout: meta/esc50.csv, audio/
/// let req = StatsRequest { valid_fold: 1, axes: Axes::Global, ..StatsRequest::default() };
/// let run = dataset_stats(&ds, &req, &|| {})?;
/// assert_eq!(run.spectrogram.clips(), 3); // folds 2 and 3
/// let out = run.finish(false)?;
/// assert_eq!(out.stats.shape, vec![1, 1, 1, 1]);
/// assert_eq!(out.stats.provenance.folds, vec![2, 3]);
/// assert_eq!(out.channel.shape, vec![1, 1, 201, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dataset_stats(
    ds: &Dataset,
    req: &StatsRequest,
    progress: &(dyn Fn() + Sync),
) -> Result<DatasetStats, PipelineError> {
    let plan = StatsPlan::new(ds, req)?;
    let fx = FeatureExtractor::new(req.features.clone())?.with_decode_options(plan.decode);
    plan.run(&fx, progress)
}
