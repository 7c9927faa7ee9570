//! API behaviour: shapes, errors, layouts, batching, fast-log accuracy, algebraic laws.

use ndarray::{Array2, ShapeBuilder};
use proptest::prelude::*;
use specnorm_dsp::*;

const SR: u32 = 16_000;

fn sine(n: usize, hz: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / SR as f32).sin())
        .collect()
}

fn plan(cfg: SpectrogramConfig) -> SpectrogramPlan {
    SpectrogramPlan::new(&cfg, SR).expect("valid config")
}

#[test]
fn default_shapes() {
    let p = plan(SpectrogramConfig::default());
    assert_eq!(p.n_bins(), 201);
    assert_eq!(p.n_frames(80_000), 401);
    assert_eq!(p.n_frames(16_000), 81);
    assert_eq!(p.n_frames(201), 2);
    let mel = plan(SpectrogramConfig {
        mel: Some(MelConfig::default()),
        ..Default::default()
    });
    assert_eq!(mel.n_bins(), 128);
    assert_eq!(mel.compute(&sine(8000, 440.0)).unwrap().shape(), &[128, 41]);
    // Odd n_fft: pad = n_fft / 2 on both sides, frames = 1 + (len - 1) / hop.
    let odd = StftConfig {
        n_fft: 401,
        win_length: 401,
        ..StftConfig::default()
    };
    assert_eq!(odd.n_frames(400), 2);
    assert_eq!(odd.n_frames(401), 3);
    let no_center = StftConfig {
        center: false,
        ..StftConfig::default()
    };
    assert_eq!(no_center.n_frames(399), 0);
    assert_eq!(no_center.n_frames(400), 1);
    assert_eq!(no_center.n_frames(600), 2);
}

#[test]
fn reflect_padding_length_limit() {
    let p = plan(SpectrogramConfig::default());
    // torch: reflect padding of 200 needs len > 200.
    assert!(matches!(
        p.compute(&sine(200, 440.0)),
        Err(DspError::InputTooShort {
            len: 200,
            min: 201,
            ..
        })
    ));
    assert_eq!(p.compute(&sine(201, 440.0)).unwrap().shape(), &[201, 2]);
    assert!(matches!(p.compute(&[]), Err(DspError::EmptyInput)));
    // Constant padding accepts any non-empty input.
    let c = plan(SpectrogramConfig {
        stft: StftConfig {
            pad_mode: PadMode::Constant,
            ..StftConfig::default()
        },
        ..Default::default()
    });
    assert_eq!(c.compute(&[0.5]).unwrap().shape(), &[201, 1]);
    let nc = plan(SpectrogramConfig {
        stft: StftConfig {
            center: false,
            ..StftConfig::default()
        },
        ..Default::default()
    });
    assert!(matches!(
        nc.compute(&sine(399, 1.0)),
        Err(DspError::InputTooShort { min: 400, .. })
    ));
}

#[test]
fn reflect_padding_is_torch_reflect() {
    // With a rectangular window and n_fft 4, frame 0 of [a b c d e] is [c b a b] (reflect, pad 2).
    let cfg = SpectrogramConfig {
        stft: StftConfig {
            n_fft: 4,
            win_length: 4,
            hop_length: 1,
            window: WindowKind::Rectangular,
            ..StftConfig::default()
        },
        mel: None,
        scale: Scale::Power,
    };
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0];
    let out = plan(cfg).compute(&x).unwrap();
    assert_eq!(out.shape(), &[3, 6]);
    // DC bin = (sum)^2: frame0 = [3,2,1,2] -> 64; last frame = [4,5,4,3] -> 256.
    assert_eq!(out[[0, 0]], 64.0);
    assert_eq!(out[[0, 5]], 256.0);
    // Nyquist bin = (x0 - x1 + x2 - x3)^2: frame0 -> (3-2+1-2)^2 = 0, frame1 [2,1,2,3] -> 0,
    // frame2 [1,2,3,4] -> 4, frame3 [2,3,4,5] -> 4, frame5 [4,5,4,3] -> 0.
    assert_eq!(out[[2, 0]], 0.0);
    assert_eq!(out[[2, 1]], 0.0);
    assert_eq!(out[[2, 2]], 4.0);
    assert_eq!(out[[2, 3]], 4.0);
    assert_eq!(out[[2, 5]], 0.0);
    assert_eq!(out[[0, 1]], 64.0);
}

