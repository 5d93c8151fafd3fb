//! The build entry points: [`build`] runs the whole pipeline (see the crate
//! docs) and [`plan_only`] stops after planning, for `--print-plan`.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::sync::atomic::Ordering;

use oci::{Descriptor, Digest, ImageConfig, Manifest, MediaType, Platform, RootFs};
use plan::{BuildGraph, PlanOptions, StageId};

use crate::context::Context;
use crate::error::BuildError;
use crate::events::{Event, EventSink};
use crate::layers::{Images, LayerRef, oci_layer_media_type};
use crate::request::{BuildOutcome, BuildRequest, Output};
use crate::stage::{StageBuilder, StageResult};

/// Asks the registry (through [`Images`]) for base image configs while planning.
struct RegistryResolver<'a, 'b> {
    images: &'a Images<'b>,
}

impl plan::BaseResolver for RegistryResolver<'_, '_> {
    fn resolve(
        &mut self,
        reference: &str,
        _platform: &Platform,
    ) -> Result<ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self
            .images
            .resolve(reference)
            .map(|image| image.config.clone())?)
    }
}

/// For `--print-plan`: plans without touching the network, as if every base
/// image had an empty config (so ENV from a base image is not known).
struct OfflineResolver;

impl plan::BaseResolver for OfflineResolver {
    fn resolve(
        &mut self,
        _reference: &str,
        platform: &Platform,
    ) -> Result<ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            ..ImageConfig::default()
        })
    }
}

fn read_and_parse(request: &BuildRequest) -> Result<(String, dockerfile::Dockerfile), BuildError> {
    let text = match &request.dockerfile_text {
        Some(text) => text.clone(),
        None => fs::read_to_string(&request.dockerfile).map_err(|source| {
            BuildError::ReadDockerfile {
                path: request.dockerfile.clone(),
                source,
            }
        })?,
    };
    let ast = dockerfile::parse(&text).map_err(|diagnostic| BuildError::Parse {
        path: request.dockerfile.clone(),
        text: text.clone(),
        diagnostic,
    })?;
    Ok((text, ast))
}

/// Plans on a thread with a stack large enough for
/// [`plan::MAX_DEPENDENCY_DEPTH`] nested stage dependencies: the planner
/// recurses once per dependency, and the main thread's default 8 MiB stack
/// holds only about 150 levels in a debug build.
fn plan_with_big_stack(
    request: &BuildRequest,
    text: String,
    ast: &dockerfile::Dockerfile,
    options: &PlanOptions,
    resolver: &mut (dyn plan::BaseResolver + Send),
) -> Result<BuildGraph, BuildError> {
    const PLANNER_STACK: usize = 512 << 20;
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("planner".to_string())
            .stack_size(PLANNER_STACK)
            .spawn_scoped(scope, || plan::plan(ast, options, resolver))
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
    });
    match result {
        Ok(planned) => planned.map_err(|source| BuildError::Plan {
            path: request.dockerfile.clone(),
            text,
            source,
        }),
        Err(source) => Err(BuildError::Thread {
            what: "the planner",
            source,
        }),
    }
}

/// The platform a build is for: `host`, the one decant runs on, whatever
/// `--platform` says, as long as it names that platform (in any spelling
/// containerd's `platforms.Parse` accepts, or `local` as buildx takes it).
/// A build for another platform would need emulation for its RUN steps;
/// it is refused rather than built for the wrong platform.
fn target_platform(requested: &[String], host: Platform) -> Result<Platform, BuildError> {
    // Parsing the host's own name drops variants that are implied, such as
    // arm64's v8, so that both sides are compared in the same form.
    let host_name = plan::format_platform(&host);
    let host_name = plan::parse_platform(&host_name, &host)
        .map(|platform| plan::format_platform(&platform))
        .unwrap_or(host_name);
    for spec in requested.iter().flat_map(|value| value.split(',')) {
        let spec = spec.trim();
        if spec == "local" {
            continue;
        }
        let platform =
            plan::parse_platform(spec, &host).map_err(|reason| BuildError::Platform {
                spec: spec.to_string(),
                reason,
            })?;
        if plan::format_platform(&platform) != host_name {
            return Err(BuildError::ForeignPlatform {
                requested: spec.to_string(),
                host: host_name,
            });
        }
    }
    Ok(host)
}

