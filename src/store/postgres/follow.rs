//! The change signal of a shared database: the newest change number, moved by any
//! instance's write. A `LISTEN` connection wakes it within milliseconds; a poll of `heads`
//! every second covers what a lost connection missed, and the connection is opened again.

use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::advance_signal;

/// The channel every change is announced on, with its number as payload.
pub const CHANNEL: &str = "veiviser_changes";
/// How often `heads` is read whatever the notifications say.
const POLL: Duration = Duration::from_secs(1);

/// Aborts its task when dropped.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The follower's task; it stops when the store is dropped.
pub type Follower = AbortOnDrop;

/// Starts following from `last`.
pub fn start(
    config: tokio_postgres::Config,
    pool: Pool,
    last: u64,
) -> (Follower, watch::Receiver<u64>) {
    let (sender, receiver) = watch::channel(last);
    let task = tokio::spawn(async move {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned = false;
        loop {
            match listen(&config).await {
                Ok((mut notes, _listener)) => {
                    warned = false;
                    // What was written before the LISTEN took effect.
                    read_head(&pool, &sender).await;
                    loop {
                        tokio::select! {
                            note = notes.recv() => match note {
                                Some(seq) => advance_signal(&sender, seq),
                                None => break,
                            },
                            _ = poll.tick() => read_head(&pool, &sender).await,
                        }
                    }
                }
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "cannot listen for changes; polling until it can");
                }
                Err(_) => {}
            }
            read_head(&pool, &sender).await;
            tokio::time::sleep(POLL).await;
        }
    });
    (AbortOnDrop(task), receiver)
}

/// Notified numbers, and the connection they come on (listening while it is held).
type Listening = (
    mpsc::UnboundedReceiver<u64>,
    (tokio_postgres::Client, AbortOnDrop),
);

/// Opens a connection that listens on [`CHANNEL`]; its notifications arrive on the
/// receiver, which closes when the connection ends.
async fn listen(config: &tokio_postgres::Config) -> Result<Listening, tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (notes, receiver) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(note)) => {
                    if let Ok(seq) = note.payload().parse() {
                        if notes.send(seq).is_err() {
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener's connection ended");
                    break;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    Ok((receiver, (client, AbortOnDrop(driver))))
}

async fn read_head(pool: &Pool, sender: &watch::Sender<u64>) {
    let read = async {
        let client = pool.get().await.ok()?;
        let row = client
            .query_one("SELECT change_seq FROM heads WHERE id = 1", &[])
            .await
            .ok()?;
        u64::try_from(row.get::<_, i64>(0)).ok()
    };
    if let Ok(Some(seq)) = tokio::time::timeout(POLL * 5, read).await {
        advance_signal(sender, seq);
    }
}
