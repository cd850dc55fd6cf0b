//! Host side of the firmware test (`scripts/firmware.sh`).
//!
//! ```text
//! clotair-firmware-host gen OUT_BASE [--seconds S] [--seed N]   # a short labelled test recording
//! clotair-firmware-host cut IN_BASE OUT_BASE --seconds S         # the first S s of a recording
//! clotair-firmware-host detect BASE --out DIR                     # DIR/NAME.events.csv
//! clotair-firmware-host compare BASE REFERENCE.csv FIRMWARE.csv   # same events? exit 1 if not
//! ```
//!
//! `detect` runs the very library build the firmware links (`default-features = false`: the
//! no_std detector with microfft) from a std program, in large blocks as a file reader would,
//! so that host == firmware shows both the target's arithmetic and chunking invariance.

#[path = "../../src/csv.rs"]
mod csv;

use std::collections::HashMap;
use std::error::Error;
use std::f64::consts::PI;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clotair::detect::{Detector, DetectorConfig};
use clotair::event::{Event, Sensor};
use clotair::line::LineGeometry;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// STFT hop of the ultrasound path, in samples: the comparison's time tolerance.
const HOP: u64 = clotair::detect::ultrasound::HOP as u64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("gen") => gen(&args[1..]),
        Some("cut") => cut(&args[1..]),
        Some("detect") => detect(&args[1..]),
        Some("compare") => compare(&args[1..]),
        Some("calls") => calls(&args[1..]),
        _ => Err("usage: clotair-firmware-host gen|cut|detect|compare … (see src/main.rs)".into()),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn positional(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i].starts_with("--") {
            i += 2;
        } else {
            out.push(args[i].clone());
            i += 1;
        }
    }
    out
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

// ---------------------------------------------------------------------------------------------
// gen

/// xorshift64*: a seeded generator so that the test recording is the same on every machine.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal deviate (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

fn to_i16(x: f64) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// A Hann bump of `len_s` starting at `t0_s`, evaluated at `t_s`.
fn hann(t_s: f64, t0_s: f64, len_s: f64) -> f64 {
    let u = (t_s - t0_s) / len_s;
    if (0.0..1.0).contains(&u) {
        0.5 - 0.5 * (2.0 * PI * u).cos()
    } else {
        0.0
    }
}

