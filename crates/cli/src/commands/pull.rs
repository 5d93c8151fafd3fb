//! `decant pull REF`.

use std::path::Path;
use std::process::ExitCode;

use crate::args::PullArgs;
use crate::transfer::TransferView;

pub fn run(root: &Path, args: &PullArgs) -> super::Outcome {
    let platform = super::platform(args.platform.as_deref())?;
    let view = TransferView::new(args.quiet, "pull");
    let result = engine::ops::pull(root, &args.reference, &platform, &|e| view.event(e));
    view.finish();
    let pulled = result?;
    if args.quiet {
        println!("{}", pulled.manifest_digest);
    } else {
        eprintln!(
            "pulled {}: {} layers ({} already present), {} downloaded",
            pulled.name,
            pulled.layers,
            pulled.layers_existing,
            super::human_size(pulled.bytes_fetched)
        );
        println!("{}", pulled.manifest_digest);
    }
    Ok(ExitCode::SUCCESS)
}
