//! `decant rmi REF...`: removes names; `decant prune` frees the blobs.

use std::path::Path;
use std::process::ExitCode;

use crate::args::RmiArgs;

pub fn run(root: &Path, args: &RmiArgs) -> super::Outcome {
    for reference in &args.references {
        for name in engine::ops::rmi(root, reference, args.force)? {
            println!("Untagged: {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
