//! PR curve, ROC curve and reliability diagram of an evaluation, as SVG and PNG
//! (cargo feature `plots`, drawn with `plotters`).
//!
//! Text is rendered with a TrueType font read at run time: the file named by
//! `RUMOR_TRIAGE_FONT`, else DejaVu Sans where Debian (`fonts-dejavu-core`) and most Linux
//! distributions put it. No font is bundled in the crate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::metrics::{average_precision, pr_curve, reliability, roc_auc, roc_curve, Predictions};
use crate::error::Error;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];
const SIZE: (u32, u32) = (720, 540);

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// Registers the font once per process as plotters' `sans-serif`.
fn register_font() -> Result<(), Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let from_env = std::env::var_os("RUMOR_TRIAGE_FONT").map(PathBuf::from);
            let candidates: Vec<PathBuf> = from_env
                .into_iter()
                .chain(FONT_PATHS.iter().map(PathBuf::from))
                .collect();
            let Some(bytes) = candidates.iter().find_map(|p| std::fs::read(p).ok()) else {
                return Err(format!(
                    "no font found for plot text: set RUMOR_TRIAGE_FONT to a .ttf file, or install DejaVu Sans (Debian: apt-get install fonts-dejavu-core); looked in {candidates:?}"
                ));
            };
            // plotters keeps fonts for the whole process; one leak per process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| "the font file is not a TrueType font plotters can read".to_owned())
        })
        .clone()
        .map_err(Error::Plot)
}

enum Plot {
    Roc {
        points: Vec<(f64, f64)>,
        auc: f64,
    },
    Pr {
        points: Vec<(f64, f64)>,
        ap: f64,
        base_rate: f64,
    },
    Reliability {
        bins: Vec<super::metrics::ReliabilityBin>,
        items: usize,
    },
}

impl Plot {
    fn file_stem(&self) -> &'static str {
        match self {
            Plot::Roc { .. } => "roc",
            Plot::Pr { .. } => "pr",
            Plot::Reliability { .. } => "reliability",
        }
    }
}

/// Writes `pr`, `roc` and `reliability`, each as `.svg` and `.png`, into `dir` (created if
/// missing), from the flag probabilities in `predictions`; returns the files written.
///
/// ```no_run
/// let mut p = rumor_triage::eval::Predictions::new(vec!["no".into(), "yes".into()]);
/// p.push(1, 1, 0.8, true, true);
/// p.push(0, 0, 0.3, false, false);
/// let files = rumor_triage::eval::write_plots(&p, std::path::Path::new("plots")).unwrap();
/// assert_eq!(files.len(), 6);
/// ```
pub fn write_all(predictions: &Predictions, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let (p, flag) = (&predictions.probability, &predictions.is_flag);
    let both_sides = || Error::input("plots need flagged and unflagged items in the test data");
    let roc = roc_curve(p, flag).ok_or_else(both_sides)?;
    let pr = pr_curve(p, flag).ok_or_else(both_sides)?;
    let positives = flag.iter().filter(|&&f| f).count();
    let plots = [
        Plot::Pr {
            points: pr.iter().map(|&(_, r, p)| (r, p)).collect(),
            ap: average_precision(p, flag).unwrap_or(0.0),
            base_rate: positives as f64 / flag.len().max(1) as f64,
        },
        Plot::Roc {
            points: roc.iter().map(|&(_, x, y)| (x, y)).collect(),
            auc: roc_auc(p, flag).unwrap_or(0.0),
        },
        Plot::Reliability {
            bins: reliability(p, flag, 10),
            items: flag.len(),
        },
    ];
    register_font()?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    for plot in &plots {
        let svg = dir.join(format!("{}.svg", plot.file_stem()));
        draw(SVGBackend::new(&svg, SIZE).into_drawing_area(), plot)?;
        written.push(svg);
        let png = dir.join(format!("{}.png", plot.file_stem()));
        draw(BitMapBackend::new(&png, SIZE).into_drawing_area(), plot)?;
        written.push(png);
    }
    Ok(written)
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, plot: &Plot) -> Result<(), Error>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(plot_error)?;
    let (title, x_label, y_label) = match plot {
        Plot::Roc { .. } => (
            "ROC curve",
            "false-positive rate",
            "true-positive rate (recall)",
        ),
        Plot::Pr { .. } => ("Precision-recall curve", "recall", "precision"),
        Plot::Reliability { .. } => (
            "Reliability diagram (10 bins)",
            "mean predicted flag probability",
            "observed share of flagged labels",
        ),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(plot_error)?;
    let curve_style = ShapeStyle::from(&BLUE).stroke_width(2);
    let guide_style = ShapeStyle::from(&BLACK.mix(0.4)).stroke_width(1);
    match plot {
        Plot::Roc { points, auc } => {
            chart
                .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], guide_style))
                .map_err(plot_error)?
                .label("chance")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], guide_style));
            chart
                .draw_series(LineSeries::new(points.iter().copied(), curve_style))
                .map_err(plot_error)?
                .label(format!("model (AUC {auc:.3})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], curve_style));
        }
        Plot::Pr {
            points,
            ap,
            base_rate,
        } => {
            // Average precision is the area under this step curve.
            let mut steps = Vec::with_capacity(points.len() * 2 + 1);
            let mut previous_recall = 0.0;
            for &(recall, precision) in points {
                steps.push((previous_recall, precision));
                steps.push((recall, precision));
                previous_recall = recall;
            }
            let base = *base_rate;
            chart
                .draw_series(LineSeries::new(vec![(0.0, base), (1.0, base)], guide_style))
                .map_err(plot_error)?
                .label(format!("share flagged in the data ({base:.3})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], guide_style));
            chart
                .draw_series(LineSeries::new(steps, curve_style))
                .map_err(plot_error)?
                .label(format!("model (average precision {ap:.3})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], curve_style));
        }
        Plot::Reliability { bins, items } => {
            let share_style = BLUE.mix(0.15).filled();
            chart
                .draw_series(bins.iter().map(|b| {
                    let share = b.count as f64 / (*items).max(1) as f64;
                    Rectangle::new([(b.lower, 0.0), (b.upper, share)], share_style)
                }))
                .map_err(plot_error)?
                .label("share of items in the bin")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], share_style));
            chart
                .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], guide_style))
                .map_err(plot_error)?
                .label("perfect calibration")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], guide_style));
            let observed: Vec<(f64, f64)> = bins
                .iter()
                .filter_map(|b| Some((b.mean_probability?, b.observed_rate?)))
                .collect();
            let ece = super::metrics::ece(bins, *items).unwrap_or(0.0);
            chart
                .draw_series(LineSeries::new(observed.iter().copied(), curve_style))
                .map_err(plot_error)?
                .label(format!("model (ECE {ece:.3})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], curve_style));
            chart
                .draw_series(
                    observed
                        .iter()
                        .map(|&point| Circle::new(point, 4, BLUE.filled())),
                )
                .map_err(plot_error)?;
        }
    }
    let position = match plot {
        Plot::Pr { .. } => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::LowerRight,
    };
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)
}
