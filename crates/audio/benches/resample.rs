//! Why specnorm has its own resampler and WAV reader: timings per 5 s clip.
//!
//! `cargo bench -p specnorm-audio --bench resample`
//!
//! * resample_5s_44k1_to_16k: ours (torchaudio-exact polyphase) vs rubato's
//!   FftFixedIn and SincFixedIn, all on one 5 s 44.1 kHz mono clip, planned
//!   once outside the timed loop.
//! * decode_5s_44k1_pcm16: in-memory 16-bit WAV, fast path vs symphonia.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use rubato::{
    FftFixedIn, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};
use specnorm_audio::{decode, decode_into, decode_symphonia, encode_wav, Resampler, WavFormat};

const RATE: usize = 44_100;
const SECS: usize = 5;

fn clip(n: usize) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            0.5 * (i as f32 * 0.031).sin() + 0.2 * noise
        })
        .collect()
}

/// Run a rubato resampler over a whole clip in fixed chunks, flushing the tail.
fn rubato_whole<R: rubato::Resampler<f32>>(r: &mut R, x: &[f32], out: &mut Vec<f32>) {
    r.reset();
    out.clear();
    let mut buf = vec![vec![0.0f32; r.output_frames_max()]; 1];
    let mut pos = 0;
    while pos + r.input_frames_next() <= x.len() {
        let need = r.input_frames_next();
        let (_, n) = r
            .process_into_buffer(&[&x[pos..pos + need]], &mut buf, None)
            .unwrap();
        out.extend_from_slice(&buf[0][..n]);
        pos += need;
    }
    let (_, n) = r
        .process_partial_into_buffer(Some(&[&x[pos..]]), &mut buf, None)
        .unwrap();
    out.extend_from_slice(&buf[0][..n]);
}

fn bench_resample(c: &mut Criterion) {
    let x = clip(RATE * SECS);
    let mut g = c.benchmark_group("resample_5s_44k1_to_16k");
    let ours = Resampler::new(44_100, 16_000).unwrap();
    let mut out = Vec::new();
    g.bench_function("specnorm_polyphase", |b| {
        b.iter(|| ours.process_into(black_box(&x), &mut out))
    });
    let mut fft = FftFixedIn::<f32>::new(44_100, 16_000, 1024, 2, 1).unwrap();
    g.bench_function("rubato_fft_fixed_in_1024", |b| {
        b.iter(|| rubato_whole(&mut fft, black_box(&x), &mut out))
    });
    let params = SincInterpolationParameters {
        sinc_len: 128,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    let mut sinc = SincFixedIn::<f32>::new(16_000.0 / 44_100.0, 1.0, params, 1024, 1).unwrap();
    g.bench_function("rubato_sinc_fixed_in_128_linear", |b| {
        b.iter(|| rubato_whole(&mut sinc, black_box(&x), &mut out))
    });
    g.finish();

    let mut g = c.benchmark_group("resample_5s_to_16k_other_rates");
    for from in [8_000u32, 22_050, 48_000, 96_000] {
        let xi = clip(from as usize * SECS);
        let r = Resampler::new(from, 16_000).unwrap();
        g.bench_function(format!("specnorm_polyphase_{from}"), |b| {
            b.iter(|| r.process_into(black_box(&xi), &mut out))
        });
    }
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let x = clip(RATE * SECS);
    let mono = encode_wav(&x, RATE as u32, 1, WavFormat::Pcm16);
    let stereo: Vec<f32> = x.iter().flat_map(|&v| [v, -v]).collect();
    let stereo = encode_wav(&stereo, RATE as u32, 2, WavFormat::Pcm16);
    let path = Path::new("bench.wav");
    let mut g = c.benchmark_group("decode_5s_44k1_pcm16");
    g.bench_function("fast_path_mono", |b| {
        b.iter(|| decode(black_box(&mono), path).unwrap())
    });
    let mut buf = Vec::new();
    g.bench_function("fast_path_mono_into_reused_buffer", |b| {
        b.iter(|| decode_into(black_box(&mono), path, &mut buf).unwrap())
    });
    g.bench_function("symphonia_mono", |b| {
        b.iter(|| decode_symphonia(black_box(&mono), path).unwrap())
    });
    g.bench_function("fast_path_stereo", |b| {
        b.iter(|| decode(black_box(&stereo), path).unwrap())
    });
    g.bench_function("symphonia_stereo", |b| {
        b.iter(|| decode_symphonia(black_box(&stereo), path).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_resample, bench_decode);
criterion_main!(benches);
