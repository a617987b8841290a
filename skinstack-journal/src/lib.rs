//! A click journal on local disk: the [`ClickJournal`] a SkinStack server plugs into its
//! [`skinstack_core::ClickRecorder`] so that a `kill -9` (or an out-of-memory kill, or a panic
//! that aborts) loses no click.
//!
//! Every click is appended as one line, with one `write(2)`, to the active segment file before
//! the redirect answers. The write lands in the page cache, which outlives the process; only an
//! operating-system crash or power loss can drop it, and [`FileJournal::sync`] (the server calls
//! it every flush interval) bounds that to the clicks of the last interval. Once the sink has
//! stored every click of a segment that is no longer active, the segment is deleted. At start-up
//! the segments a previous process left behind are [`replay`]ed through the sink, which is
//! idempotent by click id, so clicks that were in fact stored are not stored or counted twice.
//!
//! When the recorder's buffer stays full (a long database outage), clicks are *spooled*
//! instead: appended to spool segments (`*.spool`), which hold the only copy, and read back by
//! the flusher once it has room ([`ClickJournal::unspool`]); a spool segment is deleted once
//! every click in it is stored, and a start replays what is left of them like any segment.
//! Clicks the store refuses for good are *set aside*: appended to `set-aside.tsv` in the
//! directory with their error, for an operator ([`SET_ASIDE_FILE`]).
//!
//! One directory belongs to one process: two processes sharing one would replay each other's
//! live segments (harmlessly, by idempotence, but pointlessly).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use skinstack_core::{ClickRecorder, FlushConfig, MemoryStore};
//! use skinstack_journal::{replay, FileJournal};
//!
//! let dir = std::env::temp_dir().join(format!("journal-doc-{}", std::process::id()));
//! let store = MemoryStore::new();
//! let (journal, left_behind) = FileJournal::open(&dir)?;
//! replay(&store, &left_behind, 2_000).await?; // what a killed process left, before serving
//! let journal = Arc::new(journal);
//! let (recorder, flusher) = ClickRecorder::start_journaled(store, FlushConfig::default(), journal.clone());
//! // ... serve redirects, recording clicks with `recorder` ...
//! flusher.shutdown(std::time::Duration::from_secs(60)).await?;
//! journal.close()?; // everything was stored: nothing is left to replay
//! # drop(recorder);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use skinstack_core::store::{ClickSink, RepoError};
use skinstack_core::tracking::click_flush::{
    write_isolating, ClickJournal, JournalError, JournalTicket,
};
use skinstack_core::tracking::visitor::{Browser, Device, Os, Platform, UserAgentFacts, Visitor};
use skinstack_core::{Click, ClickId, ClickSource, Country, LinkId};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A segment is sealed (and a new one started) past this size...
pub const SEGMENT_BYTES: u64 = 8 << 20;
/// ...or this age, so that at low traffic a fully stored segment is deleted soon and a restart
/// replays little.
pub const SEGMENT_AGE: Duration = Duration::from_secs(10);

const EXTENSION: &str = "clicks";
const SPOOL_EXTENSION: &str = "spool";

/// The file, in the journal's directory, where clicks the store refused for good are kept: one
/// line each, `<time> <tab> <error> <tab> <the click's journal line>` (tabs, newlines and
/// backslashes in the error escaped as in the journal).
pub const SET_ASIDE_FILE: &str = "set-aside.tsv";

/// Marks a ticket of a spool segment: the two kinds of segments are numbered apart.
const SPOOL_TICKET: u64 = 1 << 63;

/// Bytes read from a spool segment at a time.
const SPOOL_READ_CHUNK: u64 = 256 << 10;

/// An append-only journal of segment files in one directory.
pub struct FileJournal {
    dir: PathBuf,
    state: Mutex<State>,
}

struct State {
    active: Active,
    /// Clicks appended and stored per segment still on disk (the active one included).
    counts: BTreeMap<u64, Counts>,
    /// Sealed segments whose last writes have not been synced yet.
    unsynced: Vec<File>,
    spool: Spool,
}

/// The spool segments this process writes, and the flusher's place in them.
struct Spool {
    next_seq: u64,
    /// Created by the first spooled click: most processes never spool.
    writer: Option<Active>,
    /// Clicks appended and stored (or skipped unreadable) per spool segment still on disk.
    counts: BTreeMap<u64, Counts>,
    /// The segment the flusher reads next, and the offset of its next unread line.
    read_seq: u64,
    read_offset: u64,
}

