//! Metrics against values worked out by hand, and the protocols' guarantees.

mod common;

use rumor_triage::eval::{
    average_precision, brier, chrono_split, ece, group_splits, kfold_splits, point_at_precision,
    pr_curve, reliability, roc_auc, roc_curve, run_splits, Calibrate, Predictions,
};
use rumor_triage::{Example, TrainOptions};

fn close(a: f64, b: f64) -> bool {
    // Probabilities are f32, so figures carry its rounding.
    (a - b).abs() < 1e-6
}

#[test]
fn roc_auc_counts_ties_as_half() {
    // Pairs (flagged, unflagged): 0.9 beats both; the tied 0.5s count half; 0.5 beats 0.1.
    // Wins: (0.9>0.5) + (0.9>0.1) + (0.5=0.5 → ½) + (0.5>0.1) = 3.5 of 4.
    let p = [0.9, 0.5, 0.5, 0.1];
    let y = [true, true, false, false];
    assert!(close(roc_auc(&p, &y).unwrap(), 3.5 / 4.0));
    // The order of tied items does not matter.
    assert!(close(
        roc_auc(&[0.9, 0.5, 0.5, 0.1], &[true, false, true, false]).unwrap(),
        3.5 / 4.0
    ));
    // All scores tied: chance.
    assert!(close(
        roc_auc(&[0.3; 4], &[true, false, true, false]).unwrap(),
        0.5
    ));
    let curve = roc_curve(&p, &y).unwrap();
    assert_eq!(curve.len(), 4, "(0,0), then one point per distinct score");
    assert_eq!((curve[1].1, curve[1].2), (0.0, 0.5));
    assert_eq!((curve[3].1, curve[3].2), (1.0, 1.0));
}

#[test]
fn roc_auc_is_the_area_under_roc_curve() {
    let trapezoid = |p: &[f32], y: &[bool]| -> f64 {
        let c = roc_curve(p, y).unwrap();
        c.windows(2)
            .map(|w| (w[1].1 - w[0].1) * (w[1].2 + w[0].2) / 2.0)
            .sum()
    };
    for (p, y) in [
        (
            vec![0.9, 0.8, 0.7, 0.4, 0.3, 0.1],
            vec![true, false, true, true, false, false],
        ),
        (vec![0.5, 0.5, 0.5, 0.2], vec![true, false, true, false]),
        (vec![0.9, 0.5, 0.5, 0.1], vec![true, false, true, false]),
    ] {
        assert!((roc_auc(&p, &y).unwrap() - trapezoid(&p, &y)).abs() < 1e-6);
    }
}

#[test]
fn average_precision_by_hand() {
    // Ranked: 0.9 F (P 1/1, R 1/3), 0.8 N, 0.7 F (P 2/3, R 2/3), 0.6 N, 0.2 F (P 3/5, R 1).
    let p = [0.9, 0.8, 0.7, 0.6, 0.2];
    let y = [true, false, true, false, true];
    let expected = (1.0 / 3.0) * 1.0 + (1.0 / 3.0) * (2.0 / 3.0) + (1.0 / 3.0) * (3.0 / 5.0);
    assert!(close(average_precision(&p, &y).unwrap(), expected));
    // A tie between a flagged and an unflagged item is one step at precision 1/2.
    assert!(close(
        average_precision(&[0.5, 0.5], &[true, false]).unwrap(),
        0.5
    ));
    let curve = pr_curve(&p, &y).unwrap();
    assert_eq!(curve.len(), 5);
    assert!(close(curve[4].2, 0.6));
}

#[test]
fn a_single_class_has_no_curve_but_has_the_rest() {
    let p = [0.2, 0.7];
    let y = [true, true];
    assert_eq!(roc_auc(&p, &y), None);
    assert_eq!(average_precision(&p, &y), None);
    assert_eq!(point_at_precision(&p, &y, 0.9), None);
    // Brier: ((0.2-1)² + (0.7-1)²) / 2 = (0.64 + 0.09) / 2.
    assert!(close(brier(&p, &y).unwrap(), 0.365));
    let mut one = Predictions::new(vec!["rumor".into()]);
    one.push(0, 0, 0.2, true, false);
    one.push(0, 0, 0.7, true, true);
    let report = one.report(Some(0.9));
    assert_eq!((report.accuracy, report.macro_f1), (1.0, 1.0));
    assert_eq!(report.at_threshold.recall, 0.5);
    assert_eq!(report.roc_auc, None);
}

