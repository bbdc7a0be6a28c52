//! Value encoding: one format-version byte, then JSON. The byte lets a later format be
//! read next to this one without a migration step.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

const FORMAT_JSON_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_JSON_V1];
    serde_json::to_writer(&mut out, value).expect("records serialise to JSON");
    out
}

pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&FORMAT_JSON_V1, json)) => {
            serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))
        }
        Some((other, _)) => Err(corrupt(format!("unknown format byte {other}"))),
        None => Err(corrupt("empty value".into())),
    }
}
