//! What a Java archive says about itself: `META-INF/MANIFEST.MF`, `pom.properties`, its file name,
//! and the groupId that can be inferred from them. The rules follow syft's java archive cataloger
//! (observed on syft 1.18.1's output and read in its source); differences are noted where they are.

use std::collections::HashMap;

/// Main-section attributes used to name an archive, in syft's order of preference.
const NAME_FIELDS: &[&str] = &[
    "Name",
    "Bundle-Name",
    "Short-Name",
    "Extension-Name",
    "Implementation-Title",
];
/// Attributes giving the version, in order; each is looked up in the main section, then in the
/// named sections, before the next is tried.
const VERSION_FIELDS: &[&str] = &[
    "Implementation-Version",
    "Specification-Version",
    "Plugin-Version",
    "Bundle-Version",
];
/// Attributes whose values may be a groupId (when they start like a reversed domain).
const PRIMARY_GROUP_FIELDS: &[&str] = &[
    "Bundle-SymbolicName",
    "Extension-Name",
    "Specification-Vendor",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Implementation-Title",
    "Bundle-Activator",
];
const SECONDARY_GROUP_FIELDS: &[&str] = &["Automatic-Module-Name", "Main-Class", "Package"];
/// syft's test for "looks like a groupId": a plain string prefix, so `commons-io` passes too (kept
/// for the same purls; it only ever picks a namespace, never a name or version).
const DOMAINS: &[&str] = &["com", "org", "net", "io", "be"];
/// Values kept per attribute from named sections (a signed jar has one section per class).
const MAX_SECTION_VALUES: usize = 64;

fn kept(key: &str) -> bool {
    key == "Created-By"
        || NAME_FIELDS.contains(&key)
        || VERSION_FIELDS.contains(&key)
        || PRIMARY_GROUP_FIELDS.contains(&key)
        || SECONDARY_GROUP_FIELDS.contains(&key)
}

/// The attributes of a manifest this cataloger uses; everything else is skipped while reading, so
/// memory does not grow with the manifest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Main section (attribute names are compared exactly, as syft does).
    pub main: HashMap<String, String>,
    /// Named sections' values of kept attributes, in file order.
    pub sections: Vec<(String, String)>,
}

