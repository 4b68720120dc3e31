//! A tiny scripted HTTP/1.1 server for tests: records every request, answers from a script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Multipart fields: (name, file name, content).
    pub fn multipart(&self) -> Vec<(String, Option<String>, Vec<u8>)> {
        let ct = self.header("content-type").unwrap_or("");
        let boundary = ct
            .split("boundary=")
            .nth(1)
            .unwrap_or("")
            .trim_matches('"')
            .to_string();
        let delim = format!("--{boundary}");
        let mut out = Vec::new();
        let body = &self.body;
        let mut positions = Vec::new();
        let mut i = 0;
        while let Some(p) = find(&body[i..], delim.as_bytes()) {
            positions.push(i + p);
            i += p + delim.len();
        }
        for w in positions.windows(2) {
            let part = &body[w[0] + delim.len()..w[1]];
            let part = part.strip_prefix(b"\r\n").unwrap_or(part);
            let Some(split) = find(part, b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&part[..split]).into_owned();
            let mut content = part[split + 4..].to_vec();
            if content.ends_with(b"\r\n") {
                content.truncate(content.len() - 2);
            }
            let disposition = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
                .unwrap_or("")
                .to_string();
            let attr = |key: &str| {
                disposition
                    .split(';')
                    .map(str::trim)
                    .find_map(|a| a.strip_prefix(&format!("{key}=")))
                    .map(|v| v.trim_matches('"').to_string())
            };
            out.push((attr("name").unwrap_or_default(), attr("filename"), content));
        }
        out
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.multipart()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, c)| String::from_utf8_lossy(&c).into_owned())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One scripted answer: status, extra headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `script` in order, one connection per reply, then stops.
    pub fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rec = requests.clone();
        let handle = std::thread::spawn(move || {
            for (status, headers, body) in script {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                // An empty connection is Drop telling the server to stop.
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut hdrs = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        hdrs.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let get = |name: &str| {
                    hdrs.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                };
                let mut body_bytes = Vec::new();
                if let Some(len) = get("content-length").and_then(|l| l.parse::<usize>().ok()) {
                    body_bytes.resize(len, 0);
                    let _ = reader.read_exact(&mut body_bytes);
                } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
                    loop {
                        let mut size = String::new();
                        reader.read_line(&mut size).unwrap_or(0);
                        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                        let mut chunk = vec![0; n + 2];
                        let _ = reader.read_exact(&mut chunk);
                        if n == 0 {
                            break;
                        }
                        body_bytes.extend_from_slice(&chunk[..n]);
                    }
                }
                rec.lock().unwrap().push(Recorded {
                    method,
                    path,
                    headers: hdrs,
                    body: body_bytes,
                });
                let mut stream = stream;
                let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/json\r\n", body.len());
                for (k, v) in headers {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                resp.push_str(&body);
                let _ = stream.write_all(resp.as_bytes());
                let _ = stream.flush();
            }
        });
        Server {
            url,
            requests,
            handle: Some(handle),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Unblock accept() if the script was not used up.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
