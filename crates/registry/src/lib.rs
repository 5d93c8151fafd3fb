//! The OCI distribution client: registries.conf mirrors and insecure
//! registries, docker credentials, manifest/index resolution, verified blob
//! pulls and pushes with retries.
//!
//! * [`conf`]: which endpoints serve a reference (mirrors, insecure, blocked).
//! * [`auth`]: credentials (auth files, credential helpers) and challenges.
//! * `http`: scheme choice, tokens, redirects, retries — under every call.
//! * `pull`: [`Client::resolve`] and [`Client::fetch_blob`].
//! * `push`: [`Client::push_image`] with existence checks, cross-repository
//!   mounts and monolithic or chunked uploads.
//!
//! Everything is blocking; concurrency is threads ([`Client`] is `Sync`).
//!
//! Architecture Invariant: knows nothing of the store's layout or the build
//! graph. Callers hand in writers and [`BlobSource`]s.

pub mod auth;
pub mod conf;
mod error;
mod http;
mod pull;
mod push;

use std::path::Path;

pub use auth::{Credential, CredentialStore, Secret};
pub use conf::{Endpoint, RegistriesConf};
pub use error::RegistryError;
pub use http::ClientOptions;
pub use pull::{MAX_MANIFEST_SIZE, ResolvedImage, choose_platform, platform_matches};
pub use push::{BlobSource, PushReport};

/// A registry client. Cheap to share by reference across threads; it
/// caches the scheme, auth challenge and tokens per host.
pub struct Client {
    conf: RegistriesConf,
    http: http::Http,
}

impl Client {
    /// registries.conf from `CONTAINERS_REGISTRIES_CONF`,
    /// `$HOME/.config/containers/registries.conf` or
    /// `/etc/containers/registries.conf` (none: defaults), credentials from
    /// the standard auth files, default options.
    pub fn from_env() -> Result<Client, RegistryError> {
        let env = |key: &str| std::env::var(key).ok();
        let conf = RegistriesConf::load(conf::default_path(&env).as_deref())?;
        Client::new(
            conf,
            CredentialStore::from_env(&env),
            ClientOptions::default(),
        )
    }

    pub fn new(
        conf: RegistriesConf,
        credentials: CredentialStore,
        options: ClientOptions,
    ) -> Result<Client, RegistryError> {
        Ok(Client {
            conf,
            http: http::Http::new(options, credentials)?,
        })
    }

    /// A client for `registries.conf` text at `path`, for tests and tools.
    pub fn with_conf_file(
        path: &Path,
        credentials: CredentialStore,
        options: ClientOptions,
    ) -> Result<Client, RegistryError> {
        Client::new(RegistriesConf::load(Some(path))?, credentials, options)
    }

    pub fn registries_conf(&self) -> &RegistriesConf {
        &self.conf
    }
}
