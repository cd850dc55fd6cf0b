//! Runs the whole detector over the bench recording for a profiler (`perf record`).
//!
//!     cargo build --release --example profile_detector
//!     perf record -g target/release/examples/profile_detector [SECONDS] [REPEATS] [us|opt|both]
#[path = "../benches/support/mod.rs"]
mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u32 = args.get(1).map_or(60, |s| s.parse().expect("SECONDS"));
    let repeats: usize = args.get(2).map_or(5, |s| s.parse().expect("REPEATS"));
    let which = args.get(3).map_or("both", String::as_str);
    let t = support::bench_trace(seconds);
    let (iq, opt): (&[f32], &[f32]) = match which {
        "us" => (&t.iq, &[]),
        "opt" => (&[], &t.optical),
        _ => (&t.iq, &t.optical),
    };
    let c0 = support::cpu_time_s();
    let mut events = 0;
    for _ in 0..repeats {
        events = support::detect_in_memory(iq, opt, t.line);
    }
    let cpu = (support::cpu_time_s() - c0) / repeats as f64;
    println!(
        "{which}: {events} events, {:.0}x real time ({:.3} s CPU per {seconds} s)",
        t.duration_s() / cpu,
        cpu
    );
}
