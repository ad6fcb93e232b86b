//! What an expert sees when uploading a profile photo.

use std::io::Cursor;
use std::time::{Duration, Instant};

use augure_media::{MediaError, PHOTO_CONTENT_TYPE, Photo, PhotoLimits, process_photo};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]))
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(image).expect("encode test jpeg");
    out
}

fn process(input: &[u8]) -> Result<Photo, MediaError> {
    process_photo(input, &PhotoLimits::default())
}

fn decode_output(photo: &Photo) -> RgbImage {
    assert!(photo.bytes.starts_with(&[0xFF, 0xD8]), "output is a JPEG");
    let decoded = image::load_from_memory_with_format(&photo.bytes, ImageFormat::Jpeg)
        .expect("output decodes as JPEG")
        .into_rgb8();
    assert_eq!(decoded.dimensions(), (photo.width, photo.height));
    decoded
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A minimal big-endian EXIF block: orientation and a camera make that must not leak.
fn exif_app1(orientation: u16, make: &[u8]) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes()); // two IFD entries
    // 0x0112 Orientation, SHORT, count 1, value left-aligned.
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // 0x010F Make, ASCII, count, offset just after this IFD.
    let make_offset: u32 = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&[0x01, 0x0F, 0x00, 0x02]);
    tiff.extend_from_slice(&u32::try_from(make.len() + 1).unwrap().to_be_bytes());
    tiff.extend_from_slice(&make_offset.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    tiff.extend_from_slice(make);
    tiff.push(0);

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// Puts `segment` right after the SOI marker, where cameras write EXIF.
fn splice_after_soi(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn content_type_is_jpeg() {
    assert_eq!(PHOTO_CONTENT_TYPE, "image/jpeg");
}

#[test]
fn large_png_becomes_800px_jpeg_keeping_aspect() {
    let png = encode(DynamicImage::ImageRgb8(gradient(1600, 1200)), ImageFormat::Png);
    let photo = process(&png).unwrap();
    assert_eq!((photo.width, photo.height), (800, 600));
    decode_output(&photo);
}

#[test]
fn portrait_png_is_limited_on_its_height() {
    let png = encode(DynamicImage::ImageRgb8(gradient(900, 2000)), ImageFormat::Png);
    let photo = process(&png).unwrap();
    assert_eq!((photo.width, photo.height), (360, 800));
}

#[test]
fn small_image_is_not_upscaled() {
    let png = encode(DynamicImage::ImageRgb8(gradient(100, 80)), ImageFormat::Png);
    let photo = process(&png).unwrap();
    assert_eq!((photo.width, photo.height), (100, 80));
    decode_output(&photo);
}

#[test]
fn exif_and_camera_details_are_stripped() {
    let original = jpeg(&gradient(1200, 900));
    let with_exif = splice_after_soi(&original, &exif_app1(1, b"SECRET-CAMERA GPS 48.8584N"));
    assert!(contains(&with_exif, b"Exif") && contains(&with_exif, b"SECRET-CAMERA"));

    let photo = process(&with_exif).unwrap();
    assert!(!contains(&photo.bytes, b"Exif"));
    assert!(!contains(&photo.bytes, b"SECRET-CAMERA"));
    assert!(!contains(&photo.bytes, b"48.8584"));
    assert_eq!((photo.width, photo.height), (800, 600));
    decode_output(&photo);
}

#[test]
fn phone_photo_rotated_by_exif_comes_out_upright() {
    // Stored landscape, EXIF orientation 6 says "rotate 90° clockwise to display".
    let original = jpeg(&gradient(400, 200));
    let rotated = splice_after_soi(&original, &exif_app1(6, b"Phone"));
    let photo = process(&rotated).unwrap();
    assert_eq!((photo.width, photo.height), (200, 400));
}

#[test]
fn gif_is_accepted() {
    let gif =
        encode(DynamicImage::ImageRgba8(RgbaImage::from_pixel(120, 90, Rgba([200, 30, 30, 255]))), ImageFormat::Gif);
    assert!(gif.starts_with(b"GIF8"));
    let photo = process(&gif).unwrap();
    assert_eq!((photo.width, photo.height), (120, 90));
    let center = *decode_output(&photo).get_pixel(60, 45);
    assert!(center[0] > 150 && center[1] < 80, "still red: {center:?}");
}

#[test]
fn transparent_areas_become_white() {
    let png = encode(DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 64, Rgba([0, 0, 0, 0]))), ImageFormat::Png);
    let photo = process(&png).unwrap();
    let pixel = *decode_output(&photo).get_pixel(32, 32);
    assert!(pixel.0.iter().all(|&c| c >= 250), "white, not black: {pixel:?}");
}

