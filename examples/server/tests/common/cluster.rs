//! A throwaway PostgreSQL cluster of the test's own, on a free port: fault tests stop and
//! restart it without touching the machine's shared server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A cluster in a temporary directory, stopped and deleted on drop (also while a panic unwinds).
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    run_as: Option<&'static str>,
    /// Where it listens.
    pub port: u16,
}

impl PgCluster {
    /// Creates and starts a cluster: trust auth, superuser `postgres`, fsync off (the data is
    /// thrown away). Panics — never skips — when PostgreSQL's server programs are missing.
    pub fn start() -> PgCluster {
        let bin = server_bin_dir().unwrap_or_else(|| {
            panic!(
                "the fault tests need PostgreSQL's server programs (initdb, pg_ctl) to run a \
                 cluster of their own, and none were found under /usr/lib/postgresql/*/bin or on \
                 PATH; install them (apt-get install postgresql; scripts/test does this when it \
                 runs as root)"
            )
        });
        // initdb and postgres refuse to run as root.
        let run_as = is_root().then_some("postgres");
        if run_as.is_some() {
            let found = Command::new("id").arg("postgres").output().unwrap();
            assert!(
                found.status.success(),
                "running as root, the fault tests run initdb as the `postgres` system user, and \
                 there is none (installing PostgreSQL's packages creates it)"
            );
        }
        let dir = std::env::temp_dir().join(format!("skinstack-fault-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let mut cluster = PgCluster {
            bin,
            dir,
            run_as,
            port: 0,
        };
        run(Command::new("chmod").arg("700").arg(&cluster.dir));
        if let Some(user) = run_as {
            run(Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&cluster.dir));
        }
        let data = cluster.data();
        cluster.pg("initdb", |c| {
            c.arg("-D")
                .arg(&data)
                .args(["--auth=trust", "-U", "postgres", "--encoding=UTF8"])
                .args(["--locale=C", "--no-sync"]);
        });
        cluster.port = free_port();
        cluster.resume();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: sessions are terminated, open transactions roll back.
    pub fn stop_fast(&self) {
        let data = self.data();
        self.pg("pg_ctl", |c| {
            c.arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]);
        });
    }

    /// Starts the (stopped) cluster again on the same port and waits until it accepts
    /// connections.
    pub fn resume(&self) {
        let (data, dir) = (self.data(), self.dir.clone());
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120",
            self.port,
            dir.display()
        );
        self.pg("pg_ctl", |c| {
            c.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("postgres.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]);
        });
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the cluster's programs as its owner, from its directory (the owner may not
    /// be able to enter the test's working directory).
    fn pg(&self, program: &str, args: impl FnOnce(&mut Command)) -> Output {
        let path = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        command.current_dir(&self.dir);
        args(&mut command);
        let output = command.output().unwrap();
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
            panic!(
                "{program} failed: {}\n{}{}\npostgres.log:\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let mut command = match self.run_as {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(self.bin.join("pg_ctl"));
                    c
                }
                None => Command::new(self.bin.join("pg_ctl")),
            };
            // Immediate: nothing in it is worth a checkpoint.
            let _ = command
                .current_dir(&self.dir)
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl, else PATH's.
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server_programs(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_server_programs(dir)))
}

fn has_server_programs(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

fn run(command: &mut Command) {
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?} failed: {status}");
}

/// A port nothing listens on right now (the kernel's choice for port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
