//! Tokens and principals. Tokens are random (32 bytes), shown once, stored only as SHA-256
//! hashes and compared in constant time. SHA-256 without a salt is enough here because the
//! tokens carry 256 bits of entropy; a password would need a slow hash.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator of this Veiviser instance.
    Operator,
    /// An agency, by id.
    Agency(String),
}

impl Principal {
    /// The actor as written in the audit log.
    pub fn actor(&self) -> String {
        match self {
            Principal::Operator => "operator".into(),
            Principal::Agency(id) => format!("agency:{id}"),
        }
    }

    /// Whether this principal may change an entry owned by `agency`.
    pub fn may_change(&self, agency: &str) -> bool {
        match self {
            Principal::Operator => true,
            Principal::Agency(id) => id == agency,
        }
    }
}

const AGENCY_PREFIX: &str = "vva";
const OPERATOR_PREFIX: &str = "vvo";

/// A new agency token: `vva.<agency id>.<64 hex digits>`. The id lets the server find the
/// agency's hash without trying them all.
pub fn new_agency_token(agency: &str) -> String {
    format!("{AGENCY_PREFIX}.{agency}.{}", random_hex())
}

/// A new operator token.
pub fn new_operator_token() -> String {
    format!("{OPERATOR_PREFIX}.{}", random_hex())
}

/// The agency id an agency token names, if it has that form.
pub fn agency_of_token(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(AGENCY_PREFIX)?.strip_prefix('.')?;
    let (agency, secret) = rest.rsplit_once('.')?;
    (!agency.is_empty() && secret.len() == 64).then_some(agency)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `token` hashes to `stored_hash`, compared in constant time.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    hash_token(token)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_agency_and_match_only_their_hash() {
        let token = new_agency_token("kirkens-sos");
        assert_eq!(agency_of_token(&token), Some("kirkens-sos"));
        assert!(token.len() > 32 + 4);
        let hash = hash_token(&token);
        assert!(token_matches(&token, &hash));
        assert!(!token_matches(&new_agency_token("kirkens-sos"), &hash));
        assert_eq!(agency_of_token("vva.x"), None);
        assert_eq!(agency_of_token(&new_operator_token()), None);
    }
}
