//! Line plots as standalone SVG files (no dependencies): `chimney-sim`'s
//! sequence and congestion-window plots.

use std::fmt::Write;

/// One line: its name, colour (any SVG colour) and points.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    /// Drawn as steps (the value holds until the next point) if true.
    pub steps: bool,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 900.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// A round step near `span / 6` (1, 2 or 5 times a power of ten).
fn tick_step(span: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / 6.0;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn label(v: f64) -> String {
    let short = |x: f64, unit: &str| {
        if (x * 10.0).round().rem_euclid(10.0) == 0.0 {
            format!("{x:.0}{unit}")
        } else {
            format!("{x:.1}{unit}")
        }
    };
    if v.abs() >= 1e6 {
        short(v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        short(v / 1e3, "k")
    } else {
        short(v, "")
    }
}

/// An SVG document plotting `series` against shared axes from zero.
pub fn svg(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (xmax, ymax) = all.fold((0f64, 0f64), |(a, b), &(x, y)| (a.max(x), b.max(y)));
    let (xmax, ymax) = (xmax.max(1e-9), ymax.max(1e-9) * 1.05);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + x / xmax * pw;
    let sy = |y: f64| TOP + ph - y / ymax * ph;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{title}</text>"#,
        W / 2.0
    );
    for (step, along_x) in [(tick_step(xmax), true), (tick_step(ymax), false)] {
        let mut v = 0.0;
        let end = if along_x { xmax } else { ymax };
        while v <= end + step * 1e-9 {
            if along_x {
                let x = sx(v);
                let _ = writeln!(
                    o,
                    r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                    TOP + ph,
                    TOP + ph + 16.0,
                    label(v)
                );
            } else {
                let y = sy(v);
                let _ = writeln!(
                    o,
                    r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                    LEFT + pw,
                    LEFT - 6.0,
                    y + 4.0,
                    label(v)
                );
            }
            v += step;
        }
    }
    let _ = writeln!(
        o,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{x_label}</text>"#,
        LEFT + pw / 2.0,
        H - 10.0
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{y_label}</text>"#,
        TOP + ph / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let mut pts = String::new();
        let mut last: Option<f64> = None;
        for &(x, y) in &s.points {
            if s.steps
                && let Some(prev) = last
            {
                let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(prev));
            }
            let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(y));
            last = Some(y);
        }
        let _ = writeln!(
            o,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            s.color,
            pts.trim_end()
        );
        let ly = TOP + 16.0 + 16.0 * i as f64;
        let _ = writeln!(
            o,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + 12.0,
            LEFT + 32.0,
            s.color,
            LEFT + 38.0,
            ly + 4.0,
            s.name
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_points_land_inside_the_plot() {
        assert_eq!(tick_step(60.0), 10.0);
        assert_eq!(tick_step(1_000_000.0), 200_000.0);
        assert_eq!(tick_step(7.0), 2.0);
        assert_eq!(label(1500.0), "1.5k");
        assert_eq!(label(2000.0), "2k");
        assert_eq!(label(1_200_000.0), "1.2M");
        assert_eq!(label(0.5), "0.5");
        let doc = svg(
            "t",
            "x",
            "y",
            &[Series {
                name: "a",
                color: "red",
                steps: false,
                points: vec![(0.0, 0.0), (10.0, 5.0)],
            }],
        );
        assert!(doc.starts_with("<svg") && doc.ends_with("</svg>\n"));
        // (0,0) is the plot's lower-left corner, (10,5) near the upper right.
        assert!(doc.contains(&format!(
            "points=\"{LEFT:.1},{:.1} {:.1},",
            TOP + H - TOP - BOTTOM,
            W - RIGHT
        )));
    }
}