#[test]
fn non_finite_input_is_rejected() {
    let p = plan(SpectrogramConfig::default());
    let mut x = sine(1000, 440.0);
    x[123] = f32::NAN;
    assert!(matches!(
        p.compute(&x),
        Err(DspError::NonFiniteInput { index: 123, .. })
    ));
    x[123] = 0.0;
    x[7] = f32::INFINITY;
    assert!(matches!(
        p.compute(&x),
        Err(DspError::NonFiniteInput { index: 7, .. })
    ));
}

#[test]
fn invalid_configs_are_rejected() {
    let base = SpectrogramConfig::default();
    let with_stft = |f: fn(&mut StftConfig)| {
        let mut c = base.clone();
        f(&mut c.stft);
        c
    };
    let with_mel = |f: fn(&mut MelConfig)| {
        let mut m = MelConfig::default();
        f(&mut m);
        SpectrogramConfig {
            mel: Some(m),
            ..base.clone()
        }
    };
    let bad = [
        with_stft(|s| s.n_fft = 0),
        with_stft(|s| s.hop_length = 0),
        with_stft(|s| s.win_length = 0),
        with_stft(|s| s.win_length = 401),
        with_stft(|s| s.power = 0.0),
        with_stft(|s| s.power = f32::NAN),
        with_mel(|m| m.n_mels = 0),
        with_mel(|m| m.f_max = Some(8000.5)),
        with_mel(|m| m.f_min = -1.0),
        with_mel(|m| m.f_min = 8000.0),
        with_mel(|m| m.f_max = Some(f32::NAN)),
        SpectrogramConfig {
            scale: Scale::Db { top_db: Some(-1.0) },
            ..base.clone()
        },
        SpectrogramConfig {
            scale: Scale::Ln { eps: 0.0 },
            ..base.clone()
        },
        SpectrogramConfig {
            scale: Scale::Ln { eps: f32::NAN },
            ..base.clone()
        },
    ];
    for cfg in &bad {
        assert!(
            matches!(
                SpectrogramPlan::new(cfg, SR),
                Err(DspError::InvalidConfig(_))
            ),
            "{cfg:?} should be rejected"
        );
    }
    assert!(SpectrogramPlan::new(&base, 0).is_err());
    // f_max exactly at Nyquist is fine.
    assert!(SpectrogramPlan::new(&with_mel(|m| m.f_max = Some(8000.0)), SR).is_ok());
    // Invalid filterbank config: error from try_, zeros (never NaN) from the infallible one.
    let m = MelConfig {
        f_min: 9000.0,
        ..MelConfig::default()
    };
    assert!(try_mel_filterbank(201, SR, &m).is_err());
    assert!(mel_filterbank(201, SR, &m).iter().all(|&v| v == 0.0));
}

#[test]
fn compute_into_any_layout_and_shape_check() {
    let p = plan(SpectrogramConfig {
        mel: Some(MelConfig::default()),
        ..Default::default()
    });
    let x = sine(5000, 700.0);
    let expected = p.compute(&x).unwrap();
    let mut fortran = Array2::<f32>::zeros((128, 26).f());
    p.compute_into(&x, fortran.view_mut()).unwrap();
    assert_eq!(fortran, expected);
    let mut big = Array2::<f32>::zeros((128, 52));
    let mut strided = big.slice_mut(ndarray::s![.., ..;2]);
    p.compute_into(&x, strided.view_mut()).unwrap();
    assert_eq!(strided, expected);
    let mut wrong = Array2::<f32>::zeros((128, 25));
    assert!(matches!(
        p.compute_into(&x, wrong.view_mut()),
        Err(DspError::ShapeMismatch {
            expected: [128, 26],
            got: [128, 25]
        })
    ));
    // top_db with a non-contiguous output.
    let p = plan(SpectrogramConfig {
        scale: Scale::Db { top_db: Some(30.0) },
        ..Default::default()
    });
    let expected = p.compute(&x).unwrap();
    let mut fortran = Array2::<f32>::zeros((201, 26).f());
    p.compute_into(&x, fortran.view_mut()).unwrap();
    assert_eq!(fortran, expected);
}

