//! `specnorm report DIR... --out DIR`: one report from the runs of several experiment output
//! folders (the shards of `experiment --shard`), through `report::write_merged_report`. Needs
//! no libtorch.

use std::path::PathBuf;

use anyhow::Result;
use specnorm_experiment::report::write_merged_report;

/// Arguments of `specnorm report`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  specnorm report runs/blog/1 runs/blog/2 runs/blog/3 --out runs/blog-report"
)]
pub struct Args {
    /// Output folders of `specnorm experiment` (same configuration, e.g. its shards).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for results.json, results.md and the plots.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let merged = write_merged_report(&a.dirs, &a.out)?;
    for m in &merged.carried.missing {
        eprintln!("warning: results.md links to {m}");
    }
    let doc = merged.doc;
    println!(
        "merged {} run(s) from {} folder(s) into {}",
        doc.runs.len(),
        a.dirs.len(),
        a.out.display()
    );
    println!("\n{}", doc.summary.conclusion);
    Ok(())
}
