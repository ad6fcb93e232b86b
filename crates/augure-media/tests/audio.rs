//! What an expert sees when uploading a voice sample.
//!
//! Fixtures were made once with espeak-ng, sox and lame 3.100 (mono, 22.05 kHz, ABR 32 kbps with
//! a Xing/LAME header; the 8 kHz one at CBR 8 kbps with `-t`, so without any header).

use augure_media::{AUDIO_CONTENT_TYPE, Audio, AudioLimits, MediaError, process_audio};

const VOICE_20S: &[u8] = include_bytes!("fixtures/voice-20s.mp3");
const VOICE_5S: &[u8] = include_bytes!("fixtures/voice-5s.mp3");
const VOICE_35S: &[u8] = include_bytes!("fixtures/voice-35s.mp3");
const VOICE_16S_NO_XING: &[u8] = include_bytes!("fixtures/voice-16s-8khz-noxing.mp3");

fn process(input: &[u8]) -> Result<Audio, MediaError> {
    process_audio(input, &AudioLimits::default())
}

fn assert_duration(audio: &Audio, expected_ms: u32, tolerance_ms: u32) {
    assert!(
        audio.duration_ms.abs_diff(expected_ms) <= tolerance_ms,
        "{} ms, expected {expected_ms} ± {tolerance_ms}",
        audio.duration_ms
    );
}

/// Deterministic noise, no dependency needed.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_be_bytes()[0]
        })
        .collect()
}

/// An ID3v2.4 tag holding a title, as most tagging tools write before the audio.
fn id3v2_tag() -> Vec<u8> {
    id3v2(4, b"TIT2", b"\x03My voice sample")
}

/// An ID3v2 tag of `version` holding one frame.
fn id3v2(version: u8, frame_id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut frame = frame_id.to_vec();
    frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(body);
    let size = u32::try_from(frame.len()).unwrap();
    let mut tag = vec![b'I', b'D', b'3', version, 0, 0];
    // Syncsafe: 7 bits per byte.
    tag.extend([21, 14, 7, 0].iter().map(|shift| u8::try_from((size >> shift) & 0x7F).unwrap()));
    tag.extend_from_slice(&frame);
    tag
}

#[test]
fn content_type_is_mpeg() {
    assert_eq!(AUDIO_CONTENT_TYPE, "audio/mpeg");
}

#[test]
fn twenty_second_sample_is_accepted_with_its_real_length() {
    let audio = process(VOICE_20S).unwrap();
    assert_duration(&audio, 20_000, 100);
    assert_eq!(audio.sample_rate, 22_050);
    assert_eq!(audio.channels, 1);
    assert_eq!(audio.bytes, VOICE_20S, "stored as uploaded");
}

#[test]
fn sample_with_an_id3_tag_is_accepted() {
    let mut tagged = id3v2_tag();
    tagged.extend_from_slice(VOICE_20S);
    let audio = process(&tagged).unwrap();
    assert_duration(&audio, 20_000, 100);
    assert_eq!(audio.bytes, VOICE_20S, "published without its tag");
}

/// B25: tags can carry a picture and personal details; only the frames are published.
#[test]
fn tags_before_and_after_the_audio_are_stripped() {
    let picture = b"\x00image/jpeg\x00\x03\x00\xFF\xD8\xFF\xE0 a photo of the expert's home";
    let mut tagged = id3v2(3, b"APIC", picture);
    tagged.extend_from_slice(&id3v2_tag());
    tagged.extend_from_slice(VOICE_20S);
    let mut v1 = b"TAGMy voice sample".to_vec();
    v1.resize(128, 0);
    tagged.extend_from_slice(&v1);
    let audio = process(&tagged).unwrap();
    assert_eq!(audio.bytes, VOICE_20S);
    let again = process(&audio.bytes).unwrap();
    assert_eq!(again.duration_ms, audio.duration_ms, "what is published still plays the same");
}

