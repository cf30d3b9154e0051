//! The file around a plan's body: a fixed envelope and a SHA-256 digest over the body
//! (docs/saved-plans.md, "The file").
//!
//! ```text
//! {"format":"shopsync-plan","version":1,"body":BODY,"digest":"sha256:HEX"}\n
//! ```
//!
//! `HEX` is SHA-256 over `shopsync-plan/1\n` followed by the exact bytes of `BODY`. A
//! reader takes the envelope to be exactly this text: a byte changed anywhere is refused,
//! in the body (the digest no longer matches) or around it (not the envelope). The digest
//! is not a signature: anyone who can write the file can compute it again.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::fingerprint::Fingerprints;
use super::schema::{saved_item, Body, BodySeed, PlanHeader};
use super::SavedPlanError;
use crate::sync::plan::Plan;

/// The `format` every saved plan names.
pub const FORMAT: &str = "shopsync-plan";
/// The schema version this build writes and reads.
pub const VERSION: u32 = 1;

const PREFIX: &str = "{\"format\":\"shopsync-plan\",\"version\":1,\"body\":";
const DIGEST_HEAD: &str = ",\"digest\":\"sha256:";
const END: &str = "\"}\n";
const HEX_LEN: usize = 64;

fn hasher() -> Sha256 {
    let mut h = Sha256::new();
    h.update(format!("{FORMAT}/{VERSION}\n").as_bytes());
    h
}

/// The digest of a body, as the file spells it (hex).
pub fn digest_of(body: &str) -> String {
    let mut h = hasher();
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

/// The whole file for `body`: what `plan --out` writes (streamed). Public because the
/// digest is no secret: tests and tools can seal an edited body, which is exactly why it
/// protects against accidents and not against someone who means to change a plan.
pub fn seal(body: &str) -> String {
    format!("{PREFIX}{body}{DIGEST_HEAD}{}{END}", digest_of(body))
}

/// The body of a sealed file, once its envelope and digest are checked; and the digest.
pub fn unseal<'a>(path: &Path, text: &'a str) -> Result<(&'a str, String), SavedPlanError> {
    let not_a_plan = |why: &str| SavedPlanError::NotAPlan {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    if !text.starts_with(PREFIX) {
        // Another version of the format says so; anything else is not a plan.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if v.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
                if let Some(found) = v.get("version").and_then(|n| n.as_u64()) {
                    if found != u64::from(VERSION) {
                        return Err(SavedPlanError::Version {
                            path: path.to_path_buf(),
                            found,
                        });
                    }
                }
            }
        }
        return Err(not_a_plan(
            "it does not begin as `shopsync plan --out` writes a plan (changed, or not a plan)",
        ));
    }
    let tail = DIGEST_HEAD.len() + HEX_LEN + END.len();
    let bytes = text.as_bytes();
    let end_ok = bytes.len() >= PREFIX.len() + tail && bytes.ends_with(END.as_bytes());
    let tail_start = bytes.len().saturating_sub(tail);
    let hex = bytes
        .get(tail_start + DIGEST_HEAD.len()..bytes.len() - END.len())
        .unwrap_or_default();
    if !end_ok
        || !bytes[tail_start..].starts_with(DIGEST_HEAD.as_bytes())
        || !hex
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(not_a_plan(
            "it does not end with the plan's digest (cut short, or changed)",
        ));
    }
    // Every byte checked above is ASCII, so both cuts fall on character boundaries.
    let body = &text[PREFIX.len()..tail_start];
    let stored = &text[tail_start + DIGEST_HEAD.len()..text.len() - END.len()];
    let actual = digest_of(body);
    if actual != stored {
        return Err(SavedPlanError::Digest {
            path: path.to_path_buf(),
        });
    }
    Ok((body, actual))
}

/// The body of `text` (already unsealed) parsed.
pub fn parse_body(body: &str) -> Result<Body, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(body);
    let parsed = BodySeed.deserialize(&mut de)?;
    de.end()?;
    Ok(parsed)
}

/// Hashes what passes through it (the body) on its way from the file.
struct HashingReader<R: Read> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Files larger than this that do not begin as a plan are not read to say why.
const NOT_A_PLAN_READ_LIMIT: u64 = 1 << 20;

