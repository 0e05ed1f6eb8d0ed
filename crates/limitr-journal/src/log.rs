//! The append side: the current segment, mapped into memory for appends, the fsync policy, group
//! commit, rotation.
//!
//! A segment is a file preallocated past its data and mapped shared (`mmap`): an append copies
//! its frame into the mapping, which is the kernel's page cache of the file. That is as safe from
//! a process crash (SIGKILL) as a `write(2)`, since the bytes belong to the kernel once copied,
//! without a system call per record. The fsync policy (`fdatasync` of the file, which writes back
//! the mapping's dirty pages too) is what makes bytes safe from a power loss. The zeros after the
//! data end the segment on recovery; a clean close, a rotation and a reopen trim the file to its
//! data.

use crate::SyncMode;
use memmap2::{MmapMut, MmapOptions};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file name of journal segment `generation`.
pub fn segment_name(generation: u64) -> String {
    format!("journal-{generation:010}.log")
}

/// Bytes a segment is first mapped with; it doubles when full.
const INITIAL_MAP: u64 = 16 << 20;

struct Segment {
    file: Arc<File>,
    map: MmapMut,
    generation: u64,
    /// Bytes of frames in this segment (the rest of the mapping is zeros).
    len: u64,
}

impl Segment {
    /// Opens segment `generation` with its first `len` bytes kept, mapped with room to append.
    fn open(dir: &Path, generation: u64, len: u64) -> io::Result<Segment> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(dir.join(segment_name(generation)))?;
        file.set_len(len)?; // a torn tail goes: the mapping's zeros replace it
        let map = map(&file, room(len, 0))?;
        Ok(Segment {
            file: Arc::new(file),
            map,
            generation,
            len,
        })
    }

    /// Copies `frame` in after the data, growing the mapping when it is full.
    fn append(&mut self, frame: &[u8]) -> io::Result<()> {
        let at = usize::try_from(self.len).map_err(io::Error::other)?;
        let end = at + frame.len();
        if end > self.map.len() {
            self.map.flush_async()?;
            self.map = map(&self.file, room(self.len, frame.len() as u64))?;
        }
        self.map
            .get_mut(at..end)
            .ok_or_else(|| io::Error::other("journal mapping smaller than its segment"))?
            .copy_from_slice(frame);
        self.len = end as u64;
        Ok(())
    }

    /// Trims the file to its data (the zeros after it go).
    fn trim(&self) -> io::Result<()> {
        self.file.set_len(self.len)
    }
}

/// The mapping size for `len` bytes of data and `more` to append: at least [`INITIAL_MAP`],
/// doubling.
fn room(len: u64, more: u64) -> u64 {
    let need = len + more;
    let mut size = INITIAL_MAP;
    while size < need.saturating_mul(2) {
        size = size.saturating_mul(2);
    }
    size
}

/// Extends `file` to `size` bytes (zeros) and maps it shared, writable.
fn map(file: &File, size: u64) -> io::Result<MmapMut> {
    file.set_len(size)?;
    let len = usize::try_from(size).map_err(io::Error::other)?;
    // SAFETY: mapping a file is unsafe because another process could truncate or change it while
    // it is mapped. The journal directory's `LOCK` (an exclusive flock held for the store's
    // lifetime) keeps every other limitr engine out of it, and only this process's `Log`, under
    // its mutex, writes or resizes the segment while it is mapped.
    #[allow(unsafe_code, reason = "a shared file mapping; see the SAFETY note")]
    let map = unsafe { MmapOptions::new().len(len).map_mut(file)? };
    Ok(map)
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
        let segment = Segment::open(dir, generation, len)?;
        segment.file.sync_all()?;
        Ok(Log {
            dir: dir.to_path_buf(),
            segment: Mutex::new(segment),
            synced: Mutex::new(Mark(generation, len)),
            records: AtomicU64::new(0),
            mode,
        })
    }

    /// Appends one frame (already encoded), then applies the fsync policy: `Always` returns once
    /// the bytes are on disk (one fsync covers every append before it).
    pub fn append(&self, frame: &[u8]) -> io::Result<()> {
        let (file, mark) = {
            let mut s = self.segment.lock();
            s.append(frame)?;
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

    /// Bytes of records in the current segment.
    pub fn len(&self) -> u64 {
        self.segment.lock().len
    }

    /// Records appended since the last rotation.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Starts a new segment: the current one is fsynced and closed for appends; returns the new
    /// generation. Appends after this go to the new segment.
    pub fn rotate(&self) -> io::Result<u64> {
        let mut s = self.segment.lock();
        // the old segment is trimmed to its data first: only the last segment ever ends in
        // zeros (its mapping's room), also after a crash in the middle of a rotation. Nothing
        // touches the mapping past the data, so trimming under it is safe.
        s.trim()?;
        s.file.sync_all()?;
        let generation = s.generation + 1;
        *s = Segment::open(&self.dir, generation, 0)?;
        sync_dir(&self.dir)?;
        *self.synced.lock() = Mark(generation, 0);
        self.records.store(0, Ordering::Relaxed);
        Ok(generation)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        // a clean close leaves the segment trimmed to its data; a crash leaves zeros after it,
        // which recovery reads as the end
        let s = self.segment.get_mut();
        let _ = s.map.flush();
        let _ = s.trim();
    }
}

/// Fsyncs a directory, so a created or renamed file's name is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
