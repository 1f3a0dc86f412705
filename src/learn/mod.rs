//! L2-regularized logistic regression on sparse rows, plugged into linfa.
//!
//! linfa's own learners take dense records only, so the learner is ours: binary logistic
//! regression (one output), or one-vs-rest for more classes (one output per class), each
//! minimizing `½(‖w‖² + b²) + C Σᵢ sᵢ log(1 + exp(−yᵢ(w·xᵢ + b)))` (`sᵢ` are the dataset's
//! sample weights) by dual coordinate descent, whose passes cost O(nnz).
//!
//! The coordinate order comes from a seeded SplitMix64 stream and each problem runs on one
//! thread (classes in parallel), so the weights are the same bits whatever the number of
//! rayon threads.
#![allow(
    clippy::indexing_slicing,
    reason = "the solver indexes its own vectors with indices checked when the sparse rows are built"
)]

pub(crate) mod folds;
pub(crate) mod metrics;

pub(crate) use metrics::accuracy_and_macro_f1;

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::{Fit, PredictInplace};
use linfa::ParamGuard;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::features::SparseRow;
use crate::util::SplitMix;

/// A CSR matrix of feature rows, the sparse records type linfa's traits see.
///
/// ```
/// use linfa::dataset::Records;
/// use rumor_triage::SparseRow;
/// use rumor_triage::learn::SparseMatrix;
/// let mut m = SparseMatrix::new(8);
/// m.push(&SparseRow { indices: vec![1, 5], values: vec![0.6, 0.8] }).unwrap();
/// assert_eq!((m.nsamples(), m.nfeatures()), (1, 8));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    n_features: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseMatrix {
    /// An empty matrix with `n_features` columns.
    ///
    /// ```
    /// use linfa::dataset::Records;
    /// assert_eq!(rumor_triage::learn::SparseMatrix::new(16).nsamples(), 0);
    /// ```
    pub fn new(n_features: usize) -> Self {
        Self {
            n_features,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Appends a row; its indices must be strictly increasing and below `n_features`.
    ///
    /// ```
    /// use rumor_triage::{learn::SparseMatrix, SparseRow};
    /// let mut m = SparseMatrix::new(4);
    /// assert!(m.push(&SparseRow { indices: vec![2, 1], values: vec![1.0, 1.0] }).is_err());
    /// assert!(m.push(&SparseRow { indices: vec![9], values: vec![1.0] }).is_err());
    /// ```
    pub fn push(&mut self, row: &SparseRow) -> Result<(), Error> {
        let increasing = row.indices.windows(2).all(|w| w[0] < w[1]);
        let in_range = row
            .indices
            .last()
            .is_none_or(|&i| (i as usize) < self.n_features);
        if !increasing || !in_range || row.indices.len() != row.values.len() {
            return Err(Error::Internal(
                "sparse row indices must be sorted and in range".into(),
            ));
        }
        self.indices.extend_from_slice(&row.indices);
        self.values.extend_from_slice(&row.values);
        self.indptr.push(self.indices.len());
        Ok(())
    }

    /// Row `i` as (indices, values); `i` must be below `nsamples()`.
    ///
    /// ```
    /// use rumor_triage::{learn::SparseMatrix, SparseRow};
    /// let mut m = SparseMatrix::new(4);
    /// m.push(&SparseRow { indices: vec![1], values: vec![0.5] }).unwrap();
    /// assert_eq!(m.row(0), (&[1u32][..], &[0.5f32][..]));
    /// ```
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The rows `rows` (in that order) as a new matrix.
    ///
    /// ```
    /// use rumor_triage::{learn::SparseMatrix, SparseRow};
    /// let mut m = SparseMatrix::new(4);
    /// for i in 0..3u32 {
    ///     m.push(&SparseRow { indices: vec![i], values: vec![1.0] }).unwrap();
    /// }
    /// let picked = m.select(&[2, 0]);
    /// assert_eq!((picked.row(0).0, picked.nnz()), (&[2u32][..], 2));
    /// ```
    pub fn select(&self, rows: &[usize]) -> Self {
        let mut out = Self::new(self.n_features);
        for &r in rows {
            let (i, v) = self.row(r);
            out.indices.extend_from_slice(i);
            out.values.extend_from_slice(v);
            out.indptr.push(out.indices.len());
        }
        out
    }

    /// The same rows over only the columns that hold an entry, renumbered in their order,
    /// and the original column of each new one. A fit costs O(columns) besides O(nnz)
    /// (its weight vector), and a training set fills a small part of `2^20` buckets.
    ///
    /// ```
    /// use rumor_triage::{learn::SparseMatrix, SparseRow};
    /// let mut m = SparseMatrix::new(1 << 20);
    /// m.push(&SparseRow { indices: vec![7, 900_000], values: vec![0.6, 0.8] }).unwrap();
    /// m.push(&SparseRow { indices: vec![900_000], values: vec![1.0] }).unwrap();
    /// let (compact, columns) = m.compact_columns();
    /// assert_eq!(columns, [7, 900_000]);
    /// assert_eq!(compact.row(1), (&[1u32][..], &[1.0f32][..]));
    /// ```
    pub fn compact_columns(&self) -> (Self, Vec<u32>) {
        let mut columns = self.indices.clone();
        columns.sort_unstable();
        columns.dedup();
        let indices = self
            .indices
            .iter()
            .map(|j| columns.binary_search(j).unwrap_or(0) as u32)
            .collect();
        let compact = Self {
            n_features: columns.len(),
            indptr: self.indptr.clone(),
            indices,
            values: self.values.clone(),
        };
        (compact, columns)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

impl Records for SparseMatrix {
    type Elem = f32;
    fn nsamples(&self) -> usize {
        self.indptr.len() - 1
    }
    fn nfeatures(&self) -> usize {
        self.n_features
    }
}

/// Whether to reweight classes inversely to their frequency.
///
/// ```
/// assert_eq!(rumor_triage::learn::ClassWeight::default(), rumor_triage::learn::ClassWeight::Uniform);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum ClassWeight {
    /// Every sample counts once (default).
    #[default]
    Uniform,
    /// Class `c` gets weight `n / (k · n_c)`, as scikit-learn's `"balanced"`.
    Balanced,
}

/// The loss each linear problem minimizes (with the L2 penalty `½‖w‖²`).
///
/// ```
/// assert_eq!(rumor_triage::learn::Loss::default(), rumor_triage::learn::Loss::Logistic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Loss {
    /// `log(1 + exp(−y·m))`: logistic regression (LIBLINEAR `-s 7`), the default.
    #[default]
    Logistic,
    /// `max(0, 1 − y·m)²`: the L2-loss linear SVM (LIBLINEAR `-s 1`, scikit-learn's
    /// `LinearSVC`); its margins are calibrated by Platt scaling like the logistic ones.
    SquaredHinge,
}

/// Checked hyperparameters of [`LogisticRegression`]. Build them with
/// [`LogisticRegressionParams`].
///
/// ```
/// use linfa::ParamGuard;
/// let checked = rumor_triage::learn::LogisticRegressionParams::new(3).c(2.0).check().unwrap();
/// assert_eq!((checked.c(), checked.n_classes()), (2.0, 3));
/// assert!(rumor_triage::learn::LogisticRegressionParams::new(2).c(-1.0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionValidParams {
    loss: Loss,
    c: f64,
    seed: u64,
    max_iterations: usize,
    tolerance: f64,
    n_classes: usize,
}

