//! Voice samples: sniff MP3, decode every frame, measure, detect truncation.

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::audio::well_known::CODEC_ID_MP3;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;

use crate::{MediaError, check_size};

/// The MIME type of every [`Audio`]: the original MP3 is stored as is.
pub const AUDIO_CONTENT_TYPE: &str = "audio/mpeg";

/// Samples an MP3 may lack at the end before we call it truncated: two MPEG-1 frames, which
/// absorbs encoder rounding without letting a cut-off upload through.
const TRUNCATION_TOLERANCE_FRAMES: u64 = 2 * 1152;

/// Bounds on a voice sample upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioLimits {
    /// Uploads above this are refused before decoding.
    pub max_upload_bytes: usize,
    /// Shorter samples don't let a client judge the voice.
    pub min_duration_ms: u32,
    /// Longer samples are refused; decoding also stops as soon as this is exceeded.
    pub max_duration_ms: u32,
}

impl Default for AudioLimits {
    fn default() -> Self {
        AudioLimits { max_upload_bytes: 2 * 1024 * 1024, min_duration_ms: 15_000, max_duration_ms: 30_000 }
    }
}

/// A checked voice sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// The uploaded MP3's frames, unchanged, without its tags.
    pub bytes: Vec<u8>,
    /// Measured from the decoded samples, not from headers.
    pub duration_ms: u32,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Validates an uploaded MP3 voice sample by fully decoding it.
///
/// Headers can lie, so every frame is decoded: the duration comes from the decoded sample
/// frames, and a stream shorter than its Xing/Info/VBRI header declares, or ending inside a
/// frame, is reported as truncated.
pub fn process_audio(input: &[u8], limits: &AudioLimits) -> Result<Audio, MediaError> {
    check_size(input, limits.max_upload_bytes)?;
    let start = mp3_stream_start(input).ok_or(MediaError::NotMp3)?;
    let stream = &input[start..];

    // A non-seekable source: the reader then reports a frame count only when a Xing/Info/VBRI
    // header declares one, instead of estimating it from the byte length.
    let source = ReadOnlySource::new(stream);
    let mss = MediaSourceStream::new(Box::new(source), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|_| MediaError::NotMp3)?;

    let track = format.default_track(TrackType::Audio).ok_or(MediaError::NotMp3)?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|params| params.audio())
        .filter(|params| params.codec == CODEC_ID_MP3)
        .ok_or(MediaError::NotMp3)?
        .clone();
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let sample_rate = params.sample_rate.filter(|&rate| rate > 0).ok_or(MediaError::CorruptAudio)?;
    let channels = params
        .channels
        .as_ref()
        .and_then(|channels| u16::try_from(channels.count()).ok())
        .filter(|&count| count > 0)
        .ok_or(MediaError::CorruptAudio)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|_| MediaError::CorruptAudio)?;

    let max_ms = u64::from(limits.max_duration_ms);
    let mut packets: u64 = 0;
    // Packets the decoder refused, plus places where the reader had to skip junk to find the next
    // frame: signs of damage inside the stream.
    let mut damaged: u64 = 0;
    let mut decoded_frames: u64 = 0;
    // Frames the stream holds, decodable or not: what truncation is judged on.
    let mut accounted_frames: u64 = 0;
    // End of the last packet within `stream`, to see what is left after it.
    let mut consumed: usize = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(MediaError::TruncatedAudio);
            }
            Err(_) => return Err(MediaError::CorruptAudio),
        };
        if packet.track_id != track_id {
            continue;
        }
        packets += 1;
        let (end, skipped) = packet_end(stream, consumed, &packet.data);
        // Skipping before the first packet is normal (Xing/Info frame, leading junk).
        if skipped && packets > 1 {
            damaged += 1;
        }
        consumed = end;
        match decoder.decode(&packet) {
            Ok(buffer) => {
                let frames = buffer.frames() as u64;
                decoded_frames += frames;
                accounted_frames += frames;
            }
            Err(SymphoniaError::IoError(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(MediaError::TruncatedAudio);
            }
            Err(_) => {
                damaged += 1;
                accounted_frames += packet.dur.get();
            }
        }
        // No need to decode minutes of audio to know it is too long.
        if frames_to_ms(decoded_frames, sample_rate) > max_ms {
            return Err(MediaError::AudioTooLong { max_ms: limits.max_duration_ms });
        }
    }

    // A stray bad frame (a cut made by an editor, two files joined) plays fine; one in ten is
    // audible damage.
    if decoded_frames == 0 || damaged * 10 > packets {
        return Err(MediaError::CorruptAudio);
    }
    if ends_inside_a_frame(&stream[consumed..], stream) {
        return Err(MediaError::TruncatedAudio);
    }
    let short_of_declared =
        declared_frames.is_some_and(|declared| accounted_frames + TRUNCATION_TOLERANCE_FRAMES < declared);
    if short_of_declared {
        // Frames lost to damage also leave the stream short of its header: that is not a cut.
        return Err(if damaged == 0 { MediaError::TruncatedAudio } else { MediaError::CorruptAudio });
    }

    let duration_ms = frames_to_ms(decoded_frames, sample_rate);
    if duration_ms < u64::from(limits.min_duration_ms) {
        return Err(MediaError::AudioTooShort { min_ms: limits.min_duration_ms });
    }
    if duration_ms > max_ms {
        return Err(MediaError::AudioTooLong { max_ms: limits.max_duration_ms });
    }
    Ok(Audio {
        // The frames only: ID3v2 tags before them and ID3v1/APE tags after them can carry
        // pictures and personal details, and are not published.
        bytes: stream[..consumed].to_vec(),
        duration_ms: u32::try_from(duration_ms).unwrap_or(u32::MAX),
        sample_rate,
        channels,
    })
}

