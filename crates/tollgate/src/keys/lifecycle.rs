//! The signing-key lifecycle: holds the keys, parsed once, and moves them through the states of
//! [`schedule`](super::schedule), storing them sealed under the key-encryption key. With several
//! nodes on one database, one at a time generates and removes keys under the store's rotation
//! lock ([`Store::rotation_lock`]), having just re-read them; the others
//! [`reload`](KeyLifecycle::reload) them when the store announces a change: all publish the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::schedule::{KeyEvent, KeyState, KeyStatus, RotationMode, RotationPolicy};
use super::schedule::{rotation_due, statuses};
use super::sealing::{Kek, SealError, open_or_upgrade, signing_key_aad};
use super::signing_key::{KeyError, SigningKey};
use super::signing_keys::SigningKeys;
use crate::clock::{Rng, UnixTime};
use crate::domain::algorithm::Algorithm;
use crate::store::{Store, StoreError, StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyLifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("signing key {kid} cannot be decrypted: {reason}")]
    Sealed { kid: String, reason: SealError },
    #[error("{0} is not an active signing algorithm on this server")]
    InactiveAlgorithm(Algorithm),
    /// The stored keys hold no current key of an active algorithm: the store lost one.
    #[error("no current {0} signing key is stored")]
    NoCurrentKey(Algorithm),
    #[error("another node is rotating the signing keys; try again")]
    Busy,
    #[error("a {alg} key ({kid}) is already announced; it takes over at {at}")]
    AlreadyAnnounced {
        alg: Algorithm,
        kid: String,
        at: UnixTime,
    },
}

/// Holds the keys, parsed once, and moves them through their lifecycle.
#[derive(Debug)]
pub struct KeyLifecycle {
    keys: StoredKeys,
    /// The keys that sign now; replaced whole whenever the stored keys change.
    signing: RwLock<Arc<SigningKeys>>,
}

/// The stored keys and what it takes to change them; [`KeyLifecycle`] adds the set that signs.
#[derive(Debug)]
struct StoredKeys {
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
    /// Serialises rotations and reloads within this process (the store's rotation lock
    /// serialises rotations between nodes).
    rotating: tokio::sync::Mutex<()>,
}

/// A signing set built from the stored keys, and the error of a key that could not be read
/// (left out of the set; the keys this node holds keep working).
type Rebuilt = (Arc<SigningKeys>, Option<KeyLifecycleError>);

