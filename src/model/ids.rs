//! Identifier and code rules: slugs, Norwegian organisation numbers, phone numbers,
//! municipality and county code shapes, language tags, e-mail and URL checks.
//!
//! Plain functions over `&str`, so the validator can report every problem with a pointer.
//! Nothing here does I/O.

use url::Url;

/// Service and agency ids: lowercase kebab-case slugs, stable forever once published.
pub const SLUG_PATTERN: &str = r"^[a-z0-9][a-z0-9-]{1,62}$";
/// BCP 47 language tags as we use them: `nb`, `nn`, `en`, `se`, `smj`, `fkv`, `zh-Hant`.
pub const LANG_PATTERN: &str = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$";
/// Municipality code (kommunenummer), four digits kept as a string: `0301`.
pub const MUNICIPALITY_PATTERN: &str = r"^[0-9]{4}$";
/// County code (fylkesnummer), two digits kept as a string: `03`.
pub const COUNTY_PATTERN: &str = r"^[0-9]{2}$";
/// Organisation number as typed: nine digits, optionally grouped `986 128 433`.
pub const ORG_NUMBER_PATTERN: &str = r"^[0-9]{3} ?[0-9]{3} ?[0-9]{3}$";

/// Whether `s` is a valid slug (see [`SLUG_PATTERN`]).
pub fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Checks a Norwegian organisation number (organisasjonsnummer) and returns its nine digits.
///
/// The ninth digit is a mod-11 check digit over the first eight with weights 3, 2, 7, 6, 5, 4, 3, 2;
/// a remainder of 1 would need the check digit 10, so such numbers are never issued.
/// Source: Brønnøysundregistrene, "Organisasjonsnummer" (brreg.no).
pub fn parse_org_number(input: &str) -> Result<String, String> {
    let digits: String = input.chars().filter(|c| *c != ' ').collect();
    if digits.len() != 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err("an organisation number has nine digits".into());
    }
    let d: Vec<u32> = digits.bytes().map(|c| u32::from(c - b'0')).collect();
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
    let expected = match sum % 11 {
        0 => 0,
        1 => return Err("not a valid organisation number: it fails the mod-11 check".into()),
        r => 11 - r,
    };
    if d[8] != expected {
        return Err(format!(
            "not a valid organisation number: the check digit should be {expected} (mod 11)"
        ));
    }
    Ok(digits)
}

/// Checks a Norwegian phone number and returns its digits (the stored form).
///
/// Accepted, after removing spaces and an optional `+47`/`0047` in front of an 8-digit number
/// (numbering plan, Nkom "E.164 nummerplan"):
/// - ordinary numbers: 8 digits, first digit 2–9;
/// - the emergency numbers 110, 112 and 113;
/// - 4-digit `1xxx` service numbers such as 1412 (the text emergency service);
/// - location-independent 5-digit numbers 02000–09999 (02800 police, 08588);
/// - EEA-harmonised numbers of social value 116xxx (116 111, 116 117, 116 123).
pub fn parse_phone(input: &str) -> Result<String, String> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}'))
        .collect();
    let national = compact
        .strip_prefix("+47")
        .or_else(|| compact.strip_prefix("0047"))
        .filter(|rest| rest.len() == 8);
    let had_country_code = national.is_some();
    let digits = national.unwrap_or(&compact);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(
            "a phone number holds digits only (spaces and a leading +47 are allowed)".into(),
        );
    }
    let b = digits.as_bytes();
    let ok = match b.len() {
        8 => (b'2'..=b'9').contains(&b[0]),
        3 => matches!(digits, "110" | "112" | "113"),
        4 => b[0] == b'1',
        5 => b[0] == b'0' && b[1] >= b'2',
        6 => digits.starts_with("116"),
        _ => false,
    };
    if !ok || (had_country_code && b.len() != 8) {
        return Err(format!(
            "'{input}' is not a Norwegian phone number: use 8 digits, or a short number such as 113, 1412, 02800 or 116 111"
        ));
    }
    Ok(digits.to_string())
}

