//! The signing-key lifecycle. A key is *next* (published in the JWKS, not yet signing) until
//! it activates, then *current* (signing), then *retired* when its successor activates
//! (still published, so tokens it signed keep verifying), and removed once every token it
//! could have signed has expired. States are derived from timestamps and the injected clock,
//! so a whole rotation cycle is tested without sleeping.
//!
//! With several nodes on one database, keys are generated and removed by one node at a time,
//! under the store's rotation lock ([`Store::rotation_lock`]), by a node that has just re-read
//! them; a node that does not get the lock only [`reload`](Keyring::reload)s what the store
//! holds, as every node does when the store announces that the keys changed. Every node then
//! publishes the same keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::clock::{Rng, UnixTime};
use crate::domain::token::MAX_TOKEN_LIFETIME;
use crate::keys::{Algorithm, KeyError, KeyRing, SigningKey};
use crate::sealing::{Kek, SealError, is_sealed};
use crate::store::{Store, StoreError, StoredKey};

/// When keys rotate by themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before its successor takes over, in seconds.
    pub period: u64,
    /// How long before taking over a successor is published, in seconds. Longer than any
    /// JWKS cache lifetime, so verifiers know a key before its first token arrives.
    pub announce: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
    /// Retired long enough that no token it signed is still valid: removed.
    Expired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }
}

/// A key's place in its algorithm's chain at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub kid: String,
    pub algorithm: Algorithm,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    pub state: KeyState,
    /// When its successor takes over, if one is known.
    pub retires_at: Option<UnixTime>,
    /// When it leaves the JWKS, if it is retiring.
    pub removed_at: Option<UnixTime>,
}

/// The state of every key at `now`. Keys of one algorithm form a chain ordered by
/// activation; the last one activated is current.
pub fn statuses(keys: &[StoredKey], now: UnixTime) -> Vec<KeyStatus> {
    let mut by_alg: HashMap<Algorithm, Vec<&StoredKey>> = HashMap::new();
    for k in keys {
        by_alg.entry(k.algorithm).or_default().push(k);
    }
    let mut out = Vec::new();
    for chain in by_alg.values_mut() {
        chain.sort_by_key(|k| (k.activates_at, k.seq));
        let current = chain.iter().rposition(|k| k.activates_at <= now);
        for (i, k) in chain.iter().enumerate() {
            let retires_at = chain.get(i + 1).map(|n| n.activates_at);
            let removed_at = retires_at.map(|r| r.plus_secs(MAX_TOKEN_LIFETIME));
            let state = match current {
                Some(c) if i == c => KeyState::Current,
                Some(c) if i < c => {
                    if removed_at.is_some_and(|r| r <= now) {
                        KeyState::Expired
                    } else {
                        KeyState::Retired
                    }
                }
                _ => KeyState::Next,
            };
            out.push(KeyStatus {
                kid: k.kid.clone(),
                algorithm: k.algorithm,
                created_at: k.created_at,
                activates_at: k.activates_at,
                state,
                retires_at,
                removed_at,
            });
        }
    }
    out.sort_by_key(|s| (s.algorithm.as_str(), s.activates_at));
    out
}

/// When a new key of `alg` should activate, if one should be generated now: the current key
/// has signed for `period - announce` and no successor is announced yet.
pub fn rotation_due(
    statuses: &[KeyStatus],
    alg: Algorithm,
    now: UnixTime,
    policy: RotationPolicy,
) -> Option<UnixTime> {
    let chain: Vec<&KeyStatus> = statuses.iter().filter(|s| s.algorithm == alg).collect();
    if chain.iter().any(|s| s.state == KeyState::Next) {
        return None;
    }
    let current = chain.iter().find(|s| s.state == KeyState::Current)?;
    let takeover = current.activates_at.plus_secs(policy.period);
    let announce_at = UnixTime(takeover.0.saturating_sub(policy.announce as i64));
    (now >= announce_at).then(|| takeover.max(now.plus_secs(policy.announce)))
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("signing key {kid} cannot be decrypted: {reason}")]
    Sealed { kid: String, reason: SealError },
    #[error("{0} is not an active signing algorithm on this server")]
    InactiveAlgorithm(Algorithm),
    #[error("another node is rotating the signing keys; try again")]
    Busy,
    #[error("a {alg} key ({kid}) is already announced; it takes over at {at}")]
    AlreadyAnnounced {
        alg: Algorithm,
        kid: String,
        at: UnixTime,
    },
}

