//! [`FeatureExtractor`]: the one place that writes down the front end's order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use ndarray::{Array2, ArrayViewMut2};
use rayon::prelude::*;
use specnorm_audio::{AudioError, AudioInfo, DecodeOptions, Resampler, Truncation};
use specnorm_dsp::SpectrogramPlan;

use crate::{FeatureConfig, FeatureError, MAX_WAVEFORM_SAMPLES};

/// The stages of the front end, in the order they run. An observer passed to
/// [`FeatureExtractor::extract_file_observed`] is told each one as it finishes
/// (this is how `specnorm bench` times the stages of the real pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The file's bytes were read (file inputs only).
    Read,
    /// The bytes were decoded and mixed to mono (not for sample inputs).
    Decode,
    /// The waveform was resampled to the target rate (or copied, at that rate).
    Resample,
    /// Waveform normalization and padding/trimming were applied.
    Normalize,
    /// The spectrogram was computed.
    Spectrogram,
}

/// Buffers a thread reuses from clip to clip, so a stream of clips of similar
/// size allocates (and page-faults) nothing after the first one.
#[derive(Default)]
struct Scratch {
    bytes: Vec<u8>,
    decoded: Vec<f32>,
    wave: Vec<f32>,
}

impl Scratch {
    /// Drop buffers a very long clip grew beyond what typical clips need, so
    /// one outlier does not pin its memory on every thread for the run.
    fn trim(&mut self) {
        const KEEP_BYTES: usize = 16 << 20;
        let f32s = KEEP_BYTES / std::mem::size_of::<f32>();
        if self.bytes.capacity() > KEEP_BYTES {
            self.bytes = Vec::new();
        }
        if self.decoded.capacity() > f32s {
            self.decoded = Vec::new();
        }
        if self.wave.capacity() > f32s {
            self.wave = Vec::new();
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What a call starts from.
#[derive(Clone, Copy)]
enum Input<'a> {
    File(&'a Path),
    Bytes(&'a [u8], &'a Path),
    Samples(&'a [f32], u32),
}

impl Input<'_> {
    fn source(&self) -> &Path {
        match self {
            Input::File(p) | Input::Bytes(_, p) => p,
            Input::Samples(..) => Path::new("<memory>"),
        }
    }
}

/// A clip that was accepted although truncated ([`DecodeOptions::allow_truncated`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncatedClip {
    /// The file.
    pub path: PathBuf,
    /// What its header declared and what it held.
    pub truncation: Truncation,
}

impl std::fmt::Display for TruncatedClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.truncation)
    }
}

/// A planned front end: FFT plans, window, mel matrix and resamplers are built
/// once and shared by every call (it is `Send + Sync`).
///
/// Decoding follows [`DecodeOptions`] ([`Self::with_decode_options`]; strict by default: a
/// truncated clip is an error). Clips accepted although truncated are recorded and handed out by
/// [`Self::take_truncated`], so a caller can list them.
pub struct FeatureExtractor {
    cfg: FeatureConfig,
    plan: SpectrogramPlan,
    resamplers: RwLock<HashMap<u32, Arc<Resampler>>>,
    decode: DecodeOptions,
    truncated: Mutex<Vec<TruncatedClip>>,
}

