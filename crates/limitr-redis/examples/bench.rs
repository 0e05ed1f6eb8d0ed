//! Exact mode on a local `redis-server` (started here on a free loopback port), in one run:
//! the `PING` floor, decision latency from one client, round trips per uncontended decision
//! (from `INFO commandstats`), and decisions/s on one hot customer from several processes.
//! `cargo run --release -p limitr-redis --example bench` (the `bench-redis` recipe).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "a benchmark fails loudly"
)]

use limitr_core::Format;
use limitr_redis::Redis;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOC: &str = r#"{"policy": {"credits": {"tok": {"stof_units": "int"}}, "plans": {"free": {"default": true,
  "entitlements": {"chat": {"limit": {"credit": "tok", "value": 1000000000000}}}}}}}"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Calls of the commands a client sends (`FCALL`, `EVALSHA`, reads and scans), not those a
/// function runs inside (which `INFO commandstats` counts too).
fn commands(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    let sent = [
        "cmdstat_fcall:",
        "cmdstat_evalsha:",
        "cmdstat_eval:",
        "cmdstat_multi:",
        "cmdstat_scan:",
    ];
    info.lines()
        .filter(|l| sent.iter().any(|s| l.starts_with(s)))
        .filter_map(|l| {
            let calls = l.split("calls=").nth(1)?;
            calls.split(',').next()?.parse::<u64>().ok()
        })
        .sum()
}

/// A child: `threads` threads deciding on `hot` for `secs`; prints its decisions and conflicts.
fn child(url: &str, threads: usize, secs: u64) {
    let engine = Redis::at(url)
        .prefix("bench")
        .tries(100_000)
        .load(DOC, Format::Json)
        .unwrap();
    let until = Instant::now() + Duration::from_secs(secs);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0;
                while Instant::now() < until {
                    engine.allow("hot", "chat", 1.into()).unwrap();
                    n += 1;
                }
                total.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    println!(
        "decisions {} conflicts {}",
        total.into_inner(),
        engine.store().conflicts()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2], args[3].parse().unwrap(), args[4].parse().unwrap());
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (scripts/bootstrap.sh redis)");
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut con = loop {
        if let Ok(c) = client.get_connection_with_timeout(Duration::from_millis(200))
            && redis::cmd("PING").query::<String>(&mut { c }).is_ok()
        {
            break client.get_connection().unwrap();
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("limitr-redis exact mode, loopback, {cores} cores (client and server share them)");

    // the floor: PING from one client
    let n = 20_000;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    let ping50 = percentile(&lat, 0.5);
    println!(
        "PING, one client:                 p50 {}  p99 {}",
        micros(ping50),
        micros(percentile(&lat, 0.99))
    );

    // decisions from one client, on one customer nobody else touches
    let engine = Redis::at(&url)
        .prefix("bench")
        .load(DOC, Format::Json)
        .unwrap();
    engine.ensure_customer("solo", None).unwrap();
    engine.ensure_customer("hot", None).unwrap();
    for _ in 0..1_000 {
        engine.allow("solo", "chat", 1.into()).unwrap();
    }
    let before = commands(&mut con);
    let trips = engine.store().round_trips();
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        assert!(engine.allow("solo", "chat", 1.into()).unwrap());
        lat.push(t.elapsed());
    }
    let served = commands(&mut con) - before;
    let trips = engine.store().round_trips() - trips;
    lat.sort();
    let p50 = percentile(&lat, 0.5);
    println!(
        "allow (exact), one client:        p50 {}  p99 {}  (p50 − PING p50: {})",
        micros(p50),
        micros(percentile(&lat, 0.99)),
        micros(p50.saturating_sub(ping50))
    );
    println!(
        "round trips per decision:         {:.3} (INFO commandstats: {served} calls for {n} decisions; \
         the client counted {trips}; via {:?})",
        served as f64 / n as f64,
        engine.store().calls()
    );

    // one hot customer from several processes
    let exe = std::env::current_exe().unwrap();
    for (procs, threads) in [(1, 1), (4, 2), (8, 1)] {
        let secs = 3;
        let kids: Vec<_> = (0..procs)
            .map(|_| {
                Command::new(&exe)
                    .args(["child", &url, &threads.to_string(), &secs.to_string()])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let (mut decisions, mut conflicts) = (0u64, 0u64);
        for k in kids {
            let out = String::from_utf8(k.wait_with_output().unwrap().stdout).unwrap();
            let f: Vec<&str> = out.split_whitespace().collect();
            decisions += f[1].parse::<u64>().unwrap();
            conflicts += f[3].parse::<u64>().unwrap();
        }
        println!(
            "one hot customer, {procs} processes × {threads} threads: {:.0} decisions/s, {:.2} conflicts per decision",
            decisions as f64 / secs as f64,
            conflicts as f64 / decisions.max(1) as f64
        );
    }

    // the server's ceiling for a one-key script, as redis-benchmark sees it
    if let Ok(out) = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", "8", "-n", "100000", "-q"])
        .args(["EVAL", "return redis.call('INCR', KEYS[1])", "1", "bench:k"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.rsplit('\r').next().unwrap_or_default().trim();
        println!("redis-benchmark, one-key EVAL, 8 clients: {last}");
    }
    let _ = server.kill();
    let _ = server.wait();
}
