//! Secrets in file contents and configuration text: a multi-pattern prefilter, then exact patterns.
//!
//! Every rule names the fixed strings that any of its secrets must contain (`AKIA`, `ghp_`,
//! `PRIVATE KEY`, ...). One Aho-Corasick pass over the bytes finds which rules can match at all;
//! only those rules' regular expressions then run, so a file without any keyword (almost every
//! file) costs one linear scan. A match is reported by rule, line and span, never by its text:
//! callers show [`mask`]ed values only.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;

/// Largest file whose content is searched for secrets.
pub const MAX_FILE_SIZE: u64 = 1 << 20;
/// A file with a NUL byte in its first this many bytes is binary and not searched.
const BINARY_PROBE: usize = 8192;

/// One kind of secret.
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: &'static str,
    /// Fixed strings every match contains (compared ASCII case-insensitively).
    keywords: &'static [&'static str],
    /// The exact pattern; capture group 1, when present, is the secret itself.
    pattern: &'static str,
    /// Characters of a match that may be shown (a public prefix such as `AKIA`).
    pub keep: usize,
}

/// The rules, most specific first (an earlier rule's match wins an overlap).
pub static RULES: &[Rule] = &[
    Rule {
        id: "aws-access-key-id",
        title: "AWS access key ID",
        severity: "critical",
        keywords: &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        pattern: r"(?-u)\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        keep: 4,
    },
    Rule {
        id: "aws-secret-access-key",
        title: "AWS secret access key",
        severity: "critical",
        keywords: &["secret_access_key", "secretaccesskey", "secret-access-key"],
        pattern: r#"(?i-u)aws_?secret_?access_?key["']?\s{0,5}(?:=|:|=>)\s{0,5}["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        keep: 0,
    },
    Rule {
        id: "private-key",
        title: "Private key",
        severity: "high",
        keywords: &["PRIVATE KEY"],
        // A header followed by a key body (so documentation quoting only the header is not one).
        pattern: r"(?-u)(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\r\n]+(?:[A-Za-z0-9+/=:\- ]{0,100}[\r\n]+){0,4}[A-Za-z0-9+/=]{32,}(?s:.{0,16384}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)?)",
        keep: 0,
    },
    Rule {
        id: "github-fine-grained-token",
        title: "GitHub fine-grained token",
        severity: "critical",
        keywords: &["github_pat_"],
        pattern: r"(?-u)\b(github_pat_[A-Za-z0-9_]{82})\b",
        keep: 11,
    },
    Rule {
        id: "github-token",
        title: "GitHub token",
        severity: "critical",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"(?-u)\b(gh[pousr]_[A-Za-z0-9]{36,255})\b",
        keep: 4,
    },
    Rule {
        id: "gitlab-token",
        title: "GitLab personal access token",
        severity: "critical",
        keywords: &["glpat-"],
        pattern: r"(?-u)\b(glpat-[A-Za-z0-9_\-]{20,})",
        keep: 6,
    },
    Rule {
        id: "slack-token",
        title: "Slack token",
        severity: "high",
        keywords: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        pattern: r"(?-u)\b(xox[baprs]-[A-Za-z0-9\-]{10,250})",
        keep: 5,
    },
    Rule {
        id: "stripe-secret-key",
        title: "Stripe secret key",
        severity: "critical",
        keywords: &["sk_live_", "rk_live_"],
        pattern: r"(?-u)\b([sr]k_live_[A-Za-z0-9]{20,99})\b",
        keep: 8,
    },
    Rule {
        id: "google-api-key",
        title: "Google API key",
        severity: "high",
        keywords: &["AIza"],
        pattern: r"(?-u)\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        keep: 4,
    },
    Rule {
        id: "npm-token",
        title: "npm access token",
        severity: "critical",
        keywords: &["npm_"],
        pattern: r"(?-u)\b(npm_[A-Za-z0-9]{36})\b",
        keep: 4,
    },
    Rule {
        id: "pypi-token",
        title: "PyPI upload token",
        severity: "critical",
        keywords: &["pypi-AgEIcHlwaS5vcmc"],
        pattern: r"(?-u)(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
        keep: 5,
    },
];

impl Rule {
    /// The exact pattern (regex syntax).
    #[must_use]
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }
}

struct Compiled {
    prefilter: AhoCorasick,
    /// Rule index of each prefilter pattern.
    owner: Vec<usize>,
    regexes: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut owner = Vec::new();
    for (i, r) in RULES.iter().enumerate() {
        for k in r.keywords {
            words.push(*k);
            owner.push(i);
        }
    }
    let prefilter = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&words)
        .expect("secret keywords build an automaton");
    let regexes = RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("secret rule patterns compile"))
        .collect();
    Compiled {
        prefilter,
        owner,
        regexes,
    }
});

/// One secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`RULES`].
    pub rule: usize,
    /// Byte span of the secret.
    pub start: usize,
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
}

