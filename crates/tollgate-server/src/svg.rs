//! A small SVG chart writer for the program metrics: grouped bars or lines, axis labels, a
//! legend. No script, no style element: presentation attributes only (the CSP allows them).
//! Every drawn value carries `data-series`, `data-label` and `data-value` attributes and a
//! `<title>`, so the numbers of a chart can be read back and checked against its JSON. All text
//! is escaped: product, tier and rule names come from clients.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Bars,
    Lines,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// One per label; None draws nothing.
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    /// What the y axis counts ("%", "findings", "days").
    pub unit: String,
    pub kind: ChartKind,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 72.0;
const PALETTE: [&str; 8] = [
    "#b3261e", "#e8710a", "#f9ab00", "#1e8e3e", "#1a73e8", "#9334e6", "#5f6368", "#12b5cb",
];

/// `&`, `<`, `>`, `"` and `'` escaped; control characters (not allowed in XML) dropped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A number as the JSON answer writes it: integers without a fraction.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A round top for the y axis at or above `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Shortens a label for the x axis (the full text stays in the titles).
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

pub fn render(chart: &Chart) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(*v));
    let top = nice_max(max);
    let y = |v: f64| TOP + plot_h - (v.max(0.0) / top) * plot_h;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<title>{t}</title>\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{LEFT}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{t}</text>\n",
        t = esc(&chart.title)
    );
    // Y axis with five ticks.
    for i in 0..=5 {
        let v = top * f64::from(i) / 5.0;
        let yy = y(v);
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e0e0e0\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = LEFT + plot_w,
            tx = LEFT - 6.0,
            ty = yy + 4.0,
            label = esc(&num((v * 100.0).round() / 100.0)),
        );
    }
    let _ = writeln!(
        o,
        "<text x=\"14\" y=\"{cy}\" transform=\"rotate(-90 14 {cy})\" text-anchor=\"middle\">{u}</text>\n\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{b}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#333\"/>",
        cy = TOP + plot_h / 2.0,
        u = esc(&chart.unit),
        b = TOP + plot_h,
        r = LEFT + plot_w,
    );
    let n = chart.labels.len().max(1) as f64;
    let group = plot_w / n;
    // X labels: every one for bars; for long series about twelve.
    let every = if chart.kind == ChartKind::Lines {
        (chart.labels.len() / 12).max(1)
    } else {
        1
    };
    let x_of = |i: usize| LEFT + group * (i as f64 + 0.5);
    for (i, label) in chart.labels.iter().enumerate() {
        if i % every != 0 && i + 1 != chart.labels.len() {
            continue;
        }
        let (x, yy) = (x_of(i), TOP + plot_h + 14.0);
        let _ = writeln!(
            o,
            "<text x=\"{x:.1}\" y=\"{yy}\" text-anchor=\"end\" transform=\"rotate(-30 {x:.1} {yy})\">{}</text>",
            esc(&short(label, 18))
        );
    }
    let count = chart.series.len().max(1) as f64;
    for (si, s) in chart.series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        let name = esc(&s.name);
        let _ = writeln!(
            o,
            "<g data-series=\"{name}\" fill=\"{color}\" stroke=\"{color}\">"
        );
        if chart.kind == ChartKind::Lines {
            let points: Vec<String> = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x_of(i), y(v))))
                .collect();
            if !points.is_empty() {
                let _ = writeln!(
                    o,
                    "<polyline fill=\"none\" stroke-width=\"2\" points=\"{}\"/>",
                    points.join(" ")
                );
            }
        }
        for (i, v) in s.values.iter().enumerate() {
            let Some(v) = v else { continue };
            let label = chart.labels.get(i).map(String::as_str).unwrap_or("");
            let attrs = format!(
                "class=\"value\" data-series=\"{name}\" data-label=\"{l}\" data-value=\"{val}\"",
                l = esc(label),
                val = num(*v)
            );
            let title = format!("<title>{}: {}: {}</title>", esc(label), name, esc(&num(*v)));
            match chart.kind {
                ChartKind::Bars => {
                    let bar_w = (group * 0.8 / count).max(1.0);
                    let x = LEFT + group * i as f64 + group * 0.1 + bar_w * si as f64;
                    let yy = y(*v);
                    let _ = writeln!(
                        o,
                        "<rect {attrs} x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" stroke=\"none\">{title}</rect>",
                        h = TOP + plot_h - yy
                    );
                }
                ChartKind::Lines => {
                    let _ = writeln!(
                        o,
                        "<circle {attrs} cx=\"{x:.1}\" cy=\"{yy:.1}\" r=\"2.5\">{title}</circle>",
                        x = x_of(i),
                        yy = y(*v)
                    );
                }
            }
        }
        let ly = TOP + 16.0 * si as f64;
        let _ = writeln!(
            o,
            "<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" stroke=\"none\"/>\
             <text x=\"{tx}\" y=\"{ty}\" fill=\"#222\" stroke=\"none\">{}</text>\n</g>",
            esc(&short(&s.name, 24)),
            lx = LEFT + plot_w + 16.0,
            tx = LEFT + plot_w + 32.0,
            ty = ly + 9.0,
        );
    }
    if chart
        .series
        .iter()
        .all(|s| s.values.iter().all(Option::is_none))
    {
        let _ = writeln!(
            o,
            "<text x=\"{x}\" y=\"{yy}\" text-anchor=\"middle\" fill=\"#666\">no data in this window</text>",
            x = LEFT + plot_w / 2.0,
            yy = TOP + plot_h / 2.0
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_values_are_readable() {
        let chart = Chart {
            title: "<script>alert(1)</script> & co".into(),
            unit: "%".into(),
            kind: ChartKind::Bars,
            labels: vec!["a\"b".into(), "c".into()],
            series: vec![Series {
                name: "x'y".into(),
                values: vec![Some(33.3), None],
            }],
        };
        let svg = render(&chart);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(svg.contains("data-series=\"x&#39;y\" data-label=\"a&quot;b\" data-value=\"33.3\""));
        assert_eq!(svg.matches("class=\"value\"").count(), 1);
        assert_eq!(num(5.0), "5");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(33.3), 50.0);
    }
}
