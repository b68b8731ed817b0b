//! Bad input: a clear message naming the file (and line/column), exit code 2, no panic.

mod common;

fn assert_bad_input(args: &[&str], must_mention: &[&str]) {
    common::assert_bad_input_in(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        args,
        must_mention,
    );
}

#[test]
fn a_missing_file_is_named() {
    assert_bad_input(
        &["describe", "--data", "/no/such/trips.parquet"],
        &["/no/such/trips.parquet"],
    );
}

#[test]
fn a_file_that_is_neither_parquet_nor_csv_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("model.bin");
    std::fs::write(&blob, [0u8, 159, 146, 150, 0, 1]).unwrap();
    assert_bad_input(
        &["describe", "--data", blob.to_str().unwrap()],
        &["model.bin", "not a Parquet or CSV"],
    );
    let truncated = dir.path().join("cut.parquet");
    std::fs::write(&truncated, b"PAR1 and then nothing").unwrap();
    assert_bad_input(
        &["describe", "--data", truncated.to_str().unwrap()],
        &["cut.parquet"],
    );
}

#[test]
fn csv_errors_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("zone,fare\n");
    for i in 0..20_000 {
        text.push_str(&format!("{},{}.5\n", i % 265, i % 40));
    }
    let bad_number = dir.path().join("bad_number.csv");
    std::fs::write(&bad_number, format!("{text}7,twelve\n")).unwrap();
    assert_bad_input(
        &["describe", "--data", bad_number.to_str().unwrap()],
        &["bad_number.csv", "line 20002", "'fare'", "twelve"],
    );
    let short_row = dir.path().join("short_row.csv");
    std::fs::write(&short_row, format!("{text}7\n")).unwrap();
    assert_bad_input(
        &[
            "describe",
            "--data",
            short_row.to_str().unwrap(),
            "--partitions",
            "4",
        ],
        &["short_row.csv", "line 20002", "fields"],
    );
}

#[test]
fn an_unknown_column_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    assert_bad_input(
        &[
            "describe",
            "--data",
            file.to_str().unwrap(),
            "--columns",
            "a,zzz",
        ],
        &["t.csv", "'zzz'", "a, b"],
    );
}

#[test]
fn bad_flags_exit_2() {
    assert_bad_input(
        &["describe", "--data", "x.csv", "--partitions", "many"],
        &["--partitions"],
    );
    assert_bad_input(
        &[
            "generate",
            "taxi",
            "--rows",
            "10",
            "--out",
            "/tmp/x.parquet",
            "--month",
            "2023-13",
        ],
        &["--month", "2023-13"],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    assert_bad_input(
        &[
            "describe",
            "--data",
            file.to_str().unwrap(),
            "--partitions",
            "0",
        ],
        &["--partitions"],
    );
}

#[test]
fn duplicate_columns_header_only_files_and_early_bad_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("dup.csv"), "x,X,y\n1,2,3\n4,5,6\n").unwrap();
    common::assert_bad_input_in(
        d,
        &["describe", "--data", "dup.csv"],
        &["dup.csv", "column 'X'", "appears more than once"],
    );
    std::fs::write(d.join("header.csv"), "x,y\n").unwrap();
    let generic = ["--target", "y", "--numeric", "x", "--workers", "0"];
    let args = [&["train", "--data", "header.csv"][..], &generic].concat();
    common::assert_bad_input_in(d, &args, &["header.csv", "no data rows"]);
    // A bad value on line 52, well inside the rows read to infer types (which then say text).
    let mut text = String::from("x,y\n");
    (0..50).for_each(|i| text.push_str(&format!("{i},{}\n", 2 * i)));
    text.push_str("4.o,3\n");
    (0..50).for_each(|i| text.push_str(&format!("{i},{}\n", 2 * i)));
    std::fs::write(d.join("typo.csv"), text).unwrap();
    let args = [&["train", "--data", "typo.csv"][..], &generic].concat();
    common::assert_bad_input_in(
        d,
        &args,
        &["typo.csv", "line 52", "column 'x'", "'4.o' is not a number"],
    );
}
