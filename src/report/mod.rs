//! The batch report of `clotair detect --report DIR`: one static page, `DIR/index.html`, no
//! server and no script, with per recording a timeline PNG, the event table and — when the
//! recording is labelled — the score of [`crate::eval`] (confusion, sensitivity by size).

pub mod timeline;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::eval::{score, Detection, Report, Scored};
use crate::event::{Class, Sensor};
use crate::io::{self, EventRow, Recording};

/// Event rows listed per recording; longer lists point to the events CSV instead.
pub const MAX_TABLE_ROWS: usize = 300;

/// One recording of the report: what the detector found in it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The recording (its labels, if any, are scored).
    pub recording: Recording,
    /// Its events, in order of alarm time.
    pub events: Vec<EventRow>,
    /// Its length, s.
    pub duration_s: f64,
}

/// What was prepared for one entry before the page is written.
struct Section<'a> {
    entry: &'a Entry,
    /// PNG file name inside the report directory, when it was drawn.
    image: Result<String, String>,
    /// The score, when labelled; the labels' error otherwise.
    scored: Option<Result<Scored, String>>,
}

/// Writes `dir/index.html` and `dir/NAME.png` per entry; the page path, or every problem
/// (each names its file). The page is written even when some images or labels failed; it
/// shows the error in their place. `failed` lists the recordings that could not be detected
/// (name, reason), shown at the top of the page.
pub fn write_report(
    dir: &Path,
    entries: &[Entry],
    failed: &[(String, String)],
) -> Result<PathBuf, Vec<String>> {
    use rayon::prelude::*;
    std::fs::create_dir_all(dir)
        .map_err(|e| vec![format!("{}: cannot create: {e}", dir.display())])?;
    let sections: Vec<Section> = entries
        .par_iter()
        .map(|entry| {
            let scored = entry.recording.labels.as_deref().map(|p| {
                io::read_labels(p, Some(entry.duration_s))
                    .map(|labels| Scored {
                        name: entry.recording.name.clone(),
                        duration_s: entry.duration_s,
                        labels,
                        detections: entry.events.iter().map(detection).collect(),
                    })
                    .map_err(|e| e.to_string())
            });
            let labels = match &scored {
                Some(Ok(s)) => &s.labels[..],
                _ => &[],
            };
            let file = format!("{}.png", entry.recording.name);
            let image = timeline::render(
                &dir.join(&file),
                &entry.recording,
                entry.duration_s,
                labels,
                &entry.events,
            )
            .map(|()| file);
            Section {
                entry,
                image,
                scored,
            }
        })
        .collect();
    let mut problems: Vec<String> = Vec::new();
    for s in &sections {
        if let Err(e) = &s.image {
            problems.push(e.clone());
        }
        if let Some(Err(e)) = &s.scored {
            problems.push(e.clone());
        }
    }
    let page = dir.join("index.html");
    let html = page_html(&sections, failed);
    if let Err(e) = io::write_atomic(&page, |w| w.write_all(html.as_bytes())) {
        problems.push(e.to_string());
    }
    if problems.is_empty() {
        Ok(page)
    } else {
        Err(problems)
    }
}

