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

#[cfg(test)]
mod tests {
    use super::zip::tests::build;
    use super::*;
    use crate::catalog;

    #[test]
    fn wants_archives_and_poms() {
        let c = JavaCataloger;
        for p in [
            "app.jar",
            "opt/app/lib/guava-31.1-jre.jar",
            "srv/x.war",
            "x.ear",
            "var/jenkins/plugins/git.hpi",
            "p.jpi",
            "a.par",
            "a.sar",
            "a.nar",
            "a.kar",
            "a.lpkg",
            "src/pom.xml",
            "pom.xml",
        ] {
            assert!(c.wants(p), "{p}");
            assert_eq!(catalog::find(p).map(Cataloger::name), Some("java"), "{p}");
        }
        for p in [
            "a.JAR",
            "jar",
            "x.jar.sig",
            "x/.jar",
            "pom.xml.bak",
            "mypom.xml",
            "a.zip",
        ] {
            assert!(!c.wants(p), "{p}");
        }
    }

    #[test]
    fn parses_jars_and_poms() {
        let c = JavaCataloger;
        let jar = build(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nImplementation-Title: spring-beans\r\n",
            true,
        )]);
        let r = c.parse("app/spring-beans-5.3.17.jar", &jar).unwrap();
        assert_eq!(r.packages.len(), 1);
        let p = &r.packages[0];
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("spring-beans", "5.3.17")
        );
        assert_eq!(p.namespace.as_deref(), Some("org.springframework"));
        assert_eq!(p.kind, "java-archive");
        assert!(p.inner_path.is_none());
        let r = c
            .parse(
                "src/pom.xml",
                b"<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version></project>",
            )
            .unwrap();
        assert_eq!(r.packages[0].name, "a");
        assert!(c.parse("x.jar", b"garbage").is_err());
        assert!(c.parse("pom.xml", b"<project>").is_err());
    }
}
