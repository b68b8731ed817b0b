//! Compiles `proto/*.proto` into tonic/prost code with a vendored `protoc` (no system package).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/distml_cluster.proto";
    println!("cargo:rerun-if-changed={proto}");
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    // Value payloads decode as `Bytes` slices of the received buffer, not copies.
    config.bytes([".distml.cluster.v1.Slice"]);
    tonic_prost_build::configure().compile_with_config(config, &[proto], &["proto"])?;
    Ok(())
}
