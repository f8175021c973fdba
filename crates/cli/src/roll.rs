//! `shramsetu roll`: a synthetic state roll as CSV, in the columns `POST /v1/batches` and
//! `shramsetu import` read (for trying a push against `serve --demo`, and for the benchmark).

use std::io::Write;

use anyhow::{Context, Result};
use domain::NewWorker;

#[derive(clap::Args)]
pub struct Args {
    /// Rows to write.
    #[arg(long, default_value_t = 1000)]
    rows: u64,
    /// Population seed (the same seed gives the same people).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The first person of the population to write (rolls from one seed that do not overlap).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Every this many rows, one with a date of birth in the future (refused; 0: none).
    #[arg(long, default_value_t = 0)]
    bad_every: u64,
    /// Where to write (default: standard output).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// The optional columns a roll fills, after the required ones (`batches::columns::REQUIRED`).
const FILLED: &[&str] = &[
    "address.line1",
    "address.locality",
    "education",
    "bank_account.account_number",
    "bank_account.ifsc",
    "nominee.name",
    "nominee.relation",
];

/// The columns, in the order written.
fn header() -> Vec<&'static str> {
    batches::columns::REQUIRED
        .iter()
        .chain(FILLED)
        .copied()
        .collect()
}

pub fn run(a: Args) -> Result<()> {
    let sink: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("{}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, sink));
    w.write_record(header())?;
    let today = chrono::Utc::now().date_naive();
    for n in a.from..a.from + a.rows {
        let mut r = row(&gateway::demo::worker(a.seed, n, today));
        if a.bad_every > 0 && n % a.bad_every == a.bad_every - 1 {
            r[2] = "01-01-2090".into();
        }
        w.write_record(r)?;
    }
    w.flush()?;
    Ok(())
}

/// One worker as a roll's row, in [`header`]'s order.
pub fn row(w: &NewWorker) -> Vec<String> {
    let no = || "no".to_owned();
    let address = w.address.as_ref();
    let bank = w.bank_account.as_ref();
    let nominee = w.nominee.as_ref();
    vec![
        w.name.clone(),
        w.gender.as_str().to_owned(),
        w.date_of_birth.format("%d-%m-%Y").to_string(),
        w.mobile.as_str().to_owned(),
        w.aadhaar.expose_digits().to_owned(),
        w.state.code().to_owned(),
        w.district.as_str().to_owned(),
        w.pincode.as_str().to_owned(),
        w.relative_name.clone(),
        w.social_category.as_str().to_owned(),
        w.occupation.as_str().to_owned(),
        w.monthly_income_inr.to_string(),
        no(),
        no(),
        no(),
        no(),
        address.map(|a| a.line1.clone()).unwrap_or_default(),
        address.and_then(|a| a.locality.clone()).unwrap_or_default(),
        w.education
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        bank.map(|b| b.account_number.clone()).unwrap_or_default(),
        bank.map(|b| b.ifsc.as_str().to_owned()).unwrap_or_default(),
        nominee.map(|n| n.name.clone()).unwrap_or_default(),
        nominee
            .map(|n| n.relation.as_str().to_owned())
            .unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A roll is what a push reads: its header passes the batch's check, and each row becomes a
    /// registration the rules accept.
    #[test]
    fn a_roll_is_read_by_the_batches_as_written() {
        let columns: Vec<String> = header().iter().map(|c| c.to_string()).collect();
        assert!(batches::columns::check_header(&columns).is_ok());
        let today = chrono::Utc::now().date_naive();
        for n in 0..50 {
            let w = gateway::demo::worker(7, n, today);
            let mut fields: std::collections::BTreeMap<String, String> =
                columns.iter().cloned().zip(row(&w)).collect();
            let aadhaar = fields.remove(batches::columns::AADHAAR).unwrap();
            let form = batches::columns::registration(&fields, &aadhaar).unwrap();
            let back = domain::NewWorker::validate(&form, today).unwrap();
            assert_eq!(back.name, w.name);
            assert_eq!(back.date_of_birth, w.date_of_birth);
            assert_eq!(back.aadhaar, w.aadhaar);
        }
    }
}
