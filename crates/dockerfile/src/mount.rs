//! `RUN --mount=…` specs, as BuildKit's `instructions/commands_runmount.go`.
//!
//! The parser keeps each spec as written ([`MountSpec`]) and checks what can
//! be checked before expansion (CSV syntax, key names, `from` not using
//! variables); the planner expands the values and calls [`MountSpec::resolve`].

use crate::shell::ExpandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

/// A resolved mount, values expanded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: bool,
    pub size_limit: Option<i64>,
    pub id: Option<String>,
    pub sharing: Option<CacheSharing>,
    pub required: bool,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    #[error("failed to parse csv mounts: {reason}")]
    Csv { reason: String },
    #[error("unsupported mount type {value:?}")]
    UnknownType { value: String },
    #[error("unexpected key '{key}' in '{field}'")]
    UnknownKey { key: String, field: String },
    #[error("unexpected key '{key}' for mount type '{kind}'")]
    KeyNotForType { key: String, kind: String },
    #[error("invalid field '{field}' must be a key=value pair")]
    NotKeyValue { field: String },
    #[error("invalid value for {key}: {value}")]
    InvalidValue { key: String, value: String },
    #[error("unsupported sharing value {value:?}")]
    UnknownSharing { value: String },
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    FromExpansion,
    #[error("{key} not allowed for {kind:?} type mounts")]
    FileInfoNotAllowed { key: String, kind: String },
    #[error("secret mount should not have a from")]
    SecretFrom,
    #[error("secret mount should not define sharing")]
    SecretSharing,
    #[error("invalid secret mount. one of source, target required")]
    SecretTarget,
    #[error("both source and id can't be set")]
    SecretSourceAndId,
    #[error("invalid cache sharing set for {kind} mount")]
    SharingNotCache { kind: String },
    #[error("{source}")]
    Expand {
        #[source]
        source: ExpandError,
    },
}

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// One `--mount` value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub text: String,
    pub fields: Vec<String>,
}

impl MountSpec {
    /// Parses the CSV and checks key names; values are checked by `resolve`.
    pub fn parse(text: &str) -> Result<MountSpec, MountError> {
        let fields = csv_fields(text)?;
        for field in &fields {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
                None => (field.to_ascii_lowercase(), None),
            };
            match value {
                None => {
                    if !matches!(
                        key.as_str(),
                        "readonly" | "ro" | "readwrite" | "rw" | "required"
                    ) {
                        return Err(MountError::NotKeyValue {
                            field: field.clone(),
                        });
                    }
                }
                Some(value) => {
                    if !KEYS.contains(&key.as_str()) {
                        return Err(MountError::UnknownKey {
                            key,
                            field: field.clone(),
                        });
                    }
                    if key == "from" && value.find('$').is_some_and(|i| i + 1 != value.len()) {
                        return Err(MountError::FromExpansion);
                    }
                }
            }
        }
        Ok(MountSpec {
            text: text.to_string(),
            fields,
        })
    }

    /// Expands every value with `expand` (except `from`) and validates.
    pub fn resolve(
        &self,
        expand: &mut dyn FnMut(&str) -> Result<String, ExpandError>,
    ) -> Result<Mount, MountError> {
        let mut m = Mount {
            kind: MountType::Bind,
            from: None,
            source: None,
            target: None,
            read_only: false,
            size_limit: None,
            id: None,
            sharing: None,
            required: false,
            env: None,
            mode: None,
            uid: None,
            gid: None,
        };
        let mut ro_auto = true;
        for field in &self.fields {
            let Some((key, value)) = field.split_once('=') else {
                match field.to_ascii_lowercase().as_str() {
                    "readonly" | "ro" => {
                        m.read_only = true;
                        ro_auto = false;
                    }
                    "readwrite" | "rw" => {
                        m.read_only = false;
                        ro_auto = false;
                    }
                    "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
                        m.required = true;
                    }
                    "required" => {
                        return Err(MountError::KeyNotForType {
                            key: "required".into(),
                            kind: m.kind.as_str().into(),
                        });
                    }
                    _ => {
                        return Err(MountError::NotKeyValue {
                            field: field.clone(),
                        });
                    }
                }
                continue;
            };
            let key = key.to_ascii_lowercase();
            let value = if key == "from" {
                value.to_string()
            } else {
                expand(value).map_err(|source| MountError::Expand { source })?
            };
            let invalid = || MountError::InvalidValue {
                key: key.clone(),
                value: value.clone(),
            };
            match key.as_str() {
                "type" => {
                    m.kind = match value.to_ascii_lowercase().as_str() {
                        "bind" => MountType::Bind,
                        "cache" => MountType::Cache,
                        "tmpfs" => MountType::Tmpfs,
                        "secret" => MountType::Secret,
                        "ssh" => MountType::Ssh,
                        _ => return Err(MountError::UnknownType { value }),
                    }
                }
                "from" => m.from = Some(value),
                "source" | "src" => m.source = Some(value),
                "target" | "dst" | "destination" => m.target = Some(value),
                "readonly" | "ro" => {
                    m.read_only = parse_go_bool(&value).ok_or_else(invalid)?;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.read_only = !parse_go_bool(&value).ok_or_else(invalid)?;
                    ro_auto = false;
                }
                "required" => {
                    if !matches!(m.kind, MountType::Secret | MountType::Ssh) {
                        return Err(MountError::KeyNotForType {
                            key,
                            kind: m.kind.as_str().into(),
                        });
                    }
                    m.required = parse_go_bool(&value).ok_or_else(invalid)?;
                }
                "size" => {
                    if m.kind != MountType::Tmpfs {
                        return Err(MountError::KeyNotForType {
                            key,
                            kind: m.kind.as_str().into(),
                        });
                    }
                    m.size_limit = Some(ram_in_bytes(&value).ok_or_else(invalid)?);
                }
                "id" => m.id = Some(value),
                "sharing" => {
                    m.sharing = Some(match value.to_ascii_lowercase().as_str() {
                        "shared" => CacheSharing::Shared,
                        "private" => CacheSharing::Private,
                        "locked" => CacheSharing::Locked,
                        _ => return Err(MountError::UnknownSharing { value }),
                    })
                }
                "mode" => m.mode = Some(u32::from_str_radix(&value, 8).map_err(|_| invalid())?),
                "uid" => m.uid = Some(value.parse().map_err(|_| invalid())?),
                "gid" => m.gid = Some(value.parse().map_err(|_| invalid())?),
                "env" => m.env = Some(value),
                _ => {
                    return Err(MountError::UnknownKey {
                        key,
                        field: field.clone(),
                    });
                }
            }
        }
        let file_info_allowed = matches!(
            m.kind,
            MountType::Secret | MountType::Ssh | MountType::Cache
        );
        if !file_info_allowed {
            for (key, set) in [
                ("mode", m.mode.is_some()),
                ("uid", m.uid.is_some()),
                ("gid", m.gid.is_some()),
            ] {
                if set {
                    return Err(MountError::FileInfoNotAllowed {
                        key: key.into(),
                        kind: m.kind.as_str().into(),
                    });
                }
            }
        }
        if ro_auto {
            m.read_only = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
        }
        if m.kind == MountType::Secret {
            if m.from.is_some() {
                return Err(MountError::SecretFrom);
            }
            if m.sharing.is_some() {
                return Err(MountError::SecretSharing);
            }
            if m.source.is_none() && m.target.is_none() && m.id.is_none() {
                return Err(MountError::SecretTarget);
            }
            if m.source.is_some() && m.id.is_some() {
                return Err(MountError::SecretSourceAndId);
            }
        }
        if m.sharing.is_some() && m.kind != MountType::Cache {
            return Err(MountError::SharingNotCache {
                kind: m.kind.as_str().into(),
            });
        }
        Ok(m)
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units `RAMInBytes`: `64m`, `1.5g`, `512kb`, binary multiples.
/// Also what `docker build --shm-size` takes.
pub fn ram_in_bytes(value: &str) -> Option<i64> {
    let lower = value.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let multiplier: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    Some((number * multiplier) as i64)
}

