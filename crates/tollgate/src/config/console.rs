//! The console's settings: sign-in, sessions, single sign-on and the first owner.

use super::input::Given;
use super::settings::{DefaultValue, Kind, Setting};
use crate::domain::admin::{Email, SessionPolicy};
use crate::domain::password::Password;
use crate::service::people::{BootstrapOwner, MfaPolicy, SsoConfig, SsoRoles};
use crate::service::sso::{SsoClientSecret, SsoSettings};

/// What the console's settings gave.
#[derive(Default)]
pub(super) struct ConsoleGiven {
    mfa: Option<MfaPolicy>,
    session_lifetime: Option<u64>,
    session_idle_timeout: Option<u64>,
    sso_issuer: Option<String>,
    sso_client_id: Option<String>,
    sso_client_secret: Option<SsoClientSecret>,
    sso_role_claim: Option<String>,
    sso_scopes: Vec<String>,
    sso_label: Option<String>,
    owner_values: Vec<String>,
    manager_values: Vec<String>,
    viewer_values: Vec<String>,
    admin_email: Option<Email>,
    admin_password: Option<Password>,
}

/// The console's configuration, validated.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub mfa: MfaPolicy,
    pub sessions: SessionPolicy,
    pub sso: Option<SsoConfig>,
    pub bootstrap_owner: Option<BootstrapOwner>,
}

impl ConsoleGiven {
    /// Checks the rules between the console's settings.
    pub(super) fn build(self) -> Result<ConsoleConfig, (String, String)> {
        let sessions = SessionPolicy {
            absolute_secs: self.session_lifetime.unwrap_or(12 * 3600),
            idle_secs: self.session_idle_timeout.unwrap_or(30 * 60),
        };
        if sessions.idle_secs > sessions.absolute_secs {
            return Err((
                "TOLLGATE_CONSOLE_SESSION_IDLE_TIMEOUT / `console_session_idle_timeout`".into(),
                "must not be longer than console_session_lifetime".into(),
            ));
        }
        let sso = match (self.sso_issuer, self.sso_client_id, self.sso_client_secret) {
            (None, None, None) => None,
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                let roles = SsoRoles {
                    owner: self.owner_values,
                    manager: self.manager_values,
                    viewer: self.viewer_values,
                };
                if roles.owner.is_empty() && roles.manager.is_empty() && roles.viewer.is_empty() {
                    return Err((
                        "TOLLGATE_SSO_OWNER_VALUES / `sso_owner_values`".into(),
                        "single sign-on needs at least one claim value that gives a role \
                         (sso_owner_values, sso_manager_values or sso_viewer_values)"
                            .into(),
                    ));
                }
                Some(SsoConfig {
                    settings: SsoSettings {
                        issuer,
                        client_id,
                        client_secret,
                        role_claim: self.sso_role_claim.unwrap_or_else(|| "groups".into()),
                        scopes: self.sso_scopes,
                    },
                    roles,
                    label: self
                        .sso_label
                        .unwrap_or_else(|| "Sign in with single sign-on".into()),
                })
            }
            _ => {
                return Err((
                    "TOLLGATE_SSO_ISSUER / TOLLGATE_SSO_CLIENT_ID / TOLLGATE_SSO_CLIENT_SECRET"
                        .into(),
                    "set all three to turn single sign-on on, or none".into(),
                ));
            }
        };
        let bootstrap_owner = match (self.admin_email, self.admin_password) {
            (None, None) => None,
            (Some(email), Some(password)) => Some(BootstrapOwner { email, password }),
            _ => {
                return Err((
                    "TOLLGATE_BOOTSTRAP_ADMIN_EMAIL / TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD".into(),
                    "set both variables or neither".into(),
                ));
            }
        };
        Ok(ConsoleConfig {
            mfa: self.mfa.unwrap_or_default(),
            sessions,
            sso,
            bootstrap_owner,
        })
    }
}

fn given(g: &mut Given) -> &mut ConsoleGiven {
    &mut g.console
}

fn non_empty(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_owned())
    }
}

