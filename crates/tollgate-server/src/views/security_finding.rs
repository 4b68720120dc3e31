//! The Results API SecurityFinding (temporary minimal shape).

use serde_json::{json, Value};
use tollgate_store::{Note, StoredFinding};

pub fn security_finding(f: &StoredFinding, notes: &[Note], base_url: &str) -> Value {
    json!({"id": f.id.to_string(), "mobile_app_id": f.product_id.to_string(), "title": f.finding.title,
           "aggregated_status": if f.is_new {"NEW"} else if f.status.is_open() {"OPEN"} else {"CLOSED_FIXED"},
           "is_permanently_closed": f.status.permanently_closed,
           "priority": f.status.priority.map(|p| p.as_str()),
           "notes": notes.iter().map(|n| json!({"id": n.id.to_string(), "text": n.text})).collect::<Vec<_>>(),
           "portal_url": format!("{base_url}/ui/findings/{}", f.id)})
}
