//! Sends the OCSF events of a report to the one syslog receiver the user named with `--syslog`:
//! RFC 5424 messages over plain TCP with octet-counting framing (RFC 6587 §3.4.1).
//!
//! This is the only code besides the connectors' network transport that opens a socket, and it connects only
//! to the host and port given on the command line. It sends report data, never secrets.

use crate::report::ComplianceFinding;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A syslog receiver named by the user: the only host the events go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Facility 13, "log audit": compliance results are audit records.
const FACILITY: u8 = 13;
const APP_NAME: &str = "cloudkeur";
/// RFC 5424 MSGID: names the payload, an OCSF class 2003 event in JSON.
const MSG_ID: &str = "ocsf-2003";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    #[error("syslog receiver {target}: cannot resolve the host: {source}")]
    Resolve {
        target: String,
        source: std::io::Error,
    },
    #[error(
        "syslog receiver {target}: cannot connect: {source}; check --syslog HOST:PORT and that the receiver listens on TCP"
    )]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error("syslog receiver {target}: sending failed after {sent} of {total} events: {source}")]
    Send {
        target: String,
        sent: usize,
        total: usize,
        source: std::io::Error,
    },
}

/// Syslog severity: 2 critical, 3 error, 4 warning, 5 notice for non-compliant findings by their
/// severity; 6 informational for compliant ones.
fn syslog_severity(event: &ComplianceFinding) -> u8 {
    if event.compliance.status_id != 3 {
        return 6;
    }
    match event.severity_id {
        5.. => 2,
        4 => 3,
        3 => 4,
        _ => 5,
    }
}

/// One RFC 5424 message carrying `event` as JSON, framed as `LEN SP MSG`.
pub fn frame(event: &ComplianceFinding) -> Vec<u8> {
    let priority = u16::from(FACILITY) * 8 + u16::from(syslog_severity(event));
    let timestamp = OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.time) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned());
    // Plain data with string keys: serialising cannot fail.
    let json = serde_json::to_string(event).unwrap_or_default();
    // HOSTNAME is NILVALUE: the event names the tenant, and the host running the scan is no
    // part of the finding. The BOM marks MSG as UTF-8 (RFC 5424 §6.4).
    let message = format!(
        "<{priority}>1 {timestamp} - {APP_NAME} {} {MSG_ID} - \u{feff}{json}",
        std::process::id()
    );
    let mut framed = format!("{} ", message.len()).into_bytes();
    framed.extend_from_slice(message.as_bytes());
    framed
}

/// Sends every event over one TCP connection; returns how many were sent.
pub fn send(target: &SyslogTarget, events: &[ComplianceFinding]) -> Result<usize, SyslogError> {
    let name = target.to_string();
    let addresses: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|source| SyslogError::Resolve {
            target: name.clone(),
            source,
        })?
        .collect();
    let mut last_error =
        std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address");
    let mut stream = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = error,
        }
    }
    let Some(mut stream) = stream else {
        return Err(SyslogError::Connect {
            target: name,
            source: last_error,
        });
    };
    let send_error = |sent: usize, source: std::io::Error| SyslogError::Send {
        target: name.clone(),
        sent,
        total: events.len(),
        source,
    };
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(|e| send_error(0, e))?;
    for (sent, event) in events.iter().enumerate() {
        stream
            .write_all(&frame(event))
            .map_err(|e| send_error(sent, e))?;
    }
    stream.flush().map_err(|e| send_error(events.len(), e))?;
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_octet_counted_rfc5424_with_the_event_as_message() {
        let events =
            crate::report::ocsf_events(&crate::report::hostile_report(), crate::findings::Lang::En);
        let framed = String::from_utf8(frame(&events[0])).expect("UTF-8");
        let (length, message) = framed.split_once(' ').expect("MSG-LEN SP MSG");
        assert_eq!(length.parse::<usize>().ok(), Some(message.len()));
        // log audit (13) × 8 + critical (2) = 106; a critical non-compliant finding.
        assert!(
            message.starts_with("<106>1 2026-11-23T09:00:01Z - cloudkeur "),
            "{message}"
        );
        let json = message
            .split_once('\u{feff}')
            .expect("BOM before the payload")
            .1;
        let event: serde_json::Value = serde_json::from_str(json).expect("JSON payload");
        assert_eq!(event["class_uid"], 2003);
    }
}
