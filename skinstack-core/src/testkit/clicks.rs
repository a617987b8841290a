//! The contract for the click sink: a batch is stored and counted once however often it is
//! retried, robots are stored but not counted, and clicks on a link deleted since are dropped.

use super::*;

/// The contract cases for the click sink.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn human(link: LinkId) -> Click {
        Click::new(
            link,
            Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
            Some("Mozilla/5.0 (iPhone)"),
            None,
        )
    }

    pub async fn click_batches_are_stored_and_counted_once_even_when_retried<S: LedgerStore>(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let a = store.insert_link(new_link(&f, "link-a")).await.unwrap();
        let mut b = new_link(&f, "link-b");
        b.campaign_code = None;
        let b = store.insert_link(b).await.unwrap();
        let mut batch: Vec<Click> = (0..30)
            .map(|i| human(if i % 3 == 0 { b.id } else { a.id }))
            .collect();
        batch.push(Click::new(a.id, None, Some("Twitterbot/1.0"), None));
        store.record_clicks(&batch).await.unwrap();
        // The flusher's retry after an ambiguous failure changes nothing.
        store.record_clicks(&batch).await.unwrap();
        assert_eq!(
            store.link_by_id(a.id).await.unwrap().total_clicks,
            20,
            "the robot is stored, not counted"
        );
        assert_eq!(store.link_by_id(b.id).await.unwrap().total_clicks, 10);
        for click in &batch {
            let facts = store.click_facts(click.id).await.unwrap();
            let facts = facts.expect("every click of the batch is stored");
            assert_eq!(facts.is_bot, click.is_bot);
        }
    }

    pub async fn clicks_on_a_link_deleted_since_are_dropped_not_failed<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let keep = store.insert_link(new_link(&f, "keeper")).await.unwrap();
        let mut gone = new_link(&f, "goner");
        gone.campaign_code = None;
        let gone = store.insert_link(gone).await.unwrap();
        let batch = vec![human(keep.id), human(gone.id)];
        store.delete_link(gone.id).await.unwrap();
        store.record_clicks(&batch).await.unwrap();
        assert_eq!(store.link_by_id(keep.id).await.unwrap().total_clicks, 1);
        assert!(store.click_facts(batch[0].id).await.unwrap().is_some());
        assert!(store.click_facts(batch[1].id).await.unwrap().is_none());
    }
}
