//! Many processes on one Redis: the test binary runs itself again as children (`LIMITR_CHILD`
//! set), each child a few threads of `allow` calls; each child prints what it was allowed.

use limitr_core::{CallOptions, Format, Limitr};
use limitr_redis::{Redis, RedisStore};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a child may run.
pub const CHILD_DEADLINE: Duration = Duration::from_secs(240);

/// A policy with one hard limit of `limit` tokens on `chat`.
pub fn doc(limit: u64) -> String {
    format!(
        r#"{{"policy": {{"credits": {{"tok": {{"stof_units": "int"}}}}, "plans": {{"free": {{"default": true,
          "entitlements": {{"chat": {{"limit": {{"credit": "tok", "value": {limit}}}}}}}}}}}}}}}"#
    )
}

/// What a run is.
#[derive(Debug, Clone)]
pub struct Plan {
    pub url: String,
    pub prefix: String,
    pub limit: u64,
    pub customers: usize,
    /// Zipf exponent over the customers (0: uniform).
    pub zipf: f64,
    pub processes: usize,
    pub threads: usize,
    pub calls: usize,
    pub seed: u64,
    /// Every call carries an idempotency key; this share of them is also sent by the next
    /// process (a retry landing elsewhere).
    pub retry_share: f64,
}

impl Plan {
    fn to_env(&self, cmd: &mut Command, child: usize) {
        cmd.env("LIMITR_CHILD", child.to_string())
            .env("LIMITR_URL", &self.url)
            .env("LIMITR_PREFIX", &self.prefix)
            .env("LIMITR_LIMIT", self.limit.to_string())
            .env("LIMITR_CUSTOMERS", self.customers.to_string())
            .env("LIMITR_ZIPF", self.zipf.to_string())
            .env("LIMITR_PROCESSES", self.processes.to_string())
            .env("LIMITR_THREADS", self.threads.to_string())
            .env("LIMITR_CALLS", self.calls.to_string())
            .env("LIMITR_SEED", self.seed.to_string())
            .env("LIMITR_RETRY", self.retry_share.to_string());
    }

    /// The plan a child was started with, when this process is one.
    pub fn from_env() -> Option<(Plan, usize)> {
        let var = |k: &str| std::env::var(k).ok();
        let child: usize = var("LIMITR_CHILD")?.parse().ok()?;
        let num = |k: &str| var(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let int = |k: &str| var(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Some((
            Plan {
                url: var("LIMITR_URL")?,
                prefix: var("LIMITR_PREFIX")?,
                limit: int("LIMITR_LIMIT"),
                customers: int("LIMITR_CUSTOMERS") as usize,
                zipf: num("LIMITR_ZIPF"),
                processes: int("LIMITR_PROCESSES") as usize,
                threads: int("LIMITR_THREADS") as usize,
                calls: int("LIMITR_CALLS") as usize,
                seed: int("LIMITR_SEED"),
                retry_share: num("LIMITR_RETRY"),
            },
            child,
        ))
    }

    pub fn engine(&self) -> Limitr<RedisStore> {
        Redis::at(&self.url)
            .prefix(&self.prefix)
            .timeout(Duration::from_secs(2))
            .tries(10_000)
            .load(&doc(self.limit), Format::Json)
            .expect("an engine on the test's Redis")
    }

    pub fn customer(i: usize) -> String {
        format!("c{i}")
    }

    /// Cumulative weights of a Zipf distribution over the customers.
    fn cdf(&self) -> Vec<f64> {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=self.customers)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(self.zipf);
                acc
            })
            .collect();
        for w in &mut cdf {
            *w /= acc;
        }
        cdf
    }

    /// Call `i` of thread `t` of process `p`: (customer, cost, key), the same in every process.
    fn call(&self, cdf: &[f64], p: usize, t: usize, i: usize) -> (usize, u64, String) {
        let mut rng = SmallRng::seed_from_u64(
            self.seed ^ ((p as u64) << 40) ^ ((t as u64) << 20) ^ (i as u64),
        );
        let u: f64 = rng.random();
        let customer = cdf.partition_point(|w| *w < u).min(self.customers - 1);
        let cost = rng.random_range(1..=100u64);
        (customer, cost, format!("k{p}-{t}-{i}"))
    }

    fn is_retried(&self, p: usize, t: usize, i: usize) -> bool {
        let mut rng = SmallRng::seed_from_u64(
            !self.seed ^ ((p as u64) << 40) ^ ((t as u64) << 20) ^ (i as u64),
        );
        rng.random::<f64>() < self.retry_share
    }
}