impl LogisticRegressionValidParams {
    /// Inverse regularization strength.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
}

/// Unchecked hyperparameters; `ParamGuard::check` (or `fit`, which checks first) validates.
/// Each setter documents its default.
///
/// ```
/// use linfa::prelude::*;
/// use ndarray::array;
/// use rumor_triage::SparseRow;
/// use rumor_triage::learn::{LogisticRegressionParams, SparseMatrix};
/// let mut x = SparseMatrix::new(4);
/// for (i, v) in [(0u32, 1.0f32), (1, 1.0), (0, 1.0), (1, 1.0)] {
///     x.push(&SparseRow { indices: vec![i], values: vec![v] }).unwrap();
/// }
/// let data = DatasetBase::new(x, array![0usize, 1, 0, 1]);
/// let model = LogisticRegressionParams::new(2).c(10.0).fit(&data).unwrap();
/// let classes: ndarray::Array1<usize> = model.predict(&data);
/// assert_eq!(classes, array![0, 1, 0, 1]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionParams(LogisticRegressionValidParams);

impl LogisticRegressionParams {
    /// Parameters for `n_classes` classes (2 gives one output, more one output per class, one-vs-rest).
    pub fn new(n_classes: usize) -> Self {
        Self(LogisticRegressionValidParams {
            loss: Loss::Logistic,
            c: 10.0,
            seed: 0,
            max_iterations: 1000,
            tolerance: 0.1,
            n_classes,
        })
    }
    /// Inverse L2 strength `C` (default 10, chosen by measurement on the evaluation data's
    /// train splits; see the README).
    pub fn c(mut self, c: f64) -> Self {
        self.0.c = c;
        self
    }
    /// The loss (default logistic).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }
    /// Seed of the coordinate order (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Most passes over the data (default 1000).
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.0.max_iterations = n;
        self
    }
    /// Stop when no dual coordinate's gradient exceeds `tolerance` in a pass (default 0.1,
    /// as LIBLINEAR).
    pub fn tolerance(mut self, t: f64) -> Self {
        self.0.tolerance = t;
        self
    }
}

