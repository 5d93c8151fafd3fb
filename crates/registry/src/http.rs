//! The request engine under every registry call: scheme choice (HTTPS, or
//! plain HTTP only for insecure and loopback registries), authentication
//! (Basic, or Bearer tokens per scope from the `WWW-Authenticate`
//! challenge), redirects followed by hand so credentials never leave the
//! registry's origin, and retries with capped exponential backoff on
//! connection errors, 408, 429 (honouring `Retry-After`) and 5xx.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Url;
use reqwest::blocking::{Body, Response};
use reqwest::header::{
    AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::auth::{Challenge, Credential, CredentialStore, Secret, basic_header, parse_challenge};
use crate::conf::Endpoint;
use crate::error::RegistryError;

/// Tunables of the client. The defaults suit real registries; tests shrink
/// the delays.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Attempts per request (and per blob stream), including the first.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Upper bound on a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// Blobs larger than this are pushed in PATCH chunks of this size;
    /// smaller ones in a single PUT. `0` means always monolithic.
    pub chunk_size: u64,
    /// Layer downloads/uploads running at once in the bulk helpers.
    pub parallelism: usize,
    pub connect_timeout: Duration,
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            chunk_size: 64 << 20,
            parallelism: 4,
            connect_timeout: Duration::from_secs(30),
            user_agent: concat!("decant/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// The access a request needs, as token scopes
/// (`repository:<name>:<actions>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Scope(pub(crate) Vec<String>);

impl Scope {
    pub(crate) fn pull(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull")])
    }
    pub(crate) fn push(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull,push")])
    }
    pub(crate) fn with_pull(mut self, repository: &str) -> Scope {
        self.0.push(format!("repository:{repository}:pull"));
        self
    }
    fn key(&self) -> String {
        self.0.join(" ")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

struct Token {
    value: Secret,
    expires: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A request to send; `body` is called again for each attempt.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) scope: &'a Scope,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<&'a dyn Fn() -> Result<Body, RegistryError>>,
    /// Whether to retry transient failures. Off for requests that are not
    /// idempotent (upload PATCH/PUT: the whole upload is retried instead).
    pub(crate) retry: bool,
}

pub(crate) struct Http {
    verified: reqwest::blocking::Client,
    unverified: reqwest::blocking::Client,
    pub(crate) options: ClientOptions,
    credentials: CredentialStore,
    schemes: Mutex<HashMap<String, Scheme>>,
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<(String, String), Token>>,
}

/// `scheme://host/path`: what may appear in messages (no query, no userinfo).
pub(crate) fn redact(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    ) + url.path()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn is_transient(error: &reqwest::Error) -> bool {
    // Everything below the HTTP layer (refused, reset, EOF mid-headers,
    // timeouts) is worth another try; builder or redirect errors are not.
    error.is_connect() || error.is_timeout() || error.is_request() || error.is_body()
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate_parse(value)?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// IMF-fixdate only (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers
/// must send.
fn httpdate_parse(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || year < 1970 {
        return None;
    }
    // Days since the epoch (Howard Hinnant's days_from_civil).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The registry's error message from an error response body, truncated.
pub(crate) fn error_message(response: Response) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    use std::io::Read;
    let mut body = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut body);
    let text = match serde_json::from_slice::<Errors>(&body) {
        Ok(e) => e
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => String::from_utf8_lossy(&body).trim().to_string(),
    };
    let text: String = text.chars().take(300).collect();
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

impl Http {
    pub(crate) fn new(
        options: ClientOptions,
        credentials: CredentialStore,
    ) -> Result<Http, RegistryError> {
        let build = |verify: bool| {
            reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(options.connect_timeout)
                // No total timeout: a layer download may take long; a
                // dead peer surfaces as a reset or a truncated body.
                .timeout(None)
                .user_agent(options.user_agent.clone())
                .tls_danger_accept_invalid_certs(!verify)
                .build()
                .map_err(|source| RegistryError::HttpClient { source })
        };
        Ok(Http {
            verified: build(true)?,
            unverified: build(false)?,
            options,
            credentials,
            schemes: Mutex::new(HashMap::new()),
            challenges: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn client(&self, endpoint: &Endpoint) -> &reqwest::blocking::Client {
        if endpoint.insecure {
            &self.unverified
        } else {
            &self.verified
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.options
            .initial_backoff
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }

    pub(crate) fn sleep_backoff(&self, attempt: u32) {
        std::thread::sleep(self.backoff(attempt));
    }

    /// `https://host` or, where allowed and HTTPS does not answer,
    /// `http://host`; remembered per host.
    pub(crate) fn base_url(&self, endpoint: &Endpoint) -> Result<Url, RegistryError> {
        let host = endpoint.api_host().to_string();
        let cached = self.schemes.lock().ok().and_then(|s| s.get(&host).copied());
        let scheme = match cached {
            Some(s) => s,
            None => {
                let scheme = if !endpoint.allows_http() {
                    Scheme::Https
                } else {
                    let probe = format!("https://{host}/v2/");
                    let answered = self
                        .client(endpoint)
                        .get(&probe)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .is_ok();
                    if answered {
                        Scheme::Https
                    } else {
                        Scheme::Http
                    }
                };
                if let Ok(mut s) = self.schemes.lock() {
                    s.insert(host.clone(), scheme);
                }
                scheme
            }
        };
        let text = match scheme {
            Scheme::Https => format!("https://{host}/"),
            Scheme::Http => format!("http://{host}/"),
        };
        Url::parse(&text).map_err(|_| RegistryError::BadUrl { url: text, host })
    }

    /// `path` (starting with `/v2/`) at the endpoint.
    pub(crate) fn url(&self, endpoint: &Endpoint, path: &str) -> Result<Url, RegistryError> {
        let base = self.base_url(endpoint)?;
        base.join(path).map_err(|_| RegistryError::BadUrl {
            url: path.to_string(),
            host: endpoint.host.clone(),
        })
    }

    /// The `Authorization` value to send to `endpoint` for `scope`, from the
    /// challenge seen earlier on that host (none seen: anonymous).
    fn authorization(
        &self,
        endpoint: &Endpoint,
        scope: &Scope,
        base: &Url,
    ) -> Result<Option<String>, RegistryError> {
        let host = endpoint.api_host().to_string();
        let Some(challenge) = self
            .challenges
            .lock()
            .ok()
            .and_then(|c| c.get(&host).cloned())
        else {
            return Ok(None);
        };
        match challenge.scheme.as_str() {
            "basic" => match self
                .credentials
                .lookup(&endpoint.host, &endpoint.repository)?
            {
                Some(Credential::Basic { username, password }) => {
                    Ok(Some(basic_header(&username, &password)))
                }
                _ => Ok(None),
            },
            "bearer" => {
                let key = (host.clone(), scope.key());
                if let Ok(tokens) = self.tokens.lock()
                    && let Some(token) = tokens.get(&key)
                    && token.expires > Instant::now()
                {
                    return Ok(Some(format!("Bearer {}", token.value.expose())));
                }
                let token = self.fetch_token(endpoint, &challenge, scope, base)?;
                let header = format!("Bearer {}", token.value.expose());
                if let Ok(mut tokens) = self.tokens.lock() {
                    tokens.insert(key, token);
                }
                Ok(Some(header))
            }
            _ => Err(RegistryError::UnsupportedChallenge {
                host,
                challenge: challenge.scheme.clone(),
            }),
        }
    }

    fn fetch_token(
        &self,
        endpoint: &Endpoint,
        challenge: &Challenge,
        scope: &Scope,
        base: &Url,
    ) -> Result<Token, RegistryError> {
        let host = endpoint.api_host().to_string();
        let realm_text = challenge.params.get("realm").cloned().unwrap_or_default();
        let mut realm = Url::parse(&realm_text).map_err(|_| RegistryError::BadUrl {
            url: realm_text.clone(),
            host: host.clone(),
        })?;
        if realm.scheme() != "https" && realm.scheme() != "http" {
            return Err(RegistryError::BadUrl {
                url: realm_text,
                host,
            });
        }
        let credential = self
            .credentials
            .lookup(&endpoint.host, &endpoint.repository)?;
        // Credentials travel to the realm only over TLS, unless the registry
        // itself is plain HTTP on a host the user marked insecure or loopback.
        let realm_ok = realm.scheme() == "https" || base.scheme() == "http";
        let credential = credential.filter(|_| realm_ok);
        let service = challenge.params.get("service").cloned();
        let client = self.client(endpoint);
        let realm_display = redact(&realm);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = match &credential {
                Some(Credential::IdentityToken(refresh)) => {
                    // OAuth2 refresh-token grant (distribution's token spec).
                    let mut form = vec![
                        ("grant_type", "refresh_token".to_string()),
                        ("refresh_token", refresh.expose().to_string()),
                        ("client_id", "decant".to_string()),
                        ("scope", scope.0.join(" ")),
                    ];
                    if let Some(s) = &service {
                        form.push(("service", s.clone()));
                    }
                    let body = form
                        .iter()
                        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                        .collect::<Vec<_>>()
                        .join("&");
                    client
                        .post(realm.clone())
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(body)
                }
                other => {
                    {
                        let mut pairs = realm.query_pairs_mut();
                        pairs.clear();
                        if let Some(s) = &service {
                            pairs.append_pair("service", s);
                        }
                        for s in &scope.0 {
                            pairs.append_pair("scope", s);
                        }
                    }
                    // Keep the realm's own query (none in practice) out of
                    // the picture: rebuilt above from the challenge only.
                    let mut r = client.get(realm.clone());
                    if let Some(Credential::Basic { username, password }) = other {
                        r = r.header(AUTHORIZATION, basic_header(username, password));
                    }
                    r
                }
            };
            let response = match request.timeout(Duration::from_secs(60)).send() {
                Ok(r) => r,
                Err(e) if is_transient(&e) && attempt < self.options.max_attempts => {
                    self.sleep_backoff(attempt);
                    continue;
                }
                Err(source) => {
                    return Err(RegistryError::Http {
                        url: realm_display,
                        source,
                    });
                }
            };
            let status = response.status();
            if retryable_status(status) && attempt < self.options.max_attempts {
                std::thread::sleep(
                    retry_after(response.headers())
                        .unwrap_or_else(|| self.backoff(attempt))
                        .min(self.options.max_retry_after),
                );
                continue;
            }
            if !status.is_success() {
                return Err(RegistryError::TokenStatus {
                    realm: realm_display,
                    status: status.as_u16(),
                    message: error_message(response),
                });
            }
            use std::io::Read;
            let mut body = Vec::new();
            response
                .take(1 << 20)
                .read_to_end(&mut body)
                .map_err(|source| RegistryError::Body {
                    what: "token".to_string(),
                    url: realm_display.clone(),
                    source,
                })?;
            let parsed: TokenResponse =
                serde_json::from_slice(&body).map_err(|source| RegistryError::TokenResponse {
                    realm: realm_display.clone(),
                    source,
                })?;
            let value = parsed.token.or(parsed.access_token).unwrap_or_default();
            // Distribution's token spec: 60 seconds when unspecified; renew
            // a little early so a token never expires mid-request.
            let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(60).max(10) - 5);
            return Ok(Token {
                value: Secret::new(value),
                expires: Instant::now() + lifetime,
            });
        }
    }

    fn forget_token(&self, endpoint: &Endpoint, scope: &Scope) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&(endpoint.api_host().to_string(), scope.key()));
        }
    }

    /// Sends `request`, authenticating, following redirects and retrying.
    /// Returns the final response whatever its status (callers map
    /// statuses to errors), except that 401 after a fresh authentication
    /// becomes [`RegistryError::Unauthorized`].
    pub(crate) fn send(
        &self,
        endpoint: &Endpoint,
        request: &Request<'_>,
    ) -> Result<Response, RegistryError> {
        let origin = self.base_url(endpoint)?;
        let mut attempt = 0;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let authorization = self.authorization(endpoint, request.scope, &origin)?;
            let result = self.send_once(endpoint, request, &origin, authorization.as_deref());
            let response = match result {
                Ok(r) => r,
                Err(RegistryError::Http { url, source }) => {
                    if request.retry && is_transient(&source) && attempt < self.options.max_attempts
                    {
                        self.sleep_backoff(attempt);
                        continue;
                    }
                    return Err(RegistryError::Http { url, source });
                }
                Err(other) => return Err(other),
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_challenge);
                if !reauthenticated && let Some(challenge) = challenge {
                    reauthenticated = true;
                    attempt -= 1;
                    if let Ok(mut c) = self.challenges.lock() {
                        c.insert(endpoint.api_host().to_string(), challenge);
                    }
                    self.forget_token(endpoint, request.scope);
                    continue;
                }
                return Err(RegistryError::Unauthorized {
                    host: endpoint.host.clone(),
                    scope: request.scope.key(),
                    status: status.as_u16(),
                    message: error_message(response),
                });
            }
            if request.retry && retryable_status(status) && attempt < self.options.max_attempts {
                let wait = retry_after(response.headers())
                    .unwrap_or_else(|| self.backoff(attempt))
                    .min(self.options.max_retry_after);
                drop(response);
                std::thread::sleep(wait);
                continue;
            }
            return Ok(response);
        }
    }

    fn send_once(
        &self,
        endpoint: &Endpoint,
        request: &Request<'_>,
        origin: &Url,
        authorization: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let client = self.client(endpoint);
        let mut url = request.url.clone();
        let mut method = request.method.clone();
        let mut hops = 0;
        loop {
            let mut builder = client
                .request(method.clone(), url.clone())
                .headers(request.headers.clone());
            // Credentials go only to the registry's own origin: a blob
            // redirect to a CDN or another host gets none (the CDN URL is
            // pre-signed), nor does any hop after it.
            if let Some(auth) = authorization
                && same_origin(&url, origin)
                && let Ok(value) = HeaderValue::from_str(auth)
            {
                builder = builder.header(AUTHORIZATION, value);
            }
            if hops == 0
                && let Some(body) = request.body
            {
                builder = builder.body(body()?);
            }
            let response = builder.send().map_err(|source| RegistryError::Http {
                url: redact(&url),
                source,
            })?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED
            {
                return Ok(response);
            }
            // Only bodiless requests are followed: an upload answered with a
            // redirect would need its body replayed.
            if request.body.is_some()
                && hops == 0
                && method != Method::GET
                && method != Method::HEAD
            {
                return Ok(response);
            }
            let Some(location) = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Ok(response);
            };
            let next = url.join(location).map_err(|_| RegistryError::BadUrl {
                url: location.chars().take(200).collect(),
                host: endpoint.host.clone(),
            })?;
            if url.scheme() == "https" && next.scheme() != "https" {
                return Err(RegistryError::InsecureRedirect {
                    from: redact(&url),
                    to: redact(&next),
                });
            }
            hops += 1;
            if hops > 10 {
                return Err(RegistryError::TooManyRedirects {
                    url: redact(&request.url),
                });
            }
            if response.status() == StatusCode::SEE_OTHER {
                method = Method::GET;
            }
            url = next;
        }
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let cases: &[(&str, Option<u64>)] = &[
            ("3", Some(3)),
            ("  0 ", Some(0)),
            ("soon", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            assert_eq!(
                retry_after(&headers).map(|d| d.as_secs()),
                *expected,
                "{value}"
            );
        }
        assert_eq!(
            httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784111777))
        );
    }
}
