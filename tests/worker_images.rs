//! Images through the simulation worker: a bundled digit runs, and a bad image file while
//! running is refused in one sentence with the current experiment kept.

mod common;

use common::worker::Harness;
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::Params;
use tripartite::sim::Command;

fn digit(index: usize) -> Experiment {
    Experiment {
        params: Params {
            m: 64,
            t_write: 10.0,
            t_read: 40.0,
            layer: 1,
            head: 0,
            ..Params::default()
        },
        source: SourceSpec::Digits(index),
        ..Experiment::default()
    }
}

#[test]
fn a_bad_image_while_running_keeps_the_current_digit() {
    let mut h = Harness::new(digit(2));
    let first = h.wait("the digit", |s| s.run.is_some());
    let run = first.run.as_ref().unwrap();
    assert_eq!(run.source, "digits:2");
    assert_eq!(run.tokens.len(), 17);
    h.worker.send(Command::StepSlot);
    let before = h.wait("a step", |s| s.step > 0);

    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let corrupt = tmp.path().join("corrupt.jpg");
    std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    for (path, expect) in [
        (&empty, "is an empty file (0 bytes), not an image"),
        (&corrupt, "is not a readable PNG or JPEG image"),
    ] {
        let bad = Experiment {
            source: SourceSpec::Image {
                path: path.clone(),
                model: None,
            },
            ..digit(0)
        };
        h.worker.send(Command::LoadExperiment(Box::new(bad)));
        let after = h.wait("the refusal", |s| {
            s.rejected().is_some_and(|m| m.contains(expect))
        });
        let message = after.rejected().unwrap();
        assert!(message.contains("unchanged"), "{message}");
        assert!(after.failure().is_none());
        assert_eq!(after.step, before.step, "the running simulation was kept");
        assert_eq!(after.run.as_ref().unwrap().source, "digits:2");
    }
}
