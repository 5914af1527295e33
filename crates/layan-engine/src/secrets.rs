//! Secrets stored in the database — mail server passwords, the language model's API key, each
//! email inbox's reply-token secret — are sealed with a key kept outside it: a key file in the
//! data directory (`secret.key`, created on first start, mode 0600) or the file the
//! `secret_key_file` setting names (nodes sharing one PostgreSQL database share it). A copy of
//! the database alone does not give them away.
//!
//! A sealed value is `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, ChaCha20-Poly1305
//! with the field's name as associated data (a value moved to another field does not open).
//! A value without the prefix is one stored before sealing existed: it is read as it is and
//! sealed at the next start. `layan secrets rotate` seals everything with a new key: the file
//! holds the new key first and the old one after it until every value is sealed again, so a
//! crash half-way loses nothing; a server that meets a key id it does not know reads the file
//! again (rotation while it runs).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v1:";

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key file {0}: {1}")]
    File(PathBuf, String),
    #[error(
        "a stored secret was sealed with key {0}, which the key file does not hold (nodes sharing a database need the same key file: copy it, or point secret_key_file at it)"
    )]
    UnknownKey(String),
    #[error("a stored secret does not open (damaged, or moved from another field)")]
    Damaged,
}

struct Key {
    id: String,
    key: LessSafeKey,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let id = Sha256::digest(bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            id,
            // 32 bytes is ChaCha20-Poly1305's key length: this cannot fail.
            key: LessSafeKey::new(
                UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("a 32-byte key"),
            ),
        }
    }
}

/// The keys: the first seals, every one opens.
pub struct SecretBox {
    path: Option<PathBuf>,
    keys: RwLock<Vec<Arc<Key>>>,
    /// The key file's modification time when it was read: a rotated file is read again
    /// before the next seal.
    loaded: RwLock<Option<std::time::SystemTime>>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("path", &self.path)
            .field("key", &self.current_id())
            .finish()
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
    k
}

fn read_keys(path: &Path) -> Result<Vec<Arc<Key>>, SecretError> {
    let bad = |e: String| SecretError::File(path.to_path_buf(), e);
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let bytes: [u8; 32] = STANDARD
                .decode(l)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("each line is a key: 32 bytes in base64".into()))?;
            Ok(Arc::new(Key::new(&bytes)))
        })
        .collect::<Result<Vec<_>, SecretError>>()?;
    if keys.is_empty() {
        return Err(bad("holds no key".into()));
    }
    Ok(keys)
}

/// Writes the key file at once (a temporary file renamed over it), readable by the owner only.
fn write_keys(path: &Path, keys: &[[u8; 32]]) -> Result<(), SecretError> {
    let bad = |e: std::io::Error| SecretError::File(path.to_path_buf(), e.to_string());
    let mut text = String::from(
        "# Layan's key for the secrets stored in the database (the first line seals; later\n\
         # lines only open, during a rotation). Keep it safe and back it up with the database:\n\
         # without it the stored mail passwords and API keys must be entered again.\n",
    );
    for k in keys {
        text.push_str(&STANDARD.encode(k));
        text.push('\n');
    }
    let tmp = path.with_extension("key.tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(bad)?;
        f.write_all(text.as_bytes()).map_err(bad)?;
        f.sync_all().map_err(bad)?;
    }
    std::fs::rename(&tmp, path).map_err(bad)
}