impl KeyLifecycle {
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
    ) -> Result<KeyLifecycle, KeyLifecycleError> {
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
            .map_err(|reason| KeyLifecycleError::Sealed {
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
        let keys = StoredKeys {
            store,
            kek,
            previous,
            rng,
            algorithms,
            policy,
            parsed: Mutex::new(parsed),
            rotating: tokio::sync::Mutex::new(()),
        };
        // A node that starts must have a current key for every algorithm before it serves:
        // wait for whichever node is rotating. The signing set exists only once that is so.
        let (_, (signing, unreadable)) = keys
            .locked(true, |k| k.tick_locked(now))
            .await?
            .ok_or(KeyLifecycleError::Busy)?;
        if let Some(e) = unreadable {
            return Err(e);
        }
        Ok(KeyLifecycle {
            keys,
            signing: RwLock::new(signing),
        })
    }

    /// The keys that sign now.
    pub fn signing_keys(&self) -> Arc<SigningKeys> {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn algorithms(&self) -> &[Algorithm] {
        &self.keys.algorithms
    }

    pub async fn statuses(&self, now: UnixTime) -> Result<Vec<KeyStatus>, KeyLifecycleError> {
        Ok(statuses(&self.keys.store.signing_keys().await?, now))
    }

    /// Brings the keys up to date with `now`: a first key for an algorithm that has none,
    /// a successor announced when one is due, expired keys removed; then rebuilds the set.
    /// Only the node holding the store's rotation lock does so, and it re-reads the keys
    /// first, so of several nodes ticking at once the first does what is due and the others
    /// find it done. A node that cannot get the lock in time (another holds it too long)
    /// skips the round: it reloads the keys as they are and reports no event.
    pub async fn tick(&self, now: UnixTime) -> Result<Vec<KeyEvent>, KeyLifecycleError> {
        match self.keys.locked(true, |k| k.tick_locked(now)).await? {
            Some((events, rebuilt)) => {
                self.install(rebuilt)?;
                Ok(events)
            }
            None => {
                self.reload(now).await?;
                Ok(Vec::new())
            }
        }
    }

    /// Re-reads the stored keys and rebuilds the set, generating and removing nothing: for
    /// a node that learns another node changed the keys, or that a key's state moved on.
    pub async fn reload(&self, now: UnixTime) -> Result<(), KeyLifecycleError> {
        let _guard = self.keys.rotating.lock().await;
        let stored = self.keys.store.signing_keys().await?;
        self.keys
            .parsed_keys()
            .retain(|kid, _| stored.iter().any(|k| k.kid == *kid));
        let rebuilt = self.keys.rebuild(&stored, now)?;
        self.install(rebuilt)
    }

    /// A new key for `alg` as `mode` says; returns it and the keys removed (if compromised).
    pub async fn rotate(
        &self,
        alg: Algorithm,
        mode: RotationMode,
        now: UnixTime,
    ) -> Result<(KeyStatus, Vec<String>), KeyLifecycleError> {
        if !self.keys.algorithms.contains(&alg) {
            return Err(KeyLifecycleError::InactiveAlgorithm(alg));
        }
        let (status, removed, rebuilt) = self
            .keys
            .locked(true, |k| k.rotate_locked(alg, mode, now))
            .await?
            .ok_or(KeyLifecycleError::Busy)?;
        self.install(rebuilt)?;
        Ok((status, removed))
    }

    /// Makes a rebuilt set the one that signs, then reports a key it could not read.
    fn install(&self, (signing, unreadable): Rebuilt) -> Result<(), KeyLifecycleError> {
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = signing;
        unreadable.map_or(Ok(()), Err)
    }
}

impl StoredKeys {
    /// Runs `f` holding the store's rotation lock, waiting for it with `wait`; `None` when
    /// another node holds it and `wait` is false.
    async fn locked<'a, T, F, Fut>(
        &'a self,
        wait: bool,
        f: F,
    ) -> Result<Option<T>, KeyLifecycleError>
    where
        F: FnOnce(&'a StoredKeys) -> Fut,
        Fut: std::future::Future<Output = Result<T, KeyLifecycleError>>,
    {
        let Some(lock) = self.store.rotation_lock(wait).await? else {
            return Ok(None);
        };
        let result = f(self).await;
        lock.release().await;
        result.map(Some)
    }

    async fn tick_locked(
        &self,
        now: UnixTime,
    ) -> Result<(Vec<KeyEvent>, Rebuilt), KeyLifecycleError> {
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
        let rebuilt = self.rebuild(&stored, now)?;
        Ok((events, rebuilt))
    }

    async fn rotate_locked(
        &self,
        alg: Algorithm,
        mode: RotationMode,
        now: UnixTime,
    ) -> Result<(KeyStatus, Vec<String>, Rebuilt), KeyLifecycleError> {
        let _guard = self.rotating.lock().await;
        let mut stored = self.store.signing_keys().await?;
        let announced = statuses(&stored, now)
            .into_iter()
            .find(|s| s.algorithm == alg && s.state == KeyState::Next);
        if let Some(next) = announced
            && mode == RotationMode::Announced
        {
            return Err(KeyLifecycleError::AlreadyAnnounced {
                alg,
                kid: next.kid,
                at: next.activates_at,
            });
        }
        let at = (mode == RotationMode::Announced).then(|| now.plus_secs(self.policy.announce));
        let key = self.generate(alg, at.unwrap_or(now), now).await?; // before removing any
        let kid = key.kid.clone();
        let (mut removed, purge) = (Vec::new(), mode == RotationMode::Compromised);
        for old in stored.iter().filter(|k| k.algorithm == alg && purge) {
            self.store.delete_signing_key(&old.kid).await?;
            self.parsed_keys().remove(&old.kid);
            removed.push(old.kid.clone());
        }
        stored.retain(|k| !removed.contains(&k.kid));
        stored.push(key);
        let rebuilt = self.rebuild(&stored, now)?;
        let status = statuses(&stored, now)
            .into_iter()
            .find(|s| s.kid == kid)
            .ok_or(KeyLifecycleError::NoCurrentKey(alg))?;
        Ok((status, removed, rebuilt))
    }

    async fn generate(
        &self,
        alg: Algorithm,
        activates_at: UnixTime,
        now: UnixTime,
    ) -> Result<StoredKey, KeyLifecycleError> {
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

    fn rebuild(&self, stored: &[StoredKey], now: UnixTime) -> Result<Rebuilt, KeyLifecycleError> {
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
            .ok_or(KeyLifecycleError::NoCurrentKey(self.algorithms[0]))?;
        let others = self.algorithms[1..]
            .iter()
            .filter_map(|a| current(*a))
            .collect();
        let published = st
            .iter()
            .filter(|s| s.state != KeyState::Expired)
            .filter_map(|s| parsed.get(&s.kid).cloned())
            .collect();
        Ok((
            Arc::new(SigningKeys::new(default, others, published)),
            unreadable,
        ))
    }

    fn open_stored(&self, k: &StoredKey) -> Result<SigningKey, KeyLifecycleError> {
        let aad = signing_key_aad(&k.kid);
        let der = match &self.previous {
            Some(p) if p.sealed_this(&k.private_key) => p.open(&k.private_key, &aad),
            _ => self.kek.open(&k.private_key, &aad),
        }
        .map_err(|reason| KeyLifecycleError::Sealed {
            kid: k.kid.clone(),
            reason,
        })?;
        Ok(SigningKey::from_pkcs8(k.algorithm, &der)?)
    }

    fn parsed_keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningKey>>> {
        self.parsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}
