//! Token counts kept in memory on the token endpoint's path, with atomics only: no lock, no
//! allocation and no database write per request. The upkeep takes them (see
//! `service::usage`) and writes them behind as additive upserts, as it does secret last-use
//! times.
//!
//! A count lives in an [`HourCounter`]: two slots, chosen by the hour's parity, each one
//! `AtomicU64` packing the hour (high 32 bits, plus one so that zero means empty) and the
//! count (low 32 bits). Adding is a compare-and-swap of the slot; taking swaps it to zero and
//! gets hour and count in one step, so between the token endpoint and the write-behind no
//! count is lost or counted twice. When an hour begins, the other slot takes its counts while
//! the write-behind empties the previous hour's. A slot found still holding an hour two hours
//! old is reused, dropping that count: it means the write-behind (every minute) has not run
//! for an hour.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::quota::QuotaState;
use super::{ClientCache, Clients};
use crate::domain::usage::{Hour, Outcome, Refusal, UsageCount};

/// A count per hour, for the current hour and the one before (see the module's comment).
#[derive(Debug, Default)]
pub struct HourCounter([AtomicU64; 2]);

fn tag(hour: Hour) -> u64 {
    u64::try_from(hour.0.saturating_add(1)).map_or(1, |t| t.clamp(1, u64::from(u32::MAX)))
}

fn unpack(slot: u64) -> (u64, u32) {
    // The low half is the count by construction.
    #[allow(clippy::cast_possible_truncation)]
    (slot >> 32, slot as u32)
}

impl HourCounter {
    pub fn add(&self, hour: Hour) {
        self.add_n(hour, 1);
    }

    pub fn add_n(&self, hour: Hour, n: u32) {
        if n == 0 {
            return;
        }
        let tag = tag(hour);
        let slot = &self.0[usize::from(hour.0 & 1 == 1)];
        let mut seen = slot.load(Ordering::Relaxed);
        loop {
            let (held, count) = unpack(seen);
            let next = if held >= tag {
                // This hour, or a later one when the clock stepped back: count it there.
                (held << 32) | u64::from(count.saturating_add(n))
            } else {
                (tag << 32) | u64::from(n)
            };
            match slot.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => seen = current,
            }
        }
    }

    /// Empties both slots, handing each count over with its hour.
    pub fn take(&self, mut out: impl FnMut(Hour, u32)) {
        for slot in &self.0 {
            if slot.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let (held, count) = unpack(slot.swap(0, Ordering::Relaxed));
            if count > 0 {
                out(Hour(i64::try_from(held).unwrap_or(i64::MAX) - 1), count);
            }
        }
    }

    /// Calls `out` with the count of each hour held, leaving them.
    pub fn peek(&self, mut out: impl FnMut(Hour, u32)) {
        for slot in &self.0 {
            let (held, count) = unpack(slot.load(Ordering::Relaxed));
            if count > 0 {
                out(Hour(i64::try_from(held).unwrap_or(i64::MAX) - 1), count);
            }
        }
    }

    /// Moves the counts into `other` (a cache entry replaced by a newer one of its client).
    pub fn move_into(&self, other: &HourCounter) {
        self.take(|hour, n| other.add_n(hour, n));
    }
}

/// Refusals per OAuth error code.
#[derive(Debug, Default)]
pub struct RefusalCounters([HourCounter; Refusal::COUNT]);

impl RefusalCounters {
    pub fn add(&self, refusal: Refusal, hour: Hour) {
        self.0[refusal.index()].add(hour);
    }

    pub fn take(&self, mut out: impl FnMut(Refusal, Hour, u32)) {
        for (refusal, counter) in Refusal::ALL.into_iter().zip(&self.0) {
            counter.take(|hour, n| out(refusal, hour, n));
        }
    }

    fn move_into(&self, other: &RefusalCounters) {
        for (from, to) in self.0.iter().zip(&other.0) {
            from.move_into(to);
        }
    }
}

/// A client's counts: tokens issued, and refusals by error code once it has had one (most
/// clients never do, and 100,000 clients are held in memory). A client's quota lives beside
/// its refusal counts, allocated with it: most clients have neither, and the cache entry
/// stays in its allocation class.
#[derive(Debug, Default)]
pub struct ClientCounters {
    issued: HourCounter,
    rare: OnceLock<Box<Rare>>,
}

#[derive(Debug, Default)]
struct Rare {
    refused: RefusalCounters,
    quota: Option<QuotaState>,
}

impl ClientCounters {
    pub fn with_quota(quota: Option<QuotaState>) -> ClientCounters {
        let counters = ClientCounters::default();
        if let Some(quota) = quota {
            let _ = counters.rare.set(Box::new(Rare {
                refused: RefusalCounters::default(),
                quota: Some(quota),
            }));
        }
        counters
    }

    /// The client's quota: one atomic load for a client without one.
    pub fn quota(&self) -> Option<&QuotaState> {
        self.rare.get()?.quota.as_ref()
    }

    pub fn issued(&self, hour: Hour) {
        self.issued.add(hour);
    }

    /// The first refusal of a client allocates its counters, once.
    pub fn refused(&self, refusal: Refusal, hour: Hour) {
        self.rare
            .get_or_init(Box::default)
            .refused
            .add(refusal, hour);
    }

    /// Moves the counts into `other` (see [`HourCounter::move_into`]).
    pub fn move_into(&self, other: &ClientCounters) {
        self.issued.move_into(&other.issued);
        if let Some(rare) = self.rare.get() {
            rare.refused
                .move_into(&other.rare.get_or_init(Box::default).refused);
        }
    }

