//! Partitioned data: Parquet and CSV files read as Arrow record batches, one partition per
//! unit of parallel work, with TLC taxi files normalised into one canonical schema.

mod columns;
mod csv_reader;
mod describe;
mod error;
mod files;
mod parquet_reader;
mod partition;
mod source;
pub mod taxi;
mod writer;

pub use csv_reader::CsvOptions;
pub use describe::{
    describe, summarize_batch, type_name, ColumnDescription, ColumnSummary, Description, Extreme,
};
pub use error::DataError;
pub use files::{detect_format, expand_paths, FileFormat};
pub use partition::{Extent, Partition, RowGroupSlice, CSV_PARTITION_BYTES};
pub use source::{DataSource, Projection, ReadOptions, TaxiMode};
pub use writer::TableWriter;
