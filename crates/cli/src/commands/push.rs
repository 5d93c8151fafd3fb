//! `decant push REF [DEST]`.

use std::path::Path;
use std::process::ExitCode;

use crate::args::PushArgs;
use crate::transfer::TransferView;

pub fn run(root: &Path, args: &PushArgs) -> super::Outcome {
    let view = TransferView::new(args.quiet, "push");
    let result = engine::ops::push(root, &args.reference, args.dest.as_deref(), &|e| {
        view.event(e)
    });
    view.finish();
    let pushed = result?;
    if !args.quiet {
        eprintln!(
            "pushed {}: {} blobs uploaded, {} mounted, {} already there",
            pushed.reference, pushed.uploaded, pushed.mounted, pushed.existing
        );
    }
    println!("{}", pushed.manifest_digest);
    Ok(ExitCode::SUCCESS)
}
