//! SHA-256 as lowercase hex: the one digest snapshots, reports and (later) archives use.

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