    /// Tokens issued in the hours `keep` accepts that are not yet taken.
    pub fn issued_where(&self, keep: impl Fn(Hour) -> bool) -> u64 {
        let mut n = 0;
        self.issued.peek(|hour, count| {
            if keep(hour) {
                n += u64::from(count);
            }
        });
        n
    }

    /// Takes the counts; the tokens issued also join the stored sums of the client's quota.
    pub(super) fn take(&self, client_id: &str, out: &mut Vec<UsageCount>) {
        let quota = self.quota();
        let mut push = |outcome, hour, n: u32| {
            out.push(UsageCount {
                hour,
                client_id: Some(client_id.to_owned()),
                outcome,
                count: u64::from(n),
            });
        };
        self.issued.take(|hour, n| {
            if let Some(q) = quota {
                q.written(hour, n);
            }
            push(Outcome::Issued, hour, n);
        });
        if let Some(rare) = self.rare.get() {
            rare.refused
                .take(|r, hour, n| push(Outcome::Refused(r), hour, n));
        }
    }
}

impl ClientCache {
    /// Every client's counts, taken out of memory (the write-behind's part).
    pub fn take_usage(&self, out: &mut Vec<UsageCount>) {
        for entry in &self.read().0 {
            entry.0.usage.take(&entry.0.id, out);
        }
    }

    /// Moves the counts of the entries `old` held into the entries that replace them.
    pub(super) fn carry_usage(&self, old: &Clients) {
        let map = self.read();
        for before in &old.0 {
            if let Some(after) = map.0.get(&*before.0.id) {
                before.0.usage.move_into(&after.0.usage);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn taken(counter: &HourCounter) -> Vec<(Hour, u32)> {
        let mut out = Vec::new();
        counter.take(|h, n| out.push((h, n)));
        out.sort();
        out
    }

    #[test]
    fn counts_are_kept_per_hour_and_taken_once() {
        let c = HourCounter::default();
        let h = Hour(527_777);
        c.add(h);
        c.add(h);
        assert_eq!(taken(&c), [(h, 2)]);
        assert!(taken(&c).is_empty(), "taken once");
        c.add(h);
        assert_eq!(taken(&c), [(h, 1)]);
    }

    #[test]
    fn a_new_hour_counts_beside_the_previous_one_until_it_is_taken() {
        let c = HourCounter::default();
        let h = Hour(527_777);
        c.add_n(h, 5);
        c.add(Hour(h.0 + 1));
        c.add(Hour(h.0 + 1));
        // A request that read the clock just before the hour turned counts in its own hour.
        c.add(h);
        assert_eq!(taken(&c), [(h, 6), (Hour(h.0 + 1), 2)]);
    }

    #[test]
    fn an_hour_left_untaken_for_two_hours_gives_way() {
        let c = HourCounter::default();
        let h = Hour(100);
        c.add_n(h, 7);
        c.add(Hour(h.0 + 2));
        assert_eq!(taken(&c), [(Hour(h.0 + 2), 1)]);
        // A clock that steps back counts into the later hour the slot holds.
        c.add(Hour(h.0 + 2));
        c.add(h);
        assert_eq!(taken(&c), [(Hour(h.0 + 2), 2)]);
    }

    #[test]
    fn hour_zero_and_large_counts() {
        let c = HourCounter::default();
        c.add(Hour(0));
        assert_eq!(taken(&c), [(Hour(0), 1)]);
        c.add_n(Hour(1), u32::MAX);
        c.add(Hour(1));
        assert_eq!(taken(&c), [(Hour(1), u32::MAX)], "saturates, never carries");
    }

    #[test]
    fn concurrent_increments_and_takes_lose_nothing() {
        let c = Arc::new(HourCounter::default());
        let h = Hour(527_777);
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for n in 0..25_000 {
                        // Two hours interleaved, as around the turn of an hour.
                        c.add(if (n + i) % 3 == 0 { Hour(h.0 + 1) } else { h });
                    }
                })
            })
            .collect();
        let mut total = 0u64;
        while threads.iter().any(|t| !t.is_finished()) {
            c.take(|_, n| total += u64::from(n));
        }
        for t in threads {
            t.join().unwrap();
        }
        c.take(|_, n| total += u64::from(n));
        assert_eq!(total, 100_000);
    }

    #[test]
    fn refusals_are_counted_by_code_and_moved_with_the_rest() {
        let a = ClientCounters::default();
        let h = Hour(10);
        a.issued(h);
        a.refused(Refusal::InvalidClient, h);
        a.refused(Refusal::InvalidClient, h);
        a.refused(Refusal::InvalidScope, h);
        let b = ClientCounters::default();
        b.issued(h);
        a.move_into(&b);
        let mut out = Vec::new();
        a.take("c1", &mut out);
        assert!(out.is_empty(), "moved, not copied");
        b.take("c1", &mut out);
        out.sort_by_key(|u| u.outcome);
        let counts: Vec<(Outcome, u64)> = out.iter().map(|u| (u.outcome, u.count)).collect();
        assert_eq!(
            counts,
            [
                (Outcome::Issued, 2),
                (Outcome::Refused(Refusal::InvalidClient), 2),
                (Outcome::Refused(Refusal::InvalidScope), 1),
            ]
        );
        assert!(
            out.iter()
                .all(|u| u.client_id.as_deref() == Some("c1") && u.hour == h)
        );
    }
}
