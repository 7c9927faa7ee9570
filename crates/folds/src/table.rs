//! Reading a metadata CSV into items: header lookup, UTF-8 and number checks with row numbers,
//! the label rule, and the per-layout path rule.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::{FoldsError, Item};

/// A metadata CSV being read: its header names and the records after it.
pub(crate) struct Table {
    csv: PathBuf,
    names: Vec<String>,
    rdr: csv::Reader<std::fs::File>,
}

impl Table {
    /// Opens `csv` and reads its header (a UTF-8 BOM and surrounding spaces are dropped).
    pub fn open(csv: &Path) -> Result<Table, FoldsError> {
        let csv_path = csv.to_path_buf();
        let file = std::fs::File::open(csv).map_err(|source| FoldsError::Io {
            csv: csv_path.clone(),
            source,
        })?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file);
        let header = rdr
            .byte_headers()
            .map_err(|source| FoldsError::Csv {
                csv: csv_path.clone(),
                source,
            })?
            .clone();
        if header.is_empty() {
            return Err(FoldsError::Empty {
                csv: csv_path,
                what: "no header",
            });
        }
        let mut names = Vec::with_capacity(header.len());
        for (field, h) in header.iter().enumerate() {
            let s = std::str::from_utf8(h).map_err(|_| FoldsError::NonUtf8 {
                csv: csv_path.clone(),
                row: 1,
                field,
            })?;
            names.push(s.trim().trim_start_matches('\u{feff}').to_string());
        }
        Ok(Table {
            csv: csv_path,
            names,
            rdr,
        })
    }

    /// The CSV path.
    pub fn csv(&self) -> &Path {
        &self.csv
    }

    /// Index of the column `name`.
    pub fn col(&self, name: &str) -> Result<usize, FoldsError> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| FoldsError::MissingColumn {
                csv: self.csv.clone(),
                column: name.to_string(),
                header: self.names.clone(),
            })
    }

    /// Calls `f(row, fields)` for every record in order; `row` is the 1-based line number and
    /// every field has been checked to be UTF-8 (the first bad field is reported).
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(u64, &[&str]) -> Result<(), FoldsError>,
    ) -> Result<(), FoldsError> {
        let mut rec = csv::ByteRecord::new();
        loop {
            match self.rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(source) => {
                    return Err(FoldsError::Csv {
                        csv: self.csv.clone(),
                        source,
                    })
                }
            }
            let row = rec.position().map_or(0, |p| p.line());
            let mut fields = Vec::with_capacity(rec.len());
            for (i, bytes) in rec.iter().enumerate() {
                fields.push(std::str::from_utf8(bytes).map_err(|_| FoldsError::NonUtf8 {
                    csv: self.csv.clone(),
                    row,
                    field: i,
                })?);
            }
            f(row, &fields)?;
        }
    }
}

pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

/// Where an item's class comes from.
pub(crate) enum Label<'a> {
    /// An integer target column and a class-name column (ESC-50, UrbanSound8K); one target must
    /// always carry the same name.
    Target {
        /// Integer class index column.
        target: &'a str,
        /// Class name column.
        category: &'a str,
    },
    /// One class-name column; targets are the names' ranks ([`label_ranks`]).
    Named(&'a str),
}

/// How a metadata CSV maps to items.
pub(crate) struct Spec<'a> {
    /// File name column.
    pub filename: &'a str,
    /// Fold column.
    pub fold: &'a str,
    /// The class.
    pub label: Label<'a>,
    /// A `True`/`False` column: only rows with `True` are kept (ESC-10 out of ESC-50).
    pub select: Option<&'a str>,
    /// Files live in `audio_dir/fold{N}/` (UrbanSound8K) rather than `audio_dir/`.
    pub fold_subdirs: bool,
}

/// The targets of [`Label::Named`]: each distinct label's rank in sorted order, numeric order
/// when every label is a non-negative integer (`"2"` before `"10"`), byte order otherwise.
pub(crate) fn label_ranks<'a>(labels: impl Iterator<Item = &'a str>) -> HashMap<String, u32> {
    let distinct: BTreeSet<&str> = labels.collect();
    let mut sorted: Vec<&str> = distinct.into_iter().collect();
    if sorted.iter().all(|l| l.parse::<u64>().is_ok()) {
        sorted.sort_by_key(|l| l.parse::<u64>().unwrap_or(0));
    }
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, l)| (l.to_string(), i as u32))
        .collect()
}

