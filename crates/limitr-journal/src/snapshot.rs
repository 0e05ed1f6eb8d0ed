//! Snapshots: every customer's record in one file, written beside the journal and swapped in by
//! rename, after which older segments are deleted.
//!
//! A snapshot of generation `g` holds, for every customer, a state at least as new as the start of
//! segment `g`; replaying segments `g, g+1, …` onto it gives the exact state, because records are
//! post-images (a customer changed while the snapshot was being written is in both, and the
//! segment's later image wins). Calls keep running while a snapshot is written: it reads one
//! customer at a time.

use crate::frame;
use crate::log::sync_dir;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The first frame of every snapshot file.
pub const HEADER: &[u8] = br#"{"format":"limitr-snapshot","version":1}"#;

/// The file name of the snapshot of generation `generation`.
pub fn snapshot_name(generation: u64) -> String {
    format!("snapshot-{generation:010}.snap")
}

/// Writes the snapshot of `generation` from `(id, record JSON)` pairs: a temporary file, fsynced,
/// renamed into place, the directory fsynced; then older snapshots and segments are removed.
pub fn write(
    dir: &Path,
    generation: u64,
    customers: impl Iterator<Item = (String, Vec<u8>)>,
) -> io::Result<()> {
    let tmp: PathBuf = dir.join(format!("{}.tmp", snapshot_name(generation)));
    let file = File::create(&tmp)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    frame::encode(HEADER, &mut buf);
    out.write_all(&buf)?;
    let mut payload = Vec::new();
    for (id, json) in customers {
        payload.clear();
        crate::record::put(
            std::iter::once((id.as_str(), json.as_slice())),
            &mut payload,
        );
        buf.clear();
        frame::encode(&payload, &mut buf);
        out.write_all(&buf)?;
    }
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(snapshot_name(generation)))?;
    sync_dir(dir)?;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(g) = crate::recover::generation_of(name)
            && g.1 < generation
        {
            fs::remove_file(dir.join(name))?;
        }
    }
    sync_dir(dir)
}