/// A test recording: 16 kHz I/Q Doppler (band-limited blood speckle plus tone bursts of
/// emboli and a broadband knock) and 1 kHz red/IR optical transmission (noise plus bumps), with
/// a sidecar giving the line geometry and a labels file.
fn gen(args: &[String]) -> Result<bool> {
    let base = PathBuf::from(positional(args).first().ok_or("gen OUT_BASE")?);
    let seconds: f64 = flag(args, "--seconds").map_or(Ok(15.0), |s| s.parse())?;
    let seed: u64 = flag(args, "--seed").map_or(Ok(7), |s| s.parse())?;
    if let Some(dir) = base.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (us_rate, opt_rate) = (16_000u32, 1_000u32);
    // Geometry: 6.35 mm tube at 500 ml/min is 0.26 m/s, so 100 mm spacing is ~0.38 s transit.
    let (spacing_mm, tube_mm, flow_ml_min) = (100.0, 6.35, 500.0);
    let v = flow_ml_min * 1e-6 / 60.0 / (PI * (tube_mm * 1e-3f64).powi(2) / 4.0);
    let transit_s = spacing_mm * 1e-3 / v;
    // Emboli: (optical time, ultrasound Doppler Hz, burst length s, amplitude, optical delta).
    let emboli = [
        (2.0, 700.0, 0.020, 0.30, 0.25),
        (4.5, 250.0, 0.040, 0.20, -0.15),
        (7.2, 900.0, 0.012, 0.40, 0.30),
        (10.1, 300.0, 0.060, 0.15, -0.10),
        (12.3, 650.0, 0.025, 0.25, 0.20),
    ];
    let knock_s = 8.6;
    let mut labels = String::from("class,start_s,end_s,id,sensor\n");
    for (k, &(t, _, len, _, delta)) in emboli.iter().enumerate() {
        let class = if delta > 0.0 { "air" } else { "clot" };
        labels += &format!("{class},{t:.6},{:.6},{k},optical\n", t + 0.03);
        labels += &format!(
            "{class},{:.6},{:.6},{k},ultrasound\n",
            t + transit_s,
            t + transit_s + len
        );
    }
    labels += &format!("artifact,{knock_s:.6},{:.6},knock,both\n", knock_s + 0.03);
    fs::write(with_suffix(&base, "labels.csv"), labels)?;
    fs::write(
        with_suffix(&base, "json"),
        format!(
            "{{\"spacing_mm\": {spacing_mm}, \"tube_id_mm\": {tube_mm}, \"flow_ml_min\": {flow_ml_min}, \"carrier_hz\": 2000000, \"angle_deg\": 60}}\n"
        ),
    )?;

    // Ultrasound: blood speckle = complex noise through a one-pole band-pass around the mean
    // Doppler shift, plus -30 dB white noise; emboli are Hann-windowed tones.
    let spec = |channels: u16, rate: u32| hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(with_suffix(&base, "ultrasound.wav"), spec(2, us_rate))?;
    let fs_us = f64::from(us_rate);
    let blood_hz = 2.0 * 2.0e6 * v * 0.5 / 1540.0;
    let pole_r = 0.97f64;
    let (pc, ps) = (
        (2.0 * PI * blood_hz / fs_us).cos(),
        (2.0 * PI * blood_hz / fs_us).sin(),
    );
    let (mut br, mut bi) = (0.0f64, 0.0f64);
    for n in 0..(seconds * fs_us) as usize {
        let t = n as f64 / fs_us;
        let (xr, xi) = (rng.normal(), rng.normal());
        let (nr, ni) = (
            pole_r * (br * pc - bi * ps) + xr,
            pole_r * (br * ps + bi * pc) + xi,
        );
        (br, bi) = (nr, ni);
        let mut i = 0.01 * br + 0.003 * rng.normal();
        let mut q = 0.01 * bi + 0.003 * rng.normal();
        for &(t0, f, len, amp, _) in &emboli {
            let e = amp * hann(t, t0 + transit_s, len);
            if e > 0.0 {
                let ph = 2.0 * PI * f * t;
                i += e * ph.cos();
                q += e * ph.sin();
            }
        }
        // A knock: a broadband low-frequency thump at both sensors at once.
        let k = hann(t, knock_s, 0.03);
        if k > 0.0 {
            let ph = 2.0 * PI * 60.0 * t;
            i += 0.5 * k * ph.cos();
            q += 0.5 * k * (ph * 1.3).sin();
        }
        w.write_sample(to_i16(i))?;
        w.write_sample(to_i16(q))?;
    }
    w.finalize()?;

    let mut w = hound::WavWriter::create(with_suffix(&base, "optical.wav"), spec(2, opt_rate))?;
    let fs_opt = f64::from(opt_rate);
    for n in 0..(seconds * fs_opt) as usize {
        let t = n as f64 / fs_opt;
        let mut red = 0.40 * (1.0 + 0.002 * rng.normal());
        let mut ir = 0.55 * (1.0 + 0.002 * rng.normal());
        for &(t0, _, _, _, delta) in &emboli {
            let b = hann(t, t0, 0.03);
            // Clots absorb red more than IR; air scatters both about equally.
            red *= 1.0 + delta * b;
            ir *= 1.0 + delta * b * if delta > 0.0 { 0.9 } else { 0.5 };
        }
        let k = hann(t, knock_s, 0.03);
        red *= 1.0 + 0.05 * k;
        ir *= 1.0 + 0.05 * k;
        w.write_sample(to_i16(red))?;
        w.write_sample(to_i16(ir))?;
    }
    w.finalize()?;
    eprintln!(
        "wrote {} ({seconds} s, transit {transit_s:.3} s)",
        base.display()
    );
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// cut

fn cut(args: &[String]) -> Result<bool> {
    let pos = positional(args);
    let (input, output) = match &pos[..] {
        [i, o] => (PathBuf::from(i), PathBuf::from(o)),
        _ => return Err("cut IN_BASE OUT_BASE --seconds S".into()),
    };
    let seconds: f64 = flag(args, "--seconds").ok_or("--seconds")?.parse()?;
    if let Some(dir) = output.parent() {
        fs::create_dir_all(dir)?;
    }
    for sensor in ["ultrasound", "optical"] {
        let src = with_suffix(&input, &format!("{sensor}.wav"));
        if !src.exists() {
            continue;
        }
        let mut r = hound::WavReader::open(&src)?;
        let spec = r.spec();
        let keep = ((seconds * f64::from(spec.sample_rate)) as u32).min(r.duration());
        let mut w = hound::WavWriter::create(with_suffix(&output, &format!("{sensor}.wav")), spec)?;
        let n = keep as usize * usize::from(spec.channels);
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => {
                for s in r.samples::<f32>().take(n) {
                    w.write_sample(s?)?;
                }
            }
            _ => {
                for s in r.samples::<i32>().take(n) {
                    w.write_sample(s?)?;
                }
            }
        }
        w.finalize()?;
    }
    let json = with_suffix(&input, "json");
    if json.exists() {
        fs::copy(json, with_suffix(&output, "json"))?;
    }
    let labels = with_suffix(&input, "labels.csv");
    if let Ok(text) = fs::read_to_string(labels) {
        // Keep the labels that start inside the cut (`start_s` is the second column by
        // convention of the simulator, else by header).
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        let col = header.split(',').position(|c| c == "start_s").unwrap_or(1);
        let mut out = format!("{header}\n");
        for l in lines {
            if l.split(',')
                .nth(col)
                .and_then(|s| s.parse::<f64>().ok())
                .is_some_and(|s| s < seconds)
            {
                out += l;
                out += "\n";
            }
        }
        fs::write(with_suffix(&output, "labels.csv"), out)?;
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// detect

struct Stream {
    rate: u32,
    channels: usize,
    samples: Vec<f32>,
}

/// Reads a WAV scaled to [-1, 1) as the contract says (integers / 2^(bits-1)).
fn read_wav(path: &Path) -> Result<Option<Stream>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<std::result::Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale = (1u32 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|s| s as f32 / scale))
                .collect::<std::result::Result<_, _>>()?
        }
    };
    Ok(Some(Stream {
        rate: spec.sample_rate,
        channels: usize::from(spec.channels),
        samples,
    }))
}

