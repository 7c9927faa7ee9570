//! `cargo xtask download-esc50`: fetch the ESC-50 archive, verify it, unpack it.
//!
//! The download uses the system `curl` (no network code in the project). The
//! verification and unpacking work on any local zip and are tested on a small
//! archive the tests build themselves.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Where the ESC-50 repository archive lives.
pub const URL: &str = "https://github.com/karoldvl/ESC-50/archive/master.zip";
/// ESC-50 has 2000 clips in 5 folds.
pub const CLIPS: usize = 2000;
const FOLDS: usize = 5;

pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let mut dest = root.join("data");
    let mut archive: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dest" => dest = PathBuf::from(it.next().context("--dest needs a directory")?),
            "--archive" => {
                archive = Some(PathBuf::from(it.next().context("--archive needs a file")?))
            }
            other => bail!("unknown download-esc50 option '{other}'"),
        }
    }
    std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
    let zip = match archive {
        Some(z) => z,
        None => {
            let z = dest.join("ESC-50-master.zip.part");
            download(URL, &z)?;
            let done = dest.join("ESC-50-master.zip");
            std::fs::rename(&z, &done)?;
            done
        }
    };
    let root_dir = unpack_and_verify(&zip, &dest, CLIPS, FOLDS)?;
    println!(
        "ESC-50 ready at {} ({CLIPS} clips, {FOLDS} folds)",
        root_dir.display()
    );
    println!(
        "run: cargo xtask experiment --data {} --model xresnet18",
        root_dir.display()
    );
    Ok(())
}

fn download(url: &str, to: &Path) -> Result<()> {
    eprintln!("downloading {url} -> {}", to.display());
    let out = Command::new("curl")
        .args([
            "--fail",
            "--location",
            "--silent",
            "--show-error",
            "--retry",
            "2",
            "--connect-timeout",
            "20",
            "-o",
        ])
        .arg(to)
        .arg(url)
        .output()
        .context(
            "cannot run curl: install curl or pass --archive with a downloaded ESC-50-master.zip",
        )?;
    if !out.status.success() {
        let _ = std::fs::remove_file(to);
        bail!(
            "downloading ESC-50 failed: {}\nThis machine may have no internet access. Download {url} elsewhere and run \
             `cargo xtask download-esc50 --archive ESC-50-master.zip`.",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Unpack `zip` into `dest` (entries are checked: no absolute paths, no `..`),
/// into a temporary folder renamed into place once complete, then verify the
/// layout: one top folder with `meta/esc50.csv` listing `expected_clips` files
/// in `expected_folds` folds, all present under `audio/`. Returns the dataset root.
pub fn unpack_and_verify(
    zip: &Path,
    dest: &Path,
    expected_clips: usize,
    expected_folds: usize,
) -> Result<PathBuf> {
    let file = std::fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip archive", zip.display()))?;
    let staging = dest.join(".esc50-unpacking");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let mut top: Option<String> = None;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .with_context(|| format!("{}: entry {i} is corrupt", zip.display()))?;
        let name = entry.name().to_string();
        let rel = Path::new(&name);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            bail!("{}: refusing unsafe entry path '{name}'", zip.display());
        }
        if let Some(Component::Normal(first)) = rel.components().next() {
            let first = first.to_string_lossy().to_string();
            match &top {
                None => top = Some(first),
                Some(t) if *t != first => bail!(
                    "{}: expected one top-level folder, found '{t}' and '{first}'",
                    zip.display()
                ),
                _ => {}
            }
        }
        let out = staging.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut buf).with_context(|| {
            format!(
                "{}: cannot read entry '{name}' (truncated archive?)",
                zip.display()
            )
        })?;
        std::fs::write(&out, buf)?;
    }
    let top = top.with_context(|| format!("{} is empty", zip.display()))?;
    let unpacked = staging.join(&top);
    verify(&unpacked, expected_clips, expected_folds)
        .with_context(|| format!("verifying {}", zip.display()))?;
    let final_dir = dest.join(&top);
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)?;
    }
    std::fs::rename(&unpacked, &final_dir)?;
    std::fs::remove_dir_all(&staging)?;
    Ok(final_dir)
}

