//! The distribution of a squashed image, from its release files, and its OSV ecosystem name.

use crate::model::{Distro, FileResult};
use std::collections::BTreeMap;

/// Detect the distro from the visible cataloged files.
pub fn detect<'a>(files: impl Iterator<Item = &'a FileResult>) -> Option<Distro> {
    let mut rel: BTreeMap<&str, &BTreeMap<String, String>> = BTreeMap::new();
    for f in files {
        if let Some(r) = &f.release {
            if !r.is_empty() {
                rel.insert(f.path.as_str(), r);
            }
        }
    }
    let os = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| rel.get(p).map(|m| (*p, *m)));
    let mut d = if let Some((path, m)) = os {
        let id = m.get("ID").cloned().unwrap_or_default().to_lowercase();
        Distro {
            id,
            version_id: m.get("VERSION_ID").cloned().unwrap_or_default(),
            codename: m.get("VERSION_CODENAME").filter(|s| !s.is_empty()).cloned(),
            pretty_name: m.get("PRETTY_NAME").cloned(),
            ecosystem: None,
            source_file: format!("/{path}"),
        }
    } else if let Some(m) = rel.get("etc/alpine-release") {
        Distro {
            id: "alpine".into(),
            version_id: m.get("ALPINE_RELEASE").cloned().unwrap_or_default(),
            source_file: "/etc/alpine-release".into(),
            ..Distro::default()
        }
    } else if let Some(m) = rel.get("etc/debian_version") {
        Distro {
            id: "debian".into(),
            version_id: m.get("DEBIAN_VERSION").cloned().unwrap_or_default(),
            source_file: "/etc/debian_version".into(),
            ..Distro::default()
        }
    } else {
        let (path, key) = [
            ("etc/system-release", "SYSTEM_RELEASE"),
            ("etc/redhat-release", "REDHAT_RELEASE"),
        ]
        .into_iter()
        .find(|(p, _)| rel.contains_key(p))?;
        from_release_line(rel[path].get(key)?, &format!("/{path}"))?
    };
    // Debian testing/sid have no VERSION_ID in os-release; debian_version has "trixie/sid".
    if d.id == "debian" && d.version_id.is_empty() {
        if let Some(v) = rel
            .get("etc/debian_version")
            .and_then(|m| m.get("DEBIAN_VERSION"))
        {
            d.version_id.clone_from(v);
        }
    }
    d.ecosystem = ecosystem(&d);
    Some(d)
}

/// "Amazon Linux release 2 (Karoo)", "CentOS Linux release 7.9.2009 (Core)".
fn from_release_line(line: &str, source: &str) -> Option<Distro> {
    let lower = line.to_lowercase();
    let id = if lower.starts_with("amazon linux") {
        "amzn"
    } else if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else {
        return None;
    };
    let version = line
        .split_once(" release ")
        .map(|(_, v)| v.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default();
    Some(Distro {
        id: id.into(),
        version_id: version,
        pretty_name: Some(line.to_string()),
        source_file: source.into(),
        ..Distro::default()
    })
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The OSV ecosystem of a distro's OS packages, as osv.dev spells it.
#[must_use]
pub fn ecosystem(d: &Distro) -> Option<String> {
    let v = d.version_id.as_str();
    let pretty = d.pretty_name.as_deref().unwrap_or("");
    Some(match d.id.as_str() {
        "alpine" => {
            if v.contains("_alpha") || pretty.contains("edge") {
                "Alpine:edge".into()
            } else {
                format!("Alpine:v{}", major_minor(v))
            }
        }
        "debian" => {
            let m = major(v);
            if m.chars().all(|c| c.is_ascii_digit()) && !m.is_empty() {
                format!("Debian:{m}")
            } else {
                "Debian".into()
            }
        }
        "ubuntu" => {
            let lts = pretty.contains("LTS")
                || v.strip_suffix(".04")
                    .and_then(|y| y.parse::<u32>().ok())
                    .is_some_and(|y| y % 2 == 0);
            if lts {
                format!("Ubuntu:{v}:LTS")
            } else {
                format!("Ubuntu:{v}")
            }
        }
        "rhel" => format!("Red Hat:{}", major(v)),
        "almalinux" => format!("AlmaLinux:{}", major(v)),
        "rocky" => format!("Rocky Linux:{}", major(v)),
        // Amazon Linux 1 is versioned by date (2018.03); its advisories are ALAS-*, "Amazon Linux:1".
        "amzn" if v.starts_with("201") => "Amazon Linux:1".into(),
        "amzn" => format!("Amazon Linux:{}", major(v)),
        "centos" => format!("CentOS:{}", major(v)),
        "fedora" => format!("Fedora:{v}"),
        "opensuse-leap" => format!("openSUSE:Leap {v}"),
        "opensuse-tumbleweed" => "openSUSE:Tumbleweed".into(),
        "sles" => format!("SUSE:Linux Enterprise Server {v}"),
        "mariner" => format!("Mariner:{v}"),
        "azurelinux" => format!("Azure Linux:{v}"),
        "wolfi" => "Wolfi".into(),
        "chainguard" => "Chainguard".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, v: &str, pretty: &str) -> Distro {
        Distro {
            id: id.into(),
            version_id: v.into(),
            pretty_name: Some(pretty.into()),
            ..Distro::default()
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            ecosystem(&d("alpine", "3.20.3", "")).unwrap(),
            "Alpine:v3.20"
        );
        assert_eq!(ecosystem(&d("debian", "12", "")).unwrap(), "Debian:12");
        assert_eq!(
            ecosystem(&d("ubuntu", "22.04", "Ubuntu 22.04.4 LTS")).unwrap(),
            "Ubuntu:22.04:LTS"
        );
        assert_eq!(
            ecosystem(&d("ubuntu", "23.10", "Ubuntu 23.10")).unwrap(),
            "Ubuntu:23.10"
        );
        assert_eq!(
            ecosystem(&d("alpine", "3.21.0_alpha20240923", "Alpine Linux edge")).unwrap(),
            "Alpine:edge"
        );
        let a = from_release_line("Amazon Linux release 2 (Karoo)", "/etc/system-release").unwrap();
        assert_eq!(a.id, "amzn");
        assert_eq!(a.version_id, "2");
    }
}
