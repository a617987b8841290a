//! Many concurrent shoppers against running servers, remembering every answer: its status,
//! the click id a 302 handed out, and when it arrived.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status, or 0 when no response came (refused, reset, closed before answering).
    pub status: u16,
    /// The `ssclid` of a 302.
    pub click: Option<Uuid>,
    /// When the answer (or the failure) arrived.
    pub at: Instant,
    /// From connecting to the end of the answer.
    pub took: Duration,
}

/// `GET path` over a fresh connection with a phone browser's user agent; `(0, None)` when no
/// response arrived.
pub async fn fetch(addr: SocketAddr, path: &str) -> (u16, Option<Uuid>) {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let Ok(response) = attempt.await else {
        return (0, None);
    };
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let click = text
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("location:"))
        .and_then(|line| line.split_once("ssclid="))
        .and_then(|(_, rest)| rest.get(..32))
        .and_then(|id| Uuid::try_parse(id).ok());
    (status, click)
}

/// Clients hammering `targets` (server address and path) until [`Load::finish`]; client `i`
/// starts at target `i` and goes round them.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Answer>>>,
}

impl Load {
    pub fn start(targets: &[(SocketAddr, String)], clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..clients)
            .map(|i| {
                let (stop, targets) = (Arc::clone(&stop), targets.to_vec());
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    let mut next = i;
                    while !stop.load(Ordering::SeqCst) {
                        let (addr, path) = &targets[next % targets.len()];
                        next += 1;
                        let began = Instant::now();
                        let (status, click) = fetch(*addr, path).await;
                        answers.push(Answer {
                            status,
                            click,
                            at: Instant::now(),
                            took: began.elapsed(),
                        });
                        if status == 0 {
                            // The server is away: do not spin on refused connections.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                    answers
                })
            })
            .collect();
        Load { stop, tasks }
    }

    /// Stops the clients after their current request and returns every answer, oldest first.
    pub async fn finish(self) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        let mut answers = Vec::new();
        for task in self.tasks {
            answers.extend(task.await.unwrap());
        }
        answers.sort_by_key(|a| a.at);
        Outcome { answers }
    }
}

/// Everything the clients saw.
pub struct Outcome {
    pub answers: Vec<Answer>,
}

impl Outcome {
    /// Answers with this status.
    pub fn count(&self, status: u16) -> usize {
        self.answers.iter().filter(|a| a.status == status).count()
    }

    /// The click ids of the 302s, each once (asserting none was handed out twice).
    pub fn clicks(&self) -> HashSet<Uuid> {
        let ids: Vec<Uuid> = self
            .answers
            .iter()
            .filter(|a| a.status == 302)
            .map(|a| a.click.expect("every 302 carries an ssclid"))
            .collect();
        let unique: HashSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "a click id was handed out twice");
        unique
    }
}