impl ParamGuard for LogisticRegressionParams {
    type Checked = LogisticRegressionValidParams;
    type Error = Error;
    fn check_ref(&self) -> Result<&Self::Checked, Error> {
        let p = &self.0;
        if !(p.c.is_finite() && p.c > 0.0) {
            return Err(Error::invalid_option(
                "C",
                format!("must be positive, got {}", p.c),
            ));
        }
        if p.max_iterations == 0 {
            return Err(Error::invalid_option(
                "max_iterations",
                "must be at least 1",
            ));
        }
        if !(p.tolerance.is_finite() && p.tolerance > 0.0) {
            return Err(Error::invalid_option("tolerance", "must be positive"));
        }
        if p.n_classes < 2 {
            return Err(Error::too_few("classes", 2, p.n_classes));
        }
        Ok(p)
    }
    fn check(self) -> Result<Self::Checked, Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted linear model: `outputs` margins per row (1 for binary, else one per class).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Weights, shape `(n_features, outputs)`.
    pub(crate) weights: Array2<f32>,
    /// Intercepts, one per output.
    pub(crate) bias: Array1<f32>,
    /// Passes over the data used (the most of any output).
    pub(crate) iterations: usize,
}

impl LogisticRegression {
    /// The weights, one row per feature bucket and one column per output.
    pub fn weights(&self) -> ndarray::ArrayView2<'_, f32> {
        self.weights.view()
    }

    /// The intercept of each output.
    pub fn bias(&self) -> ndarray::ArrayView1<'_, f32> {
        self.bias.view()
    }

    /// Passes over the data the fit took.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// This model, fitted on [`SparseMatrix::compact_columns`], over the original
    /// `n_features` columns: row `i` of the weights goes to row `columns[i]`.
    pub(crate) fn expand_columns(&self, columns: &[u32], n_features: usize) -> Self {
        let mut weights = Array2::<f32>::zeros((n_features, self.outputs()));
        for (row, &column) in self.weights.rows().into_iter().zip(columns) {
            if (column as usize) < n_features {
                weights.row_mut(column as usize).assign(&row);
            }
        }
        Self {
            weights,
            bias: self.bias.clone(),
            iterations: self.iterations,
        }
    }

    /// Number of outputs (1 for a binary model).
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Writes the margins of one sparse row into `out` (length [`Self::outputs`]).
    #[inline]
    pub fn margins_into(&self, indices: &[u32], values: &[f32], out: &mut [f32]) {
        out.copy_from_slice(self.bias.as_slice().unwrap_or(&[]));
        let k = out.len();
        let weights = self.weights.as_slice().unwrap_or(&[]);
        for (&j, &v) in indices.iter().zip(values) {
            let start = j as usize * k;
            if let Some(w) = weights.get(start..start + k) {
                for (o, w) in out.iter_mut().zip(w) {
                    *o += v * w;
                }
            }
        }
    }
}

