//! Code generated from `proto/distml_cluster.proto` (messages, clients and servers).
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("distml.cluster.v1");