fn read_line(base: &Path) -> Result<LineGeometry> {
    let Ok(text) = fs::read_to_string(with_suffix(base, "json")) else {
        return Ok(LineGeometry::default());
    };
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let get = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_f64)
            .map(|x| x as f32)
    };
    Ok(LineGeometry {
        spacing_mm: get("spacing_mm"),
        tube_id_mm: get("tube_id_mm"),
        flow_ml_min: get("flow_ml_min"),
        carrier_hz: get("carrier_hz"),
        angle_deg: get("angle_deg"),
    })
}

fn detect(args: &[String]) -> Result<bool> {
    let base = PathBuf::from(positional(args).first().ok_or("detect BASE --out DIR")?);
    let out = PathBuf::from(flag(args, "--out").ok_or("--out DIR")?);
    // Large blocks, as a file reader delivers them; the firmware uses 32 and 4.
    let us_block: usize = flag(args, "--us-block").map_or(Ok(4096), |s| s.parse())?;
    let opt_block: usize = flag(args, "--opt-block").map_or(Ok(256), |s| s.parse())?;
    let us = read_wav(&with_suffix(&base, "ultrasound.wav"))?;
    let opt = read_wav(&with_suffix(&base, "optical.wav"))?;
    let config = DetectorConfig {
        ultrasound_rate_hz: us.as_ref().map(|s| s.rate),
        optical_rate_hz: opt.as_ref().map(|s| s.rate),
        optical_channels: opt.as_ref().map_or(2, |s| s.channels),
        line: read_line(&base)?,
        ..DetectorConfig::default()
    };
    let mut detector = Detector::new(&config).map_err(|e| format!("{}: {e}", base.display()))?;
    let mut events: Vec<Event> = Vec::new();
    let mut emit = |e: &Event| events.push(*e);
    let frames = |s: &Option<Stream>| s.as_ref().map_or(0, |s| s.samples.len() / s.channels);
    let (us_frames, opt_frames) = (frames(&us), frames(&opt));
    let rate = |s: &Option<Stream>| s.as_ref().map_or(0, |s| u64::from(s.rate));
    let (us_rate, opt_rate) = (rate(&us), rate(&opt));
    let (mut us_i, mut opt_i) = (0, 0);
    while us_i < us_frames || opt_i < opt_frames {
        let us_next = (us_i + us_block).min(us_frames);
        let opt_next = (opt_i + opt_block).min(opt_frames);
        let us_first = us_i < us_frames
            && (opt_i >= opt_frames || us_next as u64 * opt_rate <= opt_next as u64 * us_rate);
        if us_first {
            let s = us.as_ref().unwrap();
            detector.push_ultrasound(&s.samples[us_i * 2..us_next * 2], &mut emit);
            us_i = us_next;
            if us_i == us_frames && opt_i < opt_frames {
                detector.end_stream(Sensor::Ultrasound, &mut emit);
            }
        } else {
            let s = opt.as_ref().unwrap();
            detector.push_optical(
                &s.samples[opt_i * s.channels..opt_next * s.channels],
                &mut emit,
            );
            opt_i = opt_next;
            if opt_i == opt_frames && us_i < us_frames {
                detector.end_stream(Sensor::Optical, &mut emit);
            }
        }
    }
    detector.finish(&mut emit);
    fs::create_dir_all(&out)?;
    let name = base
        .file_name()
        .ok_or("recording name")?
        .to_string_lossy()
        .into_owned();
    let path = out.join(format!("{name}.events.csv"));
    let mut f = std::io::BufWriter::new(fs::File::create(&path)?);
    writeln!(f, "{}", csv::HEADER)?;
    let mut row = String::new();
    for e in &events {
        row.clear();
        csv::write_row(&mut row, e)?;
        writeln!(f, "{row}")?;
    }
    f.flush()?;
    eprintln!(
        "{}: {} events -> {}",
        base.display(),
        events.len(),
        path.display()
    );
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// compare

#[derive(Debug)]
struct Row {
    class: String,
    sensor: String,
    start_us: i64,
    end_us: i64,
    detected_us: i64,
    numbers: HashMap<String, f64>,
}

/// Seconds with at most 6 decimals as exact µs.
fn parse_us(s: &str) -> Result<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<6}");
    Ok(whole.parse::<i64>()? * 1_000_000 + frac[..6].parse::<i64>()?)
}

