//! Version schemes. Each scheme turns a version string into an order-preserving byte *key*:
//! `key(a).cmp(&key(b))` is the scheme's comparison of `a` and `b`, and equal versions (`1.0` and
//! `1.0.0` in PEP 440) have equal keys. The advisory index stores range bounds as keys, so a
//! range check at match time is a `memcmp`, and the index needs no parsing when it is loaded.
//!
//! Each scheme lives in one file with two functions:
//! - `key(&str) -> Result<Vec<u8>, String>`: the key, or why the string is not a version of the
//!   scheme;
//! - `satisfies(version, range) -> Result<bool, String>`: the scheme's own range syntax (npm
//!   ranges, PEP 440 specifiers, Maven `[1.0,2.0)`, ...), for library users and the upstream range
//!   vectors. OSV ranges (events) are evaluated on keys by the matcher, not here.
//!
//! Adding a scheme is one file, one arm in [`Scheme`], and its comparison fixture.

use std::cmp::Ordering;

pub mod apk;
pub mod composer;
pub mod deb;
pub mod gem;
pub mod go;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod semver;

/// A string that is not a version (or range) of a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {scheme} version: {reason}")]
pub struct VersionError {
    pub scheme: &'static str,
    pub input: String,
    pub reason: String,
}

/// The version schemes hullscan compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Deb,
    Apk,
    Rpm,
    Pep440,
    Semver,
    Go,
    Maven,
    Gem,
    Nuget,
    Composer,
}

impl Scheme {
    pub const ALL: [Scheme; 10] = [
        Scheme::Deb,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::Gem,
        Scheme::Nuget,
        Scheme::Composer,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Deb => "deb",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Gem => "gem",
            Scheme::Nuget => "nuget",
            Scheme::Composer => "composer",
        }
    }

    /// A scheme by its name or by an OSV ecosystem name (`Debian:12`, `Alpine:v3.20`, `PyPI`,
    /// `npm`, `crates.io`, `Go`, `Maven`, `RubyGems`, `NuGet`, `Packagist`, `Red Hat:9`, ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Scheme> {
        if let Some(s) = Scheme::ALL.iter().find(|s| s.name() == name) {
            return Some(*s);
        }
        let base = name.split(':').next().unwrap_or(name);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Deb,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "Amazon Linux" | "CentOS" | "Fedora"
            | "openSUSE" | "SUSE" | "Mariner" | "Azure Linux" | "openEuler" | "rpm" => Scheme::Rpm,
            "PyPI" | "python" => Scheme::Pep440,
            "npm" | "crates.io" | "cargo" => Scheme::Semver,
            "Go" | "golang" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" | "gem" => Scheme::Gem,
            "NuGet" => Scheme::Nuget,
            "Packagist" => Scheme::Composer,
            _ => return None,
        })
    }

    /// The order-preserving key of `version`.
    ///
    /// # Errors
    /// [`VersionError`] when `version` is not a version of this scheme.
    pub fn key(self, version: &str) -> Result<Vec<u8>, VersionError> {
        let r = match self {
            Scheme::Deb => deb::key(version),
            Scheme::Apk => apk::key(version),
            Scheme::Rpm => rpm::key(version),
            Scheme::Pep440 => pep440::key(version),
            Scheme::Semver => semver::key(version),
            Scheme::Go => go::key(version),
            Scheme::Maven => maven::key(version),
            Scheme::Gem => gem::key(version),
            Scheme::Nuget => nuget::key(version),
            Scheme::Composer => composer::key(version),
        };
        r.map_err(|reason| self.error(version, reason))
    }

    /// Compare two versions of this scheme.
    ///
    /// # Errors
    /// [`VersionError`] when either is not a version of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.key(a)?.cmp(&self.key(b)?))
    }

    /// Whether `version` satisfies `range`, written in the scheme's own range syntax.
    ///
    /// # Errors
    /// [`VersionError`] when the version or the range is not valid for this scheme.
    pub fn satisfies(self, version: &str, range: &str) -> Result<bool, VersionError> {
        let r = match self {
            Scheme::Deb => deb::satisfies(version, range),
            Scheme::Apk => apk::satisfies(version, range),
            Scheme::Rpm => rpm::satisfies(version, range),
            Scheme::Pep440 => pep440::satisfies(version, range),
            Scheme::Semver => semver::satisfies(version, range),
            Scheme::Go => go::satisfies(version, range),
            Scheme::Maven => maven::satisfies(version, range),
            Scheme::Gem => gem::satisfies(version, range),
            Scheme::Nuget => nuget::satisfies(version, range),
            Scheme::Composer => composer::satisfies(version, range),
        };
        r.map_err(|reason| self.error(&format!("{version} / {range}"), reason))
    }

    fn error(self, input: &str, reason: String) -> VersionError {
        VersionError {
            scheme: self.name(),
            input: input.to_string(),
            reason,
        }
    }
}

/// Order-preserving encoding of an unsigned decimal digit string (leading zeros ignored): a length
/// byte, then the digits. Shared by schemes whose numeric parts compare by value.
///
/// # Errors
/// When the number has more than 255 significant digits.
pub fn push_number(out: &mut Vec<u8>, digits: &str) -> Result<(), String> {
    let sig = digits.trim_start_matches('0');
    let len = u8::try_from(sig.len()).map_err(|_| format!("number {digits:?} is too long"))?;
    out.push(len);
    out.extend_from_slice(sig.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Scheme::from_name("Debian:12"), Some(Scheme::Deb));
        assert_eq!(Scheme::from_name("Alpine:v3.20"), Some(Scheme::Apk));
        assert_eq!(Scheme::from_name("PyPI"), Some(Scheme::Pep440));
        assert_eq!(Scheme::from_name("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::from_name("maven"), Some(Scheme::Maven));
        assert_eq!(Scheme::from_name("nope"), None);
    }

    #[test]
    fn numbers() {
        let mut a = Vec::new();
        push_number(&mut a, "0010").unwrap();
        let mut b = Vec::new();
        push_number(&mut b, "9").unwrap();
        assert!(a > b);
    }
}
