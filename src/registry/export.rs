//! The catalogue exported in another format.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Registry, Result};
use crate::export::{ExportFormat, ExportInput, cpsv, hsds};

impl Registry {
    /// Every entry (retired ones marked so) and agency in `format`; HSDS text in `lang`,
    /// IRIs under `base_url`.
    pub async fn export(
        &self,
        format: ExportFormat,
        lang: &str,
        base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<Value> {
        let agencies = self.list_agencies().await?;
        let entries = self.all_services().await?;
        let input = ExportInput {
            entries: &entries,
            agencies: &agencies,
            reference: self.validator.reference(),
            base_url: base_url.trim_end_matches('/'),
            lang,
            now,
        };
        Ok(match format {
            ExportFormat::Veiviser => json!({ "agencies": agencies, "services": entries }),
            ExportFormat::Hsds => hsds::export(&input),
            ExportFormat::CpsvApNo => cpsv::export(&input),
        })
    }
}
