//! Reading a batch file as states have them: CSV (the `csv` crate: quoted fields with commas and
//! newlines, CRLF, a UTF-8 BOM, columns in any order) or NDJSON, UTF-8 or a declared
//! Windows-1252/Latin-1 (`encoding_rs`), gzip or not (`flate2`). A row's problems stay with the
//! row; only what makes the whole file unreadable (its header, a broken gzip stream, its size)
//! stops the reading.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use domain::FieldError;
use encoding_rs::Encoding;
use store::batches::RowError;

use crate::columns::{self, row_error};

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

/// The text's encoding: UTF-8 unless declared (`charset=windows-1252`, `iso-8859-1`, `latin1`:
/// the WHATWG labels, which read Latin-1 as Windows-1252, its superset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Windows1252,
}

impl Charset {
    pub fn from_label(label: &str) -> Option<Charset> {
        let e = Encoding::for_label(label.trim().as_bytes())?;
        if e == encoding_rs::UTF_8 {
            Some(Charset::Utf8)
        } else if e == encoding_rs::WINDOWS_1252 {
            Some(Charset::Windows1252)
        } else {
            None
        }
    }

    fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Charset::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            Charset::Windows1252 => Some(
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned(),
            ),
        }
    }
}

/// One row as read: where it starts, its fields by column, and what is wrong with its shape.
#[derive(Debug)]
pub struct ReadRow {
    pub line: i64,
    pub fields: BTreeMap<String, String>,
    pub errors: Vec<RowError>,
}

/// Why the file could not be read on.
#[derive(Debug)]
pub enum Fatal {
    /// The header's problems (each column named), before any row.
    Header(Vec<FieldError>),
    /// The gzip stream is corrupt or ends early.
    Gzip,
    /// More bytes than allowed (decompressed, or as sent).
    TooLarge,
    /// More rows than allowed.
    TooManyRows(u64),
    /// The body stopped arriving (the client went away), or the reader's consumer stopped.
    Stopped(String),
}

/// What stops a reader from outside: carried in an `io::Error` so that it crosses the decoders.
#[derive(Debug)]
pub enum Stop {
    TooLarge,
    Aborted(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::TooLarge => write!(f, "over the size limit"),
            Stop::Aborted(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Stop {}

/// Reads every row of `input` (`gzip`: compressed) into `sink`, at most `max_rows`, at most
/// `max_bytes` of text after decompression. `sink` answers `false` to stop. The rows read.
pub fn read_rows(
    input: impl Read,
    gzip: bool,
    format: Format,
    charset: Charset,
    max_rows: u64,
    max_bytes: u64,
    mut sink: impl FnMut(ReadRow) -> bool,
) -> Result<u64, Fatal> {
    let input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(input)))
    } else {
        Box::new(input)
    };
    let input = Limited {
        inner: input,
        left: max_bytes,
    };
    let mut rows = 0u64;
    let mut take = |row: ReadRow| -> Result<bool, Fatal> {
        rows += 1;
        if rows > max_rows {
            return Err(Fatal::TooManyRows(max_rows));
        }
        Ok(sink(row))
    };
    let io_fatal = |e: io::Error| -> Fatal {
        if let Some(stop) = e.get_ref().and_then(|s| s.downcast_ref::<Stop>()) {
            return match stop {
                Stop::TooLarge => Fatal::TooLarge,
                Stop::Aborted(why) => Fatal::Stopped(why.clone()),
            };
        }
        if gzip {
            Fatal::Gzip
        } else {
            Fatal::Stopped(e.to_string())
        }
    };
    match format {
        Format::Csv => read_csv(input, charset, &mut take, io_fatal)?,
        Format::Ndjson => read_ndjson(input, charset, &mut take, io_fatal)?,
    }
    Ok(rows)
}

type Take<'a> = dyn FnMut(ReadRow) -> Result<bool, Fatal> + 'a;

