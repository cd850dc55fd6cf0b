//! The `simulate` and `plot` subcommands end to end: files written, errors name the file,
//! exit codes non-zero, never a panic.

use std::path::Path;
use std::process::{Command, Output};

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

fn assert_fails_naming(o: &Output, what: &str) {
    let t = text(o);
    assert!(!o.status.success(), "should fail: {t}");
    assert!(t.contains(what), "message should name {what}: {t}");
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn simulate_then_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("set");
    let o = clotair(&[
        "simulate",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "9",
        "--count",
        "3",
        "--minutes",
        "0.2",
        "--preset",
        "regression",
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("wrote 3 recordings"), "{}", text(&o));
    // Regression preset: index 0 both sensors, 1 ultrasound only, 2 optical only.
    for f in [
        "sim0000.ultrasound.wav",
        "sim0000.optical.wav",
        "sim0000.json",
        "sim0000.labels.csv",
        "sim0001.ultrasound.wav",
        "sim0002.optical.wav",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(
        !out.join("sim0001.optical.wav").exists() && !out.join("sim0002.ultrasound.wav").exists()
    );

    // An events file to overlay, in the detector's format.
    let events = dir.path().join("sim0000.events.csv");
    std::fs::write(
        &events,
        "class,start_s,end_s,detected_s,confidence,sensor\nair,2.0,2.1,2.2,0.9,both\n",
    )
    .unwrap();
    for (rec, png) in [
        ("sim0000", "a.png"),
        ("sim0001.json", "b.png"),
        ("sim0002.optical.wav", "c.png"),
    ] {
        let png = dir.path().join(png);
        let r = out.join(rec);
        let o = clotair(&[
            "plot",
            r.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
            "--from",
            "1",
            "--to",
            "8",
            "--events",
            events.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}

#[test]
fn simulate_float32_and_int24() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["float32", "int24"] {
        let out = dir.path().join(format);
        let o = clotair(&[
            "simulate",
            "--out",
            out.to_str().unwrap(),
            "--count",
            "1",
            "--minutes",
            "0.05",
            "--preset",
            "dense",
            "--format",
            format,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let recs = clotair::io::discover(&[out]).unwrap();
        let wav = recs[0]
            .ultrasound
            .clone()
            .or(recs[0].optical.clone())
            .unwrap();
        let info = clotair::io::WavStream::open(&wav).unwrap().info();
        assert_eq!(info.format.as_str(), format);
    }
}

#[test]
fn simulate_bad_arguments_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let o = clotair(&[
        "simulate",
        "--out",
        dir.path().to_str().unwrap(),
        "--preset",
        "chaos",
    ]);
    assert_fails_naming(&o, "chaos");
    let o = clotair(&[
        "simulate",
        "--out",
        dir.path().to_str().unwrap(),
        "--minutes",
        "0",
    ]);
    assert_fails_naming(&o, "--minutes");
    let o = clotair(&[
        "simulate",
        "--out",
        dir.path().to_str().unwrap(),
        "--format",
        "int8",
    ]);
    assert_fails_naming(&o, "int8");
    for (flag, gain) in [
        ("--ultrasound-gain-db", "60"),
        ("--ultrasound-gain-db", "-50"),
        ("--ultrasound-gain-db", "NaN"),
        ("--optical-gain-db", "20"),
        ("--optical-gain-db", "-70"),
        ("--optical-gain-db", "inf"),
    ] {
        let o = clotair(&[
            "simulate",
            "--out",
            dir.path().to_str().unwrap(),
            flag,
            gain,
        ]);
        assert_fails_naming(&o, &format!("{flag} {gain}"));
    }
    // The output is a file, not a directory.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let o = clotair(&[
        "simulate",
        "--out",
        file.to_str().unwrap(),
        "--count",
        "1",
        "--minutes",
        "0.05",
    ]);
    assert_fails_naming(&o, "plain");
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn plot_bad_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = d.join("out.png");
    let png = png.to_str().unwrap();

    let o = clotair(&["plot", d.join("nothing").to_str().unwrap(), "--out", png]);
    assert_fails_naming(&o, "nothing");

    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = clotair(&["plot", empty.to_str().unwrap(), "--out", png]);
    assert_fails_naming(&o, "empty");

    write(&d.join("junk.ultrasound.wav"), b"RIFF1234WAVEjunkjunkjunk");
    let o = clotair(&["plot", d.join("junk").to_str().unwrap(), "--out", png]);
    assert_fails_naming(&o, "junk.ultrasound.wav");

    clotair::io::write_wav(
        &d.join("ok.optical.wav"),
        2,
        500,
        clotair::io::SampleFormat::Int16,
        &[0.1; 2000],
    )
    .unwrap();
    write(
        &d.join("ok.labels.csv"),
        b"class,start_s,end_s\nbubble,0.1,0.2\n",
    );
    let o = clotair(&["plot", d.join("ok").to_str().unwrap(), "--out", png]);
    assert_fails_naming(&o, "ok.labels.csv");
    std::fs::remove_file(d.join("ok.labels.csv")).unwrap();

    let o = clotair(&[
        "plot",
        d.join("ok").to_str().unwrap(),
        "--out",
        d.join("out.jpg").to_str().unwrap(),
    ]);
    assert_fails_naming(&o, "out.jpg");

    let o = clotair(&[
        "plot",
        d.join("ok").to_str().unwrap(),
        "--out",
        png,
        "--from",
        "50",
    ]);
    assert_fails_naming(&o, "ok");

    let o = clotair(&[
        "plot",
        d.join("ok").to_str().unwrap(),
        "--out",
        png,
        "--events",
        d.join("none.events.csv").to_str().unwrap(),
    ]);
    assert_fails_naming(&o, "none.events.csv");

    let o = clotair(&[
        "plot",
        d.join("ok").to_str().unwrap(),
        "--out",
        d.join("no/such/dir/x.png").to_str().unwrap(),
    ]);
    assert_fails_naming(&o, "x.png");

    // And the good case still works.
    let o = clotair(&["plot", d.join("ok").to_str().unwrap(), "--out", png]);
    assert!(o.status.success(), "{}", text(&o));
}
