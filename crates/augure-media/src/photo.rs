//! Profile photos: sniff, decode under limits, flatten, downscale, re-encode as JPEG.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use crate::{MediaError, check_size};

/// The MIME type of every [`Photo`]: we always re-encode to JPEG.
pub const PHOTO_CONTENT_TYPE: &str = "image/jpeg";

/// Bounds on what a photo upload may cost us and what we keep of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Uploads above this are refused before decoding.
    pub max_upload_bytes: usize,
    /// Longest side we agree to decode; refuses decompression bombs from the header.
    pub max_input_side: u32,
    /// Memory the decoder may allocate for the decoded pixels.
    pub max_input_alloc: u64,
    /// Longest side of the stored photo: the site never shows it larger.
    pub max_output_side: u32,
    /// JPEG quality (1–100) of the stored photo.
    pub jpeg_quality: u8,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_upload_bytes: 5 * 1024 * 1024,
            max_input_side: 8000,
            max_input_alloc: 256 * 1024 * 1024,
            max_output_side: 800,
            jpeg_quality: 85,
        }
    }
}

/// A processed photo, ready for moderation and display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// Always a baseline JPEG without EXIF, GPS or other metadata.
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What the first bytes say the file is.
enum Sniffed {
    Accepted(ImageFormat),
    /// A real image format we refuse, named so the user is told to convert, not that it's no image.
    Unsupported,
    NotAnImage,
}

/// Recognises the format from its magic bytes, never from a file name or a declared MIME type.
fn sniff(input: &[u8]) -> Sniffed {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Accepted(ImageFormat::Jpeg);
    }
    if input.starts_with(PNG) {
        return Sniffed::Accepted(ImageFormat::Png);
    }
    if input.starts_with(b"GIF87a") || input.starts_with(b"GIF89a") {
        return Sniffed::Accepted(ImageFormat::Gif);
    }
    let riff_webp = input.len() >= 12 && input.starts_with(b"RIFF") && &input[8..12] == b"WEBP";
    // ISO-BMFF images (HEIC from phones, AVIF): "ftyp" box at offset 4 with an image brand.
    let heif = input.len() >= 12
        && &input[4..8] == b"ftyp"
        && matches!(
            &input[8..12],
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif" | b"avis"
        );
    let unsupported = riff_webp
        || heif
        || (input.len() >= 14 && input.starts_with(b"BM"))
        || input.starts_with(b"II*\0")
        || input.starts_with(b"MM\0*")
        || input.starts_with(&[0x00, 0x00, 0x01, 0x00]) // ICO
        || input.starts_with(&[0xFF, 0x0A]) // JPEG XL codestream
        || input.starts_with(b"\0\0\0\x0CJXL \r\n\x87\n") // JPEG XL container
        || input.starts_with(b"\0\0\0\x0CjP  \r\n\x87\n") // JPEG 2000
        || input.starts_with(b"8BPS") // Photoshop
        || input.starts_with(b"qoif")
        || input.starts_with(b"\x76\x2f\x31\x01") // OpenEXR
        || input.starts_with(b"#?RADIANCE");
    if unsupported { Sniffed::Unsupported } else { Sniffed::NotAnImage }
}

fn map_image_error(err: ImageError) -> MediaError {
    match err {
        ImageError::Limits(_) => MediaError::ImageTooLarge,
        ImageError::Unsupported(_) => MediaError::UnsupportedImageFormat,
        _ => MediaError::CorruptImage,
    }
}

/// Validates an uploaded photo and returns a small JPEG of it.
///
/// Only JPEG, PNG and GIF (first frame) are accepted. Dimensions and memory are bounded before
/// any pixel is decoded. The EXIF orientation is applied, then the picture is flattened onto
/// white, shrunk so its longest side is at most `max_output_side` (never enlarged) and re-encoded:
/// re-encoding is what drops EXIF, GPS and every other piece of metadata.
pub fn process_photo(input: &[u8], limits: &PhotoLimits) -> Result<Photo, MediaError> {
    check_size(input, limits.max_upload_bytes)?;
    let format = match sniff(input) {
        Sniffed::Accepted(format) => format,
        Sniffed::Unsupported => return Err(MediaError::UnsupportedImageFormat),
        Sniffed::NotAnImage => return Err(MediaError::NotAnImage),
    };

    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.max_input_side);
    decode_limits.max_image_height = Some(limits.max_input_side);
    decode_limits.max_alloc = Some(limits.max_input_alloc);

    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    reader.limits(decode_limits.clone());
    // Reads only the header: the dimension limits are enforced here, before any allocation.
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    decode_limits.reserve(decoder.total_bytes()).map_err(map_image_error)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    image.apply_orientation(orientation);

    let rgb = flatten_onto_white(image);
    let (width, height) = output_size(rgb.width(), rgb.height(), limits.max_output_side);
    let rgb = if (width, height) == rgb.dimensions() {
        rgb
    } else {
        image::imageops::resize(&rgb, width, height, FilterType::Lanczos3)
    };

    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, limits.jpeg_quality.clamp(1, 100))
        .encode_image(&rgb)
        .map_err(map_image_error)?;
    Ok(Photo { bytes, width, height })
}

/// JPEG has no alpha: transparent areas become white, as they look on the site's light background.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(px[3]);
        for c in 0..3 {
            let blended = (u32::from(px[c]) * alpha + 255 * (255 - alpha) + 127) / 255;
            out[c] = u8::try_from(blended).unwrap_or(u8::MAX);
        }
    }
    rgb
}

/// Fits `width`×`height` inside a `max_side` square, keeping the aspect ratio, never enlarging.
fn output_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let max_side = max_side.max(1);
    let longest = width.max(height);
    if longest <= max_side {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled = (u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(max_side).clamp(1, max_side)
    };
    (scale(width), scale(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_keeps_aspect_and_never_enlarges() {
        assert_eq!(output_size(1600, 1200, 800), (800, 600));
        assert_eq!(output_size(1200, 1600, 800), (600, 800));
        assert_eq!(output_size(100, 80, 800), (100, 80));
        assert_eq!(output_size(8000, 1, 800), (800, 1));
        assert_eq!(output_size(1001, 1000, 800), (800, 799));
    }

    #[test]
    fn flatten_turns_transparent_white_and_keeps_opaque() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let rgb = flatten_onto_white(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }
}