/// What a rotation tick did, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    Generated {
        kid: String,
        algorithm: Algorithm,
        activates_at: UnixTime,
    },
    Removed {
        kid: String,
        algorithm: Algorithm,
    },
}

/// Opens a sealed blob, or upgrades one: a blob sealed by the previous KEK, or stored in
/// clear by a version without encryption at rest, is returned with its re-sealed form.
/// A key in clear, and its re-sealed form when it needs writing back.
pub type Opened = (zeroize::Zeroizing<Vec<u8>>, Option<Vec<u8>>);

pub fn open_or_upgrade(
    blob: &[u8],
    aad: &str,
    kek: &Kek,
    previous: Option<&Kek>,
    rng: &dyn Rng,
) -> Result<Opened, SealError> {
    if kek.sealed_this(blob) {
        return Ok((kek.open(blob, aad)?, None));
    }
    if !is_sealed(blob) {
        let plain = zeroize::Zeroizing::new(blob.to_vec());
        let resealed = kek.seal(&plain, aad, rng);
        return Ok((plain, Some(resealed)));
    }
    match previous {
        Some(p) if p.sealed_this(blob) => {
            let plain = p.open(blob, aad)?;
            let resealed = kek.seal(&plain, aad, rng);
            Ok((plain, Some(resealed)))
        }
        _ => kek.open(blob, aad).map(|p| (p, None)),
    }
}

