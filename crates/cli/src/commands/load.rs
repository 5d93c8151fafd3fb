//! `decant load -i FILE`: OCI layout (tar or dir) or docker-archive.

use std::path::Path;
use std::process::ExitCode;

use engine::ops::ArchiveFormat;

use crate::args::LoadArgs;

pub fn run(root: &Path, args: &LoadArgs) -> super::Outcome {
    let platform = super::platform(args.platform.as_deref())?;
    let loaded = engine::ops::load(root, &args.input, &platform)?;
    if args.quiet {
        println!("{}", loaded.manifest_digest);
        return Ok(ExitCode::SUCCESS);
    }
    let format = match loaded.format {
        ArchiveFormat::Oci => "OCI layout",
        ArchiveFormat::Docker => "docker-archive",
    };
    eprintln!("loaded {format} {}", args.input.display());
    if loaded.names.is_empty() {
        println!("Loaded image ID: {}", loaded.config_digest);
    }
    for name in &loaded.names {
        println!("Loaded image: {name}");
    }
    Ok(ExitCode::SUCCESS)
}
