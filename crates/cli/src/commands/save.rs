//! `decant save REF -o FILE [--format oci|docker]`.

use std::path::Path;
use std::process::ExitCode;

use engine::ops::ArchiveFormat;

use crate::args::{SaveArgs, SaveFormat};

pub fn run(root: &Path, args: &SaveArgs) -> super::Outcome {
    let format = match args.format {
        SaveFormat::Oci => ArchiveFormat::Oci,
        SaveFormat::Docker => ArchiveFormat::Docker,
    };
    let digest = engine::ops::save(root, &args.reference, &args.output, format)?;
    eprintln!(
        "saved {} ({digest}) to {}",
        args.reference,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
