//! Package URLs (purl spec), with the distro qualifiers scanners use.

use crate::model::{Distro, RawPackage};
use std::fmt::Write;

/// Percent-encode a purl component: everything outside the unreserved set is encoded.
fn enc(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric()
            || matches!(c, '.' | '-' | '_' | '~')
            || (keep_slash && c == '/')
        {
            out.push(c);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn namespace(kind: &str, d: Option<&Distro>) -> String {
    let id = d.map_or("", |d| d.id.as_str());
    match (kind, id) {
        ("apk", "") => "alpine".into(),
        ("deb", "") => "debian".into(),
        ("rpm", "" | "rhel") => "redhat".into(),
        (_, id) => id.to_string(),
    }
}

/// The purl of a package found in an image with the given distro.
#[must_use]
pub fn for_package(p: &RawPackage, d: Option<&Distro>) -> String {
    match p.kind.as_str() {
        "python" => {
            let name = normalize_python(&p.name);
            format!("pkg:pypi/{}@{}", enc(&name, false), enc(&p.version, false))
        }
        kind @ ("apk" | "deb" | "rpm") => {
            let ns = namespace(kind, d);
            // rpm purls carry the epoch as a qualifier, not in the version.
            let version = if kind == "rpm" {
                p.version
                    .split_once(':')
                    .filter(|_| p.epoch.is_some())
                    .map_or(p.version.as_str(), |(_, v)| v)
            } else {
                p.version.as_str()
            };
            let mut q: Vec<(&str, String)> = Vec::new();
            if let Some(a) = &p.arch {
                q.push(("arch", a.clone()));
            }
            if let Some(d) = d {
                if !d.version_id.is_empty() {
                    q.push(("distro", format!("{}-{}", d.id, d.version_id)));
                }
            }
            if let Some(e) = p.epoch {
                q.push(("epoch", e.to_string()));
            }
            if let Some(src) = &p.source_name {
                // A binNMU (`foo 1.2-3+b1` built from `foo 1.2-3`) keeps its source name but
                // not its source version: dpkg then records `Source: foo (1.2-3)`, and the
                // qualifier carries it, as syft writes it.
                let source_version = match &p.source_version {
                    Some(sv) if kind == "deb" && sv != &p.version => Some(sv),
                    _ => None,
                };
                if src != &p.name || source_version.is_some() {
                    let upstream = match source_version {
                        Some(sv) => format!("{src}@{sv}"),
                        None => src.clone(),
                    };
                    q.push(("upstream", upstream));
                }
            }
            q.sort_by(|a, b| a.0.cmp(b.0));
            let mut s = format!(
                "pkg:{kind}/{}/{}@{}",
                enc(&ns, false),
                enc(&p.name, false),
                enc(version, false)
            );
            for (i, (k, v)) in q.iter().enumerate() {
                s.push(if i == 0 { '?' } else { '&' });
                s.push_str(k);
                s.push('=');
                s.push_str(&enc(v, false));
            }
            s
        }
        "npm" | "go-module" | "rust-crate" | "gem" | "php-composer" | "dotnet" | "java-archive" => {
            let ty = match p.kind.as_str() {
                "npm" => "npm",
                "go-module" => "golang",
                "rust-crate" => "cargo",
                "gem" => "gem",
                "php-composer" => "composer",
                "dotnet" => "nuget",
                _ => "maven",
            };
            // Namespace segments (a Maven groupId, an npm scope, a Go module path's directories,
            // a Composer vendor) each percent-encoded, joined by '/'.
            let full = match &p.namespace {
                Some(ns) if !ns.is_empty() => format!("{ns}/{}", p.name),
                _ => p.name.clone(),
            };
            let segs: Vec<String> = full
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| enc(s, false))
                .collect();
            // Go's standard library: `go1.22.0` in build info, `1.22.0` in the purl (as syft
            // writes it, and as the Go vulnerability database versions it).
            let version = match (p.kind.as_str(), p.name.as_str()) {
                ("go-module", "stdlib") => p.version.strip_prefix("go").unwrap_or(&p.version),
                _ => p.version.as_str(),
            };
            format!("pkg:{ty}/{}@{}", segs.join("/"), enc(version, false))
        }
        other => format!(
            "pkg:generic/{}@{}",
            enc(&p.name, false),
            enc(&p.version, false)
        )
        .replace(
            "pkg:generic/",
            &format!("pkg:generic/{}-", enc(other, false)),
        ),
    }
}

#[cfg(test)]
mod language_tests {
    use super::*;

    fn purl(kind: &str, ns: Option<&str>, name: &str, version: &str) -> String {
        for_package(
            &RawPackage {
                kind: kind.into(),
                name: name.into(),
                version: version.into(),
                namespace: ns.map(str::to_string),
                ..RawPackage::default()
            },
            None,
        )
    }

    #[test]
    fn language_purls_follow_the_purl_types() {
        assert_eq!(
            purl("npm", None, "@babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl("npm", None, "lodash", "4.17.15"),
            "pkg:npm/lodash@4.17.15"
        );
        assert_eq!(
            purl("go-module", None, "github.com/anchore/syft", "v1.18.1"),
            "pkg:golang/github.com/anchore/syft@v1.18.1"
        );
        assert_eq!(
            purl("go-module", None, "stdlib", "go1.22.0"),
            "pkg:golang/stdlib@1.22.0"
        );
        assert_eq!(
            purl(
                "java-archive",
                Some("com.google.guava"),
                "guava",
                "31.1-jre"
            ),
            "pkg:maven/com.google.guava/guava@31.1-jre"
        );
        assert_eq!(
            purl("rust-crate", None, "serde", "1.0.0"),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            purl("php-composer", None, "laravel/framework", "5.5.0"),
            "pkg:composer/laravel/framework@5.5.0"
        );
        assert_eq!(
            purl("dotnet", None, "Newtonsoft.Json", "13.0.1"),
            "pkg:nuget/Newtonsoft.Json@13.0.1"
        );
        assert_eq!(purl("gem", None, "rails", "7.0.0"), "pkg:gem/rails@7.0.0");
    }
}

/// PEP 503 name normalisation, as the pypi purl type requires.
#[must_use]
pub fn normalize_python(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let d = Distro {
            id: "debian".into(),
            version_id: "12".into(),
            ..Distro::default()
        };
        let p = RawPackage {
            kind: "deb".into(),
            name: "libssl3".into(),
            version: "3.0.11-1~deb12u2".into(),
            epoch: None,
            source_name: Some("openssl".into()),
            source_version: Some("3.0.11-1~deb12u2".into()),
            arch: Some("amd64".into()),
            license: None,
            namespace: None,
            ..RawPackage::default()
        };
        assert_eq!(
            for_package(&p, Some(&d)),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
        // A binNMU: same source name, older source version.
        let binnmu = RawPackage {
            name: "libfoo1".into(),
            version: "1.2-3+b1".into(),
            source_name: Some("libfoo1".into()),
            source_version: Some("1.2-3".into()),
            arch: None,
            ..p.clone()
        };
        assert_eq!(
            for_package(&binnmu, Some(&d)),
            "pkg:deb/debian/libfoo1@1.2-3%2Bb1?distro=debian-12&upstream=libfoo1%401.2-3"
        );
        let same = RawPackage {
            source_version: Some("1.2-3+b1".into()),
            ..binnmu
        };
        assert_eq!(
            for_package(&same, Some(&d)),
            "pkg:deb/debian/libfoo1@1.2-3%2Bb1?distro=debian-12"
        );
        assert_eq!(normalize_python("Foo.Bar__baz"), "foo-bar-baz");
    }
}