#[test]
fn calibration_error_by_hand() {
    // Bin 1 [0.1, 0.2): 0.15, 0.15 with outcomes 1, 0 → gap |0.5 − 0.15| = 0.35, weight 2/4.
    // Bin 9 [0.9, 1.0]: 0.95, 1.0 with outcomes 1, 1 → gap |1 − 0.975| = 0.025, weight 2/4.
    let p = [0.15, 0.15, 0.95, 1.0];
    let y = [true, false, true, true];
    let bins = reliability(&p, &y, 10);
    assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 4);
    assert_eq!(
        bins[9].count, 2,
        "a probability of 1 belongs to the last bin"
    );
    assert!(close(ece(&bins, 4).unwrap(), 0.5 * 0.35 + 0.5 * 0.025));
    assert_eq!(bins[5].mean_probability, None);
}

#[test]
fn operating_points_by_hand() {
    let p = [0.9, 0.8, 0.7, 0.6, 0.2];
    let y = [true, true, false, true, false];
    // Precision ≥ 0.75: at 0.6 it is 3/4 with recall 1 — the lowest such threshold.
    let at = point_at_precision(&p, &y, 0.75).unwrap();
    assert_eq!(at.threshold, Some(f64::from(0.6f32)));
    assert_eq!((at.precision, at.recall, at.flagged), (0.75, 1.0, 4));
    assert_eq!(point_at_precision(&p, &y, 1.01), None);
    let mut all = Predictions::new(vec!["non-rumor".into(), "rumor".into()]);
    for (&prob, &flag) in p.iter().zip(&y) {
        let decided = prob >= 0.75;
        all.push(usize::from(flag), usize::from(decided), prob, flag, decided);
    }
    all.threshold = Some(0.75);
    let report = all.report(None);
    assert_eq!(report.at_threshold.flagged, 2);
    assert_eq!(report.at_threshold.precision, 1.0);
    assert!(close(report.at_threshold.recall, 2.0 / 3.0));
    assert_eq!(report.confusion, vec![vec![2, 0], vec![1, 2]]);
}

fn toy(n: usize) -> Vec<Example> {
    (0..n)
        .map(|i| {
            let rumor = i % 3 == 0;
            Example {
                text: format!(
                    "{} item {i} group {}",
                    if rumor {
                        "unconfirmed reports say"
                    } else {
                        "official statement on"
                    },
                    i % 4
                ),
                label: if rumor { "rumor" } else { "non-rumor" }.into(),
            }
        })
        .collect()
}

#[test]
fn kfold_is_stratified_disjoint_and_complete() {
    let examples = toy(60);
    let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    let splits = kfold_splits(&labels, 5, 9).unwrap();
    let mut seen = vec![0; examples.len()];
    for split in &splits {
        let rumors = split.test.iter().filter(|&&i| labels[i] == "rumor").count();
        assert_eq!(
            (split.test.len(), rumors),
            (12, 4),
            "each fold keeps the 1:2 mix"
        );
        for &i in &split.test {
            seen[i] += 1;
            assert!(!split.train.contains(&i), "a test item is never trained on");
        }
        assert_eq!(split.train.len() + split.test.len(), examples.len());
    }
    assert!(
        seen.iter().all(|&s| s == 1),
        "every item is tested exactly once"
    );
    assert_ne!(
        kfold_splits(&labels, 5, 10).unwrap(),
        splits,
        "the seed matters"
    );
    assert_eq!(kfold_splits(&labels, 5, 9).unwrap(), splits);
    assert!(kfold_splits(&labels, 1, 9).is_err());
}

