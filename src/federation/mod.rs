//! Federation: Veiviser gathers entries from agencies' own feeds and runs as a read-only
//! mirror of another Veiviser. The feed formats and rules are plain Rust in
//! [`crate::model::feed`] and the exports in [`crate::export`]; here is the I/O.

pub mod harvester;
pub mod mirror;

pub use crate::model::feed::{
    AgencyFeed, EntryProblem, FeedConfig, FeedRecord, HarvestCounts, HarvestOutcome, HarvestRun,
    HarvestTrigger,
};
pub use harvester::{HarvestError, HarvestSettings, Harvester};
pub use mirror::{Mirror, MirrorSettings, MirrorStatus};
