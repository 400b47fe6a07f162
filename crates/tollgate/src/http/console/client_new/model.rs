//! The create form's model: what was typed, turned into the admin API's request, its errors
//! in words beside each field, and the catalogue as groups of checkboxes.

use crate::domain::api::Api;
use crate::domain::client::FieldError;
use crate::http::admin::requests::{CreateClientRequest, QuotaBody};

/// The form as typed, shown again when it has errors.
#[derive(Debug, Default)]
pub struct Typed {
    pub(super) csrf: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub lifetime: String,
    pub algorithm: String,
    pub tenants: String,
    pub claims: String,
    /// "true", "false" or empty (the server's default).
    pub locked: String,
    /// Empty: no quota.
    pub quota_tokens: String,
    pub quota_per: String,
    pub quota_mode: String,
}

impl Typed {
    pub(super) fn from_pairs(pairs: Vec<(String, String)>) -> Typed {
        let mut t = Typed::default();
        for (key, value) in pairs {
            // Browsers send a textarea's line breaks as CR LF; a description keeps LF only.
            let value = value.replace("\r\n", "\n");
            match key.as_str() {
                "csrf" => t.csrf = value,
                "name" => t.name = value,
                "description" => t.description = value,
                "scopes" => t.scopes.push(value),
                "access_token_lifetime" => t.lifetime = value,
                "signing_algorithm" => t.algorithm = value,
                "tenants" => t.tenants = value,
                "claims" => t.claims = value,
                "scopes_locked" => t.locked = value,
                "quota_tokens" => t.quota_tokens = value,
                "quota_per" => t.quota_per = value,
                "quota_mode" => t.quota_mode = value,
                _ => {}
            }
        }
        t
    }

    /// The admin API's request for what was typed, and the errors of the fields that the
    /// form carries as text and the request as typed values (a lifetime that is not a
    /// number, claims that are not JSON).
    pub(super) fn request(&self) -> (CreateClientRequest, Vec<FieldError>) {
        let mut errors = Vec::new();
        let lifetime = self.lifetime.trim();
        let access_token_lifetime = if lifetime.is_empty() {
            None
        } else if let Ok(secs) = lifetime.parse::<u64>() {
            Some(secs)
        } else {
            errors.push(FieldError::new(
                "access_token_lifetime",
                "must be a whole number of seconds, such as 3600",
            ));
            None
        };
        let claims = self.claims.trim();
        let claims = if claims.is_empty() {
            None
        } else {
            match serde_json::from_str(claims) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(FieldError::new(
                        "claims",
                        format!("are not valid JSON ({e}); write an object such as {{\"org\": \"acme\"}}"),
                    ));
                    None
                }
            }
        };
        let algorithm = self.algorithm.trim();
        let quota = quota_request(
            &self.quota_tokens,
            &self.quota_per,
            &self.quota_mode,
            &mut errors,
        );
        let request = CreateClientRequest {
            name: self.name.clone(),
            description: self.description.clone(),
            scopes: self.scopes.clone(),
            access_token_lifetime,
            signing_algorithm: (!algorithm.is_empty()).then(|| algorithm.to_owned()),
            tenants: self.tenant_list(),
            claims,
            scopes_locked: match self.locked.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            quota,
        };
        (request, errors)
    }

    /// Tenant ids separated by commas, spaces or lines.
    fn tenant_list(&self) -> Vec<String> {
        self.tenants
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether the permission `value` is ticked.
    pub fn picked(&self, value: &str) -> bool {
        self.scopes.iter().any(|s| s == value)
    }
}

/// A quota as a form gives it: a number of tokens (empty for none), a window and a mode;
/// the admin API checks the values.
pub(crate) fn quota_request(
    tokens: &str,
    per: &str,
    mode: &str,
    errors: &mut Vec<FieldError>,
) -> Option<QuotaBody> {
    let tokens = tokens.trim().replace([',', '_'], "");
    if tokens.is_empty() {
        return None;
    }
    let Ok(tokens) = tokens.parse::<i64>() else {
        errors.push(FieldError::new(
            "quota",
            "must be a whole number of tokens, such as 1000",
        ));
        return None;
    };
    let or = |s: &str, default: &str| if s.is_empty() { default } else { s }.to_owned();
    Some(QuotaBody {
        tokens,
        per: or(per, "hour"),
        mode: or(mode, "enforce"),
    })
}

