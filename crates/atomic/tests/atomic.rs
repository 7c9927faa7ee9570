//! Behaviour of `write` / `write_with` on a real file system.

use std::io;
use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("specnorm-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn target_appears_only_complete() {
    let d = Dir::new("complete");
    let target = d.0.join("spec.npy");
    let mut seen_tmp = PathBuf::new();
    specnorm_atomic::write_with(&target, |tmp| -> io::Result<()> {
        seen_tmp = tmp.to_path_buf();
        std::fs::write(tmp, b"first half ")?;
        // Mid-write: the target does not exist yet, only the hidden temp file.
        assert!(!target.exists());
        assert_eq!(d.names(), vec![tmp.file_name().unwrap().to_string_lossy()]);
        let mut f = std::fs::OpenOptions::new().append(true).open(tmp)?;
        io::Write::write_all(&mut f, b"second half")
    })
    .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"first half second half");
    assert!(!seen_tmp.exists());
    assert_eq!(d.names(), vec!["spec.npy"]);
    // The temp file was a hidden sibling that no `*.npy` glob would match.
    let tmp_name = seen_tmp.file_name().unwrap().to_str().unwrap();
    assert_eq!(seen_tmp.parent(), Some(d.0.as_path()));
    assert!(tmp_name.starts_with(".spec.npy."), "{tmp_name}");
    assert!(tmp_name.ends_with(".tmp"), "{tmp_name}");
}

#[test]
fn write_writes_exact_bytes_and_replaces_an_existing_target() {
    let d = Dir::new("replace");
    let target = d.0.join("results.json");
    std::fs::write(&target, vec![b'x'; 10_000]).unwrap();
    specnorm_atomic::write(&target, b"{}").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"{}");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    specnorm_atomic::write(&target, &big).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), big);
    specnorm_atomic::write(&target, b"").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    assert_eq!(d.names(), vec!["results.json"]);
}

#[derive(Debug)]
enum MyError {
    Io(io::Error),
    Encoder(&'static str),
}

impl From<io::Error> for MyError {
    fn from(e: io::Error) -> Self {
        MyError::Io(e)
    }
}

#[test]
fn failing_writer_leaves_no_temp_file_and_no_target() {
    let d = Dir::new("fail");
    let target = d.0.join("plot.png");
    let e = specnorm_atomic::write_with(&target, |tmp| {
        std::fs::write(tmp, b"\x89PNG half")?;
        Err(MyError::Encoder("out of ink"))
    })
    .unwrap_err();
    assert!(matches!(e, MyError::Encoder("out of ink")), "{e:?}");
    assert!(!target.exists());
    assert!(d.names().is_empty(), "{:?}", d.names());
}

#[test]
fn failing_writer_leaves_an_existing_target_untouched() {
    let d = Dir::new("keep");
    let target = d.0.join("model.safetensors");
    std::fs::write(&target, b"old model").unwrap();
    let e = specnorm_atomic::write_with(&target, |tmp| -> io::Result<()> {
        std::fs::write(tmp, b"new mo")?;
        Err(io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "disk full");
    assert_eq!(std::fs::read(&target).unwrap(), b"old model");
    assert_eq!(d.names(), vec!["model.safetensors"]);
}

#[test]
fn writer_that_creates_nothing_is_an_error() {
    let d = Dir::new("nothing");
    let target = d.0.join("a.wav");
    // The sync/rename step's io::Error reaches the caller through `E::from`.
    let e = specnorm_atomic::write_with(&target, |_| Ok::<(), MyError>(())).unwrap_err();
    assert!(
        matches!(&e, MyError::Io(io) if io.kind() == io::ErrorKind::NotFound),
        "{e:?}"
    );
    assert!(d.names().is_empty());
}

#[test]
fn missing_directory_is_an_io_error_and_creates_nothing() {
    let d = Dir::new("missing");
    let target = d.0.join("no_such_dir").join("a.json");
    let e = specnorm_atomic::write(&target, b"{}").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert!(d.names().is_empty());
    // A path without a file name is refused before anything is written.
    let e = specnorm_atomic::write(&d.0.join(".."), b"{}").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn concurrent_writers_in_one_directory_do_not_collide() {
    let d = Dir::new("threads");
    let dir: &Path = &d.0;
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                for i in 0..25 {
                    let own = dir.join(format!("t{t}.json"));
                    let body = format!("thread {t} write {i:02} ").repeat(50);
                    specnorm_atomic::write(&own, body.as_bytes()).unwrap();
                    // Every thread also rewrites one shared target: last one wins,
                    // but whatever is there is always one complete write.
                    let shared = dir.join("shared.json");
                    specnorm_atomic::write(&shared, body.as_bytes()).unwrap();
                    let now = std::fs::read_to_string(&shared).unwrap();
                    assert_eq!(now.len(), body.len(), "torn write: {now:?}");
                    assert_eq!(now, now[..now.len() / 50].repeat(50));
                }
            });
        }
    });
    let mut want: Vec<String> = (0..8).map(|t| format!("t{t}.json")).collect();
    want.push("shared.json".into());
    want.sort();
    assert_eq!(d.names(), want, "temp files left or targets missing");
    for t in 0..8 {
        let got = std::fs::read_to_string(dir.join(format!("t{t}.json"))).unwrap();
        assert_eq!(got, format!("thread {t} write 24 ").repeat(50));
    }
}
