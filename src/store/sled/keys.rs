//! Tree names and key encodings. sled orders keys by raw bytes, so numbers are big-endian.

/// Service entries by id.
pub const SERVICES: &str = "services";
/// Agency records by id.
pub const AGENCIES: &str = "agencies";
/// Audit records by sequence number.
pub const AUDIT: &str = "audit";
/// Catalogue changes by global sequence number (gap-free; the federation feed reads it).
pub const CHANGES: &str = "changes";
/// Health check records by service id, 0, channel index (u16 big-endian).
pub const HEALTH: &str = "health";
/// Agency feeds (configuration and harvest memory) by agency id.
pub const FEEDS: &str = "feeds";
/// Harvest runs by agency id, 0, run number (u64 big-endian).
pub const HARVESTS: &str = "harvests";
/// Counters and singletons.
pub const META: &str = "meta";

/// Last audit sequence number handed out.
pub const AUDIT_SEQ: &[u8] = b"audit_seq";
/// Last change sequence number handed out.
pub const CHANGE_SEQ: &[u8] = b"change_seq";
/// SHA-256 of the operator token.
pub const ADMIN_TOKEN_HASH: &[u8] = b"admin_token_hash";
/// On a mirror: the primary's last change sequence number applied here.
pub const MIRROR_POSITION: &[u8] = b"mirror_position";
/// Set once the default catalogue has been loaded into this data directory.
pub const SEEDED: &[u8] = b"seeded";
/// Written to learn whether durable writes work again after a failure.
pub const WRITE_PROBE: &[u8] = b"write_probe";

pub fn seq(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn decode_seq(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The key of a channel's health record; all of a service's records share its prefix.
pub fn health(service_id: &str, channel: usize) -> Vec<u8> {
    let mut key = id_prefix(service_id);
    key.extend_from_slice(&u16::try_from(channel).unwrap_or(u16::MAX).to_be_bytes());
    key
}

/// The prefix every key about `id` starts with: the id, then a 0 byte (which no id holds).
pub fn id_prefix(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 9);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// The service id and channel index of a health key.
pub fn decode_health(key: &[u8]) -> Option<(String, usize)> {
    let (id, channel) = key.split_at(key.len().checked_sub(3)?);
    let (zero, channel) = channel.split_first()?;
    (*zero == 0).then_some(())?;
    let channel = u16::from_be_bytes(channel.try_into().ok()?);
    Some((String::from_utf8(id.to_vec()).ok()?, usize::from(channel)))
}

/// The key of an agency's harvest run; all of an agency's runs share its prefix.
pub fn harvest(agency: &str, run: u64) -> Vec<u8> {
    let mut key = id_prefix(agency);
    key.extend_from_slice(&run.to_be_bytes());
    key
}
