//! A bare file name (no parent) is written relative to the current directory.
//! In its own test binary because it changes the process's working directory.

#[test]
fn parent_less_relative_paths_work() {
    let dir = std::env::temp_dir().join(format!("specnorm-atomic-rel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::env::set_current_dir(&dir).unwrap();

    let target = std::path::Path::new("out.json");
    assert_eq!(target.parent(), Some(std::path::Path::new("")));
    specnorm_atomic::write(target, b"[1, 2]").unwrap();
    specnorm_atomic::write_with(target, |tmp| {
        assert_eq!(tmp.parent(), Some(std::path::Path::new("")));
        std::fs::write(tmp, b"[3]")
    })
    .unwrap();
    assert_eq!(std::fs::read(dir.join("out.json")).unwrap(), b"[3]");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);

    std::env::set_current_dir(std::env::temp_dir()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
