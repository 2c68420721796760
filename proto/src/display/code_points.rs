//! Which code points a channel may show: decided from Unicode's own tables
//! (ICU4X's compiled Unicode Character Database), not from a hand list, so a
//! new invisible character is refused as soon as Unicode names it one.
//!
//! The rules and their counts are written in PROTOCOL.md §1; a test in this
//! file reads that table and fails when the two disagree.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

/// The Unicode version of the tables the rules are read from (icu_properties
/// and unicode-security must agree on it: both are checked against it).
pub const UNICODE_VERSION: (u64, u64, u64) = (18, 0, 0);

/// At most this many nonspacing or enclosing marks in a row: enough for
/// Hebrew points with cantillation and Indic stacks, not for "Zalgo" text
/// that paints over the neighbouring lines.
pub const MAX_COMBINING_RUN: usize = 4;

/// Letters and symbols that are drawn as nothing although Unicode does not
/// call them ignorable (the Hangul fillers are Default_Ignorable already).
/// No property describes them, so they are the one list kept by hand.
pub const BLANK_GLYPHS: &[char] = &[
    '\u{2800}',  // BRAILLE PATTERN BLANK (So)
    '\u{1D159}', // MUSICAL SYMBOL NULL NOTEHEAD (So)
    '\u{FFFC}',  // OBJECT REPLACEMENT CHARACTER (So): stands for something not shown
];

/// Why a code point may not be shown, in the order the rules are applied
/// (a code point is reported under the first rule it breaks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsafeCodePoint {
    /// General category Cc: C0, DEL, C1 (line breaks are split off before).
    Control,
    /// Default_Ignorable_Code_Point = Yes: drawn as nothing by conforming
    /// renderers (bidi controls, zero-width characters, variation selectors,
    /// tags, Hangul fillers, soft hyphen).
    DefaultIgnorable,
    /// General category Cf that is not Default_Ignorable (prepended
    /// concatenation marks, hieroglyph format controls): changes the glyphs
    /// around it.
    Format,
    /// Zl and Zp: a line break the summary's line structure does not show.
    Separator,
    /// Cn: no glyph today, any glyph tomorrow; also the noncharacters.
    Unassigned,
    /// Co: its glyph is whatever the font on that one screen says.
    PrivateUse,
    /// Cs: cannot occur in a Rust `char`, listed for completeness.
    Surrogate,
    /// One of `BLANK_GLYPHS`.
    BlankGlyph,
    /// The `MAX_COMBINING_RUN + 1`-th nonspacing or enclosing mark in a row.
    CombiningRun,
}

impl UnsafeCodePoint {
    /// Every rule, in the order they are applied.
    pub const ALL: [UnsafeCodePoint; 9] = [
        Self::Control,
        Self::DefaultIgnorable,
        Self::Format,
        Self::Separator,
        Self::Unassigned,
        Self::PrivateUse,
        Self::Surrogate,
        Self::BlankGlyph,
        Self::CombiningRun,
    ];

    /// The rule's stable name, used in error descriptions and PROTOCOL.md.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Control => "control",
            Self::DefaultIgnorable => "default-ignorable",
            Self::Format => "format",
            Self::Separator => "separator",
            Self::Unassigned => "unassigned",
            Self::PrivateUse => "private-use",
            Self::Surrogate => "surrogate",
            Self::BlankGlyph => "blank",
            Self::CombiningRun => "combining-run",
        }
    }

    /// The rule a single code point breaks, if any (combining runs need the
    /// context: see `first_unsafe`).
    pub fn of(c: char) -> Option<Self> {
        let category = CodePointMapData::<GeneralCategory>::new().get(c);
        if category == GeneralCategory::Control {
            Some(Self::Control)
        } else if CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c) {
            Some(Self::DefaultIgnorable)
        } else {
            match category {
                GeneralCategory::Format => Some(Self::Format),
                GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => Some(Self::Separator),
                GeneralCategory::Unassigned => Some(Self::Unassigned),
                GeneralCategory::PrivateUse => Some(Self::PrivateUse),
                GeneralCategory::Surrogate => Some(Self::Surrogate),
                _ if BLANK_GLYPHS.contains(&c) => Some(Self::BlankGlyph),
                _ => None,
            }
        }
    }
}

fn is_stacking_mark(c: char) -> bool {
    matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    )
}

