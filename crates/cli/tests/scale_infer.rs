//! Bad input at scale through `infer`: the 10,000 generated files of `scale.rs` (5 % bad, five
//! kinds; built by the same `common::scale::dataset`) classified with the short-clip fixture
//! model `tiny_short.onnx` (25 ms clips, 16 mel bands: one inference costs next to nothing, so
//! the run measures infer's own per-file path). Every bad file is listed exactly once on stderr,
//! every good file gets exactly one output line, the exit status is the documented one (non-zero
//! without `--skip-bad`, zero with it) and the peak resident memory stays under the same bound
//! as `stats`'. Its own test binary, so `RUSAGE_CHILDREN` sees only the infer processes.
#![cfg(feature = "infer")]

mod common;

use std::path::Path;

use common::scale::specnorm as run;
use common::scale::{children_max_rss, dataset, each_listed_once, FILES, MAX_RSS_BYTES};

#[test]
fn infer_over_ten_thousand_files_five_percent_bad() {
    let dir = tempfile::tempdir().unwrap();
    let set = dataset(&dir.path().join("esc"));
    assert_eq!(set.bad.len(), 500);
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fixtures/export/tiny_short.onnx");

    // Without --skip-bad: exit 1, every bad file listed once, every good file classified.
    let o = run(&[
        &"infer", &"--model", &model, &"--json", &"--top-k", &"1", &set.audio,
    ]);
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("500 of {FILES} file(s) could not be classified")),
        "{err}"
    );
    each_listed_once(&err, &set.bad, &set.audio);
    assert_eq!(out.lines().count(), set.good.len());
    let files: Vec<_> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["top"].as_array().unwrap().len(), 1, "{l}");
            v["file"].as_str().unwrap().to_string()
        })
        .collect();
    let want: Vec<_> = set.good.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(files, want, "one line per good file, in name order");

    // With --skip-bad: exit 0, the same list once, one text line per good file.
    let o = run(&[&"infer", &"--model", &model, &"--skip-bad", &set.audio]);
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "skipped 500 of {FILES} file(s) that could not be classified (--skip-bad)"
        )),
        "{err}"
    );
    each_listed_once(&err, &set.bad, &set.audio);
    each_listed_once(&out, &set.good, &set.audio);
    assert_eq!(out.lines().count(), set.good.len());

    let rss = children_max_rss();
    assert!(rss < MAX_RSS_BYTES, "infer peak RSS {} MiB", rss >> 20);
    eprintln!("infer: peak RSS {} MiB", rss >> 20);
}
