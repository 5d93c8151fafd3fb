//! The contents of the /etc/hosts and /etc/resolv.conf a run sees. Pure.

use crate::spec::Network;

/// BuildKit's `makeHostsFile` (executor/oci/hosts.go): the standard
/// entries, then one `address<TAB>name` line per `--add-host`, in order.
pub(crate) fn hosts_file(hostname: &str, extra: &[(String, std::net::IpAddr)]) -> String {
    let mut text =
        format!("127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (name, address) in extra {
        text.push_str(&format!("{address}\t{name}\n"));
    }
    text
}

/// Google's public resolvers: what BuildKit's `TransformForLegacyNw` falls
/// back to when no usable nameserver is left.
const DEFAULT_NAMESERVERS: [&str; 4] = [
    "8.8.8.8",
    "8.8.4.4",
    "2001:4860:4860::8888",
    "2001:4860:4860::8844",
];

fn is_loopback_nameserver(line: &str) -> bool {
    let mut words = line.split_whitespace();
    if words.next() != Some("nameserver") {
        return false;
    }
    match words
        .next()
        .and_then(|addr| addr.split('%').next()?.parse::<std::net::IpAddr>().ok())
    {
        Some(addr) => addr.is_loopback(),
        None => false,
    }
}

fn has_nameserver(text: &str) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().next() == Some("nameserver"))
}

/// The resolv.conf for a run, from the host's (None when it has none). With
/// the host network it is the host's as is (BuildKit copies it, only adding
/// defaults when it names no nameserver); in a private network namespace the
/// host's loopback resolvers (systemd-resolved's 127.0.0.53, dnsmasq) are
/// unreachable, so they are dropped, as BuildKit's `TransformForLegacyNw`.
pub(crate) fn resolv_conf(host: Option<&str>, network: Network) -> String {
    let host = host.unwrap_or("");
    let mut out: String = match network {
        Network::Host => host.to_string(),
        Network::None => host
            .lines()
            .filter(|line| !is_loopback_nameserver(line))
            .flat_map(|line| [line, "\n"])
            .collect(),
    };
    if !has_nameserver(&out) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        for server in DEFAULT_NAMESERVERS {
            out.push_str(&format!("nameserver {server}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_like_buildkit() {
        assert_eq!(
            hosts_file("buildkitsandbox", &[]),
            "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        );
        let extra = [
            ("db".to_string(), "10.0.0.5".parse().expect("ipv4")),
            ("v6".to_string(), "2001:db8::1".parse().expect("ipv6")),
        ];
        assert_eq!(
            hosts_file("buildkitsandbox", &extra),
            "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             10.0.0.5\tdb\n2001:db8::1\tv6\n"
        );
    }

    #[test]
    fn resolv_conf_cases() {
        let defaults = "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n";
        let cases: &[(Option<&str>, Network, String)] = &[
            (
                Some("nameserver 10.0.0.2\nsearch lan\n"),
                Network::Host,
                "nameserver 10.0.0.2\nsearch lan\n".into(),
            ),
            (
                Some("nameserver 127.0.0.53\noptions edns0\n"),
                Network::Host,
                "nameserver 127.0.0.53\noptions edns0\n".into(),
            ),
            (
                Some("nameserver 127.0.0.53\noptions edns0\n"),
                Network::None,
                format!("options edns0\n{defaults}"),
            ),
            (
                Some("nameserver ::1\nnameserver 10.1.1.1\n"),
                Network::None,
                "nameserver 10.1.1.1\n".into(),
            ),
            (None, Network::Host, defaults.to_string()),
            (
                Some("search x"),
                Network::Host,
                format!("search x\n{defaults}"),
            ),
        ];
        for (host, network, expected) in cases {
            assert_eq!(
                &resolv_conf(*host, *network),
                expected,
                "{host:?} {network:?}"
            );
        }
    }
}
