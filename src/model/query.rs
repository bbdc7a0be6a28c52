//! A query over the catalogue as data, so that every store can answer it its own way: sled
//! by scanning with [`ServiceQuery::matches`], a SQL engine with a `WHERE` clause.

use super::entry::{ChannelKind, ServiceEntry, Status};

/// Which statuses a query admits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every status but `retired`: what a listing shows unless asked.
    #[default]
    Current,
    /// Only this status.
    Only(Status),
    /// Every entry ever stored, retired ones too (the router's and the checker's view).
    Any,
}

/// Entries in id order after `after`, at most `limit`, that pass every filter given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceQuery {
    /// Any of these topics (a category already expanded to its subtopics).
    pub topics: Option<Vec<String>>,
    /// Serves this municipality (code of 2024).
    pub municipality: Option<String>,
    /// Serves somewhere in this county (code of 2024).
    pub county: Option<String>,
    pub agency: Option<String>,
    /// Has a channel of this kind.
    pub channel: Option<ChannelKind>,
    pub status: StatusFilter,
    /// The last id of the previous page.
    pub after: Option<String>,
    pub limit: usize,
}

impl ServiceQuery {
    /// Every entry, any status.
    pub fn everything() -> Self {
        ServiceQuery {
            status: StatusFilter::Any,
            ..ServiceQuery::page(None, usize::MAX)
        }
    }

    /// Current entries after `after`, at most `limit`, with no other filter.
    pub fn page(after: Option<String>, limit: usize) -> Self {
        ServiceQuery {
            topics: None,
            municipality: None,
            county: None,
            agency: None,
            channel: None,
            status: StatusFilter::Current,
            after,
            limit,
        }
    }

    /// Whether `entry` passes the filters (the page bounds are the store's to apply).
    pub fn matches(&self, entry: &ServiceEntry) -> bool {
        let status_ok = match self.status {
            StatusFilter::Current => entry.status != Status::Retired,
            StatusFilter::Only(status) => entry.status == status,
            StatusFilter::Any => true,
        };
        status_ok
            && self
                .topics
                .as_ref()
                .is_none_or(|ts| entry.topics.iter().any(|t| ts.contains(t)))
            && self
                .municipality
                .as_ref()
                .is_none_or(|m| entry.coverage.includes_municipality(m))
            && self
                .county
                .as_ref()
                .is_none_or(|c| entry.coverage.includes_county(c))
            && self.agency.as_ref().is_none_or(|a| entry.agency == *a)
            && self
                .channel
                .is_none_or(|k| entry.channels.iter().any(|c| c.kind == k))
    }
}

/// One page of a listing: its items, and whether more would follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}