struct Active {
    seq: u64,
    file: File,
    bytes: u64,
    opened: Instant,
}

#[derive(Default)]
struct Counts {
    appended: u64,
    stored: u64,
}

/// Why replaying a journal failed. The segment being replayed is kept for the next attempt.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A segment could not be read or deleted.
    #[error("cannot replay {path}: {source}")]
    Io {
        /// The segment.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The sink refused a batch.
    #[error("cannot store replayed clicks: {0}")]
    Sink(#[from] RepoError),
}

/// What [`replay`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Segments replayed and deleted.
    pub segments: usize,
    /// Clicks handed to the sink (those already stored are no-ops there).
    pub clicks: usize,
    /// Lines that did not parse: a line torn by an operating-system crash, or not ours.
    pub skipped_lines: usize,
    /// Clicks the sink refused for good, written to [`SET_ASIDE_FILE`] instead.
    pub set_aside: usize,
}

impl FileJournal {
    /// Opens (creating if needed) the journal in `dir` and starts a new segment. Returns the
    /// journal and the segments a previous process left behind, oldest first: [`replay`] them.
    pub fn open(dir: impl AsRef<Path>) -> std::io::Result<(FileJournal, Vec<PathBuf>)> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let mut left_behind: Vec<(u64, PathBuf)> = Vec::new();
        let mut next_spool = 1;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if let Some(seq) = segment_seq(&path) {
                left_behind.push((seq, path));
            } else if let Some(seq) = spool_seq(&path) {
                next_spool = next_spool.max(seq + 1);
                // Spooled before the clicks of later segments were appended: replay them
                // first. (Order only matters for the time clicks are stored, not whether.)
                left_behind.push((0, path));
            }
        }
        left_behind.sort();
        let next = left_behind
            .iter()
            .filter_map(|(_, path)| segment_seq(path))
            .max()
            .map_or(1, |seq| seq + 1);
        let active = Active::create(&dir, next)?;
        let mut counts = BTreeMap::new();
        counts.insert(next, Counts::default());
        let journal = FileJournal {
            dir,
            state: Mutex::new(State {
                active,
                counts,
                unsynced: Vec::new(),
                spool: Spool {
                    next_seq: next_spool,
                    writer: None,
                    counts: BTreeMap::new(),
                    read_seq: next_spool,
                    read_offset: 0,
                },
            }),
        };
        Ok((journal, left_behind.into_iter().map(|(_, p)| p).collect()))
    }

    /// Forces what was appended so far to disk (`fdatasync`), so that an operating-system crash
    /// loses only what comes after. Appends go on meanwhile: the files are synced outside the
    /// lock.
    pub fn sync(&self) -> std::io::Result<()> {
        let (active, spool, sealed) = {
            let mut state = self.lock();
            (
                state.active.file.try_clone()?,
                match &state.spool.writer {
                    Some(writer) => Some(writer.file.try_clone()?),
                    None => None,
                },
                std::mem::take(&mut state.unsynced),
            )
        };
        for file in sealed.iter().chain(std::iter::once(&active)).chain(&spool) {
            file.sync_data()?;
        }
        Ok(())
    }

    /// After the recorder has drained: deletes the active segment if every click in it was
    /// stored. Returns how many segments are left for the next start to replay.
    pub fn close(&self) -> std::io::Result<usize> {
        let mut state = self.lock();
        let seq = state.active.seq;
        if state
            .counts
            .get(&seq)
            .is_some_and(|c| c.stored == c.appended)
        {
            std::fs::remove_file(segment_path(&self.dir, seq))?;
            state.counts.remove(&seq);
        }
        if let Some(writer) = state.spool.writer.take() {
            state.unsynced.push(writer.file);
        }
        remove_complete_spool(&self.dir, &mut state.spool);
        Ok(state.counts.len() + state.spool.counts.len())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is counters and file handles, consistent after any panic between them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClickJournal for FileJournal {
    fn append(&self, click: &Click) -> Result<JournalTicket, JournalError> {
        let line = encode(click);
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.active.bytes >= SEGMENT_BYTES || state.active.opened.elapsed() >= SEGMENT_AGE {
            let next = Active::create(&self.dir, state.active.seq + 1)?;
            let sealed = std::mem::replace(&mut state.active, next);
            state.counts.insert(state.active.seq, Counts::default());
            state.unsynced.push(sealed.file);
            // Sealed and possibly already fully stored (all its clicks flushed before now).
            remove_complete(&self.dir, state);
        }
        // One write(2): a file opened for appending gets the line whole, at its end.
        state.active.file.write_all(line.as_bytes())?;
        state.active.bytes += line.len() as u64;
        let seq = state.active.seq;
        state.counts.entry(seq).or_default().appended += 1;
        Ok(JournalTicket(seq))
    }

    fn stored(&self, tickets: &[JournalTicket]) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut spooled = false;
        for ticket in tickets {
            let counts = if ticket.0 & SPOOL_TICKET != 0 {
                spooled = true;
                state.spool.counts.get_mut(&(ticket.0 & !SPOOL_TICKET))
            } else {
                state.counts.get_mut(&ticket.0)
            };
            if let Some(counts) = counts {
                counts.stored += 1;
            }
        }
        remove_complete(&self.dir, state);
        if spooled {
            remove_complete_spool(&self.dir, &mut state.spool);
        }
    }

    fn spool(&self, click: &Click) -> Result<(), JournalError> {
        let line = encode(click);
        let mut guard = self.lock();
        let state = &mut *guard;
        let spool = &mut state.spool;
        let full = spool
            .writer
            .as_ref()
            .is_none_or(|w| w.bytes >= SEGMENT_BYTES || w.opened.elapsed() >= SEGMENT_AGE);
        if full {
            let seq = spool.next_seq;
            let next = Active::create_at(spool_path(&self.dir, seq), seq)?;
            spool.next_seq += 1;
            spool.counts.insert(seq, Counts::default());
            if let Some(sealed) = spool.writer.replace(next) {
                state.unsynced.push(sealed.file);
            }
            remove_complete_spool(&self.dir, spool);
        }
        let Some(writer) = spool.writer.as_mut() else {
            unreachable!("a spool writer was just created");
        };
        writer.file.write_all(line.as_bytes())?;
        writer.bytes += line.len() as u64;
        spool.counts.entry(writer.seq).or_default().appended += 1;
        Ok(())
    }

    fn unspool(&self, max: usize) -> Result<Vec<(Click, JournalTicket)>, JournalError> {
        let mut guard = self.lock();
        let spool = &mut guard.spool;
        let mut out = Vec::new();
        while out.len() < max {
            // The segment to read: the cursor's, or the next one still on disk.
            let Some(seq) = spool.counts.range(spool.read_seq..).next().map(|(&s, _)| s) else {
                break;
            };
            if seq != spool.read_seq {
                spool.read_seq = seq;
                spool.read_offset = 0;
            }
            let (lines, consumed) = read_lines(
                &spool_path(&self.dir, seq),
                spool.read_offset,
                max - out.len(),
            )?;
            spool.read_offset += consumed;
            let mut skipped = 0;
            for line in lines {
                match line {
                    Some(click) => out.push((click, JournalTicket(SPOOL_TICKET | seq))),
                    None => skipped += 1,
                }
            }
            if skipped > 0 {
                // Never to be stored, so counted as if they were: the segment can still go.
                spool.counts.entry(seq).or_default().stored += skipped;
            }
            if consumed == 0 {
                if spool.writer.as_ref().is_some_and(|w| w.seq == seq) {
                    break; // read up to what is being written
                }
                // A sealed segment read to its end: on to the next one.
                spool.read_seq = seq + 1;
                spool.read_offset = 0;
            }
        }
        Ok(out)
    }

    fn set_aside(&self, click: &Click, error: &RepoError) -> Result<(), JournalError> {
        let _state = self.lock(); // one writer at a time, so lines never interleave
        set_aside_in(&self.dir, click, error)?;
        Ok(())
    }
}

