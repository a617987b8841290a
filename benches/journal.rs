//! The click journal's cost on the request path: one line appended with one `write(2)` per
//! click, next to the bare buffer push it is added to (`click_enqueue` in the redirect bench).
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion};
use skinstack_benches::DiscardSink;
use skinstack_core::tracking::click_flush::ClickJournal;
use skinstack_core::{Click, ClickRecorder, FlushConfig, LinkId};
use skinstack_journal::FileJournal;
use std::hint::black_box;
use std::sync::Arc;

const UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

fn journal(c: &mut Criterion) {
    // Under target/, not a /tmp that may be tmpfs: a journal lives on a real disk.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("journal-bench-{}", std::process::id()));
    let link = LinkId::new();
    let ip = "203.0.113.77".parse().ok();
    let click = Click::new(link, ip, Some(UA), Some("https://www.instagram.com/"));

    {
        let (journal, _) = FileJournal::open(&dir).expect("journal");
        c.bench_function("journal_append", |b| {
            // Released at once, as the flusher would after a batch, so sealed segments are
            // deleted and the bench does not fill the disk.
            b.iter(|| {
                let ticket = journal.append(black_box(&click)).expect("append");
                journal.stored(&[ticket]);
            })
        });
        journal.close().expect("close");
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (journal, _) = FileJournal::open(&dir).expect("journal");
    let journal = Arc::new(journal);
    let (recorder, flusher) = rt.block_on(async {
        ClickRecorder::start_journaled(DiscardSink, FlushConfig::default(), journal.clone())
    });
    c.bench_function("click_enqueue_journaled", |b| {
        b.to_async(&rt)
            .iter(|| async { recorder.record(Click::new(link, ip, Some(UA), None)).await })
    });
    let _ = rt.block_on(flusher.shutdown(std::time::Duration::from_secs(60)));
    let _ = journal.close();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, journal);
criterion_main!(benches);
