//! The API form: what was typed (kept when the page comes back with errors), turned into the
//! admin API's requests so that the console and the API validate alike, and the errors those
//! give placed beside the fields they name.

use std::collections::BTreeMap;

use crate::domain::api::{Api, MAX_PERMISSIONS};
use crate::domain::client::FieldError;
use crate::http::admin::api_types::{CreateApiRequest, PermissionBody, UpdateApiRequest};
use crate::http::admin::problem::Problem;

/// Empty permission rows a new API's form offers.
pub const NEW_ROWS: usize = 3;
/// Rows read from a form at most: every permission an API may publish, and a few empty ones.
const MAX_ROWS: usize = MAX_PERMISSIONS + 20;

/// One permission row as typed.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub value: String,
    pub description: String,
    pub value_error: Option<String>,
    pub description_error: Option<String>,
    /// How many clients hold the permission now (the rows of an API being edited).
    pub held: usize,
}

/// Errors beside the fields, and all of them for the summary above the form.
#[derive(Debug, Default)]
pub struct Errors {
    pub name: Option<String>,
    pub description: Option<String>,
    pub identifier: Option<String>,
    pub lifetime: Option<String>,
    pub algorithm: Option<String>,
    pub permissions: Option<String>,
    pub all: Vec<String>,
}

#[derive(Debug, Default)]
pub struct ApiForm {
    pub csrf: String,
    pub name: String,
    pub description: String,
    pub identifier: String,
    /// Seconds, as typed; empty for the server's default.
    pub lifetime: String,
    /// An algorithm's name; empty for the server's default.
    pub algorithm: String,
    pub rows: Vec<Row>,
    /// "Add another permission" was pressed: show the form again with one more row.
    pub add_row: bool,
    /// The person confirmed taking removed permissions from the clients holding them.
    pub take: bool,
    /// Which holders the confirmation showed (see `holders_digest`).
    pub confirmed: String,
    pub errors: Errors,
}

impl ApiForm {
    /// A new API's form.
    pub fn blank() -> ApiForm {
        ApiForm {
            rows: vec![Row::default(); NEW_ROWS],
            ..ApiForm::default()
        }
    }

    /// The form for changing `api`, with one empty row to add a permission. The built-in
    /// API's own permissions are not in it: they cannot change.
    pub fn of(api: &Api, held: impl Fn(&str) -> usize) -> ApiForm {
        let mut rows: Vec<Row> = api
            .permissions
            .iter()
            .map(|p| Row {
                value: p.value.to_string(),
                description: p.description.clone(),
                held: held(p.value.as_str()),
                ..Row::default()
            })
            .collect();
        rows.push(Row::default());
        ApiForm {
            name: api.name.as_str().to_owned(),
            description: api.description.as_str().to_owned(),
            identifier: api.identifier.as_str().to_owned(),
            lifetime: api
                .access_token_lifetime
                .map(|l| l.to_string())
                .unwrap_or_default(),
            algorithm: api
                .signing_algorithm
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            rows,
            ..ApiForm::default()
        }
    }