fn plan_options(request: &BuildRequest, platform: &Platform) -> Result<PlanOptions, BuildError> {
    let mut named_contexts = std::collections::BTreeMap::new();
    for (name, value) in &request.named_contexts {
        named_contexts.insert(name.clone(), named_context(name, value)?);
    }
    Ok(PlanOptions {
        build_args: request.build_args.clone(),
        target: request.target.clone(),
        named_contexts,
        target_platform: platform.clone(),
        build_platform: platform.clone(),
        network: request.network,
    })
}

/// A `--build-context` value, as buildx accepts them: `docker-image://REF`
/// names a registry image, `oci-layout://PATH[:TAG|@DIGEST]` an image in an
/// OCI layout on disk (planned as an image whose reference text keeps the
/// prefix; [`Images::resolve`] reads the layout), a path is a local
/// directory. Git and HTTP contexts are refused.
pub(crate) fn named_context(name: &str, value: &str) -> Result<plan::NamedContext, BuildError> {
    if let Some(reference) = value.strip_prefix("docker-image://") {
        return Ok(plan::NamedContext::Image(reference.to_string()));
    }
    if value.starts_with(crate::oci_layout::PREFIX) {
        return Ok(plan::NamedContext::Image(value.to_string()));
    }
    let unsupported = |reason| BuildError::NamedContextUnsupported {
        name: name.to_string(),
        value: crate::remote::redact(value),
        reason,
    };
    if value.starts_with("git@") || value.starts_with("git://") || value.starts_with("ssh://") {
        return Err(unsupported("git contexts are not supported yet"));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        return Err(unsupported("remote contexts are not supported yet"));
    }
    if value.contains("://") {
        return Err(unsupported(
            "use a directory, docker-image://REF or oci-layout://PATH[:TAG|@DIGEST]",
        ));
    }
    Ok(plan::NamedContext::Local(value.to_string()))
}

/// Parses and plans without building, for `decant build --print-plan`.
pub fn plan_only(request: &BuildRequest) -> Result<BuildGraph, BuildError> {
    let (text, ast) = read_and_parse(request)?;
    let platform = target_platform(&request.platforms, Platform::host())?;
    let options = plan_options(request, &platform)?;
    plan_with_big_stack(request, text, &ast, &options, &mut OfflineResolver)
}

