//! Secrets the hub's replicas share through the database (e.g. the key that MACs Results API
//! cursors): created once, read by every replica, never shown to a client.

use crate::sql::Sql;
use crate::{Result, Store, StoreError};
use rand::RngCore;
use sqlx::Row;

impl Store {
    /// The 32-byte secret `name`, created at random by the first caller on this database. Two
    /// replicas racing to create it both read the one that was stored first.
    pub async fn shared_secret(&self, name: &str) -> Result<[u8; 32]> {
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        {
            let _guard = self.write_guard().await;
            Sql::new("INSERT INTO hub_secrets (name, value) VALUES (")
                .arg(name)
                .push(", ")
                .arg(hex)
                .push(") ON CONFLICT (name) DO NOTHING")
                .query(self.backend)?
                .execute(&self.pool)
                .await?;
        }
        let row = Sql::new("SELECT value FROM hub_secrets WHERE name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_one(&self.pool)
            .await?;
        let text: String = row.try_get(0)?;
        decode(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("hub secret {name:?} is not 64 hex digits")))
    }
}

fn decode(text: &str) -> Option<[u8; 32]> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    #[tokio::test]
    async fn a_secret_is_created_once_and_shared() {
        let dir = std::env::temp_dir().join(format!("tollgate-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("s.db").display());
        let a = Store::open(&url, StoreOptions::default()).await.unwrap();
        let b = Store::open(&url, StoreOptions::default()).await.unwrap();
        let k1 = a.shared_secret("cursor").await.unwrap();
        let k2 = b.shared_secret("cursor").await.unwrap();
        assert_eq!(k1, k2, "two stores on one database share the key");
        assert_ne!(k1, [0u8; 32]);
        assert_ne!(a.shared_secret("other").await.unwrap(), k1);
        a.close().await;
        b.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
