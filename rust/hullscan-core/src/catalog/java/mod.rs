//! Java: archives (`*.jar`, `*.war`, `*.ear`, `*.par`, `*.sar`, `*.nar`, `*.jpi`, `*.hpi`,
//! `*.kar`, `*.lpkg`, anywhere, with the archives nested in them) and `pom.xml` files.
//!
//! Packages are of kind `java-archive` (ecosystem Maven) with the groupId as namespace. A package
//! found in a nested archive carries that archive's path inside the file (`WEB-INF/lib/a.jar`,
//! levels joined by `:`) as [`RawPackage::inner_path`], so its location reads
//! `/app/x.war:WEB-INF/lib/a.jar`, as syft writes it.

pub mod archive;
pub mod meta;
pub mod pom;
pub mod zip;

use super::Cataloger;
use crate::model::FileResult;
use crate::paths;

pub struct JavaCataloger;

impl Cataloger for JavaCataloger {
    fn name(&self) -> &'static str {
        "java"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "**/*.jar",
            "**/*.war",
            "**/*.ear",
            "**/*.par",
            "**/*.sar",
            "**/*.nar",
            "**/*.jpi",
            "**/*.hpi",
            "**/*.kar",
            "**/*.lpkg",
            "**/pom.xml",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        let file = paths::split(path).1;
        file == "pom.xml" || archive::is_archive_name(file.as_bytes())
    }
    fn max_size(&self) -> u64 {
        256 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let (packages, warnings) = if paths::split(path).1 == "pom.xml" {
            (pom::parse(&super::text(data))?, Vec::new())
        } else {
            let mut walk = archive::Walk::new(archive::Limits::default());
            walk.run(path, data)?;
            (walk.packages, walk.warnings)
        };
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            warnings,
            ..FileResult::default()
        })
    }
}