/// Runs a whole build: parse, plan, solve, assemble, export, tag.
pub fn build(request: &BuildRequest, events: EventSink<'_>) -> Result<BuildOutcome, BuildError> {
    let (text, ast) = read_and_parse(request)?;
    let store = store::Store::open(&request.store_root).map_err(|source| BuildError::Store {
        path: request.store_root.clone(),
        source,
    })?;
    let platform = target_platform(&request.platforms, Platform::host())?;
    let images = Images::new(&store, platform.clone(), events).local_first(!request.pull);
    let options = plan_options(request, &platform)?;
    let graph = plan_with_big_stack(
        request,
        text,
        &ast,
        &options,
        &mut RegistryResolver { images: &images },
    )?;
    let dockerfile_file = request
        .dockerfile_text
        .is_none()
        .then_some(request.dockerfile.as_path());
    let mut context = Context::load(&request.context, dockerfile_file)?;
    if !request.ephemeral_context {
        context.load_checksum_cache(&store);
    }
    // Detection mounts a test overlay, so it waits until a step needs a
    // snapshot: a build served entirely from the cache mounts nothing.
    let driver = std::sync::OnceLock::new();
    let forced = match request.snapshotter.as_deref() {
        Some("overlay") => Some(snapshot::Driver::Overlay),
        Some("copy") => Some(snapshot::Driver::Copy),
        _ => None,
    };
    if let Some(forced) = forced {
        let _ = driver.set(forced);
    }
    let created = request
        .source_date_epoch
        .map(rfc3339)
        .unwrap_or_else(|| rfc3339(now()));
    let builder = StageBuilder {
        request,
        store: &store,
        images: &images,
        context: &context,
        events,
        driver,
        downloads: crate::remote::Downloads::new(&store.root().join("tmp")),
        created: Some(created.clone()),
        steps_run: Default::default(),
        steps_cached: Default::default(),
        in_flight: Default::default(),
    };
    let positions: HashMap<StageId, usize> = graph
        .stages
        .iter()
        .enumerate()
        .map(|(position, stage)| (stage.id, position))
        .collect();
    let deps: Vec<Vec<usize>> = graph
        .stages
        .iter()
        .map(|stage| {
            stage
                .deps
                .iter()
                .filter_map(|id| positions.get(id).copied())
                .collect()
        })
        .collect();
    let results = solver::run_graph(
        &deps,
        request.jobs.max(1),
        |position, inputs: &[(usize, StageResult)]| {
            let built: HashMap<StageId, StageResult> = inputs
                .iter()
                .map(|(j, result)| (graph.stages[*j].id, result.clone()))
                .collect();
            builder.build(&graph.stages[position], &built)
        },
    );
    // Hashes are worth keeping even when a step failed: the fix is usually
    // an edit to one file, and the rebuild should rehash only that one. A
    // store that cannot take them fails a build that otherwise succeeded,
    // as a failed cache record does.
    let saved = if request.ephemeral_context {
        Ok(())
    } else {
        context.save_checksum_cache(&store)
    };
    let results = results.map_err(|error| match error {
        solver::GraphError::Job(error) => error,
        // The planner orders stages and rejects cycles; a malformed graph
        // here means the two disagree, which we report rather than hide.
        solver::GraphError::Cycle(stages) => BuildError::StageGraph { stages },
        solver::GraphError::UnknownDependency { job, dependency } => BuildError::StageGraph {
            stages: vec![job, dependency],
        },
    })?;
    saved.map_err(|source| BuildError::StoreOp {
        what: "context checksum cache".to_string(),
        source,
    })?;
    let target_position = positions[&graph.target];
    let stage = &graph.stages[target_position];
    let result = &results[target_position];

    let mut config = stage.config.clone();
    config.rootfs = RootFs {
        kind: "layers".to_string(),
        diff_ids: result.layers.iter().map(|l| l.diff_id.clone()).collect(),
    };
    config.history = result.history.clone();
    // The image is as new as its newest history entry: a rebuild served from
    // the cache gives back the same config, and so the same image ID.
    config.created = result
        .history
        .iter()
        .rev()
        .find_map(|h| h.created.clone())
        .or(Some(created));
    if config.architecture.is_empty() {
        config.architecture = stage.platform.architecture.clone();
        config.os = stage.platform.os.clone();
        config.variant = stage.platform.variant.clone();
    }
    if !request.labels.is_empty() {
        let labels = config.config.labels.get_or_insert_with(Default::default);
        labels.extend(request.labels.clone());
    }
    // The manifest needs a blob per layer: base layers are fetched, layers
    // the build made are compressed now (or found in the blob index).
    let write_options = layer::WriteOptions {
        compression: request.compression,
        source_date_epoch: request.source_date_epoch,
        ..Default::default()
    };
    let descriptors = result
        .layers
        .iter()
        .map(|layer| images.blob(layer, &write_options))
        .collect::<Result<Vec<Descriptor>, BuildError>>()?;
    let config_bytes = serde_json::to_vec(&config).map_err(|source| BuildError::Encode {
        what: "config",
        source,
    })?;
    let config_digest = store
        .put_bytes(&config_bytes)
        .map_err(|source| BuildError::StoreOp {
            what: "image config".to_string(),
            source,
        })?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_string()),
        config: Descriptor::new(
            MediaType::OCI_CONFIG,
            config_digest.clone(),
            config_bytes.len() as u64,
        ),
        layers: descriptors
            .iter()
            .map(|descriptor| Descriptor {
                media_type: oci_layer_media_type(&descriptor.media_type),
                ..Descriptor::new("", descriptor.digest.clone(), descriptor.size)
            })
            .collect(),
        annotations: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|source| BuildError::Encode {
        what: "manifest",
        source,
    })?;
    let manifest_digest =
        store
            .put_bytes(&manifest_bytes)
            .map_err(|source| BuildError::StoreOp {
                what: "image manifest".to_string(),
                source,
            })?;

    let image = export::ImageToExport {
        manifest_bytes,
        manifest,
        config_bytes,
        tags: request.tags.clone(),
    };
    let blobs = StoreBlobs(&store);
    for output in &request.outputs {
        write_output(output, &image, &blobs, &builder, &result.layers, events)?;
    }
    // Tags go last: a name must never point at an image whose outputs failed.
    for tag in &request.tags {
        // Stored normalised (`app` is `docker.io/library/app:latest`) so
        // that `FROM app`, `decant push app` and `decant images` agree.
        let tag = &crate::ops::normalize_name(tag);
        store
            .tag(tag, &manifest_digest)
            .map_err(|source| BuildError::StoreOp {
                what: format!("tag {tag}"),
                source,
            })?;
    }
    Ok(BuildOutcome {
        manifest_digest,
        config_digest,
        steps_run: builder.steps_run.load(Ordering::Relaxed),
        steps_cached: builder.steps_cached.load(Ordering::Relaxed),
    })
}

