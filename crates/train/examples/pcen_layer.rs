//! Cost of the trainable PCEN front layer (a benchmark, not a test): the wall time of one
//! training-mode forward + backward of the small CNN on a random power-spectrogram batch
//! `[B, 1, 201, 401]` with and without the layer, and of the layer alone: as implemented (the
//! blocked smoother) and with a frame-by-frame smoother (a loop of 401 `lerp`s, the first
//! implementation), for comparison.
//!
//! ```text
//! cargo run --release -p specnorm-train --example pcen_layer -- [BATCH] [REPEATS]
//! ```
//!
//! Prints the best of `REPEATS` (default 5) timings after one warm-up, on the CPU with the
//! default libtorch thread count.

use std::time::Instant;

use specnorm_train::{learned_pcen, LearnedPcenConfig, Model, ModelKind, ModelSpec};
use tch::{Device, Kind, Tensor};

fn best_of(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// The layer with the smoother as a loop over the frames (the same formula otherwise).
fn frame_loop(x: &Tensor, p: &[Tensor; 4], eps: f64) -> Tensor {
    let f = p[0].size()[0];
    let col = |t: &Tensor| t.view([1, 1, f, 1]);
    let s = p[3].sigmoid().view([1, 1, f]);
    let mut m = x.select(3, 0).ones_like();
    let mut ms = Vec::new();
    for t in 0..x.size()[3] {
        m = m.lerp_tensor(&x.select(3, t), &s);
        ms.push(m.shallow_clone());
    }
    let m = Tensor::stack(&ms, 3);
    let gain = ((&m / eps).log1p() + eps.ln()) * col(&p[0]).exp().neg();
    let r = col(&p[2]).exp();
    let c = (&r * ((x * gain.exp()) / col(&p[1]).exp()).log1p()).expm1();
    c * (r * col(&p[1])).exp()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let batch: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let (f, t) = (201i64, 401i64);
    let spec = ModelSpec {
        kind: ModelKind::Small,
        in_channels: 1,
        n_classes: 10,
    };
    let front = LearnedPcenConfig {
        n_freq: f,
        gain: 0.98,
        bias: 2.0,
        power: 0.5,
        smoothing: 0.0308,
        eps: 1e-6,
    };
    tch::manual_seed(0);
    let x = Tensor::rand([batch, 1, f, t], (Kind::Float, Device::Cpu)) * 100.0;
    let plain = Model::new(spec, Device::Cpu, 0).expect("model");
    let with = Model::with_front(spec, Some(front), Device::Cpu, 0).expect("model");
    let step = |m: &Model| {
        let loss = m.forward_t(&x, true).sum(Kind::Float);
        loss.backward();
    };
    let p = |v: f64| Tensor::full([f], v, (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let params = [p(0.98f64.ln()), p(2f64.ln()), p(0.5f64.ln()), p(-3.45)];
    let layer = || {
        let y = learned_pcen(&x, &params[0], &params[1], &params[2], &params[3], 1e-6);
        y.sum(Kind::Float).backward();
    };
    let looped = || {
        frame_loop(&x, &params, 1e-6).sum(Kind::Float).backward();
    };
    let d = best_of(repeats, looped);
    let a = best_of(repeats, || step(&plain));
    let b = best_of(repeats, || step(&with));
    let c = best_of(repeats, layer);
    println!(
        "batch {batch} x [1, {f}, {t}], {} threads, forward + backward (best of {repeats}):",
        tch::get_num_threads()
    );
    println!("  small CNN               {:8.1} ms", 1e3 * a);
    println!(
        "  PCEN layer + small CNN  {:8.1} ms  (+{:.0} %)",
        1e3 * b,
        100.0 * (b / a - 1.0)
    );
    println!("  PCEN layer alone        {:8.1} ms", 1e3 * c);
    println!("  same, frame-by-frame    {:8.1} ms", 1e3 * d);
}