/// A feature cell: a decimal (the CLI) or an f32's bit pattern `0x...` (the firmware's rows).
fn parse_number(s: &str) -> Option<f64> {
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16)
            .ok()
            .map(|b| f64::from(f32::from_bits(b))),
        None => s.parse::<f64>().ok(),
    }
}

fn read_events(path: &Path) -> Result<Vec<Row>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty events file")?
        .split(',')
        .collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let need =
        |name: &str| col(name).ok_or_else(|| format!("{}: no column {name}", path.display()));
    let (c_class, c_start, c_end, c_det) = (
        need("class")?,
        need("start_s")?,
        need("end_s")?,
        need("detected_s")?,
    );
    let c_sensor = col("sensor");
    let mut rows = Vec::new();
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let mut numbers = HashMap::new();
        for name in [
            "confidence",
            "ebr_db",
            "duration_ms",
            "peak_hz",
            "optical_delta",
            "volume_ul",
        ] {
            if let Some(v) = col(name)
                .and_then(|c| cells.get(c))
                .and_then(|s| parse_number(s))
            {
                numbers.insert(name.to_string(), v);
            }
        }
        rows.push(Row {
            class: cells[c_class].to_string(),
            sensor: c_sensor.map_or(String::new(), |c| cells[c].to_string()),
            start_us: parse_us(cells[c_start])?,
            end_us: parse_us(cells[c_end])?,
            detected_us: parse_us(cells[c_det])?,
            numbers,
        });
    }
    Ok(rows)
}