impl Manifest {
    /// Parse `MANIFEST.MF`: `Key: value` lines, continuation lines starting with a space (appended
    /// trimmed, as syft does), sections separated by empty lines (a section starts at its first
    /// attribute). Lines without a colon are skipped, as syft skips them.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut m = Manifest::default();
        let mut sections = 0usize;
        // The last attribute read in the current section (any, kept or not) and whether it was
        // kept, so continuation lines go to the right place.
        let mut last: Option<bool> = None;
        let mut last_key = String::new();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                last = None;
                continue;
            }
            if let Some(rest) = line.strip_prefix(' ') {
                if last == Some(true) {
                    let value = if sections == 1 {
                        m.main.get_mut(&last_key)
                    } else {
                        m.sections.last_mut().map(|(_, v)| v)
                    };
                    if let Some(v) = value {
                        v.push_str(rest.trim());
                    }
                }
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let k = k.trim();
            if k.is_empty() {
                continue;
            }
            if last.is_none() {
                sections += 1;
            }
            let keep = kept(k);
            last = Some(keep);
            if !keep {
                continue;
            }
            last_key = k.to_string();
            let v = v.trim().to_string();
            if sections == 1 {
                m.main.insert(k.to_string(), v);
            } else if m.sections.iter().filter(|(sk, _)| sk == k).count() < MAX_SECTION_VALUES {
                m.sections.push((k.to_string(), v));
            } else {
                last = Some(false);
            }
        }
        m
    }

    fn main_value(&self, key: &str) -> Option<&str> {
        self.main
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A value from the main section, else the first non-empty one from a named section.
    fn value(&self, key: &str) -> Option<&str> {
        self.main_value(key).or_else(|| {
            self.sections
                .iter()
                .find(|(k, v)| k == key && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// The artifactId the Apache Maven Bundle Plugin encoded in `Bundle-SymbolicName`
    /// (`groupId.artifactId`): its last dot-separated field, as syft takes it.
    #[must_use]
    pub fn bundle_plugin_name(&self) -> Option<&str> {
        if !self
            .main
            .get("Created-By")
            .is_some_and(|c| c.contains("Apache Maven Bundle Plugin"))
        {
            return None;
        }
        let sym = self.main_value("Bundle-SymbolicName")?;
        if self.main_value("Implementation-Vendor-Id") == Some(sym) {
            return None;
        }
        sym.rsplit('.').next()
    }

    /// The name syft gives an archive from its manifest when its file name does not name it.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        NAME_FIELDS.iter().find_map(|f| self.main_value(f))
    }

    #[must_use]
    pub fn version(&self) -> Option<&str> {
        VERSION_FIELDS.iter().find_map(|f| self.value(f))
    }

    /// The groupId syft infers from a manifest: the alphabetically first candidate among the
    /// primary attributes whose value starts like a domain, else among the secondary ones.
    #[must_use]
    pub fn group_id(&self) -> Option<String> {
        [PRIMARY_GROUP_FIELDS, SECONDARY_GROUP_FIELDS]
            .iter()
            .find_map(|fields| {
                let mut cands: Vec<String> = Vec::new();
                for f in *fields {
                    let main = self.main.get(*f).map(String::as_str);
                    let secs = self
                        .sections
                        .iter()
                        .filter(|(k, _)| k == f)
                        .map(|(_, v)| v.as_str());
                    for v in main.into_iter().chain(secs) {
                        if DOMAINS.iter().any(|d| v.starts_with(d)) {
                            let g = clean_group_id(v);
                            if !g.is_empty() {
                                cands.push(g);
                            }
                        }
                    }
                }
                cands.into_iter().min()
            })
    }
}

/// Spring Framework's modules: built with Gradle, their jars carry no `pom.properties`, and
/// advisories (Spring4Shell, ...) name them by groupId.
const SPRING_FRAMEWORK: &[&str] = &[
    "spring-aop",
    "spring-aspects",
    "spring-beans",
    "spring-context",
    "spring-context-indexer",
    "spring-context-support",
    "spring-core",
    "spring-expression",
    "spring-instrument",
    "spring-jcl",
    "spring-jdbc",
    "spring-jms",
    "spring-messaging",
    "spring-orm",
    "spring-oxm",
    "spring-r2dbc",
    "spring-test",
    "spring-tx",
    "spring-web",
    "spring-webflux",
    "spring-webmvc",
    "spring-websocket",
];

/// The groupId of a well-known artifact that is commonly shipped without `pom.properties`. syft
/// keeps a generated table of about 4,000 artifactIds for this; ours is a short hand-written list
/// of the families whose jars lack the file (Spring's, built with Gradle).
#[must_use]
pub fn known_group_id(artifact: &str) -> Option<&'static str> {
    if artifact.starts_with("spring-boot") {
        Some("org.springframework.boot")
    } else if artifact.starts_with("spring-security-") {
        Some("org.springframework.security")
    } else if artifact.starts_with("spring-data-") {
        Some("org.springframework.data")
    } else if SPRING_FRAMEWORK.contains(&artifact) {
        Some("org.springframework")
    } else {
        None
    }
}

/// Drop OSGi directives (`org.foo;singleton:=true`) and `#` suffixes, trim.
#[must_use]
pub fn clean_group_id(g: &str) -> String {
    let g = g.split(';').next().unwrap_or("");
    let g = g.split('#').next().unwrap_or("");
    g.trim().to_string()
}

/// `pom.properties`: the coordinates Maven records for each artifact it packages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PomProperties {
    pub group_id: String,
    pub artifact_id: String,
    pub version: String,
}

impl PomProperties {
    /// Parse `key=value` / `key:value` lines (`#` comments); keys are matched without regard to
    /// case, as syft's decoder does. A line with neither separator makes the file unreadable, as
    /// in syft.
    ///
    /// # Errors
    /// The offending line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = PomProperties::default();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.trim_start_matches(' ').starts_with('#') {
                continue;
            }
            let Some(i) = line.find(['=', ':']) else {
                let shown: String = line.chars().take(60).collect();
                return Err(format!("pom.properties line without '=' or ':': {shown:?}"));
            };
            let (k, v) = (line[..i].trim(), line[i + 1..].trim());
            if k.eq_ignore_ascii_case("groupId") {
                p.group_id = v.to_string();
            } else if k.eq_ignore_ascii_case("artifactId") {
                p.artifact_id = v.to_string();
            } else if k.eq_ignore_ascii_case("version") {
                p.version = v.to_string();
            }
        }
        Ok(p)
    }

    /// The groupId syft uses for these coordinates: the groupId, else an artifactId that looks
    /// like one (contains a dot), else a well-known artifact's.
    #[must_use]
    pub fn group(&self) -> Option<String> {
        if !self.group_id.is_empty() {
            return Some(clean_group_id(&self.group_id)).filter(|g| !g.is_empty());
        }
        if self.artifact_id.contains('.') {
            return Some(clean_group_id(&self.artifact_id)).filter(|g| !g.is_empty());
        }
        known_group_id(&self.artifact_id).map(str::to_string)
    }
}

