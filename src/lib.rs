//! # Veiviser
//!
//! The registry and router behind the national front door for young people in Norway.
//! Agencies describe their services here; the ung.no front end asks where to send a young
//! person.
//!
//! A tour of the crate, from the inside out:
//! - [`model`]: the entry, agencies, opening hours, health states, feeds, change records,
//!   queries, reference data and validation. Plain Rust, no HTTP and no storage.
//! - [`store`]: the engine-neutral store trait; sled is its embedded engine, PostgreSQL the
//!   one several instances share.
//! - [`export`]: the catalogue as HSDS 3 and CPSV-AP-NO (pure mappings).
//! - [`outbound`]: the HTTP client bound to the network policy.
//! - [`routing`]: understanding a young person's question and ranking services for it.
//! - [`registry`]: what callers may do with the catalogue; its only writer.
//! - [`health`]: scheduled health checks, their records, staleness and alerts.
//! - [`federation`]: harvesting agencies' feeds, and mirroring another Veiviser.
//! - [`metrics`]: counters for `/metrics`.
//! - [`api`]: the warp routes and handlers, and `ApiError` → problem+json.
//! - [`startup`], [`config`], [`telemetry`], [`seed`], [`commands`]: running it.
//!
//! ## Dependency rule
//!
//! A module imports only modules on lower floors (and its own files); no two files import
//! each other. `tests/architecture.rs` reads this list and fails when the code breaks it.
//!
//! - floor 0: `model`, `auth`, `metrics`, `telemetry`
//! - floor 1: `store`, `export`, `outbound`, `routing`
//! - floor 2: `registry`, `health`, `evaluation`, `lexicon_build`
//! - floor 3: `federation`, `seed`, `contract`
//! - floor 4: `api`
//! - floor 5: `config`
//! - floor 6: `startup`
//! - floor 7: `commands`

// One module-file style throughout: `foo/mod.rs`, never `foo.rs` beside `foo/`.
#![deny(clippy::self_named_module_files)]

/// HTTP routes, handlers and the server.
pub mod api;
/// Tokens and principals.
pub mod auth;
/// The command-line subcommands.
pub mod commands;
/// Command line and configuration.
pub mod config;
/// The published JSON Schemas.
pub mod contract;
/// The routing evaluation: cases, the judge and per-slice figures.
pub mod evaluation;
/// The catalogue as HSDS 3 and CPSV-AP-NO: pure mappings.
pub mod export;
/// Harvesting agencies' feeds, and mirroring another Veiviser.
pub mod federation;
/// Catalogue health: probes, states, alerts.
pub mod health;
/// `veiviser lexicon build`: the router's lexicon from Norwegian lexical resources.
pub mod lexicon_build;
/// Prometheus counters.
pub mod metrics;
/// The domain model and its validation.
pub mod model;
/// Outbound HTTP under the network policy: health probes, alerts, harvests, mirrors.
pub mod outbound;
/// Catalogue operations: ownership, versions, import.
pub mod registry;
/// The front door's router.
pub mod routing;
/// Reading catalogue files (embedded or on disk).
pub mod seed;
/// Building and running the server.
pub mod startup;
/// The store trait and its engines.
pub mod store;
/// Logging.
pub mod telemetry;
