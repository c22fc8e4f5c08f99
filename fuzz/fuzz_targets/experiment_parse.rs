//! Any text given as an experiment file: parsed, validated, re-serialised and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tripartite::io::experiment::Experiment;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(experiment) = Experiment::parse(text, Path::new("fuzz.toml")) {
        // Whatever parses must survive a save/load round trip unchanged.
        let again = Experiment::parse(&experiment.to_toml(), Path::new("again.toml"))
            .expect("a parsed experiment re-parses");
        assert_eq!(again, experiment);
    }
});