impl std::fmt::Debug for FeatureExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureExtractor")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl FeatureExtractor {
    /// Plan the front end for `cfg`.
    pub fn new(cfg: FeatureConfig) -> Result<Self, FeatureError> {
        cfg.validate()?;
        let plan = SpectrogramPlan::new(&cfg.spectrogram, cfg.sample_rate)
            .map_err(|e| FeatureError::Config(e.to_string()))?;
        Ok(Self {
            cfg,
            plan,
            resamplers: RwLock::new(HashMap::new()),
            decode: DecodeOptions::default(),
            truncated: Mutex::new(Vec::new()),
        })
    }

    /// Decode files with `opts` (builder style). The options are not part of the
    /// [`FeatureConfig`]: they decide which files are accepted, not what a feature looks like.
    pub fn with_decode_options(mut self, opts: DecodeOptions) -> Self {
        self.decode = opts;
        self
    }

    /// The decoding options in use.
    pub fn decode_options(&self) -> DecodeOptions {
        self.decode
    }

    /// The clips accepted although truncated since the last call, sorted by path (each once),
    /// and forgets them.
    pub fn take_truncated(&self) -> Vec<TruncatedClip> {
        let mut v = match self.truncated.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v.dedup_by(|a, b| a.path == b.path);
        v
    }

    /// Remember a clip accepted although truncated.
    fn note(&self, source: &Path, info: &AudioInfo) {
        if let Some(truncation) = info.truncated {
            let clip = TruncatedClip {
                path: source.to_path_buf(),
                truncation,
            };
            match self.truncated.lock() {
                Ok(mut g) => g.push(clip),
                Err(p) => p.into_inner().push(clip),
            }
        }
    }

    /// The configuration this extractor was planned for.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// Frequency (or mel) bins per frame.
    pub fn n_bins(&self) -> usize {
        self.plan.n_bins()
    }

    /// Frames per clip when the duration is fixed.
    pub fn n_frames(&self) -> Option<usize> {
        self.cfg.target_len().map(|n| self.plan.n_frames(n))
    }

    fn resampler(&self, from: u32) -> Result<Arc<Resampler>, AudioError> {
        if let Ok(map) = self.resamplers.read() {
            if let Some(r) = map.get(&from) {
                return Ok(r.clone());
            }
        }
        let r = Arc::new(Resampler::new(from, self.cfg.sample_rate)?);
        if let Ok(mut map) = self.resamplers.write() {
            map.insert(from, r.clone());
        }
        Ok(r)
    }

    /// Resample, normalize and pad mono `samples` at `sample_rate`: the waveform
    /// the spectrogram is computed from.
    pub fn prepare_waveform(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Vec<f32>, AudioError> {
        let mut wave = Vec::new();
        self.resample_into(samples, sample_rate, &mut wave)?;
        self.finish_waveform(&mut wave);
        Ok(wave)
    }

    /// Resample (or copy) `samples` into `wave`, reserving room for the padding.
    fn resample_into(
        &self,
        samples: &[f32],
        sample_rate: u32,
        wave: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        let padded = self.cfg.target_len().unwrap_or(0);
        if sample_rate == self.cfg.sample_rate {
            wave.clear();
            wave.reserve(samples.len().max(padded));
            wave.extend_from_slice(samples);
        } else {
            let r = self.resampler(sample_rate)?;
            wave.reserve(r.output_len(samples.len()).max(padded));
            r.process_into(samples, wave);
        }
        Ok(())
    }

    /// Waveform normalization and padding/trimming, in place.
    fn finish_waveform(&self, wave: &mut Vec<f32>) {
        if self.cfg.waveform_norm {
            specnorm_audio::normalize_waveform(wave);
        }
        if let Some(n) = self.cfg.target_len() {
            specnorm_audio::pad_or_trim(wave, n);
        }
    }

    /// Refuse clips whose resampled waveform would exceed [`MAX_WAVEFORM_SAMPLES`].
    fn check_len(
        &self,
        frames: usize,
        sample_rate: u32,
        source: &Path,
    ) -> Result<(), FeatureError> {
        let target = self.cfg.sample_rate;
        let samples = if sample_rate == 0 || sample_rate == target {
            frames as u128
        } else {
            (frames as u128 * u128::from(target)).div_ceil(u128::from(sample_rate))
        };
        if samples > u128::from(MAX_WAVEFORM_SAMPLES) {
            return Err(FeatureError::TooLong {
                path: source.to_path_buf(),
                frames: frames as u64,
                sample_rate,
                target_rate: target,
                samples: u64::try_from(samples).unwrap_or(u64::MAX),
                max: MAX_WAVEFORM_SAMPLES,
            });
        }
        Ok(())
    }

    /// The front end's order, written once: read, decode, length guard,
    /// resample, normalize and pad into `s.wave`, reporting each stage to `done`.
    fn prepare(
        &self,
        input: Input<'_>,
        s: &mut Scratch,
        done: &mut dyn FnMut(Stage),
    ) -> Result<(), FeatureError> {
        let source = input.source();
        let decode = |bytes: &[u8], decoded: &mut Vec<f32>, done: &mut dyn FnMut(Stage)| {
            let info = specnorm_audio::decode_into_with(bytes, source, decoded, self.decode)?;
            self.note(source, &info);
            done(Stage::Decode);
            Ok::<_, FeatureError>(info.sample_rate)
        };
        let (samples, rate, owned): (&[f32], u32, bool) = match input {
            Input::File(path) => {
                specnorm_audio::read_file_into(path, &mut s.bytes)?;
                done(Stage::Read);
                let rate = decode(&s.bytes, &mut s.decoded, done)?;
                (&s.decoded, rate, true)
            }
            Input::Bytes(bytes, _) => {
                let rate = decode(bytes, &mut s.decoded, done)?;
                (&s.decoded, rate, true)
            }
            Input::Samples(samples, rate) => {
                specnorm_audio::check_samples(samples, source)?;
                (samples, rate, false)
            }
        };
        self.check_len(samples.len(), rate, source)?;
        if owned && rate == self.cfg.sample_rate {
            // Decoded at the target rate: normalize that buffer, no copy.
            std::mem::swap(&mut s.decoded, &mut s.wave);
        } else {
            self.resample_into(samples, rate, &mut s.wave)?;
        }
        done(Stage::Resample);
        self.finish_waveform(&mut s.wave);
        done(Stage::Normalize);
        Ok(())
    }

    /// Run [`Self::prepare`] on this thread's scratch and hand the waveform to `f`.
    fn with_waveform<R>(
        &self,
        input: Input<'_>,
        done: &mut dyn FnMut(Stage),
        f: impl FnOnce(&[f32]) -> Result<R, specnorm_dsp::DspError>,
    ) -> Result<R, FeatureError> {
        let source = input.source();
        let run = |s: &mut Scratch, done: &mut dyn FnMut(Stage)| {
            self.prepare(input, s, done)?;
            let r = f(&s.wave).map_err(|source_err| FeatureError::Dsp {
                path: source.to_path_buf(),
                source: source_err,
            })?;
            done(Stage::Spectrogram);
            s.trim();
            Ok(r)
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => run(&mut s, done),
            // Only reachable if `done` re-enters the extractor: use fresh buffers.
            Err(_) => run(&mut Scratch::default(), done),
        })
    }

    fn extract(
        &self,
        input: Input<'_>,
        done: &mut dyn FnMut(Stage),
    ) -> Result<Array2<f32>, FeatureError> {
        self.with_waveform(input, done, |wave| self.plan.compute(wave))
    }

    fn extract_into(&self, input: Input<'_>, out: ArrayViewMut2<f32>) -> Result<(), FeatureError> {
        self.with_waveform(input, &mut |_| {}, |wave| self.plan.compute_into(wave, out))
    }

    /// Features of mono samples already in memory.
    pub fn extract_samples(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Array2<f32>, FeatureError> {
        self.extract(Input::Samples(samples, sample_rate), &mut |_| {})
    }

    /// Features of an encoded file held in memory; `source` names it in errors.
    pub fn extract_bytes(&self, bytes: &[u8], source: &Path) -> Result<Array2<f32>, FeatureError> {
        self.extract(Input::Bytes(bytes, source), &mut |_| {})
    }

    /// The waveform of one audio file as the spectrogram would see it: decoded, mixed to
    /// mono, resampled to [`FeatureConfig::sample_rate`], normalized and padded as configured
    /// (with `waveform_norm: false, seconds: None`: decoding and resampling only, what runs
    /// outside a waveform-input ONNX model). Same length guard as [`Self::extract_file`].
    pub fn load_waveform(&self, path: &Path) -> Result<Vec<f32>, FeatureError> {
        let audio = specnorm_audio::load_with(path, self.decode)?;
        self.note(path, &audio.info);
        self.check_len(audio.samples.len(), audio.info.sample_rate, path)?;
        Ok(self.prepare_waveform(&audio.samples, audio.info.sample_rate)?)
    }

    /// Features of one audio file.
    pub fn extract_file(&self, path: &Path) -> Result<Array2<f32>, FeatureError> {
        self.extract(Input::File(path), &mut |_| {})
    }

    /// [`Self::extract_file`], calling `done` as each [`Stage`] finishes (for
    /// timing the stages of exactly this pipeline).
    pub fn extract_file_observed(
        &self,
        path: &Path,
        done: &mut dyn FnMut(Stage),
    ) -> Result<Array2<f32>, FeatureError> {
        self.extract(Input::File(path), done)
    }

    /// [`Self::extract_file`] writing into `out`, which must be `[n_bins,
    /// n_frames]` for this clip (a batch slot, say): nothing is allocated per
    /// clip once this thread has seen a clip of this size.
    pub fn extract_file_into(
        &self,
        path: &Path,
        out: ArrayViewMut2<f32>,
    ) -> Result<(), FeatureError> {
        self.extract_into(Input::File(path), out)
    }

    /// [`Self::extract_bytes`] writing into `out` (see [`Self::extract_file_into`]).
    pub fn extract_bytes_into(
        &self,
        bytes: &[u8],
        source: &Path,
        out: ArrayViewMut2<f32>,
    ) -> Result<(), FeatureError> {
        self.extract_into(Input::Bytes(bytes, source), out)
    }

    /// Features of many files in parallel (rayon), in input order. `progress`
    /// is called once per finished file with the number finished so far.
    pub fn extract_files(
        &self,
        paths: &[PathBuf],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Result<Array2<f32>, FeatureError>> {
        let done = std::sync::atomic::AtomicUsize::new(0);
        paths
            .par_iter()
            .map(|p| {
                let r = self.extract_file(p);
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                r
            })
            .collect()
    }
}
