//! A pull scanner for large JSON pages: it walks the envelope (objects and arrays) itself and
//! hands each small value to serde_json as a slice. serde_json reading from a stream goes a
//! byte at a time through `io::Read` with line and column bookkeeping; from a slice it is
//! several times faster (BENCHMARKS.md). So a page of any size is parsed
//! with one value (a row) in memory at a time, at nearly the speed of a page held whole.
//!
//! Errors are `serde_json::Error`s like the stream parser's: I/O failures and a body that
//! ends early are I/O errors (a sync retries them), anything else is a data error (it does
//! not). Positions are byte offsets into the body.

use std::io::{self, Read};

use serde::de::{DeserializeOwned, Error as _};

/// The largest single value handed to serde_json (a usage row is ~300 bytes).
const MAX_VALUE: usize = 1024 * 1024;

pub(crate) struct Scanner<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf`.
    offset: u64,
    scratch: Vec<u8>,
}

type Result<T> = std::result::Result<T, serde_json::Error>;

impl<R: Read> Scanner<R> {
    pub(crate) fn new(inner: R) -> Scanner<R> {
        Scanner {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            offset: 0,
            scratch: Vec::with_capacity(1024),
        }
    }

    fn at(&self) -> u64 {
        self.offset + self.pos as u64
    }

    fn error(&self, msg: &str) -> serde_json::Error {
        serde_json::Error::custom(format!("{msg} at byte {}", self.at()))
    }

    /// The next byte, not consumed; `None` at the end of the body.
    #[inline]
    fn peek_byte(&mut self) -> Result<Option<u8>> {
        if self.pos == self.len {
            self.offset += self.len as u64;
            self.pos = 0;
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(serde_json::Error::io(e)),
                }
            };
            if self.len == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    fn early_end(&self) -> serde_json::Error {
        serde_json::Error::io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the body ended early, at byte {}", self.at()),
        ))
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Result<u8> {
        loop {
            match self.peek_byte()? {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.pos += 1,
                Some(b) => return Ok(b),
                None => return Err(self.early_end()),
            }
        }
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<()> {
        if self.peek()? == want {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    /// An object: `member` is called with each key, and must take its value.
    pub(crate) fn object(
        &mut self,
        what: &str,
        mut member: impl FnMut(&str, &mut Self) -> Result<()>,
    ) -> Result<()> {
        self.items((b'{', b'}'), what, |s| {
            if s.peek()? != b'"' {
                return Err(s.error(&format!("expected a key in {what}")));
            }
            let key: String = s.value()?;
            s.expect(b':', "`:`")?;
            member(&key, s)
        })
    }

    /// An array: `element` is called for each element, and must take it.
    pub(crate) fn array(
        &mut self,
        what: &str,
        element: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.items((b'[', b']'), what, element)
    }

    /// The items between `open` and `close`, separated by commas, each taken by `item`.
    fn items(
        &mut self,
        (open, close): (u8, u8),
        what: &str,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.expect(open, what)?;
        if self.peek()? == close {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    let close = char::from(close);
                    return Err(self.error(&format!("expected `,` or `{close}` in {what}")));
                }
            }
        }
    }

    /// The next value, parsed by serde_json from its bytes: where it lies in the buffer
    /// when it is an object or array that ends there (most rows of a page), else from a
    /// copy, after a pass that finds its end.
    pub(crate) fn value<T: DeserializeOwned>(&mut self) -> Result<T> {
        let start = self.at();
        let at_value = |e: serde_json::Error| {
            serde_json::Error::custom(format!("{e} (in the value at byte {start})"))
        };
        if matches!(self.peek()?, b'{' | b'[') {
            // Self-delimiting: what follows it in the buffer is not read.
            let mut values = serde_json::Deserializer::from_slice(&self.buf[self.pos..self.len])
                .into_iter::<T>();
            match values.next() {
                Some(Ok(v)) => {
                    self.pos += values.byte_offset();
                    return Ok(v);
                }
                // It goes on past the buffer (or the body ends early): read it whole below.
                Some(Err(e)) if e.is_eof() => {}
                Some(Err(e)) => return Err(at_value(e)),
                None => {}
            }
        }
        self.take(true)?;
        serde_json::from_slice(&self.scratch).map_err(at_value)
    }

    /// Skips the next value.
    pub(crate) fn skip(&mut self) -> Result<()> {
        self.take(false)
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<()> {
        loop {
            match self.peek_byte()? {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.pos += 1,
                Some(_) => return Err(self.error("trailing characters")),
                None => return Ok(()),
            }
        }
    }

    /// Consumes one whole value, into `scratch` when `keep`. Nesting is counted, not
    /// recursed into: serde_json then checks what it is given (and its depth limit).
    fn take(&mut self, keep: bool) -> Result<()> {
        self.scratch.clear();
        if !matches!(self.peek()?, b'"' | b'{' | b'[') {
            // A scalar: up to the next delimiter (or the end of the body).
            let mut n = 0;
            while let Some(b) = self.peek_byte()? {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                self.pos += 1;
                n += 1;
                self.keep(keep, b)?;
            }
            return if n == 0 {
                Err(self.error("expected a value"))
            } else {
                Ok(())
            };
        }
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            if self.peek_byte()?.is_none() {
                return Err(self.early_end());
            }
            // A pass over what is buffered, then one copy of it: no call or push per byte.
            let chunk = &self.buf[self.pos..self.len];
            let mut end = None;
            let mut i = 0;
            while i < chunk.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    // Most of a page is inside strings: jump to the next quote or backslash.
                    let Some(j) = memchr::memchr2(b'"', b'\\', &chunk[i..]) else {
                        break; // the string goes on past what is buffered
                    };
                    i += j + 1;
                    if chunk[i - 1] == b'\\' {
                        escaped = true;
                        continue;
                    }
                    in_string = false;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                let b = chunk[i];
                i += 1;
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let n = end.unwrap_or(chunk.len());
            if keep {
                if self.scratch.len() + n > MAX_VALUE {
                    return Err(self.error("a value larger than 1 MiB"));
                }
                self.scratch.extend_from_slice(&chunk[..n]);
            }
            self.pos += n;
            if end.is_some() {
                return Ok(());
            }
        }
    }

    #[inline]
    fn keep(&mut self, keep: bool, b: u8) -> Result<()> {
        if keep {
            if self.scratch.len() >= MAX_VALUE {
                return Err(self.error("a value larger than 1 MiB"));
            }
            self.scratch.push(b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that arrives a few bytes at a time: every value crosses reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn scan(body: &str) -> Result<Vec<(String, serde_json::Value)>> {
        let whole = scan_from(body.as_bytes())?;
        let trickled = scan_from(Trickle(body.as_bytes()))?;
        assert_eq!(whole, trickled, "the same, read whole or 3 bytes at a time");
        Ok(whole)
    }

    fn scan_from(body: impl Read) -> Result<Vec<(String, serde_json::Value)>> {
        let mut s = Scanner::new(body);
        let mut out = Vec::new();
        s.object("a page", |k, s| {
            if k == "skip" {
                s.skip()
            } else if k == "rows" {
                s.array("rows", |s| {
                    out.push((k.to_string(), s.value()?));
                    Ok(())
                })
            } else {
                out.push((k.to_string(), s.value()?));
                Ok(())
            }
        })?;
        s.end()?;
        Ok(out)
    }

    #[test]
    fn walks_objects_arrays_and_values_and_skips() {
        let got = scan(
            r#" { "a" : 1 , "skip": {"x": [1, "}]\"", {"y": null}]}, "s": "q\"}" ,"rows":[{"n":1},{"n":-2.5e3}, [] ,true], "z": null, "skip": 7 } "#,
        )
        .unwrap();
        let got: Vec<String> = got.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            got,
            [
                "a=1",
                "s=\"q\\\"}\"",
                "rows={\"n\":1}",
                "rows={\"n\":-2500.0}",
                "rows=[]",
                "rows=true",
                "z=null"
            ]
        );
    }

    #[test]
    fn an_early_end_is_an_io_error_and_bad_json_is_not() {
        for body in [
            r#"{"a": 1"#,
            r#"{"a": {"b": 1"#,
            r#"{"a": "x"#,
            "",
            r#"{"rows": [1, "#,
        ] {
            let e = scan(body).unwrap_err();
            assert!(e.is_io(), "{body}: {e}");
        }
        for body in [
            r#"{"a": 1 "b": 2}"#,
            "[1]",
            r#"{"a": tru}"#,
            r#"{"a": 1} x"#,
            r#"{"a": }"#,
            r#"{1: 2}"#,
        ] {
            let e = scan(body).unwrap_err();
            assert!(!e.is_io(), "{body}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_counted_not_recursed() {
        let deep = format!(r#"{{"a": {}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert!(scan(&deep).is_err(), "serde_json's depth limit");
        let skipped = format!(
            r#"{{"skip": {}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(scan(&skipped).is_ok());
    }
}
