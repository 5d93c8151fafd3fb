//! A loopback HTTP proxy in front of a real registry that injects faults
//! (connection resets, error statuses with headers, truncated and corrupted
//! bodies) and can demand Bearer tokens from its own `/token` endpoint.
//! One request per connection (`Connection: close`), which keeps it simple
//! and makes every client retry a fresh connection.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Close the connection without answering.
    Reset,
    /// Answer with this status and extra headers, empty body.
    Status(u16, Vec<(&'static str, String)>),
    /// Forward, but send only this many body bytes, then close.
    Truncate(usize),
    /// Forward with one body byte flipped (same length).
    Corrupt,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub path_contains: String,
    pub times: usize,
    pub fault: Fault,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub target: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Bearer {
    pub user: String,
    pub password: String,
    pub token: String,
}

struct State {
    addr: String,
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Logged>>,
    bearer: Option<Bearer>,
    stop: AtomicBool,
}

pub struct Proxy {
    pub addr: String,
    state: Arc<State>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

impl Proxy {
    pub fn start(upstream: &str, rules: Vec<Rule>, bearer: Option<Bearer>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State {
            addr: addr.clone(),
            upstream: upstream.to_string(),
            rules: Mutex::new(rules),
            log: Mutex::new(Vec::new()),
            bearer,
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || handle(&state, stream));
            }
        });
        Proxy { addr, state }
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }
}

struct Parsed {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    raw_head: Vec<u8>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Option<Parsed> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        // A TLS ClientHello (the client probing HTTPS first) is not
        // HTTP: hang up at once so the client falls back quickly.
        if buf.is_empty() && !byte[0].is_ascii_uppercase() {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = std::str::from_utf8(&buf).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    if !first.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some(Parsed {
        method,
        target,
        headers,
        raw_head: buf,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!(
        "HTTP/1.1 {status} Fault\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(body);
}

fn forward(state: &State, request: &Parsed) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut upstream = TcpStream::connect(&state.upstream).ok()?;
    let text = String::from_utf8_lossy(&request.raw_head);
    let mut head = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        let lower = line.to_ascii_lowercase();
        if i > 0
            && (line.is_empty()
                || lower.starts_with("connection:")
                || lower.starts_with("authorization:"))
        {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes()).ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body = response.split_off(split);
    Some((response, body))
}

fn handle(state: &State, mut stream: TcpStream) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    state.log.lock().unwrap().push(Logged {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        at: Instant::now(),
    });
    let authorization = request
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone());
    if let Some(bearer) = &state.bearer {
        if request.target.starts_with("/token") {
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", bearer.user, bearer.password))
            );
            if authorization.as_deref() == Some(expected.as_str()) {
                let body = format!("{{\"token\":\"{}\",\"expires_in\":300}}", bearer.token);
                respond(
                    &mut stream,
                    200,
                    &[("Content-Type", "application/json".into())],
                    body.as_bytes(),
                );
            } else {
                respond(
                    &mut stream,
                    401,
                    &[],
                    b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}",
                );
            }
            return;
        }
        if authorization.as_deref() != Some(format!("Bearer {}", bearer.token).as_str()) {
            let challenge = format!(
                "Bearer realm=\"http://{}/token\",service=\"fault-proxy\"",
                state.addr
            );
            respond(
                &mut stream,
                401,
                &[("WWW-Authenticate", challenge)],
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"token required\"}]}",
            );
            return;
        }
    }
    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| {
                r.times > 0
                    && r.method == request.method
                    && request.target.contains(&r.path_contains)
            })
            .map(|r| {
                r.times -= 1;
                r.fault.clone()
            })
    };
    match fault {
        Some(Fault::Reset) => {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Some(Fault::Status(code, headers)) => {
            let headers: Vec<(&str, String)> =
                headers.iter().map(|(n, v)| (*n, v.clone())).collect();
            respond(&mut stream, code, &headers, b"");
        }
        other => {
            let Some((head, mut body)) = forward(state, &request) else {
                return;
            };
            match other {
                Some(Fault::Truncate(n)) => body.truncate(n),
                Some(Fault::Corrupt) if !body.is_empty() => {
                    let mid = body.len() / 2;
                    body[mid] ^= 0xff;
                }
                _ => {}
            }
            let _ = stream.write_all(&head);
            let _ = stream.write_all(&body);
        }
    }
}
