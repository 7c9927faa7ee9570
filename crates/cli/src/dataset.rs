//! The dataset-layout flags (`--layout`, `--metadata`, the column names, `--folds`, ...), one
//! clap struct that commands reading a dataset flatten, resolved to a `specnorm_folds::Layout`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use specnorm_folds::{Dataset, DatasetOptions, Layout, LayoutOptionError, LayoutOptions};

/// `--layout` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// ESC-50: meta/esc50.csv, audio/ (--esc10 for ESC-10).
    Esc50,
    /// Any metadata CSV: --metadata FILE with --filename-col, --label-col, --fold-col.
    Csv,
    /// UrbanSound8K: metadata/UrbanSound8K.csv, audio/fold{N}/.
    Urbansound8k,
    /// A folder per class (<class>/<clip>.wav|flac|ogg|mp3); --folds K stratified folds drawn
    /// with --fold-seed and written to a fold file that later runs reuse.
    Folders,
}

/// How the dataset under `--data` is laid out.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Dataset layout")]
pub struct DatasetArgs {
    /// Layout of the dataset root.
    #[arg(long, value_enum, default_value_t = LayoutKind::Esc50)]
    pub layout: LayoutKind,
    /// ESC-50 only: keep the ESC-10 rows (esc10 column True).
    #[arg(long)]
    pub esc10: bool,
    /// --layout csv: the metadata CSV, relative to --data (or absolute).
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
    /// --layout csv: the file name column [default: filename].
    #[arg(long, value_name = "NAME")]
    pub filename_col: Option<String>,
    /// --layout csv: the class label column [default: label]; targets are the labels' ranks
    /// unless --target-col names an integer column.
    #[arg(long, value_name = "NAME")]
    pub label_col: Option<String>,
    /// --layout csv: the fold column (non-negative integers) [default: fold].
    #[arg(long, value_name = "NAME")]
    pub fold_col: Option<String>,
    /// --layout csv: an integer class index column to use as the target.
    #[arg(long, value_name = "NAME")]
    pub target_col: Option<String>,
    /// --layout csv: the folder the file names are relative to, relative to --data (or
    /// absolute) [default: --data itself].
    #[arg(long, value_name = "DIR", visible_alias = "prefix")]
    pub audio_dir: Option<PathBuf>,
    /// --layout folders: number of folds to draw [default: 5].
    #[arg(long, value_name = "K")]
    pub folds: Option<u32>,
    /// --layout folders: seed of the fold draw [default: 0].
    #[arg(long, value_name = "SEED")]
    pub fold_seed: Option<u64>,
    /// --layout folders: where the fold file is (relative to --data, or absolute)
    /// [default: <data>/specnorm-folds-k<K>-seed<SEED>.csv].
    #[arg(long, value_name = "FILE")]
    pub fold_file: Option<PathBuf>,
    /// Read metadata entries that resolve outside the dataset's audio folder (`../x`, absolute
    /// paths, symbolic links pointing out). Without it they are an error listing the rows.
    #[arg(long)]
    pub allow_outside_root: bool,
}

impl DatasetArgs {
    /// The layout the flags describe; a flag that belongs to another layout is an error.
    pub fn layout(&self) -> Result<Layout> {
        let opts = LayoutOptions {
            esc10: self.esc10,
            metadata: self.metadata.clone(),
            filename_col: self.filename_col.clone(),
            label_col: self.label_col.clone(),
            fold_col: self.fold_col.clone(),
            target_col: self.target_col.clone(),
            audio_dir: self.audio_dir.clone(),
            folds: self.folds,
            fold_seed: self.fold_seed,
            fold_file: self.fold_file.clone(),
        };
        let flag = |option: &str| format!("--{}", option.replace('_', "-"));
        Layout::from_options(self.layout.name(), &opts).map_err(|e| match e {
            LayoutOptionError::Misplaced {
                option,
                belongs,
                layout,
            } => anyhow!(
                "{} applies to --layout {belongs}, not --layout {layout}",
                flag(option)
            ),
            LayoutOptionError::NoMetadata => {
                anyhow!("--layout csv needs --metadata FILE (the CSV listing the clips)")
            }
            other => anyhow!(other),
        })
    }

    /// Opens the dataset at `root` in the layout of the flags.
    pub fn open(&self, root: &Path) -> Result<Dataset> {
        let layout = self.layout()?;
        let opts = DatasetOptions {
            allow_outside_root: self.allow_outside_root,
        };
        Dataset::open_layout(root, &layout, opts).with_context(|| {
            format!(
                "opening dataset {} (--layout {})",
                root.display(),
                layout.name()
            )
        })
    }
}

impl LayoutKind {
    /// The name `specnorm_folds::Layout::from_options` takes.
    fn name(self) -> &'static str {
        match self {
            LayoutKind::Esc50 => "esc50",
            LayoutKind::Csv => "csv",
            LayoutKind::Urbansound8k => "urbansound8k",
            LayoutKind::Folders => "folders",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use specnorm_folds::{CsvLayout, FolderLayout};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        d: DatasetArgs,
    }

    fn layout(args: &[&str]) -> Result<Layout> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))?;
        cli.d.layout()
    }

    #[test]
    fn flags_resolve_to_layouts() {
        assert_eq!(layout(&[]).unwrap(), Layout::default());
        assert_eq!(layout(&["--esc10"]).unwrap(), Layout::Esc50 { esc10: true });
        assert_eq!(
            layout(&["--layout", "urbansound8k"]).unwrap(),
            Layout::UrbanSound8K
        );
        assert_eq!(
            layout(&[
                "--layout",
                "csv",
                "--metadata",
                "m.csv",
                "--label-col",
                "word",
                "--prefix",
                "wavs"
            ])
            .unwrap(),
            Layout::Csv(CsvLayout {
                label_col: "word".into(),
                audio_dir: "wavs".into(),
                ..CsvLayout::new("m.csv")
            })
        );
        assert_eq!(
            layout(&["--layout", "folders", "--folds", "10", "--fold-seed", "4"]).unwrap(),
            Layout::Folders(FolderLayout {
                folds: 10,
                seed: 4,
                fold_file: None
            })
        );
    }

    #[test]
    fn flags_of_another_layout_are_refused() {
        for (args, want) in [
            (
                &["--folds", "3"][..],
                "--folds applies to --layout folders, not --layout esc50",
            ),
            (
                &["--layout", "folders", "--label-col", "x"][..],
                "--label-col applies to --layout csv, not --layout folders",
            ),
            (
                &["--layout", "csv", "--metadata", "m.csv", "--esc10"][..],
                "--esc10 applies to --layout esc50, not --layout csv",
            ),
            (
                &["--layout", "csv"][..],
                "--layout csv needs --metadata FILE",
            ),
        ] {
            let e = layout(args).unwrap_err().to_string();
            assert!(e.contains(want), "want {want:?} in {e:?}");
        }
    }
}
