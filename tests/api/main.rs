//! One integration binary: every test starts a real server on 127.0.0.1:0 with its own
//! sled directory (or, in `shared_store`, a database of a throwaway PostgreSQL cluster) and
//! talks to it over HTTP.

mod agencies;
mod browser;
mod catalogue;
mod cli;
mod connections;
mod errors;
mod examples;
mod exports;
mod federation;
mod feed_server;
mod health;
mod helpers;
mod meta;
mod persistence;
#[path = "../support/pg.rs"]
mod pg;
mod routing;
mod routing_eval;
mod services;
mod shared_store;
mod storage_faults;
mod targets;
