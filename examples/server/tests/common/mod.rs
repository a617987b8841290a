//! Helpers shared by the server's process tests.

#![allow(dead_code)] // each test binary uses its own subset

pub mod cluster;
pub mod load;

use sqlx::{Connection, Executor, PgConnection};

/// The server the other PostgreSQL tests use (scripts/test sets DATABASE_URL).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test and dropped when it ends, even if the test panics.
pub struct FreshDatabase {
    pub name: String,
    pub url: String,
}

impl FreshDatabase {
    pub fn create() -> Self {
        let name = format!("skinstack_cli_{}", uuid::Uuid::new_v4().simple());
        let sql = format!("CREATE DATABASE {name}");
        // A thread of its own, so this also works from inside an async test.
        std::thread::spawn(move || block_on(admin(sql)))
            .join()
            .unwrap();
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&name);
        Self {
            name,
            url: url.into(),
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run while a panic unwinds inside no runtime: use a thread of its own.
        std::thread::spawn(move || block_on(admin(sql)))
            .join()
            .unwrap();
    }
}

async fn admin(sql: String) {
    let mut conn = PgConnection::connect(&admin_url()).await.unwrap();
    conn.execute(sql.as_str()).await.unwrap();
    conn.close().await.unwrap();
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A `skinstack-server serve` process on a free port.
pub struct Server {
    child: std::process::Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    stdout: std::sync::mpsc::Receiver<String>,
    /// Lines read while waiting for the "listening on" line.
    early: Vec<String>,
    /// The `--data-dir` given for it when the test gave none, deleted on drop.
    data_dir: Option<std::path::PathBuf>,
}

/// The key the process tests give servers and stores alike.
/// Runs `skinstack-server args` against `database_url` (with [`SECRET_KEY`]) to its end.
pub fn cli(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_skinstack-server"))
        .env("DATABASE_URL", database_url)
        .env("SKINSTACK_SECRET_KEY", SECRET_KEY)
        .args(args)
        .output()
        .unwrap()
}

/// Stdout of a run of [`cli`] that must succeed, as lines.
pub fn cli_lines(database_url: &str, args: &[&str]) -> Vec<String> {
    let out = cli(database_url, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

impl Server {
    /// Starts `serve` on an ephemeral port with `DATABASE_URL=database_url` (or in memory when
    /// `None`) and waits for its "listening on" line.
    pub fn start(database_url: Option<&str>) -> Server {
        Self::start_with(database_url, &[])
    }

    /// As [`Server::start`], with more `serve` arguments.
    pub fn start_with(database_url: Option<&str>, args: &[&str]) -> Server {
        Self::launch(database_url, args, "warn", false)
    }

    /// As [`Server::start`] with `RUST_LOG=rust_log`, its stderr (the logs) captured with its
    /// stdout: [`Server::stop`] returns both.
    pub fn start_logging(database_url: Option<&str>, rust_log: &str) -> Server {
        Self::launch(database_url, &[], rust_log, true)
    }

    fn launch(database_url: Option<&str>, args: &[&str], rust_log: &str, logs: bool) -> Server {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_skinstack-server"));
        // Each server its own data directory (so its own click journal): tests run many at once.
        let data_dir = (!args.contains(&"--data-dir"))
            .then(|| std::env::temp_dir().join(format!("skinstack-data-{}", uuid::Uuid::new_v4())));
        if let Some(dir) = &data_dir {
            command.arg("serve").arg("--data-dir").arg(dir);
        } else {
            command.arg("serve");
        }
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("SKINSTACK_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", rust_log)
            .stdout(std::process::Stdio::piped());
        if logs {
            command.stderr(std::process::Stdio::piped());
        }
        match database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        let mut child = command.spawn().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let forward = |pipe: Box<dyn std::io::Read + Send>, tx: std::sync::mpsc::Sender<String>| {
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        };
        forward(Box::new(child.stdout.take().unwrap()), tx.clone());
        if let Some(stderr) = child.stderr.take() {
            forward(Box::new(stderr), tx);
        }
        let mut early = Vec::new();
        let addr = loop {
            let line = rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("server printed its address");
            // With logs captured, log lines may come first.
            match line.strip_prefix("listening on http://") {
                Some(addr) => break addr.parse().unwrap(),
                None if logs => early.push(line),
                None => panic!("expected a listening line, got {line:?}"),
            }
        };
        Server {
            child,
            addr,
            stdout: rx,
            early,
            data_dir,
        }
    }

    /// Sends SIGTERM, waits for the exit, and returns whether it succeeded and what it printed.
    pub fn stop(mut self) -> (bool, Vec<String>) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let mut lines = std::mem::take(&mut self.early);
        // The readers end at the pipes' end, now that the process has exited.
        while let Ok(line) = self.stdout.recv_timeout(std::time::Duration::from_secs(10)) {
            lines.push(line);
        }
        (exit.success(), lines)
    }

    /// The next line the server prints after its "listening on" line (waits up to 30 s).
    pub fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the server printed another line")
    }

    /// `kill -9`: no shutdown, no drain.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    /// A failed test must not leave its server running (a no-op once it has exited).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `GET path` over a fresh connection, as a browser would send it; returns the status code.
pub async fn get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let head = String::from_utf8_lossy(&response);
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// `http` expecting `expect`: the body as JSON (`Null` if it is not JSON).
pub async fn json_of(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    expect: u16,
) -> serde_json::Value {
    let (status, _, body) = http(addr, method, path, token, body).await;
    assert_eq!(status, expect, "{method} {path}: {body}");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// A TCP proxy in front of PostgreSQL that a test can cut (every connection dropped, new ones
/// refused) and restore: the database "goes away" without touching the shared server.
pub struct TcpProxy {
    /// Where clients connect.
    pub addr: std::net::SocketAddr,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TcpProxy {
    /// Proxies to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> TcpProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (down2, connections2) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if down2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections2.lock().unwrap().push(task.abort_handle());
            }
        });
        TcpProxy {
            addr,
            down,
            connections,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, head, body).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, String, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    http_raw(addr, method, path, &auth, body).await
}

/// As [`http`], with `headers` (each line ending in `\r\n`) instead of a token.
pub async fn http_raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<serde_json::Value>,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// The merchant pays: `invoices create` for the month containing `as_of` (RFC 3339), then
/// `invoices mark-paid` of the one statement issued, both as real processes. Returns the
/// statement's id and its `invoices export` CSV, read back with the `csv` crate.
pub fn merchant_pays(database_url: &str, as_of: &str) -> (String, Vec<Vec<String>>) {
    let period = &as_of[..7];
    let issued = cli_lines(
        database_url,
        &["invoices", "create", "--period", period, "--as-of", as_of],
    );
    assert_eq!(issued.len(), 1, "{issued:?}");
    let id = issued[0]
        .strip_prefix("issued ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("a statement issued: {issued:?}"))
        .to_owned();
    let exported = cli(database_url, &["invoices", "export", &id]);
    assert!(exported.status.success());
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(exported.stdout.as_slice())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let paid = cli_lines(
        database_url,
        &[
            "invoices",
            "mark-paid",
            &id,
            "--reference",
            "WIRE-E2E",
            "--as-of",
            as_of,
        ],
    );
    assert!(paid[0].starts_with(&format!("paid {id} ")), "{paid:?}");
    assert!(paid[0].contains(" ref WIRE-E2E"), "{paid:?}");
    (id, rows)
}
