//! Federation: Veiviser gathers entries from agencies' own feeds, publishes its changes to
//! followers, runs as a read-only mirror of another Veiviser, and exports the catalogue in
//! the formats national catalogues read. The formats and rules are plain Rust here; the
//! harvester and the mirror do the I/O.

pub mod export;
pub mod feed;
pub mod harvester;
pub mod mirror;

pub use feed::{
    AgencyFeed, EntryProblem, FeedConfig, FeedRecord, HarvestCounts, HarvestOutcome, HarvestRun,
    HarvestTrigger,
};
pub use harvester::{HarvestError, HarvestSettings, Harvester};
pub use mirror::{Mirror, MirrorSettings, MirrorStatus};
