//! Structured payment orders (`application/vnd.wysiwys.payment+json`).
//!
//! PSD2 dynamic linking: the amount and the payee are part of the summary, so
//! the signature binds exactly what the person saw on both channels.

use crate::display::script_notice;
use crate::summary::{RenderError, SummaryLine, check_field, check_name, truncate_title};
use serde::{Deserialize, Serialize};

pub const MAX_PAYMENT_BYTES: usize = 4 * 1024;
pub const MAX_NAME_CHARS: usize = 140;
/// The summary line that names a payee's script when it is not Latin.
pub const PAYEE_SCRIPT_LABEL: &str = "Payee script";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    pub payee: String,
    /// Electronic format: upper case, no spaces.
    pub iban: String,
    /// Decimal string with at most three fraction digits, e.g. "1250.00".
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    pub reference: String,
}

pub(crate) fn render(document: &[u8]) -> Result<(String, Vec<SummaryLine>), RenderError> {
    if document.len() > MAX_PAYMENT_BYTES {
        return Err(RenderError::invalid(format!("payment is larger than {MAX_PAYMENT_BYTES} bytes")));
    }
    // serde_json refuses duplicate keys for structs, so no two parsers can
    // read two different payees out of one document.
    let payment: Payment =
        serde_json::from_slice(document).map_err(|e| RenderError::invalid(format!("payment JSON: {e}")))?;
    payment.validate()?;
    let title = truncate_title(&format!("Payment of {} {} to {}", payment.amount, payment.currency, payment.payee));
    let line = |label: &str, value: String| SummaryLine { label: label.to_owned(), value };
    let mut lines =
        vec![line("Amount", format!("{} {}", payment.amount, payment.currency)), line("Payee", payment.payee.clone())];
    // A payee in another script is legitimate (a Greek or Ukrainian firm),
    // but the person must be told, on both channels, that it is not the
    // Latin name it may resemble.
    if let Some(scripts) = script_notice(&payment.payee) {
        lines.push(line(PAYEE_SCRIPT_LABEL, scripts));
    }
    lines.push(line("IBAN", group_iban(&payment.iban)));
    lines.push(line("Reference", payment.reference.clone()));
    Ok((title, lines))
}

impl Payment {
    pub fn validate(&self) -> Result<(), RenderError> {
        check_name("payee", &self.payee)?;
        check_field("reference", &self.reference)?;
        for (name, value, required) in [("payee", &self.payee, true), ("reference", &self.reference, false)] {
            if value.chars().count() > MAX_NAME_CHARS {
                return Err(RenderError::invalid(format!("{name} is longer than {MAX_NAME_CHARS} characters")));
            }
            if required && value.trim().is_empty() {
                return Err(RenderError::invalid(format!("{name} is empty")));
            }
            if value.trim() != value {
                return Err(RenderError::invalid(format!("{name} has leading or trailing spaces")));
            }
        }
        if !is_valid_iban(&self.iban) {
            return Err(RenderError::invalid("IBAN is malformed or its checksum is wrong"));
        }
        if !is_valid_amount(&self.amount) {
            return Err(RenderError::invalid("amount must be a positive decimal string such as \"1250.00\""));
        }
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(RenderError::invalid("currency must be an ISO 4217 code such as EUR"));
        }
        Ok(())
    }
}

/// ISO 13616: country code, two check digits, up to 30 alphanumerics, and
/// the whole rearranged number is 1 modulo 97.
pub fn is_valid_iban(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let rearranged = bytes[4..].iter().chain(&bytes[..4]);
    let remainder = rearranged.fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A' + 10)) % 97
        }
    });
    remainder == 1
}

