//! NYC TLC taxi trip records: the canonical schema, the zones and the generator.

pub mod generator;
pub mod schema;
pub mod zones;

pub use generator::{generate, tlc_schema, Color, TaxiSpec};