#[test]
fn leave_one_group_out_never_trains_on_the_held_out_group() {
    let groups: Vec<String> = (0..40).map(|i| format!("g{}", i % 4)).collect();
    let splits = group_splits(&groups, &[]).unwrap();
    assert_eq!(splits.len(), 4);
    for split in &splits {
        assert!(split.test.iter().all(|&i| groups[i] == split.name));
        assert!(split.train.iter().all(|&i| groups[i] != split.name));
        assert_eq!(split.train.len() + split.test.len(), 40);
    }
    let chosen = group_splits(&groups, &["g2".into()]).unwrap();
    assert_eq!(chosen.len(), 1);
    assert!(group_splits(&groups, &["nope".into()]).is_err());
}

#[test]
fn chronological_split_tests_on_the_latest() {
    let times: Vec<String> = (0..10)
        .rev()
        .map(|d| format!("2024-01-{:02}", d + 1))
        .collect();
    let split = chrono_split(&times, 0.2).unwrap();
    assert_eq!(split.test.len(), 2);
    let latest_train = split.train.iter().map(|&i| &times[i]).max().unwrap();
    let earliest_test = split.test.iter().map(|&i| &times[i]).min().unwrap();
    assert!(latest_train < earliest_test);
    assert!(chrono_split(&times, 1.0).is_err());
}

#[test]
fn the_same_seed_gives_the_same_json() {
    let examples = toy(90);
    let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    let options = TrainOptions::default().folds(3);
    let run = |seed| {
        let splits = kfold_splits(&labels, 3, seed).unwrap();
        let (report, _) = run_splits(
            "k-fold",
            &examples,
            &splits,
            &options,
            Calibrate::Shuffled,
            Some(0.9),
        )
        .unwrap();
        serde_json::to_string(&report).unwrap()
    };
    let first = run(5);
    assert_eq!(first, run(5));
    let value: serde_json::Value = serde_json::from_str(&first).unwrap();
    for key in ["accuracy", "macro_f1", "groups", "pooled"] {
        assert!(value.get(key).is_some(), "{key}");
    }
    for key in [
        "accuracy",
        "macro_f1",
        "per_class",
        "roc_auc",
        "pr_auc",
        "ece",
        "brier",
    ] {
        assert!(value["pooled"].get(key).is_some(), "pooled.{key}");
    }
    assert_eq!(value["pooled"]["items"], 90);
}

#[test]
fn calibration_folds_by_group_keep_groups_whole_and_train_on_the_rest_only() {
    let groups: Vec<String> = (0..50).map(|i| format!("event {}", i % 5)).collect();
    let (fold_of, folds) = rumor_triage::eval::group_folds(&groups, 3).unwrap();
    assert_eq!(folds, 3);
    for (g, f) in groups.iter().zip(&fold_of) {
        let same: Vec<usize> = groups
            .iter()
            .zip(&fold_of)
            .filter(|(h, _)| *h == g)
            .map(|(_, &f)| f)
            .collect();
        assert!(same.iter().all(|x| x == f), "{g} is split across folds");
    }
    // Five groups of ten into three folds, largest first to the emptiest: 20, 20, 10.
    let mut sizes = [0usize; 3];
    fold_of.iter().for_each(|&f| sizes[f] += 1);
    assert_eq!(sizes, [20, 20, 10]);
    assert!(rumor_triage::eval::group_folds(&groups[..1], 3).is_err());
    // A leave-one-group-out round with group calibration still trains only on other groups.
    let examples = toy(60);
    let names: Vec<String> = (0..60).map(|i| format!("g{}", i % 4)).collect();
    let splits = group_splits(&names, &["g1".into()]).unwrap();
    let options = TrainOptions::default().folds(3);
    let (report, _) = run_splits(
        "leave-one-group-out",
        &examples,
        &splits,
        &options,
        Calibrate::ByGroup(&names),
        None,
    )
    .unwrap();
    assert_eq!(
        (report.groups[0].train_items, report.groups[0].test_items),
        (45, 15)
    );
    let wrong = TrainOptions::default().calibration_groups(vec!["x".into(); 3]);
    assert!(rumor_triage::Model::train(&examples, &wrong).is_err());
}
