#![no_main]
//! Differential fuzzing of the parallel reader: any bytes read as SARIF or Trivy by several
//! workers with tiny chunks must give exactly the sequential reader's findings or its error.
use libfuzzer_sys::fuzz_target;
use tollgate_parsers::{parse_pipelined_to_vec, parse_to_vec, ErrorKind, Format, Pipeline};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Sarif, Format::Trivy] {
        let sequential = parse_to_vec(data, Some(format));
        for chunk_bytes in [1, 64] {
            let pipeline = Pipeline { workers: 2, parallel_from: 0, chunk_bytes };
            let parallel = parse_pipelined_to_vec(data, Some(format), pipeline);
            match (&sequential, &parallel) {
                (Ok((_, a)), Ok((_, b))) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                // Known: elements are read with serde_json's full depth budget (see parallel.rs).
                (Err(a), Ok(_)) if a.kind == ErrorKind::TooDeep => {}
                (a, b) => panic!(
                    "sequential {:?}, parallel {:?}",
                    a.as_ref().map(|x| x.1.len()),
                    b.as_ref().map(|x| x.1.len())
                ),
            }
        }
    }
});
