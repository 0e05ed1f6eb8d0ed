//! A `redis-server` of the test's own: on a free loopback port, not daemonized, killed by pid
//! when dropped. Every wait has a deadline.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
const START: Duration = Duration::from_secs(10);

/// A running `redis-server`.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
    /// Where an AOF server keeps its files (removed on drop).
    pub dir: Option<PathBuf>,
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Server {
    /// A server without persistence.
    pub fn start() -> Server {
        Server::spawn(free_port(), None)
    }

    /// A server on `port` with AOF `appendfsync always` in `dir` (a restart on the same `dir`
    /// gets back everything it acknowledged).
    pub fn durable(port: u16, dir: PathBuf) -> Server {
        Server::spawn(port, Some(dir))
    }

    fn spawn(port: u16, dir: Option<PathBuf>) -> Server {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]);
        match &dir {
            Some(d) => {
                std::fs::create_dir_all(d).expect("the AOF directory");
                cmd.arg("--dir").arg(d);
                cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
            }
            None => {
                cmd.args(["--appendonly", "no"]);
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/bootstrap.sh redis installs it)");
        let server = Server {
            port,
            child: Some(child),
            dir,
        };
        server.wait_ready();
        server
    }

    /// The server's address.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START;
        loop {
            if self.ping() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer within {START:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        redis::cmd("PING").query::<String>(&mut con).is_ok()
    }

    /// A connection for the test's own commands.
    pub fn connection(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("the server's address");
        let con = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("a connection to the test's server");
        con.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        con
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running server").id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{signal} {pid}");
    }

    /// SIGKILL, then wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