fn compare(args: &[String]) -> Result<bool> {
    let pos = positional(args);
    let [base, reference, firmware] = &pos[..] else {
        return Err("compare BASE REFERENCE.csv FIRMWARE.csv".into());
    };
    let us_wav = with_suffix(Path::new(base), "ultrasound.wav");
    let tol_us = if us_wav.exists() {
        let rate = u64::from(hound::WavReader::open(&us_wav)?.spec().sample_rate);
        (HOP * 1_000_000).div_ceil(rate) as i64
    } else {
        // Optical only: one optical sample.
        let opt = hound::WavReader::open(with_suffix(Path::new(base), "optical.wav"))?;
        1_000_000u64.div_ceil(u64::from(opt.spec().sample_rate)) as i64
    };
    let mut a = read_events(Path::new(reference))?;
    let mut b = read_events(Path::new(firmware))?;
    // The CLI orders events of the same alarm time by start (`run.rs`); the firmware prints
    // them as the detector emits them.
    a.sort_by_key(|r| (r.detected_us, r.start_us));
    b.sort_by_key(|r| (r.detected_us, r.start_us));
    let mut ok = true;
    let mut max_dt = 0i64;
    let mut max_rel: HashMap<String, f64> = HashMap::new();
    let mut sensor_diff = 0;
    // Pair in order of detection.
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let dt = [
            (x.start_us - y.start_us).abs(),
            (x.end_us - y.end_us).abs(),
            (x.detected_us - y.detected_us).abs(),
        ]
        .into_iter()
        .max()
        .unwrap();
        max_dt = max_dt.max(dt);
        if x.class != y.class || dt > tol_us {
            ok = false;
            println!(
                "MISMATCH row {}: reference {} {:.6}-{:.6} (detected {:.6}) vs firmware {} {:.6}-{:.6} (detected {:.6})",
                i + 1,
                x.class,
                x.start_us as f64 * 1e-6,
                x.end_us as f64 * 1e-6,
                x.detected_us as f64 * 1e-6,
                y.class,
                y.start_us as f64 * 1e-6,
                y.end_us as f64 * 1e-6,
                y.detected_us as f64 * 1e-6
            );
        }
        if x.sensor != y.sensor {
            sensor_diff += 1;
        }
        for (k, vx) in &x.numbers {
            if let Some(vy) = y.numbers.get(k) {
                let rel = (vx - vy).abs() / vx.abs().max(vy.abs()).max(1e-12);
                let m = max_rel.entry(k.clone()).or_insert(0.0);
                *m = m.max(rel);
            }
        }
    }
    if a.len() != b.len() {
        ok = false;
        println!(
            "MISMATCH: {} reference events, {} firmware events",
            a.len(),
            b.len()
        );
        let longer = if a.len() > b.len() {
            (&a, "reference")
        } else {
            (&b, "firmware")
        };
        for r in &longer.0[a.len().min(b.len())..] {
            println!(
                "  only in {}: {} at {:.6} s",
                longer.1,
                r.class,
                r.start_us as f64 * 1e-6
            );
        }
    }
    let mut classes: Vec<(String, usize)> = Vec::new();
    for r in &a {
        match classes.iter_mut().find(|(c, _)| *c == r.class) {
            Some((_, n)) => *n += 1,
            None => classes.push((r.class.clone(), 1)),
        }
    }
    let classes: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
    let mut rel: Vec<_> = max_rel.into_iter().collect();
    rel.sort_by(|p, q| p.0.cmp(&q.0));
    let rel: Vec<String> = rel.iter().map(|(k, v)| format!("{k} {v:.1e}")).collect();
    println!(
        "events: reference {}, firmware {} ({}); classes equal: {}; max time difference {} µs (tolerance {} µs = one hop of {} samples); sensor differs in {} rows",
        a.len(),
        b.len(),
        classes.join(", "),
        ok,
        max_dt,
        tol_us,
        HOP,
        sensor_diff
    );
    println!(
        "max relative feature difference: {}",
        if rel.is_empty() {
            "-".into()
        } else {
            rel.join(", ")
        }
    );
    println!("{}", if ok { "MATCH" } else { "MISMATCH" });
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// calls

