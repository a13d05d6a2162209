//! Normalisation of paths found in layer tars. Layers are hostile: names may be absolute, carry `./`,
//! `//`, `..` or non-UTF-8 bytes. We never write them to disk, but we must compare them reliably.

/// Normalise a tar entry name to a relative path without `.`/empty components.
/// Returns `None` when the name climbs out of the root (`..` beyond the top) or is empty.
#[must_use]
pub fn normalize(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for comp in raw.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// True when `path` equals `dir` or lies below it.
#[must_use]
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// True when `path` lies strictly below `dir`.
#[must_use]
pub fn is_below(path: &str, dir: &str) -> bool {
    if dir.is_empty() {
        return !path.is_empty();
    }
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// Split into (parent dir, file name); the parent of a top-level name is "".
#[must_use]
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize("./etc/os-release").as_deref(),
            Some("etc/os-release")
        );
        assert_eq!(normalize("/etc//apk/./x").as_deref(), Some("etc/apk/x"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("./"), None);
    }

    #[test]
    fn within() {
        assert!(is_within("usr/lib/x", "usr/lib"));
        assert!(is_within("usr/lib", "usr/lib"));
        assert!(!is_within("usr/lib64", "usr/lib"));
        assert!(is_below("usr/lib/x", "usr/lib"));
        assert!(!is_below("usr/lib", "usr/lib"));
        assert!(is_below("x", ""));
        assert_eq!(split("a/b/c"), ("a/b", "c"));
        assert_eq!(split("c"), ("", "c"));
    }
}
