//! Tree names and key encodings. sled orders keys by raw bytes, so numbers are big-endian.

/// Service entries by id.
pub const SERVICES: &str = "services";
/// Agency records by id.
pub const AGENCIES: &str = "agencies";
/// Audit records by sequence number.
pub const AUDIT: &str = "audit";
/// Catalogue changes by global sequence number (gap-free; the federation feed reads it).
pub const CHANGES: &str = "changes";
/// Counters and singletons.
pub const META: &str = "meta";

/// Last audit sequence number handed out.
pub const AUDIT_SEQ: &[u8] = b"audit_seq";
/// Last change sequence number handed out.
pub const CHANGE_SEQ: &[u8] = b"change_seq";
/// SHA-256 of the operator token.
pub const ADMIN_TOKEN_HASH: &[u8] = b"admin_token_hash";
/// Set once the default catalogue has been loaded into this data directory.
pub const SEEDED: &[u8] = b"seeded";

pub fn seq(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn decode_seq(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
