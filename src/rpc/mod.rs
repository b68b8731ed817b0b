//! What the parameter-server shards, the coordinator and the workers share on the wire: the
//! generated protocol (`proto/distml_cluster.proto`) and the job's shared-secret check.

pub mod auth;
pub mod proto;
