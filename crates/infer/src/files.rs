//! [`audio_files`]: the audio files under files and folders; [`Classifier::predict_files`]:
//! audio files in, top-k out, batched by length.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use specnorm_contract::ModelInput;

use crate::{softmax, top_k, Classifier, InferError, Prediction, MAX_BATCH};

/// File extensions [`audio_files`] takes from folders (compared case-insensitively).
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "wave", "flac", "ogg", "oga", "mp3"];

/// The audio files of `inputs`, in order: a file is taken as given (a missing one is reported
/// by the decoder, with the others); a folder is walked recursively (symbolic links followed),
/// and its files with one of [`AUDIO_EXTENSIONS`] are taken sorted by path.
pub fn audio_files<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<PathBuf>, InferError> {
    let mut out = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        if !input.is_dir() {
            out.push(input.to_path_buf());
            continue;
        }
        let walk = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walk {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(input).to_path_buf();
                InferError::Io {
                    path,
                    source: e.into(),
                }
            })?;
            let is_audio = entry
                .path()
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
            if is_audio && !entry.file_type().is_dir() {
                out.push(entry.into_path());
            }
        }
    }
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_sorted_and_filtered_files_taken_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("b/inner")).unwrap();
        for f in ["b/inner/z.WAV", "b/a.flac", "b/notes.txt", "a.mp3", "c.ogg"] {
            std::fs::write(d.join(f), b"").unwrap();
        }
        let got =
            audio_files(&[d.join("b"), d.join("missing.wav"), d.join("b/notes.txt")]).unwrap();
        let want = [
            d.join("b/a.flac"),
            d.join("b/inner/z.WAV"),
            d.join("missing.wav"),
            d.join("b/notes.txt"),
        ];
        assert_eq!(got, want);
        assert_eq!(audio_files(&[d]).unwrap().len(), 4);
    }
}
