//! `pom.xml`: the project itself and the dependencies it declares, as syft's java-pom-cataloger
//! reports them from a directory (1.18.1: the project, then every `<dependency>` of
//! `<dependencies>` and of each profile's `<dependencies>`, every scope; not plugin dependencies;
//! a missing version is looked up in the same file's `<dependencyManagement>`).
//!
//! Properties (`${name}`) are resolved from `<properties>` and the `project.*` / `parent.*`
//! expressions, recursively to a small depth. Parent POMs and BOM imports are not fetched (syft
//! does not fetch them by default either). Where syft differs, on purpose:
//! - a version that cannot be resolved is reported empty; syft reports `UNKNOWN`, which a Maven
//!   comparator would order below every release and so match every advisory range;
//! - names and versions are trimmed (syft keeps surrounding white space);
//! - `${project.groupId}` falls back to the parent's groupId, as Maven's inheritance does.
//!
//! Reading is streaming (quick-xml, which expands no DTD entities), with a nesting cap.

use crate::catalog::{too_many_packages, MAX_PACKAGES_PER_FILE};
use crate::model::RawPackage;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use std::collections::HashMap;

/// Deeper element nesting than this is not a POM.
const MAX_DEPTH: usize = 64;
/// Longest text kept per element; longer values are cut (no real coordinate is this long).
const MAX_TEXT: usize = 4096;
const MAX_PROPERTIES: usize = 10_000;
/// How deep `${a}` -> `${b}` -> ... is followed.
const MAX_RESOLVE_DEPTH: usize = 10;

#[derive(Default, Debug, Clone)]
struct Coord {
    group: String,
    artifact: String,
    version: String,
}

#[derive(Default, Debug)]
struct Pom {
    project: Coord,
    parent: Coord,
    properties: HashMap<String, String>,
    dependencies: Vec<Coord>,
    managed: Vec<Coord>,
}

/// Which list a `<dependency>` belongs to, from its element path.
fn dependency_list(path: &[Vec<u8>]) -> Option<bool> {
    let p: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
    match p.as_slice() {
        [b"project", b"dependencies", b"dependency"]
        | [b"project", b"profiles", b"profile", b"dependencies", b"dependency"] => Some(false),
        [b"project", b"dependencyManagement", b"dependencies", b"dependency"] => Some(true),
        _ => None,
    }
}

fn set_field(c: &mut Coord, field: &[u8], text: String) {
    match field {
        b"groupId" => c.group = text,
        b"artifactId" => c.artifact = text,
        b"version" => c.version = text,
        _ => {}
    }
}

fn parse_xml(text: &str) -> Result<Pom, String> {
    let mut r = Reader::from_str(text);
    r.config_mut().check_end_names = true;
    let mut pom = Pom::default();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut buf_text = String::new();
    // The dependency being read and which list it goes to.
    let mut dep: Option<(bool, Coord)> = None;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("not a readable pom.xml: {e}"))?;
        match ev {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                path.push(e.local_name().as_ref().to_vec());
                buf_text.clear();
                if let Some(managed) = dependency_list(&path) {
                    dep = Some((managed, Coord::default()));
                }
            }
            Event::Empty(_) => buf_text.clear(),
            Event::Text(t) => {
                let s = t.unescape().map_or_else(
                    |_| String::from_utf8_lossy(t.as_ref()).into_owned(),
                    std::borrow::Cow::into_owned,
                );
                push_text(&mut buf_text, &s);
            }
            Event::CData(c) => push_text(&mut buf_text, &String::from_utf8_lossy(c.as_ref())),
            Event::End(_) => {
                let value = buf_text.trim().to_string();
                buf_text.clear();
                let p: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
                match p.as_slice() {
                    [b"project", f] => set_field(&mut pom.project, f, value),
                    [b"project", b"parent", f] => set_field(&mut pom.parent, f, value),
                    [b"project", b"properties", name] if pom.properties.len() < MAX_PROPERTIES => {
                        pom.properties
                            .insert(String::from_utf8_lossy(name).into_owned(), value);
                    }
                    [.., b"dependency", f] => {
                        if let Some((_, c)) = dep.as_mut() {
                            set_field(c, f, value);
                        }
                    }
                    _ => {}
                }
                if dependency_list(&path).is_some() {
                    if let Some((managed, c)) = dep.take() {
                        let list = if managed {
                            &mut pom.managed
                        } else {
                            &mut pom.dependencies
                        };
                        if list.len() >= MAX_PACKAGES_PER_FILE {
                            return Err(too_many_packages());
                        }
                        list.push(c);
                    }
                }
                path.pop();
            }
            Event::Eof => {
                if !path.is_empty() {
                    return Err("not a readable pom.xml: ends inside an element".into());
                }
                break;
            }
            _ => {}
        }
    }
    Ok(pom)
}

fn push_text(buf: &mut String, s: &str) {
    if buf.len() < MAX_TEXT {
        let room = MAX_TEXT - buf.len();
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        buf.push_str(&s[..end]);
    }
}

impl Pom {
    fn group(&self) -> &str {
        if self.project.group.is_empty() {
            &self.parent.group
        } else {
            &self.project.group
        }
    }
    fn version(&self) -> &str {
        if self.project.version.is_empty() {
            &self.parent.version
        } else {
            &self.project.version
        }
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.properties.get(name) {
            return Some(v);
        }
        let v = match name {
            "project.version" | "pom.version" | "version" => self.version(),
            "project.groupId" | "pom.groupId" | "groupId" => self.group(),
            "project.artifactId" | "pom.artifactId" | "artifactId" => &self.project.artifact,
            "project.parent.version" | "parent.version" => &self.parent.version,
            "project.parent.groupId" | "parent.groupId" => &self.parent.group,
            "project.parent.artifactId" | "parent.artifactId" => &self.parent.artifact,
            _ => return None,
        };
        Some(v)
    }

