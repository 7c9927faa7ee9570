//! Bad input at scale: 10,000 generated files of which 5 % are bad (five kinds), through `stats`:
//! every bad file is listed exactly once, the exit status is the documented one (non-zero without
//! `--skip-bad`, zero with it), and the peak resident memory of the command stays under a bound.
//! `infer` over the same folder is `scale_infer.rs` (its own test binary, so its peak RSS is not
//! masked by stats'); both build the set with `common::scale::dataset`.

mod common;

use common::scale::specnorm as run;
use common::scale::{children_max_rss, dataset, each_listed_once, FILES, MAX_RSS_BYTES};

#[test]
fn ten_thousand_files_five_percent_bad() {
    let dir = tempfile::tempdir().unwrap();
    let set = dataset(&dir.path().join("esc"));
    let (root, audio, bad) = (&set.root, &set.audio, &set.bad);
    assert_eq!(bad.len(), 500);
    let out = dir.path().join("stats.json");

    // stats without --skip-bad: exit 1, every bad file listed once, nothing written.
    let o = run(&[
        &"stats",
        &"--data",
        root,
        &"--seconds",
        &"0",
        &"--out",
        &out,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("500 file(s) could not be turned into features"),
        "{err}"
    );
    each_listed_once(&err, bad, audio);
    assert!(!out.exists());
    // With --skip-bad: exit 0, the same list once, the good training clips counted.
    let o = run(&[
        &"stats",
        &"--data",
        root,
        &"--seconds",
        &"0",
        &"--out",
        &out,
        &"--skip-bad",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("skipped 500 bad file(s)"), "{err}");
    each_listed_once(&err, bad, audio);
    let s = specnorm_stats::Stats::load_json(&out).unwrap();
    assert_eq!(s.provenance.clips, (FILES - 10 - 500) as u64);
    let rss = children_max_rss();
    assert!(rss < MAX_RSS_BYTES, "stats peak RSS {} MiB", rss >> 20);
    eprintln!("stats: peak RSS {} MiB", rss >> 20);
}