/// The first code point of `text` that may not be shown: its index in
/// characters, the character and the rule it breaks.
pub fn first_unsafe(text: &str) -> Option<(usize, char, UnsafeCodePoint)> {
    let mut run = 0usize;
    for (index, c) in text.chars().enumerate() {
        if let Some(rule) = UnsafeCodePoint::of(c) {
            return Some((index, c, rule));
        }
        run = if is_stacking_mark(c) { run.saturating_add(1) } else { 0 };
        if run > MAX_COMBINING_RUN {
            return Some((index, c, UnsafeCodePoint::CombiningRun));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rule_of(c: char) -> Option<&'static str> {
        UnsafeCodePoint::of(c).map(UnsafeCodePoint::rule)
    }

    #[test]
    fn each_rule_catches_what_it_names() {
        for (c, rule) in [
            ('\u{7}', "control"),
            ('\u{85}', "control"),
            ('\u{202E}', "default-ignorable"),
            ('\u{2066}', "default-ignorable"),
            ('\u{200B}', "default-ignorable"),
            ('\u{00AD}', "default-ignorable"),
            ('\u{3164}', "default-ignorable"), // HANGUL FILLER, a "letter"
            ('\u{115F}', "default-ignorable"),
            ('\u{FE0F}', "default-ignorable"),
            ('\u{E0041}', "default-ignorable"),
            ('\u{034F}', "default-ignorable"),
            ('\u{0600}', "format"),
            ('\u{13430}', "format"),
            ('\u{2028}', "separator"),
            ('\u{2029}', "separator"),
            ('\u{0378}', "unassigned"),
            ('\u{FFFF}', "unassigned"),
            ('\u{E000}', "private-use"),
            ('\u{10FFFD}', "private-use"),
            ('\u{2800}', "blank"),
            ('\u{1D159}', "blank"),
        ] {
            assert_eq!(rule_of(c), Some(rule), "U+{:04X}", c as u32);
        }
        for fine in ['a', ' ', '\u{A0}', '\u{3000}', 'ß', 'Ж', '木', '€', '🎃', '\u{0301}', '\u{0939}'] {
            assert_eq!(rule_of(fine), None, "U+{:04X}", fine as u32);
        }
    }

    #[test]
    fn combining_marks_are_bounded_per_run() {
        let marks = |n: usize| format!("a{}", "\u{0301}".repeat(n));
        assert_eq!(first_unsafe(&marks(MAX_COMBINING_RUN)), None);
        let (index, c, rule) = first_unsafe(&marks(MAX_COMBINING_RUN + 1)).unwrap();
        assert_eq!((index, c, rule), (MAX_COMBINING_RUN + 1, '\u{0301}', UnsafeCodePoint::CombiningRun));
        // A base character starts a new run.
        let two_runs = format!("{}{}", marks(MAX_COMBINING_RUN), marks(MAX_COMBINING_RUN));
        assert_eq!(first_unsafe(&two_runs), None);
        // Hebrew with points and cantillation stays within the bound.
        assert_eq!(first_unsafe("בְּרֵאשִׁ֖ית"), None);
    }

    #[test]
    fn the_tables_are_the_unicode_version_we_document() {
        assert_eq!(unicode_security::UNICODE_VERSION, UNICODE_VERSION);
    }

    /// PROTOCOL.md §1 lists every rule with the number of code points it
    /// refuses in `UNICODE_VERSION`; both come from the tables here.
    #[test]
    fn protocol_md_lists_the_rules_the_tables_apply() {
        let protocol = include_str!("../../../docs/PROTOCOL.md");
        let (major, minor, _) = UNICODE_VERSION;
        let mut counted: BTreeMap<&str, usize> = BTreeMap::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if let Some(rule) = UnsafeCodePoint::of(c) {
                *counted.entry(rule.rule()).or_default() += 1;
            }
        }
        assert!(
            protocol.contains(&format!("Unicode {major}.{minor}")),
            "PROTOCOL.md §1 does not name Unicode {major}.{minor}"
        );
        let documented = documented_rules(protocol);
        for rule in UnsafeCodePoint::ALL {
            let name = rule.rule();
            let row = documented.get(name).unwrap_or_else(|| panic!("PROTOCOL.md has no row for `{name}`"));
            match rule {
                UnsafeCodePoint::CombiningRun => {
                    assert_eq!(row, &MAX_COMBINING_RUN.to_string(), "combining-run bound")
                }
                _ => assert_eq!(
                    row,
                    &counted.get(name).copied().unwrap_or(0).to_string(),
                    "code points refused as `{name}`"
                ),
            }
        }
        assert_eq!(documented.len(), UnsafeCodePoint::ALL.len(), "PROTOCOL.md lists rules the code does not have");
        for c in BLANK_GLYPHS {
            assert!(
                protocol.contains(&format!("U+{:04X}", *c as u32)),
                "PROTOCOL.md does not list U+{:04X}",
                *c as u32
            );
        }
    }

    /// Rows of the display-safety table: "| `rule` | … | number |".
    fn documented_rules(protocol: &str) -> BTreeMap<String, String> {
        protocol
            .lines()
            .skip_while(|l| !l.starts_with("| rule |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<_> = l.trim_matches('|').split('|').map(str::trim).collect();
                let name = cells.first()?.trim_matches('`').to_owned();
                let number = cells.last()?.replace([',', ' '], "");
                Some((name, number))
            })
            .collect()
    }
}
