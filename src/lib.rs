//! # Veiviser
//!
//! The registry and router behind the national front door for young people in Norway.
//! Agencies describe their services here; the ung.no front end asks where to send a young
//! person.
//!
//! A tour of the crate, from the inside out:
//! - [`model`]: the entry, agencies, opening hours, reference data and validation. Plain
//!   Rust, no HTTP and no storage.
//! - [`store`]: the only module that knows sled; typed reads and transactional writes.
//! - [`registry`]: what callers may do with the catalogue, over the model and the store.
//! - [`health`]: scheduled, SSRF-safe health checks, their states, staleness and alerts.
//! - [`routing`]: understanding a young person's question and ranking services for it.
//! - [`federation`]: agencies' feeds and their harvester, the change feed's followers
//!   (mirrors), and the HSDS and CPSV-AP-NO exports.
//! - [`metrics`]: counters for `/metrics`.
//! - [`api`]: the warp routes and handlers, and `ApiError` → problem+json.
//! - [`startup`], [`config`], [`telemetry`], [`seed`], [`commands`]: running it.

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
/// The sled-backed store.
pub mod store;
/// Logging.
pub mod telemetry;