pub fn signing_key_aad(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// Holds the keys, parsed once, and moves them through their lifecycle.
#[derive(Debug)]
pub struct Keyring {
    store: Arc<dyn Store>,
    kek: Kek,
    /// The key-encryption key being replaced: while the nodes of a cluster move to a new one,
    /// a node still on the old one may store a key sealed with it.
    previous: Option<Kek>,
    rng: Arc<dyn Rng>,
    /// Active algorithms, the default first.
    algorithms: Vec<Algorithm>,
    policy: RotationPolicy,
    parsed: Mutex<HashMap<String, Arc<SigningKey>>>,
    ring: RwLock<Arc<KeyRing>>,
    /// Serialises rotations and reloads within this process (the store's rotation lock
    /// serialises rotations between nodes).
    rotating: tokio::sync::Mutex<()>,
}

impl Keyring {
    /// Loads the stored keys (upgrading their encryption if needed) and makes sure every
    /// active algorithm has a current key.
    pub async fn start(
        store: Arc<dyn Store>,
        kek: Kek,
        previous: Option<Kek>,
        rng: Arc<dyn Rng>,
        algorithms: Vec<Algorithm>,
        policy: RotationPolicy,
        now: UnixTime,
    ) -> Result<Keyring, KeyringError> {
        let mut parsed = HashMap::new();
        for stored in store.signing_keys().await? {
            let aad = signing_key_aad(&stored.kid);
            let (der, resealed) = open_or_upgrade(
                &stored.private_key,
                &aad,
                &kek,
                previous.as_ref(),
                rng.as_ref(),
            )
            .map_err(|reason| KeyringError::Sealed {
                kid: stored.kid.clone(),
                reason,
            })?;
            if let Some(blob) = resealed {
                store.set_signing_key_material(&stored.kid, &blob).await?;
                tracing::info!(
                    kid = stored.kid,
                    kek = kek.id(),
                    "re-encrypted a signing key"
                );
            }
            let key = SigningKey::from_pkcs8(stored.algorithm, &der)?;
            parsed.insert(stored.kid.clone(), Arc::new(key));
        }
        let placeholder = match parsed.values().next() {
            Some(k) => k.clone(),
            None => Arc::new(SigningKey::generate(algorithms[0]).map(|(k, _)| k)?),
        };
        let keyring = Keyring {
            store,
            kek,
            previous,
            rng,
            algorithms,
            policy,
            parsed: Mutex::new(parsed),
            ring: RwLock::new(Arc::new(KeyRing::new(placeholder, vec![], vec![]))),
            rotating: tokio::sync::Mutex::new(()),
        };
        // A node that starts must have a current key for every algorithm before it serves:
        // wait for whichever node is rotating.
        keyring
            .locked(true, |k| k.tick_locked(now))
            .await?
            .ok_or(KeyringError::Busy)?;
        Ok(keyring)
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    pub async fn statuses(&self, now: UnixTime) -> Result<Vec<KeyStatus>, KeyringError> {
        Ok(statuses(&self.store.signing_keys().await?, now))
    }

    /// Brings the keys up to date with `now`: a first key for an algorithm that has none,
    /// a successor announced when one is due, expired keys removed; then rebuilds the ring.
    /// Only the node holding the store's rotation lock does so, and it re-reads the keys
    /// first, so of several nodes ticking at once the first does what is due and the others
    /// find it done. A node that cannot get the lock in time (another holds it too long)
    /// skips the round: it reloads the keys as they are and reports no event.
    pub async fn tick(&self, now: UnixTime) -> Result<Vec<KeyEvent>, KeyringError> {
        match self.locked(true, |k| k.tick_locked(now)).await? {
            Some(events) => Ok(events),
            None => {
                self.reload(now).await?;
                Ok(Vec::new())
            }
        }
    }

    /// Re-reads the stored keys and rebuilds the ring, generating and removing nothing: for
    /// a node that learns another node changed the keys, or that a key's state moved on.
    pub async fn reload(&self, now: UnixTime) -> Result<(), KeyringError> {
        let _guard = self.rotating.lock().await;
        let stored = self.store.signing_keys().await?;
        self.parsed_keys()
            .retain(|kid, _| stored.iter().any(|k| k.kid == *kid));
        self.rebuild(&stored, now).await
    }

    /// Runs `f` holding the store's rotation lock, waiting for it with `wait`; `None` when
    /// another node holds it and `wait` is false.
    async fn locked<'a, T, F, Fut>(&'a self, wait: bool, f: F) -> Result<Option<T>, KeyringError>
    where
        F: FnOnce(&'a Keyring) -> Fut,
        Fut: std::future::Future<Output = Result<T, KeyringError>>,
    {
        let Some(lock) = self.store.rotation_lock(wait).await? else {
            return Ok(None);
        };
        let result = f(self).await;
        lock.release().await;
        result.map(Some)
    }

    async fn tick_locked(&self, now: UnixTime) -> Result<Vec<KeyEvent>, KeyringError> {
        let _guard = self.rotating.lock().await;
        let mut events = Vec::new();
        let mut stored = self.store.signing_keys().await?;
        for &alg in &self.algorithms {
            let st = statuses(&stored, now);
            let activates_at = if !st
                .iter()
                .any(|s| s.algorithm == alg && s.state == KeyState::Current)
            {
                // No key signs with this algorithm yet: one that signs at once.
                Some(now)
            } else {
                rotation_due(&st, alg, now, self.policy)
            };
            if let Some(at) = activates_at {
                let key = self.generate(alg, at, now).await?;
                events.push(KeyEvent::Generated {
                    kid: key.kid.clone(),
                    algorithm: alg,
                    activates_at: at,
                });
                stored.push(key);
            }
        }
        for s in statuses(&stored, now) {
            if s.state == KeyState::Expired {
                self.store.delete_signing_key(&s.kid).await?;
                self.parsed_keys().remove(&s.kid);
                events.push(KeyEvent::Removed {
                    kid: s.kid.clone(),
                    algorithm: s.algorithm,
                });
            }
        }
        stored.retain(|k| {
            !events.contains(&KeyEvent::Removed {
                kid: k.kid.clone(),
                algorithm: k.algorithm,
            })
        });
        self.rebuild(&stored, now).await?;
        Ok(events)
    }

    /// Announces a successor for `alg` now (it takes over after the announce period), or
    /// with `immediate` makes it sign at once (for a key believed compromised).
    pub async fn rotate(
        &self,
        alg: Algorithm,
        immediate: bool,
        now: UnixTime,
    ) -> Result<KeyStatus, KeyringError> {
        if !self.algorithms.contains(&alg) {
            return Err(KeyringError::InactiveAlgorithm(alg));
        }
        self.locked(true, |k| k.rotate_locked(alg, immediate, now))
            .await?
            .ok_or(KeyringError::Busy)
    }

    async fn rotate_locked(
        &self,
        alg: Algorithm,
        immediate: bool,
        now: UnixTime,
    ) -> Result<KeyStatus, KeyringError> {
        let _guard = self.rotating.lock().await;
        let mut stored = self.store.signing_keys().await?;
        let announced = statuses(&stored, now)
            .into_iter()
            .find(|s| s.algorithm == alg && s.state == KeyState::Next);
        if let Some(next) = announced
            && !immediate
        {
            return Err(KeyringError::AlreadyAnnounced {
                alg,
                kid: next.kid,
                at: next.activates_at,
            });
        }
        let at = if immediate {
            now
        } else {
            now.plus_secs(self.policy.announce)
        };
        let key = self.generate(alg, at, now).await?;
        let kid = key.kid.clone();
        stored.push(key);
        self.rebuild(&stored, now).await?;
        statuses(&stored, now)
            .into_iter()
            .find(|s| s.kid == kid)
            .ok_or(KeyringError::InactiveAlgorithm(alg))
    }

    async fn generate(
        &self,
        alg: Algorithm,
        activates_at: UnixTime,
        now: UnixTime,
    ) -> Result<StoredKey, KeyringError> {
        // RSA key generation takes a while; keep it off the async workers.
        let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(|_| KeyError::Generate(alg))??;
        let sealed = self
            .kek
            .seal(&der, &signing_key_aad(key.kid()), self.rng.as_ref());
        let stored = StoredKey {
            kid: key.kid().to_owned(),
            algorithm: alg,
            private_key: zeroize::Zeroizing::new(sealed),
            created_at: now,
            activates_at,
            seq: i64::MAX,
        };
        self.store.insert_signing_key(&stored).await?;
        tracing::info!(kid = key.kid(), alg = %alg, activates_at = %activates_at, "generated a signing key");
        self.parsed_keys()
            .insert(key.kid().to_owned(), Arc::new(key));
        Ok(stored)
    }

    async fn rebuild(&self, stored: &[StoredKey], now: UnixTime) -> Result<(), KeyringError> {
        let st = statuses(stored, now);
        // Keys another node generated are parsed the first time they are seen. One that
        // cannot be opened (sealed with a key-encryption key this node lacks) is left out
        // and reported; the keys this node holds keep working.
        let mut unreadable = None;
        for k in stored {
            if !self.parsed_keys().contains_key(&k.kid) {
                match self.open_stored(k) {
                    Ok(key) => {
                        self.parsed_keys().insert(k.kid.clone(), Arc::new(key));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot load a signing key another node stored");
                        unreadable = Some(e);
                    }
                }
            }
        }
        let parsed = self.parsed_keys().clone();
        let current = |alg: Algorithm| {
            st.iter()
                .find(|s| s.algorithm == alg && s.state == KeyState::Current)
                .and_then(|s| parsed.get(&s.kid).cloned())
        };
        let default = current(self.algorithms[0])
            .ok_or(KeyringError::InactiveAlgorithm(self.algorithms[0]))?;
        let others = self.algorithms[1..]
            .iter()
            .filter_map(|a| current(*a))
            .collect();
        let published = st
            .iter()
            .filter(|s| s.state != KeyState::Expired)
            .filter_map(|s| parsed.get(&s.kid).cloned())
            .collect();
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(KeyRing::new(default, others, published));
        match unreadable {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn open_stored(&self, k: &StoredKey) -> Result<SigningKey, KeyringError> {
        let aad = signing_key_aad(&k.kid);
        let der = match &self.previous {
            Some(p) if p.sealed_this(&k.private_key) => p.open(&k.private_key, &aad),
            _ => self.kek.open(&k.private_key, &aad),
        }
        .map_err(|reason| KeyringError::Sealed {
            kid: k.kid.clone(),
            reason,
        })?;
        Ok(SigningKey::from_pkcs8(k.algorithm, &der)?)
    }

    fn parsed_keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningKey>>> {
        self.parsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: Algorithm, activates: i64) -> StoredKey {
        static SEQ: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        StoredKey {
            seq: SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            kid: kid.into(),
            algorithm: alg,
            private_key: zeroize::Zeroizing::new(vec![]),
            created_at: UnixTime(activates),
            activates_at: UnixTime(activates),
        }
    }

    const DAY: i64 = 86_400;
    const POLICY: RotationPolicy = RotationPolicy {
        period: 30 * DAY as u64,
        announce: DAY as u64,
    };

    fn state_of(keys: &[StoredKey], kid: &str, now: i64) -> KeyState {
        statuses(keys, UnixTime(now))
            .into_iter()
            .find(|s| s.kid == kid)
            .unwrap()
            .state
    }

    #[test]
    fn a_whole_cycle() {
        let mut keys = vec![key("a", Algorithm::Es256, 0)];
        assert_eq!(state_of(&keys, "a", 0), KeyState::Current);
        let st = statuses(&keys, UnixTime(28 * DAY));
        assert_eq!(
            rotation_due(&st, Algorithm::Es256, UnixTime(28 * DAY), POLICY),
            None
        );
        let now = UnixTime(29 * DAY);
        let st = statuses(&keys, now);
        let at = rotation_due(&st, Algorithm::Es256, now, POLICY).unwrap();
        assert_eq!(at, UnixTime(30 * DAY), "announced a day ahead");
        keys.push(key("b", Algorithm::Es256, at.0));
        assert_eq!(state_of(&keys, "b", 29 * DAY), KeyState::Next);
        assert_eq!(state_of(&keys, "a", 29 * DAY), KeyState::Current);
        let st = statuses(&keys, now);
        assert_eq!(
            rotation_due(&st, Algorithm::Es256, now, POLICY),
            None,
            "already announced"
        );
        assert_eq!(state_of(&keys, "b", 30 * DAY), KeyState::Current);
        assert_eq!(state_of(&keys, "a", 30 * DAY), KeyState::Retired);
        let a = statuses(&keys, UnixTime(30 * DAY))
            .into_iter()
            .find(|s| s.kid == "a")
            .unwrap();
        assert_eq!(a.retires_at, Some(UnixTime(30 * DAY)));
        assert_eq!(a.removed_at, Some(UnixTime(31 * DAY)));
        assert_eq!(state_of(&keys, "a", 31 * DAY - 1), KeyState::Retired);
        assert_eq!(state_of(&keys, "a", 31 * DAY), KeyState::Expired);
    }

    #[test]
    fn a_late_tick_still_announces_ahead() {
        let keys = vec![key("a", Algorithm::Es256, 0)];
        let now = UnixTime(45 * DAY);
        let at = rotation_due(&statuses(&keys, now), Algorithm::Es256, now, POLICY).unwrap();
        assert_eq!(
            at,
            UnixTime(46 * DAY),
            "never activates a key nobody has seen yet"
        );
    }

    #[test]
    fn of_two_keys_activating_in_the_same_second_the_later_one_signs() {
        let keys = vec![
            key("first", Algorithm::Es256, 5),
            key("second", Algorithm::Es256, 5),
        ];
        assert_eq!(state_of(&keys, "second", 5), KeyState::Current);
        assert_eq!(state_of(&keys, "first", 5), KeyState::Retired);
    }

    #[test]
    fn algorithms_have_separate_chains() {
        let keys = vec![
            key("e1", Algorithm::Es256, 0),
            key("r1", Algorithm::Rs256, 10),
            key("e2", Algorithm::Es256, 20),
        ];
        assert_eq!(state_of(&keys, "e1", 25), KeyState::Retired);
        assert_eq!(state_of(&keys, "e2", 25), KeyState::Current);
        assert_eq!(state_of(&keys, "r1", 25), KeyState::Current);
        assert_eq!(state_of(&keys, "r1", 5), KeyState::Next);
    }
}
