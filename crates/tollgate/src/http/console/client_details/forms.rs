//! The page's forms: filled from the client, or as the person typed them with the errors to
//! show beside each field. The requests they become are the admin API's
//! ([`UpdateClientRequest`]), validated by the same code.

use serde::Deserialize;

use crate::domain::client::{Client, FieldError};
use crate::http::admin::requests::UpdateClientRequest;
use crate::http::console::client_new::model::quota_request;

use super::view::pretty;
use crate::http::console::sentence;

/// Field errors, found by the field they are about (`tenants` covers `tenants[2]`,
/// `claims` covers `claims.aud`).
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn on(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|e| {
                e.field == field
                    || e.field
                        .strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
            })
            .map(|e| e.message.as_str())
            .collect()
    }

    /// The errors about `field` as sentences, for the paragraph beside it.
    pub fn text(&self, field: &str) -> Option<String> {
        let all: Vec<String> = self.on(field).into_iter().map(sentence).collect();
        (!all.is_empty()).then(|| all.join(" "))
    }

    pub fn has(&self, field: &str) -> bool {
        !self.on(field).is_empty()
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

/// Every form of the page.
#[derive(Debug, Default)]
pub struct Forms {
    pub edit: EditForm,
    pub scopes: ScopesForm,
    pub claims: ClaimsForm,
    pub delete: DeleteForm,
    /// Why a secret could not be removed.
    pub secrets_error: Option<String>,
}

impl Forms {
    /// The forms as the client is now.
    pub fn of(client: &Client) -> Forms {
        Forms {
            edit: EditForm::of(client),
            scopes: ScopesForm {
                selected: client.scopes.to_vec(),
                lock: false,
                errors: Errors::default(),
            },
            claims: ClaimsForm {
                csrf: String::new(),
                claims: client
                    .claims
                    .as_ref()
                    .map(|c| pretty(&c.to_value()))
                    .unwrap_or_default(),
                errors: Errors::default(),
            },
            delete: DeleteForm::default(),
            secrets_error: None,
        }
    }
}

/// "Details": name, description and the settings a client may override.
#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seconds; empty for the default.
    #[serde(default)]
    pub access_token_lifetime: String,
    /// Empty for the default.
    #[serde(default)]
    pub signing_algorithm: String,
    /// Separated by spaces, commas or new lines.
    #[serde(default)]
    pub tenants: String,
    /// Tokens per window; empty for no quota.
    #[serde(default)]
    pub quota_tokens: String,
    #[serde(default)]
    pub quota_per: String,
    #[serde(default)]
    pub quota_mode: String,
    #[serde(skip)]
    pub errors: Errors,
}

impl EditForm {
    fn of(client: &Client) -> EditForm {
        EditForm {
            csrf: String::new(),
            name: client.name.as_str().to_owned(),
            description: client.description.as_str().to_owned(),
            access_token_lifetime: client
                .access_token_lifetime
                .map(|l| l.to_string())
                .unwrap_or_default(),
            signing_algorithm: client
                .signing_algorithm
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            tenants: client
                .tenants
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            quota_tokens: client
                .quota
                .map(|q| q.tokens.to_string())
                .unwrap_or_default(),
            quota_per: client.quota.map_or("hour", |q| q.per.as_str()).to_owned(),
            quota_mode: client
                .quota
                .map_or("enforce", |q| q.mode.as_str())
                .to_owned(),
            errors: Errors::default(),
        }
    }

    pub fn algorithm_is(&self, alg: &str) -> bool {
        self.signing_algorithm == alg
    }

    /// The admin API's update request this form makes (every field given; an empty lifetime
    /// or algorithm resets it to the default), and an error for a lifetime that is no number.
    pub fn request(&self) -> (UpdateClientRequest, Option<FieldError>) {
        let lifetime = self.access_token_lifetime.trim();
        let (lifetime, error) = if lifetime.is_empty() {
            (Some(None), None)
        } else {
            match lifetime.parse::<u64>() {
                Ok(l) => (Some(Some(l)), None),
                Err(_) => (
                    None,
                    Some(FieldError::new(
                        "access_token_lifetime",
                        "must be a whole number of seconds, or empty for the default",
                    )),
                ),
            }
        };
        let algorithm = self.signing_algorithm.trim();
        let mut quota_errors = Vec::new();
        let quota = quota_request(
            &self.quota_tokens,
            &self.quota_per,
            &self.quota_mode,
            &mut quota_errors,
        );
        let request = UpdateClientRequest {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            access_token_lifetime: lifetime,
            signing_algorithm: Some((!algorithm.is_empty()).then(|| algorithm.to_owned())),
            tenants: Some(
                self.tenants
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            // A number that is not one leaves the quota as it is, and says so.
            quota: quota_errors.is_empty().then_some(quota),
            ..UpdateClientRequest::default()
        };
        (request, error.or(quota_errors.pop()))
    }
}

/// "Permissions": the scopes ticked, and whether to lock them.
#[derive(Debug, Default)]
pub struct ScopesForm {
    pub selected: Vec<String>,
    pub lock: bool,
    pub errors: Errors,
}

impl ScopesForm {
    /// The form from its fields (`scope` once per ticked box); also returns its `csrf`.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> (ScopesForm, String) {
        let mut form = ScopesForm::default();
        let mut csrf = String::new();
        for (name, value) in pairs {
            match name.as_str() {
                "scope" => form.selected.push(value),
                "lock" => form.lock = value == "on",
                "csrf" => csrf = value,
                _ => {}
            }
        }
        (form, csrf)
    }

