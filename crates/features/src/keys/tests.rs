use super::*;
use specnorm_dsp::{MelNorm, MelScale, PadMode, WindowKind};

/// Keys with every key set to a value other than its default (and the configuration they
/// describe), so that a key lost on the way shows up as a difference.
fn every_key_db() -> FeatureKeys {
    FeatureKeys {
        sample_rate: Some(22_050),
        seconds: Some(2.5),
        waveform_norm: Some(false),
        n_fft: Some(1024),
        win_length: Some(800),
        hop: Some(256),
        window: Some(WindowName::Hamming),
        center: Some(false),
        pad_mode: Some(PadModeName::Constant),
        power: Some(1.0),
        n_mels: Some(64),
        f_min: Some(20.0),
        f_max: Some(8000.0),
        mel_scale: Some(MelScaleName::Slaney),
        mel_norm: Some(MelNormName::Slaney),
        scale: Some(ScaleName::Db),
        top_db: Some(80.0),
        ln_eps: None,
    }
}

#[test]
fn every_key_maps_onto_its_nested_field_and_back() {
    let keys = every_key_db();
    let cfg = keys.resolve().unwrap();
    let stft = &cfg.spectrogram.stft;
    assert_eq!(cfg.sample_rate, 22_050);
    assert_eq!(cfg.seconds, Some(2.5));
    assert!(!cfg.waveform_norm);
    assert_eq!(
        (stft.n_fft, stft.win_length, stft.hop_length),
        (1024, 800, 256)
    );
    assert_eq!(stft.window, WindowKind::Hamming);
    assert!(!stft.center);
    assert_eq!(stft.pad_mode, PadMode::Constant);
    assert_eq!(stft.power, 1.0);
    let mel = cfg.spectrogram.mel.as_ref().unwrap();
    assert_eq!(
        (mel.n_mels, mel.f_min, mel.f_max, mel.scale, mel.norm),
        (64, 20.0, Some(8000.0), MelScale::Slaney, MelNorm::Slaney)
    );
    assert_eq!(cfg.spectrogram.scale, Scale::Db { top_db: Some(80.0) });
    assert_eq!(FeatureKeys::from(&cfg), keys);

    // ln_eps, the one key a dB configuration has no use for.
    let ln = FeatureKeys {
        scale: Some(ScaleName::Ln),
        top_db: None,
        ln_eps: Some(1e-5),
        ..every_key_db()
    };
    let cfg = ln.resolve().unwrap();
    assert_eq!(cfg.spectrogram.scale, Scale::Ln { eps: 1e-5 });
    assert_eq!(FeatureKeys::from(&cfg), ln);
}

#[test]
fn default_keys_are_the_default_config_and_its_full_form() {
    let cfg = FeatureConfig::default();
    assert_eq!(FeatureKeys::default().resolve().unwrap(), cfg);
    let full = FeatureKeys::from(&cfg);
    assert_eq!(
        full,
        FeatureKeys {
            sample_rate: Some(16_000),
            seconds: Some(5.0),
            waveform_norm: Some(true),
            n_fft: Some(400),
            win_length: Some(400),
            hop: Some(200),
            window: Some(WindowName::Hann),
            center: Some(true),
            pad_mode: Some(PadModeName::Reflect),
            power: Some(2.0),
            n_mels: Some(0),
            scale: Some(ScaleName::Db),
            ..FeatureKeys::default()
        }
    );
    assert_eq!(full.resolve().unwrap(), cfg);
}

#[test]
fn keys_of_the_serde_type_are_the_key_list() {
    let mut all = every_key_db();
    all.ln_eps = Some(1e-6);
    let json = serde_json::to_value(&all).unwrap();
    let names: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = FeatureKeys::KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want); // serde_json's map is sorted
}

