//! hullscan's core: stream container image layers, catalog what is installed, merge the layers into
//! the squashed image's inventory. Pure Rust; the Python bindings live in `hullscan-py`.

pub mod catalog;
pub mod distro;
pub mod error;
pub mod index;
pub mod inventory;
pub mod layer;
pub mod model;
pub mod osv;
pub mod paths;
pub mod purl;
pub mod secrets;
pub mod version;

pub use error::{Error, Result};
pub use layer::{scan_dir, scan_dir_with, scan_layer, BlobRange, Limits};
pub use model::{Distro, FileResult, Inventory, LayerResult, Package, RawPackage};
