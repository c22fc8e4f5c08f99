//! How far a long command-line job has got, on stderr: a bar when stderr is a terminal, nothing
//! when it is not (a pipe, a file, a test) or with `--quiet`. stdout is never touched, so
//! `--json` output stays clean.
//!
//! Jobs report through [`Progress`]: one stage at a time, `total` units (steps, runs, sweep
//! points), then the units done. Tests use a recording implementation; the CLI uses
//! [`for_cli`].

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// Where a job says how far it is. `Sync`: budget points finish on several threads at once.
pub trait Progress: Sync {
    /// A stage named `what` (e.g. "run 1 of 4") of `total` units begins.
    fn begin(&self, what: &str, total: u64);
    /// `done` units of the current stage are finished (never more than its total).
    fn set(&self, done: u64);
    /// One more unit of the current stage is finished.
    fn advance(&self);
    /// The job is over: the bar, if any, is erased.
    fn finish(&self);
}

/// Reports nothing: stderr is not a terminal, or `--quiet`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// A bar on stderr (indicatif), redrawn at most 10 times a second.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    /// A bar drawn on stderr, hidden by indicatif itself if stderr is not a terminal.
    pub fn stderr() -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(
            None,
            indicatif::ProgressDrawTarget::stderr_with_hz(10),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {percent:>3}% · {elapsed_precise} elapsed, ~{eta} left",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        Bar { bar }
    }
}

impl Progress for Bar {
    fn begin(&self, what: &str, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.bar.set_message(what.to_owned());
        // Keeps the elapsed time ticking while one long block runs (from the first stage on,
        // so that no empty bar is drawn before the job knows its size).
        self.bar.enable_steady_tick(Duration::from_millis(500));
    }
    fn set(&self, done: u64) {
        self.bar.set_position(done);
    }
    fn advance(&self) {
        self.bar.inc(1);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    /// A job that ends in an error leaves no half-drawn bar above the error line.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The progress of a command-line job: a bar when stderr is a terminal and `quiet` is off,
/// else nothing.
pub fn for_cli(quiet: bool) -> Box<dyn Progress> {
    if shows_bar(quiet, std::io::stderr().is_terminal()) {
        Box::new(Bar::stderr())
    } else {
        Box::new(Silent)
    }
}

/// Whether a bar is drawn: only on a terminal, and not with `--quiet`.
pub fn shows_bar(quiet: bool, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !quiet
}

/// One call a recording [`Progress`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Begin(String, u64),
    Set(u64),
    Advance,
    Finish,
}

/// Keeps every call, for tests of what a job reports.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("not poisoned").clone()
    }
    fn push(&self, event: Event) {
        self.events.lock().expect("not poisoned").push(event);
    }
}

impl Progress for Recorder {
    fn begin(&self, what: &str, total: u64) {
        self.push(Event::Begin(what.to_owned(), total));
    }
    fn set(&self, done: u64) {
        self.push(Event::Set(done));
    }
    fn advance(&self) {
        self.push(Event::Advance);
    }
    fn finish(&self) {
        self.push(Event::Finish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_on_a_terminal_and_never_with_quiet() {
        assert!(shows_bar(false, true));
        assert!(!shows_bar(true, true));
        assert!(!shows_bar(false, false));
        assert!(!shows_bar(true, false));
    }

    #[test]
    fn a_hidden_bar_takes_the_calls() {
        // The real bar, drawn nowhere: the calls a job makes must not panic on any order.
        let bar = Bar {
            bar: indicatif::ProgressBar::hidden(),
        };
        bar.begin("run", 10);
        bar.set(4);
        bar.advance();
        assert_eq!(bar.bar.position(), 5);
        assert_eq!(bar.bar.length(), Some(10));
        bar.begin("second run", 3);
        assert_eq!(bar.bar.position(), 0);
        bar.finish();
        assert!(bar.bar.is_finished());
    }
}
