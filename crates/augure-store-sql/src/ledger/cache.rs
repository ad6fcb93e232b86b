//! What SQLite's one writer remembers of the ledger accounts it wrote.

use std::collections::HashMap;

use augure_domain::ledger::{AccountId, LedgerAccount, TransferId};

/// What the one writer of an SQLite database knows of the ledger accounts it wrote, so that
/// a batch need not read them back. It holds while the largest transfer id is the one this
/// writer last wrote: every change to an account comes with a transfer, so a larger id
/// means another writer (another process on the same file) got in, and the cache is
/// dropped. The account update still checks each version it read.
#[derive(Default)]
pub struct LedgerCache {
    accounts: HashMap<AccountId, (LedgerAccount, i64, Option<TransferId>)>,
    largest_id: Option<i64>,
}

/// Held across a batch's awaits, hence an async mutex.
pub type SharedLedgerCache = tokio::sync::Mutex<LedgerCache>;

impl LedgerCache {
    /// Bounds memory: past this many accounts the cache starts again from empty.
    const CAPACITY: usize = 100_000;

    /// Drops everything unless `largest_id` is the largest transfer id this writer wrote.
    pub fn validate(&mut self, largest_id: i64) {
        if self.largest_id != Some(largest_id) {
            self.clear();
        }
    }

    /// An account as last written: its sums, version and last transfer.
    pub fn account(&self, id: AccountId) -> Option<(&LedgerAccount, i64, Option<TransferId>)> {
        self.accounts.get(&id).map(|(account, version, last)| (account, *version, *last))
    }

    /// Records what a committed batch left, and the largest transfer id it leaves.
    pub fn remember<'a>(
        &mut self,
        accounts: impl Iterator<Item = (&'a LedgerAccount, i64, Option<TransferId>)>,
        largest_id: i64,
    ) {
        if self.accounts.len() > Self::CAPACITY {
            self.accounts.clear();
        }
        for (account, version, last) in accounts {
            self.accounts.insert(account.id, (account.clone(), version, last));
        }
        self.largest_id = Some(largest_id);
    }

    pub fn clear(&mut self) {
        self.accounts.clear();
        self.largest_id = None;
    }
}
