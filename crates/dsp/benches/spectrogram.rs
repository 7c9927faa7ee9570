//! Spectrogram benchmarks on 5 s clips at 16 kHz (80000 samples).
//!
//! `cargo bench -p specnorm-dsp --bench spectrogram`. Times are per clip (the batch
//! bench reports the whole 64-clip batch; divide by 64 and by the thread count).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use specnorm_dsp::{MelConfig, Scale, SpectrogramConfig, SpectrogramPlan, StftConfig};

const SR: u32 = 16_000;
const N: usize = 80_000;

fn clip(seed: u32) -> Vec<f32> {
    // Deterministic chirp + LCG noise.
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..N)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / SR as f32;
            0.5 * (2.0 * std::f32::consts::PI * (200.0 + 300.0 * t) * t).sin() + 0.1 * noise
        })
        .collect()
}

fn plan(mel: Option<MelConfig>, scale: Scale) -> SpectrogramPlan {
    let cfg = SpectrogramConfig {
        stft: StftConfig::default(),
        mel,
        scale,
    };
    SpectrogramPlan::new(&cfg, SR).expect("valid bench config")
}

fn bench(c: &mut Criterion) {
    let x = clip(1);
    let mut g = c.benchmark_group("spectrogram_5s_16k");
    g.throughput(Throughput::Elements(1));
    let cases = [
        ("stft_power", plan(None, Scale::Power)),
        ("stft_db", plan(None, Scale::Db { top_db: None })),
        (
            "stft_db_top80",
            plan(None, Scale::Db { top_db: Some(80.0) }),
        ),
        (
            "mel128_db",
            plan(Some(MelConfig::default()), Scale::Db { top_db: None }),
        ),
    ];
    for (name, p) in &cases {
        let mut out = ndarray::Array2::zeros(p.output_shape(N));
        g.bench_function(*name, |b| {
            b.iter(|| {
                p.compute_into(std::hint::black_box(&x), out.view_mut())
                    .expect("ok")
            })
        });
    }
    g.finish();

    let clips: Vec<Vec<f32>> = (0..64).map(clip).collect();
    let refs: Vec<&[f32]> = clips.iter().map(|c| c.as_slice()).collect();
    let p = plan(None, Scale::Db { top_db: None });
    let mut g = c.benchmark_group("batch64_5s_16k");
    g.throughput(Throughput::Elements(64));
    g.sample_size(20);
    g.bench_function("stft_db_compute_batch", |b| {
        b.iter_batched(|| (), |_| p.compute_batch(&refs), BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
