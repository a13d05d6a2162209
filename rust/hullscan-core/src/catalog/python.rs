//! Python: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and single-file `*.egg-info`, anywhere.

use super::{field, for_each_stanza, Cataloger};
use crate::model::{FileResult, RawPackage};
use crate::paths;
use std::ops::ControlFlow;

pub struct PythonCataloger;

impl Cataloger for PythonCataloger {
    fn name(&self) -> &'static str {
        "python"
    }
    fn version(&self) -> u32 {
        // 2: also *dist-info / *egg-info directories without the dot, as syft reads them.
        2
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "**/*.dist-info/METADATA",
            "**/*.egg-info/PKG-INFO",
            "**/*.egg-info",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        let (dir, file) = paths::split(path);
        // Like syft: any directory whose name ends in "dist-info" / "egg-info" (installers always
        // write NAME-VERSION.dist-info; the looser match costs nothing and agrees with syft).
        let last = paths::split(dir).1;
        match file {
            "METADATA" => last.ends_with("dist-info"),
            "PKG-INFO" => last.ends_with("egg-info"),
            f => f.ends_with(".egg-info") && f.len() > ".egg-info".len(),
        }
    }
    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let text = super::text(data);
        // Only the header block counts: the body (after the first blank line) is the description.
        let header = text.split("\n\n").next().unwrap_or("");
        let mut packages = Vec::new();
        for_each_stanza(
            header,
            &["Name", "Version", "License", "License-Expression"],
            |f| {
                if let (Some(name), Some(version)) = (field(f, "Name"), field(f, "Version")) {
                    let license = field(f, "License-Expression")
                        .or_else(|| {
                            field(f, "License").filter(|l| !l.contains('\n') && l.len() < 200)
                        })
                        .filter(|l| !l.eq_ignore_ascii_case("UNKNOWN"))
                        .map(str::to_string);
                    packages.push(RawPackage {
                        kind: "python".into(),
                        name: name.to_string(),
                        version: version.to_string(),
                        epoch: None,
                        source_name: None,
                        source_version: None,
                        arch: None,
                        license,
                        namespace: None,
                        ..RawPackage::default()
                    });
                }
                // One package per metadata file: its first stanza.
                ControlFlow::Break(())
            },
        );
        if packages.is_empty() {
            return Err("no Name and Version in the metadata header".into());
        }
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            ..FileResult::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants() {
        let c = PythonCataloger;
        assert!(c.wants("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"));
        assert!(c.wants("opt/app/foo.egg-info/PKG-INFO"));
        assert!(c.wants("usr/lib/python3/dist-packages/foo-1.0.egg-info"));
        assert!(!c.wants("METADATA"));
        assert!(!c.wants("x/.egg-info"));
        assert!(c.wants("python/dist-info/METADATA"));
        assert!(!c.wants("python/dist-info-x/METADATA"));
    }

    #[test]
    fn metadata() {
        let r = PythonCataloger
            .parse(
                "a.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\n\nName: not-this\n",
            )
            .unwrap();
        assert_eq!(r.packages.len(), 1);
        assert_eq!(r.packages[0].name, "requests");
        assert_eq!(r.packages[0].license.as_deref(), Some("Apache-2.0"));
    }
}