impl PredictInplace<SparseMatrix, Array2<f32>> for LogisticRegression {
    /// Margins (decision values), one row per sample.
    fn predict_inplace(&self, x: &SparseMatrix, y: &mut Array2<f32>) {
        let k = self.outputs();
        if let Some(out) = y.as_slice_mut() {
            out.par_chunks_mut(k).enumerate().for_each(|(i, row)| {
                if i < x.nsamples() {
                    let (idx, val) = x.row(i);
                    self.margins_into(idx, val, row);
                }
            });
        }
    }
    fn default_target(&self, x: &SparseMatrix) -> Array2<f32> {
        Array2::zeros((x.nsamples(), self.outputs()))
    }
}

impl PredictInplace<SparseMatrix, Array1<usize>> for LogisticRegression {
    /// The most likely class of each sample.
    fn predict_inplace(&self, x: &SparseMatrix, y: &mut Array1<usize>) {
        let margins: Array2<f32> = {
            let mut m = PredictInplace::<SparseMatrix, Array2<f32>>::default_target(self, x);
            PredictInplace::<SparseMatrix, Array2<f32>>::predict_inplace(self, x, &mut m);
            m
        };
        for (target, row) in y.iter_mut().zip(margins.rows()) {
            *target = if row.len() == 1 {
                usize::from(row[0] > 0.0)
            } else {
                argmax(row.iter().copied())
            };
        }
    }
    fn default_target(&self, x: &SparseMatrix) -> Array1<usize> {
        Array1::zeros(x.nsamples())
    }
}

/// Index of the largest value (the first on ties; 0 when empty).
pub(crate) fn argmax(values: impl Iterator<Item = f32>) -> usize {
    values
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// `bias + w · x_i` for the sparse row `(idx, val)`.
#[inline]
fn row_margin(w: &[f64], bias: f64, idx: &[u32], val: &[f32]) -> f64 {
    bias + idx
        .iter()
        .zip(val)
        .map(|(&j, &v)| w[j as usize] * f64::from(v))
        .sum::<f64>()
}

/// `w += step · x_i` and `bias += step` for the sparse row `(idx, val)`.
#[inline]
fn add_row(w: &mut [f64], bias: &mut f64, idx: &[u32], val: &[f32], step: f64) {
    for (&j, &v) in idx.iter().zip(val) {
        w[j as usize] += step * f64::from(v);
    }
    *bias += step;
}

/// `‖x_i‖²` of each row.
fn squared_norms(x: &SparseMatrix) -> impl Iterator<Item = f64> + '_ {
    (0..x.nsamples()).map(|i| {
        x.row(i)
            .1
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
    })
}