    /// Reads a posted form. Rows are `p<N>_value` and `p<N>_description`, in the order of N.
    pub fn read(pairs: Vec<(String, String)>) -> ApiForm {
        let mut form = ApiForm::default();
        let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "name" => form.name = value,
                // Browsers send a textarea's line breaks as CR LF; a description keeps LF.
                "description" => form.description = value.replace("\r\n", "\n"),
                "identifier" => form.identifier = value,
                "access_token_lifetime" => form.lifetime = value,
                "signing_algorithm" => form.algorithm = value,
                "add_row" => form.add_row = true,
                "take" => form.take = value == "yes",
                "confirmed" => form.confirmed = value,
                other => {
                    if let Some((n, part)) = row_field(other) {
                        let row = rows.entry(n).or_default();
                        match part {
                            "value" => row.value = value,
                            _ => row.description = value,
                        }
                    }
                }
            }
        }
        form.rows = rows.into_values().collect();
        form
    }

    /// Marks how many clients hold each row's permission.
    pub fn count_holders(&mut self, held: impl Fn(&str) -> usize) {
        for row in &mut self.rows {
            row.held = held(row.value.trim());
        }
    }

    /// The rows that say something, as the admin API's permissions, and the row of each.
    fn permissions(&self) -> (Vec<PermissionBody>, Vec<usize>) {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.value.trim().is_empty() || !r.description.trim().is_empty())
            .map(|(i, r)| {
                let body = PermissionBody {
                    value: r.value.trim().to_owned(),
                    description: r.description.trim().to_owned(),
                };
                (body, i)
            })
            .unzip()
    }

    /// The token lifetime as the admin API takes it; an error if it is not a number.
    fn lifetime(&self) -> Result<Option<u64>, FieldError> {
        let typed = self.lifetime.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        typed.parse().map(Some).map_err(|_| {
            FieldError::new(
                "access_token_lifetime",
                "must be a whole number of seconds, or empty for the server's default",
            )
        })
    }

    fn algorithm(&self) -> Option<String> {
        Some(self.algorithm.trim().to_owned()).filter(|a| !a.is_empty())
    }

    /// The admin API's create request, the row of each permission in it, and the errors
    /// found before the admin API's own checks.
    pub fn create_request(&self) -> (CreateApiRequest, Vec<usize>, Vec<FieldError>) {
        let (permissions, rows) = self.permissions();
        let (lifetime, errors) = match self.lifetime() {
            Ok(l) => (l, Vec::new()),
            Err(e) => (None, vec![e]),
        };
        let request = CreateApiRequest {
            identifier: self.identifier.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            permissions,
            access_token_lifetime: lifetime,
            signing_algorithm: self.algorithm(),
        };
        (request, rows, errors)
    }

    /// The admin API's update request for what differs from `api`, the row of each
    /// permission in it, and the errors found before the admin API's own checks. Only the
    /// permissions of the built-in API can change.
    pub fn update_request(&self, api: &Api) -> (UpdateApiRequest, Vec<usize>, Vec<FieldError>) {
        let (permissions, rows) = self.permissions();
        let same = permissions.len() == api.permissions.len()
            && permissions
                .iter()
                .zip(&api.permissions)
                .all(|(a, b)| a.value == b.value.as_str() && a.description == b.description);
        let mut request = UpdateApiRequest {
            permissions: (!same).then_some(permissions),
            ..UpdateApiRequest::default()
        };
        let mut errors = Vec::new();
        if api.is_builtin() {
            return (request, rows, errors);
        }
        let changed = |typed: &str, now: &str| (typed != now).then(|| typed.to_owned());
        request.name = changed(self.name.trim(), api.name.as_str());
        request.description = changed(&self.description, api.description.as_str());
        request.identifier = changed(self.identifier.trim(), api.identifier.as_str());
        match self.lifetime() {
            Ok(l) if l != api.access_token_lifetime => request.access_token_lifetime = Some(l),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
        let algorithm = self.algorithm();
        if algorithm.as_deref() != api.signing_algorithm.map(|a| a.as_str()) {
            request.signing_algorithm = Some(algorithm);
        }
        (request, rows, errors)
    }

    /// Places each error beside its field; `rows` gives the form row of each permission the
    /// request held.
    pub fn place(&mut self, errors: Vec<FieldError>, rows: &[usize]) {
        for FieldError { field, message } in errors {
            let row = permission_field(&field)
                .and_then(|(i, part)| Some((*rows.get(i)?, part == "value")))
                .filter(|(row, _)| *row < self.rows.len());
            let (slot, label) = match (field.as_str(), row) {
                (_, Some((row, true))) => (
                    &mut self.rows[row].value_error,
                    format!("Permission {}", row + 1),
                ),
                (_, Some((row, false))) => (
                    &mut self.rows[row].description_error,
                    format!("Permission {}", row + 1),
                ),
                ("name", _) => (&mut self.errors.name, "Name".to_owned()),
                ("description", _) => (&mut self.errors.description, "Description".to_owned()),
                ("identifier", _) => (&mut self.errors.identifier, "Identifier".to_owned()),
                ("access_token_lifetime", _) => {
                    (&mut self.errors.lifetime, "Token lifetime".to_owned())
                }
                ("signing_algorithm", _) => {
                    (&mut self.errors.algorithm, "Signing algorithm".to_owned())
                }
                _ => (&mut self.errors.permissions, "Permissions".to_owned()),
            };
            if slot.is_none() {
                *slot = Some(message.clone());
            }
            self.errors.all.push(format!("{label}: {message}"));
        }
    }

    /// [`ApiForm::place`] for the errors of a refused admin API request.
    pub fn place_problem(&mut self, problem: Problem, rows: &[usize]) {
        let errors = problem
            .errors
            .into_iter()
            .map(|e| FieldError::new(e.field, e.message))
            .collect();
        self.place(errors, rows);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.all.is_empty()
    }
}

