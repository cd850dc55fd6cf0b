//! A whole-recording timeline PNG for the batch report: |I + jQ| in dB and the optical
//! channels, min/max per pixel column, labels shaded and detected events as bands.
//!
//! `clotair plot` draws a window in detail (spectrogram included) and keeps its drawing code
//! private; the report needs the opposite trade — the whole recording, small, in one streaming
//! pass of bounded memory however long the file — so it has this compact renderer of its own.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::event::Class;
use crate::io::{self, EventRow, Label, Recording, WavStream};

/// The bundled font (Bitstream Vera licence in `assets/`), so no system font is needed.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Image width: fits a laptop screen beside nothing else, keeps the PNG small.
pub const WIDTH_PX: u32 = 900;
/// Height of one sensor panel.
const PANEL_PX: u32 = 150;
/// Height of the title line.
const HEAD_PX: u32 = 24;
/// Frames read per call while streaming a WAV.
const READ_FRAMES: usize = 8192;
/// Range of the |I/Q| panel, dB full scale.
const US_RANGE_DB: (f64, f64) = (-90.0, 3.0);
/// Pixel columns of the data area (the rest holds the y labels).
const COLUMNS: usize = (WIDTH_PX - 60) as usize;

/// Colour of a class, shared by events and labels.
pub fn class_colour(class: Class) -> RGBColor {
    match class {
        Class::Air => RGBColor(30, 110, 230),
        Class::Clot => RGBColor(220, 40, 40),
        Class::Artifact => RGBColor(140, 140, 140),
        Class::Fault => RGBColor(230, 150, 0),
    }
}

/// Per pixel column, the (min, max) of one value; `None` where no sample fell.
type Envelope = Vec<Option<(f64, f64)>>;
/// One [`Envelope`] per derived value.
type Extremes = Vec<Envelope>;

/// Streams a WAV once and keeps, per pixel column of `duration_s / cols` seconds, the min and
/// max of each of the `n` values `derive` computes from a frame.
fn column_extremes(
    path: &Path,
    duration_s: f64,
    n: usize,
    derive: impl Fn(&[f32], &mut [f64]),
) -> Result<Extremes, io::Error> {
    let mut stream = WavStream::open(path)?;
    let info = stream.info();
    let channels = usize::from(info.channels);
    let fs = f64::from(info.sample_rate_hz);
    let cols_per_s = COLUMNS as f64 / duration_s.max(1e-9);
    let mut out: Extremes = vec![vec![None; COLUMNS]; n];
    let mut buf = vec![0.0f32; READ_FRAMES * channels];
    let mut values = vec![0.0f64; n];
    let mut frame = 0u64;
    loop {
        let got = stream.read_frames(&mut buf)?;
        if got == 0 {
            break;
        }
        for f in buf[..got * channels].chunks_exact(channels) {
            let col = ((frame as f64 / fs * cols_per_s) as usize).min(COLUMNS - 1);
            derive(f, &mut values);
            for (series, &v) in out.iter_mut().zip(&values) {
                let cell = &mut series[col];
                *cell = Some(cell.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
            }
            frame += 1;
        }
    }
    Ok(out)
}

/// Registers the bundled font with plotters once per process.
fn font_ready() -> Result<(), String> {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *READY.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| "assets/DejaVuSans.ttf: bundled font does not load".to_owned())
}

/// Which panel shows an event or label seen at `sensor`.
fn on_panel(sensor: Option<&str>, ultrasound_panel: bool) -> bool {
    match sensor {
        Some("ultrasound") => ultrasound_panel,
        Some("optical") => !ultrasound_panel,
        _ => true,
    }
}

