//! The values that cross from the core to its callers. Everything here is plain data with serde,
//! so a layer result can be cached on disk and an inventory handed to Python as JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A package as one cataloger found it in one file, before the image's distro is known.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawPackage {
    /// What found it, and so its ecosystem: `apk`, `deb`, `rpm`, `python`, `npm`, `go-module`,
    /// `java-archive`, `rust-crate`, `gem`, `php-composer`, `dotnet`.
    pub kind: String,
    pub name: String,
    /// The full comparable version: dpkg `[epoch:]upstream[-revision]`, apk `1.2.3-r0`,
    /// rpm `[epoch:]version-release`, PEP 440 as written for Python.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The package's namespace where its ecosystem has one apart from the name: the Maven
    /// `groupId` (npm scopes, Go module paths and Composer vendors stay part of the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Where inside the file the package was found, when that is not the file itself: the path of
    /// a nested archive (`WEB-INF/lib/a.jar`, levels joined by `:`). The package's location is
    /// then `/file:inner_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_path: Option<String>,
}

/// What one cataloger made of one file.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct FileResult {
    pub path: String,
    pub cataloger: String,
    #[serde(default)]
    pub packages: Vec<RawPackage>,
    /// Key/value facts from a release file (os-release keys, or `ALPINE_RELEASE`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<BTreeMap<String, String>>,
    /// Problems inside the file that did not stop it from being read (a corrupt archive nested in
    /// a good one, a limit reached); merged into the inventory's warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Files an OS package database says its packages installed, kept only where a language
    /// cataloger reads (see [`crate::catalog::owned_path_matters`]): what relates a language package
    /// to the OS package that installed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned: Vec<Owned>,
}

/// Paths one OS package owns, as its package database lists them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned {
    /// `deb`, `apk` or `rpm`: the [`RawPackage::kind`] of the owner.
    pub kind: String,
    /// The owning package's name.
    pub name: String,
    /// Its architecture when the database says (dpkg `NAME:ARCH.list`, rpm); `None` matches any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Root-relative path of the database file that lists the owner as installed (dpkg's
    /// `var/lib/dpkg/status` for a `.list` file); `None` for the file that carries this record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Root-relative, normalised paths, sorted and without duplicates.
    pub paths: Vec<String>,
}

/// Everything a layer contributes: its cataloged files and what it deletes from lower layers.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct LayerResult {
    /// `sha256:...` of the blob as stored (compressed).
    pub digest: String,
    /// `sha256:...` of the uncompressed tar stream.
    pub diff_id: String,
    /// `gzip`, `zstd`, `none`, or `dir` for a root filesystem.
    pub compression: String,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub files: Vec<FileResult>,
    /// Paths removed by `.wh.NAME` entries.
    pub whiteouts: Vec<String>,
    /// Directories made opaque by `.wh..wh..opq` entries.
    pub opaque_dirs: Vec<String>,
    pub warnings: Vec<String>,
    /// `name=version` of every cataloger that read this layer (part of the cache key).
    pub catalogers: Vec<String>,
    /// Whether file contents were searched for secrets ([`crate::Limits::secrets`]).
    #[serde(default)]
    pub secrets_searched: bool,
    /// Secrets found in this layer's files (masked), when searched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretFinding>,
}

/// A secret in a layer's file, reported by rule, path and line; the value itself is masked.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFinding {
    /// Root-relative path of the file.
    pub path: String,
    /// The rule's id (`aws-access-key-id`, `private-key`, ...).
    pub rule: String,
    pub title: String,
    pub severity: String,
    /// 1-based line of the match.
    pub line: u64,
    /// The match with all but a public prefix masked (`AKIA****`).
    pub masked: String,
}

/// The distribution of the squashed image.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Distro {
    /// os-release `ID` (`alpine`, `debian`, `ubuntu`, `amzn`, `rhel`, ...).
    pub id: String,
    pub version_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// OSV ecosystem for OS packages (`Alpine:v3.20`, `Debian:12`, `Ubuntu:22.04:LTS`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// The file the facts came from.
    pub source_file: String,
}

/// A package of the squashed image.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub kind: String,
    pub ecosystem: String,
    pub purl: String,
    #[serde(default)]
    pub epoch: Option<u64>,
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default)]
    pub source_version: Option<String>,
    #[serde(default)]
    pub arch: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    /// The Maven `groupId` (see [`RawPackage::namespace`]).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Index into the inventory's layers of the layer that introduced this package.
    pub layer_index: usize,
    pub layer_diff_id: String,
    pub layer_digest: String,
    /// Files (absolute paths in the image) the package was found in.
    pub locations: Vec<String>,
    /// The purl of the OS package (deb, apk, rpm) whose database lists one of this language
    /// package's locations, or the metadata directory holding it, among its files: syft's
    /// `ownership-by-file-overlap` relationship, parent -> this package. The first purl in order
    /// when several own it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// The squashed result of merging layer results in order.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Inventory {
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    pub warnings: Vec<String>,
}