/// Binary L2-regularized logistic regression by dual coordinate descent (Yu, Huang and
/// Lin, "Dual coordinate descent methods for logistic regression and maximum entropy
/// models", Machine Learning 85, 2011; the method LIBLINEAR's `-s 7` uses).
///
/// The intercept is a constant feature of value 1 and is regularized with the weights.
/// Each pass costs O(nnz), which beats primal methods whose cost also grows with the number
/// of distinct features. `upper[i] = C · s_i`; `sign[i]` is ±1. Returns `(w, bias, passes)`
/// with `w` over `n_features` columns.
fn dual_cd(
    x: &SparseMatrix,
    sign: &[f64],
    upper: &[f64],
    tolerance: f64,
    max_passes: usize,
    seed: u64,
) -> (Vec<f64>, f64, usize) {
    let n = x.nsamples();
    let mut w = vec![0.0f64; x.n_features];
    let mut bias = 0.0f64;
    let q_diag: Vec<f64> = squared_norms(x).map(|s| 1.0 + s).collect();
    // alpha[2i] is the dual variable, alpha[2i+1] its complement C_i - alpha[2i].
    let mut alpha = vec![0.0f64; 2 * n];
    for i in 0..n {
        alpha[2 * i] = (1e-3 * upper[i]).min(1e-8);
        alpha[2 * i + 1] = upper[i] - alpha[2 * i];
        let (idx, val) = x.row(i);
        add_row(&mut w, &mut bias, idx, val, sign[i] * alpha[2 * i]);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix(seed);
    let mut inner_tolerance = 1e-2f64;
    let inner_floor = tolerance.min(1e-8);
    let mut passes = 0;
    while passes < max_passes {
        passes += 1;
        rng.shuffle(&mut order);
        let mut newton_steps = 0usize;
        let mut largest_gradient = 0.0f64;
        for &i in &order {
            let c = upper[i];
            if c <= 0.0 {
                continue;
            }
            let (idx, val) = x.row(i);
            let margin = row_margin(&w, bias, idx, val);
            let a = q_diag[i];
            let b = sign[i] * margin;
            let (mut first, mut second, mut direction) = (2 * i, 2 * i + 1, 1.0);
            if 0.5 * a * (alpha[second] - alpha[first]) + b < 0.0 {
                first = 2 * i + 1;
                second = 2 * i;
                direction = -1.0;
            }
            let old = alpha[first];
            let mut z = old;
            if c - z < 0.5 * c {
                z *= 0.1;
            }
            let mut gradient = a * (z - old) + direction * b + (z / (c - z)).ln();
            largest_gradient = largest_gradient.max(gradient.abs());
            let mut inner = 0;
            while inner <= 100 && gradient.abs() >= inner_tolerance {
                let curvature = a + c / (c - z) / z;
                let next = z - gradient / curvature;
                z = if next <= 0.0 { z * 0.1 } else { next };
                gradient = a * (z - old) + direction * b + (z / (c - z)).ln();
                inner += 1;
                newton_steps += 1;
            }
            if inner > 0 {
                alpha[first] = z;
                alpha[second] = c - z;
                add_row(&mut w, &mut bias, idx, val, direction * (z - old) * sign[i]);
            }
        }
        if largest_gradient < tolerance {
            break;
        }
        if newton_steps <= n / 10 {
            inner_tolerance = inner_floor.max(0.1 * inner_tolerance);
        }
    }
    (w, bias, passes)
}

/// Binary L2-loss linear SVM by dual coordinate descent (Hsieh, Chang, Lin, Keerthi and
/// Sundararajan, "A dual coordinate descent method for large-scale linear SVM", ICML 2008;
/// LIBLINEAR's `-s 1`, without shrinking). The dual adds `αᵢ² / (2 Cᵢ)` and has no upper
/// bound; the intercept is a constant feature of value 1, regularized with the weights.
/// Stops when the projected gradients span less than `tolerance`. Returns `(w, bias,
/// passes)`.
fn dual_cd_squared_hinge(
    x: &SparseMatrix,
    sign: &[f64],
    upper: &[f64],
    tolerance: f64,
    max_passes: usize,
    seed: u64,
) -> (Vec<f64>, f64, usize) {
    let n = x.nsamples();
    let mut w = vec![0.0f64; x.n_features];
    let mut bias = 0.0f64;
    let diagonal: Vec<f64> = upper
        .iter()
        .map(|&c| if c > 0.0 { 0.5 / c } else { f64::INFINITY })
        .collect();
    let q_diag: Vec<f64> = squared_norms(x)
        .zip(&diagonal)
        .map(|(s, d)| 1.0 + d + s)
        .collect();
    let mut alpha = vec![0.0f64; n];
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix(seed);
    let mut passes = 0;
    while passes < max_passes {
        passes += 1;
        rng.shuffle(&mut order);
        let (mut largest, mut smallest) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            if upper[i] <= 0.0 {
                continue;
            }
            let (idx, val) = x.row(i);
            let margin = row_margin(&w, bias, idx, val);
            let gradient = sign[i] * margin - 1.0 + diagonal[i] * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            largest = largest.max(projected);
            smallest = smallest.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q_diag[i]).max(0.0);
                add_row(&mut w, &mut bias, idx, val, (alpha[i] - old) * sign[i]);
            }
        }
        if largest - smallest < tolerance {
            break;
        }
    }
    (w, bias, passes)
}

