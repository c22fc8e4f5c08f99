//! Headless jobs the command line (and the app) start: each runs a piece of work to the end
//! and reports, above `model/` and `data/`.

pub mod learn;