fn frames_to_ms(frames: u64, sample_rate: u32) -> u64 {
    frames.saturating_mul(1000) / u64::from(sample_rate)
}

/// Where the audio frames start: after any ID3v2 tags and zero padding, an MPEG Layer III frame
/// header must follow. Anything else (a picture, text, WAV, MP2) is not an MP3.
fn mp3_stream_start(input: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while let Some(tag) = input.get(pos..pos + 10).filter(|h| h.starts_with(b"ID3")) {
        let (major, flags, size) = (tag[3], tag[5], &tag[6..10]);
        if !(2..=4).contains(&major) || size.iter().any(|b| b & 0x80 != 0) {
            return None;
        }
        let size = size.iter().fold(0usize, |acc, b| (acc << 7) | usize::from(*b));
        let footer = if flags & 0x10 != 0 { 10 } else { 0 };
        pos += 10 + size + footer;
    }
    while input.get(pos) == Some(&0) {
        pos += 1;
    }
    let header = input.get(pos..pos + 4)?;
    is_layer3_header(header, None).then_some(pos)
}

/// A plausible MPEG-1/2/2.5 Layer III frame header; with `like`, one of the same stream
/// (same version, layer and sample rate).
fn is_layer3_header(header: &[u8], like: Option<&[u8]>) -> bool {
    let [b0, b1, b2, ..] = *header else {
        return false;
    };
    let version = (b1 >> 3) & 0b11;
    let layer = (b1 >> 1) & 0b11;
    let bitrate = b2 >> 4;
    let rate = (b2 >> 2) & 0b11;
    let plausible = b0 == 0xFF
        && b1 & 0xE0 == 0xE0
        && version != 0b01
        && layer == 0b01
        && bitrate != 0
        && bitrate != 0xF
        && rate != 0b11;
    match like {
        Some(&[_, l1, l2, ..]) => plausible && (b1 & 0xFE) == (l1 & 0xFE) && (b2 & 0x0C) == (l2 & 0x0C),
        _ => plausible,
    }
}

/// Offset just past `data` in `stream`, searching from `from`, and whether bytes were skipped to
/// get there. Packets are copies of contiguous frames, so this is normally an exact match at
/// `from`.
fn packet_end(stream: &[u8], from: usize, data: &[u8]) -> (usize, bool) {
    let rest = &stream[from..];
    if rest.starts_with(data) {
        return (from + data.len(), false);
    }
    match rest.windows(data.len().max(1)).position(|w| w == data) {
        Some(at) => (from + at + data.len(), true),
        None => (from, true),
    }
}

/// The reader silently stops at a frame cut short by the end of the file; what is left after the
/// last whole frame tells. A tag (ID3v1, APE, Lyrics) may follow; a frame header of this stream
/// may not.
fn ends_inside_a_frame(tail: &[u8], stream: &[u8]) -> bool {
    let first = match stream.get(..4) {
        Some(first) => first,
        None => return false,
    };
    let tail = match tail.len().checked_sub(128) {
        Some(id3v1) if tail[id3v1..].starts_with(b"TAG") => &tail[..id3v1],
        _ => tail,
    };
    (0..tail.len()).any(|at| is_layer3_header(&tail[at..], Some(first)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_start_skips_id3v2_and_padding() {
        let mut input = b"ID3\x04\x00\x00\x00\x00\x00\x05hello\0\0".to_vec();
        input.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        assert_eq!(mp3_stream_start(&input), Some(17));
        assert_eq!(mp3_stream_start(&[0xFF, 0xF3, 0x40, 0xC4]), Some(0));
    }

    #[test]
    fn stream_start_refuses_other_layers_and_junk() {
        // MPEG-1 Layer II (MP2).
        assert_eq!(mp3_stream_start(&[0xFF, 0xFD, 0x90, 0x64]), None);
        assert_eq!(mp3_stream_start(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(mp3_stream_start(b"ID3\x04\x00\x00\x00\x00\x00\x02ab"), None);
        // Syncsafe size with the high bit set.
        assert_eq!(mp3_stream_start(b"ID3\x04\x00\x00\x80\x00\x00\x00"), None);
    }

    #[test]
    fn partial_frame_at_end_is_seen() {
        let first = [0xFF, 0xF3, 0x40, 0xC4];
        assert!(ends_inside_a_frame(&[0xFF, 0xF3, 0x40, 0xC4, 1, 2, 3], &first));
        assert!(!ends_inside_a_frame(b"TAGsome title", &first));
        assert!(!ends_inside_a_frame(b"", &first));
        // A header of another stream (44.1 kHz MPEG-1) is junk, not our frame.
        assert!(!ends_inside_a_frame(&[0xFF, 0xFB, 0x90, 0x64], &first));
    }
}