fn is_valid_amount(amount: &str) -> bool {
    let (int, frac) = match amount.split_once('.') {
        Some((int, frac)) if (1..=3).contains(&frac.len()) => (int, frac),
        Some(_) => return false,
        None => (amount, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let canonical_int = !int.is_empty() && int.len() <= 15 && (int == "0" || !int.starts_with('0'));
    let positive = amount.bytes().any(|b| (b'1'..=b'9').contains(&b));
    digits(int) && digits(frac) && canonical_int && positive
}

fn group_iban(iban: &str) -> String {
    iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn payment(json: &str) -> Result<(String, Vec<SummaryLine>), RenderError> {
        render(json.as_bytes())
    }

    #[test]
    fn iban_checksums() {
        assert!(is_valid_iban("DE89370400440532013000"));
        assert!(is_valid_iban("GB82WEST12345698765432"));
        assert!(!is_valid_iban("DE89370400440532013001"));
        assert!(!is_valid_iban("de89370400440532013000"));
        assert!(!is_valid_iban("DE89 3704 0044 0532 0130 00"));
    }

    #[test]
    fn amounts() {
        for ok in ["1", "0.01", "1250.00", "10.5", "999999999999999.999"] {
            assert!(is_valid_amount(ok), "{ok}");
        }
        for bad in ["", "0", "0.00", "01.00", "1.", ".5", "1.2345", "-1.00", "1e3", "1,00", "+1"] {
            assert!(!is_valid_amount(bad), "{bad}");
        }
    }

    #[test]
    fn renders_amount_payee_iban_reference() {
        let (title, lines) = payment(
            r#"{"payee":"ACME GmbH","iban":"DE89370400440532013000","amount":"1250.00","currency":"EUR","reference":"Invoice 42"}"#,
        )
        .unwrap();
        assert_eq!(title, "Payment of 1250.00 EUR to ACME GmbH");
        assert_eq!(lines[0].value, "1250.00 EUR");
        assert_eq!(lines[2].value, "DE89 3704 0044 0532 0130 00");
    }

    #[test]
    fn refuses_duplicates_unknown_fields_and_unsafe_payees() {
        let dup =
            r#"{"payee":"A","payee":"B","iban":"DE89370400440532013000","amount":"1","currency":"EUR","reference":""}"#;
        assert_eq!(payment(dup).unwrap_err().code, ErrorCode::DocumentInvalid);
        let extra =
            r#"{"payee":"A","iban":"DE89370400440532013000","amount":"1","currency":"EUR","reference":"","x":1}"#;
        assert_eq!(payment(extra).unwrap_err().code, ErrorCode::DocumentInvalid);
        let bidi =
            r#"{"payee":"A\u202eB","iban":"DE89370400440532013000","amount":"1","currency":"EUR","reference":""}"#;
        assert_eq!(payment(bidi).unwrap_err().code, ErrorCode::UnsafeDocument);
        let bad_iban = r#"{"payee":"A","iban":"DE00370400440532013000","amount":"1","currency":"EUR","reference":""}"#;
        assert_eq!(payment(bad_iban).unwrap_err().code, ErrorCode::DocumentInvalid);
    }

    fn with_payee(payee: &str) -> Result<(String, Vec<SummaryLine>), RenderError> {
        let doc = serde_json::json!({
            "payee": payee, "iban": "DE89370400440532013000", "amount": "10.00", "currency": "EUR", "reference": ""
        });
        payment(&doc.to_string())
    }

    #[test]
    fn a_mixed_script_payee_is_refused_and_a_foreign_one_is_named() {
        // "Pаypal" with a Cyrillic "а" imitates a Latin name.
        let err = with_payee("P\u{0430}ypal GmbH").unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsafeDocument);
        assert!(err.detail.contains("payee mixes scripts (Latin, Cyrillic)"), "{}", err.detail);

        let (_, lines) = with_payee("ACME GmbH").unwrap();
        assert!(lines.iter().all(|l| l.label != PAYEE_SCRIPT_LABEL), "a Latin payee needs no notice");
        let (_, lines) = with_payee("ПриватБанк").unwrap();
        let labels: Vec<_> = lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["Amount", "Payee", PAYEE_SCRIPT_LABEL, "IBAN", "Reference"]);
        assert_eq!(lines[2].value, "Cyrillic");
        let (_, lines) = with_payee("Ωμέγα Α.Ε.").unwrap();
        assert_eq!(lines[2].value, "Greek");
    }
}