/// Read the file at `path` in one pass: the envelope checked, the body parsed item by
/// item while it is hashed, and the digest compared before anything parsed is returned
/// (so a file changed while it is read is refused as well). Returns the body and its
/// digest.
pub fn read(path: &Path) -> Result<(Body, String), SavedPlanError> {
    use serde::de::DeserializeSeed;
    let read_err = |source| SavedPlanError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    let tail = (DIGEST_HEAD.len() + HEX_LEN + END.len()) as u64;
    let mut head = Vec::with_capacity(PREFIX.len());
    (&mut file)
        .take(PREFIX.len() as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    if head != PREFIX.as_bytes() || len < PREFIX.len() as u64 + tail {
        // Not a plan of this version: small files are read whole to say what they are.
        if len <= NOT_A_PLAN_READ_LIMIT {
            let text = std::fs::read_to_string(path).map_err(read_err)?;
            unseal(path, &text)?;
        }
        return Err(SavedPlanError::NotAPlan {
            path: path.to_path_buf(),
            why:
                "it does not begin as `shopsync plan --out` writes a plan (changed, or not a plan)"
                    .into(),
        });
    }
    let body_len = len - PREFIX.len() as u64 - tail;
    let hashing = HashingReader {
        inner: (&mut file).take(body_len),
        hash: hasher(),
    };
    let mut buffered = std::io::BufReader::with_capacity(256 * 1024, hashing);
    let parsed = {
        let mut de = serde_json::Deserializer::from_reader(&mut buffered);
        BodySeed
            .deserialize(&mut de)
            .and_then(|body| de.end().map(|()| body))
    };
    // Whatever the parser left (after an error) is hashed too: a damaged body is reported
    // as damaged, not as a JSON error.
    std::io::copy(&mut buffered, &mut std::io::sink()).map_err(read_err)?;
    let actual = hex::encode(buffered.into_inner().hash.finalize());
    let mut end = Vec::with_capacity(tail as usize + 1);
    file.take(tail + 1)
        .read_to_end(&mut end)
        .map_err(read_err)?;
    let stored = end
        .strip_prefix(DIGEST_HEAD.as_bytes())
        .and_then(|rest| rest.strip_suffix(END.as_bytes()))
        .filter(|hex| {
            hex.len() == HEX_LEN
                && hex
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        });
    let Some(stored) = stored else {
        return Err(SavedPlanError::NotAPlan {
            path: path.to_path_buf(),
            why: "it does not end with the plan's digest (cut short, or changed)".into(),
        });
    };
    if stored != actual.as_bytes() {
        return Err(SavedPlanError::Digest {
            path: path.to_path_buf(),
        });
    }
    let body = parsed.map_err(|e| SavedPlanError::Body {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    Ok((body, actual))
}

/// Hashes what it writes (the body) on its way to the file.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The body, streamed item by item (memory does not grow with the plan beyond the plan).
fn write_body(
    out: &mut dyn Write,
    header: &PlanHeader,
    plan: &Plan,
    fingerprints: &Fingerprints,
) -> std::io::Result<()> {
    let json = |e: serde_json::Error| std::io::Error::other(e.to_string());
    out.write_all(b"{\"header\":")?;
    serde_json::to_writer(&mut *out, header).map_err(json)?;
    out.write_all(b",\"counts\":")?;
    serde_json::to_writer(&mut *out, &plan.counts()).map_err(json)?;
    // What `plan` showed besides the items (the photos to upload, the category names);
    // `sync --plan` recomputes both, `show-plan` shows them.
    if !plan.photos.is_empty() {
        out.write_all(b",\"photos\":")?;
        serde_json::to_writer(&mut *out, &plan.photos).map_err(json)?;
    }
    if !plan.categories.is_empty() {
        out.write_all(b",\"categories\":")?;
        serde_json::to_writer(&mut *out, &plan.categories).map_err(json)?;
    }
    out.write_all(b",\"items\":[")?;
    for (i, item) in plan.items.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &saved_item(item, fingerprints)).map_err(json)?;
    }
    out.write_all(b"\n]}")
}

/// Write the plan to `path` (through a temporary file in the same directory, renamed
/// into place, so a reader never sees half a plan). Returns the digest.
pub fn write(
    path: &Path,
    header: &PlanHeader,
    plan: &Plan,
    fingerprints: &Fingerprints,
) -> Result<String, SavedPlanError> {
    let tmp = temp_path(path);
    let io = |source| SavedPlanError::Write {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        out.write_all(PREFIX.as_bytes())?;
        let mut body = Hashing {
            inner: &mut out,
            hash: hasher(),
        };
        write_body(&mut body, header, plan, fingerprints)?;
        let digest = hex::encode(body.hash.finalize());
        write!(out, "{DIGEST_HEAD}{digest}{END}")?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(digest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_unseals_and_any_changed_byte_is_refused() {
        let body = r#"{"header":{},"items":[]}"#;
        let text = seal(body);
        let p = Path::new("p.json");
        let (b, d) = unseal(p, &text).unwrap();
        assert_eq!(b, body);
        assert_eq!(d, digest_of(body));
        serde_json::from_str::<serde_json::Value>(&text).expect("the file is JSON");
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(changed) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(
                unseal(p, &changed).is_err(),
                "byte {i} changed, still accepted"
            );
        }
        assert!(unseal(p, &text[..text.len() - 1]).is_err());
        assert!(unseal(p, &text[..text.len() - 10]).is_err());
        assert!(unseal(p, "").is_err());
        let other = text.replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            unseal(p, &other),
            Err(SavedPlanError::Version { found: 2, .. })
        ));
    }
}
