//! A plain text table: columns padded to their widest cell (CJK characters count as two
//! columns), separated by two spaces, no trailing blanks.

use std::io::Write;

pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Put a `MERCHANT` column first (one cell per row, in row order) when any merchant
    /// is named: an ISV database says which merchant each line is; a single-merchant one
    /// keeps its columns.
    pub(crate) fn with_merchants<'a>(&mut self, merchants: impl Iterator<Item = &'a str>) {
        let merchants: Vec<&str> = merchants.collect();
        if merchants.iter().all(|m| m.is_empty()) {
            return;
        }
        self.headers.insert(0, "MERCHANT");
        for (row, m) in self.rows.iter_mut().zip(merchants) {
            row.insert(
                0,
                if m.is_empty() {
                    "-".into()
                } else {
                    m.to_string()
                },
            );
        }
    }

    pub(crate) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(cell));
                }
            }
        }
        let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(width(cell));
                line.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Display width: East Asian wide and full-width characters take two columns.
pub(crate) fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = matches!(c,
                0x1100..=0x115F
                | 0x2E80..=0xA4CF
                | 0xAC00..=0xD7A3
                | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6
                | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}
