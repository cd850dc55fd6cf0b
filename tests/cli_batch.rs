//! `clotair detect` as a batch tool: broken inputs named and the rest finished, `--resume`,
//! `--shard`, `--manifest`, `--json` and `--quiet`, on copies of `data/regression`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clotair::io::{write_wav, SampleFormat, WavStream};

fn clotair(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clotair"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn regression() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/regression")
}

/// Copies every file of recording `name` from `data/regression` into `dir`.
fn copy_recording(name: &str, dir: &Path) {
    for entry in std::fs::read_dir(regression()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.starts_with(&format!("{name}.")) {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
}

/// A temporary folder holding `set/`, a copy of the named recordings of `data/regression`.
fn set_of(names: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    for name in names {
        copy_recording(name, &set);
    }
    (dir, set)
}

/// The `--json` summary on stdout.
fn summary(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(o)))
}

/// Names in the summary with the given status.
fn names(s: &serde_json::Value, status: &str) -> BTreeSet<String> {
    s["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn broken_recordings_are_named_and_the_good_ones_finish() {
    // Truncated: the header announces more frames than the data holds.
    let (dir, set) = set_of(&["sim0000", "sim0002"]);
    let wav = std::fs::read(regression().join("sim0001.ultrasound.wav")).unwrap();
    std::fs::write(set.join("cut.ultrasound.wav"), &wav[..wav.len() / 2]).unwrap();
    // Not a WAV at all.
    std::fs::write(
        set.join("junk.optical.wav"),
        b"these are not the bytes of a WAV",
    )
    .unwrap();
    // Three channels where an optical WAV has one or two.
    write_wav(
        &set.join("three.optical.wav"),
        3,
        1000,
        SampleFormat::Int16,
        &[0.1; 3000],
    )
    .unwrap();
    let out = dir.path().join("out");

    let o = clotair(&[
        "detect",
        s(&set),
        "--out",
        s(&out),
        "--json",
        "--threads",
        "2",
        "--report",
        s(&dir.path().join("report")),
    ]);
    let all = text(&o);
    assert!(
        !o.status.success(),
        "broken inputs must fail the run: {all}"
    );
    assert!(!all.contains("panicked"), "{all}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    for (file, reason) in [
        ("cut.ultrasound.wav", "truncated"),
        ("junk.optical.wav", "not a WAV"),
        ("three.optical.wav", "3 channels"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not named on stderr: {stderr}"));
        assert!(
            line.contains(reason),
            "{file}: reason {reason} missing: {line}"
        );
    }
    for good in ["sim0000", "sim0002"] {
        let events = std::fs::read_to_string(out.join(format!("{good}.events.csv"))).unwrap();
        assert!(
            events.starts_with("class,start_s,end_s,detected_s"),
            "{events}"
        );
        assert!(events.lines().count() > 1, "{good} has no events: {events}");
    }
    for bad in ["cut", "junk", "three"] {
        assert!(!out.join(format!("{bad}.events.csv")).exists(), "{bad}");
    }
    let json = summary(&o);
    assert_eq!(
        names(&json, "ok"),
        BTreeSet::from(["sim0000".into(), "sim0002".into()])
    );
    assert_eq!(
        names(&json, "failed"),
        BTreeSet::from(["cut".into(), "junk".into(), "three".into()])
    );
    for r in json["recordings"].as_array().unwrap() {
        if r["status"] == "failed" {
            let reason = r["reason"].as_str().unwrap();
            assert!(reason.contains(r["name"].as_str().unwrap()), "{reason}");
        } else {
            assert!(r["signal_s"].as_f64().unwrap() > 29.0, "{r}");
        }
    }
    assert_eq!(json["totals"]["ok"], 2);
    assert_eq!(json["totals"]["failed"], 3);
    // The report shows the good recordings and names the broken ones.
    let html = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    assert!(html.contains("<h2>sim0000</h2>") && html.contains("<h2>sim0002</h2>"));
    assert!(
        html.contains("3 failed") && html.contains("truncated"),
        "{html}"
    );
}

#[test]
fn recordings_with_the_same_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        copy_recording("sim0006", &dir.path().join(sub));
    }
    let out = dir.path().join("out");
    let o = clotair(&[
        "detect",
        s(&dir.path().join("a")),
        s(&dir.path().join("b")),
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("same name")
            && stderr.contains(&format!("b{}sim0006", std::path::MAIN_SEPARATOR)),
        "{stderr}"
    );
    assert!(out.join("sim0006.events.csv").is_file());
}

#[test]
fn resume_skips_finished_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    for name in ["sim0001", "sim0002", "sim0006"] {
        copy_recording(name, &set);
    }
    let out = dir.path().join("out");
    let run = |resume: bool| {
        let mut args = vec!["detect", s(&set), "--out", s(&out), "--json"];
        if resume {
            args.push("--resume");
        }
        let o = clotair(&args);
        assert!(o.status.success(), "{}", text(&o));
        summary(&o)
    };
    let first = run(false);
    assert_eq!(first["totals"]["ok"], 3);
    // sim0002's slug passes the optical beam: its passage row is counted apart from the air
    // alarms (and read back from the file below, when skipped).
    assert_eq!(first["totals"]["events"]["passages"], 1, "{first}");
    let finished = out.join("sim0002.events.csv");
    let mtime = std::fs::metadata(&finished).unwrap().modified().unwrap();
    let content = std::fs::read(&finished).unwrap();

    let again = run(true);
    assert_eq!(again["totals"]["ok"], 0, "{again}");
    assert_eq!(again["totals"]["skipped"], 3, "{again}");
    // Skipped recordings still report their counts, read from the finished files.
    assert_eq!(again["totals"]["events"], first["totals"]["events"]);
    assert_eq!(
        std::fs::metadata(&finished).unwrap().modified().unwrap(),
        mtime
    );
    assert_eq!(std::fs::read(&finished).unwrap(), content);

    // A missing output is redone, the others are not.
    std::fs::remove_file(out.join("sim0006.events.csv")).unwrap();
    let partial = run(true);
    assert_eq!(names(&partial, "ok"), BTreeSet::from(["sim0006".into()]));
    assert_eq!(partial["totals"]["skipped"], 2);
    assert!(out.join("sim0006.events.csv").is_file());

    // Without --resume everything is redone.
    assert_eq!(run(false)["totals"]["ok"], 3);

    // Resuming with other detector settings would mix events of two settings: refused,
    // naming the settings file, and nothing is written.
    let o = clotair(&[
        "detect",
        s(&set),
        "--out",
        s(&out),
        "--resume",
        "--us-on-db",
        "12",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("clotair-settings.txt"), "{}", text(&o));
    assert!(text(&o).contains("other detector settings"), "{}", text(&o));
    assert_eq!(std::fs::read(&finished).unwrap(), content);
    // How recordings are cut is not a setting of the events: resuming with another cut is fine.
    let o = clotair(&[
        "detect",
        s(&set),
        "--out",
        s(&out),
        "--resume",
        "--segment-s",
        "0",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn shards_cover_the_set_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    let all: BTreeSet<String> = ["sim0000", "sim0001", "sim0002", "sim0005", "sim0006"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    for name in &all {
        copy_recording(name, &set);
    }
    // The manifest lists base paths, relative to its own directory, with comments.
    let manifest = dir.path().join("manifest.txt");
    let mut listing = String::from("# five recordings\n\n");
    for name in &all {
        listing.push_str(&format!("set/{name}\n"));
    }
    std::fs::write(&manifest, listing).unwrap();

    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = dir.path().join(format!("out{}", &shard[..1]));
        let o = clotair(&[
            "detect",
            "--manifest",
            s(&manifest),
            "--shard",
            shard,
            "--out",
            s(&out),
            "--json",
        ]);
        assert!(o.status.success(), "{shard}: {}", text(&o));
        let json = summary(&o);
        assert_eq!(json["shard"], shard);
        let ok = names(&json, "ok");
        assert!(!ok.is_empty(), "shard {shard} is empty");
        for name in &ok {
            assert!(out.join(format!("{name}.events.csv")).is_file(), "{name}");
        }
        let events_files = std::fs::read_dir(&out)
            .unwrap()
            .filter(|f| {
                let name = f.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".events.csv")
            })
            .count();
        assert_eq!(
            events_files,
            ok.len(),
            "shard {shard} wrote only its own recordings"
        );
        seen.extend(ok);
    }
    let covered: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(covered, all);
    assert_eq!(seen.len(), all.len(), "a recording was in both shards");
}

#[test]
fn bad_shard_and_manifest_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = clotair(&[
        "detect",
        s(&regression()),
        "--shard",
        "3/2",
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("3/2"), "{}", text(&o));

    let manifest = dir.path().join("list.txt");
    std::fs::write(&manifest, "# only a comment\n").unwrap();
    let o = clotair(&["detect", "--manifest", s(&manifest), "--out", s(&out)]);
    assert!(!o.status.success());
    assert!(text(&o).contains("list.txt"), "{}", text(&o));

    std::fs::write(&manifest, "nowhere/rec\n").unwrap();
    let o = clotair(&["detect", "--manifest", s(&manifest), "--out", s(&out)]);
    assert!(!o.status.success());
    assert!(text(&o).contains("nowhere/rec"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn table_by_default_nothing_when_quiet() {
    let (dir, set) = set_of(&["sim0006"]);
    let out = dir.path().join("out");
    let o = clotair(&["detect", s(&set), "--out", s(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let header = stdout.lines().next().unwrap();
    for column in [
        "name", "hours", "air", "clot", "artifact", "fault", "status",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("sim0006") && l.ends_with("ok")),
        "{stdout}"
    );

    let o = clotair(&["detect", s(&set), "--out", s(&out), "--quiet"]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", text(&o));
}

/// The summary names each fault kind found, the recordings that reported it and what to
/// check; `--json` counts them by kind, also for recordings that `--resume` reads back.
#[test]
fn faults_are_named_by_kind_with_what_to_check() {
    // sim0005 loses its coupling at 20 s; sim0006 reports no fault.
    // sim0001 with I and Q swapped: the blood turns the reverse way. sim0000's light on an
    // offset-binary scale (`2x − 1`): darkness at −1, the blood's light under zero.
    let (dir, set) = set_of(&["sim0005", "sim0006"]);
    let mut wav = WavStream::open(&regression().join("sim0000.optical.wav")).unwrap();
    let (rate, channels) = (wav.info().sample_rate_hz, wav.info().channels);
    let light: Vec<f32> = wav
        .read_to_end()
        .unwrap()
        .into_iter()
        .map(|x| 2.0 * x - 1.0)
        .collect();
    write_wav(
        &set.join("offset.optical.wav"),
        channels,
        rate,
        SampleFormat::Int16,
        &light,
    )
    .unwrap();
    let mut wav = WavStream::open(&regression().join("sim0001.ultrasound.wav")).unwrap();
    let rate = wav.info().sample_rate_hz;
    let mut iq = wav.read_to_end().unwrap();
    for frame in iq.chunks_exact_mut(2) {
        frame.swap(0, 1);
    }
    write_wav(
        &set.join("swapped.ultrasound.wav"),
        2,
        rate,
        SampleFormat::Int16,
        &iq,
    )
    .unwrap();
    let out = dir.path().join("out");

    let o = clotair(&["detect", s(&set), "--out", s(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = |kind: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("fault {kind}:")))
            .unwrap_or_else(|| panic!("no line for {kind}: {stdout}"))
            .to_owned()
    };
    assert!(
        line("loss_of_coupling")
            .starts_with("fault loss_of_coupling: 1 in 1 recording (sim0005): "),
        "{stdout}"
    );
    let reversed = line("reversed_flow");
    assert!(
        reversed.starts_with("fault reversed_flow: 1 in 1 recording (swapped): ")
            && reversed.contains("I and Q are swapped"),
        "{reversed}"
    );
    let offset = line("negative_light");
    assert!(
        offset.starts_with("fault negative_light: 1 in 1 recording (offset): ")
            && offset.contains("darkness"),
        "{offset}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("fault ")).count(),
        3
    );

    let o = clotair(&["detect", s(&set), "--out", s(&out), "--resume", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let json = summary(&o);
    assert_eq!(names(&json, "skipped").len(), 4);
    assert_eq!(
        json["totals"]["events"]["faults"],
        serde_json::json!({"loss_of_coupling": 1, "negative_light": 1, "reversed_flow": 1})
    );
    for r in json["recordings"].as_array().unwrap() {
        let faults = r["events"]["faults"].as_object().unwrap();
        assert_eq!(faults.len(), usize::from(r["name"] != "sim0006"), "{r}");
    }
}

/// A float WAV holding NaN or inf fails its recording, naming the frame; with
/// `--nan-as-fault` the detector reports each stretch as a `nan` fault and recovers: every
/// other event is the clean file's, byte for byte.
#[test]
fn nan_samples_fail_a_recording_unless_read_as_faults() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, dirty) = (dir.path().join("clean"), dir.path().join("dirty"));
    let mut wav = WavStream::open(&regression().join("sim0000.ultrasound.wav")).unwrap();
    let rate = wav.info().sample_rate_hz;
    let iq = wav.read_to_end().unwrap();
    let mut spoilt = iq.clone();
    let frame = |t: f64| (t * f64::from(rate)) as usize * 2;
    spoilt[frame(10.0)..frame(10.1)]
        .iter_mut()
        .step_by(2)
        .for_each(|x| *x = f32::NAN);
    spoilt[frame(20.0) + 1] = f32::INFINITY;
    for (set, samples) in [(&clean, &iq), (&dirty, &spoilt)] {
        std::fs::create_dir(set).unwrap();
        copy_recording("sim0000", set);
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(set.join("sim0000.ultrasound.wav"), spec).unwrap();
        samples.iter().for_each(|&x| w.write_sample(x).unwrap());
        w.finalize().unwrap();
    }
    let events = |set: &Path, flag: Option<&str>| {
        let out = dir.path().join(format!("out-{}", flag.is_some()));
        let mut args = vec!["detect", s(set), "--out", s(&out), "--quiet"];
        args.extend(flag);
        let o = clotair(&args);
        (
            o.status.success(),
            text(&o),
            std::fs::read_to_string(out.join("sim0000.events.csv")),
        )
    };

    let (ok, said, written) = events(&dirty, None);
    assert!(!ok && written.is_err(), "{said}");
    assert!(
        said.contains("sim0000.ultrasound.wav: non-finite sample NaN at frame 80000"),
        "{said}"
    );

    let (ok, said, expected) = events(&clean, None);
    assert!(ok, "{said}");
    let (ok, said, got) = events(&dirty, Some("--nan-as-fault"));
    assert!(ok, "{said}");
    let (expected, got) = (expected.unwrap(), got.unwrap());
    let (faults, rest): (Vec<&str>, Vec<&str>) = got.lines().partition(|l| l.contains(",nan,"));
    // A fault's end (`cleared` = 1, the last column) may move by a sample: the stretch's
    // zeros weigh in the coupling monitor's running power for a while.
    let ends = |lines: Vec<&str>| -> (Vec<String>, Vec<String>) {
        lines
            .into_iter()
            .map(|l| l.to_owned())
            .partition(|l| !l.ends_with(",1"))
    };
    let (rest, rest_ends) = ends(rest);
    let (expected, expected_ends) = ends(expected.lines().collect());
    assert_eq!(rest, expected);
    assert_eq!(rest_ends.len(), expected_ends.len());
    for (a, b) in rest_ends.iter().zip(&expected_ends) {
        let end = |l: &str| l.split(',').nth(2).unwrap().parse::<f64>().unwrap();
        assert!((end(a) - end(b)).abs() <= 0.001, "{a} against {b}");
    }
    // Each stretch: the row of its start, and of its end, where the samples are finite again.
    let spans: Vec<(&str, &str)> = faults
        .iter()
        .map(|l| {
            let mut f = l.split(',').skip(1);
            (f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("10.000000", "10.000125"),
            ("10.000000", "10.100000"),
            ("20.000000", "20.000125"),
            ("20.000000", "20.000125")
        ],
        "{got}"
    );
}

/// A WAV whose header states no data length (a recorder that did not close it) gives the
/// events of the finished file, and the summary says how it was read.
#[test]
fn an_unfinished_wav_is_read_to_its_end_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let (done, open) = (dir.path().join("done"), dir.path().join("open"));
    for set in [&done, &open] {
        std::fs::create_dir(set).unwrap();
        copy_recording("sim0005", set);
    }
    let wav = open.join("sim0005.ultrasound.wav");
    let mut bytes = std::fs::read(&wav).unwrap();
    let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
    bytes[at..at + 4].copy_from_slice(&[0; 4]);
    std::fs::write(&wav, bytes).unwrap();
    let run = |set: &Path| {
        let out = set.join("out");
        let o = clotair(&["detect", s(set), "--out", s(&out), "--json"]);
        assert!(o.status.success(), "{}", text(&o));
        let events = std::fs::read_to_string(out.join("sim0005.events.csv")).unwrap();
        (
            summary(&o),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            events,
        )
    };
    let (json, said, events) = run(&open);
    let (json_done, _, events_done) = run(&done);
    assert_eq!(events, events_done);
    let notes = json["recordings"][0]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{json}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains("sim0005.ultrasound.wav: the header states no data length")
            && note.contains("read the 30.0 s"),
        "{note}"
    );
    assert!(said.contains(&format!("note: {note}")), "{said}");
    assert_eq!(json_done["recordings"][0]["notes"], serde_json::json!([]));
}

/// Thresholds the detector would refuse are named with their flag before any recording is
/// read, by `detect` and by `eval` alike, and nothing is written.
#[test]
fn bad_thresholds_are_named_before_any_recording() {
    let (dir, set) = set_of(&["sim0006"]);
    let out = dir.path().join("out");
    for (flags, said) in [
        (&["--opt-on-sigma", "0"][..], "--opt-on-sigma 0: must be"),
        (
            &["--us-on-db", "-5"][..],
            "--us-off-db 5 (the default) is above --us-on-db -5",
        ),
        (&["--us-off-db", "nan"][..], "the thresholds must be finite"),
    ] {
        for command in ["detect", "eval"] {
            let mut args = vec![command, s(&set), "--out", s(&out)];
            args.extend(flags);
            let o = clotair(&args);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{command} {flags:?}");
            assert!(
                stderr.starts_with("error: ")
                    && stderr.contains(said)
                    && stderr.lines().count() == 1,
                "{command} {flags:?}: {stderr}"
            );
            assert!(!out.join("sim0006.events.csv").exists());
        }
    }
}

/// `--segment-s` cuts a recording into parallel segments and writes the same events file,
/// byte for byte, as one stream (`--segment-s 0`); a warm-up below the detector's memory is
/// refused with a message naming the flag.
#[test]
fn segments_write_the_events_of_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = clotair(&[
        "simulate",
        "--out",
        s(&data),
        "--seed",
        "31",
        "--count",
        "1",
        "--minutes",
        "1.5",
        "--preset",
        "dense",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut files = Vec::new();
    for (name, segment) in [("whole", "0"), ("cut", "20")] {
        let out = dir.path().join(name);
        let o = clotair(&[
            "detect",
            s(&data),
            "--out",
            s(&out),
            "--json",
            "--segment-s",
            segment,
            "--warmup-s",
            "35",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let line = &summary(&o)["recordings"][0];
        let segments = line["segments"].as_u64().unwrap();
        assert_eq!(segments >= 2, name == "cut", "{line}");
        assert_eq!(line["rerun"], false);
        files.push(std::fs::read(out.join("sim0000.events.csv")).unwrap());
    }
    assert!(files[0].len() > 500, "too few events to compare");
    assert_eq!(files[0], files[1]);

    let o = clotair(&[
        "detect",
        s(&data),
        "--out",
        s(dir.path()),
        "--warmup-s",
        "10",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--warmup-s"), "{}", text(&o));
}
