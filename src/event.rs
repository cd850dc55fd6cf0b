//! What the detector reports: one [`Event`] per detected air, clot, artifact or sensor fault.

/// The class of a detected event. Only [`Class::Air`] and [`Class::Clot`] are alarms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Gas: a microbubble, a shower or a slug.
    Air,
    /// A solid embolus: fibrin or cell aggregate, tissue debris.
    Clot,
    /// A disturbance that is not an embolus: knock, diathermy, speckle peak, light change.
    Artifact,
    /// The sensor cannot be trusted: loss of coupling, saturation, flat line, NaN.
    Fault,
}

impl Class {
    /// The word used in the CSV formats.
    pub const fn as_str(self) -> &'static str {
        match self {
            Class::Air => "air",
            Class::Clot => "clot",
            Class::Artifact => "artifact",
            Class::Fault => "fault",
        }
    }

    /// Parses the CSV word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "air" => Some(Class::Air),
            "clot" => Some(Class::Clot),
            "artifact" => Some(Class::Artifact),
            "fault" => Some(Class::Fault),
            _ => None,
        }
    }

    /// Whether this class raises an alarm.
    pub const fn is_alarm(self) -> bool {
        matches!(self, Class::Air | Class::Clot)
    }
}

/// Which sensor(s) saw an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sensor {
    /// The Doppler ultrasound sensor (downstream).
    Ultrasound,
    /// The optical transmission sensor (upstream).
    Optical,
    /// Both sensors, paired by the transit delay.
    Both,
}

impl Sensor {
    /// The word used in the CSV formats.
    pub const fn as_str(self) -> &'static str {
        match self {
            Sensor::Ultrasound => "ultrasound",
            Sensor::Optical => "optical",
            Sensor::Both => "both",
        }
    }

    /// Parses the CSV word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "ultrasound" => Some(Sensor::Ultrasound),
            "optical" => Some(Sensor::Optical),
            "both" => Some(Sensor::Both),
            _ => None,
        }
    }
}

/// Why a sensor is reported as faulty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Ultrasound signal power far below its running level: the probe lost acoustic coupling.
    LossOfCoupling,
    /// Samples stuck at full scale.
    Saturation,
    /// No variation at all: a dead channel or a disconnected sensor.
    FlatLine,
    /// NaN or infinite samples.
    NotANumber,
    /// The blood's Doppler signal turns the reverse way for seconds: the probe is clamped on
    /// against the flow, I and Q are swapped, or the line runs backwards. The detector looks
    /// for emboli travelling forward (positive Doppler frequencies, as the recording format
    /// defines them), so it is blind to them until this is put right.
    ReversedFlow,
    /// Something other than an embolus clips the ultrasound receiver for
    /// [`crate::detect::ultrasound::OVERLOAD_MIN_S`] or longer (see
    /// [`crate::detect::ultrasound::BLOOD_CLIP_SHARE`]): a diathermy burst, or the blood's
    /// own echo after a haematocrit change or with too much receiver gain. An embolus under
    /// 30 dB EBR is not told from the clipped signal then, so the ultrasound is half blind
    /// until it falls back.
    Overload,
    /// The sensor's recording ends more than [`STREAM_END_GAP_S`] before the other's: from
    /// there on only the other sensor watched the line. Reported by the batch runner
    /// (`run::detect_recording`), which knows where each file ends; a device's streams do
    /// not end.
    StreamEnded,
    /// The optical readings stand below zero, where no light can be (the contract's reading
    /// is `gain · exp(…)`, darkness at 0): the chain's zero is not darkness, as with an
    /// offset-binary converter or a bipolar scale. Every relative change of the light would be
    /// read with the wrong size and sign, so the optical sensor is not watched until it reads
    /// at or over zero again (see [`crate::detect::faults::NEGATIVE_HOLD_BLOCKS`]).
    NegativeLight,
}

/// Streams of one recording whose ends are further apart than this (s) are reported as a
/// [`FaultKind::StreamEnded`] on the shorter one: more than the few samples two recorders
/// started together may differ by, less than the shortest loss of coupling reported.
pub const STREAM_END_GAP_S: f64 = 1.0;

impl FaultKind {
    /// A short word for the `fault` column of the events CSV.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::LossOfCoupling => "loss_of_coupling",
            FaultKind::Saturation => "saturation",
            FaultKind::FlatLine => "flat_line",
            FaultKind::NotANumber => "nan",
            FaultKind::ReversedFlow => "reversed_flow",
            FaultKind::Overload => "overload",
            FaultKind::StreamEnded => "stream_ended",
            FaultKind::NegativeLight => "negative_light",
        }
    }

    /// Every kind, in the order of the enum.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::LossOfCoupling,
        FaultKind::Saturation,
        FaultKind::FlatLine,
        FaultKind::NotANumber,
        FaultKind::ReversedFlow,
        FaultKind::Overload,
        FaultKind::StreamEnded,
        FaultKind::NegativeLight,
    ];

    /// Parses the word of the `fault` column.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// An air limit reached by an air event (infusion and bypass safety logic alarm on both the
