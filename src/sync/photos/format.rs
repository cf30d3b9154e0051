//! What Alipay takes, decided from the bytes (never from the file name): JPEG, PNG, GIF or
//! BMP, at most 5 MB, structurally whole (a truncated or corrupt file is refused before
//! any call).

/// Largest photo Alipay takes (docs/protocol.md §4.8).
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;

/// An image format Alipay takes; `image_type` is sent to match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Bmp,
}

impl ImageFormat {
    /// The `image_type` sent with the upload.
    pub fn image_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Bmp => "bmp",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Bmp => "BMP",
        }
    }
}

/// A photo whose bytes passed the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Decide the format from the bytes and check that the file is whole. The error says why
/// Alipay would not take it.
pub fn check(bytes: &[u8]) -> Result<Checked, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let (format, dims) = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (ImageFormat::Jpeg, jpeg(bytes))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (ImageFormat::Png, png(bytes))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        (ImageFormat::Gif, gif(bytes))
    } else if bytes.starts_with(b"BM") && bytes.len() >= 26 {
        (ImageFormat::Bmp, bmp(bytes))
    } else {
        return Err(format!(
            "not a JPEG, PNG, GIF or BMP image (the bytes start with {})",
            preview(bytes)
        ));
    };
    match dims {
        Ok((width, height)) if width > 0 && height > 0 => Ok(Checked {
            format,
            width,
            height,
        }),
        Ok((width, height)) => Err(format!(
            "a corrupt {} file: its size is {width}×{height}",
            format.name()
        )),
        Err(why) => Err(format!(
            "a corrupt or truncated {} file: {why}",
            format.name()
        )),
    }
}

/// The reason for a file over [`MAX_BYTES`].
pub fn too_large(bytes: u64) -> String {
    format!(
        "{:.1} MB; Alipay takes at most 5 MB",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Walk the marker segments up to the scan: a frame header (SOFn) gives the size; the
/// entropy-coded data after the scan header must end with an end-of-image marker.
fn jpeg(b: &[u8]) -> Result<(u32, u32), String> {
    let mut at = 2;
    let mut size = None;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(at), b.get(at + 1)) else {
            return Err(format!("no marker at byte {at}"));
        };
        at += 2;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 => return Err("the image ends before its scan".into()),
            _ => {}
        }
        let len = be16(b, at).ok_or("a segment is cut short")? as usize;
        if len < 2 || at + len > b.len() {
            return Err(format!(
                "segment {marker:#04x} runs past the end of the file"
            ));
        }
        let sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if sof {
            let height = be16(b, at + 3).ok_or("the frame header is cut short")?;
            let width = be16(b, at + 5).ok_or("the frame header is cut short")?;
            size = Some((width, height));
        }
        at += len;
        if marker == 0xDA {
            break;
        }
    }
    let size = size.ok_or("no frame header before the scan")?;
    let tail = &b[at..];
    // Some cameras append data after the end-of-image marker; it must be there somewhere.
    if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(size)
    } else {
        Err("no end-of-image marker (the file is cut short)".into())
    }
}

/// The IHDR chunk first (with its CRC), IEND last.
fn png(b: &[u8]) -> Result<(u32, u32), String> {
    let len = be32(b, 8).ok_or("cut short after the signature")?;
    if len != 13 || b.get(12..16) != Some(b"IHDR") {
        return Err("the first chunk is not a 13-byte IHDR".into());
    }
    let data = b.get(12..29).ok_or("the IHDR chunk is cut short")?;
    let crc = be32(b, 29).ok_or("the IHDR chunk is cut short")?;
    if crc32(data) != crc {
        return Err("the IHDR chunk's checksum is wrong".into());
    }
    let width = be32(b, 16).unwrap_or(0);
    let height = be32(b, 20).unwrap_or(0);
    if !b.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]) {
        return Err("no IEND chunk at the end (the file is cut short)".into());
    }
    Ok((width, height))
}

/// The logical screen size; the trailer byte last.
fn gif(b: &[u8]) -> Result<(u32, u32), String> {
    let width = le16(b, 6).ok_or("cut short in the screen descriptor")?;
    let height = le16(b, 8).ok_or("cut short in the screen descriptor")?;
    if b.last() != Some(&0x3B) || b.len() < 14 {
        return Err("no trailer at the end (the file is cut short)".into());
    }
    Ok((width, height))
}

/// The header's file size matches, and the DIB header is one of the known sizes.
fn bmp(b: &[u8]) -> Result<(u32, u32), String> {
    let declared = le32(b, 2).unwrap_or(0) as usize;
    if declared != b.len() {
        return Err(format!(
            "the header says {declared} bytes, the file has {}",
            b.len()
        ));
    }
    let dib = le32(b, 14).unwrap_or(0);
    let (width, height) = match dib {
        12 => (le16(b, 18).unwrap_or(0), le16(b, 20).unwrap_or(0)),
        40 | 52 | 56 | 64 | 108 | 124 => {
            let w = le32(b, 18).unwrap_or(0) as i32;
            let h = le32(b, 22).unwrap_or(0) as i32;
            (w.unsigned_abs(), h.unsigned_abs())
        }
        other => return Err(format!("unknown header size {other}")),
    };
    let offset = le32(b, 10).unwrap_or(0) as usize;
    if offset >= b.len() {
        return Err("the pixel data starts past the end of the file".into());
    }
    Ok((width, height))
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG (the smallest whole file: signature, IHDR, IDAT, IEND).
    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn formats_are_decided_from_the_bytes() {
        let c = check(PNG_1X1).unwrap();
        assert_eq!((c.format, c.width, c.height), (ImageFormat::Png, 1, 1));
        assert_eq!(c.format.image_type(), "png");
        let cut = check(&PNG_1X1[..PNG_1X1.len() - 12]).unwrap_err();
        assert!(cut.contains("corrupt or truncated PNG"), "{cut}");
        let mut bad_crc = PNG_1X1.to_vec();
        bad_crc[20] = 9;
        assert!(check(&bad_crc).unwrap_err().contains("checksum"));
        let text = check(b"hello, I am not a photo").unwrap_err();
        assert!(text.contains("\"hello, I\""), "{text}");
        assert!(check(b"").unwrap_err().contains("empty"));
        let gif = b"GIF89a\x02\x00\x03\x00\x00\x00\x00,\x00\x00;";
        let c = check(gif).unwrap();
        assert_eq!((c.format, c.width, c.height), (ImageFormat::Gif, 2, 3));
        assert!(check(&gif[..gif.len() - 1]).is_err());
    }

    #[test]
    fn a_bmp_must_be_as_long_as_its_header_says() {
        let mut b = vec![0u8; 58];
        b[..2].copy_from_slice(b"BM");
        b[2..6].copy_from_slice(&58u32.to_le_bytes());
        b[10..14].copy_from_slice(&54u32.to_le_bytes());
        b[14..18].copy_from_slice(&40u32.to_le_bytes());
        b[18..22].copy_from_slice(&1i32.to_le_bytes());
        b[22..26].copy_from_slice(&(-1i32).to_le_bytes());
        let c = check(&b).unwrap();
        assert_eq!((c.format, c.width, c.height), (ImageFormat::Bmp, 1, 1));
        assert!(check(&b[..57])
            .unwrap_err()
            .contains("the header says 58 bytes"));
    }

    #[test]
    fn oversize_is_refused_by_length() {
        let big = vec![0xFFu8; MAX_BYTES as usize + 1];
        assert!(check(&big).unwrap_err().contains("at most 5 MB"));
    }
}
