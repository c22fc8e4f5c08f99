//! `tripartite`: parse the arguments, then hand off to the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal failure: {info}");
    }));
    let cli = tripartite::cli::Cli::parse();
    let open_gui = |request: tripartite::cli::GuiRequest| {
        tripartite::ui::run_gui(tripartite::ui::GuiOptions {
            experiment: request.experiment,
            refusal: request.refusal,
            frames: request.frames,
            frame_report: request.frame_report,
            screenshot_dir: request.screenshot_dir,
        })
    };
    match tripartite::cli::run(cli, open_gui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = error.to_string();
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !message.contains(&cause) {
                    message.push_str(": ");
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