    /// `s` with every `${...}` replaced, or `None` if one cannot be resolved.
    fn resolve(&self, s: &str, depth: usize) -> Option<String> {
        if !s.contains("${") {
            return Some(s.to_string());
        }
        if depth >= MAX_RESOLVE_DEPTH {
            return None;
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after.find('}')?;
            let value = self.lookup(after[..j].trim())?;
            out.push_str(&self.resolve(value, depth + 1)?);
            if out.len() > MAX_TEXT {
                return None;
            }
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn package(&self, c: &Coord, version: Option<String>) -> Option<RawPackage> {
        let name = c.artifact.trim();
        if name.is_empty() {
            return None;
        }
        let version = version.unwrap_or_default().trim().to_string();
        let group = self
            .resolve(&c.group, 0)
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            // As syft's purls: with no groupId the artifactId stands in.
            .unwrap_or_else(|| name.to_string());
        Some(RawPackage {
            kind: "java-archive".into(),
            name: name.to_string(),
            version,
            namespace: Some(group),
            ..RawPackage::default()
        })
    }
}

/// Packages of one `pom.xml`: the project, then its declared dependencies.
///
/// # Errors
/// XML that cannot be read, nesting past the cap, too many dependencies.
pub fn parse(text: &str) -> Result<Vec<RawPackage>, String> {
    let pom = parse_xml(text)?;
    let mut out = Vec::new();
    let project = Coord {
        group: pom.group().to_string(),
        artifact: pom.project.artifact.clone(),
        version: pom.version().to_string(),
    };
    out.extend(pom.package(&project, pom.resolve(&project.version, 0)));
    for d in &pom.dependencies {
        let version = if d.version.is_empty() {
            let group = pom.resolve(&d.group, 0);
            pom.managed
                .iter()
                .find(|m| m.artifact == d.artifact && pom.resolve(&m.group, 0) == group)
                .and_then(|m| pom.resolve(&m.version, 0))
        } else {
            pom.resolve(&d.version, 0)
        };
        out.extend(pom.package(d, version));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nv(p: &[RawPackage]) -> Vec<(String, String, String)> {
        p.iter()
            .map(|p| {
                (
                    p.namespace.clone().unwrap_or_default(),
                    p.name.clone(),
                    p.version.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn project_dependencies_properties_and_management() {
        let pom = r#"<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><groupId>org.par</groupId><artifactId>parent-art</artifactId><version>9.9</version></parent>
  <artifactId>child-app</artifactId>
  <properties><lib.version>1.2.3</lib.version><nested>${lib.version}</nested><loop>${loop}</loop></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>com.m</groupId><artifactId>managed</artifactId><version>4.5</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>com.x</groupId><artifactId>a</artifactId><version>${lib.version}</version></dependency>
    <dependency><groupId>com.x</groupId><artifactId>b</artifactId><version>${nested}</version><scope>test</scope></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>c</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>com.m</groupId><artifactId>managed</artifactId></dependency>
    <dependency><groupId>com.x</groupId><artifactId>unresolved</artifactId><version>${nope}</version></dependency>
    <dependency><groupId>com.x</groupId><artifactId>looping</artifactId><version>${loop}</version></dependency>
    <dependency><artifactId>nogroup</artifactId><version>&#49;.0</version></dependency>
    <dependency><groupId>com.x</groupId><version>1</version></dependency>
  </dependencies>
  <build><plugins><plugin><artifactId>p</artifactId><version>1</version>
    <dependencies><dependency><groupId>pd</groupId><artifactId>plugin-dep</artifactId><version>1</version></dependency></dependencies>
  </plugin></plugins></build>
  <profiles><profile><dependencies><dependency><groupId>pr</groupId><artifactId>profile-dep</artifactId><version><![CDATA[5]]></version></dependency></dependencies></profile></profiles>
</project>"#;
        let got = nv(&parse(pom).unwrap());
        let want: Vec<(String, String, String)> = [
            ("org.par", "child-app", "9.9"),
            ("com.x", "a", "1.2.3"),
            ("com.x", "b", "1.2.3"),
            ("org.par", "c", "9.9"),
            ("com.m", "managed", "4.5"),
            ("com.x", "unresolved", ""),
            ("com.x", "looping", ""),
            ("nogroup", "nogroup", "1.0"),
            ("pr", "profile-dep", "5"),
        ]
        .iter()
        .map(|(a, b, c)| ((*a).to_string(), (*b).to_string(), (*c).to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hostile_poms_are_errors() {
        assert!(parse("<project><artifactId>x</artifactId>").is_err());
        assert!(parse("<project><a></b></project>").is_err());
        let deep = "<a>".repeat(100_000);
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        // Entity declarations are not expanded (no billion laughs).
        let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<project><artifactId>x</artifactId><version>&lol2;</version></project>"#;
        let p = parse(lol).unwrap();
        assert!(p[0].version.len() < 20, "{:?}", p[0].version);
        // A huge text value is cut, not kept whole.
        let huge = format!(
            "<project><artifactId>x</artifactId><version>{}</version></project>",
            "9".repeat(1 << 20)
        );
        assert!(parse(&huge).unwrap()[0].version.len() <= MAX_TEXT);
        assert!(parse("not xml at all").unwrap().is_empty());
    }
}
