//! A real OCI registry for the tests: Debian's `docker-registry` (CNCF distribution) on
//! 127.0.0.1, on a free port, with temporary storage, stopped and removed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The registry binary `make setup` installs.
pub const BINARY: &str = "docker-registry";
const START_ATTEMPTS: usize = 3;
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry; dropping it stops the process and deletes its storage.
pub struct LocalRegistry {
    child: Option<Child>,
    dir: PathBuf,
    address: String,
}

impl LocalRegistry {
    /// Starts a registry on a free loopback port and waits until it answers `/v2/`.
    pub fn start() -> Result<Self> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once() {
                Ok(registry) => return Ok(registry),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the registry did not start")))
    }

    /// `127.0.0.1:<port>`, the registry part of references pushed here.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Stops the registry (later calls fail as with a registry that is down).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn start_once() -> Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let dir = std::env::temp_dir().join(format!(
            "pci-registry-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("storage"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let config = dir.join("config.yml");
        std::fs::write(&config, config_yaml(&dir.join("storage"), &address))?;
        let log = std::fs::File::create(dir.join("registry.log"))?;
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!("cannot start `{BINARY}`: run `make setup` (it installs Debian's docker-registry)")
            })?;
        let mut registry = Self {
            child: Some(child),
            dir,
            address,
        };
        registry.wait_until_ready()?;
        Ok(registry)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("{BINARY} exited with {status}: {}", self.log_tail());
            }
            if api_answers(&self.address) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{BINARY} did not answer on {} within {READY_TIMEOUT:?}: {}",
            self.address,
            self.log_tail()
        )
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config_yaml(storage: &std::path::Path, address: &str) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n",
        storage.display()
    )
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `GET /v2/` answers 200, the distribution API's version check.
fn api_answers(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = [0u8; 16];
    matches!(stream.read(&mut answer), Ok(n) if answer[..n].starts_with(b"HTTP/1.0 200") || answer[..n].starts_with(b"HTTP/1.1 200"))
}
