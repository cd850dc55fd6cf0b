//! WAV signals: a streaming reader that validates everything the spec allows, and an atomic
//! writer.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::atomic::with_temp_file;
use super::Error;

/// Lowest sample rate accepted (`recordings.md`: "any sample rate from 250 Hz to 96 kHz").
pub const MIN_SAMPLE_RATE_HZ: u32 = 250;
/// Highest sample rate accepted.
pub const MAX_SAMPLE_RATE_HZ: u32 = 96_000;

/// The sample encodings the format allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 16-bit signed integer PCM.
    Int16,
    /// 24-bit signed integer PCM.
    Int24,
    /// 32-bit IEEE float.
    Float32,
}

impl SampleFormat {
    /// Parses `int16`, `int24` or `float32`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "int16" => Some(SampleFormat::Int16),
            "int24" => Some(SampleFormat::Int24),
            "float32" => Some(SampleFormat::Float32),
            _ => None,
        }
    }

    /// The word [`SampleFormat::parse`] reads.
    pub const fn as_str(self) -> &'static str {
        match self {
            SampleFormat::Int16 => "int16",
            SampleFormat::Int24 => "int24",
            SampleFormat::Float32 => "float32",
        }
    }

    /// Full scale of the integer encodings, 2^(bits−1); 1 for float.
    const fn full_scale(self) -> f32 {
        match self {
            SampleFormat::Int16 => 32_768.0,
            SampleFormat::Int24 => 8_388_608.0,
            SampleFormat::Float32 => 1.0,
        }
    }
}

/// What a WAV header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavInfo {
    /// Interleaved channels.
    pub channels: u16,
    /// Frames per second.
    pub sample_rate_hz: u32,
    /// Frames (samples per channel) announced by the header.
    pub frames: u64,
    /// The sample encoding.
    pub format: SampleFormat,
}

impl WavInfo {
    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate_hz)
    }
}

/// The channel counts a file's role allows, in words, and the check.
type ChannelRule = (&'static str, fn(u16) -> bool);

/// Which channel counts a file's role allows, from its name.
fn expected_channels(path: &Path) -> Option<ChannelRule> {
    let name = path.file_name()?.to_string_lossy();
    if name.ends_with(".ultrasound.wav") {
        Some(("2 (I, Q) for an ultrasound WAV", |c| c == 2))
    } else if name.ends_with(".optical.wav") {
        Some(("1 or 2 (red, near-IR) for an optical WAV", |c| {
            c == 1 || c == 2
        }))
    } else {
        None
    }
}

/// A streaming reader of one WAV file: validates the header on [`WavStream::open`], then hands
/// out interleaved `f32` frames block by block, never holding more than its buffer in memory.
///
/// The channel count is checked against the file's role, read from its name:
/// `*.ultrasound.wav` must have 2 channels, `*.optical.wav` 1 or 2; any other name is accepted
/// with any count.
pub struct WavStream {
    path: PathBuf,
    info: WavInfo,
    source: Source,
    /// Frames handed out so far.
    frames_read: u64,
    /// Hand out NaN and infinite samples instead of failing the read.
    pass_nonfinite: bool,
    /// The header gave no data length and the file's was taken (see [`WavStream::open`]).
    length_from_file: bool,
}

/// A file read as it is, or through a header whose data length (the 4 bytes at the offset)
/// reads as the bytes given.
struct Patched {
    file: File,
    patch: Option<(u64, [u8; 4])>,
    pos: u64,
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let (from, to) = (self.pos, self.pos + n as u64);
        if let Some((at, bytes)) = self.patch {
            for (p, &b) in (at..at + 4).zip(&bytes) {
                if (from..to).contains(&p) {
                    buf[(p - from) as usize] = b;
                }
            }
        }
        self.pos = to;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// What a RIFF file's chunks state, read without hound: for a header hound reads wrong or
/// refuses without saying why.
#[derive(Default)]
struct Riff {
    /// Bytes per frame and bits per sample, from the fmt chunk.
    block_align: Option<u16>,
    bits: Option<u16>,
    /// The offset of the data chunk's length field, and the length it states.
    data: Option<(u64, u32)>,
}

/// Walks the chunks up to the data chunk (or as far as they lead).
fn riff_chunks(file: &mut File) -> Riff {
    let mut riff = Riff::default();
    let mut at = 12u64;
    let mut chunk = [0u8; 8];
    while file.seek(SeekFrom::Start(at)).is_ok() && file.read_exact(&mut chunk).is_ok() {
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match &chunk[..4] {
            b"data" => {
                riff.data = Some((at + 4, size));
                break;
            }
            b"fmt " => {
                let mut fmt = [0u8; 16];
                if file.read_exact(&mut fmt).is_ok() {
                    riff.block_align = Some(u16::from_le_bytes([fmt[12], fmt[13]]));
                    riff.bits = Some(u16::from_le_bytes([fmt[14], fmt[15]]));
                }
            }
            _ => {}
        }
        at += 8 + u64::from(size) + u64::from(size % 2);
    }
    riff
}

/// Where the samples come from after the header.
enum Source {
    /// hound's per-sample decoder (24-bit and float).
    Hound(hound::WavReader<BufReader<Patched>>),
    /// 16-bit PCM, the common case, read as raw little-endian bytes a block at a time and
    /// converted with `chunks_exact`: hound's per-sample iterator was a third of a detection
    /// run's time.
    Int16 {
        reader: BufReader<Patched>,
        bytes: Vec<u8>,
        /// Byte offset of the first sample.
        data_start: u64,
    },
}

impl std::fmt::Debug for WavStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("frames_read", &self.frames_read)
            .finish()
    }
}

