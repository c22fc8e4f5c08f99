//! The recorder without a thread: rows, slot boundaries, trace samples, per-query rows.

use super::super::live::fixture;
use super::*;
use crate::sim::keyframes::DEFAULT_BUDGET_BYTES;
use crate::sim::snapshot::Update;
use crate::sim::thread::lock;

struct Bench {
    mailbox: Arc<Mutex<Mailbox>>,
    recorder: Recorder,
    live: Live,
    control: Control,
    timeline: Timeline,
    params: Params,
}

impl Bench {
    fn new(params: Params) -> Self {
        let mailbox = Arc::new(Mutex::new(Mailbox::default()));
        let mut recorder = Recorder::new(mailbox.clone(), Box::new(|| {}));
        let (_, mut live) = fixture::one(&params);
        recorder.begin(&mut live, params.dt);
        let mut timeline = Timeline::new(DEFAULT_BUDGET_BYTES);
        timeline.restart(&live);
        Bench {
            mailbox,
            recorder,
            live,
            control: Control::new(Instant::now()),
            timeline,
            params,
        }
    }

    /// One block, as the engine takes it: never past the current slot's end.
    fn block(&mut self, max_steps: u64) -> u64 {
        let before = self.live.step_index();
        let taken = self
            .live
            .step_block(max_steps.min(self.recorder.room(before)));
        if taken > 0 {
            self.recorder.after_block(&self.live, before);
        }
        taken
    }

    fn publish(&mut self) -> Update {
        let scene = Scene {
            status: &Status::Quiet,
            params: &self.params,
            control: &self.control,
            timeline: &self.timeline,
        };
        self.recorder.publish(Some(&mut self.live), scene);
        lock(&self.mailbox).take_update().unwrap()
    }
}

#[test]
fn rows_are_sent_once_each_as_their_read_slots_end() {
    let mut bench = Bench::new(fixture::params());
    let tokens = bench.live.network().sizes.tokens;
    let mut rows = Vec::new();
    let mut blocks = 0;
    while bench.block(u64::MAX) > 0 {
        blocks += 1;
        // Rows go out only at the end of a slot.
        let update = bench.publish();
        if !update.rows.is_empty() {
            let slot_start = bench
                .live
                .current_slot()
                .is_none_or(|slot| slot.start_step == bench.live.step_index());
            assert!(
                slot_start,
                "a row sent mid-slot at {}",
                bench.live.step_index()
            );
        }
        rows.extend(update.rows);
    }
    assert!(blocks > tokens);
    let queries: Vec<usize> = rows.iter().map(|row| row.query).collect();
    let mut sorted = queries.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..tokens).collect::<Vec<_>>(), "each row once");
    let output = bench.live.output();
    for row in &rows {
        assert_eq!(row.attention, output.attention.row(row.query).to_vec());
        assert_eq!(row.calcium.to_bits(), output.calcium[row.query].to_bits());
        assert_eq!(row.generation, bench.recorder.generation());
    }
    assert_eq!(bench.recorder.rows_completed(), tokens);
}

#[test]
fn samples_fall_on_the_stride_and_on_every_slot_end() {
    let mut bench = Bench::new(fixture::params());
    let slots = bench.live.dynamic().unwrap().schedule().slots.clone();
    let stride = bench.recorder.stride();
    let mut samples = bench.publish().samples;
    assert_eq!(
        samples.first().map(|s| s.step),
        Some(0),
        "the first sample is step 0"
    );
    // Uneven blocks: the recorder still ends each at the slot's end.
    let mut sizes = [3u64, 16, 1, 7].into_iter().cycle();
    while bench.block(sizes.next().unwrap()) > 0 {}
    samples.extend(bench.publish().samples);
    let steps: Vec<u64> = samples.iter().map(|s| s.step).collect();
    let ends: Vec<u64> = slots.iter().map(|slot| slot.end_step()).collect();
    let mut expected: Vec<u64> = (0..=bench.live.step_index())
        .filter(|s| s.is_multiple_of(stride) || ends.contains(s))
        .collect();
    expected.dedup();
    assert_eq!(steps, expected);
}

#[test]
fn metrics_and_per_query_rows_cover_the_rows_read() {
    let mut bench = Bench::new(fixture::params());
    let first = bench.publish().snapshot;
    assert!(first.metrics.attn_tv.is_nan(), "no row read yet");
    assert!(first.per_query.row.is_empty());
    let mut checked = 0;
    while bench.block(u64::MAX) > 0 {
        let update = bench.publish();
        let snapshot = update.snapshot;
        assert_eq!(snapshot.rows_completed, bench.recorder.rows_completed());
        // Metrics are computed when a row completes, over the rows read by then.
        if update.rows.is_empty() {
            continue;
        }
        let per_query = bench.live.per_query();
        assert_eq!(
            format!("{:?}", *snapshot.per_query),
            format!("{per_query:?}"),
            "per-query rows of the same rows"
        );
        assert_eq!(
            snapshot.metrics.attn_tv.to_bits(),
            bench.live.metrics().attn_tv.to_bits()
        );
        checked += 1;
    }
    assert!(checked > 0);
    let last = bench.publish().snapshot;
    assert_eq!(last.state, RunState::Finished);
    assert_eq!(last.rows_completed, bench.live.network().sizes.tokens);
}
