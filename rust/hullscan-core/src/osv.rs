//! The subset of the OSV schema the index reads. Unknown fields are ignored; wrong types in a
//! record make that record invalid (counted and skipped), never the whole database.

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Record {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub withdrawn: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub affected: Vec<Affected>,
    pub severity: Vec<Severity>,
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Affected {
    pub package: Option<PackageRef>,
    pub ranges: Vec<Range>,
    pub versions: Vec<String>,
    pub severity: Vec<Severity>,
    pub database_specific: Option<serde_json::Value>,
    pub ecosystem_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PackageRef {
    pub ecosystem: String,
    pub name: String,
    pub purl: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct Event {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}
