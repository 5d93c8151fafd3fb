//! Error display: the error, its causes, and a `hint:` where the user can act.

use crate::build::UsageError;

pub fn message(text: &str) {
    eprintln!("error: {text}");
}

pub fn warning(text: &str) {
    eprintln!("warning: {text}");
}

pub fn usage_error(error: &UsageError) {
    eprintln!("error: {}", error.message);
    if let Some(hint) = &error.hint {
        eprintln!("hint: {hint}");
    }
}

/// Prints an error and its chain of causes. A cause whose text the line
/// above already says (errors that embed their source's message) is skipped,
/// so each fact is printed once.
fn chain(error: &dyn std::error::Error) {
    let mut shown = error.to_string();
    eprintln!("error: {shown}");
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Diagnostics say `Dockerfile:L:C: …` where the line above already
        // named the real file.
        let place_free = text.strip_prefix("Dockerfile:").unwrap_or(&text);
        if !shown.contains(place_free) {
            eprintln!("  caused by: {text}");
        }
        shown = text;
        source = cause.source();
    }
}

pub fn build_error(error: &engine::BuildError) {
    chain(error);
    if let Some(hint) = hint(error) {
        eprintln!("hint: {hint}");
    }
}

fn hint(error: &engine::BuildError) -> Option<&'static str> {
    use engine::BuildError::*;
    match error {
        ReadDockerfile { .. } => {
            Some("pass the Dockerfile with -f FILE, or put a Dockerfile in the context directory")
        }
        Resolve { .. } => Some(
            "check the image name, and that registries.conf (CONTAINERS_REGISTRIES_CONF) points at a registry that has it",
        ),
        RegistryConfig(_) => Some(
            "check the file named by CONTAINERS_REGISTRIES_CONF, ~/.config/containers/registries.conf or /etc/containers/registries.conf",
        ),
        Store { .. } => Some("choose another store with --root DIR or DECANT_ROOT"),
        Platform { .. } => Some("write os/arch[/variant], such as linux/amd64, or `local`"),
        ForeignPlatform { .. } => Some(
            "leave out --platform to build for this machine, or run decant on a machine of the platform you need",
        ),
        _ => None,
    }
}

pub fn ops_error(error: &engine::ops::OpsError) {
    chain(error);
    if let Some(hint) = ops_hint(error) {
        eprintln!("hint: {hint}");
    }
}

fn ops_hint(error: &engine::ops::OpsError) -> Option<&'static str> {
    use engine::ops::OpsError::*;
    match error {
        Resolve { .. } => Some(
            "check the image name, and that registries.conf (CONTAINERS_REGISTRIES_CONF) points at a registry that has it",
        ),
        RegistryConfig(_) => Some(
            "check the file named by CONTAINERS_REGISTRIES_CONF, ~/.config/containers/registries.conf or /etc/containers/registries.conf",
        ),
        NotFound { .. } => {
            Some("`decant images` lists the store; `decant pull REF` fetches an image")
        }
        Ambiguous { .. } => Some("give more digits of the ID, or the image's name"),
        SeveralNames { .. } => Some("use `decant rmi NAME` per name, or `decant rmi --force ID`"),
        Store { .. } => Some("choose another store with --root DIR or DECANT_ROOT"),
        StoreOp {
            source: engine::ops::StoreError::Busy { .. },
            ..
        } => Some("wait for the other decant processes using this store to finish"),
        Push { .. } => Some(
            "check the destination name and your credentials (docker login writes ~/.docker/config.json)",
        ),
        Load { .. } => Some("decant loads OCI layouts (tar or directory) and docker-archives"),
        _ => None,
    }
}
