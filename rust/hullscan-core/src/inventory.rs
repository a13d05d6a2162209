//! Merging layer results into the squashed image's inventory.
//!
//! Layers are applied in order: a layer's opaque directories and whiteouts remove lower layers'
//! files, then its own cataloged files replace any lower file at the same path. After each layer the
//! set of visible packages is compared with the previous one, so every package in the final set is
//! attributed to the layer since which it has been continuously present (a second layer that rewrites
//! the dpkg status file to add packages keeps the first layer for the packages it already had).
//!
//! Ownership: the OS package databases' file lists that are still visible in the squashed image
//! (dpkg `info/*.list`, the apk and rpm databases) relate each language package found at a path an
//! OS package owns to that OS package ([`Package::owned_by`]), as syft's
//! `ownership-by-file-overlap` relationship does.

#[cfg(test)]
use crate::model::Owned;
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
                owned_by: None,
            }
        })
        .collect();
    relate_owners(
        &mut packages,
        visible.iter().map(|(p, (_, f))| (p.as_str(), *f)),
    );
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

/// The kinds of OS packages, the only owners.
const OS_KINDS: &[&str] = &["deb", "apk", "rpm"];

/// Set [`Package::owned_by`] of every language package found at a path (or in a Python metadata
/// directory) that a visible OS database file list gives to an installed OS package.
fn relate_owners<'a>(
    packages: &mut [Package],
    visible: impl Iterator<Item = (&'a str, &'a FileResult)>,
) {
    // (kind, name, location) -> OS packages listed there.
    let mut os: HashMap<(&str, &str, &str), Vec<&Package>> = HashMap::new();
    for p in packages
        .iter()
        .filter(|p| OS_KINDS.contains(&p.kind.as_str()))
    {
        for loc in &p.locations {
            os.entry((
                p.kind.as_str(),
                p.name.as_str(),
                loc.trim_start_matches('/'),
            ))
            .or_default()
            .push(p);
        }
    }
    // owned path -> purls of the installed OS packages that own it.
    let mut owners: HashMap<&str, Vec<&str>> = HashMap::new();
    for (path, f) in visible {
        for o in &f.owned {
            let db = o.db.as_deref().unwrap_or(path);
            let Some(candidates) = os.get(&(o.kind.as_str(), o.name.as_str(), db)) else {
                continue; // listed but not installed (dpkg config-files, removed from status)
            };
            for owner in candidates
                .iter()
                .filter(|c| o.arch.is_none() || c.arch == o.arch)
            {
                for owned in &o.paths {
                    owners.entry(owned).or_default().push(&owner.purl);
                }
            }
        }
    }
    if owners.is_empty() {
        return;
    }
    let mut found: Vec<Option<String>> = Vec::with_capacity(packages.len());
    for p in packages.iter() {
        if OS_KINDS.contains(&p.kind.as_str()) {
            found.push(None);
            continue;
        }
        let best = p
            .locations
            .iter()
            .flat_map(|loc| owners_of(&owners, loc.trim_start_matches('/')))
            .min();
        found.push(best.map(str::to_string));
    }
    for (p, owner) in packages.iter_mut().zip(found) {
        p.owned_by = owner;
    }
}

