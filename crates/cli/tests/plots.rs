//! `eval --plots` draws real PNG and SVG files (cargo feature `plots`).

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::process::Command;

#[test]
fn eval_writes_the_three_plots_as_svg_and_png() {
    let Some(data) = common::data_or_skip("eval_writes_the_three_plots_as_svg_and_png") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
        .args(["eval", "--format", "json", "--input"])
        .arg(data.join("pheme/test.jsonl"))
        .arg("--plots")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (stem, axis) in [
        ("pr", "recall"),
        ("roc", "false-positive rate"),
        ("reliability", "mean predicted flag probability"),
    ] {
        let png = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png is a PNG");
        assert!(png.len() > 10_000, "{stem}.png has content");
        // The IHDR chunk: 720 by 540 pixels, as the SVG.
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (720, 540), "{stem}.png size");
        let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{stem}.svg is an SVG");
        assert!(svg.contains(r#"width="720""#) && svg.contains(r#"height="540""#));
        assert!(svg.contains(axis), "{stem}.svg labels its axis {axis:?}");
        // The curve is drawn from the data: a polyline of many points, not just the frame
        // and the diagonal guide.
        let longest = svg
            .split("<polyline")
            .skip(1)
            .map(|p| {
                p.split("points=\"").nth(1).map_or(0, |pts| {
                    pts.split('"')
                        .next()
                        .unwrap_or("")
                        .split_whitespace()
                        .count()
                })
            })
            .max()
            .unwrap_or(0);
        let least = if stem == "reliability" { 5 } else { 100 };
        assert!(
            longest >= least,
            "{stem}.svg's longest line has {longest} points"
        );
    }
}
