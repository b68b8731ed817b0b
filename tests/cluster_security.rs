//! Shards over real loopback gRPC: the token is required, duplicated pushes count once.

use distml::ps::{serve_shard, Contribution, Precision, PsClient};
use distml::rpc::auth::Token;
use distml::rpc::proto::{Combine, PullKind, ShardConfig};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn aggregate(phase: u64, partitions: u32) -> impl Fn(usize) -> ShardConfig {
    move |s| ShardConfig {
        phase,
        combine: Combine::Aggregate as i32,
        shard: s as u32,
        shards: 2,
        push_len: 5,
        param_len: 0,
        partitions,
        ..Default::default()
    }
}

#[test]
fn a_client_without_the_token_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let token = Token::generate();
        let mut addresses = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let h = serve_shard(listener, &token).unwrap();
            addresses.push(h.addr.to_string());
            handles.push(h);
        }
        let stranger = PsClient::connect(&addresses, &Token::new("guess").unwrap())
            .await
            .unwrap();
        let refused = stranger.configure(aggregate(1, 1)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        let values = [1.0; 5];
        let push = [Contribution {
            partition: 0,
            weight: 1.0,
            values: &values,
        }];
        let refused = stranger
            .push(1, 7, 0, &push, Precision::F64)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);

        let member = PsClient::connect(&addresses, &token).await.unwrap();
        member.configure(aggregate(1, 1)).await.unwrap();
        member.push(1, 7, 0, &push, Precision::F64).await.unwrap();
        for h in &handles {
            h.stop();
        }
    });
}

#[test]
fn a_duplicated_push_is_counted_once() {
    let rt = runtime();
    rt.block_on(async {
        let token = Token::generate();
        let mut addresses = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let h = serve_shard(listener, &token).unwrap();
            addresses.push(h.addr.to_string());
            handles.push(h);
        }
        let ps = PsClient::connect(&addresses, &token).await.unwrap();
        ps.configure(aggregate(3, 2)).await.unwrap();
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [10.0, 0.0, 0.0, 0.0, 0.5];
        let first = ps
            .push(
                3,
                1,
                0,
                &[Contribution {
                    partition: 0,
                    weight: 2.0,
                    values: &a,
                }],
                Precision::F64,
            )
            .await
            .unwrap();
        assert_eq!(
            (first.accepted, first.duplicates),
            (2, 0),
            "one slice per shard"
        );
        // The same push again (a retry after a lost reply), then the other partition.
        let retry = ps
            .push(
                3,
                1,
                0,
                &[Contribution {
                    partition: 0,
                    weight: 2.0,
                    values: &a,
                }],
                Precision::F64,
            )
            .await
            .unwrap();
        assert_eq!((retry.accepted, retry.duplicates), (0, 2));
        ps.push(
            3,
            2,
            0,
            &[Contribution {
                partition: 1,
                weight: 1.0,
                values: &b,
            }],
            Precision::F32,
        )
        .await
        .unwrap();
        let sum = ps
            .pull(3, 0, 0, PullKind::Aggregate, 5, Precision::F64)
            .await
            .unwrap();
        assert_eq!(sum.values, vec![11.0, 2.0, 3.0, 4.0, 5.5]);
        assert_eq!((sum.weight, sum.count), (3.0, 2));
        for h in &handles {
            h.stop();
        }
    });
}
