//! The checker's schedule, apart from its work: `tick` every second (dispatch the due
//! checks) and `sweep` daily at 03:00 UTC (recompute staleness). This file knows cron,
//! not the checker.

use std::future::Future;

use tokio_cron_scheduler::{Job, JobScheduler};

use super::HealthError;

/// Starts a scheduler running `tick` and `sweep`.
pub async fn schedule<Tick, Sweep, Sweeping>(
    tick: Tick,
    sweep: Sweep,
) -> Result<JobScheduler, HealthError>
where
    Tick: Fn() + Clone + Send + Sync + 'static,
    Sweep: Fn() -> Sweeping + Clone + Send + Sync + 'static,
    Sweeping: Future<Output = ()> + Send + 'static,
{
    let scheduler = JobScheduler::new().await?;
    scheduler
        .add(Job::new_async("* * * * * *", move |_, _| {
            let tick = tick.clone();
            Box::pin(async move { tick() })
        })?)
        .await?;
    scheduler
        .add(Job::new_async(
            "0 0 3 * * *",
            move |_, _| Box::pin(sweep()),
        )?)
        .await?;
    scheduler.start().await?;
    Ok(scheduler)
}
