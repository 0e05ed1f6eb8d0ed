//! The scenario corpus (`tests/scenarios/*.json`) replayed on the Redis store, with the same
//! expectations as on the memory store. Each scenario gets its own prefix; a `reload` step opens
//! a new engine on the same prefix (a restart: the customers come back from Redis).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

#[path = "../../limitr-core/tests/support/scenarios.rs"]
mod corpus;
mod support;

use limitr_core::{Error, Format, Limitr};
use limitr_redis::{Redis, RedisStore};

struct OnRedis {
    url: String,
    prefix: String,
    n: usize,
}

impl corpus::Backend for OnRedis {
    type Store = RedisStore;
    fn fresh(&mut self, text: &str, format: Format) -> Result<Limitr<RedisStore>, Error> {
        self.n += 1;
        self.prefix = format!("sc{}", self.n);
        self.reopen(text, format)
    }
    fn reopen(&mut self, text: &str, format: Format) -> Result<Limitr<RedisStore>, Error> {
        Redis::at(&self.url).prefix(&self.prefix).load(text, format)
    }
}

#[test]
fn scenario_corpus_on_redis() {
    let server = support::server::Server::start();
    corpus::corpus(&mut OnRedis {
        url: server.url(),
        prefix: String::new(),
        n: 0,
    });
}