impl WavStream {
    /// Opens and validates a WAV file: a readable RIFF/WAVE header, 16/24-bit int or 32-bit
    /// float samples, a rate in 250 Hz..96 kHz, and the channel count its name implies.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::NotWav {
                path: path.into(),
                reason: "it is a directory".into(),
            });
        }
        let (file, length_from_file) = with_data_length(file).map_err(|e| Error::io(path, e))?;
        let reader = hound::WavReader::new(BufReader::with_capacity(1 << 16, file))
            .map_err(|e| hound_error(path, e, 0, 0))?;
        let spec = reader.spec();
        let format = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 16) => SampleFormat::Int16,
            (hound::SampleFormat::Int, 24) => SampleFormat::Int24,
            (hound::SampleFormat::Float, 32) => SampleFormat::Float32,
            (kind, bits) => {
                let kind = if kind == hound::SampleFormat::Int {
                    "int"
                } else {
                    "float"
                };
                return Err(Error::SampleFormat {
                    path: path.into(),
                    bits,
                    kind,
                });
            }
        };
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&spec.sample_rate) {
            return Err(Error::SampleRate {
                path: path.into(),
                rate_hz: spec.sample_rate,
                min_hz: MIN_SAMPLE_RATE_HZ,
                max_hz: MAX_SAMPLE_RATE_HZ,
            });
        }
        if let Some((expected, ok)) = expected_channels(path) {
            if !ok(spec.channels) {
                return Err(Error::ChannelCount {
                    path: path.into(),
                    channels: spec.channels,
                    expected,
                });
            }
        }
        let info = WavInfo {
            channels: spec.channels,
            sample_rate_hz: spec.sample_rate,
            frames: u64::from(reader.duration()),
            format,
        };
        let source = if format == SampleFormat::Int16 {
            // hound has parsed the header and stands at the first sample of the data chunk.
            let mut reader = reader.into_inner();
            let data_start = reader.stream_position().map_err(|e| Error::io(path, e))?;
            Source::Int16 {
                reader,
                bytes: Vec::new(),
                data_start,
            }
        } else {
            Source::Hound(reader)
        };
        Ok(WavStream {
            path: path.into(),
            info,
            source,
            frames_read: 0,
            pass_nonfinite: false,
            length_from_file,
        })
    }

    /// Hands out NaN and infinite samples of a float file as they are, for a reader (the
    /// detector) that reports them as faults; by default the read fails at the first.
    pub fn pass_nonfinite(&mut self) {
        self.pass_nonfinite = true;
    }

    /// Whether the header gave no data length, 0 or 0xFFFFFFFF as a recorder leaves a file it
    /// did not close (or one it streams), and the file's own length was taken: the whole
    /// frames between the header and the end of the file.
    pub fn length_from_file(&self) -> bool {
        self.length_from_file
    }

    /// What the header says.
    pub fn info(&self) -> WavInfo {
        self.info
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Reads up to `out.len() / channels` frames into `out`, interleaved, integers scaled to
    /// [-1, 1); returns the number of frames read, `Ok(0)` at the end.
    ///
    /// A file whose data ends before its header says is [`Error::Truncated`]; a NaN or
    /// infinite float sample is [`Error::NotFinite`] with its frame and time (unless
    /// [`WavStream::pass_nonfinite`] was called). Either way the
    /// frames before it were not lost to the caller only if it read in smaller blocks: the
    /// block that holds the error is discarded.
    pub fn read_frames(&mut self, out: &mut [f32]) -> Result<usize, Error> {
        let channels = usize::from(self.info.channels);
        let want = (out.len() / channels) as u64;
        let left = self.info.frames - self.frames_read;
        let frames = want.min(left) as usize;
        let out = &mut out[..frames * channels];
        let scale = 1.0 / self.info.format.full_scale();
        let start = self.frames_read;
        let mut filled = 0usize;
        let result: Result<(), hound::Error> = match &mut self.source {
            Source::Int16 { reader, bytes, .. } => {
                bytes.resize(out.len() * 2, 0);
                match reader.read_exact(bytes) {
                    Ok(()) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = f32::from(i16::from_le_bytes([b[0], b[1]])) * scale;
                        }
                        filled = out.len();
                        Ok(())
                    }
                    Err(e) => Err(hound::Error::IoError(e)),
                }
            }
            Source::Hound(reader) => match self.info.format {
                SampleFormat::Int16 | SampleFormat::Int24 => {
                    reader.samples::<i32>().take(out.len()).try_for_each(|s| {
                        out[filled] = s? as f32 * scale;
                        filled += 1;
                        Ok(())
                    })
                }
                SampleFormat::Float32 => {
                    reader.samples::<f32>().take(out.len()).try_for_each(|s| {
                        out[filled] = s?;
                        filled += 1;
                        Ok(())
                    })
                }
            },
        };
        if let Err(e) = result {
            let frames_read = start + (filled / channels) as u64;
            return Err(hound_error(&self.path, e, frames_read, self.info.frames));
        }
        if self.info.format == SampleFormat::Float32 && !self.pass_nonfinite {
            if let Some(i) = out.iter().position(|x| !x.is_finite()) {
                let frame = start + (i / channels) as u64;
                return Err(Error::NotFinite {
                    path: self.path.clone(),
                    frame,
                    time_s: frame as f64 / f64::from(self.info.sample_rate_hz),
                    channel: (i % channels) as u16,
                    value: out[i],
                });
            }
        }
        self.frames_read += frames as u64;
        Ok(frames)
    }

    /// Moves to frame `frame` (at most the frame count): the next read starts there. For
    /// reading a long recording in segments.
    pub fn seek(&mut self, frame: u64) -> Result<(), Error> {
        let frame = frame.min(self.info.frames);
        match &mut self.source {
            Source::Int16 {
                reader, data_start, ..
            } => {
                let at = *data_start + frame * 2 * u64::from(self.info.channels);
                reader
                    .seek(SeekFrom::Start(at))
                    .map_err(|e| Error::io(&self.path, e))?;
            }
            Source::Hound(reader) => {
                let time = u32::try_from(frame).map_err(|_| Error::NotWav {
                    path: self.path.clone(),
                    reason: "frame index beyond 32 bits".into(),
                })?;
                reader.seek(time).map_err(|e| Error::io(&self.path, e))?;
            }
        }
        self.frames_read = frame;
        Ok(())
    }

    /// Reads the rest of the file into one interleaved vector: for tests, plots and short
    /// files only (the detector streams).
    pub fn read_to_end(&mut self) -> Result<Vec<f32>, Error> {
        let channels = usize::from(self.info.channels);
        let left = (self.info.frames - self.frames_read) as usize;
        let mut all = vec![0.0f32; left * channels];
        let mut at = 0;
        while at < all.len() {
            let n = self.read_frames(&mut all[at..])?;
            if n == 0 {
                break;
            }
            at += n * channels;
        }
        all.truncate(at);
        Ok(all)
    }
}