/// RFC 4180 fields of one line (`encoding/csv` as BuildKit's csvvalue).
fn csv_fields(text: &str) -> Result<Vec<String>, MountError> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(MountError::Csv {
                            reason: "extraneous or missing \" in quoted-field".into(),
                        });
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => {
                    return Err(MountError::Csv {
                        reason: "extraneous or missing \" in quoted-field".into(),
                    });
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => {
                        return Err(MountError::Csv {
                            reason: "bare \" in non-quoted-field".into(),
                        });
                    }
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Mount, MountError> {
        MountSpec::parse(text)?.resolve(&mut |v| Ok(v.to_string()))
    }

    #[test]
    fn mounts_table() {
        let ok = resolve("type=cache,target=/root/.cache,sharing=locked,id=x,mode=0755,uid=1")
            .map(|m| (m.kind, m.read_only, m.sharing, m.mode));
        assert_eq!(
            ok,
            Ok((
                MountType::Cache,
                false,
                Some(CacheSharing::Locked),
                Some(0o755)
            ))
        );
        assert_eq!(resolve("target=/x").map(|m| m.read_only), Ok(true));
        assert_eq!(resolve("target=/x,rw").map(|m| m.read_only), Ok(false));
        assert_eq!(
            resolve("type=tmpfs,target=/t,size=64m").map(|m| m.size_limit),
            Ok(Some(64 << 20))
        );
        let errors: &[(&str, &str)] = &[
            ("type=nfs", "unsupported mount type"),
            ("type=bind,bogus=1", "unexpected key 'bogus'"),
            ("type=bind,mode=0755", "mode not allowed"),
            ("type=secret", "one of source, target required"),
            ("type=bind,sharing=locked", "invalid cache sharing"),
            ("from=$X,target=/x", "doesn't support variable expansion"),
            ("type=bind,required", "unexpected key 'required'"),
            ("type=bind,target", "must be a key=value pair"),
        ];
        for (text, needle) in errors {
            let err = resolve(text).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(needle)),
                "{text}: {err:?}"
            );
        }
    }
}