/// Owners of a language package's location: the file itself, the Python metadata directory it
/// lies in, or the outer archive of an `outer.jar:inner.jar` location.
fn owners_of<'m>(owners: &'m HashMap<&str, Vec<&'m str>>, loc: &str) -> Vec<&'m str> {
    if let Some(o) = owners.get(loc) {
        return o.clone();
    }
    let dir = paths::split(loc).0;
    if dir.ends_with("dist-info") || dir.ends_with("egg-info") {
        if let Some(o) = owners.get(dir) {
            return o.clone();
        }
    }
    if let Some((outer, _)) = loc.split_once(':') {
        if let Some(o) = owners.get(outer) {
            return o.clone();
        }
    }
    Vec::new()
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

    fn py(path: &str, name: &str) -> FileResult {
        FileResult {
            path: path.into(),
            cataloger: "python".into(),
            packages: vec![RawPackage {
                kind: "python".into(),
                name: name.into(),
                version: "1.0".into(),
                ..RawPackage::default()
            }],
            ..FileResult::default()
        }
    }

    fn list(name: &str, arch: Option<&str>, paths: &[&str]) -> FileResult {
        let file = match arch {
            Some(a) => format!("{name}:{a}"),
            None => name.to_string(),
        };
        FileResult {
            path: format!("var/lib/dpkg/info/{file}.list"),
            cataloger: "dpkg".into(),
            owned: if paths.is_empty() {
                vec![]
            } else {
                vec![Owned {
                    kind: "deb".into(),
                    name: name.into(),
                    arch: arch.map(str::to_string),
                    db: Some("var/lib/dpkg/status".into()),
                    paths: paths.iter().map(|p| (*p).to_string()).collect(),
                }]
            },
            ..FileResult::default()
        }
    }

    fn owned_by(inv: &Inventory) -> BTreeMap<String, Option<String>> {
        inv.packages
            .iter()
            .filter(|p| p.kind == "python")
            .map(|p| (p.name.clone(), p.owned_by.clone()))
            .collect()
    }

    const SIX: &str = "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO";
    const PKG: &str = "usr/lib/python3/dist-packages/packaging-23.0.dist-info/METADATA";

    #[test]
    fn ownership_follows_the_visible_file_lists() {
        let mut six = pkg("python3-six", "1.16.0-4");
        six.arch = Some("all".into());
        let mut packaging = pkg("python3-packaging", "23.0-1");
        packaging.arch = Some("all".into());
        let l0 = layer(
            vec![
                status(vec![six.clone(), packaging.clone()]),
                list("python3-six", None, &[SIX]),
                // Only the metadata directory is listed: the file inside it counts.
                list(
                    "python3-packaging",
                    None,
                    &["usr/lib/python3/dist-packages/packaging-23.0.dist-info"],
                ),
                py(SIX, "six"),
                py(PKG, "packaging"),
                py(
                    "usr/local/lib/python3.11/site-packages/pip-23.dist-info/METADATA",
                    "pip",
                ),
            ],
            &[],
            &[],
        );
        let inv = merge(std::slice::from_ref(&l0));
        let purl = |name: &str| {
            inv.packages
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.purl.clone())
        };
        let by = owned_by(&inv);
        assert_eq!(by["six"], purl("python3-six"));
        assert!(by["six"].as_deref().unwrap().starts_with("pkg:deb/"));
        assert_eq!(by["packaging"], purl("python3-packaging"));
        assert_eq!(by["pip"], None);
        assert!(inv
            .packages
            .iter()
            .filter(|p| p.kind == "deb")
            .all(|p| p.owned_by.is_none()));

        // A later layer deletes the .list: the ownership goes, both packages stay.
        let l1 = layer(vec![], &["var/lib/dpkg/info/python3-six.list"], &[]);
        let inv = merge(&[l0.clone(), l1]);
        assert_eq!(inv.packages.len(), 5);
        assert_eq!(owned_by(&inv)["six"], None);
        assert!(owned_by(&inv)["packaging"].is_some());

        // A later layer rewrites the .list without the file: gone too.
        let l1 = layer(vec![list("python3-six", None, &[])], &[], &[]);
        assert_eq!(owned_by(&merge(&[l0.clone(), l1]))["six"], None);

        // The OS package is no longer installed (status rewritten): no owner.
        let l1 = layer(vec![status(vec![packaging.clone()])], &[], &[]);
        let inv = merge(&[l0.clone(), l1]);
        assert_eq!(owned_by(&inv)["six"], None);
        // The ownership came with a later layer than the language package: still related.
        let l_py = layer(vec![py(SIX, "six")], &[], &[]);
        let l_os = layer(
            vec![status(vec![six.clone()]), list("python3-six", None, &[SIX])],
            &[],
            &[],
        );
        let inv = merge(&[l_py, l_os]);
        assert!(owned_by(&inv)["six"].is_some());
        let six_pkg = inv.packages.iter().find(|p| p.name == "six").unwrap();
        assert_eq!(six_pkg.layer_index, 0);
    }

    #[test]
    fn arch_qualified_lists_pick_the_matching_package() {
        let mut amd = pkg("python3-x", "1");
        amd.arch = Some("amd64".into());
        let mut arm = pkg("python3-x", "1");
        arm.arch = Some("arm64".into());
        let l0 = layer(
            vec![
                status(vec![amd, arm]),
                list("python3-x", Some("arm64"), &[SIX]),
                py(SIX, "six"),
            ],
            &[],
            &[],
        );
        let inv = merge(&[l0]);
        let owner = owned_by(&inv)["six"].clone().unwrap();
        let arm_purl = &inv
            .packages
            .iter()
            .find(|p| p.arch.as_deref() == Some("arm64"))
            .unwrap()
            .purl;
        assert_eq!(&owner, arm_purl);
        // A list naming an arch nobody has: no owner.
        let l0 = layer(
            vec![
                status(vec![pkg("python3-x", "1")]),
                list("python3-x", Some("s390x"), &[SIX]),
                py(SIX, "six"),
            ],
            &[],
            &[],
        );
        assert_eq!(owned_by(&merge(&[l0]))["six"], None);
    }

    #[test]
    fn same_file_records_for_apk_and_nested_archives() {
        let mut db = FileResult {
            path: "lib/apk/db/installed".into(),
            cataloger: "apk".into(),
            packages: vec![RawPackage {
                kind: "apk".into(),
                name: "py3-six".into(),
                version: "1.16.0-r9".into(),
                ..RawPackage::default()
            }],
            ..FileResult::default()
        };
        db.owned.push(Owned {
            kind: "apk".into(),
            name: "py3-six".into(),
            arch: None,
            db: None,
            paths: vec![SIX.into(), "usr/share/java/a.jar".into()],
        });
        let mut nested = py("usr/share/java/a.jar:lib/b.jar", "b");
        nested.packages[0].kind = "java-archive".into();
        let inv = merge(&[layer(vec![db, py(SIX, "six"), nested], &[], &[])]);
        let apk = inv.packages.iter().find(|p| p.kind == "apk").unwrap();
        for p in inv.packages.iter().filter(|p| p.kind != "apk") {
            assert_eq!(p.owned_by.as_ref(), Some(&apk.purl), "{}", p.name);
        }
    }
}