/// Maps hound's errors onto ours, with the file name. `frames_expected` is 0 while the header
/// is being read.
/// The file to read the header through: a data chunk that states no length (0 or
/// 0xFFFFFFFF) but is followed by bytes reads as long as the whole frames of them.
fn with_data_length(file: File) -> std::io::Result<(Patched, bool)> {
    let len = file.metadata()?.len();
    let mut patched = Patched {
        file,
        patch: None,
        pos: 0,
    };
    let riff = riff_chunks(&mut patched.file);
    if let (Some((at, stated)), Some(block_align)) = (riff.data, riff.block_align) {
        let after = len.saturating_sub(at + 4);
        if (stated == 0 || stated == u32::MAX) && after > 0 && block_align > 0 {
            let align = u64::from(block_align);
            let largest = u64::from(u32::MAX) - u64::from(u32::MAX) % align;
            let whole = (after - after % align).min(largest);
            patched.patch = Some((at, (whole as u32).to_le_bytes()));
        }
    }
    patched.file.seek(SeekFrom::Start(0))?;
    let from_file = patched.patch.is_some();
    Ok((patched, from_file))
}

/// Bits per sample as the fmt chunk states them: for naming a format hound refuses without
/// saying which.
fn fmt_bits(path: &Path) -> Option<u16> {
    riff_chunks(&mut File::open(path).ok()?).bits
}

