//! The append side: one segment file open for appends, the fsync policy, group commit, rotation.

use crate::SyncMode;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file name of journal segment `generation`.
pub fn segment_name(generation: u64) -> String {
    format!("journal-{generation:010}.log")
}

struct Segment {
    file: Arc<File>,
    generation: u64,
    /// Bytes in this segment.
    len: u64,
}

/// Where the writer has got to, for group commit: `(generation, bytes)` written and synced.
#[derive(Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mark(u64, u64);

/// Appends frames to the current segment; thread-safe.
pub struct Log {
    dir: PathBuf,
    segment: Mutex<Segment>,
    /// Held while fsyncing; holds what is known synced.
    synced: Mutex<Mark>,
    /// Records appended since the last rotation.
    records: AtomicU64,
    mode: SyncMode,
}

impl Log {
    /// Opens segment `generation` in `dir` for appends, truncated to `len` bytes (the end of its
    /// last whole frame).
    pub fn open(dir: &Path, generation: u64, len: u64, mode: SyncMode) -> io::Result<Log> {
        let file = open_segment(dir, generation)?;
        file.set_len(len)?;
        file.sync_all()?;
        Ok(Log {
            dir: dir.to_path_buf(),
            segment: Mutex::new(Segment {
                file: Arc::new(file),
                generation,
                len,
            }),
            synced: Mutex::new(Mark(generation, len)),
            records: AtomicU64::new(0),
            mode,
        })
    }

    /// Appends one frame (already encoded) with one `write`, then applies the fsync policy:
    /// `Always` returns once the bytes are on disk (one fsync covers every append before it).
    pub fn append(&self, frame: &[u8]) -> io::Result<()> {
        let (file, mark) = {
            let mut s = self.segment.lock();
            (&*s.file).write_all(frame)?;
            s.len += frame.len() as u64;
            (s.file.clone(), Mark(s.generation, s.len))
        };
        self.records.fetch_add(1, Ordering::Relaxed);
        if let SyncMode::Always = self.mode {
            self.sync_to(&file, mark)?;
        }
        Ok(())
    }

    /// Group commit: the first waiter fsyncs for everyone who appended before it started.
    fn sync_to(&self, file: &File, mark: Mark) -> io::Result<()> {
        let mut synced = self.synced.lock();
        if *synced >= mark {
            return Ok(());
        }
        let target = {
            let s = self.segment.lock();
            if s.generation == mark.0 {
                Mark(s.generation, s.len)
            } else {
                mark // rotated since: rotation synced the old segment
            }
        };
        file.sync_data()?;
        *synced = (*synced).max(target);
        Ok(())
    }

    /// Fsyncs what was written so far (the `batch` policy's timer calls it).
    pub fn sync(&self) -> io::Result<()> {
        let (file, mark) = {
            let s = self.segment.lock();
            (s.file.clone(), Mark(s.generation, s.len))
        };
        self.sync_to(&file, mark)
    }

    /// Records appended since the last rotation.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Starts a new segment: the current one is fsynced and closed for appends; returns the new
    /// generation. Appends after this go to the new segment.
    pub fn rotate(&self) -> io::Result<u64> {
        let mut s = self.segment.lock();
        s.file.sync_data()?;
        let generation = s.generation + 1;
        let file = open_segment(&self.dir, generation)?;
        file.set_len(0)?;
        sync_dir(&self.dir)?;
        *self.synced.lock() = Mark(generation, 0);
        *s = Segment {
            file: Arc::new(file),
            generation,
            len: 0,
        };
        self.records.store(0, Ordering::Relaxed);
        Ok(generation)
    }
}

fn open_segment(dir: &Path, generation: u64) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(dir.join(segment_name(generation)))
}

/// Fsyncs a directory, so a created or renamed file's name is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
