//! `decant tag SOURCE TARGET`.

use std::path::Path;
use std::process::ExitCode;

use crate::args::TagArgs;

pub fn run(root: &Path, args: &TagArgs) -> super::Outcome {
    let name = engine::ops::tag(root, &args.source, &args.target)?;
    eprintln!("tagged {name}");
    Ok(ExitCode::SUCCESS)
}
