//! A PostgreSQL cluster of the test's own — `initdb` and `pg_ctl` from the machine's PostgreSQL, run
//! as the `postgres` user, in a temporary folder, on a free port — for tests that stop or restart
//! the database. The shared server is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A running throwaway cluster, stopped (immediately) and removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl Cluster {
    /// A fresh cluster, running; `None` (with a note) where the PostgreSQL server programs are not
    /// installed, unless PostgreSQL is required (then it panics).
    pub fn start() -> Option<Cluster> {
        let Some(bin) = server_programs() else {
            assert!(
                !super::postgres_required(),
                "PostgreSQL's initdb/pg_ctl not found under /usr/lib/postgresql"
            );
            eprintln!("skipping: no PostgreSQL server programs to start a cluster of our own");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data folder");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres", &path(dir.path())])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "chown of {dir:?}");
        }
        let cluster = Cluster {
            bin,
            data,
            port: free_port(),
            _dir: dir,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &path(&cluster.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.start_again();
        Some(cluster)
    }

    /// The URL of database `name` (`postgres` exists from the start).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Starts the (stopped) cluster and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            path(&self.data)
        );
        let log = path(&self.data.join("server.log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &path(&self.data),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the cluster the fast way (open connections are cut, as in a restart).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &path(&self.data), "-m", "fast", "-w", "stop"],
        );
    }

    fn run(&self, program: &str, args: &[&str]) {
        as_postgres(Command::new(self.bin.join(program)).args(args));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = path(&self.data);
        let _ = as_postgres_status(Command::new(self.bin.join("pg_ctl")).args([
            "-D",
            &data,
            "-m",
            "immediate",
            "stop",
        ]));
    }
}

/// The newest installed PostgreSQL's server programs.
fn server_programs() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs the command as the `postgres` user when we are root (PostgreSQL refuses root), as
/// ourselves otherwise; panics on failure.
fn as_postgres(command: &mut Command) {
    let status = as_postgres_status(command);
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "{command:?}: {status:?}"
    );
}

fn as_postgres_status(command: &mut Command) -> std::io::Result<std::process::ExitStatus> {
    // What initdb and pg_ctl say on success is noise in a test's output; failures still show.
    command.stdout(std::process::Stdio::null());
    if !is_root() {
        return command.status();
    }
    let mut wrapped = Command::new("runuser");
    wrapped.stdout(std::process::Stdio::null());
    wrapped
        .args(["-u", "postgres", "--"])
        .arg(command.get_program())
        .args(command.get_args());
    wrapped.status()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
