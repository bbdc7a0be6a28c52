//! The domain model: service entries, agencies, opening hours, reference data and the
//! validation rules. Plain Rust: nothing here knows warp, sled or reqwest.

/// Agencies.
pub mod agency;
/// Change and audit records.
pub mod change;
/// Service entries and their channels.
pub mod entry;
/// Agency feeds: their configuration, documents and harvest runs.
pub mod feed;
/// Health-check states, their rules, and the snapshot the router reads.
pub mod health;
/// Norwegian public holidays.
pub mod holidays;
/// Opening hours in Europe/Oslo time.
pub mod hours;
/// Identifier and Norwegian code rules.
pub mod ids;
/// Catalogue queries as data.
pub mod query;
/// Topic taxonomy, municipalities and counties.
pub mod reference;
/// JSON Schemas generated from the types.
pub mod schema;
/// Multilingual text.
pub mod text;
/// Schema and semantic validation.
pub mod validate;
/// The model layer's error type.
pub mod violations;

pub use agency::Agency;
pub use entry::{Channel, ChannelKind, Coverage, CoverageScope, ServiceEntry, Status, Urgency};
pub use reference::{Places, Reference, Taxonomy};
pub use validate::Validator;
pub use violations::{Violation, Violations};
