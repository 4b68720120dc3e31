//! Product type → product → engagement → test: finding them by id or name, and creating them
//! (`auto_create_context`) without ever making two of one name, even under concurrent calls.

use crate::sql::{get_bool, get_i64, get_opt_i64, get_opt_str, get_str, Sql};
use crate::{
    Backend, Engagement, ImportMode, ImportRequest, Product, Result, Store, StoreError, Test,
    Timestamp,
};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

pub(crate) struct Resolved {
    pub product_type_id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    /// The test to reimport into; None = create one.
    pub test: Option<Test>,
    /// Where DefectDojo would have answered otherwise (the call goes on).
    pub warnings: Vec<String>,
}

pub(crate) const TEST_COLUMNS: &str =
    "id, engagement_id, product_id, title, titled, scan_type, created_at, updated_at, last_import_id";

pub(crate) fn test_from_row(row: &AnyRow) -> Result<Test> {
    Ok(Test {
        id: get_i64(row, "id")?,
        engagement_id: get_i64(row, "engagement_id")?,
        product_id: get_i64(row, "product_id")?,
        title: get_str(row, "title")?,
        titled: get_bool(row, "titled")?,
        scan_type: get_str(row, "scan_type")?,
        created_at: get_i64(row, "created_at")?,
        updated_at: get_i64(row, "updated_at")?,
        last_import_id: get_opt_i64(row, "last_import_id")?,
    })
}

pub(crate) const PRODUCT_COLUMNS: &str = "id, product_type_id, name, tier, platform, created_at";

pub(crate) fn product_from_row(row: &AnyRow) -> Result<Product> {
    Ok(Product {
        id: get_i64(row, "id")?,
        product_type_id: get_i64(row, "product_type_id")?,
        name: get_str(row, "name")?,
        tier: get_opt_str(row, "tier")?,
        platform: get_opt_str(row, "platform")?,
        created_at: get_i64(row, "created_at")?,
    })
}

pub(crate) fn engagement_from_row(row: &AnyRow) -> Result<Engagement> {
    Ok(Engagement {
        id: get_i64(row, "id")?,
        product_id: get_i64(row, "product_id")?,
        name: get_str(row, "name")?,
        created_at: get_i64(row, "created_at")?,
    })
}

/// What a product-restricted token may not see answers exactly like what does not exist: the
/// same error, worded the same, so the token cannot learn that another product's objects exist.
fn visible<T>(
    restrict: Option<i64>,
    found: Option<T>,
    product_of: impl Fn(&T) -> i64,
) -> Option<T> {
    found.filter(|x| restrict.is_none_or(|p| p == product_of(x)))
}

