//! `spawn_app()`: a real Veiviser on 127.0.0.1:0 with sled in a fresh temp directory, and a
//! real HTTP client with typed helpers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use veiviser::config::Config;
use veiviser::startup::Application;
use veiviser::telemetry;

pub const ADMIN: &str = "test-operator-token-0123456789";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Starts a new app on an empty data directory (which loads the default catalogue).
pub async fn spawn_app() -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap()).await
}

/// Starts an app on an empty data directory with a changed configuration.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_in_with(tempfile::tempdir().unwrap(), change).await
}

/// Starts an app on an existing data directory.
pub async fn spawn_app_in(dir: TempDir) -> TestApp {
    spawn_app_in_with(dir, |_| {}).await
}

/// Starts an app on an existing data directory with a changed configuration.
pub async fn spawn_app_in_with(dir: TempDir, change: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_test(dir.path().to_path_buf(), ADMIN);
    change(&mut config);
    start(dir, config).await
}

async fn start(dir: TempDir, config: Config) -> TestApp {
    telemetry::init_for_test();
    veiviser::outbound::install_crypto_provider();
    // A store that was just closed may take a moment to release sled's lock.
    let mut attempt = 0;
    let app = loop {
        match Application::build(config.clone()).await {
            Ok(app) => break app,
            Err(e) if attempt < 50 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot start Veiviser: {e:#}"),
        }
    };
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        dir: Some(dir),
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        drop(std::mem::replace(&mut self.client, reqwest::Client::new()));
        let _ = self.shutdown.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap();
        self.dir.take().unwrap()
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_service(&self, token: &str, body: &Value) -> Response {
        self.send_json(Method::POST, "/v1/services", Some(token), body)
            .await
    }

    pub async fn put_service(
        &self,
        token: &str,
        id: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self
            .request(Method::PUT, &format!("/v1/services/{id}"), Some(token))
            .json(body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        request.send().await.unwrap()
    }

    /// Registers an agency as the operator and returns its token.
    pub async fn create_agency(&self, id: &str) -> String {
        let body = json!({ "id": id, "name": format!("Agency {id}"), "org_number": "986128433" });
        let response = self
            .send_json(Method::POST, "/v1/agencies", Some(ADMIN), &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }
}

/// A valid entry owned by whoever posts it.
pub fn sample_entry(id: &str) -> Value {
    json!({
        "id": id,
        "name": { "nb": "Prøvetjeneste", "en": "Test service" },
        "summary": { "nb": "En tjeneste for tester." },
        "topics": ["mobbing"],
        "audience": { "min_age": 13, "max_age": 19 },
        "coverage": { "scope": "areas", "municipalities": ["4601"] },
        "channels": [
            { "kind": "phone", "address": "22 40 00 40",
              "hours": { "weekly": [{ "days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "15:00" }] } },
            { "kind": "chat", "address": "https://chat.example.no",
              "health_check": { "url": "http://127.0.0.1:9/health" } }
        ],
        "urgency": "ordinary"
    })
}

/// The problem+json body of a response, checking the content type and status.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().unwrap().starts_with("https://"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

/// The pointers of a problem's `errors`.
pub fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_string())
        .collect()
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// How many services the default catalogue holds: one file each in `catalog/services`.
pub fn catalogue_services() -> usize {
    std::fs::read_dir(repo_path("catalog/services"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count()
}

/// Every file under `dir`.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path))
        } else {
            files.push(path)
        }
    }
    files
}

/// A Veiviser of its own process (for SIGKILL and for reading everything it logs), on
/// 127.0.0.1:0 with JSON logs at `rust_log`. Its stdout and stderr are collected in `log`.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: String,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    pub fn start(data: &Path, rust_log: &str) -> ServerProcess {
        Self::start_with(data, rust_log, &[])
    }

    /// As [`ServerProcess::start`], with more `serve` arguments.
    pub fn start_with(data: &Path, rust_log: &str, args: &[&str]) -> ServerProcess {
        Self::start_limited(data, rust_log, args, None)
    }

    /// As [`ServerProcess::start_with`], with the process's descriptor limit (soft and hard)
    /// set to `descriptors` when given.
    pub fn start_limited(
        data: &Path,
        rust_log: &str,
        args: &[&str],
        descriptors: Option<u64>,
    ) -> ServerProcess {
        use std::io::{BufRead, BufReader, Read};
        use std::os::unix::process::CommandExt;
        use std::process::{Command, Stdio};
        let mut command = Command::new(env!("CARGO_BIN_EXE_veiviser"));
        if let Some(limit) = descriptors {
            // SAFETY: only setrlimit, async-signal-safe, runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
            .args(["--admin-token", ADMIN])
            .args(args)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", rust_log)
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stderr.take().unwrap()),
            Box::new(child.stdout.take().unwrap()),
        ];
        for stream in streams {
            let (log, addr_tx) = (log.clone(), addr_tx.clone());
            // Keep draining, so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                    let fields = if event["fields"].is_object() {
                        &event["fields"]
                    } else {
                        &event
                    };
                    if fields["message"] == "Veiviser is listening" {
                        let _ =
                            addr_tx.send(fields["addr"].as_str().unwrap_or_default().to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs its address");
        ServerProcess { child, addr, log }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within five seconds.
    pub fn terminate(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