/// Name and version read from an archive's file name (`commons-io-2.11.0.jar`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileName {
    pub name: String,
    pub version: String,
}

/// The name syft takes from a file name: a dotted name is read as `groupId.artifactId` and its
/// last field kept, except under `org.eclipse.` (whose artifactIds contain dots).
#[must_use]
pub fn name_from_file_name(f: &FileName) -> &str {
    if f.name.contains('.') && !f.name.starts_with("org.eclipse.") {
        return f.name.rsplit('.').next().unwrap_or("");
    }
    &f.name
}

/// A version part of a file name: starts with a digit, or `build` + digits, or is `r`/`rc` +
/// digits (syft's pattern; `case_insensitive` for its first pattern only). No newline (`.` in the
/// pattern does not match one).
fn version_ok(v: &str, case_insensitive: bool) -> bool {
    let b = v.as_bytes();
    if b.is_empty() || b.contains(&b'\n') {
        return false;
    }
    if b[0].is_ascii_digit() {
        return true;
    }
    let lower = |s: &[u8]| -> Vec<u8> {
        if case_insensitive {
            s.to_ascii_lowercase()
        } else {
            s.to_vec()
        }
    };
    let head = lower(&b[..b.len().min(5)]);
    if head == b"build" && b.get(5).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    let l = lower(b);
    let digits = if l.starts_with(b"rc") {
        &l[2..]
    } else if l.starts_with(b"r") {
        &l[1..]
    } else {
        return false;
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// syft's archive file-name pattern, evaluated directly: the name is the shortest prefix made of
/// words (a letter, then letters, digits, `_`, `.`) joined by single dashes such that the rest is
/// empty or `-` + a version. When no version follows, a version after the last-resort separators
/// `.`, `_` or `-` inside the name is split off (`mytool_1.2`).
#[must_use]
pub fn parse_file_name(path: &str) -> FileName {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.rfind('.').map_or(base, |i| &base[..i]);
    let b = stem.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    let mut found: Option<(usize, bool)> = None;
    if b.first().is_some_and(u8::is_ascii_alphabetic) {
        // Walk the prefix while it is still a valid name; try each end position in order.
        for p in 1..=b.len() {
            let c = b[p - 1];
            let valid = if c == b'-' {
                // A dash is fine only after a word character (no `--`, not first).
                p >= 2 && word(b[p - 2])
            } else if word(c) {
                // After a dash a new word must start with a letter.
                p < 2 || b[p - 2] != b'-' || c.is_ascii_alphabetic()
            } else {
                false
            };
            if !valid {
                break;
            }
            if p == b.len() {
                found = Some((p, false));
                break;
            }
            if b[p] == b'-' && version_ok(&stem[p + 1..], true) {
                found = Some((p, true));
                break;
            }
        }
    }
    let Some((p, has_version)) = found else {
        return FileName::default();
    };
    let mut name = stem[..p].to_string();
    let mut version = if has_version {
        stem[p + 1..].to_string()
    } else {
        String::new()
    };
    if version.is_empty() {
        let nb = name.as_bytes();
        if let Some(q) = (0..nb.len())
            .find(|&q| matches!(nb[q], b'.' | b'_' | b'-') && version_ok(&name[q + 1..], false))
        {
            version = name[q + 1..].to_string();
            name.truncate(q);
        }
    }
    FileName { name, version }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fname(s: &str) -> (String, String) {
        let f = parse_file_name(s);
        (f.name, f.version)
    }

    #[test]
    fn file_names_as_syft_reads_them() {
        let cases = [
            ("guava-31.1-jre.jar", "guava", "31.1-jre"),
            (
                "example-java-app-maven-0.1.0.jar",
                "example-java-app-maven",
                "0.1.0",
            ),
            ("example-jenkins-plugin.hpi", "example-jenkins-plugin", ""),
            ("some-package-4.0.1.jar", "some-package", "4.0.1"),
            ("prefix.thing-4.jar", "prefix.thing", "4"),
            ("my-http2-server-5.jar", "my-http2-server", "5"),
            ("jetpack-build235-rc5.jar", "jetpack", "build235-rc5"),
            ("ironman-r4-2009.jar", "ironman-r4", "2009"),
            ("pkg-v1.2.3.jar", "pkg-v1", "2.3"),
            ("lib-1.0_beta.jar", "lib", "1.0_beta"),
            ("x-Build7-z.jar", "x", "Build7-z"),
            ("x-rc3a.jar", "x-rc3a", ""),
            ("my_lib_v2.jar", "my_lib_v2", ""),
            ("log4j-core-2.14.1.jar", "log4j-core", "2.14.1"),
            ("mytool_1.2.jar", "mytool", "1.2"),
            ("cont-x.jar", "cont-x", ""),
            ("nover.jar", "nover", ""),
            ("+++.jar", "", ""),
            ("foo--1.0.jar", "foo-", "1.0"),
            ("lib/WEB-INF/lib/deep3-3.jar", "deep3", "3"),
            (
                "spring-core-5.3.20.RELEASE.jar",
                "spring-core",
                "5.3.20.RELEASE",
            ),
            ("name-rest-1.0.jar", "name-rest", "1.0"),
            ("Nomatch-5.jar", "Nomatch", "5"),
            (".jar", "", ""),
            ("a-RC1.jar", "a", "RC1"),
            ("foo.bar.1.0.jar", "foo.bar", "1.0"),
        ];
        for (input, n, v) in cases {
            assert_eq!(fname(input), (n.to_string(), v.to_string()), "{input}");
        }
    }

    #[test]
    fn manifest_fields_and_continuations() {
        let m = Manifest::parse(
            "Manifest-Version: 1.0\r\nImplementation-Title: a-very-long-na\r\n me\r\n\
             Bundle-SymbolicName: org.x.y;singleton:=true\r\nno colon line\r\n\r\n\
             Name: sec\r\nImplementation-Version: 4\r\n",
        );
        assert_eq!(m.name(), Some("a-very-long-name"));
        assert_eq!(m.version(), Some("4"));
        assert_eq!(m.group_id().as_deref(), Some("org.x.y"));
        let m = Manifest::parse("Specification-Vendor: io.vendor\nImplementation-Vendor-Id: net.vid\nImplementation-Vendor: Apache\n");
        assert_eq!(m.group_id().as_deref(), Some("io.vendor"));
        let m = Manifest::parse("Main-Class: com.example.Main\n");
        assert_eq!(m.group_id().as_deref(), Some("com.example.Main"));
        // Hostile: a huge manifest keeps only a bounded number of named-section values.
        let big = "Implementation-Vendor: com.x\n\n".repeat(100_000);
        let m = Manifest::parse(&big);
        assert!(m.sections.len() <= MAX_SECTION_VALUES);
    }

    #[test]
    fn pom_properties() {
        let p = PomProperties::parse(
            "#Generated\ngroupId=com.google.guava\r\nartifactId=guava\nversion=31.1-jre\n",
        )
        .unwrap();
        assert_eq!(p.group().as_deref(), Some("com.google.guava"));
        assert_eq!(
            (p.artifact_id.as_str(), p.version.as_str()),
            ("guava", "31.1-jre")
        );
        assert!(PomProperties::parse("version   8\n").is_err());
        let p = PomProperties::parse("artifactId=com.looks.like\nversion=8").unwrap();
        assert_eq!(p.group().as_deref(), Some("com.looks.like"));
    }
}