/// Every secret in `data`, in order, without overlaps (the earlier rule wins).
#[must_use]
pub fn find(data: &[u8]) -> Vec<Hit> {
    let c = &*COMPILED;
    let mut wanted = vec![false; RULES.len()];
    let mut any = false;
    for m in c.prefilter.find_overlapping_iter(data) {
        let r = c.owner[m.pattern().as_usize()];
        any |= !wanted[r];
        wanted[r] = true;
    }
    if !any {
        return Vec::new();
    }
    let mut hits: Vec<Hit> = Vec::new();
    for (i, re) in c.regexes.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        for caps in re.captures_iter(data) {
            let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
                continue;
            };
            if m.start() == m.end() || hits.iter().any(|h| m.start() < h.end && h.start < m.end()) {
                continue;
            }
            hits.push(Hit {
                rule: i,
                start: m.start(),
                end: m.end(),
                line: 0,
            });
        }
    }
    hits.sort_by_key(|h| h.start);
    // Line numbers in one pass over the prefix up to the last hit.
    let mut line = 1;
    let mut pos = 0;
    for h in &mut hits {
        line += data[pos..h.start].iter().filter(|&&b| b == b'\n').count();
        pos = h.start;
        h.line = line;
    }
    hits
}

/// Whether a file's first bytes say it is binary (a NUL byte): binaries are not searched.
#[must_use]
pub fn is_binary(head: &[u8]) -> bool {
    head[..head.len().min(BINARY_PROBE)].contains(&0)
}

/// Path parts under which files are documentation, headers or test fixtures whose example keys
/// are not secrets (as Trivy's built-in allow rules).
const SKIP_DIRS: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/i18n/",
    "usr/include/",
    "usr/share/zoneinfo/",
    "usr/share/mime/",
    "usr/share/ca-certificates/",
    "etc/ssl/certs/",
    "usr/lib/locale/",
];
const SKIP_PARTS: &[&str] = &[
    "/test/",
    "/tests/",
    "/testdata/",
    "/testing/",
    "/fixtures/",
    "/examples/",
    "/example/",
    "/__pycache__/",
    "/.git/",
];
const SKIP_EXT: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg", ".woff", ".woff2", ".ttf", ".otf", ".eot",
    ".gz", ".xz", ".bz2", ".zst", ".zip", ".jar", ".war", ".whl", ".tar", ".so", ".a", ".o",
    ".pyc", ".pyo", ".class", ".mo", ".wasm", ".pdf", ".db", ".sqlite", ".md", ".rst", ".html",
    ".css", ".map", ".lock", ".sum",
];

/// Whether the root-relative `path` is searched for secrets at all.
#[must_use]
pub fn wants_path(path: &str) -> bool {
    if SKIP_DIRS.iter().any(|d| path.starts_with(d)) {
        return false;
    }
    let framed = format!("/{path}");
    if SKIP_PARTS.iter().any(|p| framed.contains(p)) {
        return false;
    }
    let lower = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    !SKIP_EXT.iter().any(|e| lower.ends_with(e))
}

/// `secret` masked: its first `keep` characters, then `****` (the length is not kept).
#[must_use]
pub fn mask(secret: &str, keep: usize) -> String {
    let shown: String = secret.chars().take(keep).collect();
    format!("{shown}****")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        find(text.as_bytes())
            .iter()
            .map(|h| RULES[h.rule].id)
            .collect()
    }

    #[test]
    fn finds_each_rule_and_nothing_in_plain_text() {
        assert_eq!(ids("key = AKIAIOSFODNN7EXAMPLE\n"), ["aws-access-key-id"]);
        assert_eq!(
            ids("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
            ["aws-secret-access-key"]
        );
        let key =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAwJ4b0FmX3l3Yx1Cq2s1wT7h9Jd8sR0kZ\n\
                   -----END RSA PRIVATE KEY-----\n";
        assert_eq!(ids(key), ["private-key"]);
        assert_eq!(ids(&format!("t=ghp_{}", "a".repeat(36))), ["github-token"]);
        assert_eq!(ids("glpat-Zq8Xb3TmK2pLw9RvN4cY"), ["gitlab-token"]);
        assert!(ids("the quick brown fox; AKIA is a prefix; PRIVATE KEY headers").is_empty());
        // A header alone (documentation, a PEM string constant) is not a key.
        assert!(ids("#define PEM \"-----BEGIN RSA PRIVATE KEY-----\"").is_empty());
    }

    #[test]
    fn lines_spans_and_masks() {
        let text = "a\nb\nexport TOKEN=glpat-Zq8Xb3TmK2pLw9RvN4cY\nAKIAIOSFODNN7EXAMPLE";
        let hits = find(text.as_bytes());
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].line, 3);
        assert_eq!(
            &text[hits[0].start..hits[0].end],
            "glpat-Zq8Xb3TmK2pLw9RvN4cY"
        );
        assert_eq!(hits[1].line, 4);
        assert_eq!(mask(&text[hits[1].start..hits[1].end], 4), "AKIA****");
    }

    #[test]
    fn paths_and_binaries() {
        assert!(wants_path("root/.aws/credentials"));
        assert!(wants_path("app/.env"));
        assert!(!wants_path("usr/share/doc/openssl/README"));
        assert!(!wants_path("usr/lib/python3/dist-packages/x/tests/keys.py"));
        assert!(!wants_path("srv/logo.png"));
        assert!(is_binary(b"\x7fELF\0\0"));
        assert!(!is_binary(b"plain text"));
    }

    #[test]
    fn hostile_input_stays_linear() {
        // Many keywords, no secrets: the prefilter fires, every regex runs once over the data.
        let data = "AKIA PRIVATE KEY ghp_ glpat- xoxb- sk_live_ AIza npm_ ".repeat(20_000);
        assert!(find(data.as_bytes()).is_empty());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}", "A".repeat(1 << 20));
        assert_eq!(find(pem.as_bytes()).len(), 1);
    }
}