/// Per-sample `C · weight`, from the dataset's weights (or 1).
fn sample_scales(c: f64, n: usize, weights: Option<&[f32]>) -> Vec<f64> {
    (0..n)
        .map(|i| {
            c * weights
                .and_then(|w| w.get(i))
                .map_or(1.0, |&w| f64::from(w))
        })
        .collect()
}

impl Fit<SparseMatrix, Array1<usize>, Error> for LogisticRegressionValidParams {
    type Object = LogisticRegression;

    /// Fits one binary problem (two classes) or one-vs-rest problems (more), in parallel
    /// over classes; each is sequential and seeded, so the result never depends on threads.
    fn fit(
        &self,
        dataset: &DatasetBase<SparseMatrix, Array1<usize>>,
    ) -> Result<Self::Object, Error> {
        let x = &dataset.records;
        let targets = dataset
            .targets
            .as_slice()
            .ok_or_else(|| Error::Internal("targets must be contiguous".into()))?;
        if targets.len() != x.nsamples() {
            return Err(Error::input("one target per row is needed"));
        }
        if x.nsamples() == 0 {
            return Err(Error::too_few("training rows", 1, 0));
        }
        if let Some(&bad) = targets.iter().find(|&&t| t >= self.n_classes) {
            return Err(Error::input(format!("target {bad} out of range")));
        }
        let weights = dataset.weights();
        if weights.is_some_and(|w| {
            w.len() != x.nsamples() || w.iter().any(|v| !(v.is_finite() && *v >= 0.0))
        }) {
            return Err(Error::input(
                "sample weights must be finite, non-negative, one per row",
            ));
        }
        let k = if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        };
        let upper = sample_scales(self.c, x.nsamples(), weights);
        let solutions: Vec<(Vec<f64>, f64, usize)> = (0..k)
            .into_par_iter()
            .map(|class| {
                let positive = if k == 1 { 1 } else { class };
                let sign: Vec<f64> = targets
                    .iter()
                    .map(|&t| if t == positive { 1.0 } else { -1.0 })
                    .collect();
                let solve = match self.loss {
                    Loss::Logistic => dual_cd,
                    Loss::SquaredHinge => dual_cd_squared_hinge,
                };
                solve(
                    x,
                    &sign,
                    &upper,
                    self.tolerance,
                    self.max_iterations,
                    self.seed ^ (class as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                )
            })
            .collect();
        let mut weights = Array2::<f32>::zeros((x.nfeatures(), k));
        let mut bias = Array1::<f32>::zeros(k);
        let mut iterations = 0;
        for (o, (w, b, passes)) in solutions.into_iter().enumerate() {
            for (j, &v) in w.iter().enumerate() {
                weights[[j, o]] = v as f32;
            }
            bias[o] = b as f32;
            iterations = iterations.max(passes);
        }
        Ok(LogisticRegression {
            weights,
            bias,
            iterations,
        })
    }
}

#[cfg(test)]
mod doc_examples {
    //! What the items' doc examples showed before the module became private.

    #[test]
    fn logisticregression_example() {
        use ndarray::{array, Array2};
        let model = crate::learn::LogisticRegression {
            weights: Array2::from_shape_vec((3, 1), vec![0.0, 2.0, -1.0]).unwrap(),
            bias: array![0.5],
            iterations: 0,
        };
        let mut margin = [0.0f32];
        model.margins_into(&[1, 2], &[1.0, 1.0], &mut margin);
        assert_eq!((model.outputs(), margin[0]), (1, 1.5));
    }

    #[test]
    fn expand_columns_example() {
        use crate::learn::LogisticRegression;
        use ndarray::{array, Array1};
        let compact = LogisticRegression {
            weights: array![[0.5], [2.0]],
            bias: Array1::zeros(1),
            iterations: 1,
        };
        let full = compact.expand_columns(&[1, 3], 4);
        assert_eq!(full.weights, array![[0.0], [0.5], [0.0], [2.0]]);
    }
}
