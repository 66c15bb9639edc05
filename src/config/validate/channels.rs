//! `[[notify]]`: each channel validated, then routed by account labels.

use std::path::PathBuf;

use anyhow::Result;

use super::{Err, check_url};
use crate::account::{Channel, ChannelKind};
use crate::alert::Severity;
use crate::config::raw::{ChannelType, RawConfig, RawNotify};
use crate::secret::{Secret, SecretSource};

/// Every `[[notify]]` channel, in the file's order, routed.
pub(super) fn channels(
    raw: &RawConfig,
    warnings: &mut Vec<String>,
    err: Err<'_>,
) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    for (i, n) in raw.notify.iter().enumerate() {
        let c = channel(i, n, &out, err)?;
        out.push(c);
    }
    route_by_labels(&mut out, raw, warnings);
    Ok(out)
}

/// A channel's `labels` select the configured accounts that carry every one of them (and
/// fit its `accounts` globs, when it has both): they become the names the channel takes.
/// Discovered accounts have no labels, so a label route never takes them.
fn route_by_labels(channels: &mut [Channel], raw: &RawConfig, warnings: &mut Vec<String>) {
    for (c, n) in channels.iter_mut().zip(&raw.notify) {
        let Some(wanted) = n.labels.as_ref().filter(|l| !l.is_empty()) else {
            continue;
        };
        let names: Vec<String> = raw
            .accounts
            .iter()
            .filter(|a| {
                wanted.iter().all(|(k, v)| {
                    a.labels
                        .as_ref()
                        .and_then(|l| l.get(k))
                        .is_some_and(|have| have == v)
                })
            })
            .filter_map(|a| a.name.clone())
            .filter(|name| c.takes(name))
            .collect();
        if names.is_empty() {
            warnings.push(format!(
                "channel {}: its labels select no configured account",
                c.name
            ));
        }
        c.accounts = Some(names);
    }
}

/// The `i`th `[[notify]]` channel; `earlier` are the channels before it (names are unique).
fn channel(i: usize, n: &RawNotify, earlier: &[Channel], err: Err<'_>) -> Result<Channel> {
    let at = format!("notify[{i}]");
    let kind = n.kind.ok_or_else(|| {
        err(
            &format!("{at}.type"),
            "missing (slack, webhook, pagerduty or email)".into(),
        )
    })?;
    // Keys that do not belong to this type are errors, like unknown keys.
    if let Some(key) = n.foreign_key(kind) {
        return Err(err(
            &format!("{at}.{key}"),
            format!("is not a key of a {} channel", kind.as_str()),
        ));
    }
    let name = match &n.name {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        Some(_) => return Err(err(&format!("{at}.name"), "must not be empty".into())),
        None => {
            let same = earlier
                .iter()
                .filter(|c| c.kind.type_name() == kind.as_str())
                .count();
            if same == 0 {
                kind.as_str().to_string()
            } else {
                format!("{}-{}", kind.as_str(), same + 1)
            }
        }
    };
    if earlier.iter().any(|c| c.name == name) {
        return Err(err(
            &format!("{at}.name"),
            format!("duplicate channel name {name:?}"),
        ));
    }
    Ok(Channel {
        name,
        kind: channel_kind(&at, kind, n, err)?,
        min_severity: n.min_severity.unwrap_or(Severity::Warning),
        send_resolved: n.send_resolved.unwrap_or(true),
        accounts: match &n.accounts {
            Some(globs) if globs.is_empty() || globs.iter().any(|g| g.trim().is_empty()) => {
                return Err(err(
                    &format!("{at}.accounts"),
                    "names no account: give names or globs such as \"prod-*\", or leave it out for every account".into(),
                ));
            }
            other => other.clone(),
        },
    })
}

fn channel_kind(at: &str, kind: ChannelType, n: &RawNotify, err: Err<'_>) -> Result<ChannelKind> {
    let secret = |inline: &Option<String>, file: &Option<PathBuf>, key: &str, url: bool| match (
        inline, file,
    ) {
        (Some(v), None) => {
            if url {
                check_url(v).map_err(|p| err(&format!("{at}.{key}"), p))?;
            }
            Ok(SecretSource::Inline(Secret::new(v.clone())))
        }
        (None, Some(p)) => Ok(SecretSource::File(p.clone())),
        (Some(_), Some(_)) => Err(err(at, format!("set {key} or {key}_file, not both"))),
        (None, None) => Err(err(
            at,
            format!("a {} channel needs {key} or {key}_file", kind.as_str()),
        )),
    };
    Ok(match kind {
        ChannelType::Slack => ChannelKind::Slack {
            url: secret(&n.url, &n.url_file, "url", true)?,
        },
        ChannelType::Webhook => ChannelKind::Webhook {
            url: secret(&n.url, &n.url_file, "url", true)?,
        },
        ChannelType::PagerDuty => {
            if let Some(u) = &n.url {
                check_url(u).map_err(|p| err(&format!("{at}.url"), p))?;
            }
            ChannelKind::PagerDuty {
                routing_key: secret(&n.routing_key, &n.routing_key_file, "routing_key", false)?,
                url: n.url.clone(),
            }
        }
        ChannelType::Email => email(at, n, err)?,
    })
}

fn email(at: &str, n: &RawNotify, err: Err<'_>) -> Result<ChannelKind> {
    let address = |v: &Option<String>, key: &str, example: &str| {
        v.clone().filter(|s| s.contains('@')).ok_or_else(|| {
            err(
                &format!("{at}.{key}"),
                format!("an email channel needs {key} = \"{example}\""),
            )
        })
    };
    let to = address(&n.to, "to", "ops@example.com")?;
    let from = address(&n.from, "from", "quota@example.com")?;
    let command = n
        .command
        .clone()
        .unwrap_or_else(|| vec!["/usr/sbin/sendmail".into(), "-t".into()]);
    if command.first().is_none_or(String::is_empty) {
        return Err(err(
            &format!("{at}.command"),
            "needs a program to run (argv array)".into(),
        ));
    }
    Ok(ChannelKind::Email { to, from, command })
}
