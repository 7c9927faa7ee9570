//! [`Classifier::predict_files`]: audio files in, top-k out, batched by length.

use std::path::PathBuf;

use rayon::prelude::*;
use specnorm_contract::ModelInput;

use crate::{softmax, top_k, Classifier, InferError, Prediction, MAX_BATCH};

/// One decoded file ready for the graph: its index, its length (frames T or samples S) and
/// the row-major data.
struct Ready {
    index: usize,
    len: usize,
    data: Vec<f32>,
}

impl Classifier {
    /// What goes into the graph for one file: features `[F, T]` (spectrogram model) or the
    /// resampled waveform (waveform model).
    fn prepare(&self, path: &std::path::Path) -> Result<(usize, Vec<f32>), InferError> {
        let features = |source| InferError::Features {
            path: path.to_path_buf(),
            source,
        };
        match self.meta.input {
            ModelInput::Spectrogram => {
                let spec = self.extractor.extract_file(path).map_err(features)?;
                let (f, t) = spec.dim();
                if f != self.meta.n_freq {
                    return Err(InferError::Shape(format!(
                        "{}: features have {f} bins, the model takes {}",
                        path.display(),
                        self.meta.n_freq
                    )));
                }
                Ok((t, spec.iter().copied().collect()))
            }
            ModelInput::Waveform { .. } => {
                let wave = self.extractor.load_waveform(path).map_err(features)?;
                Ok((wave.len(), wave))
            }
        }
    }

    /// Classifies audio files: decode, the front end outside the graph (features from the
    /// model's feature config, or only resampling for a waveform model), model, softmax,
    /// top-k. Inputs of equal length are batched (up to [`MAX_BATCH`]). One result per path,
    /// in order; a failing file does not affect the others.
    pub fn predict_files(&self, paths: &[PathBuf]) -> Vec<Result<Prediction, InferError>> {
        let mut results: Vec<Option<Result<Prediction, InferError>>> =
            paths.iter().map(|_| None).collect();
        let prepared: Vec<_> = paths.par_iter().map(|p| self.prepare(p)).collect();
        let mut ready = Vec::new();
        for (index, r) in prepared.into_iter().enumerate() {
            match r {
                Ok((len, data)) => ready.push(Ready { index, len, data }),
                Err(e) => results[index] = Some(Err(e)),
            }
        }
        let mut start = 0;
        while start < ready.len() {
            let len = ready[start].len;
            let mut end = start + 1;
            while end < ready.len() && end - start < MAX_BATCH && ready[end].len == len {
                end += 1;
            }
            let batch = &ready[start..end];
            let x: Vec<f32> = batch.iter().flat_map(|r| r.data.iter().copied()).collect();
            let n = batch.len();
            let logits = match self.meta.input {
                ModelInput::Spectrogram => self.logits_features(&x, [n, 1, self.meta.n_freq, len]),
                ModelInput::Waveform { .. } => self.logits_waveform(&x, [n, len]),
            };
            match logits {
                Ok(rows) => {
                    for (r, l) in batch.iter().zip(rows) {
                        results[r.index] = Some(Ok(Prediction {
                            path: paths[r.index].clone(),
                            top: top_k(&softmax(&l), &self.meta.class_names, self.top_k),
                        }));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for r in batch {
                        results[r.index] = Some(Err(InferError::Ort(msg.clone())));
                    }
                }
            }
            start = end;
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                // Every index is filled above: either an error or a batch result.
                r.unwrap_or_else(|| {
                    Err(InferError::Ort(format!("{}: not run", paths[i].display())))
                })
            })
            .collect()
    }
}