impl SecretBox {
    /// The key file at `path`, created with a new key when it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, SecretError> {
        if !path.exists() {
            write_keys(path, &[random_key()])?;
            tracing::info!(path = %path.display(), "created the key for stored secrets");
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            loaded: RwLock::new(modified(path)),
            keys: RwLock::new(read_keys(path)?),
        })
    }

    /// A key held in memory only (tests, tools).
    pub fn ephemeral() -> Self {
        Self {
            path: None,
            keys: RwLock::new(vec![Arc::new(Key::new(&random_key()))]),
            loaded: RwLock::new(None),
        }
    }

    fn keys(&self) -> Vec<Arc<Key>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> String {
        self.keys()[0].id.clone()
    }

    /// Whether `value` is sealed with the current key (nothing to do in a rotation).
    pub fn is_current(&self, value: &str) -> bool {
        value
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.current_id())
    }

    /// Seals `plain` for the field `field` with the current key. An empty value stays empty.
    pub fn seal(&self, field: &str, plain: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        // A key file rotated meanwhile (by `layan secrets rotate`): seal with its new key.
        if let Some(path) = &self.path
            && modified(path) != *self.loaded.read().unwrap_or_else(|e| e.into_inner())
            && let Err(e) = self.reload()
        {
            tracing::warn!(error = %e, "could not read the rotated key file; sealing with the key held");
        }
        let key = self.keys()[0].clone();
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let mut data = plain.as_bytes().to_vec();
        // Sealing in memory fails only for data longer than the cipher allows (gigabytes).
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(field.as_bytes()),
                &mut data,
            )
            .expect("a secret short enough to seal");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value of the field `field`: sealed ones with their key (the key file is read
    /// again for a key id not held, in case it was rotated meanwhile), others as they are.
    pub fn open(&self, field: &str, value: &str) -> Result<String, SecretError> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let (id, data) = rest.split_once(':').ok_or(SecretError::Damaged)?;
        let key = match self.keys().into_iter().find(|k| k.id == id) {
            Some(k) => k,
            None => {
                self.reload()?;
                self.keys()
                    .into_iter()
                    .find(|k| k.id == id)
                    .ok_or_else(|| SecretError::UnknownKey(id.to_string()))?
            }
        };
        let mut bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SecretError::Damaged)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Damaged)?;
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(field.as_bytes()), sealed)
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SecretError::Damaged)
    }

    fn reload(&self) -> Result<(), SecretError> {
        if let Some(path) = &self.path {
            let when = modified(path);
            let keys = read_keys(path)?;
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
            *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = when;
        }
        Ok(())
    }

    /// Starts a rotation: a new key seals from now on, the old ones still open (written to the
    /// file before anything is sealed with the new key).
    pub fn begin_rotation(&self) -> Result<(), SecretError> {
        let Some(path) = &self.path else {
            let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
            keys.insert(0, Arc::new(Key::new(&random_key())));
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| SecretError::File(path.clone(), e.to_string()))?;
        // A rotation cut short (more than one key in the file): resumed with its new key.
        if read_keys(path)?.len() > 1 {
            return self.reload();
        }
        let mut all = vec![random_key()];
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some(k) = STANDARD.decode(line).ok().and_then(|b| b.try_into().ok()) {
                all.push(k);
            }
        }
        write_keys(path, &all)?;
        self.reload()
    }

    /// Ends a rotation once every value is sealed with the new key: the old keys are dropped.
    pub fn finish_rotation(&self) -> Result<(), SecretError> {
        let Some(path) = &self.path else {
            self.keys
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .truncate(1);
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| SecretError::File(path.clone(), e.to_string()))?;
        let first: [u8; 32] = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .and_then(|l| STANDARD.decode(l).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SecretError::File(path.clone(), "holds no key".into()))?;
        write_keys(path, &[first])?;
        self.reload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let b = SecretBox::open_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = b.seal("imap.password", "hunter2-very-secret");
        assert!(sealed.starts_with("enc:v1:"));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            b.seal("imap.password", "hunter2-very-secret"),
            "fresh nonce"
        );
        assert_eq!(
            b.open("imap.password", &sealed).unwrap(),
            "hunter2-very-secret"
        );
        assert!(matches!(
            b.open("smtp.password", &sealed),
            Err(SecretError::Damaged)
        ));
        assert_eq!(
            b.open("x", "plain-before-sealing").unwrap(),
            "plain-before-sealing"
        );
        assert_eq!(b.seal("x", ""), "");
        // Another key file does not open it.
        let other = SecretBox::open_or_create(&dir.path().join("other.key")).unwrap();
        assert!(matches!(
            other.open("imap.password", &sealed),
            Err(SecretError::UnknownKey(_))
        ));
        // The same file opened again (a restart) does.
        let again = SecretBox::open_or_create(&path).unwrap();
        assert_eq!(
            again.open("imap.password", &sealed).unwrap(),
            "hunter2-very-secret"
        );

        // A rotation: old values still open during it; a running box that meets the new key
        // reads the file again; after it the old key is gone.
        b.begin_rotation().unwrap();
        assert!(!b.is_current(&sealed));
        let resealed = b.seal("imap.password", "hunter2-very-secret");
        assert_eq!(
            b.open("imap.password", &sealed).unwrap(),
            "hunter2-very-secret"
        );
        assert_eq!(
            again.open("imap.password", &resealed).unwrap(),
            "hunter2-very-secret"
        );
        b.finish_rotation().unwrap();
        assert!(b.is_current(&resealed));
        let restarted = SecretBox::open_or_create(&path).unwrap();
        assert!(matches!(
            restarted.open("imap.password", &sealed),
            Err(SecretError::UnknownKey(_))
        ));
        assert_eq!(
            restarted.open("imap.password", &resealed).unwrap(),
            "hunter2-very-secret"
        );
    }
}