pub(super) static CONSOLE: &[Setting] = &[
    Setting {
        key: "console_mfa",
        kind: Kind::Value,
        default: DefaultValue::Text("required"),
        meaning: "`required`: people who sign in with a password enrol a second factor (TOTP) \
                  first; `optional`: they may",
        parse: |raw, g| {
            let s = raw.text()?;
            given(g).mfa = Some(
                MfaPolicy::parse(s.trim())
                    .ok_or_else(|| format!("`{s}` is not `required` or `optional`"))?,
            );
            Ok(())
        },
    },
    Setting {
        key: "console_session_lifetime",
        kind: Kind::Value,
        default: DefaultValue::Seconds(43_200),
        meaning: "seconds a console session lasts at most (300 to 7 days)",
        parse: |raw, g| {
            given(g).session_lifetime = Some(raw.seconds(300..=7 * 86_400)?);
            Ok(())
        },
    },
    Setting {
        key: "console_session_idle_timeout",
        kind: Kind::Value,
        default: DefaultValue::Seconds(1_800),
        meaning: "seconds without activity that end a console session (60 to 1 day)",
        parse: |raw, g| {
            given(g).session_idle_timeout = Some(raw.seconds(60..=86_400)?);
            Ok(())
        },
    },
    Setting {
        key: "sso_issuer",
        kind: Kind::Value,
        default: DefaultValue::Derived("none (single sign-on off)"),
        meaning: "the OpenID Connect provider's issuer URL, for single sign-on to the console",
        parse: |raw, g| {
            let s = non_empty(raw.text()?)?;
            let url = url::Url::parse(&s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                return Err("must be an https URL (http only on loopback, for tests)".into());
            }
            given(g).sso_issuer = Some(s);
            Ok(())
        },
    },
    Setting {
        key: "sso_client_id",
        kind: Kind::Value,
        default: DefaultValue::Derived("none"),
        meaning: "Tollgate's client id at the provider",
        parse: |raw, g| {
            given(g).sso_client_id = Some(non_empty(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "sso_role_claim",
        kind: Kind::Value,
        default: DefaultValue::Text("groups"),
        meaning: "the ID token (or userinfo) claim whose values give a role",
        parse: |raw, g| {
            given(g).sso_role_claim = Some(non_empty(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "sso_owner_values",
        kind: Kind::List,
        default: DefaultValue::Derived("none"),
        meaning: "values of the role claim that make a person an owner",
        parse: |raw, g| {
            given(g).owner_values = raw.list()?;
            Ok(())
        },
    },
    Setting {
        key: "sso_manager_values",
        kind: Kind::List,
        default: DefaultValue::Derived("none"),
        meaning: "values that make a person a manager",
        parse: |raw, g| {
            given(g).manager_values = raw.list()?;
            Ok(())
        },
    },
    Setting {
        key: "sso_viewer_values",
        kind: Kind::List,
        default: DefaultValue::Derived("none"),
        meaning: "values that make a person a viewer",
        parse: |raw, g| {
            given(g).viewer_values = raw.list()?;
            Ok(())
        },
    },
    Setting {
        key: "sso_scopes",
        kind: Kind::List,
        default: DefaultValue::Text("email,profile"),
        meaning: "scopes asked for besides `openid`",
        parse: |raw, g| {
            given(g).sso_scopes = raw.list()?;
            Ok(())
        },
    },
    Setting {
        key: "sso_label",
        kind: Kind::Value,
        default: DefaultValue::Text("Sign in with single sign-on"),
        meaning: "the text of the console's single sign-on button",
        parse: |raw, g| {
            given(g).sso_label = Some(non_empty(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "sso_client_secret",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "Tollgate's client secret at the provider",
        parse: |raw, g| {
            given(g).sso_client_secret = Some(SsoClientSecret::new(non_empty(raw.text()?)?));
            Ok(())
        },
    },
    Setting {
        key: "bootstrap_admin_email",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "the first owner's email, created at start if missing (with the password below)",
        parse: |raw, g| {
            given(g).admin_email = Some(Email::parse(raw.text()?).map_err(|e| e.message)?);
            Ok(())
        },
    },
    Setting {
        key: "bootstrap_admin_password",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "the first owner's password (12 to 1,024 characters)",
        parse: |raw, g| {
            let p = Password::parse(raw.text()?.to_owned()).map_err(|e| e.to_string())?;
            given(g).admin_password = Some(p);
            Ok(())
        },
    },
];
