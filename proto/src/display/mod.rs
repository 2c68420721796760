//! What a channel may show: every displayed string is checked here, on the
//! server before anything is stored and on the device before anything is
//! shown, from the same Unicode tables.

mod code_points;
mod names;

pub use code_points::{BLANK_GLYPHS, MAX_COMBINING_RUN, UNICODE_VERSION, UnsafeCodePoint, first_unsafe};
pub use names::{confusable_skeleton, is_highly_restrictive, script_notice, scripts_of};

use crate::summary::RenderError;
use unicode_normalization::is_nfc;

/// Checks one displayed string (a payment field, a label, a title): NFC and
/// free of every code point `UnsafeCodePoint` refuses.
pub fn check_field(name: &str, value: &str) -> Result<(), RenderError> {
    if !is_nfc(value) {
        return Err(RenderError::unsafe_text(format!("{name} is not in normalization form C")));
    }
    if let Some((column, c, rule)) = first_unsafe(value) {
        return Err(RenderError::unsafe_text(format!(
            "{name}, position {}: U+{:04X} is not allowed ({})",
            column + 1,
            c as u32,
            rule.rule()
        )));
    }
    Ok(())
}

/// A name a person recognises something by (a device, a payee, a relying
/// party, a PDF's title and labels): display-safe like every field, and not
/// written in a mix of scripts (UTS #39 Highly Restrictive).
pub fn check_name(name: &str, value: &str) -> Result<(), RenderError> {
    check_field(name, value)?;
    if !is_highly_restrictive(value) {
        return Err(RenderError::unsafe_text(format!(
            "{name} mixes scripts ({}): it could imitate another name",
            scripts_of(value).join(", ")
        )));
    }
    Ok(())
}
