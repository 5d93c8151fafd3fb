//! Platform strings (`linux/arm64/v8`), as containerd's `platforms.Parse`
//! and `Format`, for `FROM --platform` and the automatic platform ARGs.

use oci::Platform;

/// `os/arch[/variant]`.
pub fn format(platform: &Platform) -> String {
    match &platform.variant {
        Some(v) if !v.is_empty() => format!("{}/{}/{}", platform.os, platform.architecture, v),
        _ => format!("{}/{}", platform.os, platform.architecture),
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            let v = if variant == "v1" {
                String::new()
            } else {
                variant
            };
            ("amd64".into(), v)
        }
        "aarch64" | "arm64" => {
            let v = if variant == "8" || variant == "v8" {
                String::new()
            } else {
                variant
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

const KNOWN_OS: &[&str] = &[
    "linux",
    "windows",
    "darwin",
    "freebsd",
    "netbsd",
    "openbsd",
    "solaris",
    "illumos",
    "android",
    "ios",
    "aix",
    "plan9",
    "dragonfly",
    "js",
    "wasip1",
];

/// Parses `os[/arch[/variant]]` or a bare architecture; missing parts come
/// from `default`.
pub fn parse(spec: &str, default: &Platform) -> Result<Platform, String> {
    let lower = spec.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("empty component".to_string());
    }
    let make = |os: &str, arch: &str, variant: &str| {
        let (architecture, variant) = normalize_arch(arch, variant);
        Platform {
            architecture,
            os: os.to_string(),
            variant: (!variant.is_empty()).then_some(variant),
            os_version: None,
        }
    };
    match parts.as_slice() {
        [one] if KNOWN_OS.contains(one) => {
            let variant = default.variant.clone().unwrap_or_default();
            Ok(make(one, &default.architecture, &variant))
        }
        [arch] => Ok(make("linux", arch, "")),
        [os, arch] => Ok(make(os, arch, "")),
        [os, arch, variant] => Ok(make(os, arch, variant)),
        _ => Err("too many components".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let host = Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
            os_version: None,
        };
        let cases = [
            ("linux/amd64", "linux/amd64"),
            ("linux/arm64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm/v6", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/x86_64", "linux/amd64"),
            ("arm64", "linux/arm64"),
            ("linux", "linux/amd64"),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                parse(spec, &host).map(|p| format(&p)),
                Ok(expected.to_string()),
                "{spec}"
            );
        }
        assert!(parse("linux//", &host).is_err());
    }
}
