//! An incremental Server-Sent Events parser for Gemini streams.
//!
//! Bytes arrive in arbitrary pieces; [`SseParser::feed`] takes each piece as it comes and
//! yields every complete event. It follows the SSE framing rules — lines end in CRLF, LF or
//! CR (a CR at the end of one piece and the LF starting the next are one line ending), `data:`
//! lines of one event are joined with `\n`, comments and `event:`/`id:`/`retry:` are skipped —
//! plus one Gemini quirk: on a failure after the `200 OK`, the API appends a bare (often
//! pretty-printed) JSON error object with no `data:` prefix. Such lines are collected and
//! yielded as [`SseItem::Raw`] once they form a complete JSON value (or at end of stream).

use memchr::memchr2;

/// One thing found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// The data of one event (its `data:` lines joined with `\n`).
    Data(Vec<u8>),
    /// Body text outside the SSE framing (Gemini's appended error object).
    Raw(Vec<u8>),
}

/// The parser state: a partial line and a partial event carried between pieces.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The data of the event being assembled.
    data: Vec<u8>,
    /// Whether the event being assembled has a `data:` field (possibly empty).
    has_data: bool,
    /// Non-SSE lines being collected.
    raw: Vec<u8>,
    /// The previous piece ended in CR: a leading LF of the next piece belongs to it.
    skip_lf: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next piece of the body, pushing every completed item onto `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseItem>) {
        let mut i = 0;
        if std::mem::take(&mut self.skip_lf) && bytes.first() == Some(&b'\n') {
            i = 1;
        }
        while i < bytes.len() {
            let Some(offset) = memchr2(b'\r', b'\n', &bytes[i..]) else {
                self.line.extend_from_slice(&bytes[i..]);
                return;
            };
            let end = i + offset;
            if self.line.is_empty() {
                self.process_line(&bytes[i..end], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[i..end]);
                self.process_line(&line, out);
                line.clear();
                self.line = line;
            }
            i = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(i) {
                    Some(b'\n') => i += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
    }

    /// Ends the stream: a last line without a line ending, a last event without its blank
    /// line and any collected raw text are yielded.
    pub fn finish(&mut self, out: &mut Vec<SseItem>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.dispatch(out);
        if !self.raw.iter().all(u8::is_ascii_whitespace) {
            out.push(SseItem::Raw(std::mem::take(&mut self.raw)));
        }
        self.raw.clear();
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseItem>) {
        if line.is_empty() {
            self.dispatch(out);
            self.flush_raw_if_complete(out);
            return;
        }
        if !self.raw.is_empty() {
            // Inside a bare JSON body: everything until it is complete belongs to it.
            self.push_raw(line);
            return;
        }
        if line[0] == b':' {
            return; // a comment (keep-alive)
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" | b"id" | b"retry" => {}
            // Gemini's appended error object starts with `{`; any other unknown field is ignored,
            // as the SSE rules say.
            _ if line.trim_ascii_start().starts_with(b"{") => self.push_raw(line),
            _ => {}
        }
    }

    fn push_raw(&mut self, line: &[u8]) {
        self.raw.extend_from_slice(line);
        self.raw.push(b'\n');
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        if std::mem::take(&mut self.has_data) {
            out.push(SseItem::Data(std::mem::take(&mut self.data)));
        }
    }

    /// Yields the collected raw text once it is a complete JSON value; a pretty-printed error
    /// has no blank lines inside, but be safe about one that does.
    fn flush_raw_if_complete(&mut self, out: &mut Vec<SseItem>) {
        if !self.raw.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&self.raw).is_ok() {
            out.push(SseItem::Raw(std::mem::take(&mut self.raw)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(body: &[u8], piece: usize) -> Vec<SseItem> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in body.chunks(piece.max(1)) {
            parser.feed(chunk, &mut out);
        }
        parser.finish(&mut out);
        out
    }

    fn data(s: &str) -> SseItem {
        SseItem::Data(s.as_bytes().to_vec())
    }

    #[test]
    fn every_line_ending_and_every_split_gives_the_same_events() {
        for ending in ["\r\n", "\n", "\r"] {
            let body =
                format!("data: {{\"a\":1}}{ending}{ending}: keep-alive{ending}data: x{ending}data: y{ending}{ending}");
            for piece in 1..body.len() {
                assert_eq!(
                    parse_in_pieces(body.as_bytes(), piece),
                    vec![data("{\"a\":1}"), data("x\ny")],
                    "ending {ending:?}, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn a_bare_json_error_after_events_is_raw() {
        let body = "data: {\"a\":1}\r\n\r\n{\n  \"error\": {\n    \"code\": 503\n  }\n}\n";
        for piece in 1..body.len() {
            let items = parse_in_pieces(body.as_bytes(), piece);
            assert_eq!(items.len(), 2, "pieces of {piece}");
            assert_eq!(items[0], data("{\"a\":1}"));
            let SseItem::Raw(raw) = &items[1] else { panic!("expected raw, got {items:?}") };
            let value: serde_json::Value = serde_json::from_slice(raw).unwrap();
            assert_eq!(value["error"]["code"], 503);
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept() {
        assert_eq!(parse_in_pieces(b"data: {}", 3), vec![data("{}")]);
        assert_eq!(parse_in_pieces(b"data:{}\n", 2), vec![data("{}")]);
    }

    #[test]
    fn unknown_fields_and_ids_are_ignored() {
        assert_eq!(parse_in_pieces(b"event: message\nid: 7\nretry: 10\ndata: d\n\n", 4), vec![data("d")]);
        assert_eq!(parse_in_pieces(b"x-debug: 1\ndata: a\n\nnoise\ndata: b\n\n", 3), vec![data("a"), data("b")]);
    }
}
