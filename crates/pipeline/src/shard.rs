//! Shards: which share of the training clips one job reduces, given on the command line or taken
//! from the environment a Slurm array or a Kubernetes Indexed Job sets.

use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// Shard `index` of `count` (1-based: `1..=count`).
///
/// Assignment: the training clips, in metadata (CSV) order after `--sample`, are dealt round robin:
/// clip `i` (0-based) belongs to shard `i % count + 1`. Shard sizes therefore differ by at most
/// one, every shard sees every fold and class in proportion, and the assignment depends only on
/// the metadata, the validation fold and the sampling, never on the machine or on timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "(u32, u32)", into = "(u32, u32)")]
pub struct Shard {
    index: u32,
    count: u32,
}

impl TryFrom<(u32, u32)> for Shard {
    type Error = PipelineError;

    fn try_from((index, count): (u32, u32)) -> Result<Self, PipelineError> {
        Shard::new(index, count)
    }
}

impl From<Shard> for (u32, u32) {
    fn from(s: Shard) -> Self {
        (s.index, s.count)
    }
}

impl Shard {
    /// The whole set of clips (shard 1 of 1).
    pub const FULL: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` of `count`; errors unless `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, PipelineError> {
        if count == 0 || index == 0 || index > count {
            return Err(PipelineError::Shard(format!(
                "shard {index}/{count}: need 1 <= K <= N"
            )));
        }
        Ok(Shard { index, count })
    }

    /// 1-based shard number `K`.
    pub fn index(self) -> u32 {
        self.index
    }

    /// Number of shards `N`.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The items of this shard (see the [assignment](Shard)), in their order.
    pub fn select<T: Clone>(self, items: &[T]) -> Vec<T> {
        items
            .iter()
            .skip((self.index - 1) as usize)
            .step_by(self.count as usize)
            .cloned()
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_count(s: &str, what: &str) -> Result<u32, PipelineError> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| PipelineError::Shard(format!("{what} {s:?} is not a positive integer")))
}

impl std::str::FromStr for Shard {
    type Err = PipelineError;

    /// `K/N`, e.g. `2/4`.
    fn from_str(s: &str) -> Result<Shard, PipelineError> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| PipelineError::Shard(format!("{s:?} is not K/N (e.g. 2/4)")))?;
        Shard::new(parse_count(k, "shard")?, parse_count(n, "shard count")?)
    }
}

/// How the shard was given: `K/N`, or `auto` / `auto/N` (from the environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardSpec {
    /// An explicit shard.
    Given(Shard),
    /// From `SLURM_ARRAY_TASK_ID` (Slurm array) or `JOB_COMPLETION_INDEX` (Kubernetes Indexed
    /// Job); the count, when given, is required for Kubernetes and checked against Slurm's.
    Auto {
        /// `N` of `auto/N`.
        count: Option<u32>,
    },
}

impl std::str::FromStr for ShardSpec {
    type Err = PipelineError;

    fn from_str(s: &str) -> Result<ShardSpec, PipelineError> {
        match s.trim() {
            "auto" => Ok(ShardSpec::Auto { count: None }),
            t => match t.strip_prefix("auto/") {
                Some(n) => {
                    let count = parse_count(n, "shard count")?;
                    Shard::new(1, count)?;
                    Ok(ShardSpec::Auto { count: Some(count) })
                }
                None => t.parse().map(ShardSpec::Given),
            },
        }
    }
}

/// Where a resolved shard came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardOrigin {
    /// Given as `K/N`.
    Given,
    /// A Slurm array job: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_STEP`
    /// (1 when unset) and `SLURM_ARRAY_TASK_COUNT`.
    Slurm {
        /// `SLURM_ARRAY_TASK_ID`.
        task_id: u32,
    },
    /// A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based) and the count from `auto/N`.
    Kubernetes {
        /// `JOB_COMPLETION_INDEX`.
        completion_index: u32,
    },
}

impl std::fmt::Display for ShardOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardOrigin::Given => write!(f, "given on the command line"),
            ShardOrigin::Slurm { task_id } => write!(
                f,
                "from the Slurm array (SLURM_ARRAY_TASK_ID={task_id}, SLURM_ARRAY_TASK_MIN, \
                 SLURM_ARRAY_TASK_STEP, SLURM_ARRAY_TASK_COUNT)"
            ),
            ShardOrigin::Kubernetes { completion_index } => write!(
                f,
                "from the Kubernetes Indexed Job (JOB_COMPLETION_INDEX={completion_index}) and \
                 the given count"
            ),
        }
    }
}

