//! Shared set-up of the parameter-server benches: shards serving on loopback.

use distml::ps::{serve_shard, ShardHandle};
use distml::rpc::auth::Token;

/// The allocator of the `distml` binary, whose worker and shard processes these benches stand in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A two-thread runtime for clients and shards.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Starts `count` shards on 127.0.0.1 ephemeral ports; keep the handles alive while benching.
pub fn start_shards(
    rt: &tokio::runtime::Runtime,
    token: &Token,
    count: usize,
) -> (Vec<String>, Vec<ShardHandle>) {
    rt.block_on(async {
        let mut addresses = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..count {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let h = serve_shard(listener, token).expect("serve a shard");
            addresses.push(h.addr.to_string());
            handles.push(h);
        }
        (addresses, handles)
    })
}
