//! Is `source.query` one SELECT? A small tokenizer that knows each dialect's comments,
//! string literals and quoted identifiers, so a `;` or a keyword inside them is not
//! mistaken for code. It refuses: anything but SELECT or WITH as the first word (after
//! opening parentheses); a second statement after a `;`; the words INSERT, UPDATE, DELETE,
//! MERGE and INTO anywhere outside literals (data-modifying CTEs, `SELECT … INTO`,
//! `INTO OUTFILE`, `FOR UPDATE`); MySQL's executable comments `/*! … */`; an unterminated
//! literal or comment.
//!
//! This is the early, offline check that `validate` reports. It is not the only guard:
//! the query is also prepared on the server first (a prepared statement is one statement)
//! and runs inside a read-only transaction.

/// Whose lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `"…"` identifiers, `$tag$…$tag$`, `E'…'` with backslash escapes, nested `/* */`.
    Postgres,
    /// `'…'`/`"…"` strings with backslash escapes, `` `…` `` identifiers, `#` and `-- `
    /// comments.
    Mysql,
}

const REFUSED: [&str; 5] = ["INSERT", "UPDATE", "DELETE", "MERGE", "INTO"];

/// The statement (without a trailing `;` and what follows it), or why it is refused. The
/// reason names the line and column.
pub(crate) fn single_select(query: &str, dialect: Dialect) -> Result<&str, String> {
    let mut lexer = Lexer {
        text: query.as_bytes(),
        at: 0,
        dialect,
    };
    let mut first = true;
    let mut end: Option<usize> = None;
    while let Some(token) = lexer.next().map_err(|(at, why)| at_pos(query, at, &why))? {
        if end.is_some() {
            return Err(at_pos(
                query,
                token.start,
                "a second statement after ';' (source.query must be one SELECT)",
            ));
        }
        match token.kind {
            Kind::Semicolon => end = Some(token.start),
            Kind::Punct(b'(') if first => {}
            Kind::Word => {
                let word = query[token.start..lexer.at].to_ascii_uppercase();
                if first && word != "SELECT" && word != "WITH" {
                    return Err(at_pos(
                        query,
                        token.start,
                        &format!("starts with {word}; source.query must be one SELECT (or WITH … SELECT)"),
                    ));
                }
                if REFUSED.contains(&word.as_str()) {
                    return Err(at_pos(
                        query,
                        token.start,
                        &format!("{word} is not allowed: source.query must only read"),
                    ));
                }
                first = false;
            }
            _ if first => {
                return Err(at_pos(
                    query,
                    token.start,
                    "source.query must be one SELECT (or WITH … SELECT)",
                ))
            }
            _ => {}
        }
    }
    if first {
        return Err("source.query is empty".to_string());
    }
    Ok(query[..end.unwrap_or(query.len())].trim_end())
}

fn at_pos(query: &str, at: usize, why: &str) -> String {
    let before = &query[..at.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}: {why}")
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Word,
    Semicolon,
    /// A literal, quoted identifier, number or operator: code, but not a word.
    Other,
    Punct(u8),
}

struct Token {
    start: usize,
    kind: Kind,
}