impl Store {
    /// Finds (or, with `auto_create_context`, creates) where an import lands.
    pub(crate) async fn resolve_target(
        &self,
        conn: &mut AnyConnection,
        req: &ImportRequest,
    ) -> Result<Resolved> {
        let t = &req.target;
        let restrict = req.restrict_to_product;
        let mut warnings = Vec::new();
        if let Some(test_id) = t.test_id {
            let test = visible(restrict, self.load_test(conn, test_id, true).await?, |t| {
                t.product_id
            })
            .ok_or_else(|| StoreError::NotFound(format!("test {test_id} does not exist")))?;
            if test.scan_type != req.scan_type {
                return Err(StoreError::Invalid(format!(
                    "test {test_id} holds {:?} results, not {:?}",
                    test.scan_type, req.scan_type
                )));
            }
            let product_type_id = self.product_type_of(conn, test.product_id).await?;
            return Ok(Resolved {
                product_type_id,
                product_id: test.product_id,
                engagement_id: test.engagement_id,
                test: (req.mode == ImportMode::Reimport).then_some(test),
                warnings: Vec::new(),
            });
        }

        let (product_id, engagement_id) = if let Some(engagement_id) = t.engagement_id {
            let row = Sql::new("SELECT product_id FROM engagements WHERE id = ")
                .arg(engagement_id)
                .query(self.backend)?
                .fetch_optional(&mut *conn)
                .await?;
            let product_id = row.map(|r| get_i64(&r, "product_id")).transpose()?;
            let product_id = visible(restrict, product_id, |p| *p).ok_or_else(|| {
                StoreError::NotFound(format!("engagement {engagement_id} does not exist"))
            })?;
            (product_id, engagement_id)
        } else {
            let product_name = t.product_name.as_deref().ok_or_else(|| {
                StoreError::Invalid(
                    "say where the scan goes: product_name and engagement_name (or engagement / test ids)"
                        .into(),
                )
            })?;
            let engagement_name = t.engagement_name.as_deref().ok_or_else(|| {
                StoreError::Invalid(format!(
                    "engagement_name is required with product_name {product_name:?} (or give engagement / test ids)"
                ))
            })?;
            // Another product's name is, to a restricted token, a name that does not exist.
            let found = self.product_id_by_name(conn, product_name).await?;
            let product_id = match visible(restrict, found, |p| *p) {
                Some(id) => {
                    if let Some(wanted) = t.product_type_name.as_deref() {
                        let actual = self.product_type_name_of(conn, id).await?;
                        if actual != wanted {
                            warnings.push(format!(
                                "DefectDojo would reject this call: product {product_name:?} is in product type {actual:?}, not {wanted:?}"
                            ));
                        }
                    }
                    id
                }
                None if req.auto_create_context => {
                    if restrict.is_some() {
                        return Err(StoreError::Forbidden(
                            "this token is restricted to one product and may not create products: product_name must name the token's own product"
                                .into(),
                        ));
                    }
                    let type_name = match (
                        t.product_type_name.as_deref(),
                        req.default_product_type.as_deref(),
                    ) {
                        (Some(name), _) => name,
                        (None, Some(default)) => {
                            warnings.push(format!(
                                "DefectDojo would reject this call: product {product_name:?} does not exist and no product_type_name was given to create it in; the hub created it in its default product type {default:?}"
                            ));
                            default
                        }
                        (None, None) => {
                            return Err(StoreError::Invalid(format!(
                                "product {product_name:?} does not exist: product_type_name is needed to create it"
                            )))
                        }
                    };
                    let type_id = self.ensure_product_type(conn, type_name, req.now).await?;
                    self.ensure_product(conn, type_id, product_name, req.now).await?
                }
                // To a restricted token the answer names nothing it sent: byte for byte the
                // same for another product's name as for an unused one.
                None if restrict.is_some() => {
                    return Err(StoreError::Invalid(
                        "product_name: no such product visible to this token (a product-restricted token imports into its own product only)"
                            .into(),
                    ))
                }
                None => {
                    return Err(StoreError::Invalid(format!(
                        "product {product_name:?} does not exist; create it first or pass auto_create_context=true with product_type_name"
                    )))
                }
            };
            let engagement_id = match self
                .engagement_id_by_name(conn, product_id, engagement_name)
                .await?
            {
                Some(id) => id,
                None if req.auto_create_context => {
                    self.ensure_engagement(conn, product_id, engagement_name, req.now)
                        .await?
                }
                None => {
                    return Err(StoreError::Invalid(format!(
                        "engagement {engagement_name:?} of product {product_name:?} does not exist; create it first or pass auto_create_context=true"
                    )))
                }
            };
            (product_id, engagement_id)
        };
        let product_type_id = self.product_type_of(conn, product_id).await?;

        let test = match req.mode {
            ImportMode::Import => None,
            ImportMode::Reimport => {
                // Serialize test lookup/creation per engagement (PostgreSQL row lock).
                if self.backend == Backend::Postgres {
                    Sql::new("SELECT id FROM engagements WHERE id = ")
                        .arg(engagement_id)
                        .push(" FOR UPDATE")
                        .query(self.backend)?
                        .fetch_optional(&mut *conn)
                        .await?;
                }
                let mut q = Sql::new(format!(
                    "SELECT {TEST_COLUMNS} FROM tests WHERE engagement_id = "
                ));
                q.arg(engagement_id)
                    .push(" AND scan_type = ")
                    .arg(req.scan_type.as_str());
                if let Some(title) = &t.test_title {
                    q.push(" AND title = ").arg(title.as_str());
                }
                q.push(" ORDER BY id DESC LIMIT 1");
                q.push(self.for_update());
                match q.query(self.backend)?.fetch_optional(&mut *conn).await? {
                    Some(row) => Some(test_from_row(&row)?),
                    None if req.auto_create_context => None,
                    None => {
                        return Err(StoreError::Invalid(format!(
                            "no {:?} test in engagement {engagement_id} to reimport into; pass auto_create_context=true to create it",
                            req.scan_type
                        )))
                    }
                }
            }
        };
        Ok(Resolved {
            product_type_id,
            product_id,
            engagement_id,
            test,
            warnings,
        })
    }