fn spec_label_column<'a>(label: &Label<'a>) -> &'a str {
    match *label {
        Label::Named(c) => c,
        Label::Target { category, .. } => category,
    }
}

fn parse_flag(csv: &Path, row: u64, column: &str, value: &str) -> Result<bool, FoldsError> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(FoldsError::BadFlag {
            csv: csv.to_path_buf(),
            row,
            column: column.to_string(),
            value: value.to_string(),
        })
    }
}

/// Reads every row of `csv` by `spec`: the items (CSV order, selected rows only) and their line
/// numbers. Checks each field as documented on [`crate::Dataset::from_csv`]; not the
/// containment (the caller applies the outside-root policy).
pub(crate) fn read(
    csv: &Path,
    audio_dir: &Path,
    spec: &Spec<'_>,
) -> Result<(Vec<Item>, Vec<u64>), FoldsError> {
    let mut table = Table::open(csv)?;
    let csv_path = table.csv().to_path_buf();
    let ci_file = table.col(spec.filename)?;
    let ci_fold = table.col(spec.fold)?;
    let (ci_target, ci_cat) = match spec.label {
        Label::Target { target, category } => (Some(table.col(target)?), table.col(category)?),
        Label::Named(label) => (None, table.col(label)?),
    };
    let ci_select = spec.select.map(|c| table.col(c)).transpose()?;

    let mut items = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut class_rows: HashMap<u32, (String, u64)> = HashMap::new();
    // the csv reader enforces equal field counts, so every header index exists in a record
    let get = |fields: &[&str], i: usize| fields.get(i).copied().unwrap_or("").to_string();
    table.for_each(|row, fields| {
        if let (Some(col), Some(i)) = (spec.select, ci_select) {
            if !parse_flag(&csv_path, row, col, &get(fields, i))? {
                return Ok(());
            }
        }
        let filename = get(fields, ci_file).trim().to_string();
        if filename.is_empty() {
            return Err(FoldsError::EmptyFilename {
                csv: csv_path.clone(),
                row,
            });
        }
        let fold_s = get(fields, ci_fold);
        let fold = parse_u32(&fold_s).ok_or_else(|| FoldsError::BadFold {
            csv: csv_path.clone(),
            row,
            value: fold_s.clone(),
        })?;
        let category = get(fields, ci_cat).trim().to_string();
        let target = match ci_target {
            Some(ci) => {
                let target_s = get(fields, ci);
                Some(parse_u32(&target_s).ok_or_else(|| FoldsError::BadTarget {
                    csv: csv_path.clone(),
                    row,
                    value: target_s.clone(),
                })?)
            }
            None if category.is_empty() => {
                return Err(FoldsError::EmptyLabel {
                    csv: csv_path.clone(),
                    row,
                    column: spec_label_column(&spec.label).to_string(),
                })
            }
            None => None, // ranked below, once every label is known
        };
        if let Some(&first) = seen.get(&filename) {
            return Err(FoldsError::DuplicateFilename {
                csv: csv_path.clone(),
                filename,
                first,
                second: row,
            });
        }
        if let Some(target) = target {
            match class_rows.get(&target) {
                Some((c, r)) if *c != category => {
                    return Err(FoldsError::InconsistentClass {
                        csv: csv_path.clone(),
                        target,
                        first: c.clone(),
                        first_row: *r,
                        second: category,
                        second_row: row,
                    })
                }
                Some(_) => {}
                None => {
                    class_rows.insert(target, (category.clone(), row));
                }
            }
        }
        let target = target.unwrap_or(0);
        seen.insert(filename.clone(), row);
        let path = if spec.fold_subdirs {
            audio_dir.join(format!("fold{fold}")).join(&filename)
        } else {
            audio_dir.join(&filename)
        };
        rows.push(row);
        items.push(Item {
            path,
            filename,
            fold,
            target,
            category,
        });
        Ok(())
    })?;
    if items.is_empty() {
        return Err(FoldsError::Empty {
            csv: csv_path,
            what: if spec.select.is_some() {
                "no selected rows"
            } else {
                "no data rows"
            },
        });
    }
    if matches!(spec.label, Label::Named(_)) {
        let ranks = label_ranks(items.iter().map(|i| i.category.as_str()));
        for it in &mut items {
            it.target = ranks.get(&it.category).copied().unwrap_or(0);
        }
    }
    Ok((items, rows))
}
