//! The statistics readers on arbitrary text: `Stats::from_json` (stats.json),
//! `StatsAccumulator::from_json` (accumulator state), `DatasetStats::from_json`
//! (`specnorm stats --shard` partial files) and `SumStats::from_kaldi_text`.
//! Never panics or aborts; whatever loads serializes again and loads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specnorm_pipeline::DatasetStats;
use specnorm_stats::interop::SumStats;
use specnorm_stats::{Stats, StatsAccumulator};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = Stats::from_json(&text) {
        let again = s.to_json().expect("loaded statistics serialize");
        Stats::from_json(&again).expect("serialized statistics load back");
    }
    if let Ok(acc) = StatsAccumulator::from_json(&text) {
        let again = acc.to_json().expect("a loaded accumulator serializes");
        StatsAccumulator::from_json(&again).expect("a serialized accumulator loads back");
    }
    let src = Path::new("fuzz-part.json");
    match DatasetStats::from_json(&text, Some(src)) {
        Ok(p) => {
            let again = p.to_json().expect("a loaded partial serializes");
            DatasetStats::from_json(&again, None).expect("a serialized partial loads back");
        }
        Err(e) => assert!(e.to_string().contains("fuzz-part.json"), "{e}"),
    }
    let _ = SumStats::from_kaldi_text(&text, None);
});