struct Lexer<'a> {
    text: &'a [u8],
    at: usize,
    dialect: Dialect,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.at + ahead).copied()
    }

    /// The next token after whitespace and comments; Err((offset, reason)).
    fn next(&mut self) -> Result<Option<Token>, (usize, String)> {
        loop {
            let Some(b) = self.peek(0) else {
                return Ok(None);
            };
            let start = self.at;
            match b {
                b if b.is_ascii_whitespace() => self.at += 1,
                b'-' if self.peek(1) == Some(b'-') && self.dash_comment() => self.skip_line(),
                b'#' if self.dialect == Dialect::Mysql => self.skip_line(),
                b'/' if self.peek(1) == Some(b'*') => {
                    if self.dialect == Dialect::Mysql
                        && (self.peek(2) == Some(b'!')
                            || (self.peek(2) == Some(b'M') && self.peek(3) == Some(b'!')))
                    {
                        return Err((
                            start,
                            "MySQL executable comments (/*! … */) are not allowed".into(),
                        ));
                    }
                    self.block_comment()?;
                }
                b';' => {
                    self.at += 1;
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Semicolon,
                    }));
                }
                b'\'' => {
                    let backslash = self.dialect == Dialect::Mysql || self.e_prefix(start);
                    self.quoted(b'\'', backslash)?;
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Other,
                    }));
                }
                b'"' => {
                    self.quoted(b'"', self.dialect == Dialect::Mysql)?;
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Other,
                    }));
                }
                b'`' if self.dialect == Dialect::Mysql => {
                    self.quoted(b'`', false)?;
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Other,
                    }));
                }
                b'$' if self.dialect == Dialect::Postgres => {
                    let kind = if self.dollar_quote()? {
                        Kind::Other
                    } else {
                        self.at += 1;
                        Kind::Punct(b'$')
                    };
                    return Ok(Some(Token { start, kind }));
                }
                b if is_word_byte(b) && !b.is_ascii_digit() => {
                    while self.peek(0).is_some_and(is_word_byte) {
                        self.at += 1;
                    }
                    // `E'…'` is one literal: the quote follows directly.
                    if self.peek(0) == Some(b'\'') && self.e_prefix(self.at) {
                        continue;
                    }
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Word,
                    }));
                }
                b if b.is_ascii_digit() => {
                    while self
                        .peek(0)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                    {
                        self.at += 1;
                    }
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Other,
                    }));
                }
                b => {
                    self.at += 1;
                    return Ok(Some(Token {
                        start,
                        kind: Kind::Punct(b),
                    }));
                }
            }
        }
    }

    /// `--` starts a comment; in MySQL only when a space, control character or the end
    /// follows (`1--1` is arithmetic there).
    fn dash_comment(&self) -> bool {
        match self.dialect {
            Dialect::Postgres => true,
            Dialect::Mysql => self.peek(2).is_none_or(|c| c <= b' '),
        }
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek(0) {
            self.at += 1;
            if b == b'\n' {
                break;
            }
        }
    }

    /// `/* … */`; PostgreSQL nests them, MySQL does not.
    fn block_comment(&mut self) -> Result<(), (usize, String)> {
        let start = self.at;
        self.at += 2;
        let mut depth = 1;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return Err((start, "unterminated /* comment".into())),
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.at += 2;
                }
                (Some(b'/'), Some(b'*')) if self.dialect == Dialect::Postgres => {
                    depth += 1;
                    self.at += 2;
                }
                _ => self.at += 1,
            }
        }
        Ok(())
    }

    /// Whether the quote at `quote` is an `E'…'` string (PostgreSQL backslash escapes).
    fn e_prefix(&self, quote: usize) -> bool {
        self.dialect == Dialect::Postgres
            && quote >= 1
            && matches!(self.text[quote - 1], b'E' | b'e')
            && (quote < 2 || !is_word_byte(self.text[quote - 2]))
    }

    /// A literal or identifier quoted with `q` (doubled `q` is an escaped quote).
    fn quoted(&mut self, q: u8, backslash: bool) -> Result<(), (usize, String)> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek(0) {
                None => {
                    let what = if q == b'\'' {
                        "string literal"
                    } else {
                        "quoted name"
                    };
                    return Err((start, format!("unterminated {what}")));
                }
                Some(b'\\') if backslash => self.at += 2,
                Some(c) if c == q => {
                    self.at += 1;
                    if self.peek(0) == Some(q) {
                        self.at += 1;
                    } else {
                        return Ok(());
                    }
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// `$tag$ … $tag$` (PostgreSQL). Ok(false), not moving, when this `$` starts no dollar
    /// quote (`$1`).
    fn dollar_quote(&mut self) -> Result<bool, (usize, String)> {
        let start = self.at;
        let mut end = start + 1;
        while end < self.text.len() && is_word_byte(self.text[end]) && self.text[end] != b'$' {
            end += 1;
        }
        let tag_ok = end < self.text.len()
            && self.text[end] == b'$'
            && !self.text.get(start + 1).is_some_and(u8::is_ascii_digit);
        if !tag_ok {
            return Ok(false);
        }
        let tag = &self.text[start..=end];
        let body = end + 1;
        match self.text[body..].windows(tag.len()).position(|w| w == tag) {
            Some(i) => {
                self.at = body + i + tag.len();
                Ok(true)
            }
            None => Err((start, "unterminated $-quoted string".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(q: &str) -> Result<&str, String> {
        single_select(q, Dialect::Postgres)
    }

    fn my(q: &str) -> Result<&str, String> {
        single_select(q, Dialect::Mysql)
    }

    #[test]
    fn selects_pass_and_lose_a_trailing_semicolon() {
        assert_eq!(
            pg("SELECT * FROM stores;  -- done\n").unwrap(),
            "SELECT * FROM stores"
        );
        // Leading text stays: the server's error positions must match the config's query.
        assert_eq!(my("  select 1 ; # end").unwrap(), "  select 1");
        assert!(pg("WITH s AS (SELECT 1) SELECT * FROM s").is_ok());
        assert!(pg("(SELECT 1) UNION (SELECT 2)").is_ok());
        assert!(pg("/* a; b */ SELECT 'x; DELETE' AS \"a;b\", $$;$$, $t$ ; $t$ FROM t").is_ok());
        assert!(pg("SELECT E'it\\'s; fine' FROM t").is_ok());
        assert!(my("SELECT 'it\\'s; fine', \"x\\\"; y\", `a;b` FROM t").is_ok());
        assert!(my("SELECT 1--1 FROM t").is_ok());
        assert!(pg("SELECT last_update, updated_at, inserted FROM t").is_ok());
    }

    #[test]
    fn a_second_statement_is_refused_with_its_position() {
        let err = pg("SELECT 1;\n  DROP TABLE stores").unwrap_err();
        assert!(
            err.starts_with("line 2, column 3: a second statement"),
            "{err}"
        );
        assert!(my("SELECT 1; SELECT 2").is_err());
        // `-- ` is a comment in MySQL only with a space after it.
        assert!(my("SELECT 1 --1\n; DELETE FROM t").is_err());
        // PostgreSQL comments nest; the `;` is still inside one.
        assert!(pg("SELECT 1 /* a /* b */ ; */").is_ok());
        assert!(my("SELECT 1 /* a /* b */ ; */").is_err());
    }

    #[test]
    fn statements_that_write_or_are_not_selects_are_refused() {
        for q in [
            "UPDATE stores SET closed = 1",
            "DELETE FROM stores",
            "insert into t values (1)",
            "TABLE stores",
            "VALUES (1)",
            "CALL p()",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO copy FROM stores",
            "SELECT * FROM stores FOR UPDATE",
            "",
            "  -- nothing\n",
        ] {
            assert!(pg(q).is_err(), "{q}");
        }
        assert!(my("SELECT * FROM t INTO OUTFILE '/tmp/x'").is_err());
        let err = my("SELECT 1 /*! ; DROP TABLE t */").unwrap_err();
        assert!(err.contains("executable comments"), "{err}");
    }

    #[test]
    fn unterminated_literals_and_comments_are_refused() {
        for q in [
            "SELECT 'abc",
            "SELECT \"abc",
            "SELECT 1 /* x",
            "SELECT $a$ x",
        ] {
            let err = pg(q).unwrap_err();
            assert!(err.contains("unterminated"), "{q}: {err}");
        }
        assert!(my("SELECT 'a\\'").unwrap_err().contains("unterminated"));
    }
}
