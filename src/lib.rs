//! # clotair
//!
//! Streaming detection of **air** and **clots** in the blood line of an autotransfusion
//! (cell-salvage) machine, from a clamp-on optical sensor (red + near-IR transmission) and a
//! Doppler ultrasound sensor (quadrature I/Q).
//!
//! The folder layout follows the pipeline: signal in ([`io`]) → filters and spectra ([`dsp`])
//! → features, events, classes and alarms ([`detect`]). Without the default `std` feature the
//! crate is `#![no_std]` with no `alloc`: the DSP core and the detector, for device firmware.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

pub mod detect;
pub mod dsp;
pub mod event;
pub mod line;

#[cfg(feature = "std")]
pub mod batch;
#[cfg(feature = "std")]
pub mod cli;
#[cfg(feature = "std")]
pub mod eval;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "std")]
pub mod report;
#[cfg(feature = "std")]
pub mod run;
#[cfg(feature = "std")]
pub mod sim;
#[cfg(feature = "std")]
pub mod train;