/// Draws the timeline of `rec` into `png`, written to a temporary file and renamed.
pub fn render(
    png: &Path,
    rec: &Recording,
    duration_s: f64,
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    font_ready()?;
    let duration_s = duration_s.max(1e-3);
    let us = rec
        .ultrasound
        .as_deref()
        .map(|p| {
            column_extremes(p, duration_s, 1, |f, v| {
                let power = f64::from(f[0]) * f64::from(f[0]) + f64::from(f[1]) * f64::from(f[1]);
                v[0] = 10.0 * power.max(1e-12).log10();
            })
        })
        .transpose()
        .map_err(|e| e.to_string())?;
    let opt = match rec.optical.as_deref() {
        Some(p) => {
            let channels = usize::from(
                WavStream::open(p)
                    .map_err(|e| e.to_string())?
                    .info()
                    .channels,
            );
            Some(
                column_extremes(p, duration_s, channels, |f, v| {
                    for (x, s) in v.iter_mut().zip(f) {
                        *x = f64::from(*s);
                    }
                })
                .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let panels = usize::from(us.is_some()) + usize::from(opt.is_some());
    let height = HEAD_PX + PANEL_PX * panels as u32;
    let name = png
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = png.with_file_name(format!(".{name}.{}.tmp.png", std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, (WIDTH_PX, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (head, body) = root.split_vertically(HEAD_PX);
        head.draw_text(
            &format!(
                "{}  ({duration_s:.1} s)   bands: detected events   shaded: labels",
                rec.name
            ),
            &("sans-serif", 13).into_font().color(&BLACK),
            (8, 6),
        )
        .map_err(|e| e.to_string())?;
        let areas = body.split_evenly((panels.max(1), 1));
        let mut area = areas.iter();
        let x = (0.0, duration_s);
        if let Some((env, a)) = us.as_ref().and_then(|e| Some((e, area.next()?))) {
            let clamp = |v: f64| v.clamp(US_RANGE_DB.0, US_RANGE_DB.1);
            let series: Vec<_> = env[0]
                .iter()
                .map(|c| c.map(|(lo, hi)| (clamp(lo), clamp(hi))))
                .collect();
            panel(
                a,
                "|I+jQ| dBFS",
                x,
                US_RANGE_DB,
                &[(&series, RGBColor(30, 30, 30))],
                true,
                labels,
                events,
            )?;
        }
        if let Some((env, a)) = opt.as_ref().and_then(|e| Some((e, area.next()?))) {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (l, h) in env.iter().flatten().flatten() {
                lo = lo.min(*l);
                hi = hi.max(*h);
            }
            if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
                (lo, hi) = (lo.min(0.0) - 0.01, hi.max(0.0) + 0.01);
            }
            let pad = (hi - lo) * 0.05;
            let colours = [RGBColor(200, 30, 30), RGBColor(120, 40, 160)];
            let series: Vec<_> = env.iter().zip(colours).collect();
            panel(
                a,
                "optical red / near-IR",
                x,
                (lo - pad, hi + pad),
                &series,
                false,
                labels,
                events,
            )?;
        }
        root.present().map_err(|e| e.to_string())
    })();
    let result = drawn
        .map_err(|e| format!("{}: cannot draw: {e}", png.display()))
        .and_then(|()| std::fs::rename(&tmp, png).map_err(|e| format!("{}: {e}", png.display())));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// One sensor panel: min/max envelopes as vertical strokes per column, labels shaded full
/// height, events as a band along the top.
#[allow(clippy::too_many_arguments)]
fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    y_desc: &str,
    x: (f64, f64),
    y: (f64, f64),
    series: &[(&Envelope, RGBColor)],
    ultrasound: bool,
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .margin_right(14)
        .x_label_area_size(20)
        .y_label_area_size(52)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_desc(y_desc)
        .x_labels(12)
        .y_labels(5)
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(|e| e.to_string())?;
    // Short events would vanish at this scale: at least one pixel column wide.
    let min_w = (x.1 - x.0) / COLUMNS as f64;
    let widen = |s: f64, e: f64| {
        let mid = (s + e) / 2.0;
        if e - s < min_w {
            (mid - min_w / 2.0, mid + min_w / 2.0)
        } else {
            (s, e)
        }
    };
    let shaded = labels
        .iter()
        .filter(|l| on_panel(l.sensor.as_deref(), ultrasound))
        .map(|l| {
            let (s, e) = widen(l.start_s, l.end_s);
            Rectangle::new(
                [(s, y.0), (e, y.1)],
                class_colour(l.class).mix(0.2).filled(),
            )
        });
    chart.draw_series(shaded).map_err(|e| e.to_string())?;
    let band = y.1 - (y.1 - y.0) * 0.08;
    let bands = events
        .iter()
        .filter(|e| on_panel(Some(&e.sensor), ultrasound))
        .map(|ev| {
            let (s, e) = widen(ev.start_s, ev.end_s);
            Rectangle::new([(s, band), (e, y.1)], class_colour(ev.class).filled())
        });
    chart.draw_series(bands).map_err(|e| e.to_string())?;
    let step = (x.1 - x.0) / COLUMNS as f64;
    for (env, colour) in series {
        let strokes = env.iter().enumerate().filter_map(|(col, c)| {
            let t = x.0 + (col as f64 + 0.5) * step;
            c.map(|(lo, hi)| PathElement::new(vec![(t, lo), (t, hi)], *colour))
        });
        chart.draw_series(strokes).map_err(|e| e.to_string())?;
    }
    Ok(())
}
