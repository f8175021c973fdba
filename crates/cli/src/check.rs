//! `shramsetu check KIND`: the registry's verdict on identifiers read one a line from stdin, so an
//! outside implementation can be compared with it (CI compares Aadhaar and UAN numbers with
//! python-stdnum, mobiles with libphonenumber, IFSC and PIN codes with RBI's and India Post's lists).

use std::io::{BufRead, Write};

use domain::{Aadhaar, DistrictCode, Ifsc, Mobile, NcoCode, Pincode, StateCode, Uan};

#[derive(clap::Args)]
pub struct Args {
    /// What the lines are.
    #[arg(value_enum)]
    kind: Kind,
}

/// `shramsetu check KIND`, on stdin and stdout.
pub fn run_stdio(args: Args) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    run(args.kind, stdin, stdout)?;
    Ok(())
}

/// The kinds of identifier `check` knows.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Kind {
    Aadhaar,
    Uan,
    Mobile,
    Ifsc,
    Pincode,
    Nco,
    State,
    District,
}

/// The verdict on one value: `Ok` or the refusal's code.
fn verdict(kind: Kind, value: &str) -> Result<(), &'static str> {
    let code = |e: domain::Invalid| e.code;
    match kind {
        Kind::Aadhaar => Aadhaar::parse(value).map(drop).map_err(code),
        Kind::Uan => Uan::parse(value).map(drop).map_err(code),
        Kind::Mobile => Mobile::parse(value).map(drop).map_err(code),
        Kind::Ifsc => Ifsc::parse(value).map(drop).map_err(code),
        Kind::Pincode => Pincode::parse(value).map(drop).map_err(code),
        Kind::Nco => NcoCode::parse(value).map(drop).map_err(code),
        Kind::State => StateCode::parse(value).map(drop).map_err(code),
        Kind::District => DistrictCode::parse(value).map(drop).map_err(code),
    }
}

/// Reads values a line each and writes `valid` or `invalid CODE` a line each, in order. A line's
/// trailing `\r` is not part of the value. Nothing else is written, so no number is echoed.
fn run(kind: Kind, input: impl BufRead, mut out: impl Write) -> std::io::Result<u64> {
    let mut n = 0;
    for line in input.lines() {
        let line = line?;
        let value = line.strip_suffix('\r').unwrap_or(&line);
        match verdict(kind, value) {
            Ok(()) => out.write_all(b"valid\n")?,
            Err(code) => writeln!(out, "invalid {code}")?,
        }
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_verdict_a_line_in_order() {
        let input = "934646869583\n934646869584\r\n123456789010\n\n";
        let mut out = Vec::new();
        assert_eq!(run(Kind::Aadhaar, input.as_bytes(), &mut out).unwrap(), 4);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "valid\ninvalid invalid_check_digit\ninvalid invalid_format\ninvalid invalid_format\n"
        );
    }
}