/// The errors of a form, each in words, by the field it belongs beside.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// What is wrong with `field`, if anything.
    pub fn of(&self, field: &str) -> Option<String> {
        let found: Vec<&str> = self
            .0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn push(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    /// A validation error of the admin API's request (`name`, `scopes[1]`, `claims.aud`, …)
    /// as a sentence beside its form field.
    pub(super) fn add(&mut self, e: &FieldError, typed: &Typed) {
        let base = e.field.split(['[', '.']).next().unwrap_or_default();
        let index = e
            .field
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok());
        let (field, label) = match base {
            "name" => ("name", "Name".to_owned()),
            "description" => ("description", "Description".to_owned()),
            "scopes" => (
                "scopes",
                index
                    .and_then(|i| typed.scopes.get(i))
                    .map_or("Permissions".to_owned(), |s| format!("Permission “{s}”")),
            ),
            "access_token_lifetime" => ("access_token_lifetime", "Token lifetime".to_owned()),
            "signing_algorithm" => ("signing_algorithm", "Signing algorithm".to_owned()),
            "tenants" => (
                "tenants",
                index
                    .and_then(|i| typed.tenant_list().get(i).cloned())
                    .map_or("Tenants".to_owned(), |t| format!("Tenant “{t}”")),
            ),
            "claims" => ("claims", "Static claims".to_owned()),
            "quota" => ("quota", "Quota".to_owned()),
            _ => ("form", "The form".to_owned()),
        };
        let message = e.message.trim_end_matches('.');
        let joined = if ["must ", "is ", "are "]
            .iter()
            .any(|p| message.starts_with(p))
        {
            format!("{label} {message}.")
        } else {
            format!("{label}: {message}.")
        };
        self.push(field, joined);
    }

    /// Every message, for the summary above the form.
    pub(super) fn summary(&self) -> Vec<String> {
        self.0.iter().map(|(_, m)| m.clone()).collect()
    }
}

/// One API of the catalogue, as a group of checkboxes.
pub struct ApiGroup {
    pub name: String,
    pub identifier: String,
    pub description: String,
    pub builtin: bool,
    pub lifetime: Option<u64>,
    pub permissions: Vec<Choice>,
}

/// One permission: a checkbox labelled by its value, its description beside it.
pub struct Choice {
    pub id: String,
    pub value: String,
    pub description: String,
    pub checked: bool,
}

/// The catalogue's APIs, the organisation's own first and Tollgate's admin API last.
pub(super) fn groups(apis: &[Api], typed: &Typed) -> Vec<ApiGroup> {
    let mut ordered: Vec<&Api> = apis.iter().filter(|a| !a.is_builtin()).collect();
    ordered.extend(apis.iter().filter(|a| a.is_builtin()));
    ordered
        .into_iter()
        .enumerate()
        .map(|(i, api)| ApiGroup {
            name: api.name.as_str().to_owned(),
            identifier: api.identifier.as_str().to_owned(),
            description: api.description.as_str().to_owned(),
            builtin: api.is_builtin(),
            lifetime: api.access_token_lifetime,
            permissions: api
                .all_permissions()
                .into_iter()
                .enumerate()
                .map(|(j, p)| Choice {
                    id: format!("perm-{i}-{j}"),
                    checked: typed.picked(p.value.as_str()),
                    value: p.value.as_str().to_owned(),
                    description: p.description,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::NewClient;

    fn typed(pairs: &[(&str, &str)]) -> Typed {
        Typed::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_form_becomes_the_admin_api_request() {
        let t = typed(&[
            ("name", "Exporter"),
            ("description", "line one\r\nline two"),
            ("scopes", "reports:read"),
            ("scopes", "reports:write"),
            ("access_token_lifetime", " 600 "),
            ("tenants", "acme, globex\ninitech"),
            ("claims", "{\"org\": \"acme\"}"),
            ("scopes_locked", "true"),
            ("unknown", "ignored"),
        ]);
        let (req, errors) = t.request();
        assert!(errors.is_empty());
        assert_eq!(req.description, "line one\nline two");
        assert_eq!(req.scopes, ["reports:read", "reports:write"]);
        assert_eq!(req.access_token_lifetime, Some(600));
        assert_eq!(req.tenants, ["acme", "globex", "initech"]);
        assert_eq!(req.claims, Some(serde_json::json!({"org": "acme"})));
        assert_eq!(req.scopes_locked, Some(true));
        assert_eq!(req.signing_algorithm, None);
        assert!(NewClient::try_from(req).is_ok());
    }

    #[test]
    fn each_error_lands_beside_its_field_in_words() {
        let t = typed(&[
            ("name", " "),
            ("scopes", "ok"),
            ("scopes", "not ok"),
            ("access_token_lifetime", "an hour"),
            ("tenants", "acme bad/tenant"),
            ("claims", "{\"aud\": \"x\"}"),
        ]);
        let (req, early) = t.request();
        let mut errors = Errors::default();
        for e in &early {
            errors.add(e, &t);
        }
        for p in NewClient::try_from(req).unwrap_err().errors {
            errors.add(&FieldError::new(p.field, p.message), &t);
        }
        assert_eq!(
            errors.of("access_token_lifetime").unwrap(),
            "Token lifetime must be a whole number of seconds, such as 3600."
        );
        assert_eq!(errors.of("name").unwrap(), "Name must not be empty.");
        assert!(
            errors
                .of("scopes")
                .unwrap()
                .starts_with("Permission “not ok”:")
        );
        assert!(
            errors
                .of("tenants")
                .unwrap()
                .starts_with("Tenant “bad/tenant”:")
        );
        assert!(errors.of("claims").unwrap().contains("`aud`"));
        assert_eq!(errors.of("description"), None);
        assert_eq!(errors.summary().len(), 5);
    }

    #[test]
    fn claims_that_are_not_json_are_said_so() {
        let (_, errors) = typed(&[("name", "x"), ("claims", "{org: acme}")]).request();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "claims");
        assert!(errors[0].message.starts_with("are not valid JSON"));
    }
}