fn read_csv(
    input: impl Read,
    charset: Charset,
    take: &mut Take<'_>,
    io_fatal: impl Fn(io::Error) -> Fatal,
) -> Result<(), Fatal> {
    let csv_fatal = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => io_fatal(e),
        other => Fatal::Stopped(format!("{other:?}")),
    };
    // The `csv` crate's line numbers do not count every line (quoted newlines, empty lines), so
    // the reader notes where each newline is and a record's line comes from its byte offset.
    let newlines = Rc::new(RefCell::new(Newlines::default()));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(NoteNewlines {
            inner: input,
            at: 0,
            newlines: newlines.clone(),
        });
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(csv_fatal)?
        .iter()
        .map(|h| {
            charset
                .decode(h)
                .unwrap_or_default()
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect();
    columns::check_header(&header).map_err(Fatal::Header)?;
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_fatal)? {
        let line = newlines
            .borrow_mut()
            .line_at(record.position().map_or(0, |p| p.byte()));
        // A line of nothing but separators or spaces is an empty line, not a row.
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let mut row = ReadRow {
            line,
            fields: BTreeMap::new(),
            errors: vec![],
        };
        if record.len() != header.len() {
            row.errors.push(row_error(
                "",
                "wrong_field_count",
                &format!(
                    "this row has {} fields; the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        } else {
            for (name, value) in header.iter().zip(record.iter()) {
                match charset.decode(value) {
                    Some(v) => {
                        row.fields.insert(name.clone(), v);
                    }
                    None => row.errors.push(not_utf8(name)),
                }
            }
        }
        if !take(row)? {
            break;
        }
    }
    Ok(())
}

fn read_ndjson(
    input: impl Read,
    charset: Charset,
    take: &mut Take<'_>,
    io_fatal: impl Fn(io::Error) -> Fatal,
) -> Result<(), Fatal> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::new();
    let mut line = 0i64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(&io_fatal)? == 0 {
            return Ok(());
        }
        line += 1;
        let mut bytes = &buf[..];
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut row = ReadRow {
            line,
            fields: BTreeMap::new(),
            errors: vec![],
        };
        match charset.decode(bytes) {
            None => row.errors.push(not_utf8("")),
            Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(o)) => {
                    let (fields, errors) = columns::flatten(&o);
                    row.fields = fields;
                    row.errors = errors;
                }
                Ok(_) => row.errors.push(row_error(
                    "",
                    "invalid_type",
                    "each line is one JSON object",
                )),
                // serde's message quotes no value, only where it stopped.
                Err(e) => row.errors.push(row_error(
                    "",
                    "invalid_json",
                    &format!(
                        "not a JSON object: {} at column {}",
                        classify(&e),
                        e.column()
                    ),
                )),
            },
        }
        if !take(row)? {
            return Ok(());
        }
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Data => "an unexpected value",
        serde_json::error::Category::Io => "a read error",
    }
}

fn not_utf8(field: &str) -> RowError {
    row_error(
        field,
        "invalid_encoding",
        "not UTF-8: a Windows-1252 or Latin-1 file is read when declared \
         (Content-Type: text/csv; charset=windows-1252)",
    )
}

/// Where the lines with something on them start (those the `csv` reader has not passed yet), and
/// their numbers.
#[derive(Default)]
struct Newlines {
    starts: VecDeque<(u64, i64)>,
    line: i64,
    in_line: bool,
}

impl Newlines {
    /// The line a record read from `offset` on starts: the first line with something on it
    /// from there (the reader may begin a record at the previous one's terminator, and skips
    /// empty lines). Offsets only grow.
    fn line_at(&mut self, offset: u64) -> i64 {
        while self
            .starts
            .front()
            .is_some_and(|&(start, _)| start < offset)
        {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line + 1, |&(_, line)| line)
    }
}

struct NoteNewlines<R> {
    inner: R,
    at: u64,
    newlines: Rc<RefCell<Newlines>>,
}

