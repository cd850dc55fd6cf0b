//! The line simulator: labelled optical and Doppler recordings of air, clots and artifacts.
