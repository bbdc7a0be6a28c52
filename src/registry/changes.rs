//! The change feed: every accepted change in sequence order, for followers (mirrors, other
//! portals). Only durable changes are handed out, so a follower never sees a change that a
//! crash could still take back.

use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use super::{Registry, Result};
use crate::model::change::{ChangePage, ChangeRecord};

/// The longest a follower may wait for a change in one request.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// The most changes handed out in one page.
pub const MAX_CHANGES: usize = 1000;

impl Registry {
    /// The durable changes after `since`, at most `limit`; when there are none yet, waits up
    /// to `wait` for the first to arrive.
    pub async fn changes(&self, since: u64, limit: usize, wait: Duration) -> Result<ChangePage> {
        let mut committed = self.watch_changes();
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        loop {
            if *committed.borrow_and_update() > since || wait.is_zero() {
                break;
            }
            match timeout_at(deadline, committed.changed()).await {
                Ok(Ok(())) => {}
                // Timed out, or the registry is shutting down: answer with what there is.
                Ok(Err(_)) | Err(_) => break,
            }
        }
        let last_seq = *committed.borrow();
        let changes = self
            .store
            .changes_since(since, limit.clamp(1, MAX_CHANGES))
            .await?
            .into_iter()
            .take_while(|change| change.seq <= last_seq)
            .collect();
        Ok(ChangePage { changes, last_seq })
    }
}

impl Registry {
    /// On a mirror: applies a page of the primary's changes, makes it durable and tells the
    /// watchers (the router's index, health checks, this mirror's own followers).
    pub async fn apply_replicated(&self, changes: &[ChangeRecord]) -> Result<u64> {
        let position = self.store.apply_replicated(changes).await?;
        self.commit().await?;
        Ok(position)
    }

    /// On a mirror: the primary's last change applied here (0 when none).
    pub async fn mirror_position(&self) -> Result<u64> {
        Ok(self.store.mirror_position().await?)
    }

    /// On a mirror: stores an agency as the primary describes it.
    pub async fn put_replicated_agency(&self, agency: &crate::model::Agency) -> Result<()> {
        Ok(self.store.put_replicated_agency(agency).await?)
    }
}
