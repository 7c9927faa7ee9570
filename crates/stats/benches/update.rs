//! `StatsAccumulator::update` throughput on [64, 1, 201, 401] f32 batches (the blog's setting).
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array4;
use specnorm_stats::StatsAccumulator;

fn bench(c: &mut Criterion) {
    let shape = (64, 1, 201, 401);
    let mut seed = 0x9E37_79B9u32;
    let batch = Array4::from_shape_simple_fn(shape, || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        -40.0 + (seed >> 8) as f32 / (1u32 << 24) as f32 * 60.0
    });
    let mut g = c.benchmark_group("update_64x1x201x401_f32");
    g.throughput(Throughput::Bytes((batch.len() * 4) as u64));
    g.sample_size(20);
    for (name, make) in [
        (
            "global",
            StatsAccumulator::global as fn() -> StatsAccumulator,
        ),
        ("per_channel", StatsAccumulator::per_channel),
    ] {
        g.bench_function(name, |b| {
            let mut acc = make();
            b.iter(|| acc.update(black_box(batch.view())).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