    /// The name of a product's product type.
    async fn product_type_name_of(
        &self,
        conn: &mut AnyConnection,
        product_id: i64,
    ) -> Result<String> {
        let row = Sql::new(
            "SELECT pt.name AS name FROM product_types pt JOIN products p ON p.product_type_id = pt.id WHERE p.id = ",
        )
        .arg(product_id)
        .query(self.backend)?
        .fetch_one(&mut *conn)
        .await?;
        get_str(&row, "name")
    }

    pub(crate) async fn load_test(
        &self,
        conn: &mut AnyConnection,
        test_id: i64,
        lock: bool,
    ) -> Result<Option<Test>> {
        let mut q = Sql::new(format!("SELECT {TEST_COLUMNS} FROM tests WHERE id = "));
        q.arg(test_id);
        if lock {
            q.push(self.for_update());
        }
        q.query(self.backend)?
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| test_from_row(&r))
            .transpose()
    }

    async fn product_type_of(&self, conn: &mut AnyConnection, product_id: i64) -> Result<i64> {
        let row = Sql::new("SELECT product_type_id FROM products WHERE id = ")
            .arg(product_id)
            .query(self.backend)?
            .fetch_one(&mut *conn)
            .await?;
        get_i64(&row, "product_type_id")
    }

    pub(crate) async fn product_id_by_name(
        &self,
        conn: &mut AnyConnection,
        name: &str,
    ) -> Result<Option<i64>> {
        Sql::new("SELECT id FROM products WHERE name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| get_i64(&r, "id"))
            .transpose()
    }

    pub(crate) async fn engagement_id_by_name(
        &self,
        conn: &mut AnyConnection,
        product_id: i64,
        name: &str,
    ) -> Result<Option<i64>> {
        Sql::new("SELECT id FROM engagements WHERE product_id = ")
            .arg(product_id)
            .push(" AND name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| get_i64(&r, "id"))
            .transpose()
    }

    /// Insert-if-absent, then read: a concurrent creator's row wins and both see it.
    async fn ensure_product_type(
        &self,
        conn: &mut AnyConnection,
        name: &str,
        now: Timestamp,
    ) -> Result<i64> {
        Sql::new("INSERT INTO product_types (name, created_at) VALUES (")
            .arg(name)
            .push(", ")
            .arg(now)
            .push(") ON CONFLICT (name) DO NOTHING")
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        let row = Sql::new("SELECT id FROM product_types WHERE name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_one(&mut *conn)
            .await?;
        get_i64(&row, "id")
    }

    async fn ensure_product(
        &self,
        conn: &mut AnyConnection,
        type_id: i64,
        name: &str,
        now: Timestamp,
    ) -> Result<i64> {
        Sql::new("INSERT INTO products (product_type_id, name, created_at) VALUES (")
            .arg(type_id)
            .push(", ")
            .arg(name)
            .push(", ")
            .arg(now)
            .push(") ON CONFLICT (name) DO NOTHING")
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        self.product_id_by_name(conn, name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("product {name:?} vanished")))
    }

    async fn ensure_engagement(
        &self,
        conn: &mut AnyConnection,
        product_id: i64,
        name: &str,
        now: Timestamp,
    ) -> Result<i64> {
        Sql::new("INSERT INTO engagements (product_id, name, created_at) VALUES (")
            .arg(product_id)
            .push(", ")
            .arg(name)
            .push(", ")
            .arg(now)
            .push(") ON CONFLICT (product_id, name) DO NOTHING")
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        self.engagement_id_by_name(conn, product_id, name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("engagement {name:?} vanished")))
    }

    /// Sets a product's tier / platform labels (admin). A product a restricted token may not see
    /// is, to it, a product that does not exist.
    pub async fn label_product(
        &self,
        product_id: i64,
        tier: Option<&str>,
        platform: Option<&str>,
        restrict_to_product: Option<i64>,
    ) -> Result<()> {
        if restrict_to_product.is_some_and(|p| p != product_id) {
            return Err(StoreError::NotFound(format!(
                "product {product_id} does not exist"
            )));
        }
        let _guard = self.write_guard().await;
        let done = Sql::new("UPDATE products SET tier = COALESCE(")
            .arg(tier)
            .push(", tier), platform = COALESCE(")
            .arg(platform)
            .push(", platform) WHERE id = ")
            .arg(product_id)
            .query(self.backend)?
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "product {product_id} does not exist"
            )));
        }
        Ok(())
    }
}
