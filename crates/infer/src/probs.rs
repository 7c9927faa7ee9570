//! Probabilities and top-k.

use std::path::PathBuf;

/// Top-k classification of one audio file.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The audio file.
    pub path: PathBuf,
    /// `(class name, probability)` pairs, most probable first.
    pub top: Vec<(String, f32)>,
}

/// Numerically stable softmax (returns an empty vector for empty input; a
/// NaN logit makes every probability NaN).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits
        .iter()
        .map(|&l| (f64::from(l) - f64::from(max)).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / sum) as f32).collect()
}

/// The `k` largest probabilities with their class names, largest first
/// (ties keep class order).
pub fn top_k(probs: &[f32], class_names: &[String], k: usize) -> Vec<(String, f32)> {
    let mut idx: Vec<usize> = (0..probs.len().min(class_names.len())).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(k)
        .map(|i| (class_names[i].clone(), probs[i]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_known_values() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        // numpy: scipy.special.softmax([1,2,3])
        let want = [0.090_030_57, 0.244_728_47, 0.665_240_96];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        // Shift invariance and no overflow on large logits.
        let q = softmax(&[1001.0, 1002.0, 1003.0]);
        for (a, b) in p.iter().zip(&q) {
            assert!((a - b).abs() < 1e-7);
        }
        assert!(softmax(&[]).is_empty());
    }

    #[test]
    fn top_k_orders_and_truncates() {
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let t = top_k(&[0.1, 0.4, 0.1, 0.4], &names, 3);
        assert_eq!(
            t,
            vec![("b".into(), 0.4), ("d".into(), 0.4), ("a".into(), 0.1)]
        );
        assert_eq!(top_k(&[0.5, 0.5], &names, 10).len(), 2);
    }
}
