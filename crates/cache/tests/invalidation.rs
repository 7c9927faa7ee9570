//! A cache file is reused only for its own key and only when intact: every kind of change
//! (configuration, dtype, metadata, clip list, an audio file's size or mtime, software
//! version) and every kind of damage (truncation, a flipped byte in the rows or the header,
//! not a cache file at all) is refused with an error that says "recompute".

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use specnorm_cache::{
    CacheError, CacheFile, CacheKey, CacheWriter, DatasetFingerprint, Dtype, Skipped, Verify,
};

struct Fixture {
    dir: tempfile::TempDir,
    csv: PathBuf,
    clips: Vec<(String, PathBuf)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("meta.csv");
    std::fs::write(&csv, "filename,fold\na.wav,1\nb.wav,2\nc.wav,3\n").unwrap();
    let clips = ["a.wav", "b.wav", "c.wav"]
        .iter()
        .map(|n| {
            let p = dir.path().join(n);
            std::fs::write(&p, format!("audio of {n}")).unwrap();
            (n.to_string(), p)
        })
        .collect();
    Fixture { dir, csv, clips }
}

impl Fixture {
    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn key(&self, config: serde_json::Value, dtype: Dtype) -> CacheKey {
        let fp =
            DatasetFingerprint::of("ds", std::slice::from_ref(&self.csv), &self.clips).unwrap();
        let names = self.clips.iter().map(|(n, _)| n.clone()).collect();
        CacheKey::new(config, dtype, fp, names)
    }
}

fn row(k: usize) -> Vec<f32> {
    (0..12).map(|i| (k * 100 + i) as f32 * 0.25 - 3.0).collect()
}

/// Writes rows for every clip of `key` (clip 1 skipped when `skip_b`).
fn write(dir: &Path, key: &CacheKey, skip_b: bool) -> PathBuf {
    let mut w = CacheWriter::create(dir, key).unwrap();
    let mut skipped = Vec::new();
    for (k, name) in key.clips.iter().enumerate() {
        if skip_b && k == 1 {
            skipped.push(Skipped {
                index: 1,
                name: name.clone(),
                error: "b.wav: not audio".into(),
            });
            continue;
        }
        w.push(name, [3, 4], &row(k)).unwrap();
    }
    w.finish(skipped).unwrap()
}

fn config() -> serde_json::Value {
    serde_json::json!({"sample_rate": 16000, "n_fft": 400, "scale": "db"})
}

fn stale_reason(r: Result<CacheFile, CacheError>) -> String {
    match r {
        Err(CacheError::Stale { reason, .. }) => reason,
        other => panic!("expected Stale, got {other:?}"),
    }
}

fn corrupt_reason(r: Result<CacheFile, CacheError>) -> String {
    match r {
        Err(e @ CacheError::Corrupt { .. }) => {
            assert!(e.is_recomputable());
            e.to_string()
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn round_trip_is_exact_and_reused() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    assert_eq!(path, fx.cache_dir().join(key.file_name()));
    // Only the file itself: no temporary left over.
    assert_eq!(std::fs::read_dir(fx.cache_dir()).unwrap().count(), 1);
    let c = CacheFile::open(&path, &key, Verify::Checksum).unwrap();
    assert_eq!((c.len(), c.shape()), (3, [3, 4]));
    for k in 0..3 {
        assert_eq!(
            c.view(k).unwrap().iter().copied().collect::<Vec<_>>(),
            row(k)
        );
        let mut out = vec![0.0; 12];
        c.read_row(k, &mut out).unwrap();
        assert_eq!(out, row(k));
    }
    assert_eq!(c.view(1).unwrap()[[2, 3]], row(1)[11]);
    assert!(matches!(c.view(3), Err(CacheError::Invalid { .. })));
    c.release_pages();
    assert_eq!(c.view(2).unwrap()[[0, 0]], row(2)[0]);
    // A fresh key computed from the same untouched files opens the same file.
    let again = fx.key(config(), Dtype::F32);
    assert_eq!(again.file_name(), key.file_name());
    assert!(CacheFile::open(&path, &again, Verify::Checksum).is_ok());
}

#[test]
fn missing_file_is_missing() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let r = CacheFile::open(
        &fx.cache_dir().join(key.file_name()),
        &key,
        Verify::Checksum,
    );
    assert!(matches!(&r, Err(e @ CacheError::Missing { .. }) if e.is_recomputable()));
}

#[test]
fn another_feature_config_is_another_file_and_refused() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    let other = fx.key(
        serde_json::json!({"sample_rate": 16000, "n_fft": 512, "scale": "db"}),
        Dtype::F32,
    );
    assert_ne!(other.file_name(), key.file_name());
    // Even when asked to read this file for it (renamed file, hash collision).
    let reason = stale_reason(CacheFile::open(&path, &other, Verify::Header));
    assert!(reason.contains("feature configuration"), "{reason}");
}