#[test]
fn text_named_like_a_photo_is_not_an_image() {
    assert_eq!(process(b"hello, I am not a picture"), Err(MediaError::NotAnImage));
    assert_eq!(process(&[0x42; 1000]), Err(MediaError::NotAnImage));
}

#[test]
fn empty_upload_is_refused() {
    assert_eq!(process(b""), Err(MediaError::Empty));
}

#[test]
fn oversized_upload_is_refused_before_decoding() {
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    assert_eq!(process(&big), Err(MediaError::TooLarge { max_bytes: 5 * 1024 * 1024 }));
}

#[test]
fn webp_bmp_tiff_heic_are_unsupported_formats() {
    let webp = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00";
    let bmp = b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00";
    let tiff = b"II*\x00\x08\x00\x00\x00\x00\x00";
    let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
    for header in [&webp[..], &bmp[..], &tiff[..], &heic[..]] {
        assert_eq!(process(header), Err(MediaError::UnsupportedImageFormat));
    }
}

#[test]
fn truncated_png_is_corrupt() {
    let png = encode(DynamicImage::ImageRgb8(gradient(300, 300)), ImageFormat::Png);
    assert_eq!(process(&png[..png.len() / 2]), Err(MediaError::CorruptImage));
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A well-formed PNG whose header declares `width`×`height` with only a few bytes of data.
fn bomb_png(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    // zlib stream: one final empty stored block (adler32 of nothing is 1).
    let idat = [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01];
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn crc32_matches_the_reference_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn decompression_bombs_are_refused_from_their_header() {
    for (width, height) in [(100_000, 100_000), (20_000, 20_000), (8001, 10)] {
        let started = Instant::now();
        let result = process(&bomb_png(width, height, 8, 2));
        assert_eq!(result, Err(MediaError::ImageTooLarge), "{width}x{height}");
        assert!(started.elapsed() < Duration::from_secs(1), "refused without decoding");
    }
}

#[test]
fn image_within_side_limit_but_over_memory_limit_is_refused() {
    // 8000×8000 RGBA at 16 bits per channel would need 512 MB.
    let started = Instant::now();
    assert_eq!(process(&bomb_png(8000, 8000, 16, 6)), Err(MediaError::ImageTooLarge));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn valid_header_png_with_no_pixels_is_corrupt_not_too_large() {
    assert_eq!(process(&bomb_png(50, 50, 8, 2)), Err(MediaError::CorruptImage));
}

/// Rewrites the frame size in a JPEG's SOF0 header, leaving the tiny scan as it is.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&gradient(16, 16));
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline SOF0");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn jpeg_declaring_huge_dimensions_is_refused_from_its_header() {
    let started = Instant::now();
    assert_eq!(process(&jpeg_declaring(60_000, 60_000)), Err(MediaError::ImageTooLarge));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn gif_declaring_huge_dimensions_is_refused_from_its_header() {
    let mut gif =
        encode(DynamicImage::ImageRgba8(RgbaImage::from_pixel(16, 16, Rgba([1, 2, 3, 255]))), ImageFormat::Gif);
    // Logical screen size, little-endian, right after "GIF89a".
    gif[6..8].copy_from_slice(&60_000u16.to_le_bytes());
    gif[8..10].copy_from_slice(&60_000u16.to_le_bytes());
    let started = Instant::now();
    assert_eq!(process(&gif), Err(MediaError::ImageTooLarge));
    assert!(started.elapsed() < Duration::from_secs(1));
}