/// Now, as seconds and milliseconds since the Unix epoch (the journal has no date crate).
fn chrono_free_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}

/// Up to `max` complete lines of the file at `path` from `offset`, each decoded (or `None`
/// when it does not parse), and the bytes they took. A last line without its newline is not
/// complete: it is left for the next read.
fn read_lines(path: &Path, offset: u64, max: usize) -> std::io::Result<(Vec<Option<Click>>, u64)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    let mut lines = Vec::new();
    let mut consumed = 0usize;
    loop {
        let read = (&mut file).take(SPOOL_READ_CHUNK).read_to_end(&mut buf)?;
        while lines.len() < max {
            let Some(end) = buf[consumed..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &buf[consumed..consumed + end];
            lines.push(std::str::from_utf8(line).ok().and_then(decode));
            consumed += end + 1;
        }
        if lines.len() >= max || read == 0 {
            break;
        }
    }
    Ok((lines, consumed as u64))
}

/// Deletes spool segments every click of which is stored, but not the one being written.
fn remove_complete_spool(dir: &Path, spool: &mut Spool) {
    let writing = spool.writer.as_ref().map(|w| w.seq);
    let complete: Vec<u64> = spool
        .counts
        .iter()
        .filter(|(&seq, c)| Some(seq) != writing && c.stored >= c.appended)
        .map(|(&seq, _)| seq)
        .collect();
    for seq in complete {
        if std::fs::remove_file(spool_path(dir, seq)).is_ok() {
            spool.counts.remove(&seq);
        }
    }
}

