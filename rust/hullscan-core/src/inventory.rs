//! Merging layer results into the squashed image's inventory.
//!
//! Layers are applied in order: a layer's opaque directories and whiteouts remove lower layers'
//! files, then its own cataloged files replace any lower file at the same path. After each layer the
//! set of visible packages is compared with the previous one, so every package in the final set is
//! attributed to the layer since which it has been continuously present (a second layer that rewrites
//! the dpkg status file to add packages keeps the first layer for the packages it already had).

use crate::model::{Distro, FileResult, Inventory, LayerResult, Package, RawPackage};
use crate::{distro, paths, purl};
use std::collections::{BTreeMap, HashMap};

/// Identity of a visible package: what it is and where it was found.
type Key = (String, RawPackage);

/// Merge layer results (lowest first) into one inventory.
#[must_use]
pub fn merge(layers: &[LayerResult]) -> Inventory {
    let mut visible: BTreeMap<String, (usize, &FileResult)> = BTreeMap::new();
    let mut since: HashMap<Key, usize> = HashMap::new();
    let mut warnings = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        for dir in &layer.opaque_dirs {
            visible.retain(|p, _| !paths::is_below(p, dir));
        }
        for w in &layer.whiteouts {
            visible.retain(|p, _| !paths::is_within(p, w));
        }
        for f in &layer.files {
            visible.insert(f.path.clone(), (i, f));
            for w in &f.warnings {
                warnings.push(format!(
                    "layer {i}: {}: {} cataloger: {w}",
                    f.path, f.cataloger
                ));
            }
        }
        let mut now: HashMap<Key, usize> = HashMap::with_capacity(since.len());
        for (path, (_, f)) in &visible {
            for p in &f.packages {
                let key = (path.clone(), p.clone());
                let first = since.get(&key).copied().unwrap_or(i);
                now.insert(key, first);
            }
        }
        since = now;
        for w in &layer.warnings {
            warnings.push(format!("layer {i}: {w}"));
        }
    }
    let distro = distro::detect(visible.values().map(|(_, f)| *f));
    let mut packages: Vec<Package> = since
        .into_iter()
        .map(|((path, raw), li)| {
            let layer = &layers[li];
            let ecosystem = ecosystem(&raw, distro.as_ref());
            Package {
                purl: purl::for_package(&raw, distro.as_ref()),
                ecosystem,
                name: raw.name,
                version: raw.version,
                kind: raw.kind,
                epoch: raw.epoch,
                source_name: raw.source_name,
                source_version: raw.source_version,
                arch: raw.arch,
                license: raw.license,
                namespace: raw.namespace,
                layer_index: li,
                layer_diff_id: layer.diff_id.clone(),
                layer_digest: layer.digest.clone(),
                locations: vec![match &raw.inner_path {
                    Some(inner) => format!("/{path}:{inner}"),
                    None => format!("/{path}"),
                }],
            }
        })
        .collect();
    packages.sort_by(|a, b| {
        (&a.kind, &a.name, &a.version, &a.arch, &a.locations).cmp(&(
            &b.kind,
            &b.name,
            &b.version,
            &b.arch,
            &b.locations,
        ))
    });
    Inventory {
        distro,
        packages,
        warnings,
    }
}

fn ecosystem(raw: &RawPackage, distro: Option<&Distro>) -> String {
    match raw.kind.as_str() {
        kind @ ("python" | "npm" | "go-module" | "java-archive" | "rust-crate" | "gem"
        | "php-composer" | "dotnet") => language_ecosystem(kind).to_string(),
        kind => distro
            .and_then(|d| d.ecosystem.clone())
            .unwrap_or_else(|| match kind {
                "apk" => "Alpine".into(),
                "deb" => "Debian".into(),
                _ => kind.to_string(),
            }),
    }
}

/// The OSV ecosystem of a language package kind.
#[must_use]
pub fn language_ecosystem(kind: &str) -> &'static str {
    match kind {
        "python" => "PyPI",
        "npm" => "npm",
        "go-module" => "Go",
        "java-archive" => "Maven",
        "rust-crate" => "crates.io",
        "gem" => "RubyGems",
        "php-composer" => "Packagist",
        "dotnet" => "NuGet",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str) -> RawPackage {
        RawPackage {
            kind: "deb".into(),
            name: name.into(),
            version: version.into(),
            epoch: None,
            source_name: None,
            source_version: None,
            arch: None,
            license: None,
            namespace: None,
            ..RawPackage::default()
        }
    }

    fn layer(files: Vec<FileResult>, whiteouts: &[&str], opaque: &[&str]) -> LayerResult {
        LayerResult {
            files,
            whiteouts: whiteouts.iter().map(|s| (*s).to_string()).collect(),
            opaque_dirs: opaque.iter().map(|s| (*s).to_string()).collect(),
            ..LayerResult::default()
        }
    }

    fn status(pkgs: Vec<RawPackage>) -> FileResult {
        FileResult {
            path: "var/lib/dpkg/status".into(),
            cataloger: "dpkg".into(),
            packages: pkgs,
            release: None,
            ..FileResult::default()
        }
    }

    #[test]
    fn attribution_and_whiteouts() {
        let l0 = layer(vec![status(vec![pkg("a", "1")])], &[], &[]);
        let l1 = layer(vec![status(vec![pkg("a", "1"), pkg("b", "2")])], &[], &[]);
        let inv = merge(&[l0.clone(), l1.clone()]);
        let by: HashMap<_, _> = inv
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.layer_index))
            .collect();
        assert_eq!(by["a"], 0);
        assert_eq!(by["b"], 1);
        // Deleting the status file removes everything.
        let l2 = layer(vec![], &["var/lib/dpkg/status"], &[]);
        assert!(merge(&[l0.clone(), l1.clone(), l2]).packages.is_empty());
        // An opaque var/lib/dpkg hides lower layers' status, not its own.
        let l3 = layer(vec![], &[], &["var/lib"]);
        assert!(merge(&[l0.clone(), l3.clone()]).packages.is_empty());
        let l4 = layer(vec![status(vec![pkg("c", "3")])], &[], &["var/lib/dpkg"]);
        let inv = merge(&[l0, l4]);
        assert_eq!(inv.packages.len(), 1);
        assert_eq!(inv.packages[0].name, "c");
        assert_eq!(inv.packages[0].layer_index, 1);
    }
}