#[test]
fn another_dtype_is_refused_and_f16_reads_back_rounded() {
    let fx = fixture();
    let k32 = fx.key(config(), Dtype::F32);
    let k16 = fx.key(config(), Dtype::F16);
    assert_ne!(k32.file_name(), k16.file_name());
    let p32 = write(&fx.cache_dir(), &k32, false);
    let reason = stale_reason(CacheFile::open(&p32, &k16, Verify::Header));
    assert!(reason.contains("dtype f32"), "{reason}");
    let p16 = write(&fx.cache_dir(), &k16, false);
    assert!(std::fs::metadata(&p16).unwrap().len() < std::fs::metadata(&p32).unwrap().len());
    let c = CacheFile::open(&p16, &k16, Verify::Checksum).unwrap();
    assert!(c.view(0).is_err(), "no f32 view of f16 rows");
    let mut out = vec![0.0; 12];
    c.read_row(2, &mut out).unwrap();
    let want: Vec<f32> = row(2)
        .iter()
        .map(|v| half::f16::from_f32(*v).to_f32())
        .collect();
    assert_eq!(out, want);
    // row(2) is 47 .. 49.75 in steps of 0.25: exact in f16 (11 significant bits).
    assert_eq!(out[0], 47.0);
    assert_eq!(out[11], 49.75);
    // A value that is not: rounded to the nearest f16.
    let key = fx.key(serde_json::json!("rounding"), Dtype::F16);
    let mut w = CacheWriter::create(&fx.cache_dir(), &key).unwrap();
    for name in &key.clips {
        w.push(name, [1, 2], &[0.1, 1000.3]).unwrap();
    }
    let c = CacheFile::open(&w.finish(Vec::new()).unwrap(), &key, Verify::Checksum).unwrap();
    let mut out = vec![0.0; 2];
    c.read_row(0, &mut out).unwrap();
    assert_eq!(out, [0.099_975_586, 1000.5]);
}

#[test]
fn changed_metadata_is_stale() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    std::fs::write(&fx.csv, "filename,fold\na.wav,1\nb.wav,2\nc.wav,4\n").unwrap();
    let now = fx.key(config(), Dtype::F32);
    assert_eq!(
        now.file_name(),
        key.file_name(),
        "same dataset: the file is overwritten"
    );
    let reason = stale_reason(CacheFile::open(&path, &now, Verify::Checksum));
    assert_eq!(reason, "the metadata files changed");
}

#[test]
fn changed_audio_size_or_mtime_is_stale() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    // Same size, other mtime.
    let f = std::fs::File::options()
        .write(true)
        .open(&fx.clips[2].1)
        .unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    drop(f);
    let reason = stale_reason(CacheFile::open(
        &path,
        &fx.key(config(), Dtype::F32),
        Verify::Header,
    ));
    assert!(reason.starts_with("audio files changed"), "{reason}");
    // Rewritten for the new state, it is valid again; then another size.
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    assert!(CacheFile::open(&path, &key, Verify::Checksum).is_ok());
    let mtime = std::fs::metadata(&fx.clips[0].1)
        .unwrap()
        .modified()
        .unwrap();
    std::fs::write(&fx.clips[0].1, "longer audio of a.wav").unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(&fx.clips[0].1)
        .unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let reason = stale_reason(CacheFile::open(
        &path,
        &fx.key(config(), Dtype::F32),
        Verify::Header,
    ));
    assert!(reason.starts_with("audio files changed"), "{reason}");
}

