//! `specnorm config --print [--config FILE] [flags]`: the resolved configuration as TOML.

use anyhow::{bail, Context, Result};
use specnorm_experiment::config_file::ConfigFile;
use specnorm_features::FeatureKeys;

use crate::common::FeatureArgs;

/// Arguments of `specnorm config`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm config --print > specnorm.toml          # the defaults, every key\n  \
    specnorm config --print --config specnorm.toml --mel 40 --seconds 1"
)]
pub struct Args {
    /// Print the configuration that library defaults < --config FILE < flags resolve to, as a
    /// TOML file that --config reads back: [features] with every key that applies, and the
    /// file's [experiment] table as written.
    #[arg(long)]
    pub print: bool,
    #[command(flatten)]
    pub features: FeatureArgs,
}

pub fn run(a: Args) -> Result<()> {
    if !a.print {
        bail!("nothing to do: pass --print");
    }
    let resolved = a.features.resolve()?;
    let out = ConfigFile {
        features: FeatureKeys::from(&resolved.features),
        experiment: resolved.file.experiment,
    };
    let text = out.to_toml().context("writing the configuration as TOML")?;
    let source = match &a.features.config {
        Some(p) => format!("library defaults < {} < flags", p.display()),
        None => "library defaults < flags".into(),
    };
    print!("# specnorm config --print: {source}\n{text}");
    Ok(())
}