/// A child's body: its threads' calls; prints one `call <key> <customer> <cost> <allowed>` line
/// per answered call (keys only with retries) or `sum <customer> <allowed units>`, and `errors <n>`.
pub fn child(plan: &Plan, me: usize) {
    let engine = plan.engine();
    let cdf = plan.cdf();
    let keyed = plan.retry_share > 0.0;
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let errors = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..plan.threads {
            let (engine, cdf, lines, errors) = (&engine, &cdf, &lines, &errors);
            s.spawn(move || {
                let mut sums: BTreeMap<usize, u64> = BTreeMap::new();
                let mut out = Vec::new();
                for i in 0..plan.calls {
                    let mut sends = vec![(me, plan.call(cdf, me, t, i))];
                    let next = (me + 1) % plan.processes;
                    if keyed && plan.is_retried(next, t, i) {
                        sends.push((next, plan.call(cdf, next, t, i)));
                    }
                    for (_, (c, cost, key)) in sends {
                        let options = CallOptions {
                            idempotency_key: keyed.then(|| key.clone()),
                            ..CallOptions::default()
                        };
                        match engine.allow_with(&Plan::customer(c), "chat", cost.into(), &options) {
                            Ok(allowed) if keyed => {
                                out.push(format!("call {key} {c} {cost} {}", u8::from(allowed)));
                            }
                            Ok(true) => *sums.entry(c).or_default() += cost,
                            Ok(false) => {}
                            Err(e) => {
                                eprintln!("child {me}: {e}");
                                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                }
                let mut lines = lines.lock().expect("the lines");
                lines.extend(out);
                lines.extend(sums.iter().map(|(c, s)| format!("sum {c} {s}")));
            });
        }
    });
    let lines = lines.into_inner().expect("the lines");
    // a newline first: the test harness has written `test child ... ` on this line
    let mut text = format!("\n{}", lines.join("\n"));
    text.push_str(&format!(
        "\nerrors {}\n",
        errors.load(std::sync::atomic::Ordering::Relaxed)
    ));
    print!("{text}");
}

/// What all the children said.
#[derive(Debug, Default)]
pub struct Said {
    /// Units allowed per customer (without keys).
    pub sums: BTreeMap<usize, u64>,
    /// Per key: (customer, cost, every answer given for it).
    pub keys: BTreeMap<String, (usize, u64, Vec<bool>)>,
    pub errors: usize,
}

/// Runs the plan: creates the customers, starts the children of test `test` together, waits
/// for them (each under the deadline), and sums what they said.
pub fn run(plan: &Plan, test: &str) -> (Said, Duration) {
    let engine = plan.engine();
    for i in 0..plan.customers {
        engine
            .ensure_customer(&Plan::customer(i), None)
            .expect("the customer");
    }
    let exe = std::env::current_exe().expect("the test binary");
    let started = Instant::now();
    let children: Vec<_> = (0..plan.processes)
        .map(|p| {
            let mut cmd = Command::new(&exe);
            cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"]);
            plan.to_env(&mut cmd, p);
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a child")
        })
        .collect();
    let mut said = Said::default();
    for mut c in children {
        let deadline = Instant::now() + CHILD_DEADLINE;
        loop {
            if c.try_wait().expect("the child's status").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!("a child ran past {CHILD_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = c.wait_with_output().expect("the child's output");
        assert!(out.status.success(), "a child failed: {:?}", out.status);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["sum", c, s] => {
                    *said.sums.entry(c.parse().unwrap()).or_default() += s.parse::<u64>().unwrap();
                }
                ["call", key, c, cost, a] => {
                    let e = said.keys.entry((*key).to_string()).or_insert((
                        c.parse().unwrap(),
                        cost.parse().unwrap(),
                        Vec::new(),
                    ));
                    e.2.push(*a == "1");
                }
                ["errors", n] => said.errors += n.parse::<usize>().unwrap(),
                _ => {}
            }
        }
    }
    (said, started.elapsed())
}

/// What Redis holds on each customer's meter, read by a new engine.
pub fn held(plan: &Plan) -> BTreeMap<usize, u64> {
    let engine = plan.engine();
    (0..plan.customers)
        .map(|i| {
            let v = engine
                .value(&Plan::customer(i), "chat", false, true)
                .expect("a read")
                .unwrap_or_default();
            (
                i,
                v.normalize()
                    .to_string()
                    .parse::<u64>()
                    .expect("whole tokens"),
            )
        })
        .collect()
}

/// What Redis holds on one customer's `chat` meter.
pub fn held_one(engine: &Limitr<RedisStore>, id: &str) -> u64 {
    let v = engine
        .value(id, "chat", false, true)
        .expect("a read")
        .unwrap_or_default();
    v.normalize()
        .to_string()
        .parse::<u64>()
        .expect("whole tokens")
}