    pub fn request(&self) -> UpdateClientRequest {
        UpdateClientRequest {
            scopes: Some(self.selected.clone()),
            scopes_locked: self.lock.then_some(true),
            ..UpdateClientRequest::default()
        }
    }
}

/// "Claims": a JSON object; empty removes them.
#[derive(Debug, Default, Deserialize)]
pub struct ClaimsForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub claims: String,
    #[serde(skip)]
    pub errors: Errors,
}

impl ClaimsForm {
    pub fn request(&self) -> Result<UpdateClientRequest, FieldError> {
        let text = self.claims.trim();
        let claims = if text.is_empty() {
            None
        } else {
            Some(serde_json::from_str(text).map_err(|e| {
                FieldError::new(
                    "claims",
                    format!(
                        "is not valid JSON ({e}); write an object such as {{\"org\": \"acme\"}}"
                    ),
                )
            })?)
        };
        Ok(UpdateClientRequest {
            claims: Some(claims),
            ..UpdateClientRequest::default()
        })
    }
}

/// "Danger zone": the name typed to confirm.
#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm_name: String,
    #[serde(skip)]
    pub errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_found_by_their_field_and_its_items() {
        let errors = Errors(vec![
            FieldError::new("tenants[1]", "bad tenant"),
            FieldError::new("claims.aud", "reserved"),
            FieldError::new("name", "taken"),
            FieldError::new("names", "other"),
        ]);
        assert_eq!(errors.on("tenants"), ["bad tenant"]);
        assert_eq!(errors.on("claims"), ["reserved"]);
        assert_eq!(errors.on("name"), ["taken"]);
        assert!(!errors.has("description"));
        assert_eq!(errors.text("name").as_deref(), Some("Taken."));
    }

    #[test]
    fn an_edit_form_becomes_the_admin_api_request() {
        let form = EditForm {
            name: "n".into(),
            description: "d".into(),
            access_token_lifetime: " ".into(),
            signing_algorithm: "ES256".into(),
            tenants: "acme, globex\nintech".into(),
            ..EditForm::default()
        };
        let (req, error) = form.request();
        assert!(error.is_none());
        assert_eq!(req.access_token_lifetime, Some(None));
        assert_eq!(req.signing_algorithm, Some(Some("ES256".to_owned())));
        assert_eq!(
            req.tenants.unwrap(),
            ["acme", "globex", "intech"].map(String::from)
        );
        let bad = EditForm {
            access_token_lifetime: "an hour".into(),
            ..EditForm::default()
        };
        let (req, error) = bad.request();
        assert_eq!(req.access_token_lifetime, None);
        assert_eq!(error.unwrap().field, "access_token_lifetime");
    }

    #[test]
    fn checkboxes_and_claims_become_the_admin_api_request() {
        let (form, csrf) = ScopesForm::from_pairs(vec![
            ("csrf".into(), "t".into()),
            ("scope".into(), "a:read".into()),
            ("scope".into(), "b:write".into()),
        ]);
        assert_eq!(csrf, "t");
        let req = form.request();
        assert_eq!(req.scopes.unwrap(), ["a:read", "b:write"].map(String::from));
        assert_eq!(req.scopes_locked, None);

        let claims = |s: &str| {
            ClaimsForm {
                claims: s.into(),
                ..ClaimsForm::default()
            }
            .request()
        };
        assert_eq!(claims("  ").unwrap().claims, Some(None));
        assert!(claims(r#"{"org": "acme"}"#).unwrap().claims.is_some());
        assert_eq!(claims("{org}").unwrap_err().field, "claims");
    }
}
