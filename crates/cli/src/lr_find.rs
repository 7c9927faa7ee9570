//! `specnorm lr-find` (feature `train`): fastai's learning-rate finder for one setting on the
//! training folds, through `runner::find_lr`; the experiment's flags choose the data, features
//! and model.

use anyhow::{Context, Result};
use specnorm_experiment::runner::{find_lr, Progress, LR_END, LR_START, LR_STEPS};
use specnorm_experiment::settings::SettingChoice;

/// Arguments of `specnorm lr-find`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm lr-find --setting channel --out runs/lr-find\n  \
    specnorm lr-find --data ESC-50-master --model xresnet18 --setting global --device cuda"
)]
pub struct Args {
    /// The setting whose features and normalization the sweep trains on.
    #[arg(long, value_enum, default_value = "channel")]
    pub setting: SettingChoice,
    /// The data, features, model, batch size and device, as for `specnorm experiment`
    /// (--settings, --runs, --epochs and --lr do not apply).
    #[command(flatten)]
    pub experiment: crate::experiment::Args,
}

pub fn run(a: Args) -> Result<()> {
    if a.setting == SettingChoice::All {
        anyhow::bail!("lr-find sweeps one setting: name it with --setting");
    }
    let out = &a.experiment.out;
    let _lock = specnorm_atomic::lock_dir(out)
        .with_context(|| format!("cannot start: --out {} is locked", out.display()))?;
    let cfg = crate::experiment::config(&a.experiment)?;
    let progress = |p: Progress<'_>| match p {
        Progress::Stage(s) => eprintln!("== {s}"),
        Progress::Line(l) => eprintln!("  {l}"),
        _ => {}
    };
    let r = find_lr(&cfg, a.setting.name(), &progress)?;
    println!(
        "{}: suggested learning rate {:.3e} (fastai's valley; sweep {LR_START:e} to {LR_END} \
         over {LR_STEPS} steps, {} recorded, on the training folds of fold {})",
        r.setting,
        r.suggested,
        r.lrs.len(),
        r.fold
    );
    println!(
        "plot: {}",
        out.join("lr_find")
            .join(format!("{}.png", r.setting))
            .display()
    );
    Ok(())
}
