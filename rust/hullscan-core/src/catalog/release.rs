//! Release files: os-release and the distro-specific ones.

use super::Cataloger;
use crate::model::FileResult;
use std::collections::BTreeMap;

pub struct ReleaseCataloger;

const FILES: &[(&str, &str)] = &[
    ("etc/os-release", ""),
    ("usr/lib/os-release", ""),
    ("etc/alpine-release", "ALPINE_RELEASE"),
    ("etc/debian_version", "DEBIAN_VERSION"),
    ("etc/system-release", "SYSTEM_RELEASE"),
    ("etc/redhat-release", "REDHAT_RELEASE"),
];

impl Cataloger for ReleaseCataloger {
    fn name(&self) -> &'static str {
        "release"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "etc/os-release",
            "usr/lib/os-release",
            "etc/alpine-release",
            "etc/debian_version",
            "etc/system-release",
            "etc/redhat-release",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        FILES.iter().any(|(p, _)| *p == path)
    }
    fn max_size(&self) -> u64 {
        64 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let text = super::text(data);
        let key = FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map_or("", |(_, k)| *k);
        let mut map = BTreeMap::new();
        if key.is_empty() {
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with('#') {
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    map.insert(k.trim().to_string(), unquote(v.trim()));
                }
            }
        } else {
            let first = text.lines().next().unwrap_or("").trim().to_string();
            if !first.is_empty() {
                map.insert(key.to_string(), first);
            }
        }
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            release: Some(map),
            ..FileResult::default()
        })
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release() {
        let r = ReleaseCataloger
            .parse(
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n# c\nPRETTY_NAME='x \\\"y\\\"'\n",
            )
            .unwrap();
        let m = r.release.unwrap();
        assert_eq!(m["ID"], "alpine");
        assert_eq!(m["VERSION_ID"], "3.20.3");
        assert_eq!(m["NAME"], "Alpine Linux");
        assert_eq!(m["PRETTY_NAME"], "x \"y\"");
    }
}
