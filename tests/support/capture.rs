//! A notification endpoint for tests: records every request on 127.0.0.1 and answers from
//! a script (default 200). It can also SIGKILL a process the moment a request arrives, to
//! show that a crash between sending and recording resends rather than loses.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::standin::{Request, read_request};

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: "ok".into(),
        }
    }

    pub fn retry_after(status: u16, secs: u32) -> Reply {
        Reply {
            status,
            headers: vec![("retry-after".into(), secs.to_string())],
            body: "slow down".into(),
        }
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
    kill_on_next: Option<u32>,
    stop_on_next: Option<u32>,
}

#[derive(Clone)]
pub struct Capture {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Capture {
    pub fn start() -> Capture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let Ok(req) = read_request(&mut stream) else {
                    continue;
                };
                let (reply, kill, stop) = {
                    let mut s = shared.lock().unwrap();
                    s.requests.push(req);
                    (
                        s.script.pop_front().unwrap_or_else(|| Reply::status(200)),
                        s.kill_on_next.take(),
                        s.stop_on_next.take(),
                    )
                };
                if let Some(pid) = stop {
                    // The sender pauses (SIGSTOP) with its request sent: it reads the
                    // answer whenever it is continued.
                    let _ = std::process::Command::new("kill")
                        .args(["-STOP", &pid.to_string()])
                        .status();
                }
                if let Some(pid) = kill {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
                    continue; // the sender is dead: no answer
                }
                let mut head = format!(
                    "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(reply.body.as_bytes());
            }
        });
        Capture { url, state }
    }

    pub fn reply(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    pub fn kill_on_next_request(&self, pid: u32) {
        self.state.lock().unwrap().kill_on_next = Some(pid);
    }

    /// Pauses the process `pid` (SIGSTOP) when the next request comes, then answers it.
    pub fn stop_on_next_request(&self, pid: u32) {
        self.state.lock().unwrap().stop_on_next = Some(pid);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
            .collect()
    }
}
