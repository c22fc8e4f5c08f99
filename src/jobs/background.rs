//! Work off the calling thread that ends in one result: the app's slow one-off jobs (the
//! authors' figure, writing a saved state). Same shape as the worker's handle: started with
//! the work and a `notify` that wakes the caller (the app passes a repaint request), then
//! polled once a frame, never blocking it.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// One job running on its own thread.
#[derive(Debug)]
pub struct Background<T> {
    result: Receiver<T>,
}

/// What a poll found.
#[derive(Debug, PartialEq)]
pub enum Poll<T> {
    /// Still working.
    Running,
    /// Finished with this result (given once).
    Done(T),
    /// The job's thread ended without a result (it panicked).
    Lost,
}

impl<T: Send + 'static> Background<T> {
    /// Starts `work` on a thread named `name`; `notify` runs once the result is ready (or the
    /// thread could not start, in which case the work runs here, at once).
    pub fn start(
        name: &str,
        work: impl FnOnce() -> T + Send + 'static,
        notify: impl Fn() + Send + 'static,
    ) -> Self {
        let (send, result) = channel();
        // The work and the sender move into the thread; if it cannot start, both come back
        // through this slot and the work runs on the caller's thread instead.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some((work, send))));
        let theirs = slot.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let taken = theirs.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some((work, send)) = taken {
                    let _ = send.send(work());
                    notify();
                }
            });
        if spawned.is_err()
            && let Some((work, send)) = slot.lock().unwrap_or_else(|p| p.into_inner()).take()
        {
            let _ = send.send(work());
        }
        Background { result }
    }
}

impl<T> Background<T> {
    /// The result once it is there; never blocks.
    pub fn poll(&self) -> Poll<T> {
        match self.result.try_recv() {
            Ok(value) => Poll::Done(value),
            Err(TryRecvError::Empty) => Poll::Running,
            Err(TryRecvError::Disconnected) => Poll::Lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn wait<T>(job: &Background<T>) -> Poll<T> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            match job.poll() {
                Poll::Running if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                other => return other,
            }
        }
    }

    #[test]
    fn the_result_arrives_once_and_the_caller_is_woken() {
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let (go, gate) = channel::<()>();
        let job = Background::start(
            "test job",
            move || {
                gate.recv().unwrap();
                6 * 7
            },
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
            },
        );
        assert_eq!(job.poll(), Poll::Running, "held at the gate");
        go.send(()).unwrap();
        assert_eq!(wait(&job), Poll::Done(42));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        // Given once: afterwards the thread is gone.
        assert_eq!(wait(&job), Poll::Lost);
    }

    #[test]
    fn a_job_that_panics_is_lost_not_running_forever() {
        let job = Background::<u8>::start("failing job", || panic!("on purpose"), || {});
        assert_eq!(wait(&job), Poll::Lost);
    }
}
