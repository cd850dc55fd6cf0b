//! `clotair plot`: a picture of a recording — Doppler spectrogram (both directions), |I/Q|,
//! both optical channels, labelled events shaded by class, and detected events if given.
//!
//! The font is bundled (`assets/DejaVuSans.ttf`, Bitstream Vera licence beside it) and
//! registered with plotters' ab_glyph backend, so no system font library is needed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use num_complex::Complex32;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::event::Class;
use crate::io::{self, EventRow, Label, WavStream};

/// The bundled font.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Window drawn when `--to` is not given, so that an hours-long recording still plots
/// quickly and in bounded memory.
const DEFAULT_WINDOW_S: f64 = 120.0;
/// Image size.
const WIDTH_PX: u32 = 1600;
const PANEL_HEIGHT_PX: u32 = 260;
/// Dynamic range of the spectrogram colours.
const SPECTROGRAM_RANGE_DB: f64 = 60.0;

/// Arguments of `clotair plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// The recording: base path DIR/NAME or any one of its files.
    pub recording: PathBuf,
    /// PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Start of the window, seconds (default 0).
    #[arg(long)]
    pub from: Option<f64>,
    /// End of the window, seconds (default: the end, at most 120 s after --from).
    #[arg(long)]
    pub to: Option<f64>,
    /// Detected events to overlay (NAME.events.csv).
    #[arg(long)]
    pub events: Option<PathBuf>,
}