/// `p12_value` → (12, "value").
fn row_field(key: &str) -> Option<(usize, &str)> {
    let (n, part) = key.strip_prefix('p')?.split_once('_')?;
    let n: usize = n.parse().ok()?;
    (n < MAX_ROWS && matches!(part, "value" | "description")).then_some((n, part))
}

/// `permissions[3].value` → (3, "value").
fn permission_field(field: &str) -> Option<(usize, &str)> {
    let (n, part) = field.strip_prefix("permissions[")?.split_once("].")?;
    Some((n.parse().ok()?, part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::NewApi;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_are_read_in_order_and_empty_ones_left_out() {
        let form = ApiForm::read(pairs(&[
            ("name", "Reports"),
            ("description", "one\r\ntwo"),
            ("p1_value", "b"),
            ("p0_value", " a "),
            ("p0_description", "first"),
            ("p1_description", ""),
            ("p2_value", ""),
            ("p2_description", " "),
            ("p3_value", "c"),
            ("p999_value", "ignored"),
        ]));
        assert_eq!(form.rows.len(), 4);
        assert_eq!(form.description, "one\ntwo");
        let (req, rows, errors) = form.create_request();
        assert!(errors.is_empty());
        let values: Vec<&str> = req.permissions.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(values, ["a", "b", "c"]);
        assert_eq!(rows, [0, 1, 3], "the empty row is skipped");
    }

    #[test]
    fn errors_land_beside_the_row_that_caused_them() {
        let mut form = ApiForm::read(pairs(&[
            ("name", ""),
            ("identifier", "not a uri"),
            ("access_token_lifetime", "soon"),
            ("p0_value", ""),
            ("p1_value", "ok"),
            ("p2_value", "bad value"),
        ]));
        let (req, rows, mut errors) = form.create_request();
        assert_eq!(errors[0].field, "access_token_lifetime");
        if let Err(problem) = NewApi::try_from(req) {
            errors.extend(
                problem
                    .errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field, e.message)),
            );
        }
        form.place(errors, &rows);
        assert!(form.errors.lifetime.is_some());
        assert!(form.errors.name.is_some());
        assert!(form.errors.identifier.is_some());
        assert!(form.rows[2].value_error.is_some(), "{:?}", form.rows);
        assert!(form.rows[1].value_error.is_none());
        assert!(
            form.errors
                .all
                .iter()
                .any(|e| e.starts_with("Permission 3:"))
        );
    }

    #[test]
    fn an_update_sends_only_what_changed() {
        let api = crate::domain::catalogue::tests::api("api_r", "https://r.example", &["a", "b"]);
        let form = ApiForm::of(&api, |_| 0);
        assert_eq!(form.rows.len(), 3, "one empty row to add to");
        let (req, _, errors) = form.update_request(&api);
        assert!(errors.is_empty());
        assert!(req.name.is_none() && req.permissions.is_none() && req.identifier.is_none());
        assert!(req.access_token_lifetime.is_none() && req.signing_algorithm.is_none());
        let mut changed = ApiForm::of(&api, |_| 0);
        changed.rows[0].description = "now described".into();
        changed.lifetime = "600".into();
        let (req, rows, _) = changed.update_request(&api);
        assert_eq!(req.permissions.unwrap().len(), 2);
        assert_eq!(rows, [0, 1]);
        assert_eq!(req.access_token_lifetime, Some(Some(600)));
        assert!(req.name.is_none());
    }
}
