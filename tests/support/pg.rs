//! A throwaway PostgreSQL cluster for tests: Debian's server binaries, a temporary
//! directory, a unix socket in it and no TCP port (so clusters of parallel test binaries
//! never collide), `fsync=off` (a test's data need not survive the machine; a benchmark
//! sets `VEIVISER_PG_FSYNC=on`).
//!
//! One cluster per test process, started on first use. The server is a child of a thread
//! that never ends and asks the kernel to stop it (SIGQUIT) when that thread's process
//! dies, so no server outlives its tests, however they end; directories of clusters whose
//! server is gone are removed by the next start.
//!
//! Without a `postgres` binary the tests that need one skip, except under `CI=true`, where
//! `.ci/run` installs it and its absence is a failure.
//!
//! Shared by the library's store tests (through `#[path]`) and the API tests.

#![allow(dead_code)]

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PREFIX: &str = "veiviser-pg.";

/// A running cluster.
pub struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgresql:///{name}?host={}&user=postgres",
            self.dir.display()
        )
    }

    /// Creates database `name` unless it exists, and returns its URL.
    pub async fn database(&self, name: &str) -> String {
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("the test cluster accepts connections");
        let driver = tokio::spawn(connection);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .expect("pg_database is readable")
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("a test database is created");
        }
        drop(client);
        let _ = driver.await;
        self.url(name)
    }
}

/// The cluster of this test process, or `None` (outside CI) where PostgreSQL is not
/// installed.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER.get_or_init(start).as_ref()
}

/// A database name for a test's place (a temporary directory): the same place, the same
/// database, so a store reopened at its place finds what it wrote.
pub fn database_for(place: &Path) -> String {
    let name: String = place
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("t_{name}")
}

fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("postgres").exists() && bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// The uid and gid processes of the cluster run as: `postgres` when this process is root
/// (the server refuses to run as root), else this process's own.
fn run_as() -> Option<(libc::uid_t, libc::gid_t)> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    let name = CString::new("postgres").expect("no NUL");
    // SAFETY: a valid C string; the returned record is read at once, before any other
    // call that could reuse it.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !entry.is_null(),
        "running as root, the test cluster needs the 'postgres' user (Debian's postgresql package creates it)"
    );
    // SAFETY: non-null, as checked.
    let entry = unsafe { &*entry };
    Some((entry.pw_uid, entry.pw_gid))
}

fn as_user(command: &mut Command, user: Option<(libc::uid_t, libc::gid_t)>, die_with_parent: bool) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = user {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if die_with_parent && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn start() -> Option<Cluster> {
    let Some(bin) = server_bin() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but PostgreSQL is not installed: .ci/run installs it"
        );
        eprintln!("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): skipping its tests");
        return None;
    };
    remove_stale_clusters();
    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir()
        .expect("a temporary directory")
        .keep();
    let user = run_as();
    if let Some((uid, gid)) = user {
        let path = CString::new(dir.to_str().expect("a UTF-8 path")).expect("no NUL");
        // SAFETY: a valid C string.
        assert_eq!(
            unsafe { libc::chown(path.as_ptr(), uid, gid) },
            0,
            "chown the cluster dir"
        );
    }
    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"])
        .args(["--locale=C.UTF-8", "--no-sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    as_user(&mut initdb, user, false);
    let out = initdb.output().expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::File::create(dir.join("server.log")).expect("a log file");
    let mut server = Command::new(bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&dir)
        .args(["-c", "listen_addresses="])
        // A test's data need not survive the machine; a benchmark's figures must be honest
        // (VEIVISER_PG_FSYNC=on).
        .arg("-c")
        .arg(match std::env::var("VEIVISER_PG_FSYNC").as_deref() {
            Ok("on") => "fsync=on",
            _ => "fsync=off",
        })
        .args(["-c", "max_connections=300", "-c", "full_page_writes=off"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("a log handle"))
        .stderr(log);
    as_user(&mut server, user, true);
    let (started, running) = std::sync::mpsc::channel();
    // The kernel stops the server when the thread that started it ends: this one never
    // does before the process.
    std::thread::spawn(move || {
        let mut child = match server.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = started.send(Err(e.to_string()));
                return;
            }
        };
        let _ = started.send(Ok(()));
        let _ = child.wait();
        loop {
            std::thread::park();
        }
    });
    running
        .recv()
        .expect("the server thread answers")
        .expect("the postgres server starts");
    wait_until_ready(&dir);
    Some(Cluster { dir })
}

/// Waits for the server's pid file to say it accepts connections.
fn wait_until_ready(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid_file = dir.join("data").join("postmaster.pid");
    loop {
        let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if status.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the test cluster did not start; its log:\n{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes the directories of earlier clusters whose server is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let pid_file = entry.path().join("data").join("postmaster.pid");
        let alive = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            .is_some_and(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                    !status
                        .lines()
                        .any(|l| l.starts_with("State:") && l.contains('Z'))
                })
            });
        let young = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().unwrap_or_default() < Duration::from_secs(60));
        if !alive && !young {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
