//! One event as a row of `clotair detect`'s events CSV (shared/spec/recordings.md), written
//! with `core::fmt` only so that the firmware and the host runner print with the same code.
//!
//! Times are the integer µs of [`Event`] printed as seconds with 6 decimals, exactly, without
//! floating point; features print as the hexadecimal bit pattern of the f32 (`0x41200000` is
//! 10.0: exact, and integer formatting only, so that the 16 KiB of `core::fmt`'s float printing
//! stay out of the firmware's flash, as a device's binary event message would), and NaN (a
//! sensor that did not see the event) as an empty cell. The host runner's `compare` reads both
//! this and the CLI's decimals.

use core::fmt::{self, Write};

use clotair::event::Event;

/// The header row.
pub const HEADER: &str =
    "class,start_s,end_s,detected_s,confidence,sensor,ebr_db,duration_ms,peak_hz,optical_delta,volume_ul,fault,cumulative_ul,air_limit";

struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

struct Cell(f32);

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_nan() {
            Ok(())
        } else {
            write!(f, "0x{:08x}", self.0.to_bits())
        }
    }
}

/// Writes one row, without the line end.
pub fn write_row(w: &mut impl Write, e: &Event) -> fmt::Result {
    let x = &e.features;
    write!(
        w,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        e.class.as_str(),
        Seconds(e.start_us),
        Seconds(e.end_us),
        Seconds(e.detected_us),
        Cell(e.confidence),
        e.sensor.as_str(),
        Cell(x.ebr_db),
        Cell(x.duration_ms),
        Cell(x.peak_hz),
        Cell(x.optical_delta),
        Cell(x.volume_ul),
        e.fault.map_or("", |k| k.as_str()),
        Cell(x.cumulative_ul),
        e.air_limit.map_or("", |l| l.as_str()),
    )
}