/// Runtime helpers that do `f64` arithmetic in software on a single-precision FPU.
fn is_soft_double(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "__adddf3",
        "__subdf3",
        "__muldf3",
        "__divdf3",
        "__extendsfdf2",
        "__truncdfsf2",
        "__fixdfsi",
        "__fixunsdfsi",
        "__fixdfdi",
        "__fixunsdfdi",
        "__floatsidf",
        "__floatunsidf",
        "__floatdidf",
        "__floatundidf",
        "__eqdf2",
        "__nedf2",
        "__ltdf2",
        "__ledf2",
        "__gtdf2",
        "__gedf2",
        "__unorddf2",
        "__cmpdf2",
        "__powidf2",
    ];
    let base = name.rsplit("::").next().unwrap_or(name);
    base.starts_with("__aeabi_d")
        || base.starts_with("__aeabi_cd")
        || matches!(
            base,
            "__aeabi_f2d" | "__aeabi_i2d" | "__aeabi_ui2d" | "__aeabi_l2d" | "__aeabi_ul2d"
        )
        || EXACT.contains(&base)
}

fn is_panic(name: &str) -> bool {
    name.starts_with("core::panicking::")
        || name.starts_with("core::option::expect_failed")
        || name.starts_with("core::result::unwrap_failed")
        || name.starts_with("core::slice::index::")
        || name == "rust_begin_unwind"
}

/// Strips the `::h0123…` hash of a demangled Rust symbol.
fn strip_hash(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 => &name[..i],
        _ => name,
    }
}

