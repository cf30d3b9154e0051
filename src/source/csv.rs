//! CSV exports.
//!
//! Memory stays bounded whatever the file holds: the file is parsed with `csv_core`
//! straight from a fixed-size `BufReader` (through an `encoding_rs_io` decoder for
//! GBK/GB18030/UTF-16), into one record buffer that grows to at most
//! [`MAX_RECORD_BYTES`](super::MAX_RECORD_BYTES) of cell content and
//! [`MAX_FIELDS`] fields. A longer record (a 100 MB line, a runaway quote) is parsed to its
//! end into a small scratch buffer that is overwritten, so nothing of it is kept, and it
//! becomes a reject. The only other per-row state kept is the store id set for the
//! duplicate check.
//!
//! Line numbers are counted here (not by the parser): a record's line is the line its first
//! byte is on, 1-based, the header being line 1, so quoted newlines and blank lines keep
//! later numbers right.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};

use csv_core::ReadRecordResult;
use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::mapping::{clean_headers, Collector, Mapping};
use super::{file_name, Loaded, SourceConfig, SourceEncoding, SourceError, MAX_RECORD_BYTES};

/// Most fields a record may have.
pub const MAX_FIELDS: usize = 16_384;
/// Bytes looked at to guess the encoding (`auto`).
const SNIFF_BYTES: u64 = 256 * 1024;

enum Raw {
    Record { line: u64 },
    TooLong { line: u64 },
}

struct RecordReader {
    rdr: Box<dyn BufRead>,
    core: csv_core::Reader,
    file: String,
    /// Line of the next unread byte.
    next_line: u64,
    out: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    /// The bytes were decoded from another encoding: U+FFFD marks undecodable input.
    decoded: Option<&'static Encoding>,
}

impl RecordReader {
    fn fill(&mut self) -> Result<&[u8], SourceError> {
        let line = self.next_line;
        let file = &self.file;
        self.rdr.fill_buf().map_err(|source| SourceError::Read {
            file: file.clone(),
            line,
            source,
        })
    }