#[test]
fn sample_without_xing_header_is_measured_by_decoding() {
    let audio = process(VOICE_16S_NO_XING).unwrap();
    assert_eq!(audio.sample_rate, 8_000);
    assert_eq!(audio.channels, 1);
    // 16 s of speech; without a LAME header the encoder delay and padding are heard too.
    assert_duration(&audio, 16_200, 100);
}

#[test]
fn five_second_sample_is_too_short() {
    assert_eq!(process(VOICE_5S), Err(MediaError::AudioTooShort { min_ms: 15_000 }));
}

#[test]
fn thirty_five_second_sample_is_too_long() {
    assert_eq!(process(VOICE_35S), Err(MediaError::AudioTooLong { max_ms: 30_000 }));
}

#[test]
fn limits_are_configurable() {
    let limits = AudioLimits { max_upload_bytes: 200_000, min_duration_ms: 1_000, max_duration_ms: 40_000 };
    let audio = process_audio(VOICE_35S, &limits).unwrap();
    assert_duration(&audio, 35_000, 100);
    let audio = process_audio(VOICE_5S, &limits).unwrap();
    assert_duration(&audio, 5_000, 100);
}

#[test]
fn ten_megabyte_upload_is_refused_before_decoding() {
    let big: Vec<u8> = VOICE_20S.iter().copied().cycle().take(10 * 1024 * 1024).collect();
    assert_eq!(process(&big), Err(MediaError::TooLarge { max_bytes: 2 * 1024 * 1024 }));
}

#[test]
fn cut_off_upload_is_truncated() {
    let cut = VOICE_20S.len() * 6 / 10;
    assert_eq!(process(&VOICE_20S[..cut]), Err(MediaError::TruncatedAudio));
}

#[test]
fn slightly_cut_off_upload_is_truncated() {
    // Long enough to pass the duration check: only the Xing frame count reveals it.
    let cut = VOICE_20S.len() - 2_000;
    assert_eq!(process(&VOICE_20S[..cut]), Err(MediaError::TruncatedAudio));
}

#[test]
fn file_ending_inside_a_frame_is_truncated() {
    // No header declares a length here: the partial last frame gives it away.
    let cut = VOICE_16S_NO_XING.len() - 20;
    assert_eq!(process(&VOICE_16S_NO_XING[..cut]), Err(MediaError::TruncatedAudio));
}

#[test]
fn empty_upload_is_refused() {
    assert_eq!(process(b""), Err(MediaError::Empty));
}

#[test]
fn picture_or_text_named_mp3_is_not_mp3() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    assert_eq!(process(&jpeg), Err(MediaError::NotMp3));
    assert_eq!(process(b"hello, I am not a song"), Err(MediaError::NotMp3));
    assert_eq!(process(&noise(50_000)), Err(MediaError::NotMp3));
}

#[test]
fn wav_named_mp3_is_not_mp3() {
    let mut wav = b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00".to_vec();
    wav.extend(noise(2_000));
    assert_eq!(process(&wav), Err(MediaError::NotMp3));
}

#[test]
fn noise_after_a_valid_id3_tag_is_not_mp3() {
    let mut input = id3v2_tag();
    input.extend(noise(100_000));
    assert_eq!(process(&input), Err(MediaError::NotMp3));
}

#[test]
fn a_few_damaged_bytes_are_tolerated() {
    let mut glitched = VOICE_20S.to_vec();
    glitched[30_000..30_016].fill(0);
    let audio = process(&glitched).unwrap();
    assert_duration(&audio, 20_000, 100);
}

#[test]
fn a_wiped_stretch_in_the_middle_is_corrupt_not_truncated() {
    let mut wiped = VOICE_20S.to_vec();
    wiped[30_000..30_400].fill(0xFF);
    assert_eq!(process(&wiped), Err(MediaError::CorruptAudio));
}

#[test]
fn damaged_sample_is_corrupt() {
    let mut damaged = VOICE_20S.to_vec();
    for byte in damaged.iter_mut().skip(1_000).step_by(3) {
        *byte ^= 0x5A;
    }
    assert_eq!(process(&damaged), Err(MediaError::CorruptAudio));
}