impl<R: Read> Read for NoteNewlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut notes = self.newlines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            match b {
                b'\n' => {
                    notes.line += 1;
                    notes.in_line = false;
                }
                b'\r' => {}
                _ if !notes.in_line => {
                    notes.in_line = true;
                    let line = notes.line + 1;
                    notes.starts.push_back((self.at + i as u64, line));
                }
                _ => {}
            }
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// A reader that refuses to give more than `left` bytes (a gzip bomb stops here).
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(Stop::TooLarge));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name,gender,date_of_birth,mobile,aadhaar,state_code,district_code,pincode,\
        relative_name,social_category,occupation_nco,monthly_income_inr,declarations.epfo_member,\
        declarations.esic_member,declarations.nps_member,declarations.income_tax_payer";

    fn rows(bytes: &[u8], format: Format, charset: Charset) -> Result<Vec<ReadRow>, Fatal> {
        let mut out = vec![];
        read_rows(bytes, false, format, charset, 100, 1 << 20, |r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }

    #[test]
    fn csv_as_states_write_it() {
        let file = format!(
            "\u{feff}{HEADER}\r\n\"Devi, Sunita\",female,12-04-1991,9876543210,2345 6789 0124,10,230,800001,\
             \"Ram\r\nLal\",obc,9313.0100,9000,no,no,no,no\r\n\r\n\
             Irfan,male,1991-04-12,9876543210,x,10,230,800001,A,obc,9313.0100,9000,no,no,no\r\n\r\n"
        );
        let read = rows(file.as_bytes(), Format::Csv, Charset::Utf8).unwrap();
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(read.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(read[0].fields["name"], "Devi, Sunita");
        assert_eq!(read[0].fields["relative_name"], "Ram\r\nLal");
        // The second row starts after the quoted newline and the empty line.
        assert_eq!(read[1].line, 5);
        assert_eq!(read[1].errors[0].code, "wrong_field_count");
    }

    #[test]
    fn header_in_another_order_and_its_problems() {
        let mut cols: Vec<&str> = HEADER.split(',').collect();
        cols.reverse();
        let file = format!("{}\n", cols.join(","));
        assert!(
            rows(file.as_bytes(), Format::Csv, Charset::Utf8)
                .unwrap()
                .is_empty()
        );
        let file = format!("{HEADER},pan\n");
        let Err(Fatal::Header(e)) = rows(file.as_bytes(), Format::Csv, Charset::Utf8) else {
            panic!("an unknown column stops the file")
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("pan", "unknown_column"));
    }

    #[test]
    fn windows_1252_is_named_unless_declared() {
        let mut file = format!("{HEADER}\n").into_bytes();
        // "José" in Windows-1252: é is 0xE9, not UTF-8.
        file.extend_from_slice(b"Jos\xe9,male,1991-04-12,9876543210,1,10,230,800001,A,obc,9313.0100,9000,no,no,no,no\n");
        let read = rows(&file, Format::Csv, Charset::Utf8).unwrap();
        assert_eq!(
            (
                read[0].errors[0].field.as_str(),
                read[0].errors[0].code.as_str()
            ),
            ("name", "invalid_encoding")
        );
        let read = rows(&file, Format::Csv, Charset::from_label("latin1").unwrap()).unwrap();
        assert!(read[0].errors.is_empty());
        assert_eq!(read[0].fields["name"], "José");
        assert_eq!(Charset::from_label("shift_jis"), None);
    }

    #[test]
    fn ndjson_lines_and_their_errors() {
        let file = b"\xef\xbb\xbf{\"name\": \"A\"}\r\n\n[1]\n{\"name\": \n";
        let read = rows(file, Format::Ndjson, Charset::Utf8).unwrap();
        assert_eq!(read.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 3, 4]);
        assert!(read[0].errors.iter().all(|e| e.code == "required"));
        assert_eq!(read[1].errors[0].code, "invalid_type");
        assert_eq!(read[2].errors[0].code, "invalid_json");
    }

    #[test]
    fn truncated_gzip_and_limits_stop_the_file() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
        let body = format!("{HEADER}\n{}", "x,".repeat(15) + "x\n").repeat(50);
        gz.write_all(body.as_bytes()).unwrap();
        let whole = gz.finish().unwrap();
        let n = read_rows(
            &whole[..],
            true,
            Format::Csv,
            Charset::Utf8,
            1000,
            1 << 20,
            |_| true,
        )
        .unwrap();
        assert_eq!(
            n, 99,
            "the header's repeats are rows too (refused for their shape)"
        );
        let cut = &whole[..whole.len() - 10];
        assert!(matches!(
            read_rows(cut, true, Format::Csv, Charset::Utf8, 1000, 1 << 20, |_| {
                true
            }),
            Err(Fatal::Gzip)
        ));
        assert!(matches!(
            read_rows(
                &whole[..],
                true,
                Format::Csv,
                Charset::Utf8,
                1000,
                100,
                |_| true
            ),
            Err(Fatal::TooLarge)
        ));
        assert!(matches!(
            read_rows(
                &whole[..],
                true,
                Format::Csv,
                Charset::Utf8,
                10,
                1 << 20,
                |_| true
            ),
            Err(Fatal::TooManyRows(10))
        ));
    }
}
