//! `lock_dir` (one holder per folder, released on drop and on exit) and the `fault-injection`
//! hook.

use std::io;
use std::path::PathBuf;

fn fresh(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("specnorm-lock-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_second_lock_is_refused_until_the_first_is_dropped() {
    let dir = fresh("twice");
    let first = specnorm_atomic::lock_dir(&dir).unwrap();
    assert_eq!(first.path(), dir.join(specnorm_atomic::LOCK_FILE));
    assert_eq!(
        std::fs::read_to_string(first.path()).unwrap(),
        std::process::id().to_string()
    );
    // Another open file description of the same lock file: refused (flock locks belong to the
    // open file, so this holds within one process as across processes).
    let e = specnorm_atomic::lock_dir(&dir).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "{} is in use by another process (pid {})",
            dir.display(),
            std::process::id()
        )),
        "{msg}"
    );
    assert!(msg.contains(".specnorm.lock"), "{msg}");
    drop(first);
    // Released: the file stays, empty, and can be locked again.
    assert_eq!(
        std::fs::read_to_string(dir.join(specnorm_atomic::LOCK_FILE)).unwrap(),
        ""
    );
    let again = specnorm_atomic::lock_dir(&dir).unwrap();
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_lock_file_left_by_a_dead_process_is_not_stale() {
    let dir = fresh("stale");
    std::fs::create_dir_all(&dir).unwrap();
    // What a killed holder leaves: the file with its pid, but no lock (the OS dropped it).
    std::fs::write(dir.join(specnorm_atomic::LOCK_FILE), "999999999").unwrap();
    let l = specnorm_atomic::lock_dir(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(l.path()).unwrap(),
        std::process::id().to_string()
    );
    drop(l);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "fault-injection")]
#[test]
fn injected_enospc_fails_matching_writes_and_leaves_nothing() {
    let dir = fresh("fault");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("checkpoint-fold1.safetensors");
    let other = dir.join("report.json");
    std::fs::write(&target, b"old").unwrap();
    // SAFETY (edition 2021: set_var is safe): no other test in this binary reads the variable.
    std::env::set_var(specnorm_atomic::FAIL_WRITES_ENV, "checkpoint-fold1");
    let e = specnorm_atomic::write(&target, b"new content").unwrap_err();
    let ok = specnorm_atomic::write(&other, b"{}");
    std::env::remove_var(specnorm_atomic::FAIL_WRITES_ENV);
    assert_eq!(e.raw_os_error(), Some(28), "{e}");
    assert!(e.to_string().contains("No space left on device"), "{e}");
    ok.unwrap();
    // The old target is intact and no temporary file is left.
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["checkpoint-fold1.safetensors", "report.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
