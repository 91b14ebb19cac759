//! The report's chart (R9.2): each participant's value with its expanded
//! uncertainty as an error bar, against the reference value and its band.
//! Plain SVG, black on white with a dashed reference, readable in print.

use std::fmt::Write;

/// One point: the lab code, x, U, and whether |En| ≤ 1.
pub struct Point<'a> {
    pub label: &'a str,
    pub value: f64,
    pub uncertainty: f64,
    pub satisfactory: Option<bool>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A short number for an axis label.
fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// The chart as an SVG document (`title` is its accessible name).
pub fn svg(title: &str, unit: &str, x_ref: f64, u_ref: f64, points: &[Point<'_>]) -> String {
    let (w, h) = (600.0_f64, 340.0_f64);
    let (left, right, top, bottom) = (84.0, 16.0, 34.0, 40.0);
    let mut lo = x_ref - u_ref;
    let mut hi = x_ref + u_ref;
    for p in points {
        lo = lo.min(p.value - p.uncertainty);
        hi = hi.max(p.value + p.uncertainty);
    }
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        lo = x_ref - 1.0;
        hi = x_ref + 1.0;
    }
    let pad = (hi - lo) * 0.1;
    let (lo, hi) = (lo - pad, hi + pad);
    let plot_h = h - top - bottom;
    let plot_w = w - left - right;
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let n = points.len().max(1) as f64;
    let x = |i: usize| left + (i as f64 + 0.5) * plot_w / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" class="comparison-chart" font-family="sans-serif" font-size="14">"#,
        t = esc(title)
    );
    let _ = write!(s, "<title>{}</title>", esc(title));
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##
    );
    // The reference band and line.
    let _ = write!(
        s,
        r##"<rect x="{left}" y="{:.1}" width="{plot_w}" height="{:.1}" fill="#e8e8e8" stroke="none"/>"##,
        y(x_ref + u_ref),
        (y(x_ref - u_ref) - y(x_ref + u_ref)).max(0.5)
    );
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{:.1}" y1="{yr:.1}" y2="{yr:.1}" stroke="#000" stroke-dasharray="6 4"/>"##,
        left + plot_w,
        yr = y(x_ref)
    );
    // The reference's label above the plot, clear of the points.
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#000">- - - X_ref = {} ± {}</text>"##,
        left + plot_w,
        top - 10.0,
        num(x_ref),
        num(u_ref)
    );
    // Axes and ticks.
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{:.1}" stroke="#000"/><line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000"/>"##,
        top + plot_h,
        left + plot_w,
        top + plot_h,
        top + plot_h
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * f64::from(k) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{:.1}" x2="{left}" y1="{yy:.1}" y2="{yy:.1}" stroke="#000"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left - 4.0,
            left - 6.0,
            y(v) + 4.0,
            num(v),
            yy = y(v)
        );
    }
    let _ = write!(
        s,
        r##"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"##,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        esc(unit)
    );
    // Each participant: the value and the bar ±U; an unsatisfactory one
    // is drawn hollow (shape, not colour, tells it in print).
    for (i, p) in points.iter().enumerate() {
        let cx = x(i);
        let _ = write!(
            s,
            r##"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="#000"/><line x1="{:.1}" x2="{:.1}" y1="{yt:.1}" y2="{yt:.1}" stroke="#000"/><line x1="{:.1}" x2="{:.1}" y1="{yb:.1}" y2="{yb:.1}" stroke="#000"/>"##,
            y(p.value + p.uncertainty),
            y(p.value - p.uncertainty),
            cx - 5.0,
            cx + 5.0,
            cx - 5.0,
            cx + 5.0,
            yt = y(p.value + p.uncertainty),
            yb = y(p.value - p.uncertainty)
        );
        let fill = if p.satisfactory == Some(false) {
            "#fff"
        } else {
            "#000"
        };
        let _ = write!(
            s,
            r##"<circle cx="{cx:.1}" cy="{:.1}" r="4.5" fill="{fill}" stroke="#000" stroke-width="1.5"><title>{}: {} ± {}</title></circle>"##,
            y(p.value),
            esc(p.label),
            num(p.value),
            num(p.uncertainty)
        );
        let _ = write!(
            s,
            r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + plot_h + 18.0,
            esc(p.label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_each_value_its_bar_and_the_reference_r9_2() {
        let pts = [
            Point {
                label: "P01",
                value: 10.0,
                uncertainty: 0.3,
                satisfactory: Some(true),
            },
            Point {
                label: "P02<x>",
                value: 11.0,
                uncertainty: 0.4,
                satisfactory: Some(false),
            },
        ];
        let s = svg("比对 & 图", "mm", 10.0, 0.4, &pts);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(s.contains("X_ref = 10 ± 0.4"));
        assert!(s.contains("P02&lt;x&gt;") && s.contains("比对 &amp; 图"));
        // The unsatisfactory one is hollow.
        assert!(s.contains(r##"fill="#fff" stroke="#000" stroke-width="1.5"><title>P02"##));
    }

    #[test]
    fn a_degenerate_range_still_draws() {
        let s = svg("t", "V", 1.0, 0.0, &[]);
        assert!(s.contains("X_ref = 1 ± 0"));
    }
}