fn hound_error(path: &Path, e: hound::Error, frames_read: u64, frames_expected: u64) -> Error {
    match e {
        // hound reports a short read as `Other` ("Failed to read enough bytes."), the standard
        // library as `UnexpectedEof`: both mean the file ends too early.
        hound::Error::IoError(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::Other
            ) =>
        {
            if frames_expected == 0 {
                Error::NotWav {
                    path: path.into(),
                    reason: "the file ends inside its header".into(),
                }
            } else {
                Error::Truncated {
                    path: path.into(),
                    frames_read,
                    frames_expected,
                }
            }
        }
        hound::Error::IoError(io) => Error::io(path, io),
        // hound's words for a float WAV of other than 32 bits per sample (64, typically).
        hound::Error::FormatError(reason @ "bits per sample is not 32") => match fmt_bits(path) {
            Some(bits) => Error::SampleFormat {
                path: path.into(),
                bits,
                kind: "float",
            },
            None => Error::NotWav {
                path: path.into(),
                reason: reason.into(),
            },
        },
        hound::Error::FormatError(reason) => Error::NotWav {
            path: path.into(),
            reason: reason.into(),
        },
        hound::Error::Unsupported => Error::NotWav {
            path: path.into(),
            reason:
                "unsupported WAV encoding (only 16/24-bit integer PCM and 32-bit float are read)"
                    .into(),
        },
        other => Error::NotWav {
            path: path.into(),
            reason: other.to_string(),
        },
    }
}

/// Writes interleaved samples as a WAV file, atomically. Integer formats round `x · 2^(bits−1)`
/// and clip to the integer range, as an ADC would; float is written as is.
///
/// Fails (naming the file) when `channels` is 0, the sample count is not a multiple of it, the
/// rate is outside 250 Hz..96 kHz, or a sample is NaN or infinite.
pub fn write_wav(
    path: &Path,
    channels: u16,
    sample_rate_hz: u32,
    format: SampleFormat,
    interleaved: &[f32],
) -> Result<(), Error> {
    let bad = |problem: String| Error::BadWrite {
        path: path.into(),
        problem,
    };
    if channels == 0 {
        return Err(bad("zero channels".into()));
    }
    if interleaved.len() % usize::from(channels) != 0 {
        return Err(bad(format!(
            "{} samples is not a whole number of {channels}-channel frames",
            interleaved.len()
        )));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        return Err(Error::SampleRate {
            path: path.into(),
            rate_hz: sample_rate_hz,
            min_hz: MIN_SAMPLE_RATE_HZ,
            max_hz: MAX_SAMPLE_RATE_HZ,
        });
    }
    if let Some(i) = interleaved.iter().position(|x| !x.is_finite()) {
        let frame = (i / usize::from(channels)) as u64;
        return Err(Error::NotFinite {
            path: path.into(),
            frame,
            time_s: frame as f64 / f64::from(sample_rate_hz),
            channel: (i % usize::from(channels)) as u16,
            value: interleaved[i],
        });
    }
    // The RIFF size fields are 32-bit.
    let bytes = interleaved.len() as u64 * if format == SampleFormat::Int16 { 2 } else { 4 };
    if bytes > u64::from(u32::MAX) - 1024 {
        return Err(bad(format!(
            "{bytes} bytes of samples exceed the 4 GiB limit of a WAV file"
        )));
    }
    let spec = hound::WavSpec {
        channels,
        sample_rate: sample_rate_hz,
        bits_per_sample: match format {
            SampleFormat::Int16 => 16,
            SampleFormat::Int24 => 24,
            SampleFormat::Float32 => 32,
        },
        sample_format: match format {
            SampleFormat::Float32 => hound::SampleFormat::Float,
            _ => hound::SampleFormat::Int,
        },
    };
    let to_io = |e: hound::Error| match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    with_temp_file(path, |file| {
        let mut writer =
            hound::WavWriter::new(BufWriter::with_capacity(1 << 16, file), spec).map_err(to_io)?;
        match format {
            SampleFormat::Int16 => {
                let mut w = writer.get_i16_writer(interleaved.len() as u32);
                for &x in interleaved {
                    w.write_sample(quantise(x, 32_768.0) as i16);
                }
                w.flush().map_err(to_io)?;
            }
            SampleFormat::Int24 => {
                for &x in interleaved {
                    writer
                        .write_sample(quantise(x, 8_388_608.0))
                        .map_err(to_io)?;
                }
            }
            SampleFormat::Float32 => {
                for &x in interleaved {
                    writer.write_sample(x).map_err(to_io)?;
                }
            }
        }
        writer.finalize().map_err(to_io)
    })
}

/// Rounds to the nearest integer step of a signed integer ADC with `full_scale` = 2^(bits−1)
/// and clips to its range.
fn quantise(x: f32, full_scale: f32) -> i32 {
    (x * full_scale)
        .round()
        .clamp(-full_scale, full_scale - 1.0) as i32
}
