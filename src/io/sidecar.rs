//! The sidecar `NAME.json`: line geometry and settings.

use std::path::Path;

use serde_json::{Map, Value};

use super::{write_atomic, Error};
use crate::line::LineGeometry;

/// The contents of a recording's `NAME.json` that the detector uses. Every key is optional,
/// unknown keys are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sidecar {
    /// The spec keys (`spacing_mm`, `tube_id_mm`, `flow_ml_min`, `carrier_hz`, `angle_deg`).
    pub line: LineGeometry,
}

/// A spec key, the check its value must pass, and the words for that check.
type Key = (&'static str, fn(f64) -> bool, &'static str);

/// The spec keys.
const KEYS: [Key; 5] = [
    ("spacing_mm", |x| x.is_finite(), "a finite number"),
    (
        "tube_id_mm",
        |x| x.is_finite() && x > 0.0,
        "a positive number",
    ),
    (
        "flow_ml_min",
        |x| x.is_finite() && x >= 0.0,
        "a non-negative number",
    ),
    (
        "carrier_hz",
        |x| x.is_finite() && x > 0.0,
        "a positive number",
    ),
    (
        "angle_deg",
        |x| x.is_finite() && (0.0..90.0).contains(&x),
        "a number in 0..90",
    ),
];

fn field<'a>(line: &'a mut LineGeometry, key: &str) -> &'a mut Option<f32> {
    match key {
        "spacing_mm" => &mut line.spacing_mm,
        "tube_id_mm" => &mut line.tube_id_mm,
        "flow_ml_min" => &mut line.flow_ml_min,
        "carrier_hz" => &mut line.carrier_hz,
        _ => &mut line.angle_deg,
    }
}

/// Reads a sidecar. A missing key (or `null`) is `None`; a key of the wrong type or out of
/// range is an error naming the file and the key; unknown keys are ignored.
pub fn read_sidecar(path: &Path) -> Result<Sidecar, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |problem: String| Error::Json {
        path: path.into(),
        problem,
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(bad("the top level is not an object".into()));
    };
    let mut line = LineGeometry::default();
    for (key, ok, words) in KEYS {
        match map.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_f64() {
                Some(x) if ok(x) => *field(&mut line, key) = Some(x as f32),
                _ => return Err(bad(format!("\"{key}\" is {v}, expected {words}"))),
            },
        }
    }
    Ok(Sidecar { line })
}

/// Writes a sidecar with the keys that are known, atomically.
pub fn write_sidecar(path: &Path, sidecar: &Sidecar) -> Result<(), Error> {
    write_sidecar_with_extra(path, sidecar, Map::new())
}

/// Writes a sidecar plus extra keys (e.g. the simulator's `"simulator": {..}` ground truth),
/// atomically. Spec keys win over extra keys of the same name.
pub fn write_sidecar_with_extra(
    path: &Path,
    sidecar: &Sidecar,
    extra: Map<String, Value>,
) -> Result<(), Error> {
    let mut map = extra;
    let mut line = sidecar.line;
    for (key, _, _) in KEYS {
        if let Some(x) = *field(&mut line, key) {
            map.insert(key.into(), round_json(f64::from(x)));
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(map)).map_err(|e| Error::Json {
        path: path.into(),
        problem: e.to_string(),
    })?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    })
}

/// An `f32` as the shortest decimal that reads back to the same `f32`, so that files say
/// `4.2`, not `4.199999809265137`.
fn round_json(x: f64) -> Value {
    let short: f64 = format!("{}", x as f32).parse().unwrap_or(x);
    serde_json::Number::from_f64(short).map_or(Value::Null, Value::Number)
}