/// single bubble and the air accumulated over a window).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AirLimit {
    /// The bubble alone is at or above the single-bubble limit.
    Single,
    /// The air accumulated over the window is at or above the cumulative limit.
    Cumulative,
    /// Both.
    Both,
}

impl AirLimit {
    /// The word written in the `air_limit` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            AirLimit::Single => "single",
            AirLimit::Cumulative => "cumulative",
            AirLimit::Both => "single+cumulative",
        }
    }

    /// The limit a word of the `air_limit` column names, as [`Self::as_str`] writes it.
    pub fn parse(word: &str) -> Option<Self> {
        [AirLimit::Single, AirLimit::Cumulative, AirLimit::Both]
            .into_iter()
            .find(|l| l.as_str() == word)
    }

    /// Whether the single-bubble limit is among those reached.
    pub const fn single(self) -> bool {
        matches!(self, AirLimit::Single | AirLimit::Both)
    }

    /// Whether the cumulative limit is among those reached.
    pub const fn cumulative(self) -> bool {
        matches!(self, AirLimit::Cumulative | AirLimit::Both)
    }
}

/// One detected event. Times are integer microseconds of stream time from t = 0, so that no
/// floating-point time arithmetic is needed on the device and hours of signal keep µs precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// What it is.
    pub class: Class,
    /// Where the event starts, at the sensor that saw it first.
    pub start_us: u64,
    /// Where it ends, at that same sensor.
    pub end_us: u64,
    /// The stream time at which the detector emitted it: the alarm time.
    pub detected_us: u64,
    /// 0..1.
    pub confidence: f32,
    /// Which sensor(s) saw it.
    pub sensor: Sensor,
    /// The features behind the decision.
    pub features: Features,
    /// For [`Class::Fault`], which fault.
    pub fault: Option<FaultKind>,
    /// For air, the air limit this event reaches, if any.
    pub air_limit: Option<AirLimit>,
    /// An air event that follows a slug's alarm once the slug has passed the optical sensor:
    /// its start is the alarm's, its end the slug's rear, its volume the whole slug's (see
    /// [`crate::detect::optical::OptPassage`]).
    pub passage: bool,
    /// A fault's end: a [`Class::Fault`] row that follows the one that reported the fault's
    /// start, once the sensor reads again (or its stream ended); its start is that row's,
    /// its end where the fault ended. Written `cleared` = 1.
    pub cleared: bool,
    /// Everything the classifier saw (see [`crate::detect::classify::FEATURE_NAMES`]); NaN
    /// where a sensor did not see the event. Kept for training and for review.
    pub classifier_input: crate::detect::classify::FeatureVector,
}

impl Event {
    /// A sensor fault of `kind` from `start_us` to `end_us`, reported at `detected_us`.
    pub fn fault(
        sensor: Sensor,
        kind: FaultKind,
        start_us: u64,
        end_us: u64,
        detected_us: u64,
    ) -> Self {
        Event {
            class: Class::Fault,
            start_us,
            end_us,
            detected_us,
            confidence: 1.0,
            sensor,
            features: Features::UNKNOWN,
            fault: Some(kind),
            air_limit: None,
            passage: false,
            cleared: false,
            classifier_input: [f32::NAN; crate::detect::classify::N_FEATURES],
        }
    }
}

/// Features measured on an event; NaN where a sensor did not see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features {
    /// Embolus-to-blood ratio on the Doppler signal.
    pub ebr_db: f32,
    /// Event duration at the sensor that saw it first.
    pub duration_ms: f32,
    /// Doppler frequency of the strongest bin (positive: forward flow).
    pub peak_hz: f32,
    /// Relative change of optical transmission (positive: more light, as air gives).
    pub optical_delta: f32,
    /// Estimated gas volume, for air.
    pub volume_ul: f32,
    /// Air accumulated over the sliding window up to and including this event, for air.
    pub cumulative_ul: f32,
}

impl Features {
    /// All features unknown.
    pub const UNKNOWN: Features = Features {
        ebr_db: f32::NAN,
        duration_ms: f32::NAN,
        peak_hz: f32::NAN,
        optical_delta: f32::NAN,
        volume_ul: f32::NAN,
        cumulative_ul: f32::NAN,
    };
}