/// Check an ESC-50-layout folder: metadata parses, counts match, every file exists.
pub fn verify(root: &Path, expected_clips: usize, expected_folds: usize) -> Result<()> {
    let ds = specnorm_folds::Dataset::open(root)?;
    ds.check_files()?;
    let n = ds.items().len();
    if n != expected_clips {
        bail!(
            "{}: metadata lists {n} clips, expected {expected_clips}",
            root.display()
        );
    }
    let folds = ds.folds().len();
    if folds != expected_folds {
        bail!(
            "{}: {folds} folds, expected {expected_folds}",
            root.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn wav_bytes() -> Vec<u8> {
        // A minimal valid 16-bit mono WAV with 4 samples.
        let data: [i16; 4] = [0, 1000, -1000, 0];
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36u32 + 8).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&44100u32.to_le_bytes());
        b.extend_from_slice(&88200u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&8u32.to_le_bytes());
        for s in data {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    fn make_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
        let f = std::fs::File::create(path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    fn small_archive(dir: &Path, clips: usize, drop_one: bool) -> PathBuf {
        let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
        let mut entries = Vec::new();
        for i in 0..clips {
            let name = format!("{}-{i}-A-0.wav", i % 2 + 1);
            csv.push_str(&format!(
                "{name},{},{},class{},False,{i},A\n",
                i % 2 + 1,
                i % 3,
                i % 3
            ));
            if !(drop_one && i == 0) {
                entries.push((format!("ESC-50-master/audio/{name}"), wav_bytes()));
            }
        }
        entries.push(("ESC-50-master/meta/esc50.csv".into(), csv.into_bytes()));
        let zip = dir.join("esc.zip");
        let refs: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .map(|(n, d)| (n.as_str(), d.clone()))
            .collect();
        make_zip(&zip, &refs);
        zip
    }

    #[test]
    fn unpacks_and_verifies_a_small_archive() {
        let dir = tempfile::tempdir().unwrap();
        let zip = small_archive(dir.path(), 6, false);
        let root = unpack_and_verify(&zip, dir.path(), 6, 2).unwrap();
        assert_eq!(root, dir.path().join("ESC-50-master"));
        assert!(root.join("meta/esc50.csv").is_file());
        assert_eq!(std::fs::read_dir(root.join("audio")).unwrap().count(), 6);
        assert!(!dir.path().join(".esc50-unpacking").exists());
        // Wrong expected count is a clear error.
        let err = unpack_and_verify(&zip, dir.path(), 2000, 5).unwrap_err();
        assert!(format!("{err:#}").contains("expected 2000"), "{err:#}");
    }

    #[test]
    fn missing_audio_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let zip = small_archive(dir.path(), 4, true);
        let err = unpack_and_verify(&zip, dir.path(), 4, 2).unwrap_err();
        assert!(format!("{err:#}").contains("1-0-A-0.wav"), "{err:#}");
        assert!(!dir.path().join("ESC-50-master").exists());
    }

    #[test]
    fn rejects_unsafe_paths_and_non_zip() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("evil.zip");
        make_zip(&zip, &[("../evil.txt", b"x".to_vec())]);
        let err = unpack_and_verify(&zip, dir.path(), 1, 1).unwrap_err();
        assert!(err.to_string().contains("unsafe"), "{err:#}");
        let not_zip = dir.path().join("not.zip");
        std::fs::write(&not_zip, b"hello").unwrap();
        let err = unpack_and_verify(&not_zip, dir.path(), 1, 1).unwrap_err();
        assert!(err.to_string().contains("not a zip"), "{err:#}");
    }

    #[test]
    fn download_fails_clearly_without_network() {
        let dir = tempfile::tempdir().unwrap();
        // Loopback discard port: refused at once. The error must say how to proceed offline.
        let err = download("http://127.0.0.1:9/ESC-50.zip", &dir.path().join("x.zip")).unwrap_err();
        assert!(err.to_string().contains("--archive"), "{err:#}");
        assert!(!dir.path().join("x.zip").exists());
    }
}