/// Runs `clotair plot`.
pub fn run(args: PlotArgs) -> ExitCode {
    match plot(&args) {
        Ok(()) => {
            println!("wrote {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A signal window read from one WAV.
struct Window {
    fs: f64,
    channels: usize,
    t0: f64,
    data: Vec<f32>,
}

/// Reads `[from, to)` of a WAV, streaming past what comes before.
fn read_window(path: &Path, from: f64, to: f64) -> Result<Window, io::Error> {
    let mut s = WavStream::open(path)?;
    let info = s.info();
    let fs = f64::from(info.sample_rate_hz);
    let channels = usize::from(info.channels);
    let first = ((from * fs).floor() as u64).min(info.frames);
    let last = ((to * fs).ceil() as u64).min(info.frames);
    let mut skip = first;
    let mut buf = vec![0.0f32; 8192 * channels];
    while skip > 0 {
        let want = (skip as usize).min(8192) * channels;
        let n = s.read_frames(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        skip -= n as u64;
    }
    let mut data = vec![0.0f32; (last - first) as usize * channels];
    let mut at = 0;
    while at < data.len() {
        let n = s.read_frames(&mut data[at..])?;
        if n == 0 {
            break;
        }
        at += n * channels;
    }
    data.truncate(at);
    Ok(Window {
        fs,
        channels,
        t0: first as f64 / fs,
        data,
    })
}

/// Length of a WAV in seconds, from its header.
fn wav_duration(path: &Path) -> Result<f64, io::Error> {
    Ok(WavStream::open(path)?.info().duration_s())
}

/// Why a plot could not be made, with the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A recording's file could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Anything else, with the file it is about.
    #[error("{path}: {problem}")]
    Other {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

fn other(path: &Path, problem: impl std::fmt::Display) -> PlotError {
    PlotError::Other {
        path: path.into(),
        problem: problem.to_string(),
    }
}

fn class_colour(class: Class) -> RGBColor {
    match class {
        Class::Air => RGBColor(30, 110, 230),
        Class::Clot => RGBColor(220, 40, 40),
        Class::Artifact => RGBColor(140, 140, 140),
        Class::Fault => RGBColor(230, 150, 0),
    }
}

/// Viridis-like colour map, x in [0, 1].
fn colour_map(x: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = x.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Which panels a label or detected event is shaded on.
fn on_panel(sensor: Option<&str>, panel_is_ultrasound: bool) -> bool {
    match sensor {
        Some("ultrasound") => panel_is_ultrasound,
        Some("optical") => !panel_is_ultrasound,
        _ => true,
    }
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Shades labels (full height, translucent) and detected events (a band at the top).
fn shade(
    chart: &mut Chart<'_, '_>,
    ultrasound: bool,
    labels: &[Label],
    events: &[EventRow],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<(), String> {
    let min_w = (x1 - x0) / 600.0;
    let widen = |s: f64, e: f64| {
        if e - s < min_w {
            ((s + e) / 2.0 - min_w / 2.0, (s + e) / 2.0 + min_w / 2.0)
        } else {
            (s, e)
        }
    };
    for l in labels
        .iter()
        .filter(|l| l.end_s >= x0 && l.start_s <= x1 && on_panel(l.sensor.as_deref(), ultrasound))
    {
        let (s, e) = widen(l.start_s.max(x0), l.end_s.min(x1));
        let c = class_colour(l.class);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(s, y0), (e, y1)],
                c.mix(0.22).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    let band = y1 - (y1 - y0) * 0.06;
    for ev in events
        .iter()
        .filter(|e| e.end_s >= x0 && e.start_s <= x1 && on_panel(Some(&e.sensor), ultrasound))
    {
        let (s, e) = widen(ev.start_s.max(x0), ev.end_s.min(x1));
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(s, band), (e, y1)],
                class_colour(ev.class).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Draws the plot `args` asks for.
pub fn plot(args: &PlotArgs) -> Result<(), PlotError> {
    if args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
        != Some("png")
    {
        return Err(other(
            &args.out,
            "the plot is a PNG: name the output FILE.png",
        ));
    }
    let rec = io::discover(std::slice::from_ref(&args.recording))?.remove(0);
    let mut duration: f64 = 0.0;
    for p in rec.ultrasound.iter().chain(&rec.optical) {
        duration = duration.max(wav_duration(p)?);
    }
    let from = args.from.unwrap_or(0.0).max(0.0);
    let to = args.to.unwrap_or(from + DEFAULT_WINDOW_S).min(duration);
    if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) {
        return Err(other(
            &rec.base,
            format!("empty window {from}..{to} s (the recording lasts {duration:.3} s)"),
        ));
    }
    let labels = match &rec.labels {
        Some(p) => io::read_labels(p, None)?,
        None => Vec::new(),
    };
    let events = match &args.events {
        Some(p) => io::read_events(p)?,
        None => Vec::new(),
    };
    let us = rec
        .ultrasound
        .as_deref()
        .map(|p| read_window(p, from, to))
        .transpose()?;
    let opt = rec
        .optical
        .as_deref()
        .map(|p| read_window(p, from, to))
        .transpose()?;

    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).map_err(|_| {
        other(
            Path::new("assets/DejaVuSans.ttf"),
            "bundled font does not load",
        )
    })?;
    let panels = if us.is_some() { 2 } else { 0 } + usize::from(opt.is_some());
    let height = 60 + PANEL_HEIGHT_PX * panels as u32;
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = args
        .out
        .with_file_name(format!(".{name}.{}.tmp.png", std::process::id()));
    let result = draw(
        &tmp,
        height,
        &rec.name,
        (from, to),
        us.as_ref(),
        opt.as_ref(),
        &labels,
        &events,
    )
    .map_err(|e| other(&args.out, e))
    .and_then(|()| std::fs::rename(&tmp, &args.out).map_err(|e| other(&args.out, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn draw(
    path: &Path,
    height: u32,
    name: &str,
    (from, to): (f64, f64),
    us: Option<&Window>,
    opt: Option<&Window>,
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    let root = BitMapBackend::new(path, (WIDTH_PX, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let title = format!(
        "{name}   {from:.2}–{to:.2} s   shaded: labels (air blue, clot red, artifact grey){}",
        if events.is_empty() {
            ""
        } else {
            "; top bands: detected events"
        }
    );
    let (head, body) = root.split_vertically(40);
    head.draw_text(
        &title,
        &("sans-serif", 18).into_font().color(&BLACK),
        (10, 12),
    )
    .map_err(|e| e.to_string())?;
    let n_panels = if us.is_some() { 2 } else { 0 } + usize::from(opt.is_some());
    let areas = body.split_evenly((n_panels, 1));
    let mut next = areas.iter();
    if let Some(w) = us {
        spectrogram(next.next().unwrap(), w, (from, to), labels, events)?;
        magnitude(next.next().unwrap(), w, (from, to), labels, events)?;
    }
    if let Some(w) = opt {
        optical(next.next().unwrap(), w, (from, to), labels, events)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn chart<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    x: (f64, f64),
    y: (f64, f64),
    y_desc: &str,
) -> Result<Chart<'a, 'b>, String> {
    let mut c = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(|e| e.to_string())?;
    c.configure_mesh()
        .disable_mesh()
        .x_desc("time (s)")
        .y_desc(y_desc)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(c)
}

fn spectrogram(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    w: &Window,
    x: (f64, f64),
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    let fs = w.fs;
    let nfft = crate::sim::frame_len_for_plot(fs);
    let iq: Vec<Complex32> = w
        .data
        .chunks_exact(2)
        .map(|c| Complex32::new(c[0], c[1]))
        .collect();
    let mut c = chart(
        area,
        "Doppler spectrogram (positive: forward flow)",
        x,
        (-fs / 2.0, fs / 2.0),
        "Doppler (Hz)",
    )?;
    let (xr, yr) = c.plotting_area().get_pixel_range();
    let cols = (xr.end - xr.start).max(1) as usize;
    let rows = (yr.end - yr.start).max(1) as usize;
    // One FFT per pixel column (or fewer when the window is short), Hann-windowed.
    let fft = rustfft::FftPlanner::<f32>::new().plan_fft_forward(nfft);
    let win: Vec<f32> = (0..nfft)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / nfft as f64).cos()) as f32)
        .collect();
    let t_at = |col: usize| x.0 + (x.1 - x.0) * (col as f64 + 0.5) / cols as f64;
    let mut power = vec![f64::NEG_INFINITY; cols * nfft];
    let mut buf = vec![Complex32::default(); nfft];
    for col in 0..cols {
        let centre = ((t_at(col) - w.t0) * fs) as isize;
        let start = centre - nfft as isize / 2;
        if start < 0 || start as usize + nfft > iq.len() {
            continue;
        }
        for ((b, s), h) in buf
            .iter_mut()
            .zip(&iq[start as usize..start as usize + nfft])
            .zip(&win)
        {
            *b = s * h;
        }
        fft.process(&mut buf);
        for (k, b) in buf.iter().enumerate() {
            power[col * nfft + k] = 10.0 * f64::from(b.norm_sqr()).max(1e-20).log10();
        }
    }
    let mut finite: Vec<f64> = power.iter().copied().filter(|p| p.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let top = finite
        .get(
            finite
                .len()
                .saturating_sub(1)
                .min(finite.len() * 995 / 1000),
        )
        .copied()
        .unwrap_or(0.0);
    let plot_area = c.plotting_area().strip_coord_spec();
    for col in 0..cols {
        for row in 0..rows {
            // Row 0 is the top: +fs/2.
            let f = fs / 2.0 - fs * (row as f64 + 0.5) / rows as f64;
            let k = ((f / fs * nfft as f64).round() as isize).rem_euclid(nfft as isize) as usize;
            let p = power[col * nfft + k];
            if p.is_finite() {
                let colour = colour_map((p - (top - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB);
                plot_area
                    .draw_pixel((col as i32, row as i32), &colour)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    shade(&mut c, true, labels, events, x, (-fs / 2.0, fs / 2.0))
}

/// Per pixel column: (time, max, min) of `f(sample)` over the column.
fn envelope(
    n_cols: usize,
    w: &Window,
    x: (f64, f64),
    f: impl Fn(&[f32]) -> f64,
) -> Vec<(f64, f64, f64)> {
    let frames = w.data.len() / w.channels;
    (0..n_cols)
        .filter_map(|col| {
            let t0 = x.0 + (x.1 - x.0) * col as f64 / n_cols as f64;
            let t1 = x.0 + (x.1 - x.0) * (col + 1) as f64 / n_cols as f64;
            let a = (((t0 - w.t0) * w.fs).floor().max(0.0) as usize).min(frames);
            let b = (((t1 - w.t0) * w.fs).ceil().max(0.0) as usize)
                .min(frames)
                .max(a + 1)
                .min(frames);
            if a >= b {
                return None;
            }
            let vals = w.data[a * w.channels..b * w.channels]
                .chunks_exact(w.channels)
                .map(&f);
            let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            Some(((t0 + t1) / 2.0, hi, lo))
        })
        .collect()
}

fn magnitude(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    w: &Window,
    x: (f64, f64),
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    let y = (-90.0, 3.0);
    let mut c = chart(
        area,
        "|I + jQ| (dB full scale): max and min per pixel",
        x,
        y,
        "dBFS",
    )?;
    let env = envelope(WIDTH_PX as usize, w, x, |s| {
        20.0 * f64::from(s[0].hypot(s[1])).max(1e-6).log10()
    });
    shade(&mut c, true, labels, events, x, y)?;
    let clamp = |v: f64| v.clamp(y.0, y.1);
    c.draw_series(LineSeries::new(
        env.iter().map(|&(t, hi, _)| (t, clamp(hi))),
        RGBColor(20, 20, 20),
    ))
    .map_err(|e| e.to_string())?;
    c.draw_series(LineSeries::new(
        env.iter().map(|&(t, _, lo)| (t, clamp(lo))),
        RGBColor(160, 160, 160),
    ))
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn optical(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    w: &Window,
    x: (f64, f64),
    labels: &[Label],
    events: &[EventRow],
) -> Result<(), String> {
    let red = envelope(WIDTH_PX as usize, w, x, |s| f64::from(s[0]));
    let ir = if w.channels > 1 {
        envelope(WIDTH_PX as usize, w, x, |s| f64::from(s[1]))
    } else {
        Vec::new()
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, a, b) in red.iter().chain(&ir) {
        lo = lo.min(b);
        hi = hi.max(a);
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        (lo, hi) = (lo.min(0.0) - 0.01, hi.max(0.0) + 0.01);
    }
    let pad = (hi - lo) * 0.05;
    let y = (lo - pad, hi + pad);
    let mut c = chart(
        area,
        "optical transmission: red (660 nm) and near-IR (850 nm), min/max per pixel",
        x,
        y,
        "full scale",
    )?;
    shade(&mut c, false, labels, events, x, y)?;
    for (series, colour) in [(&red, RGBColor(200, 30, 30)), (&ir, RGBColor(120, 40, 160))] {
        c.draw_series(LineSeries::new(
            series.iter().map(|&(t, hi, _)| (t, hi)),
            colour,
        ))
        .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            series.iter().map(|&(t, _, lo)| (t, lo)),
            colour,
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