/// Reads `llvm-objdump -d -C` output: every function with the functions it calls or
/// tail-calls. Prints the soft-float `f64` helpers, the 64-bit division helper and the panic
/// calls reachable from the roots, each with its caller. Exit 1 when any `f64` helper is
/// reachable and `--deny-f64` is given.
fn calls(args: &[String]) -> Result<bool> {
    let pos = positional(args);
    let dis = fs::read_to_string(pos.first().ok_or("calls DISASSEMBLY --roots a,b")?)?;
    let roots: Vec<String> = flag(args, "--roots")
        .ok_or("--roots")?
        .split(',')
        .map(str::to_string)
        .collect();
    let mut graph: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut current = String::new();
    for line in dis.lines() {
        // "0000b168 <name>:" starts a function.
        if let Some(rest) = line.strip_suffix(">:") {
            if let Some(i) = rest.find(" <") {
                let name = &rest[i + 2..];
                if !name.starts_with('$') {
                    current = strip_hash(name).to_string();
                    graph.entry(current.clone()).or_default();
                }
            }
            continue;
        }
        let mut cells = line.split('\t').map(str::trim).filter(|c| !c.is_empty());
        let (Some(addr), Some(op), Some(target)) = (cells.next(), cells.next(), cells.next())
        else {
            continue;
        };
        let is_call = matches!(op, "bl" | "blx" | "b" | "b.w");
        let Some(open) = target.find('<') else {
            continue;
        };
        let callee = target[open + 1..].split('>').next().unwrap_or("");
        if !is_call || callee.contains("+0x") || callee.starts_with('$') {
            continue;
        }
        let callee = strip_hash(callee).to_string();
        if callee != current {
            let site = addr.trim_end_matches(':').to_string();
            graph
                .entry(current.clone())
                .or_default()
                .push((callee, site));
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new(); // function -> one caller
    let mut entry: HashMap<String, String> = HashMap::new(); // function -> that call's site
    let mut stack: Vec<String> = Vec::new();
    for r in &roots {
        let found: Vec<String> = graph
            .keys()
            .filter(|k| k.ends_with(&format!("::{r}")) || *k == r)
            .cloned()
            .collect();
        if found.is_empty() {
            // A feed for a sensor the recording lacks is never called, and not linked.
            println!("note: root {r} not in the disassembly (not linked: no such sensor?)");
            continue;
        }
        for f in found {
            seen.insert(f.clone(), String::from("(root)"));
            stack.push(f);
        }
    }
    if stack.is_empty() {
        return Err(format!("none of the roots {roots:?} is in the disassembly").into());
    }
    // (helper, caller, source of the call site with its inlining chain)
    let mut soft: Vec<(String, String, String)> = Vec::new();
    let mut panics: Vec<(String, String, String)> = Vec::new();
    let mut uldiv: Vec<(String, String, String)> = Vec::new();
    let elf = flag(args, "--elf");
    let addr2line = flag(args, "--addr2line").unwrap_or_else(|| "llvm-addr2line".into());
    let source = |site: &str| -> String {
        let Some(elf) = &elf else {
            return site.to_string();
        };
        let out = std::process::Command::new(&addr2line)
            .args(["-e", elf, "-f", "-i", "-C", "-p", "--relative-address"])
            .arg(format!("0x{site}"))
            .output();
        match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| {
                    // "fn::path::h123 at /abs/src/detect/x.rs:12:5" -> "x::fn (src/detect/x.rs:12)"
                    let (f, at) = l.split_once(" at ").unwrap_or((l, ""));
                    let f = strip_hash(f.trim_start_matches(" (inlined by) "));
                    // Drop the column, keep the line.
                    let at = match at.rsplit_once(':') {
                        Some((a, _)) if a.rsplit('/').next().is_some_and(|t| t.contains(':')) => a,
                        _ => at,
                    };
                    let at = at.find("/src/").map_or(at, |i| &at[i + 1..]);
                    format!("{f} ({at})")
                })
                .collect::<Vec<_>>()
                .join(" <- "),
            Err(_) => site.to_string(),
        }
    };
    while let Some(f) = stack.pop() {
        for (callee, site) in graph.get(&f).cloned().unwrap_or_default() {
            if is_soft_double(&callee) {
                soft.push((callee.clone(), f.clone(), source(&site)));
            } else if is_panic(&callee) {
                panics.push((callee.clone(), f.clone(), source(&site)));
                continue; // the panic path is not the hot path
            } else if callee.ends_with("__aeabi_uldivmod") || callee.ends_with("__udivmoddi4") {
                uldiv.push((callee.clone(), f.clone(), source(&site)));
            }
            if !seen.contains_key(&callee) {
                seen.insert(callee.clone(), f.clone());
                entry.insert(callee.clone(), site.clone());
                stack.push(callee);
            }
        }
    }
    soft.sort();
    soft.dedup();
    panics.sort();
    panics.dedup();
    uldiv.sort();
    uldiv.dedup();
    println!(
        "functions reachable from {}: {}",
        roots.join(", "),
        seen.len()
    );
    println!("soft-float f64 helpers reachable: {}", soft.len());
    // Where in clotair each f64 use comes from: the innermost clotair frame of the helper call,
    // or of the call from clotair into the library function (libm) that makes it.
    let mut origins: Vec<(String, Vec<String>)> = Vec::new();
    for (helper, caller, src) in &soft {
        let mut f = caller.clone();
        let mut chain = src.clone();
        while !f.starts_with("clotair") {
            let (Some(up), Some(site)) = (seen.get(&f), entry.get(&f)) else {
                break;
            };
            chain = source(site);
            f = up.clone();
        }
        let origin = chain
            .split(" <- ")
            .find(|fr| fr.starts_with("clotair::"))
            .unwrap_or(&chain)
            .to_string();
        let helper = helper.rsplit("::").next().unwrap_or(helper).to_string();
        match origins.iter_mut().find(|(o, _)| *o == origin) {
            Some((_, hs)) if !hs.contains(&helper) => hs.push(helper),
            Some(_) => {}
            None => origins.push((origin, vec![helper])),
        }
    }
    for (origin, helpers) in &origins {
        println!("  f64 from {origin}: {}", helpers.join(" "));
    }
    println!("f64 call sites with their inlining chains:");
    for (helper, caller, src) in &soft {
        println!("  {helper} in {}: {src}", path_to(&seen, caller));
    }
    println!("64-bit division helper calls reachable: {}", uldiv.len());
    for (helper, caller, src) in &uldiv {
        println!("  {helper} in {}: {src}", path_to(&seen, caller));
    }
    println!(
        "panic call sites reachable (not the hot path, listed for review): {}",
        panics.len()
    );
    for (p, caller, src) in &panics {
        println!("  {p} in {}: {src}", path_to(&seen, caller));
    }
    let deny = args.iter().any(|a| a == "--deny-f64");
    Ok(!deny || soft.is_empty())
}

fn path_to(seen: &HashMap<String, String>, f: &str) -> String {
    let mut path = vec![f.to_string()];
    let mut at = f.to_string();
    while let Some(caller) = seen.get(&at) {
        if caller == "(root)" || path.len() > 12 {
            break;
        }
        path.push(caller.clone());
        at = caller.clone();
    }
    path.reverse();
    path.iter()
        .map(|p| {
            p.rsplit("::")
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("::")
        })
        .collect::<Vec<_>>()
        .join(" > ")
}
