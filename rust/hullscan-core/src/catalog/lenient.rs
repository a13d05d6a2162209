//! Lenient, bounded JSON pieces shared by the language catalogers (npm, Composer, .NET).
//!
//! Package manifests and lockfiles found in images are written by many tool versions and sometimes
//! by hand; a field of an unexpected type must cost that one entry, not the file. Documents are
//! deserialised into small typed views with serde (unknown fields are skipped without being built),
//! big maps are visited entry by entry and never collected, and every file stops at
//! [`MAX_PACKAGES_PER_FILE`] entries. serde_json's recursion limit (128) stays on.

use super::MAX_PACKAGES_PER_FILE;
use crate::model::RawPackage;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// Longest package name kept (npm allows 214 characters, NuGet 100; longer is not a real name).
pub(crate) const MAX_NAME: usize = 256;
/// Longest version kept.
pub(crate) const MAX_VERSION: usize = 256;
/// Longest licence string kept; longer ones (a licence text pasted into the field) are dropped.
const MAX_LICENSE: usize = 256;
/// Most licences kept for one package.
const MAX_LICENSES: usize = 16;

/// A JSON value kept only when it is a string; other types are skipped without error.
#[derive(Default, Debug)]
pub(crate) struct Str(pub Option<String>);

impl Str {
    pub(crate) fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Str, E> {
        Ok(Str(Some(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Str, E> {
        Ok(Str(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Str, E> {
        Ok(Str(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Str, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Str(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Str, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Str(None))
    }
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor)
    }
}

/// A JSON value that is `true` only when it is the boolean `true`.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Flag, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flag, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
        }
        d.deserialize_any(V)
    }
}

/// A value read as `T` when it is a JSON object and skipped (`None`) when it is of any other type,
/// so one odd entry in a list of packages costs that entry only.
#[derive(Debug)]
pub(crate) struct IfObject<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IfObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = IfObject<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IfObject<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| IfObject(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IfObject<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IfObject(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<IfObject<T>, E> {
                Ok(IfObject(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON number kept when it is an unsigned integer (`lockfileVersion`).
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Num(pub Option<u64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(u64::try_from(v).ok()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Licences as manifests write them: a string (`"MIT"`, an SPDX expression), an object with a
/// `type` (`{"type": "MIT", "url": ...}`, npm's deprecated form), or an array of either
/// (Composer's and npm's `licenses`, which list alternatives). Anything else is ignored.
#[derive(Default, Debug)]
pub(crate) struct Licenses(pub Vec<String>);

impl Licenses {
    /// One licence expression: alternatives joined with `OR`, as Composer documents its array
    /// (`["MIT", "GPL-2.0"]` = either) and old npm `licenses` arrays meant. `None` when empty.
    pub(crate) fn expression(&self) -> Option<String> {
        let kept: Vec<&str> = self
            .0
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && s.len() <= MAX_LICENSE)
            .collect();
        match kept.as_slice() {
            [] => None,
            [one] => Some((*one).to_string()),
            many => Some(
                many.iter()
                    .map(|l| {
                        if l.contains(' ') {
                            format!("({l})")
                        } else {
                            (*l).to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" OR "),
            ),
        }
    }
}

/// `{"type": "MIT", ...}`: only `type` is read.
#[derive(Deserialize, Default)]
struct TypedLicense {
    #[serde(default, rename = "type")]
    ty: Str,
}

struct LicensesVisitor {
    /// Inside an array: nested arrays are not licences.
    nested: bool,
}

impl<'de> Visitor<'de> for LicensesVisitor {
    type Value = Licenses;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a licence")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Licenses, E> {
        Ok(Licenses(vec![v.to_string()]))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Licenses, E> {
        Ok(Licenses::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Licenses, E> {
        Ok(Licenses::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Licenses, E> {
        Ok(Licenses::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Licenses, E> {
        Ok(Licenses::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Licenses, E> {
        Ok(Licenses::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Licenses, A::Error> {
        let t = TypedLicense::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Licenses(
            t.ty.get().map(str::to_string).into_iter().collect(),
        ))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Licenses, A::Error> {
        let mut out = Vec::new();
        if self.nested {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Licenses(out));
        }
        while let Some(one) = seq.next_element_seed(LicenseSeed { nested: true })? {
            if out.len() < MAX_LICENSES {
                out.extend(one.0);
            }
        }
        Ok(Licenses(out))
    }
}

struct LicenseSeed {
    nested: bool,
}

impl<'de> DeserializeSeed<'de> for LicenseSeed {
    type Value = Licenses;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Licenses, D::Error> {
        d.deserialize_any(LicensesVisitor {
            nested: self.nested,
        })
    }
}

impl<'de> Deserialize<'de> for Licenses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LicenseSeed { nested: false }.deserialize(d)
    }
}

/// Visits a JSON object entry by entry, handing each `(key, value)` to `f` without collecting
/// them; more than [`MAX_PACKAGES_PER_FILE`] entries is an error. `null` is an empty object; any
/// other non-object is an error naming `what`.
pub(crate) struct EachEntry<'f, V, F> {
    pub what: &'static str,
    pub f: &'f mut F,
    pub _v: PhantomData<V>,
}

impl<'f, V, F> EachEntry<'f, V, F> {
    pub(crate) fn new(what: &'static str, f: &'f mut F) -> Self {
        EachEntry {
            what,
            f,
            _v: PhantomData,
        }
    }
}

impl<'de, V, F> DeserializeSeed<'de> for EachEntry<'_, V, F>
where
    V: Deserialize<'de>,
    F: FnMut(String, V),
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, V, F> Visitor<'de> for EachEntry<'_, V, F>
where
    V: Deserialize<'de>,
    F: FnMut(String, V),
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "`{}` to be an object", self.what)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut n = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            n += 1;
            if n > MAX_PACKAGES_PER_FILE {
                return Err(de::Error::custom(super::too_many_packages()));
            }
            let value = map.next_value::<V>()?;
            (self.f)(key, value);
        }
        Ok(())
    }
}

/// Like [`EachEntry`] for a JSON array: each element handed to `f`, at most
/// [`MAX_PACKAGES_PER_FILE`] of them.
pub(crate) struct EachElement<'f, V, F> {
    pub what: &'static str,
    pub f: &'f mut F,
    pub _v: PhantomData<V>,
}

impl<'f, V, F> EachElement<'f, V, F> {
    pub(crate) fn new(what: &'static str, f: &'f mut F) -> Self {
        EachElement {
            what,
            f,
            _v: PhantomData,
        }
    }
}

impl<'de, V, F> DeserializeSeed<'de> for EachElement<'_, V, F>
where
    V: Deserialize<'de>,
    F: FnMut(V),
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, V, F> Visitor<'de> for EachElement<'_, V, F>
where
    V: Deserialize<'de>,
    F: FnMut(V),
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "`{}` to be an array", self.what)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0usize;
        while let Some(v) = seq.next_element::<V>()? {
            n += 1;
            if n > MAX_PACKAGES_PER_FILE {
                return Err(de::Error::custom(super::too_many_packages()));
            }
            (self.f)(v);
        }
        Ok(())
    }
}

/// Deserialize a whole document with `seed`, requiring nothing but white space after it.
///
/// # Errors
/// A message naming the kind of problem: truncated, malformed, nested too deeply, of an
/// unexpected structure, or over the package limit.
pub(crate) fn from_slice_seed<'de, S: DeserializeSeed<'de>>(
    data: &'de [u8],
    seed: S,
) -> Result<S::Value, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data); // a UTF-8 BOM
    let mut de = serde_json::Deserializer::from_slice(data);
    let v = seed.deserialize(&mut de).map_err(|e| describe(&e))?;
    de.end().map_err(|e| describe(&e))?;
    Ok(v)
}

/// [`from_slice_seed`] for a plain type.
///
/// # Errors
/// As [`from_slice_seed`].
#[cfg(test)]
pub(crate) fn from_slice<'de, T: Deserialize<'de>>(data: &'de [u8]) -> Result<T, String> {
    from_slice_seed(data, PhantomData::<T>)
}

/// A document that must be a JSON object, read into `T` (serde's derived structs would also accept
/// an array, filling fields by position).
///
/// # Errors
/// As [`from_slice_seed`]; a document that is not an object is an unexpected structure.
pub(crate) fn object<'de, T: Deserialize<'de>>(data: &'de [u8]) -> Result<T, String> {
    from_slice_seed(data, Object(PhantomData::<T>))
}

/// Seed for a value that must be a JSON object.
pub(crate) struct Object<T>(pub PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Object<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

/// A warning that says what kind of problem a JSON document has.
pub(crate) fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let msg = e.to_string();
    if msg.starts_with(&super::too_many_packages()) {
        return super::too_many_packages();
    }
    match e.classify() {
        Category::Eof => format!("truncated JSON: {msg}"),
        Category::Syntax if msg.contains("recursion limit") => {
            format!("JSON nested too deeply: {msg}")
        }
        Category::Syntax => format!("malformed JSON: {msg}"),
        Category::Data => format!("unexpected JSON structure: {msg}"),
        Category::Io => format!("cannot read JSON: {msg}"),
    }
}

/// A language package of `kind`, or `None` when the name or version is empty or absurdly long.
pub(crate) fn package(
    kind: &str,
    name: &str,
    version: &str,
    license: Option<String>,
) -> Option<RawPackage> {
    let (name, version) = (name.trim(), version.trim());
    if name.is_empty()
        || version.is_empty()
        || name.len() > MAX_NAME
        || version.len() > MAX_VERSION
        || name.chars().any(char::is_control)
        || version.chars().any(char::is_control)
    {
        return None;
    }
    Some(RawPackage {
        kind: kind.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        license: license.filter(|l| l.len() <= MAX_LICENSE),
        ..RawPackage::default()
    })
}

/// Packages in first-seen order without exact duplicates (a lockfile may resolve several ranges
/// of one package to the same version in separate entries).
pub(crate) fn dedup(mut packages: Vec<RawPackage>) -> Vec<RawPackage> {
    let mut seen = std::collections::HashSet::with_capacity(packages.len());
    packages.retain(|p| seen.insert((p.name.clone(), p.version.clone(), p.arch.clone())));
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        name: Str,
        #[serde(default)]
        license: Licenses,
        #[serde(default)]
        dev: Flag,
        #[serde(default)]
        n: Num,
    }

    #[test]
    fn lenient_fields() {
        let d: Doc =
            from_slice(br#"{"name": {"x": [1]}, "license": 3, "dev": "yes", "n": "2"}"#).unwrap();
        assert!(d.name.get().is_none());
        assert!(d.license.expression().is_none());
        assert!(!d.dev.0);
        assert_eq!(d.n.0, Some(2));
        let d: Doc = from_slice(
            br#"{"name": " x ", "license": [{"type": "MIT"}, "Apache-2.0 WITH LLVM-exception", [1]], "dev": true}"#,
        )
        .unwrap();
        assert_eq!(d.name.get(), Some("x"));
        assert_eq!(
            d.license.expression().as_deref(),
            Some("MIT OR (Apache-2.0 WITH LLVM-exception)")
        );
        assert!(d.dev.0);
        let d: Doc = from_slice(br#"{"license": {"type": "BSD", "url": "u"}}"#).unwrap();
        assert_eq!(d.license.expression().as_deref(), Some("BSD"));
    }

    #[test]
    fn errors_are_described() {
        assert!(from_slice::<Doc>(b"{\"name\": \"x\"")
            .unwrap_err()
            .starts_with("truncated JSON"));
        assert!(from_slice::<Doc>(b"{\"name\" \"x\"}")
            .unwrap_err()
            .starts_with("malformed JSON"));
        assert!(object::<Doc>(b"[1]")
            .unwrap_err()
            .starts_with("unexpected JSON structure"));
        // Values skipped or read leniently are skipped by serde_json without recursion (its
        // `ignore_value` keeps its own stack of brackets), so deep junk there costs no stack.
        let deep = format!(
            "{{\"name\": {}{}, \"license\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000),
            "{\"a\":".repeat(100_000),
            "1".to_string() + &"}".repeat(100_000)
        );
        assert!(from_slice::<Doc>(deep.as_bytes())
            .unwrap()
            .name
            .get()
            .is_none());
        // Values we read by recursing stop at serde_json's limit.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = serde_json::from_str::<serde_json::Value>(&deep).unwrap_err();
        assert!(describe(&e).starts_with("JSON nested too deeply"));
        assert!(from_slice::<Doc>(b"{} {}")
            .unwrap_err()
            .starts_with("malformed JSON"));
    }

    #[test]
    fn entries_are_streamed_and_capped() {
        let mut seen = Vec::new();
        let mut f = |k: String, v: Str| seen.push((k, v.0));
        from_slice_seed(br#"{"a": "1", "b": 2}"#, EachEntry::new("x", &mut f)).unwrap();
        assert_eq!(
            seen,
            vec![("a".into(), Some("1".into())), ("b".into(), None)]
        );
        let mut big = String::from("{");
        for i in 0..=MAX_PACKAGES_PER_FILE {
            big.push_str(&format!("\"{i}\":0,"));
        }
        big.push_str("\"end\":0}");
        let mut count = 0;
        let mut f = |_: String, _: IgnoredAny| count += 1;
        let err = from_slice_seed(big.as_bytes(), EachEntry::new("x", &mut f)).unwrap_err();
        assert_eq!(err, super::super::too_many_packages());
        assert_eq!(count, MAX_PACKAGES_PER_FILE);
        let mut f = |_: String, _: IgnoredAny| {};
        assert!(from_slice_seed(b"[1]", EachEntry::new("x", &mut f))
            .unwrap_err()
            .contains("`x` to be an object"));
    }

    #[test]
    fn package_bounds() {
        assert!(package("npm", "a", "1", None).is_some());
        assert!(package("npm", "", "1", None).is_none());
        assert!(package("npm", "a", " ", None).is_none());
        assert!(package("npm", &"a".repeat(MAX_NAME + 1), "1", None).is_none());
        assert!(package("npm", "a\nb", "1", None).is_none());
        let p = package("npm", "a", "1", Some("x".repeat(MAX_LICENSE + 1))).unwrap();
        assert!(p.license.is_none());
    }
}