fn write_output(
    output: &Output,
    image: &export::ImageToExport,
    blobs: &StoreBlobs<'_>,
    builder: &StageBuilder<'_>,
    layers: &[LayerRef],
    events: EventSink<'_>,
) -> Result<(), BuildError> {
    let (dest, result) = match output {
        Output::Image => return Ok(()),
        Output::Oci { dest, tar: true } => (dest, export::write_oci_archive(image, blobs, dest)),
        Output::Oci { dest, tar: false } => (dest, export::write_oci_dir(image, blobs, dest)),
        Output::Docker { dest } => (dest, export::write_docker_archive(image, blobs, dest)),
        Output::Local { dest } | Output::Tar { dest } => {
            let (prepared, _work) = builder.root_view(layers)?;
            let result = match output {
                Output::Local { .. } => export::write_rootfs_dir(&prepared.root, dest),
                _ => export::write_rootfs_tar(
                    &prepared.root,
                    dest,
                    &export::RootfsOptions {
                        source_date_epoch: builder.request.source_date_epoch,
                    },
                ),
            };
            (dest, result)
        }
    };
    result.map_err(|source| BuildError::Export {
        dest: dest.clone(),
        source,
    })?;
    events(Event::Exported {
        description: format!("{}", dest.display()),
    });
    Ok(())
}

/// Serves export's blob reads from the store.
struct StoreBlobs<'a>(&'a store::Store);

impl export::BlobSource for StoreBlobs<'_> {
    fn open_blob(&self, digest: &Digest) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(fs::File::open(self.0.blob_path(digest))?))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Formats seconds since the epoch as RFC 3339 UTC, the form image configs
/// use for `created` (Go's time.Time JSON encoding).
fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_matches_known_dates() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(super::rfc3339(seconds), text);
        }
    }

    /// `--platform` values against a host: `Ok` with the platform's
    /// canonical name, or which error.
    const PLATFORMS: &[(&str, &[&str], Result<&str, &str>)] = &[
        ("linux/amd64", &[], Ok("linux/amd64")),
        ("linux/amd64", &["linux/amd64"], Ok("linux/amd64")),
        ("linux/amd64", &["local"], Ok("linux/amd64")),
        (
            "linux/amd64",
            &["amd64", "linux/x86_64,linux/amd64/v1"],
            Ok("linux/amd64"),
        ),
        ("linux/amd64", &["linux"], Ok("linux/amd64")),
        ("linux/amd64", &["linux/arm64"], Err("ForeignPlatform")),
        (
            "linux/amd64",
            &["linux/amd64,linux/arm64"],
            Err("ForeignPlatform"),
        ),
        ("linux/amd64", &["windows/amd64"], Err("ForeignPlatform")),
        ("linux/amd64", &["linux/amd64/v3"], Err("ForeignPlatform")),
        ("linux/amd64", &["linux/amd64,"], Err("Platform")),
        ("linux/amd64", &["linux/amd64/v2/x"], Err("Platform")),
        ("linux/arm64/v8", &["linux/arm64"], Ok("linux/arm64/v8")),
        (
            "linux/arm64/v8",
            &["linux/arm64/v8", "arm64"],
            Ok("linux/arm64/v8"),
        ),
        ("linux/arm64/v8", &["linux/arm/v7"], Err("ForeignPlatform")),
    ];

    #[test]
    fn platform_flags_name_the_host_or_are_refused() {
        for (host, requested, expected) in PLATFORMS {
            let mut parts = host.split('/');
            let host = oci::Platform {
                os: parts.next().expect("os").to_string(),
                architecture: parts.next().expect("arch").to_string(),
                variant: parts.next().map(str::to_string),
                os_version: None,
            };
            let requested: Vec<String> = requested.iter().map(|s| s.to_string()).collect();
            let outcome = super::target_platform(&requested, host)
                .map(|platform| plan::format_platform(&platform))
                .map_err(|error| match error {
                    crate::BuildError::Platform { .. } => "Platform",
                    crate::BuildError::ForeignPlatform { .. } => "ForeignPlatform",
                    _ => "another error",
                });
            assert_eq!(
                outcome.as_deref().map_err(|e| *e),
                *expected,
                "{requested:?}"
            );
        }
    }
}
