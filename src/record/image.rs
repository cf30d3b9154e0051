//! Values of the image fields (`main_image`, `audit_images`, `brand_logo`, `licence`,
//! `business_certificate`, `auth_letter`, `other_authorization`): each item is an Alipay
//! image id, a local file path or an `http(s)` URL, recognised by its text alone:
//!
//! - `http://…` or `https://…` (the scheme in any case) is a URL;
//! - only letters, digits, `_` and `-` is an Alipay image id (what image.upload issues,
//!   e.g. `1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC`);
//! - anything else is a file path, relative to `[images] dir` unless absolute. An id never
//!   holds `.` or `/`, so `photos/front.jpg` and `front.jpg` are paths; a file without an
//!   extension is written `./front`.
//!
//! Another scheme (`ftp://`, `file://`) and control characters are refused. Lists
//! (`audit_images`, `other_authorization`) are separated by `,` `;` `、` (or their
//! full-width forms) and may mix the three kinds; a comma inside a URL must be written
//! `%2C`. Ids are width-folded (`１Ｔ８…` → `1T8…`); paths and URLs are kept as written.

use super::text::{fold_width, show};
use super::Field;

/// The fields whose values are images, in `Field::ALL` order.
pub const IMAGE_FIELDS: [Field; 7] = [
    Field::BrandLogo,
    Field::MainImage,
    Field::AuditImages,
    Field::Licence,
    Field::BusinessCertificate,
    Field::AuthLetter,
    Field::OtherAuthorization,
];

/// Longest path or URL accepted in one item (characters).
pub const MAX_REF_CHARS: usize = 2048;

/// One item of an image field, borrowed from the normalised value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageRef<'a> {
    /// An Alipay image id: sent as is.
    Id(&'a str),
    /// A local file: uploaded first.
    Path(&'a str),
    /// An `http(s)` URL: downloaded, then uploaded.
    Url(&'a str),
}

impl<'a> ImageRef<'a> {
    /// Recognise one trimmed item (of a normalised value: always succeeds on those).
    pub fn parse(item: &'a str) -> Result<ImageRef<'a>, String> {
        if item.is_empty() {
            return Err("empty image item".into());
        }
        if let Some(c) = item.chars().find(|c| c.is_control()) {
            return Err(format!(
                "{} contains control character U+{:04X}",
                show(item),
                c as u32
            ));
        }
        if is_image_id(item) {
            return Ok(ImageRef::Id(item));
        }
        if item.chars().count() > MAX_REF_CHARS {
            return Err(format!(
                "{} is longer than {MAX_REF_CHARS} characters",
                show(item)
            ));
        }
        if let Some((scheme, _)) = item.split_once("://") {
            let plain = scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if plain && !scheme.is_empty() {
                return if scheme.eq_ignore_ascii_case("http")
                    || scheme.eq_ignore_ascii_case("https")
                {
                    Ok(ImageRef::Url(item))
                } else {
                    Err(format!(
                        "{} is not an image id, file path or http(s) URL ({scheme}:// is not fetched)",
                        show(item)
                    ))
                };
            }
        }
        Ok(ImageRef::Path(item))
    }

    /// The item as the export wrote it (after normalisation).
    pub fn text(&self) -> &'a str {
        match self {
            ImageRef::Id(s) | ImageRef::Path(s) | ImageRef::Url(s) => s,
        }
    }

    /// A file or a URL: content shopsync must upload before Alipay knows it.
    pub fn is_content(&self) -> bool {
        !matches!(self, ImageRef::Id(_))
    }
}

/// True for text made only of `[A-Za-z0-9_-]` (an Alipay image id).
pub fn is_image_id(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The items of a normalised image value (comma-separated; a single-image field's value
/// never holds a comma).
pub fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',')
}

/// Normalise an image field's raw value: split (lists only), trim, width-fold ids, check
/// each item; join with `,`. A single-image field takes exactly one item.
pub(crate) fn normalise_images(field: Field, v: &str) -> Result<String, String> {
    let list = matches!(field, Field::AuditImages | Field::OtherAuthorization);
    // Fast path: one id already in canonical form (the common case of exports that hold
    // Alipay ids).
    if is_image_id(v) {
        return Ok(v.to_string());
    }
    let parts: Vec<&str> = if list {
        v.split([',', '，', ';', '；', '、'])
            .map(str::trim)
            .collect()
    } else {
        vec![v]
    };
    let mut out = String::with_capacity(v.len());
    for part in parts {
        if part.is_empty() {
            return Err("empty item in the list (doubled or trailing separator)".into());
        }
        let folded = fold_width(part);
        let item = if is_image_id(&folded) {
            folded.as_ref()
        } else {
            ImageRef::parse(part)?;
            part
        };
        if !list && item.contains(',') {
            return Err(format!(
                "{} holds a comma; {field} takes one image (rename a file whose name has a comma)",
                show(item)
            ));
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_recognised_by_their_text() {
        assert_eq!(
            ImageRef::parse("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
            Ok(ImageRef::Id("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"))
        );
        assert_eq!(
            ImageRef::parse("photos/front.jpg"),
            Ok(ImageRef::Path("photos/front.jpg"))
        );
        assert_eq!(
            ImageRef::parse("front.jpg"),
            Ok(ImageRef::Path("front.jpg"))
        );
        assert_eq!(ImageRef::parse("./front"), Ok(ImageRef::Path("./front")));
        assert_eq!(
            ImageRef::parse("门店照片/门头 1.jpg"),
            Ok(ImageRef::Path("门店照片/门头 1.jpg"))
        );
        assert_eq!(
            ImageRef::parse("HTTPS://cdn.example.com/a.jpg?x=1"),
            Ok(ImageRef::Url("HTTPS://cdn.example.com/a.jpg?x=1"))
        );
        assert!(ImageRef::parse("http://127.0.0.1:8080/a.png")
            .unwrap()
            .is_content());
        let ftp = ImageRef::parse("ftp://example.com/a.jpg").unwrap_err();
        assert!(ftp.contains("ftp:// is not fetched"), "{ftp}");
        assert!(ImageRef::parse("a\u{7}.jpg")
            .unwrap_err()
            .contains("U+0007"));
        assert!(!ImageRef::parse("front").unwrap().is_content(), "an id");
    }

    #[test]
    fn lists_mix_kinds_and_normalise_idempotently() {
        let v = normalise_images(
            Field::AuditImages,
            " １Ｔ８Pp00AT7eo9NoAJkMR3AAAACMAAQEC ， photos/in 1.jpg；https://x/y.png ",
        )
        .unwrap();
        assert_eq!(
            v,
            "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,photos/in 1.jpg,https://x/y.png"
        );
        assert_eq!(normalise_images(Field::AuditImages, &v).unwrap(), v);
        let kinds: Vec<bool> = items(&v)
            .map(|i| ImageRef::parse(i).unwrap().is_content())
            .collect();
        assert_eq!(kinds, [false, true, true]);
        assert!(normalise_images(Field::AuditImages, "a.jpg,,b.jpg")
            .unwrap_err()
            .contains("empty item"));
        // A single-image field takes one item: values never hold a comma but as separator.
        assert!(normalise_images(Field::MainImage, "photos/a,b.jpg")
            .unwrap_err()
            .contains("takes one image"));
        assert!(normalise_images(Field::MainImage, "AAA,BBB")
            .unwrap_err()
            .contains("takes one image"));
    }
}
