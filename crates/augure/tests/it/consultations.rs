//! The charging engine on the real backends (issue 11): the simulation's worlds of
//! concurrent consultations — random first replies, drops, reconnections, top-ups and
//! pauses, duplicate and late events, crashes with restart or take-over — run against
//! the store this suite runs on (SQLite, or PostgreSQL with `AUGURE_TEST_DATABASE`), with
//! the same checks after every step, and `ledger verify`'s audit clean at the end.

use std::sync::Arc;

use augure_app::charging::simulation::{self, PER_WORLD, SimBooks, StoreBooks};
use augure_testkit::TestApp;

#[tokio::test]
async fn a_few_hundred_simulated_consultations_settle_once_within_the_tariff_on_the_real_store() {
    let t = TestApp::spawn().await;
    let store = t.store.clone();
    let worlds = 15;
    let stats = simulation::simulate(worlds, 0x5EED_0011, |seed| -> Arc<dyn SimBooks> {
        Arc::new(StoreBooks::new(store.clone(), format!("w{seed}")))
    })
    .await;
    assert_eq!(stats.consultations, worlds as usize * PER_WORLD, "{stats:#?}");
    assert!(stats.charged * 2 > stats.settled, "most consultations were paid: {stats:#?}");
    assert!(stats.ends.get("interrupted").is_some_and(|n| *n > 0), "a crash was settled: {stats:#?}");
    let audit = augure_domain::ledger::audit(&store.ledger_snapshot().await.expect("snapshot"));
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}