#[test]
fn batch_matches_single_and_keeps_errors() {
    let p = plan(SpectrogramConfig::default());
    let clips: Vec<Vec<f32>> = (0..9)
        .map(|i| sine(3000 + 500 * i, 300.0 + 100.0 * i as f32))
        .collect();
    let mut refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let short = [0.0f32; 10];
    refs.push(&short);
    let out = p.compute_batch(&refs);
    assert_eq!(out.len(), 10);
    for (r, c) in out.iter().zip(&refs[..9]) {
        assert_eq!(r.as_ref().unwrap(), &p.compute(c).unwrap());
    }
    assert!(matches!(out[9], Err(DspError::InputTooShort { .. })));
}

#[test]
fn sine_peak_bin_and_level() {
    // 1 kHz at 16 kHz with n_fft 400 is bin 25. Hann-windowed amplitude-1 sine:
    // |X[25]| = sum(w) / 2 = 100 -> 40 dB (power).
    let p = plan(SpectrogramConfig::default());
    let s = p.compute(&sine(16_000, 1000.0)).unwrap();
    for t in 2..79 {
        let col = s.column(t);
        let peak = (0..201).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
        assert_eq!(peak, 25);
        assert!((col[25] - 40.0).abs() < 1e-3, "{}", col[25]);
    }
}

#[test]
fn fast_db_error_over_whole_positive_range() {
    // Every 97th f32 bit pattern from the dB floor (1e-10) to f32::MAX, plus the ends.
    let lo = DB_AMIN.to_bits();
    let hi = f32::MAX.to_bits();
    let mut xs: Vec<f32> = (lo..=hi).step_by(97).map(f32::from_bits).collect();
    xs.extend([
        DB_AMIN,
        f32::MAX,
        1.0,
        f32::from_bits(1.0f32.to_bits() - 1),
        1.0 + f32::EPSILON,
    ]);
    for mult in [10.0f32, 20.0] {
        let mut v = xs.clone();
        power_to_db(&mut v, mult, None);
        let worst = xs
            .iter()
            .zip(&v)
            .map(|(&x, &y)| (y as f64 - mult as f64 * (x as f64).log10()).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "fast dB (x{mult}) max abs err vs f64: {worst:.2e} dB over {} values",
            xs.len()
        );
        assert!(worst <= 1e-4, "{worst}");
    }
    // Below the floor, NaN and inf.
    let mut v = [0.0f32, -5.0, 1e-30, f32::NAN, f32::INFINITY];
    power_to_db(&mut v, 10.0, None);
    assert!(v[..4].iter().all(|&y| (y + 100.0).abs() < 1e-4));
    assert!((v[4] - 10.0 * (f32::MAX as f64).log10() as f32).abs() < 1e-3);
}

#[test]
fn fast_ln_error_over_whole_normal_range() {
    let xs: Vec<f32> = (f32::MIN_POSITIVE.to_bits()..=f32::MAX.to_bits())
        .step_by(101)
        .map(f32::from_bits)
        .collect();
    let mut v = xs.clone();
    power_to_ln(&mut v, f32::MIN_POSITIVE);
    let worst = xs
        .iter()
        .zip(&v)
        .map(|(&x, &y)| (y as f64 - (x as f64).ln()).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "fast ln max abs err vs f64: {worst:.2e} over {} values",
        xs.len()
    );
    assert!(worst <= 1e-5, "{worst}");
    let mut e = xs.clone();
    power_to_ln_exact(&mut e, f32::MIN_POSITIVE);
    assert!(v.iter().zip(&e).all(|(a, b)| (a - b).abs() <= 1e-5));
}

