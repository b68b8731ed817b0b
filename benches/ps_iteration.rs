//! Parameter-server overhead of one BSP iteration versus worker count (1, 2, 4, 8): the
//! coordinator publishes parameters, every worker pulls them and pushes its partition's
//! gradient, the coordinator pulls the sum — a 1K-float model, so the cost is the protocol's.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use distml::ps::{Contribution, Precision, PsClient};
use distml::rpc::auth::Token;
use distml::rpc::proto::{Combine, PullKind, ShardConfig};

const SHARDS: usize = 2;
const MODEL: usize = 1_000;

fn iteration(c: &mut Criterion) {
    let rt = support::runtime();
    let token = Token::generate();
    let (addresses, _handles) = support::start_shards(&rt, &token, SHARDS);
    let mut group = c.benchmark_group("bsp_iteration");
    for (phase, workers) in [1usize, 2, 4, 8].into_iter().enumerate() {
        let phase = phase as u64 + 1;
        let (coordinator, clients) = rt.block_on(async {
            let coordinator = PsClient::connect(&addresses, &token).await.unwrap();
            let mut clients = Vec::new();
            for _ in 0..workers {
                clients.push(PsClient::connect(&addresses, &token).await.unwrap());
            }
            (coordinator, clients)
        });
        rt.block_on(coordinator.configure(|s| ShardConfig {
            phase,
            combine: Combine::Aggregate as i32,
            shard: s as u32,
            shards: SHARDS as u32,
            push_len: MODEL as u64,
            param_len: MODEL as u64,
            partitions: workers as u32,
            ..Default::default()
        }))
        .unwrap();
        let params = vec![0.25; MODEL];
        let mut clock = 0u64;
        group.bench_function(BenchmarkId::from_parameter(workers), |b| {
            b.iter(|| {
                clock += 1;
                rt.block_on(async {
                    coordinator.set_params(phase, clock, &params).await.unwrap();
                    let mut tasks = tokio::task::JoinSet::new();
                    for (w, client) in clients.iter().enumerate() {
                        let client = client.clone();
                        tasks.spawn(async move {
                            let p = client
                                .pull(
                                    phase,
                                    w as u64,
                                    clock,
                                    PullKind::Params,
                                    MODEL,
                                    Precision::F64,
                                )
                                .await
                                .unwrap();
                            let c = [Contribution {
                                partition: w as u32,
                                weight: 1.0,
                                values: &p.values,
                            }];
                            client
                                .push(phase, w as u64, clock, &c, Precision::F64)
                                .await
                                .unwrap();
                        });
                    }
                    while tasks.join_next().await.is_some() {}
                    coordinator
                        .pull(phase, 0, clock, PullKind::Aggregate, MODEL, Precision::F64)
                        .await
                        .unwrap();
                });
            })
        });
    }
    group.finish();
}

criterion_group!(benches, iteration);
criterion_main!(benches);
