//! How many runs does a normalization comparison need? For a paired comparison of two
//! settings over `n` (fold, seed) pairs whose accuracy differences have standard deviation
//! `sd` points, print the smallest difference detected 80 % of the time (two-sided, alpha 0.05
//! split over `comparisons` by Bonferroni, the most conservative step of Holm's procedure) and
//! the runs needed to detect 2 points.
//!
//! ```sh
//! cargo run -p specnorm-analysis --example detectable -- [SD_POINTS] [COMPARISONS]
//! ```

use specnorm_analysis::power::{detectable_effect, runs_needed};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sd: f64 = args.next().map_or(Ok(1.5), |s| s.parse())?;
    let comparisons: u32 = args.next().map_or(Ok(3), |s| s.parse())?;
    let alpha = 0.05 / f64::from(comparisons.max(1));
    println!("sd of paired differences {sd} points, alpha {alpha:.4}, power 0.8");
    println!("| pairs | smallest detectable difference (points) |");
    println!("|---:|---:|");
    for n in [3, 5, 10, 20] {
        println!("| {n} | {:.2} |", detectable_effect(n, alpha, 0.8)? * sd);
    }
    match runs_needed(2.0 / sd, alpha, 0.8, 100_000)? {
        Some(n) => println!("runs needed to detect 2 points: {n}"),
        None => println!("2 points cannot be detected with up to 100000 runs"),
    }
    Ok(())
}
