//! Checks and processes the media experts upload (profile photo, voice sample) before they reach
//! the moderation queue.
//!
//! Pure: bytes in, bytes and metadata out; no network, filesystem or database. Decoding is
//! CPU-bound and synchronous, so callers run it on a blocking thread (`spawn_blocking`).

mod audio;
mod photo;

pub use audio::{AUDIO_CONTENT_TYPE, Audio, AudioLimits, process_audio};
pub use photo::{PHOTO_CONTENT_TYPE, Photo, PhotoLimits, process_photo};

/// Why an upload was refused. Each variant is something the uploader can act on, so the web layer
/// shows it translated via [`MediaError::key`].
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    /// Nothing was uploaded.
    #[error("the file is empty")]
    Empty,
    /// Refused before decoding, so an oversized upload costs no CPU.
    #[error("the file is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    /// The bytes are not a picture at all (text, random data, another kind of file).
    #[error("the file is not an image")]
    NotAnImage,
    /// A real picture in a format we do not take (WebP, BMP, TIFF, HEIC, ...): only JPEG, PNG and
    /// GIF are accepted.
    #[error("unsupported image format: use JPEG, PNG or GIF")]
    UnsupportedImageFormat,
    /// The declared dimensions or memory exceed the limits (decompression bomb, huge scan).
    #[error("the image is too large")]
    ImageTooLarge,
    /// The format was recognised but the data could not be decoded.
    #[error("the image is damaged")]
    CorruptImage,
    /// The bytes are not an MPEG Layer III stream.
    #[error("the file is not an MP3")]
    NotMp3,
    /// The stream stops before its declared end (interrupted upload or copy).
    #[error("the audio file is truncated")]
    TruncatedAudio,
    /// Most of the stream could not be decoded.
    #[error("the audio file is damaged")]
    CorruptAudio,
    /// Shorter than the minimum a listener needs to judge the voice.
    #[error("the recording is shorter than {min_ms} ms")]
    AudioTooShort { min_ms: u32 },
    /// Longer than the maximum a sample may last.
    #[error("the recording is longer than {max_ms} ms")]
    AudioTooLong { max_ms: u32 },
}

impl MediaError {
    /// A stable id for translations (Fluent message key); never changes once shipped.
    pub fn key(&self) -> &'static str {
        match self {
            MediaError::Empty => "media-empty",
            MediaError::TooLarge { .. } => "media-too-large",
            MediaError::NotAnImage => "media-not-an-image",
            MediaError::UnsupportedImageFormat => "media-unsupported-image-format",
            MediaError::ImageTooLarge => "media-image-too-large",
            MediaError::CorruptImage => "media-corrupt-image",
            MediaError::NotMp3 => "media-not-mp3",
            MediaError::TruncatedAudio => "media-truncated-audio",
            MediaError::CorruptAudio => "media-corrupt-audio",
            MediaError::AudioTooShort { .. } => "media-audio-too-short",
            MediaError::AudioTooLong { .. } => "media-audio-too-long",
        }
    }
}

/// The checks every upload starts with, before any decoding.
fn check_size(input: &[u8], max_bytes: usize) -> Result<(), MediaError> {
    if input.is_empty() {
        return Err(MediaError::Empty);
    }
    if input.len() > max_bytes {
        return Err(MediaError::TooLarge { max_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_prefixed() {
        let all = [
            MediaError::Empty,
            MediaError::TooLarge { max_bytes: 1 },
            MediaError::NotAnImage,
            MediaError::UnsupportedImageFormat,
            MediaError::ImageTooLarge,
            MediaError::CorruptImage,
            MediaError::NotMp3,
            MediaError::TruncatedAudio,
            MediaError::CorruptAudio,
            MediaError::AudioTooShort { min_ms: 1 },
            MediaError::AudioTooLong { max_ms: 1 },
        ];
        let mut keys: Vec<_> = all.iter().map(MediaError::key).collect();
        assert!(keys.iter().all(|k| k.starts_with("media-")));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
    }

    #[test]
    fn size_is_checked_first() {
        assert_eq!(check_size(b"", 10), Err(MediaError::Empty));
        assert_eq!(check_size(&[0; 11], 10), Err(MediaError::TooLarge { max_bytes: 10 }));
        assert_eq!(check_size(&[0; 10], 10), Ok(()));
    }
}