impl ShardSpec {
    /// The shard, looking environment variables up with `env` (pass
    /// `|k| std::env::var(k).ok()`). Slurm wins when both schedulers' variables are set.
    ///
    /// ```
    /// use specnorm_pipeline::{Shard, ShardOrigin, ShardSpec};
    /// let env = |k: &str| match k {
    ///     "SLURM_ARRAY_TASK_ID" => Some("3".to_string()),
    ///     "SLURM_ARRAY_TASK_MIN" => Some("0".to_string()),
    ///     "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
    ///     _ => None,
    /// };
    /// let (shard, origin) = "auto".parse::<ShardSpec>()?.resolve(env)?;
    /// assert_eq!(shard, Shard::new(4, 4)?);
    /// assert_eq!(origin, ShardOrigin::Slurm { task_id: 3 });
    /// # Ok::<(), specnorm_pipeline::PipelineError>(())
    /// ```
    pub fn resolve(
        self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Shard, ShardOrigin), PipelineError> {
        let count = match self {
            ShardSpec::Given(s) => return Ok((s, ShardOrigin::Given)),
            ShardSpec::Auto { count } => count,
        };
        let var = |name: &str| -> Result<Option<u32>, PipelineError> {
            env(name).map(|v| parse_u32_var(name, &v)).transpose()
        };
        if let Some(task_id) = var("SLURM_ARRAY_TASK_ID")? {
            let need = |name: &str| {
                var(name)?.ok_or_else(|| {
                    PipelineError::Shard(format!(
                        "SLURM_ARRAY_TASK_ID is set but {name} is not (run as an sbatch --array job)"
                    ))
                })
            };
            let (min, n) = (
                need("SLURM_ARRAY_TASK_MIN")?,
                need("SLURM_ARRAY_TASK_COUNT")?,
            );
            let step = var("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            if task_id < min || (task_id - min) % step != 0 {
                return Err(PipelineError::Shard(format!(
                    "SLURM_ARRAY_TASK_ID={task_id} is not in an array starting at {min} with step {step}"
                )));
            }
            let k = (task_id - min) / step + 1;
            if let Some(c) = count.filter(|&c| c != n) {
                return Err(PipelineError::Shard(format!(
                    "--shard auto/{c} but SLURM_ARRAY_TASK_COUNT={n}"
                )));
            }
            let shard = Shard::new(k, n).map_err(|_| {
                PipelineError::Shard(format!(
                    "SLURM_ARRAY_TASK_ID={task_id} is task {k} of an array of {n} \
                     (use a contiguous --array like 0-{})",
                    n.saturating_sub(1)
                ))
            })?;
            return Ok((shard, ShardOrigin::Slurm { task_id }));
        }
        if let Some(idx) = var("JOB_COMPLETION_INDEX")? {
            let n = count.ok_or_else(|| {
                PipelineError::Shard(format!(
                    "JOB_COMPLETION_INDEX={idx} is set but Kubernetes gives no shard count: use \
                     --shard auto/N with N = the Job's spec.completions"
                ))
            })?;
            let shard = Shard::new(idx.saturating_add(1), n).map_err(|_| {
                PipelineError::Shard(format!(
                    "JOB_COMPLETION_INDEX={idx} is not below the shard count {n}"
                ))
            })?;
            return Ok((
                shard,
                ShardOrigin::Kubernetes {
                    completion_index: idx,
                },
            ));
        }
        Err(PipelineError::Shard(
            "--shard auto needs SLURM_ARRAY_TASK_ID (Slurm array job) or JOB_COMPLETION_INDEX \
             (Kubernetes Indexed Job); neither is set"
                .into(),
        ))
    }
}

fn parse_u32_var(name: &str, v: &str) -> Result<u32, PipelineError> {
    v.trim()
        .parse::<u32>()
        .map_err(|_| PipelineError::Shard(format!("{name}={v:?} is not a non-negative integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parse_and_select() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!((s.index(), s.count()), (2, 3));
        assert_eq!(s.to_string(), "2/3");
        for bad in ["0/3", "4/3", "1/0", "x/2", "2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let items: Vec<u32> = (0..10).collect();
        let all: Vec<Vec<u32>> = (1..=3)
            .map(|k| Shard::new(k, 3).unwrap().select(&items))
            .collect();
        assert_eq!(all[0], vec![0, 3, 6, 9]);
        assert_eq!(all[1], vec![1, 4, 7]);
        assert_eq!(all[2], vec![2, 5, 8]);
        assert_eq!(Shard::FULL.select(&items), items);
        assert_eq!(
            "auto/4".parse::<ShardSpec>().unwrap(),
            ShardSpec::Auto { count: Some(4) }
        );
        assert!("auto/0".parse::<ShardSpec>().is_err());
    }

    #[test]
    fn auto_reads_slurm_and_kubernetes() {
        let auto = ShardSpec::Auto { count: None };
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        // --array=1-5:2 -> tasks 1, 3, 5 are shards 1, 2, 3
        let (s, o) = auto.resolve(env(&slurm)).unwrap();
        assert_eq!(s, Shard::new(3, 3).unwrap());
        assert!(o.to_string().contains("SLURM_ARRAY_TASK_ID=5"), "{o}");
        let e = ShardSpec::Auto { count: Some(4) }
            .resolve(env(&slurm))
            .unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_COUNT=3"), "{e}");
        let e = auto
            .resolve(env(&[("SLURM_ARRAY_TASK_ID", "2")]))
            .unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_MIN"), "{e}");

        let k8s = [("JOB_COMPLETION_INDEX", "0")];
        let e = auto.resolve(env(&k8s)).unwrap_err();
        assert!(e.to_string().contains("auto/N"), "{e}");
        let (s, o) = ShardSpec::Auto { count: Some(4) }
            .resolve(env(&k8s))
            .unwrap();
        assert_eq!(s, Shard::new(1, 4).unwrap());
        assert_eq!(
            o,
            ShardOrigin::Kubernetes {
                completion_index: 0
            }
        );
        let e = ShardSpec::Auto { count: Some(4) }
            .resolve(env(&[("JOB_COMPLETION_INDEX", "4")]))
            .unwrap_err();
        assert!(e.to_string().contains("not below"), "{e}");
        let e = auto.resolve(env(&[])).unwrap_err();
        assert!(e.to_string().contains("neither is set"), "{e}");
        let e = auto
            .resolve(env(&[("JOB_COMPLETION_INDEX", "x")]))
            .unwrap_err();
        assert!(e.to_string().contains("JOB_COMPLETION_INDEX=\"x\""), "{e}");
    }
}
