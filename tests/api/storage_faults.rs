//! A failing disk, for real: the data directory on a small tmpfs that fills up. Writes must
//! fail fast with 503 and leave nothing behind, routing and probes must go on, readiness
//! and the metrics must say so, SIGTERM must still end the process, and a restart on a
//! healthy disk must find every acknowledged write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, ServerProcess, sample_entry};

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` where this machine does not let the tests mount (not root, or no
    /// CAP_SYS_ADMIN in a container).
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0700")])
            .arg("tmpfs")
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills what is left with one file, returning its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 << 10];
        while file.write_all(&block).is_ok() {}
        let _ = file.flush();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn bulky_entry(id: &str) -> Value {
    let mut entry = sample_entry(id);
    // Enough text that a few writes need space the disk no longer has.
    let text = "Mer om tjenesten. ".repeat(270);
    entry["description"] = json!({ "nb": text, "nn": text, "en": text, "se": text });
    entry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_fast_keeps_routing_and_stores_nothing_it_refused() {
    let Some(disk) = SmallDisk::mount(24) else {
        eprintln!("skipped: this machine does not let the tests mount a tmpfs");
        return;
    };
    let data = disk.path().join("data");
    let mut server = ServerProcess::start_with(&data, "info", &["--store-timeout-s", "3"]);
    let base = format!("http://{}", server.addr);
    veiviser::outbound::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let created = http
        .post(format!("{base}/v1/agencies"))
        .bearer_auth(ADMIN)
        .json(&json!({ "id": "diskprove", "name": "Diskprøve", "org_number": "986128433" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let token = created.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |id: String| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let started = Instant::now();
            let response = http
                .post(format!("{base}/v1/services"))
                .bearer_auth(&token)
                .json(&bulky_entry(&id))
                .send()
                .await
                .unwrap();
            (response, started.elapsed())
        }
    };

    let filler = disk.fill();
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 0..400 {
        let id = format!("fylt-{n}");
        let (response, took) = post(id.clone()).await;
        assert!(
            took < Duration::from_secs(8),
            "a write on a full disk took {took:?}"
        );
        match response.status() {
            StatusCode::CREATED => acknowledged.push(id),
            StatusCode::SERVICE_UNAVAILABLE => {
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["status"], 503, "{problem}");
                refused = Some(id);
                break;
            }
            other => panic!("a write on a full disk answered {other}"),
        }
    }
    let refused = refused.expect("a full disk refuses a write");

    // Nothing of the refused write is served, routing and liveness go on, readiness and
    // the metrics tell the operator.
    let phantom = http
        .get(format!("{base}/v1/services/{refused}"))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(
            phantom.status(),
            StatusCode::NOT_FOUND | StatusCode::SERVICE_UNAVAILABLE
        ),
        "the refused write is served: {}",
        phantom.status()
    );
    let route = http
        .get(format!("{base}/v1/route?q=jeg+blir+mobbet&age=14"))
        .send()
        .await
        .unwrap();
    assert_eq!(route.status(), StatusCode::OK);
    let live = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["store"]["writable"], false, "{ready}");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let errors: u64 = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("veiviser_store_errors_total{"))
        .filter_map(|l| l.split_once("} ")?.1.parse::<u64>().ok())
        .sum();
    assert!(errors >= 1, "{metrics}");
    assert!(
        metrics.contains("veiviser_store_writes_failing 1"),
        "{metrics}"
    );

    // sled cannot be healed in this process: after ENOSPC one of its calls never returns
    // and keeps the database's file lock (see the store's module docs). The process must
    // still end on SIGTERM, within the grace, and a restart on the healthy disk must find
    // every acknowledged write and nothing of the refused one.
    std::fs::remove_file(&filler).unwrap();
    let stopping = Instant::now();
    server.terminate();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "SIGTERM took {:?}",
        stopping.elapsed()
    );
    assert!(server.child.try_wait().unwrap().is_some());

    let mut server = ServerProcess::start_with(&data, "info", &["--store-timeout-s", "3"]);
    let base = format!("http://{}", server.addr);
    for id in &acknowledged {
        let stored = http
            .get(format!("{base}/v1/services/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), StatusCode::OK, "acknowledged {id} is lost");
    }
    let phantom = http
        .get(format!("{base}/v1/services/{refused}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        phantom.status(),
        StatusCode::NOT_FOUND,
        "the refused write was stored"
    );
    let again = http
        .post(format!("{base}/v1/services"))
        .bearer_auth(&token)
        .json(&bulky_entry(&refused))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    server.terminate();
}
