//! Push + pull round trip through two parameter-server shards on loopback, for 1K, 100K and
//! 10M-float vectors, next to a plain loopback TCP copy of the same bytes (there and back).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use distml::ps::{Contribution, Precision, PsClient};
use distml::rpc::auth::Token;
use distml::rpc::proto::{Combine, PullKind, ShardConfig};

const SIZES: [usize; 3] = [1_000, 100_000, 10_000_000];
const SHARDS: usize = 2;

fn exchange(c: &mut Criterion) {
    let rt = support::runtime();
    let token = Token::generate();
    let (addresses, _handles) = support::start_shards(&rt, &token, SHARDS);
    let ps = rt.block_on(PsClient::connect(&addresses, &token)).unwrap();
    let mut group = c.benchmark_group("ps_exchange");
    group.sample_size(10);
    for (phase, &n) in SIZES.iter().enumerate() {
        let phase = phase as u64 + 1;
        let values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 + 1.0).collect();
        // Push and pull both move n f64s.
        group.throughput(Throughput::Bytes(2 * 8 * n as u64));
        rt.block_on(ps.configure(|s| ShardConfig {
            phase,
            combine: Combine::Aggregate as i32,
            shard: s as u32,
            shards: SHARDS as u32,
            push_len: n as u64,
            partitions: 1,
            ..Default::default()
        }))
        .unwrap();
        let mut clock = 0u64;
        group.bench_with_input(BenchmarkId::new("grpc_push_pull", n), &values, |b, v| {
            b.iter(|| {
                rt.block_on(async {
                    let c = [Contribution {
                        partition: 0,
                        weight: 1.0,
                        values: v,
                    }];
                    ps.push(phase, 1, clock, &c, Precision::F64).await.unwrap();
                    let back = ps
                        .pull(phase, 1, clock, PullKind::Aggregate, n, Precision::F64)
                        .await
                        .unwrap();
                    assert_eq!(back.values.len(), n);
                });
                clock += 1;
            })
        });
        group.bench_with_input(BenchmarkId::new("tcp_copy", n), &values, |b, v| {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            let (mut client, mut server) = tcp_pair();
            let echo = std::thread::spawn(move || {
                let mut buf = vec![0u8; bytes.len()];
                while server.read_exact(&mut buf).is_ok() {
                    if server.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
            let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            let mut back = vec![0u8; payload.len()];
            b.iter(|| {
                client.write_all(&payload).unwrap();
                client.read_exact(&mut back).unwrap();
            });
            drop(client);
            echo.join().unwrap();
        });
    }
    group.finish();
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    (client, server)
}

criterion_group!(benches, exchange);
criterion_main!(benches);
