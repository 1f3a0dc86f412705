//! Fold assignment, shared by training (the calibration folds) and evaluation (k-fold and
//! grouped protocols): one implementation, seeded with the crate's own generator.

use crate::error::Error;
use crate::util::SplitMix;

/// A deterministic, documented shuffle (SplitMix64 stream, Fisher–Yates), so fold
/// assignment never depends on an external RNG's version.
fn shuffle<T>(items: &mut [T], seed: u64) {
    SplitMix(seed).shuffle(items);
}

/// Stratified fold of each row: rows of each class are shuffled with `seed` and dealt out
/// round-robin, so every fold gets each class in proportion.
///
/// ```
/// let folds = rumor_triage::eval::stratified_folds(&[0, 0, 0, 1, 1, 1], 3, 42);
/// for fold in 0..3 {
///     let members: Vec<usize> = (0..6).filter(|&i| folds[i] == fold).collect();
///     assert_eq!(members.len(), 2);
/// }
/// ```
pub fn stratified_folds(targets: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut classes = targets.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut fold_of = vec![0; targets.len()];
    let mut dealt = 0usize;
    for class in classes {
        let mut rows: Vec<usize> = (0..targets.len())
            .filter(|&i| targets.get(i) == Some(&class))
            .collect();
        shuffle(
            &mut rows,
            seed ^ (class as u64).wrapping_mul(0x1000_0000_01b3),
        );
        for row in rows {
            if let Some(slot) = fold_of.get_mut(row) {
                *slot = dealt % folds.max(1);
            }
            dealt += 1;
        }
    }
    fold_of
}

/// Folds that keep each group whole: groups go, largest first (ties by name), to the fold
/// with the fewest items so far. Returns the fold of each item and the number of folds,
/// which is `folds` or the number of groups if that is smaller (at least 2).
///
/// ```
/// let groups: Vec<String> = ["a", "b", "a", "c", "b", "a"].map(String::from).to_vec();
/// let (fold_of, folds) = rumor_triage::eval::group_folds(&groups, 2).unwrap();
/// assert_eq!(folds, 2);
/// assert_eq!(fold_of, [0, 1, 0, 1, 1, 0]);
/// ```
pub fn group_folds(groups: &[String], folds: usize) -> Result<(Vec<usize>, usize), Error> {
    let mut sizes: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in groups {
        *sizes.entry(g.as_str()).or_default() += 1;
    }
    if sizes.len() < 2 {
        return Err(Error::too_few(
            "groups for calibration by groups",
            2,
            sizes.len(),
        ));
    }
    let folds = folds.clamp(2, sizes.len());
    let mut order: Vec<(&str, usize)> = sizes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = vec![0usize; folds];
    let mut fold_of_group = std::collections::HashMap::new();
    for (group, size) in order {
        let (fold, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(i, &items)| (items, i))
            .unwrap_or((0, &0));
        if let Some(slot) = load.get_mut(fold) {
            *slot += size;
        }
        fold_of_group.insert(group, fold);
    }
    Ok((
        groups
            .iter()
            .map(|g| fold_of_group.get(g.as_str()).copied().unwrap_or(0))
            .collect(),
        folds,
    ))
}