#[test]
fn changed_clip_list_is_stale() {
    let mut fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    let d = fx.dir.path().join("d.wav");
    std::fs::write(&d, "audio of d").unwrap();
    fx.clips.push(("d.wav".into(), d));
    let reason = stale_reason(CacheFile::open(
        &path,
        &fx.key(config(), Dtype::F32),
        Verify::Header,
    ));
    assert_eq!(reason, "the dataset had 3 clips, now 4");
    // Same fingerprint but another name list (a caller bug) is refused too.
    let mut renamed = key.clone();
    renamed.clips[2] = "z.wav".into();
    let reason = stale_reason(CacheFile::open(&path, &renamed, Verify::Header));
    assert_eq!(reason, "clip 2 is c.wav, expected z.wav");
}

#[test]
fn skipped_clips_are_recorded_and_checked() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, true);
    let c = CacheFile::open(&path, &key, Verify::Checksum).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c.header().names, ["a.wav", "c.wav"]);
    assert_eq!(c.header().skipped[0].error, "b.wav: not audio");
    assert_eq!(
        c.view(1).unwrap().iter().copied().collect::<Vec<_>>(),
        row(2)
    );
    // A writer whose rows and skipped clips do not add up to the clip list is refused.
    let mut w = CacheWriter::create(&fx.cache_dir(), &key).unwrap();
    w.push("a.wav", [3, 4], &row(0)).unwrap();
    assert!(matches!(
        w.finish(Vec::new()),
        Err(CacheError::Invalid { .. })
    ));
    assert!(
        CacheFile::open(&path, &key, Verify::Checksum).is_ok(),
        "old file untouched"
    );
}

#[test]
fn rows_of_another_height_are_refused() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let mut w = CacheWriter::create(&fx.cache_dir(), &key).unwrap();
    w.push("a.wav", [3, 4], &row(0)).unwrap();
    let e = w.push("b.wav", [4, 3], &row(1)).unwrap_err().to_string();
    assert!(
        e.contains("b.wav: features of 4 rows, the other clips' have 3"),
        "{e}"
    );
    assert!(w.push("b.wav", [3, 3], &row(1)).is_err(), "12 values for 9");
    drop(w);
    // Abandoned: no file, no temporary.
    assert_eq!(std::fs::read_dir(fx.cache_dir()).unwrap().count(), 0);
}

#[test]
fn truncated_file_is_corrupt() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [
        bytes.len() - 1,
        bytes.len() - 20,
        64 + 12 * 4 * 2,
        70,
        10,
        0,
    ] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let e = corrupt_reason(CacheFile::open(&path, &key, Verify::Header));
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
    // Rows missing from the middle, trailer intact: the sizes do not add up.
    let mut short = bytes[..64 + 12 * 4].to_vec();
    short.extend_from_slice(&bytes[64 + 12 * 4 * 2..]);
    std::fs::write(&path, &short).unwrap();
    let e = corrupt_reason(CacheFile::open(&path, &key, Verify::Header));
    assert!(
        e.contains("3 rows of [3, 4] f32 need 144 bytes, the file holds 96"),
        "{e}"
    );
}

#[test]
fn flipped_bytes_are_corrupt() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    let good = std::fs::read(&path).unwrap();
    // A row value: only the checksum sees it.
    let mut bad = good.clone();
    bad[64 + 4 * 13] ^= 0x40;
    std::fs::write(&path, &bad).unwrap();
    assert!(CacheFile::open(&path, &key, Verify::Header).is_ok());
    let e = corrupt_reason(CacheFile::open(&path, &key, Verify::Checksum));
    assert!(e.ends_with("rows do not match their checksum"), "{e}");
    // The header's JSON.
    let mut bad = good.clone();
    let brace = bad.len() - 17; // the header's closing brace
    assert_eq!(bad[brace], b'}');
    bad[brace] = b' ';
    std::fs::write(&path, &bad).unwrap();
    let e = corrupt_reason(CacheFile::open(&path, &key, Verify::Header));
    assert!(e.contains("unreadable header"), "{e}");
    // The magic.
    let mut bad = good.clone();
    bad[0] = b'X';
    std::fs::write(&path, &bad).unwrap();
    let e = corrupt_reason(CacheFile::open(&path, &key, Verify::Header));
    assert!(e.contains("bad magic"), "{e}");
}

