//! Where a view's output goes: every view pushes [`AppCommand`]s. A view that asks the worker
//! for a new parameter set or a new experiment pushes it through [`ViewOut::worker`], which
//! makes it the undoable edit it stands for ([`AppCommand::from_worker`]), so that the views
//! need not know what the app loaded.

use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::sim::Command;
use crate::ui::command::AppCommand;

/// A frame's commands from the views, with what edits are measured from.
pub struct ViewOut<'a> {
    out: &'a mut Vec<AppCommand>,
    /// The worker's parameters now (an edit's "before").
    current: &'a Params,
    /// The experiment as loaded (a sequence change's "before", with `current`).
    loaded: &'a Experiment,
}

impl<'a> ViewOut<'a> {
    pub fn new(out: &'a mut Vec<AppCommand>, current: &'a Params, loaded: &'a Experiment) -> Self {
        ViewOut {
            out,
            current,
            loaded,
        }
    }

    /// An app command, as it is.
    pub fn push(&mut self, command: AppCommand) {
        self.out.push(command);
    }

    /// A worker command, as the app command it stands for: `SetParams` an edit of the
    /// parameters, `LoadExperiment` a sequence change, anything else sent on as it is.
    pub fn worker(&mut self, command: Command) {
        self.out
            .push(AppCommand::from_worker(command, self.current, self.loaded));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_commands_become_the_edits_they_stand_for() {
        let loaded = Experiment::default();
        let current = Params {
            m: 77,
            ..Params::default()
        };
        let mut commands = Vec::new();
        let mut out = ViewOut::new(&mut commands, &current, &loaded);
        let after = Params {
            m: 99,
            ..current.clone()
        };
        out.worker(Command::SetParams(after.clone()));
        out.worker(Command::Run);
        out.push(AppCommand::Worker(Command::Pause));
        match &commands[0] {
            AppCommand::EditParams { before, after: a } => {
                assert_eq!(before.m, 77);
                assert_eq!(**a, after);
            }
            other => panic!("an edit, not {other:?}"),
        }
        assert!(matches!(commands[1], AppCommand::Worker(Command::Run)));
        assert!(matches!(commands[2], AppCommand::Worker(Command::Pause)));
    }
}