    /// Skip line breaks between records; false at end of input.
    fn skip_blank(&mut self) -> Result<bool, SourceError> {
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let n = buf
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
            let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            let all = n == buf.len();
            self.rdr.consume(n);
            self.next_line += newlines;
            if !all {
                return Ok(true);
            }
        }
    }

    fn next(&mut self) -> Result<Option<Raw>, SourceError> {
        if !self.skip_blank()? {
            return Ok(None);
        }
        let line = self.next_line;
        let (mut out_len, mut ends_len, mut too_long) = (0, 0, false);
        loop {
            let at = self.next_line;
            let Self {
                rdr,
                core,
                out,
                ends,
                scratch,
                scratch_ends,
                file,
                ..
            } = self;
            let buf = rdr.fill_buf().map_err(|source| SourceError::Read {
                file: file.clone(),
                line: at,
                source,
            })?;
            let (res, nin, nout, nend) = if too_long {
                core.read_record(buf, scratch, scratch_ends)
            } else {
                core.read_record(buf, &mut out[out_len..], &mut ends[ends_len..])
            };
            let newlines = buf[..nin].iter().filter(|&&b| b == b'\n').count() as u64;
            rdr.consume(nin);
            self.next_line += newlines;
            if !too_long {
                out_len += nout;
                ends_len += nend;
            }
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull if !too_long => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        too_long = true;
                    } else {
                        let len = (self.out.len() * 2).min(MAX_RECORD_BYTES);
                        self.out.resize(len, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull if !too_long => {
                    if self.ends.len() >= MAX_FIELDS {
                        too_long = true;
                    } else {
                        let len = (self.ends.len() * 2).min(MAX_FIELDS);
                        self.ends.resize(len, 0);
                    }
                }
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
                ReadRecordResult::Record if too_long => return Ok(Some(Raw::TooLong { line })),
                ReadRecordResult::Record => {
                    self.out_len = out_len;
                    self.ends_len = ends_len;
                    return Ok(Some(Raw::Record { line }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The fields of the last record, as bytes.
    fn fields(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends[..self.ends_len]
            .iter()
            .map(|&end| {
                let end = end.min(self.out_len);
                let f = &self.out[start.min(end)..end];
                start = end;
                f
            })
            .collect()
    }

    /// The last record as text, or why it is not.
    fn text_fields(&self) -> Result<Vec<&str>, String> {
        let mut cells = Vec::new();
        for (i, bytes) in self.fields().into_iter().enumerate() {
            let s = std::str::from_utf8(bytes).map_err(|e| {
                format!(
                    "field {} is not valid UTF-8 (byte {} of the field); set source.encoding if the file is GBK",
                    i + 1,
                    e.valid_up_to() + 1
                )
            })?;
            if let Some(enc) = self.decoded {
                if s.contains('\u{fffd}') {
                    return Err(format!(
                        "field {} holds bytes that are not valid {}",
                        i + 1,
                        enc.name()
                    ));
                }
            }
            cells.push(s);
        }
        Ok(cells)
    }

    fn lossy_fields(&self) -> Vec<String> {
        self.fields()
            .into_iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }
}

pub(super) fn delimiter(cfg: &SourceConfig) -> Result<u8, SourceError> {
    let d = match cfg.delimiter.as_str() {
        "\\t" | "tab" => "\t",
        d => d,
    };
    match d.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(*b),
        _ => Err(SourceError::BadDelimiter {
            file: file_name(cfg),
            delimiter: cfg.delimiter.clone(),
        }),
    }
}

/// Which decoding to use: None = UTF-8 as is.
fn pick_encoding(cfg: SourceEncoding, sample: &[u8]) -> Option<&'static Encoding> {
    match cfg {
        SourceEncoding::Utf8 => None,
        SourceEncoding::Gbk => Some(encoding_rs::GBK),
        SourceEncoding::Gb18030 => Some(encoding_rs::GB18030),
        SourceEncoding::Auto => {
            if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
                return Some(encoding_rs::UTF_16LE); // the BOM picks the byte order
            }
            match std::str::from_utf8(sample) {
                Ok(_) => None,
                Err(e) if e.error_len().is_none() => None, // cut mid-character at the end
                Err(_) if clean_gb18030(sample) => Some(encoding_rs::GB18030),
                Err(_) => None, // neither: read as UTF-8 so the bad rows are rejected
            }
        }
    }
}

fn clean_gb18030(sample: &[u8]) -> bool {
    let mut dec = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let Some(cap) = dec.max_utf8_buffer_length_without_replacement(sample.len()) else {
        return false;
    };
    let mut out = String::with_capacity(cap);
    let (res, _) = dec.decode_to_string_without_replacement(sample, &mut out, false);
    matches!(res, encoding_rs::DecoderResult::InputEmpty)
}

fn open(cfg: &SourceConfig) -> Result<RecordReader, SourceError> {
    let file = file_name(cfg);
    if cfg.query.is_some() {
        return Err(SourceError::BadConfig {
            file,
            reason: "source.query is only used with kind = \"sqlite\"".to_string(),
        });
    }
    let delim = delimiter(cfg)?;
    let mut f = File::open(&cfg.path).map_err(|source| SourceError::Open {
        file: file.clone(),
        source,
    })?;
    let mut sample = Vec::new();
    (&mut f)
        .take(SNIFF_BYTES)
        .read_to_end(&mut sample)
        .map_err(|source| SourceError::Read {
            file: file.clone(),
            line: 1,
            source,
        })?;
    let decoded = if sample.starts_with(b"\xEF\xBB\xBF") {
        sample.drain(..3);
        None
    } else {
        pick_encoding(cfg.encoding, &sample)
    };
    let bytes = Cursor::new(sample).chain(f);
    let rdr: Box<dyn BufRead> = match decoded {
        None => Box::new(BufReader::with_capacity(64 * 1024, bytes)),
        Some(enc) => Box::new(BufReader::with_capacity(
            64 * 1024,
            DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .build(bytes),
        )),
    };
    Ok(RecordReader {
        rdr,
        core: csv_core::ReaderBuilder::new().delimiter(delim).build(),
        file,
        next_line: 1,
        out: vec![0; 4096],
        ends: vec![0; 64],
        out_len: 0,
        ends_len: 0,
        scratch: vec![0; 8192],
        scratch_ends: vec![0; 256],
        decoded,
    })
}

fn header(rdr: &mut RecordReader) -> Result<Vec<String>, SourceError> {
    let file = rdr.file.clone();
    let bad = |line, reason: String| SourceError::BadHeader {
        file: file.clone(),
        line,
        reason,
    };
    match rdr.next()? {
        None => Err(SourceError::Empty { file: file.clone() }),
        Some(Raw::TooLong { line }) => {
            Err(bad(line, format!("longer than {MAX_RECORD_BYTES} bytes")))
        }
        Some(Raw::Record { line }) => {
            let cells = rdr.text_fields().map_err(|r| bad(line, r))?;
            Ok(clean_headers(
                cells.into_iter().map(str::to_string).collect(),
            ))
        }
    }
}

pub(super) fn check(cfg: &SourceConfig) -> Result<Vec<String>, SourceError> {
    let mut rdr = open(cfg)?;
    let headers = header(&mut rdr)?;
    Mapping::new(cfg, &headers)?;
    Ok(headers)
}

pub(super) fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let mut rdr = open(cfg)?;
    let headers = header(&mut rdr)?;
    let mut rows = Collector::new(Mapping::new(cfg, &headers)?);
    while let Some(raw) = rdr.next()? {
        match raw {
            Raw::TooLong { line } => rows.unreadable(
                line,
                &[],
                format!(
                    "record longer than {MAX_RECORD_BYTES} bytes or {MAX_FIELDS} fields; skipped"
                ),
            ),
            Raw::Record { line } => match rdr.text_fields() {
                Ok(cells) => rows.row(line, &cells),
                Err(reason) => rows.unreadable(line, &rdr.lossy_fields(), reason),
            },
        }
    }
    Ok(rows.finish())
}
