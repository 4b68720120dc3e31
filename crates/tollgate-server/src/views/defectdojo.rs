//! DefectDojo-shaped JSON for products, engagements, tests, findings (temporary minimal shapes).

use serde_json::{json, Value};
use tollgate_store::{
    Engagement, ImportMode, ImportOutcome, ImportRecord, Note, Product, StoredFinding, Test,
};

pub fn product(p: &Product) -> Value {
    json!({"id": p.id, "name": p.name, "prod_type": p.product_type_id})
}
pub fn engagement(e: &Engagement) -> Value {
    json!({"id": e.id, "name": e.name, "product": e.product_id})
}
pub fn test(t: &Test) -> Value {
    json!({"id": t.id, "title": t.title, "engagement": t.engagement_id, "scan_type": t.scan_type})
}
pub fn finding(f: &StoredFinding, _notes: &[Note]) -> Value {
    json!({"id": f.id, "title": f.finding.title, "hash_code": f.finding.fingerprint.as_str(), "active": f.status.active, "is_mitigated": f.status.is_mitigated, "test": f.test_id})
}
pub fn test_import(i: &ImportRecord) -> Value {
    json!({"id": i.id, "test": i.test_id})
}
pub fn page(
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Value>,
) -> Value {
    json!({"count": count, "next": next, "previous": previous, "results": results})
}
pub fn import_response(o: &ImportOutcome, _mode: ImportMode) -> Value {
    json!({"test": o.test_id, "test_id": o.test_id, "engagement_id": o.engagement_id, "product_id": o.product_id, "product_type_id": o.product_type_id, "statistics": o.statistics})
}
