//! The server under test, run as a child process, and its memory.
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

/// A port nothing listens on right now (the kernel's pick).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// `scholargraph serve` in a child process. Dropping it kills the child, so
/// the server never outlives the benchmark, whatever way the benchmark ends.
pub struct Server {
    child: Child,
    base_url: String,
    log_path: PathBuf,
}

/// What sets one server apart from the others of a run, beyond the common
/// settings of [`Server::spawn`].
#[derive(Debug, Default)]
pub struct Launch {
    /// Names the log file (`scholargraph-bench-<name>-<pid>.log`); the
    /// default is `server`.
    pub name: Option<String>,
    /// Environment variables set for the server.
    pub set: Vec<(&'static str, String)>,
    /// Environment variables the server must not inherit from the bench.
    pub unset: Vec<&'static str>,
}

impl Server {
    pub fn spawn(bin: &Path, database_url: &str, port: u16, pool_size: u32) -> Result<Self> {
        Self::launch(bin, database_url, port, pool_size, &Launch::default())
    }

    /// Like [`Server::spawn`], with `launch`'s name and environment.
    pub fn launch(bin: &Path, database_url: &str, port: u16, pool_size: u32, launch: &Launch) -> Result<Self> {
        if !bin.is_file() {
            bail!(
                "server binary not found at {}; run `cargo build --release -p scholargraph -p bench` first, or pass --server-bin",
                bin.display()
            );
        }
        let name = launch.name.as_deref().unwrap_or("server");
        let log_path = std::env::temp_dir().join(format!("scholargraph-bench-{name}-{}.log", std::process::id()));
        let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let log_err = log.try_clone().with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("SEED_DEMO_WHEN_EMPTY", "false")
            // One client sends everything: the per-client rate limit is lifted.
            .env("RATE_LIMIT_COST_PER_MINUTE", "0")
            .env("DATABASE_MAX_CONNECTIONS", pool_size.to_string());
        for key in &launch.unset {
            command.env_remove(key);
        }
        for (key, value) in &launch.set {
            command.env(key, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .with_context(|| format!("starting {} serve", bin.display()))?;
        Ok(Self { child, base_url: format!("http://127.0.0.1:{port}"), log_path })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The exit status, if the server has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().context("checking on the server process")
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&mut self, client: &reqwest::Client, timeout: Duration) -> Result<()> {
        let url = format!("{}/readyz", self.base_url);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited()? {
                bail!("the server exited ({status}) before it was ready; see {}", self.log_path.display());
            }
            let ready = client.get(&url).timeout(Duration::from_secs(2)).send().await;
            if matches!(&ready, Ok(response) if response.status().is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("the server was not ready after {timeout:?}; see {}", self.log_path.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stop(self) {
        // Drop does the work.
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Both fail only when the child is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A value in kB from `/proc/<pid>/status` (`VmRSS`, `VmHWM`, ...).
pub(crate) fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')))?;
    line[key.len() + 1..].split_whitespace().next()?.parse().ok()
}

/// The server's peak memory, in KiB; `None` where `/proc` does not tell.
#[derive(Debug, Clone, Copy)]
pub struct PeakMemory {
    pub hwm_kib: Option<u64>,
    pub max_sampled_rss_kib: Option<u64>,
    /// The largest `RssAnon` sampled: resident memory without mapped files
    /// (the search index's files are mapped, and the kernel may drop them).
    pub max_sampled_anon_kib: Option<u64>,
}

/// Samples the server's `VmRSS` and `RssAnon` every 500 ms in the background.
pub struct MemorySampler {
    max_rss: Arc<AtomicU64>,
    max_anon: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

fn sample(pid: u32, max_rss: &AtomicU64, max_anon: &AtomicU64) {
    if let Some(rss) = proc_status_kib(pid, "VmRSS") {
        max_rss.fetch_max(rss, Ordering::Relaxed);
    }
    if let Some(anon) = proc_status_kib(pid, "RssAnon") {
        max_anon.fetch_max(anon, Ordering::Relaxed);
    }
}

impl MemorySampler {
    pub fn start(pid: u32) -> Self {
        let max_rss = Arc::new(AtomicU64::new(0));
        let max_anon = Arc::new(AtomicU64::new(0));
        let (rss, anon) = (max_rss.clone(), max_anon.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                sample(pid, &rss, &anon);
            }
        });
        Self { max_rss, max_anon, task }
    }

    /// Stops sampling and reads `VmHWM`; call it while the server still runs.
    pub fn finish(self, pid: u32) -> PeakMemory {
        self.task.abort();
        sample(pid, &self.max_rss, &self.max_anon);
        let max = self.max_rss.load(Ordering::Relaxed);
        let anon = self.max_anon.load(Ordering::Relaxed);
        PeakMemory {
            hwm_kib: proc_status_kib(pid, "VmHWM"),
            max_sampled_rss_kib: (max > 0).then_some(max),
            max_sampled_anon_kib: (anon > 0).then_some(anon),
        }
    }
}