#[test]
fn set_takes_each_key_from_an_untyped_value() {
    let all = every_key_db();
    let json = serde_json::to_value(&all).unwrap();
    let mut keys = FeatureKeys::default();
    for k in FeatureKeys::KEYS {
        keys.set(k, json[k].clone()).unwrap();
    }
    assert_eq!(keys, all);
    // Integers are accepted for float keys, "log" for "ln".
    let mut k = FeatureKeys::default();
    k.set("seconds", serde_json::json!(1)).unwrap();
    k.set("scale", serde_json::json!("log")).unwrap();
    assert_eq!((k.seconds, k.scale), (Some(1.0), Some(ScaleName::Ln)));
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_and_what_is_allowed() {
    let mut k = FeatureKeys::default();
    let e = k.set("hop_length", serde_json::json!(100)).unwrap_err();
    assert!(matches!(e, FeatureKeyError::Unknown { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("\"hop_length\"") && msg.contains("hop, window"),
        "{msg}"
    );

    let e = k.set("window", serde_json::json!("kaiser")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "window: unknown variant `kaiser`, expected one of `hann`, `hamming`, `rectangular`"
    );
    let e = k.set("n_fft", serde_json::json!("big")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "n_fft: invalid type: string \"big\", expected usize"
    );
    let e = k.set("scale", serde_json::json!("amplitude")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("scale: unknown variant `amplitude`, expected one of `db`, `ln`"),
        "{e}"
    );
    assert_eq!(k, FeatureKeys::default());
}

#[test]
fn keys_that_need_another_key_are_refused() {
    let e = FeatureKeys {
        f_min: Some(20.0),
        ..Default::default()
    }
    .resolve()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "f_min applies only to a mel spectrogram: it needs n_mels > 0"
    );
    let e = FeatureKeys {
        scale: Some(ScaleName::Power),
        top_db: Some(80.0),
        ..Default::default()
    }
    .resolve()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "top_db applies only to scale = \"db\" (the scale is \"power\")"
    );
    let e = FeatureKeys {
        ln_eps: Some(1e-3),
        ..Default::default()
    }
    .resolve()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "ln_eps applies only to scale = \"ln\" (the scale is \"db\")"
    );
    // n_mels = 0 turns the mel filterbank off (and then f_max is refused too).
    let e = FeatureKeys {
        n_mels: Some(0),
        f_max: Some(4000.0),
        ..Default::default()
    }
    .resolve()
    .unwrap_err();
    assert!(e.to_string().starts_with("f_max applies only"), "{e}");
}

#[test]
fn resolved_values_are_validated() {
    let bad = |k: FeatureKeys| k.resolve().unwrap_err().to_string();
    let e = bad(FeatureKeys {
        sample_rate: Some(0),
        ..Default::default()
    });
    assert_eq!(e, "invalid feature configuration: sample_rate must be > 0");
    let e = bad(FeatureKeys {
        win_length: Some(800),
        ..Default::default()
    });
    assert!(
        e.contains("win_length must be in 1..=n_fft (400), got 800"),
        "{e}"
    );
    let e = bad(FeatureKeys {
        seconds: Some(-1.0),
        ..Default::default()
    });
    assert!(e.contains("seconds must be > 0, got -1"), "{e}");
    let e = bad(FeatureKeys {
        n_mels: Some(40),
        f_max: Some(9000.0),
        ..Default::default()
    });
    assert!(e.contains("must be finite and <= nyquist 8000"), "{e}");
}

#[test]
fn layers_override_key_by_key() {
    let file = FeatureKeys {
        n_fft: Some(512),
        n_mels: Some(64),
        hop: Some(128),
        ..Default::default()
    };
    let flags = FeatureKeys {
        hop: Some(160),
        f_min: Some(50.0),
        ..Default::default()
    };
    let cfg = file.overridden_by(&flags).resolve().unwrap();
    let stft = &cfg.spectrogram.stft;
    // hop from the flags, n_fft (and with it win_length) from the file, the rest default.
    assert_eq!(
        (stft.n_fft, stft.win_length, stft.hop_length),
        (512, 512, 160)
    );
    let mel = cfg.spectrogram.mel.unwrap();
    assert_eq!((mel.n_mels, mel.f_min), (64, 50.0));
    assert_eq!(cfg.sample_rate, 16_000);
    // Later layers win; an unset key never erases a lower one.
    assert_eq!(flags.overridden_by(&file).hop, Some(128));
    assert_eq!(file.overridden_by(&FeatureKeys::default()), file);
}

#[test]
fn seconds_zero_keeps_each_clips_length() {
    let cfg = FeatureKeys {
        seconds: Some(0.0),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(cfg.seconds, None);
    assert_eq!(FeatureKeys::from(&cfg).seconds, Some(0.0));
}

#[test]
fn toml_round_trip_and_shortest_floats() {
    let keys = FeatureKeys {
        f_min: Some(0.1),
        ..every_key_db()
    };
    let text = toml::to_string(&keys).unwrap();
    assert!(text.contains("f_min = 0.1\n"), "{text}");
    assert!(text.contains("window = \"hamming\"\n"), "{text}");
    // Unset keys are left out (TOML has no null).
    assert!(!text.contains("ln_eps"), "{text}");
    let back: FeatureKeys = toml::from_str(&text).unwrap();
    assert_eq!(back, keys);
    let e = toml::from_str::<FeatureKeys>("n_ftt = 512\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `n_ftt`"), "{e}");
}
