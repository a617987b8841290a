//! QR codes of short links, as SVG (print) or PNG (chat apps, slides).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use qrcode::{EcLevel, QrCode};

/// Smallest and largest image side accepted, in pixels (SVG user units).
pub const SIZES: std::ops::RangeInclusive<u32> = 64..=2048;
/// Side used when none is asked for.
pub const DEFAULT_SIZE: u32 = 512;
/// Light modules around the code, as the QR standard requires for reliable scanning.
/// The `size` parameter's schema, from [`SIZES`] and [`DEFAULT_SIZE`].
pub fn size_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .minimum(Some(*SIZES.start()))
        .maximum(Some(*SIZES.end()))
        .default(Some(DEFAULT_SIZE.into()))
        .into()
}

const QUIET_ZONE: u32 = 4;

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    /// The requested size is outside [`SIZES`].
    #[error("size must be between 64 and 2048 pixels")]
    Size,
    /// The content does not fit in a QR code.
    #[error("content too long for a QR code")]
    TooLong,
    /// The rendering task failed (it panicked): a bug, logged as such.
    #[error("rendering the QR code failed: {0}")]
    Render(String),
}

/// Renders at once, process-wide: a 2048-pixel PNG is a 4 MiB canvas and milliseconds of
/// compression, so a burst of them waits here rather than filling the blocking pool.
static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

fn code(content: &str, size: u32) -> Result<QrCode, QrError> {
    if !SIZES.contains(&size) {
        return Err(QrError::Size);
    }
    // Level M survives a smudge or a logo sticker (15 %) and keeps short URLs at version 2-3.
    QrCode::with_error_correction_level(content, EcLevel::M).map_err(|_| QrError::TooLong)
}

/// An SVG QR code of `content`, about `size` units square.
pub fn svg(content: &str, size: u32) -> Result<String, QrError> {
    let code = code(content, size)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build())
}

/// A PNG QR code of `content` (8-bit greyscale), at least `size` pixels square: each module is
/// a whole number of pixels, so scanners see sharp edges.
pub fn png(content: &str, size: u32) -> Result<Vec<u8>, QrError> {
    let code = code(content, size)?;
    let modules = u32::try_from(code.width()).map_err(|_| QrError::TooLong)?;
    let colors = code.to_colors();
    let total = modules + 2 * QUIET_ZONE;
    let scale = size.div_ceil(total).max(1);
    let side = total * scale;
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (
            i as u32 % modules + QUIET_ZONE,
            i as u32 / modules + QUIET_ZONE,
        );
        for y in my * scale..(my + 1) * scale {
            let row = (y * side) as usize;
            pixels[row + (mx * scale) as usize..row + ((mx + 1) * scale) as usize].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail for IO reasons; an encoder error would be a bug here.
        let written = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&pixels));
        if written.is_err() {
            return Err(QrError::TooLong);
        }
    }
    Ok(out)
}

/// The two image formats a link's QR code comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `image/svg+xml`.
    Svg,
    /// `image/png`.
    Png,
}

/// What a QR code of a short link encodes: the short URL with `?via=qr`, so a scan is recorded
/// as its own click source ([`skinstack_core::ClickSource::Qr`]).
pub fn scan_url(short_url: &str) -> String {
    format!("{short_url}?via=qr")
}

/// The QR code of `short_url` in `format`, as a response. Private caching: the image only
/// changes with the slug, but it is the owner's. Rendering (milliseconds for a large PNG)
/// runs on tokio's blocking pool, at most a few at once, never on the async workers that
/// answer redirects.
pub async fn response(
    short_url: &str,
    format: Format,
    size: Option<u32>,
) -> Result<Response, QrError> {
    let content = scan_url(short_url);
    let size = size.unwrap_or(DEFAULT_SIZE);
    if !SIZES.contains(&size) {
        return Err(QrError::Size);
    }
    let _slot = RENDERS
        .acquire()
        .await
        .map_err(|e| QrError::Render(e.to_string()))?;
    let (content_type, body) = tokio::task::spawn_blocking(move || match format {
        Format::Svg => svg(&content, size).map(|svg| ("image/svg+xml", svg.into_bytes())),
        Format::Png => png(&content, size).map(|png| ("image/png", png)),
    })
    .await
    .map_err(|e| QrError::Render(e.to_string()))??;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_png(bytes: &[u8]) -> String {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the image");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_png_decodes_back_to_the_short_url() {
        let url = "https://skin.st/glow-demo?via=qr";
        for size in [64, 300, 512] {
            let png = png(url, size).unwrap();
            assert_eq!(decode_png(&png), url, "size {size}");
        }
    }

    #[test]
    fn an_svg_is_an_svg_of_about_the_size_asked() {
        let svg = svg("https://skin.st/glow-demo?via=qr", 300).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg") && svg.trim_end().ends_with("</svg>")
        );
        assert!(svg.contains("width=\"3"), "{}", &svg[..200]);
    }

    #[tokio::test]
    async fn a_response_renders_on_the_blocking_pool_and_refuses_bad_sizes_first() {
        let rendered = response("https://skin.st/glow-demo", Format::Png, Some(2048))
            .await
            .unwrap();
        assert_eq!(rendered.headers()[header::CONTENT_TYPE], "image/png");
        let body = axum::body::to_bytes(rendered.into_body(), 1 << 24)
            .await
            .unwrap();
        assert_eq!(decode_png(&body), "https://skin.st/glow-demo?via=qr");
        // A size out of range never takes a rendering slot.
        for _ in 0..10 {
            let refused = response("https://skin.st/x", Format::Svg, Some(9)).await;
            assert_eq!(refused.unwrap_err(), QrError::Size);
        }
        assert_eq!(RENDERS.available_permits(), 4);
    }

    #[test]
    fn sizes_outside_the_range_are_refused() {
        assert_eq!(png("x", 10).unwrap_err(), QrError::Size);
        assert_eq!(svg("x", 5000).unwrap_err(), QrError::Size);
        assert_eq!(png(&"x".repeat(8000), 512).unwrap_err(), QrError::TooLong);
    }
}
