//! Image references exactly as docker parses them
//! (`busybox` = `docker.io/library/busybox:latest`).
//!
//! Owned by the registry work (issue 3); this module is the contract the
//! planner and engine rely on.

use std::fmt;

/// Why text is not a valid image reference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format: {0:?}")]
    InvalidFormat(String),
    #[error("invalid reference format: repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error("invalid digest in reference {reference:?}")]
    BadDigest {
        reference: String,
        #[source]
        source: crate::DigestError,
    },
}

/// A normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host[:port], e.g. `docker.io`, `localhost:5000`.
    pub registry: String,
    /// Repository path, e.g. `library/busybox`.
    pub repository: String,
    /// Tag; `latest` when neither a tag nor a digest was given.
    pub tag: Option<String>,
    pub digest: Option<crate::Digest>,
}

impl Reference {
    /// Parses and normalises like docker's `reference.ParseNormalizedNamed`
    /// followed by `TagNameOnly`.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let invalid = || ReferenceError::InvalidFormat(text.to_string());
        if text.is_empty() || text.contains(char::is_whitespace) {
            return Err(invalid());
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (
                n,
                Some(d.parse().map_err(|source| ReferenceError::BadDigest {
                    reference: text.to_string(),
                    source,
                })?),
            ),
            None => (text, None),
        };
        // A tag is the part after the last ':' only when that ':' comes after
        // the last '/', otherwise it is a registry port.
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i..].contains('/') => {
                (&name_tag[..i], Some(name_tag[i + 1..].to_string()))
            }
            _ => (name_tag, None),
        };
        if name.is_empty() {
            return Err(invalid());
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(invalid());
            }
        }
        // The first component is a registry when it has a '.' or ':' or is
        // `localhost`, as in docker's splitDockerDomain.
        let (registry, mut repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            "docker.io".to_string()
        } else {
            registry
        };
        if registry == "docker.io" && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        if repository.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(text.to_string()));
        }
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
                && c.chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_alphanumeric())
                && c.chars()
                    .last()
                    .is_some_and(|ch| ch.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(invalid());
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("conformance/base:1", "docker.io/conformance/base:1"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
            ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b:t"),
            ("ghcr.io/o/r", "ghcr.io/o/r:latest"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Reference::parse(input).unwrap().to_string(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_invalid() {
        for bad in ["", "Busybox", "a b", "x:", "busybox@sha256:zz", ":tag"] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