#[test]
fn a_rewrite_replaces_the_file_atomically_under_an_open_map() {
    let fx = fixture();
    let key = fx.key(config(), Dtype::F32);
    let path = write(&fx.cache_dir(), &key, false);
    let old = CacheFile::open(&path, &key, Verify::Checksum).unwrap();
    // The dataset changes and the cache is recomputed while `old` is still mapped.
    std::fs::write(&fx.csv, "filename,fold\na.wav,1\nb.wav,2\nc.wav,5\n").unwrap();
    let key2 = fx.key(config(), Dtype::F32);
    let mut w = CacheWriter::create(&fx.cache_dir(), &key2).unwrap();
    for (k, name) in key2.clips.iter().enumerate() {
        let r: Vec<f32> = row(k).iter().map(|v| v + 1.0).collect();
        w.push(name, [3, 4], &r).unwrap();
    }
    w.finish(Vec::new()).unwrap();
    assert_eq!(
        old.view(0).unwrap()[[0, 0]],
        row(0)[0],
        "the old map still reads the old rows"
    );
    let new = CacheFile::open(&path, &key2, Verify::Checksum).unwrap();
    assert_eq!(new.view(0).unwrap()[[0, 0]], row(0)[0] + 1.0);
    assert!(CacheFile::open(&path, &key, Verify::Header).is_err());
}

/// Clips kept at their own durations: rows of one height and their own frames, each read back
/// at its own shape (f32 views and f16 rows), the header's `T` the longest.
#[test]
fn rows_of_their_own_lengths_round_trip() {
    let fx = fixture();
    let frames = [4usize, 1, 3];
    let values = |k: usize| -> Vec<f32> { row(k)[..3 * frames[k]].to_vec() };
    for dtype in [Dtype::F32, Dtype::F16] {
        let key = fx.key(config(), dtype);
        let mut w = CacheWriter::create(&fx.cache_dir(), &key).unwrap();
        for (k, name) in key.clips.iter().enumerate() {
            w.push(name, [3, frames[k]], &values(k)).unwrap();
        }
        let path = w.finish(Vec::new()).unwrap();
        let c = CacheFile::open(&path, &key, Verify::Checksum).unwrap();
        assert_eq!((c.len(), c.shape()), (3, [3, 4]));
        assert_eq!(c.header().frames, frames);
        for (k, &t) in frames.iter().enumerate() {
            assert_eq!(c.row_shape(k).unwrap(), [3, t]);
            let mut out = vec![0.0; 3 * t];
            c.read_row(k, &mut out).unwrap();
            let want: Vec<f32> = match dtype {
                Dtype::F32 => values(k),
                Dtype::F16 => values(k)
                    .iter()
                    .map(|v| half::f16::from_f32(*v).to_f32())
                    .collect(),
            };
            assert_eq!(out, want, "{dtype:?} row {k}");
            assert!(c.read_row(k, &mut vec![0.0; 3 * t + 3]).is_err());
            if dtype == Dtype::F32 {
                assert_eq!(c.view(k).unwrap().dim(), (3, t));
                assert_eq!(c.view(k).unwrap().iter().copied().collect::<Vec<_>>(), want);
            }
        }
        assert!(c.row_shape(3).is_err());
    }
    // Rows of one length record no per-row frames (the header stays as before).
    let key = fx.key(config(), Dtype::F32);
    let c = CacheFile::open(&write(&fx.cache_dir(), &key, false), &key, Verify::Header).unwrap();
    assert!(c.header().frames.is_empty());
    assert_eq!(c.row_shape(2).unwrap(), [3, 4]);
}
