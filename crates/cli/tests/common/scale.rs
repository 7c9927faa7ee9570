//! The bad-input-at-scale dataset shared by `scale.rs` (`stats`) and `scale_infer.rs` (`infer`):
//! [`FILES`] generated clips of which 5 % are bad (five kinds), and the checks on what the
//! commands report about them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use specnorm_audio::{encode_wav, WavFormat};

/// Number of generated files.
pub const FILES: usize = 10_000;
/// One file in 20 (5 %) is bad.
pub const BAD_EVERY: usize = 20;
/// Samples per clip (25 ms at 16 kHz).
pub const CLIP_SAMPLES: usize = 400;
/// Peak RSS allowed for one command, far below what holding per-file data for 10,000 files
/// would take once features are involved, and above the ~tens of MB the commands need.
pub const MAX_RSS_BYTES: u64 = 400 << 20;

/// Peak resident set size of the largest child this process has waited for (Linux: KiB).
/// The maximum over *all* children, so a test binary measuring one command runs only that.
pub fn children_max_rss() -> u64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, u.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialized by the successful call above.
    let u = unsafe { u.assume_init() };
    u64::try_from(u.ru_maxrss).unwrap() * 1024
}

/// Runs the built `specnorm` binary with `args` and backtraces off. With `RUST_BACKTRACE=1`
/// inherited, the error a failing run ends with symbolizes its backtrace through the debug
/// info of everything linked (libtorch included): here +85 MB of peak RSS and +5 s, which is not
/// the command's own work and would swamp what the tests measure.
pub fn specnorm(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    cmd.env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LIB_BACKTRACE");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("the specnorm binary runs")
}

/// The bad file of kind `k`: garbage, empty, a header cut short, a truncated data chunk, a
/// float sample out of range.
fn bad_bytes(k: usize, good: &[u8]) -> Vec<u8> {
    match k % 5 {
        0 => b"this is not audio".to_vec(),
        1 => Vec::new(),
        2 => good[..20].to_vec(),
        3 => good[..good.len() - 30].to_vec(),
        _ => {
            let mut x = vec![0.1f32; CLIP_SAMPLES];
            x[7] = 1e30;
            encode_wav(&x, 16_000, 1, WavFormat::F32)
        }
    }
}

/// The generated dataset: its root, the audio folder, and which files are bad.
pub struct ScaleSet {
    /// The ESC-50-layout root (`audio/`, `meta/esc50.csv`).
    pub root: PathBuf,
    /// `root/audio`, holding all [`FILES`] clips.
    pub audio: PathBuf,
    /// The bad files' paths, in name order.
    pub bad: Vec<PathBuf>,
    /// The good files' paths, in name order.
    pub good: Vec<PathBuf>,
}

/// An ESC-50-layout dataset of [`FILES`] clips of [`CLIP_SAMPLES`] samples under `root`: the
/// first 10 in fold 1 (validation, good), the rest in folds 2..=5; every [`BAD_EVERY`]-th file
/// (the 20th, 40th, ...) bad.
pub fn dataset(root: &Path) -> ScaleSet {
    let audio = root.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    std::fs::create_dir_all(root.join("meta")).unwrap();
    let tone: Vec<f32> = (0..CLIP_SAMPLES)
        .map(|i| 0.3 * (i as f32 * 0.2).sin())
        .collect();
    let good_bytes = encode_wav(&tone, 16_000, 1, WavFormat::Pcm16);
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    let (mut bad, mut good) = (Vec::new(), Vec::new());
    for i in 0..FILES {
        let fold = if i < 10 { 1 } else { 2 + i % 4 };
        let name = format!("{fold}-{i:05}.wav");
        let path = audio.join(&name);
        if i % BAD_EVERY == BAD_EVERY - 1 {
            std::fs::write(&path, bad_bytes(i / BAD_EVERY, &good_bytes)).unwrap();
            bad.push(path);
        } else {
            std::fs::write(&path, &good_bytes).unwrap();
            good.push(path);
        }
        csv += &format!("{name},{fold},{},c{},False,{i},A\n", i % 2, i % 2);
    }
    std::fs::write(root.join("meta/esc50.csv"), csv).unwrap();
    bad.sort();
    good.sort();
    ScaleSet {
        root: root.to_path_buf(),
        audio,
        bad,
        good,
    }
}

/// How many lines of `text` name each file under `audio` (a `.wav` path starting with it).
pub fn listed(text: &str, audio: &Path) -> std::collections::HashMap<PathBuf, usize> {
    let mut count = std::collections::HashMap::new();
    let prefix = audio.to_str().unwrap();
    for line in text.lines() {
        if let Some(start) = line.find(prefix) {
            let rest = &line[start..];
            let end = rest.find(".wav").map_or(rest.len(), |e| e + 4);
            *count.entry(PathBuf::from(&rest[..end])).or_insert(0usize) += 1;
        }
    }
    count
}

/// Each of `files` appears in exactly one line of `text`, and no other file under `audio` does.
#[track_caller]
pub fn each_listed_once(text: &str, files: &[PathBuf], audio: &Path) {
    let count = listed(text, audio);
    for b in files {
        assert_eq!(
            count.get(b),
            Some(&1),
            "{} listed {:?} times",
            b.display(),
            count.get(b)
        );
    }
    assert_eq!(
        count.len(),
        files.len(),
        "only the expected files are listed"
    );
}
