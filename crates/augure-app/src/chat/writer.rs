//! Group commit for chat messages and their marks. Each message is durable before it is
//! shown, so each was a transaction of its own, and with the store's one writer and its
//! flush on commit a node carried a few hundred chats at a message a second each. Here
//! every write waiting while one transaction is in flight goes into the next: one commit
//! for all of them, and the delay a message sees is at most one transaction's.

use std::sync::{Arc, OnceLock};

use augure_store::{ChatMark, ChatMessage, ChatWrite, ChatWritten, NewChatMessage, Store, StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

/// Writes per transaction at most.
const WRITES_PER_BATCH: usize = 256;

struct Job {
    write: ChatWrite,
    answer: oneshot::Sender<StoreResult<ChatWritten>>,
}

/// The chats' writes to the store, batched by a task of their own (started on first use,
/// on the runtime that uses it).
pub(crate) struct ChatWriter {
    store: Arc<dyn Store>,
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
}

impl ChatWriter {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store, queue: OnceLock::new() }
    }

    pub(crate) async fn append(&self, message: NewChatMessage) -> StoreResult<(ChatMessage, bool)> {
        self.write(ChatWrite::Append(message)).await?.appended()
    }

    pub(crate) async fn mark(&self, mark: ChatMark) -> StoreResult<u64> {
        self.write(ChatWrite::Mark(mark)).await?.marked()
    }

    async fn write(&self, write: ChatWrite) -> StoreResult<ChatWritten> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(self.store.clone(), rx));
            tx
        });
        let (answer, answered) = oneshot::channel();
        let job = Job { write, answer };
        // Without its task (its runtime ended), the write is made here, alone.
        let job = match queue.send(job) {
            Ok(()) => match answered.await {
                Ok(result) => return result,
                Err(_) => return Err(StoreError::Corrupt("the chat writer stopped".into())),
            },
            Err(mpsc::error::SendError(job)) => job,
        };
        alone(&*self.store, job.write).await
    }
}

async fn alone(store: &dyn Store, write: ChatWrite) -> StoreResult<ChatWritten> {
    let mut answers = store.write_chat(std::slice::from_ref(&write)).await?;
    answers.pop().ok_or_else(|| StoreError::Corrupt("a chat write unanswered".into()))
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(WRITES_PER_BATCH);
    while rx.recv_many(&mut jobs, WRITES_PER_BATCH).await > 0 {
        let (writes, answers): (Vec<ChatWrite>, Vec<_>) = jobs.drain(..).map(|j| (j.write, j.answer)).unzip();
        match store.write_chat(&writes).await {
            Ok(written) if written.len() == answers.len() => {
                for (answer, written) in answers.into_iter().zip(written) {
                    let _ = answer.send(Ok(written));
                }
            }
            // One write failed them all: each alone, so that only its own fails.
            _ => {
                for (write, answer) in writes.into_iter().zip(answers) {
                    let _ = answer.send(alone(&*store, write).await);
                }
            }
        }
    }
}