/// Formats stored phone digits the way Norwegians write them: `22 40 00 40`, `800 333 21`, `116 111`.
pub fn format_phone(digits: &str) -> String {
    let group = |parts: &[usize]| {
        let mut out = String::new();
        let mut at = 0;
        for len in parts {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&digits[at..at + len]);
            at += len;
        }
        out
    };
    match digits.len() {
        8 if matches!(digits.as_bytes()[0], b'4' | b'8' | b'9') => group(&[3, 3, 2]),
        8 => group(&[2, 2, 2, 2]),
        6 => group(&[3, 3]),
        _ => digits.to_string(),
    }
}

/// A link shown to young people: https only, with a host and no credentials.
pub fn check_public_url(input: &str) -> Result<Url, String> {
    let url = Url::parse(input).map_err(|e| format!("not a valid URL: {e}"))?;
    if url.scheme() != "https" {
        return Err("links shown to young people must use https".into());
    }
    check_url_parts(url)
}

/// A probe target: http or https (a health check is not a link anyone follows).
pub fn check_probe_url(input: &str) -> Result<Url, String> {
    let url = Url::parse(input).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("a health-check URL must use http or https".into());
    }
    check_url_parts(url)
}

fn check_url_parts(url: Url) -> Result<Url, String> {
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user name or password".into());
    }
    Ok(url)
}

/// A plausible e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn check_email(input: &str) -> Result<(), String> {
    let bad = || Err(format!("'{input}' is not an e-mail address"));
    let Some((local, domain)) = input.split_once('@') else {
        return bad();
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty() || !domain_ok || input.chars().any(char::is_whitespace) {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_numbers_follow_mod_11() {
        // Bufdir, Røde Kors, Barneombudet, and the domain guide's worked example.
        for ok in ["986128433", "864 139 442", "971527765", "123456785"] {
            assert!(parse_org_number(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse_org_number("986 128 433").unwrap(), "986128433");
        for bad in ["986128434", "12345678", "1234567890", "98612843x", ""] {
            assert!(parse_org_number(bad).is_err(), "{bad}");
        }
        // 40000000x has the weighted sum 3 * 4 = 12, remainder 1: no check digit can make it valid.
        for check in 0..=9 {
            assert!(parse_org_number(&format!("40000000{check}")).is_err());
        }
    }

    #[test]
    fn phone_numbers_cover_the_norwegian_plan() {
        let cases = [
            ("22 40 00 40", Some("22400040")),
            ("+47 915 08 588", Some("91508588")),
            ("0047 80033321", Some("80033321")),
            ("116 111", Some("116111")),
            ("116123", Some("116123")),
            ("113", Some("113")),
            ("112", Some("112")),
            ("1412", Some("1412")),
            ("02800", Some("02800")),
            ("08588", Some("08588")),
            ("111", None),
            ("01800", None),
            ("12345678", None),
            ("0123 4567", None),
            ("+47 113", None),
            ("1234567", None),
            ("22-40-00-40", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_phone(input).ok().as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn phone_numbers_format_for_display() {
        assert_eq!(format_phone("22400040"), "22 40 00 40");
        assert_eq!(format_phone("80033321"), "800 333 21");
        assert_eq!(format_phone("47809050"), "478 090 50");
        assert_eq!(format_phone("116111"), "116 111");
        assert_eq!(format_phone("02800"), "02800");
    }

    #[test]
    fn urls_for_young_people_are_https() {
        assert!(check_public_url("https://www.ung.no/oss").is_ok());
        assert!(check_public_url("http://www.ung.no/oss").is_err());
        assert!(check_public_url("https://user:pw@ung.no").is_err());
        assert!(check_public_url("ung.no").is_err());
        assert!(check_probe_url("http://127.0.0.1:8080/health").is_ok());
        assert!(check_probe_url("ftp://ung.no").is_err());
    }

    #[test]
    fn slugs_and_emails() {
        assert!(is_slug("kors-pa-halsen"));
        assert!(!is_slug("Kors"));
        assert!(!is_slug("-a"));
        assert!(!is_slug("a"));
        assert!(check_email("alarm@116111.no").is_ok());
        assert!(check_email("alarm@116111").is_err());
        assert!(check_email("a b@x.no").is_err());
    }
}