#[test]
fn top_db_clamps_globally() {
    let mut v = vec![1.0f32, 1e-3, 1e-9, 100.0];
    power_to_db(&mut v, 10.0, Some(50.0));
    let want = [0.0f32, -30.0, -30.0, 20.0];
    for (a, b) in v.iter().zip(want) {
        assert!((a - b).abs() < 1e-4, "{v:?}");
    }
    let mut e = vec![1.0f32, 1e-3, 1e-9, 100.0];
    power_to_db_exact(&mut e, 10.0, Some(50.0));
    assert_eq!(e, vec![0.0, -30.0, -30.0, 20.0]);
}

#[test]
fn config_serde_roundtrip_is_derivable() {
    // Serialize/Deserialize are derived; check Default values match torchaudio.
    let c = SpectrogramConfig::default();
    assert_eq!(c.stft.n_fft, 400);
    assert_eq!(c.stft.win_length, 400);
    assert_eq!(c.stft.hop_length, 200);
    assert_eq!(c.stft.window, WindowKind::Hann);
    assert!(c.stft.center);
    assert_eq!(c.stft.pad_mode, PadMode::Reflect);
    assert_eq!(c.stft.power, 2.0);
    assert_eq!(c.mel, None);
    assert_eq!(c.scale, Scale::Db { top_db: None });
    fn is_serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
    is_serde::<SpectrogramConfig>();
}

fn signal() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, 401..1500)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Scaling the input by c scales power by c^2, i.e. shifts dB by 20 log10 c.
    #[test]
    fn gain_shifts_db(x in signal(), c in 0.01f32..100.0) {
        let p = plan(SpectrogramConfig::default());
        let a = p.compute(&x).unwrap();
        let y: Vec<f32> = x.iter().map(|v| v * c).collect();
        let b = p.compute(&y).unwrap();
        let shift = 20.0 * c.log10();
        let peak = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (&u, &v) in a.iter().zip(b.iter()) {
            if u > peak - 60.0 && u > -90.0 && u + shift > -90.0 {
                prop_assert!((v - u - shift).abs() < 0.02, "{} vs {} + {}", v, u, shift);
            }
        }
    }

    /// Dropping `hop` leading samples drops exactly one interior frame.
    #[test]
    fn hop_shift_drops_one_frame(x in signal()) {
        let p = plan(SpectrogramConfig { scale: Scale::Power, ..Default::default() });
        let a = p.compute(&x).unwrap();
        let b = p.compute(&x[200..]).unwrap();
        // Interior frames (no padding involved): frame t of b == frame t + 1 of a.
        let n = x.len();
        for t in 1..b.ncols() {
            let start = t * 200 + 200; // in x coordinates, frame covers [start - 200, start + 200)
            if start + 200 <= n {
                prop_assert_eq!(b.column(t), a.column(t + 1));
            }
        }
    }

    /// top_db bounds the dynamic range, and fast/exact dB agree.
    #[test]
    fn db_laws(v in prop::collection::vec(0.0f32..1e6, 1..300), top in 0.0f32..120.0) {
        let mut fast = v.clone();
        power_to_db(&mut fast, 10.0, Some(top));
        let mut exact = v.clone();
        power_to_db_exact(&mut exact, 10.0, Some(top));
        let mx = fast.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (&f, &e) in fast.iter().zip(&exact) {
            prop_assert!(f >= mx - top - 1e-4);
            prop_assert!((f - e).abs() <= 1e-4);
        }
    }

    /// Mel weighting is linear: mel(power) of the Power scale equals fb^T @ stft power.
    #[test]
    fn mel_is_filterbank_product(x in signal()) {
        let mel_cfg = MelConfig { n_mels: 32, ..MelConfig::default() };
        let pm = plan(SpectrogramConfig { mel: Some(mel_cfg.clone()), scale: Scale::Power, ..Default::default() });
        let ps = plan(SpectrogramConfig { scale: Scale::Power, ..Default::default() });
        let fb = mel_filterbank(201, SR, &mel_cfg);
        let want = fb.t().dot(&ps.compute(&x).unwrap());
        let got = pm.compute(&x).unwrap();
        let scale = want.iter().copied().fold(0.0f32, f32::max);
        for (&g, &w) in got.iter().zip(want.iter()) {
            prop_assert!((g - w).abs() <= 1e-5 * scale + 1e-12);
        }
    }
}