fn detection(e: &EventRow) -> Detection {
    Detection {
        volume_ul: e.volume_ul,
        single_limit: e.single_limit,
        sensor: Sensor::parse(&e.sensor),
        ..Detection::new(e.class, e.start_s, e.end_s, e.detected_s)
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a file name for a relative URL (a name may hold spaces, `#` or `%`).
fn url(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}", 100.0 * x)
    } else {
        "–".to_owned()
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;max-width:960px;color:#222}\
table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ccc;padding:2px 8px;\
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}\
.air{color:#1e6ee6}.clot{color:#dc2828}.artifact{color:#777}.fault{color:#e69600}\
.error{color:#b00;font-weight:bold}img{display:block;max-width:100%}section{margin-top:2em}";

fn page_html(sections: &[Section], failed: &[(String, String)]) -> String {
    let mut h = String::new();
    let hours: f64 = sections.iter().map(|s| s.entry.duration_s).sum::<f64>() / 3600.0;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>clotair detect report</title><style>{STYLE}</style></head><body>\n\
         <h1>clotair detect report</h1>\n<p>{} recordings, {hours:.2} h of signal. \
         Timelines: |I+jQ| and optical channels, min/max per pixel; coloured bands at the top \
         are detected events (<span class=\"air\">air</span>, <span class=\"clot\">clot</span>, \
         <span class=\"artifact\">artifact</span>, <span class=\"fault\">fault</span>), shaded \
         spans are labels.</p>\n",
        sections.len()
    );
    h.push_str("<table><tr><th>recording</th><th>hours</th><th>air</th><th>clot</th><th>artifact</th><th>fault</th><th>labelled</th></tr>\n");
    for s in sections {
        let c = counts(&s.entry.events);
        let name = esc(&s.entry.recording.name);
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{}\">{name}</a></td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&url(&s.entry.recording.name)),
            s.entry.duration_s / 3600.0,
            c[0],
            c[1],
            c[2],
            c[3],
            if s.scored.is_some() { "yes" } else { "no" }
        );
    }
    h.push_str("</table>\n");
    if !failed.is_empty() {
        let _ = writeln!(
            h,
            "<h2 class=\"error\">{} failed</h2>\n<table><tr><th>input</th><th>reason</th></tr>",
            failed.len()
        );
        for (name, reason) in failed {
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(name), esc(reason));
        }
        h.push_str("</table>\n");
    }
    let scored: Vec<Scored> = sections
        .iter()
        .filter_map(|s| s.scored.as_ref().and_then(|r| r.as_ref().ok()).cloned())
        .collect();
    if !scored.is_empty() {
        let _ = writeln!(h, "<h2>All labelled recordings ({})</h2>", scored.len());
        score_html(&mut h, &score(&scored));
    }
    for s in sections {
        section_html(&mut h, s);
    }
    h.push_str("</body></html>\n");
    h
}

/// Events per class; a slug's passage row follows its alarm and a fault's end its start: neither
/// is another event.
fn counts(events: &[EventRow]) -> [usize; 4] {
    let mut c = [0usize; 4];
    for e in events.iter().filter(|e| !e.passage && !e.cleared) {
        c[e.class as usize] += 1;
    }
    c
}

fn section_html(h: &mut String, s: &Section) {
    let rec = &s.entry.recording;
    let name = esc(&rec.name);
    let _ = writeln!(
        h,
        "<section id=\"{}\"><h2>{name}</h2>\n<p>{} — {:.1} s, {} events</p>",
        esc(&url(&rec.name)),
        esc(&rec.base.display().to_string()),
        s.entry.duration_s,
        s.entry.events.len()
    );
    match &s.image {
        Ok(file) => {
            let _ = writeln!(
                h,
                "<img src=\"{}\" alt=\"timeline of {name}\" width=\"{}\">",
                esc(&url(file)),
                timeline::WIDTH_PX
            );
        }
        Err(e) => {
            let _ = writeln!(h, "<p class=\"error\">no timeline: {}</p>", esc(e));
        }
    }
    match &s.scored {
        Some(Ok(scored)) => score_html(h, &score(std::slice::from_ref(scored))),
        Some(Err(e)) => {
            let _ = writeln!(h, "<p class=\"error\">not scored: {}</p>", esc(e));
        }
        None => {}
    }
    events_html(h, &s.entry.events, &rec.name);
    h.push_str("</section>\n");
}

fn events_html(h: &mut String, events: &[EventRow], name: &str) {
    if events.is_empty() {
        h.push_str("<p>No events.</p>\n");
        return;
    }
    h.push_str("<table><tr><th>class</th><th>start s</th><th>end s</th><th>alarm s</th><th>latency ms</th><th>confidence</th><th>sensor</th></tr>\n");
    for e in events.iter().take(MAX_TABLE_ROWS) {
        let class = e.class.as_str();
        let label = match (e.passage, e.cleared) {
            (true, _) => " (slug passed)".to_owned(),
            (_, true) => format!(" {} (ended)", esc(&e.fault)),
            _ if !e.fault.is_empty() => format!(" {}", esc(&e.fault)),
            _ => String::new(),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"{class}\">{class}{label}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.0}</td><td>{:.2}</td><td>{}</td></tr>",
            e.start_s,
            e.end_s,
            e.detected_s,
            1e3 * (e.detected_s - e.start_s),
            e.confidence,
            esc(&e.sensor)
        );
    }
    h.push_str("</table>\n");
    if events.len() > MAX_TABLE_ROWS {
        let _ = writeln!(
            h,
            "<p>First {MAX_TABLE_ROWS} of {} events; all are in {}.events.csv.</p>",
            events.len(),
            esc(name)
        );
    }
}

fn score_html(h: &mut String, r: &Report) {
    h.push_str("<table><tr><th>class</th><th>events</th><th>detected</th><th>sensitivity %</th><th>95 % interval</th><th>alarms</th><th>PPV %</th><th>95 % interval</th><th>latency median ms</th></tr>\n");
    for (class, c) in [(Class::Air, &r.air), (Class::Clot, &r.clot)] {
        let name = class.as_str();
        let _ = writeln!(
            h,
            "<tr><td class=\"{name}\">{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.positives,
            c.detected,
            pct(c.sensitivity),
            c.sensitivity_ci95.percent(),
            c.alarms,
            pct(c.ppv),
            c.ppv_ci95.percent(),
            if c.latency_median_s.is_finite() {
                format!("{:.0}", 1e3 * c.latency_median_s)
            } else {
                "–".to_owned()
            }
        );
    }
    h.push_str("</table>\n");
    let m = &r.confusion;
    let _ = writeln!(
        h,
        "<table><tr><th>confusion</th><th>said air</th><th>said clot</th></tr>\
         <tr><td>true air</td><td>{}</td><td>{}</td></tr>\
         <tr><td>true clot</td><td>{}</td><td>{}</td></tr></table>\n\
         <p>Discrimination {} % (95 % interval {}); false alarms {:.2} per hour (95 % interval {}; {} on artifacts, {} on background).</p>",
        m[0][0],
        m[0][1],
        m[1][0],
        m[1][1],
        pct(r.discrimination),
        r.discrimination_ci95.percent(),
        r.false_alarms_per_hour,
        r.false_alarms_per_hour_ci95.rate(),
        r.false_alarms_on_artifacts,
        r.false_alarms_background
    );
    if !r.by_size.is_empty() {
        h.push_str("<table><tr><th>sensitivity by size</th><th>size</th><th>detected / events</th><th>%</th></tr>\n");
        for b in &r.by_size {
            let _ = writeln!(
                h,
                "<tr><td class=\"{0}\">{0}</td><td>{1}</td><td>{2} / {3}</td><td>{4}</td></tr>",
                esc(&b.class),
                esc(&b.bin),
                b.detected,
                b.positives,
                pct(b.sensitivity)
            );
        }
        h.push_str("</table>\n");
    }
}
