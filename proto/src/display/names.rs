//! Names a person recognises something by (a payee, a relying party, a
//! device, a PDF's title and labels), checked per UTS #39 so that one cannot
//! be written to look like another.

use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;
use unicode_security::mixed_script::AugmentedScriptSet;

/// UTS #39 §5.2 "Highly Restrictive": one script, or Latin with the scripts
/// a CJK name is written in (Han with Hiragana and Katakana, Han with
/// Bopomofo, Han with Hangul). Characters of no script (digits, spaces,
/// punctuation: Common and Inherited) fit any of them. Anything else mixes
/// scripts the way "Pаypal" with a Cyrillic "а" does.
pub fn is_highly_restrictive(name: &str) -> bool {
    if name.is_single_script() {
        return true;
    }
    let mut without_latin = AugmentedScriptSet::default();
    for c in name.chars() {
        let set = AugmentedScriptSet::for_char(c);
        if !set.base.contains_script(Script::Latin) {
            without_latin.intersect_with(set);
        }
    }
    without_latin.hanb || without_latin.jpan || without_latin.kore
}

/// The scripts a name is written in, in the order they first appear,
/// without Common and Inherited.
pub fn scripts_of(name: &str) -> Vec<&'static str> {
    let mut scripts = Vec::new();
    for c in name.chars() {
        let script = c.script();
        if !matches!(script, Script::Common | Script::Inherited | Script::Unknown) && !scripts.contains(&script) {
            scripts.push(script);
        }
    }
    scripts.into_iter().map(Script::full_name).collect()
}

/// What the person should be told about a name's script: `None` for a
/// Latin (or script-less) name, else the scripts, e.g. "Cyrillic".
pub fn script_notice(name: &str) -> Option<String> {
    let scripts = scripts_of(name);
    (!(scripts.is_empty() || scripts == ["Latin"])).then(|| scripts.join(", "))
}

/// The UTS #39 confusable skeleton of a name, case-insensitive: two names
/// with the same skeleton look alike to a reader ("PayPal", "Paypa1",
/// "РayPal" with a Cyrillic "Р").
pub fn confusable_skeleton(name: &str) -> String {
    let skeleton: String = unicode_security::skeleton(name).collect();
    // Lower-casing after the skeleton folds what the prototypes leave in
    // upper case; the second skeleton maps what lower-casing produced.
    unicode_security::skeleton(&skeleton.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_scripts_are_not_highly_restrictive() {
        for spoof in ["Pаypal", "АCME GmbH", "Bank оf Europe", "Ωmega Bank"] {
            assert!(!is_highly_restrictive(spoof), "{spoof}");
        }
        for fine in [
            "ACME GmbH",
            "Müller & Söhne",
            "Ärztekammer Nord-Süd 2",
            "ООО Ромашка",
            "Ελληνική Τράπεζα",
            "株式会社ABC",
            "東京ガス",
            "삼성전자 Korea",
            "Alice's phone",
        ] {
            assert!(is_highly_restrictive(fine), "{fine}");
        }
    }

    #[test]
    fn scripts_are_named_when_not_latin() {
        assert_eq!(script_notice("ACME GmbH 24"), None);
        assert_eq!(script_notice("1234"), None);
        assert_eq!(script_notice("ООО Ромашка").as_deref(), Some("Cyrillic"));
        assert_eq!(script_notice("株式会社ABC").as_deref(), Some("Han, Latin"));
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        let paypal = confusable_skeleton("PayPal");
        for look_alike in ["Paypal", "PAYPAL", "Paypa1", "\u{420}ayPal", "PayPaI"] {
            assert_eq!(confusable_skeleton(look_alike), paypal, "{look_alike}");
        }
        assert_ne!(confusable_skeleton("PayPal"), confusable_skeleton("PayPax"));
        assert_ne!(confusable_skeleton("Stadt Wien"), confusable_skeleton("Stadt Linz"));
    }
}
