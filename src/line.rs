//! Line geometry and settings: the optional keys of a recording's sidecar `NAME.json`.

/// What is known about the blood line and the sensors; every field is optional because the
/// sidecar file and each of its keys are (see `shared/spec/recordings.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineGeometry {
    /// Distance along the tube from the optical to the ultrasound sensor, positive when the
    /// optical sensor is upstream.
    pub spacing_mm: Option<f32>,
    /// Tube inner diameter.
    pub tube_id_mm: Option<f32>,
    /// Nominal pump flow: a setting, may be off by ±10 %.
    pub flow_ml_min: Option<f32>,
    /// Ultrasound carrier frequency.
    pub carrier_hz: Option<f32>,
    /// Insonation angle between the beam and the flow.
    pub angle_deg: Option<f32>,
}

impl LineGeometry {
    /// Mean flow velocity v = Q / (π d² / 4) in m/s, when both flow and tube diameter are known.
    pub fn mean_velocity_m_s(&self) -> Option<f32> {
        let q_ml_min = self.flow_ml_min?;
        let d_mm = self.tube_id_mm?;
        if !(q_ml_min > 0.0 && d_mm > 0.0) {
            return None;
        }
        let q_m3_s = q_ml_min * 1e-6 / 60.0;
        let d_m = d_mm * 1e-3;
        Some(q_m3_s / (core::f32::consts::PI * d_m * d_m / 4.0))
    }
}