/// Deletes sealed segments whose every click is stored. A failed delete is retried on the
/// next call, and at worst the segment is replayed (a no-op) by the next start.
fn remove_complete(dir: &Path, state: &mut State) {
    let active = state.active.seq;
    let complete: Vec<u64> = state
        .counts
        .iter()
        .filter(|(&seq, c)| seq != active && c.stored >= c.appended)
        .map(|(&seq, _)| seq)
        .collect();
    for seq in complete {
        if std::fs::remove_file(segment_path(dir, seq)).is_ok() {
            state.counts.remove(&seq);
        }
    }
}

impl Active {
    fn create(dir: &Path, seq: u64) -> std::io::Result<Active> {
        Self::create_at(segment_path(dir, seq), seq)
    }

    fn create_at(path: PathBuf, seq: u64) -> std::io::Result<Active> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(Active {
            seq,
            file,
            bytes: 0,
            opened: Instant::now(),
        })
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.{EXTENSION}"))
}

fn segment_seq(path: &Path) -> Option<u64> {
    if path.extension()? != EXTENSION {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

fn spool_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.{SPOOL_EXTENSION}"))
}

fn spool_seq(path: &Path) -> Option<u64> {
    if path.extension()? != SPOOL_EXTENSION {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

/// Stores the clicks of `segments` (from [`FileJournal::open`]) through `sink`, `batch` at a
/// time, deleting each segment once it is stored. Run it before serving. Clicks the sink
/// refuses for good are written to [`SET_ASIDE_FILE`] beside the segment, so one bad click
/// cannot keep a server from starting; a transient failure stops the replay (with the
/// segment kept).
pub async fn replay<S: ClickSink>(
    sink: &S,
    segments: &[PathBuf],
    batch: usize,
) -> Result<Replayed, ReplayError> {
    let mut done = Replayed::default();
    for path in segments {
        let io = |source| ReplayError::Io {
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let (clicks, skipped) = read_segment(&bytes);
        let dir = path.parent().unwrap_or(Path::new("."));
        for chunk in clicks.chunks(batch.max(1)) {
            for (i, error) in write_isolating(sink, chunk).await? {
                set_aside_in(dir, &chunk[i], &error).map_err(io)?;
                done.set_aside += 1;
            }
        }
        std::fs::remove_file(path).map_err(io)?;
        done.segments += 1;
        done.clicks += clicks.len();
        done.skipped_lines += skipped;
    }
    Ok(done)
}

/// Appends a refused click to the set-aside file of `dir`, synced: once its ticket is released
/// this is the click's only copy. Rare, so the sync costs nothing that matters.
fn set_aside_in(dir: &Path, click: &Click, error: &RepoError) -> std::io::Result<()> {
    let mut line = chrono_free_now();
    line.push('\t');
    escape_into(&mut line, &error.to_string());
    line.push('\t');
    line.push_str(&encode(click));
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(SET_ASIDE_FILE))?;
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

// --- the line format ---------------------------------------------------------------------------
//
// `v1 <tab> click id <tab> link id <tab> 0|1 (robot) <tab> ip or - <tab> user agent <tab> referer`
// `<tab> link|qr <tab> country or -`, then `<tab> families` for a click that dropped its headers,
// and a newline. Optional text is `-` when absent and `+` then the text when present, with `\`,
// tab, CR and LF escaped, so a line never holds a raw tab or newline of its own. The time is
// not written: a click id is a UUIDv7 that carries it. The families are
// `device,os,browser,platform or -,referring domain or -` by their stable names
// (`mobile,ios,other,instagram,instagram.com`).

fn encode(click: &Click) -> String {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(
        96 + click.user_agent.as_ref().map_or(0, String::len)
            + click.referer.as_ref().map_or(0, String::len),
    );
    // Writing to a String cannot fail.
    let _ = write!(
        line,
        "v1\t{}\t{}\t{}\t",
        click.id,
        click.link_id.as_uuid().simple(),
        u8::from(click.is_bot)
    );
    match click.ip {
        Some(ip) => {
            let _ = write!(line, "{ip}");
        }
        None => line.push('-'),
    }
    for text in [&click.user_agent, &click.referer] {
        line.push('\t');
        match text {
            None => line.push('-'),
            Some(text) => {
                line.push('+');
                escape_into(&mut line, text);
            }
        }
    }
    // The source came after v1's seven fields; v1 lines without it are link clicks.
    line.push('\t');
    line.push_str(click.source.as_str());
    // The country came after the source; lines without it have none.
    line.push('\t');
    line.push_str(click.country.as_ref().map_or("-", Country::as_str));
    // The families came after the country, and only a click without headers has them: every
    // other line stays as the version before wrote it, so that version can still replay it.
    if let Some(families) = &click.families {
        line.push('\t');
        encode_families(&mut line, families);
    }
    line.push('\n');
    line
}

fn encode_families(line: &mut String, families: &Visitor) {
    let UserAgentFacts {
        device,
        os,
        browser,
        platform,
    } = families.agent;
    for name in [
        device.as_str(),
        os.as_str(),
        browser.as_str(),
        platform.map_or("-", Platform::as_str),
        families.referrer_domain.as_deref().unwrap_or("-"),
    ] {
        line.push_str(name);
        line.push(',');
    }
    line.pop();
}

/// The families [`encode_families`] wrote; `None` unless every part is one of its names.
fn decode_families(field: &str) -> Option<Visitor> {
    let mut parts = field.split(',');
    let device = Device::parse(parts.next()?).ok()?;
    let os = Os::parse(parts.next()?).ok()?;
    let browser = Browser::parse(parts.next()?).ok()?;
    let platform = match parts.next()? {
        "-" => None,
        name => Some(Platform::parse(name).ok()?),
    };
    let referrer_domain = match parts.next()? {
        "-" => None,
        // A registrable domain as `referrer_domain` gives it: lowercase ASCII, punycoded.
        domain if !domain.is_empty() && domain.bytes().all(|b| b.is_ascii_graphic()) => {
            Some(domain.to_owned())
        }
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Visitor {
        agent: UserAgentFacts {
            device,
            os,
            browser,
            platform,
        },
        referrer_domain,
    })
}

/// Appends `text` with `\`, tab, CR and LF escaped.
fn escape_into(line: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '\t' => line.push_str("\\t"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            c => line.push(c),
        }
    }
}

/// The clicks of a segment's bytes, and how many lines were skipped. A last line without its
/// newline was torn by a crash mid-write and is skipped like any line that does not parse.
fn read_segment(bytes: &[u8]) -> (Vec<Click>, usize) {
    let mut clicks = Vec::new();
    let mut skipped = 0;
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last {
            // After the final newline: empty, or a torn line.
            skipped += usize::from(!line.is_empty());
            break;
        }
        match std::str::from_utf8(line).ok().and_then(decode) {
            Some(click) => clicks.push(click),
            None => skipped += 1,
        }
    }
    (clicks, skipped)
}

fn decode(line: &str) -> Option<Click> {
    let mut fields = line.split('\t');
    if fields.next()? != "v1" {
        return None;
    }
    let id = ClickId::parse(fields.next()?)?;
    let link_id = LinkId::from_uuid(uuid::Uuid::try_parse(fields.next()?).ok()?);
    let is_bot = match fields.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let ip = match fields.next()? {
        "-" => None,
        ip => Some(ip.parse().ok()?),
    };
    let user_agent = optional_text(fields.next()?)?;
    let referer = optional_text(fields.next()?)?;
    // Lines written before the source field read as link clicks.
    let source = match fields.next() {
        None => ClickSource::Link,
        Some(name) => ClickSource::parse(name)?,
    };
    let country = match fields.next() {
        None | Some("-") => None,
        Some(code) => Some(Country::parse(code).ok()?),
    };
    let families = match fields.next() {
        None => None,
        Some(field) => Some(decode_families(field)?),
    };
    if fields.next().is_some() {
        return None;
    }
    Some(Click {
        id,
        link_id,
        at: id.issued_at(),
        ip,
        user_agent,
        referer,
        is_bot,
        source,
        country,
        families,
    })
}

/// `-` → absent; `+text` → the unescaped text; anything else does not parse (outer `None`).
fn optional_text(field: &str) -> Option<Option<String>> {
    if field == "-" {
        return Some(None);
    }
    let escaped = field.strip_prefix('+')?;
    let mut text = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        text.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(Some(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use skinstack_core::store::RepoResult;
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            Self(std::env::temp_dir().join(format!("skinstack-journal-{}", uuid::Uuid::new_v4())))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<Click>>);

    #[async_trait::async_trait]
    impl ClickSink for Collect {
        async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
            self.0.lock().unwrap().extend_from_slice(clicks);
            Ok(())
        }
    }

    fn odd_click() -> Click {
        Click::new(
            LinkId::new(),
            Some("2001:db8:abcd:12::1".parse().unwrap()),
            Some("Mozilla/5.0 \\ tab\there"),
            Some("https://example.com/?q=a\tb\\n"),
        )
    }

    fn segments(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn every_kind_of_click_reads_back_as_it_was_written() {
        let clicks = vec![
            odd_click(),
            Click::new(LinkId::new(), None, None, None),
            Click::new(
                LinkId::new(),
                Some("10.1.2.3".parse().unwrap()),
                Some(""),
                Some("-"),
            ),
            Click::new(LinkId::new(), None, Some("Twitterbot/1.0"), None),
            Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None).from_source(ClickSource::Qr),
            Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None)
                .in_country(Some(Country::parse("DE").unwrap())),
            instagram_click().without_headers(),
            Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None).without_headers(),
        ];
        let bytes: String = clicks.iter().map(encode).collect();
        assert_eq!(read_segment(bytes.as_bytes()), (clicks, 0));
    }

    /// The line of `click` without its last `fields` fields, as an older version wrote it.
    fn older_line(click: &Click, fields: usize) -> String {
        let line = encode(click);
        let mut parts: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
        parts.truncate(parts.len() - fields);
        format!("{}\n", parts.join("\t"))
    }

    #[test]
    fn lines_written_before_the_source_field_read_as_link_clicks() {
        let click = Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None);
        let v1 = older_line(&click, 2);
        assert_eq!(read_segment(v1.as_bytes()), (vec![click], 0));
    }

    #[test]
    fn lines_written_before_the_country_field_read_as_clicks_from_nowhere_known() {
        let click =
            Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None).from_source(ClickSource::Qr);
        let line = older_line(&click, 1);
        assert!(line.ends_with("\tqr\n"), "{line:?}");
        assert_eq!(read_segment(line.as_bytes()), (vec![click], 0));
    }

    /// A click from Instagram's in-app browser, referred by Instagram's link shim.
    fn instagram_click() -> Click {
        Click::new(
            LinkId::new(),
            Some("198.51.100.7".parse().unwrap()),
            Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)"),
            Some("https://l.instagram.com/?u=https%3A%2F%2Fskn.st%2Fabc"),
        )
    }

    #[test]
    fn a_click_without_headers_is_journalled_with_its_families_and_replays_the_same() {
        let click = instagram_click()
            .in_country(Some(Country::parse("FR").unwrap()))
            .without_headers();
        let line = encode(&click);
        assert!(
            line.ends_with("\tFR\tmobile,ios,other,instagram,instagram.com\n"),
            "{line:?}"
        );
        assert!(!line.contains("Mozilla"), "no header is written: {line:?}");
        let (read, skipped) = read_segment(line.as_bytes());
        assert_eq!(
            (read.as_slice(), skipped),
            (std::slice::from_ref(&click), 0)
        );
        assert_eq!(read[0].visitor(), instagram_click().visitor());
    }

    #[test]
    fn a_click_with_its_headers_is_written_as_the_version_before_the_families_wrote_it() {
        let click = instagram_click();
        let line = encode(&click);
        assert_eq!(line.trim_end().split('\t').count(), 9, "{line:?}");
        assert_eq!(read_segment(line.as_bytes()), (vec![click], 0));
    }

    #[test]
    fn a_line_with_families_that_are_not_ours_is_skipped() {
        let click = instagram_click().without_headers();
        let line = encode(&click);
        for bad in [
            "mobile,ios,other,instagram",
            "mobile,ios,other,instagram,instagram.com,x",
            "phone,ios,other,instagram,instagram.com",
            "mobile,ios,other,myspace,-",
            "mobile,ios,other,-,",
            "",
        ] {
            let line = line.replace("mobile,ios,other,instagram,instagram.com", bad);
            assert_eq!(read_segment(line.as_bytes()), (vec![], 1), "{bad:?}");
        }
    }

    #[test]
    fn a_line_with_a_code_that_names_no_country_is_skipped() {
        let click = Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None);
        let line = encode(&click).replace("\t-\n", "\tXX\n");
        assert_eq!(read_segment(line.as_bytes()), (vec![], 1));
    }

    #[test]
    fn a_torn_last_line_and_foreign_lines_are_skipped() {
        let click = odd_click();
        let mut bytes = encode(&click).into_bytes();
        bytes.extend_from_slice(b"not a click\n");
        let torn = encode(&odd_click());
        bytes.extend_from_slice(&torn.as_bytes()[..torn.len() / 2]);
        assert_eq!(read_segment(&bytes), (vec![click], 2));
    }

    #[tokio::test]
    async fn what_a_killed_process_left_is_replayed_and_deleted() {
        let dir = TempDir::new();
        let (journal, left) = FileJournal::open(&dir.0).unwrap();
        assert!(left.is_empty());
        let clicks: Vec<Click> = (0..3).map(|_| odd_click()).collect();
        let tickets: Vec<_> = clicks.iter().map(|c| journal.append(c).unwrap()).collect();
        journal.stored(&tickets[..1]); // one was flushed, then the process died
        drop(journal);

        let (journal, left) = FileJournal::open(&dir.0).unwrap();
        assert_eq!(left.len(), 1);
        let sink = Collect::default();
        let replayed = replay(&sink, &left, 2).await.unwrap();
        assert_eq!(
            replayed,
            Replayed {
                segments: 1,
                clicks: 3,
                skipped_lines: 0,
                set_aside: 0,
            }
        );
        assert_eq!(
            *sink.0.lock().unwrap(),
            clicks,
            "idempotent sinks ignore the stored one"
        );
        assert_eq!(journal.close().unwrap(), 0);
        assert_eq!(segments(&dir.0), 0, "nothing left once replayed and closed");
    }

    #[test]
    fn a_sealed_segment_is_deleted_once_every_click_in_it_is_stored() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let first = journal.append(&odd_click()).unwrap();
        // Seal it: the next append starts a new segment.
        journal.lock().active.opened -= SEGMENT_AGE;
        let second = journal.append(&odd_click()).unwrap();
        assert_ne!(first, second);
        journal.sync().unwrap();
        assert_eq!(segments(&dir.0), 2);
        journal.stored(&[second]);
        assert_eq!(segments(&dir.0), 2, "the active segment stays while in use");
        journal.stored(&[first]);
        assert_eq!(segments(&dir.0), 1);
        assert_eq!(journal.close().unwrap(), 0);
        assert_eq!(segments(&dir.0), 0);
    }

    #[test]
    fn close_keeps_a_segment_with_unstored_clicks() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        journal.append(&odd_click()).unwrap();
        assert_eq!(journal.close().unwrap(), 1);
        assert_eq!(FileJournal::open(&dir.0).unwrap().1.len(), 1);
    }

    /// Refuses for good every click whose user agent is `poison`, as PostgreSQL refuses a
    /// statement for one bad row; collects the rest.
    #[derive(Default)]
    struct Picky(Mutex<Vec<Click>>);

    #[async_trait::async_trait]
    impl ClickSink for Picky {
        async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
            if clicks
                .iter()
                .any(|c| c.user_agent.as_deref() == Some("poison"))
            {
                return Err(RepoError::Rejected("clicks_user_agent_check".into()));
            }
            self.0.lock().unwrap().extend_from_slice(clicks);
            Ok(())
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn spooled_clicks_are_handed_back_once_in_order_and_deleted_once_stored() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let clicks: Vec<Click> = (0..5).map(|_| odd_click()).collect();
        for c in &clicks[..2] {
            journal.spool(c).unwrap();
        }
        // Seal the first spool segment: the next spooled click starts another.
        journal.lock().spool.writer.as_mut().unwrap().opened -= SEGMENT_AGE;
        for c in &clicks[2..] {
            journal.spool(c).unwrap();
        }
        assert_eq!(
            files(&dir.0)
                .iter()
                .filter(|f| f.ends_with(".spool"))
                .count(),
            2
        );

        let first = journal.unspool(3).unwrap();
        let rest = journal.unspool(10).unwrap();
        assert!(
            journal.unspool(10).unwrap().is_empty(),
            "each click is handed out once"
        );
        let handed: Vec<Click> = first.iter().chain(&rest).map(|(c, _)| c.clone()).collect();
        assert_eq!(handed, clicks, "across segments, oldest first");

        let tickets: Vec<JournalTicket> = first.iter().chain(&rest).map(|(_, t)| *t).collect();
        journal.stored(&tickets[..1]);
        assert_eq!(
            files(&dir.0)
                .iter()
                .filter(|f| f.ends_with(".spool"))
                .count(),
            2
        );
        journal.stored(&tickets[1..2]);
        assert_eq!(
            files(&dir.0)
                .iter()
                .filter(|f| f.ends_with(".spool"))
                .count(),
            1,
            "the sealed segment goes once both its clicks are stored"
        );
        journal.stored(&tickets[2..]);
        assert_eq!(journal.close().unwrap(), 0);
        assert!(files(&dir.0).is_empty(), "{:?}", files(&dir.0));
    }

    #[test]
    fn a_spooled_click_appended_after_a_read_is_handed_out_by_the_next_read() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let (a, b) = (odd_click(), odd_click());
        journal.spool(&a).unwrap();
        assert_eq!(journal.unspool(10).unwrap().len(), 1);
        assert!(journal.unspool(10).unwrap().is_empty());
        journal.spool(&b).unwrap();
        let again = journal.unspool(10).unwrap();
        assert_eq!(
            again.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
            vec![b]
        );
        assert_eq!(
            journal.close().unwrap(),
            1,
            "unstored spooled clicks stay for the next start"
        );
    }

    #[tokio::test]
    async fn spooled_clicks_a_killed_process_left_are_replayed_like_appended_ones() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let appended = odd_click();
        let spooled: Vec<Click> = (0..2).map(|_| odd_click()).collect();
        journal.append(&appended).unwrap();
        for c in &spooled {
            journal.spool(c).unwrap();
        }
        // One was taken back but not stored when the process died.
        assert_eq!(journal.unspool(1).unwrap().len(), 1);
        drop(journal);

        let (journal, left) = FileJournal::open(&dir.0).unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        let sink = Collect::default();
        let replayed = replay(&sink, &left, 10).await.unwrap();
        assert_eq!(replayed.clicks, 3);
        let mut got: Vec<ClickId> = sink.0.lock().unwrap().iter().map(|c| c.id).collect();
        let mut want: Vec<ClickId> = spooled.iter().chain([&appended]).map(|c| c.id).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        // The new process spools into segments numbered past the old ones.
        journal.spool(&odd_click()).unwrap();
        assert_eq!(journal.unspool(10).unwrap().len(), 1);
        assert_eq!(journal.close().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_click_the_store_refuses_in_a_replay_is_set_aside_and_the_rest_are_stored() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let poison = Click::new(LinkId::new(), None, Some("poison"), None);
        let good: Vec<Click> = (0..4).map(|_| odd_click()).collect();
        for c in good[..2].iter().chain([&poison]).chain(&good[2..]) {
            journal.append(c).unwrap();
        }
        drop(journal);

        let (journal, left) = FileJournal::open(&dir.0).unwrap();
        let sink = Picky::default();
        let replayed = replay(&sink, &left, 10).await.unwrap();
        assert_eq!(replayed.set_aside, 1);
        assert_eq!(*sink.0.lock().unwrap(), good);
        let kept = std::fs::read_to_string(dir.0.join(SET_ASIDE_FILE)).unwrap();
        let line = kept.lines().next().unwrap();
        let mut fields = line.splitn(3, '\t');
        let (_at, why, click) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        assert!(why.contains("clicks_user_agent_check"), "{why}");
        assert_eq!(decode(click), Some(poison), "the whole click is kept");
        assert_eq!(kept.lines().count(), 1);
        assert_eq!(journal.close().unwrap(), 0);
        assert_eq!(files(&dir.0), vec![SET_ASIDE_FILE.to_owned()]);
    }

    #[test]
    fn set_aside_clicks_are_kept_with_their_error_escaped_on_one_line() {
        let dir = TempDir::new();
        let (journal, _) = FileJournal::open(&dir.0).unwrap();
        let click = odd_click();
        let error = RepoError::Rejected("bad\tvalue\non two lines".into());
        journal.set_aside(&click, &error).unwrap();
        journal.set_aside(&click, &error).unwrap();
        let kept = std::fs::read_to_string(dir.0.join(SET_ASIDE_FILE)).unwrap();
        assert_eq!(kept.lines().count(), 2);
        let line = kept.lines().next().unwrap();
        let fields: Vec<&str> = line.splitn(3, '\t').collect();
        assert_eq!(
            fields[1],
            "storage refused the data: bad\\tvalue\\non two lines"
        );
        assert_eq!(decode(fields[2]), Some(click));
    }
}
